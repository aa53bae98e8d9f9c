"""Limits on the real engine: plan shows them, validate warns, stats reads the engine's
figures, --suggest writes an override compose accepts (and never overwrites unasked), and
doctor names a container the kernel killed for want of memory."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from tests.conftest import Project

pytestmark = pytest.mark.docker
MIB = 1024**2


@pytest.fixture
def sized(make_project: Callable[..., Project]) -> Project:
    return make_project("sized", POSTGRES_PASSWORD="Sized-db-pw-90210")


def test_limits_planned_read_suggested_and_an_oom_kill_diagnosed(sized: Project) -> None:
    p = sized
    findings = json.loads(p.run("validate", "--json", check=0).stdout)["findings"]
    warned = {f["location"] for f in findings if f["rule"] == "database-memory-limit"}
    assert warned == {"services.db.deploy.resources.limits.memory"}
    plan = p.run("plan", check=0).stdout
    assert "mem 64M/16M cpu 0.5" in plan and "mem 48M cpu 0.25" in plan

    assert p.run("up", "--timeout", "120").returncode == 0
    inspected = p.container("web")["HostConfig"]
    assert inspected["Memory"] == 64 * MIB and inspected["NanoCpus"] == 500_000_000

    rows = json.loads(p.run("stats", "--json", check=0).stdout)["services"]
    by_name = {r["service"]: r for r in rows}
    assert set(by_name) == {"db", "web", "worker"}
    assert by_name["db"]["memory"] > 1 * MIB  # PostgreSQL after init: real figures
    assert by_name["db"]["memory_peak"] >= by_name["db"]["memory"]
    assert by_name["web"]["memory_limit"] == 64 * MIB
    assert by_name["web"]["memory_available"] == 64 * MIB  # the engine's figure agrees
    text = p.run("stats", check=0).stdout
    assert "SERVICE" in text and "64M" in text

    override = p.directory / "docker-compose.override.yml"
    wrote = p.run("stats", "--suggest", "--readings", "2", "--output", override.name, check=0)
    assert override.name in wrote.stderr
    written = override.read_text()
    again = p.run("stats", "--suggest", "--readings", "1", "--output", override.name)
    assert again.returncode == 2 and "--force" in again.stderr
    assert override.read_text() == written  # untouched
    main = str(p.directory / "docker-compose.yml")
    merged = p.compose("-f", main, "-f", str(override), "config", "--format", "json")
    assert merged.returncode == 0, merged.stderr
    services = json.loads(merged.stdout)["services"]
    db_limit = int(services["db"]["deploy"]["resources"]["limits"]["memory"])
    assert 32 * MIB <= db_limit < 4096 * MIB
    assert int(services["worker"]["mem_limit"]) >= 32 * MIB  # its own form, kept

    assert p.compose("--profile", "hog", "up", "-d", "hog").returncode == 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = p.container("hog")["State"]
        if state["Status"] == "exited":
            break
        time.sleep(0.5)
    assert state["OOMKilled"] is True, state
    doctor = json.loads(p.run("--profile", "hog", "doctor", "--json", check=1).stdout)
    killed = [c for c in doctor["checks"] if "want of memory" in c["message"]]
    assert killed and killed[0]["verdict"] == "fail" and "hog" in killed[0]["message"]
    assert "32M" in killed[0]["message"]
