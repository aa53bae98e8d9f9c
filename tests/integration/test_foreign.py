"""Compose files shaped like well-known public projects (tests/fixtures/foreign/): plan each,
check the phases a person expects and that every depends_on edge is respected; bring up the
two whose images exist here."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, Project

pytestmark = pytest.mark.docker
FOREIGN = FIXTURES / "foreign"
STACKS = sorted(p.name for p in FOREIGN.iterdir() if (p / "expect.json").is_file())


def expectation(name: str) -> dict[str, object]:
    return dict(json.loads((FOREIGN / name / "expect.json").read_text()))


def file_args(expect: dict[str, object]) -> list[str]:
    return [a for f in expect.get("files", []) for a in ("-f", str(f))]  # type: ignore[attr-defined]


@pytest.fixture
def foreign(tmp_path: Path) -> Iterator[Callable[[str], Project]]:
    made: list[Project] = []

    def make(name: str) -> Project:
        project = Project(f"fx{uuid.uuid4().hex[:8]}", tmp_path / name)
        shutil.copytree(FOREIGN / name, project.directory)
        made.append(project)
        return project

    yield make
    for project in made:
        project.cleanup()


def test_there_are_at_least_twelve() -> None:
    assert len(STACKS) >= 12
    for name in STACKS:
        compose = next((FOREIGN / name).rglob("docker-compose.yml"))
        first = compose.read_text().splitlines()[0]
        assert first.startswith("# Shaped like ") and "(" in first, name  # source and licence


@pytest.mark.parametrize("name", STACKS)
def test_plan_matches_what_a_person_expects(name: str, foreign: Callable[[str], Project]) -> None:
    expect = expectation(name)
    project = foreign(name)
    done = project.run(*file_args(expect), "plan", "--json", "--offline")
    plan = json.loads(done.stdout)
    refused = expect.get("refused")
    if refused:
        assert done.returncode == 2, done.stderr
        assert refused in {f["rule"] for f in plan["findings"] if f["severity"] == "error"}
    else:
        assert done.returncode == 0, done.stderr
    if expect.get("warned"):
        assert expect["warned"] in {
            f["rule"] for f in plan["findings"] if f["severity"] == "warning"
        }
    services = plan["services"]
    assert {n: s["phase"] for n, s in services.items()} == expect["phases"]
    for kind_name, kind in dict(expect.get("probes", {})).items():  # type: ignore[call-overload]
        assert services[kind_name]["probe"]["kind"] == kind
    order = [p["name"] for p in plan["phases"]]
    position = {n: (order.index(s["phase"]), s["wave"]) for n, s in services.items()}
    for name_, entry in services.items():
        for dep in entry["depends_on"]:
            assert position[dep["service"]] < position[name_], (dep, name_)
    if "weak_secrets" in expect:
        weak = sorted(f["location"] for f in plan["findings"] if f["rule"] == "weak-secret")
        assert weak == expect["weak_secrets"]


def test_devcontainer_compose_comes_up(foreign: Callable[[str], Project]) -> None:
    project = foreign("devcontainer-python-postgres")
    done = project.run("-f", ".devcontainer/docker-compose.yml", "up", "--timeout", "120")
    assert done.returncode == 0, done.stderr
    assert "SELECT 1 answered" in done.stderr
    # app shares db's network namespace: it reaches PostgreSQL on localhost.
    probe = project.exec("app", "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/5432 && echo open")
    assert probe.stdout.strip() == "open", probe.stderr


def test_monitoring_stack_comes_up_without_the_images_that_are_not_here(
    foreign: Callable[[str], Project],
) -> None:
    project = foreign("dockprom")
    hidden = ("cadvisor", "grafana", "pushgateway", "caddy")  # no stand-in images here
    (project.directory / "docker-compose.override.yml").write_text(
        "services:\n" + "".join(f"  {s}: {{profiles: [not-here]}}\n" for s in hidden)
    )
    done = project.run("up", "--json", "--timeout", "120")
    assert done.returncode == 0, done.stderr
    ready = {
        e["service"] for e in map(json.loads, done.stdout.splitlines()) if e.get("state") == "ready"
    }
    assert ready == {"prometheus", "alertmanager", "nodeexporter"}
    targets = project.exec(
        "prometheus", "wget", "-qO-", "http://127.0.0.1:9090/api/v1/status/config"
    )
    assert "nodeexporter:9100" in targets.stdout
