"""The Swarm backend on a one-node swarm (the testenv's swarm.sh): the same plan deployed
phase by phase, every replica probed, a failing task reported at once, teardown in reverse
order, and the engine left as it was."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import Project

pytestmark = [pytest.mark.docker, pytest.mark.swarm]
SWARM = Path(__file__).resolve().parents[3] / "shared" / "testenv" / "swarm.sh"


@pytest.fixture(scope="module")
def swarm() -> Iterator[None]:
    if not SWARM.exists():
        pytest.skip("needs the testenv's swarm.sh (a one-node swarm on this engine)")
    before = subprocess.run(
        ["docker", "info", "--format", "{{.Swarm.LocalNodeState}}"], capture_output=True, text=True
    ).stdout.strip()
    up = subprocess.run(["bash", str(SWARM), "up"], capture_output=True, text=True)
    if up.returncode != 0:
        pytest.skip(f"cannot make this engine a swarm: {up.stderr.strip()}")
    try:
        yield
    finally:
        if before != "active":
            subprocess.run(["bash", str(SWARM), "down"], capture_output=True)


def of_stack(kind: str, stack: str, *shown: str) -> list[str]:
    """The stack's containers, services, networks or volumes (ids, or ``shown`` fields)."""
    listing = ["docker", "ps", "-a"] if kind == "container" else ["docker", kind, "ls"]
    return subprocess.run(
        [*listing, *(shown or ["-q"]), "--filter", f"label=com.docker.stack.namespace={stack}"],
        capture_output=True,
        text=True,
    ).stdout.split()


def services(stack: str) -> list[str]:
    return of_stack("service", stack)


def task_starts(stack: str) -> dict[str, list[str]]:
    """service -> StartedAt of its containers on this node."""
    ids = of_stack("container", stack)
    started: dict[str, list[str]] = {}
    if not ids:
        return started
    out = subprocess.run(
        [
            "docker",
            "inspect",
            "--format",
            '{{index .Config.Labels "com.docker.swarm.service.name"}} {{.State.StartedAt}}',
            *ids,
        ],
        capture_output=True,
        text=True,
    ).stdout
    for line in out.splitlines():
        name, stamp = line.split(" ", 1)
        started.setdefault(name.removeprefix(f"{stack}_"), []).append(stamp)
    return started


def remove_stack(stack: str) -> None:
    subprocess.run(["docker", "stack", "rm", stack], capture_output=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        left = of_stack("network", stack)
        if not left and not services(stack):
            break
        time.sleep(0.5)
    ids = of_stack("volume", stack)
    for _ in range(20):  # a removed task's container lets go of its volume a moment later
        if (
            not ids
            or subprocess.run(
                ["docker", "volume", "rm", "-f", *ids], capture_output=True
            ).returncode
            == 0
        ):
            break
        time.sleep(0.5)


@pytest.fixture
def stack(swarm: None, make_project: Callable[..., Project]) -> Iterator[Project]:
    project = make_project("swarm", POSTGRES_PASSWORD="Swarm-pw-0123456789")
    try:
        yield project
    finally:
        project.run("--backend", "swarm", "down")
        remove_stack(project.name)


def test_swarm_brings_the_stack_up_in_order_probes_every_replica_and_tears_down(
    stack: Project,
) -> None:
    p = stack
    up = p.run("--backend", "swarm", "up", "--json", "--timeout", "120", timeout=400)
    assert up.returncode == 0, up.stderr
    events = [json.loads(x) for x in up.stdout.splitlines() if x.startswith("{")]
    ready = {e["service"]: e for e in events if e.get("state") == "ready"}
    assert set(ready) == {"db", "migrate", "web", "metrics"}
    assert "2 replicas ready" in ready["web"]["detail"]  # each replica, by its address
    assert "SELECT 1" in ready["db"]["detail"]
    assert "1/1 tasks complete" in ready["migrate"]["detail"]

    # Phase order, seen from the engine: every task of a phase started after the previous
    # phase's tasks (Swarm itself would have started them all at once).
    started = task_starts(p.name)
    assert max(started["db"]) < min(started["migrate"]) < min(started["web"])
    assert max(started["web"]) < min(started["metrics"])
    assert len(started["web"]) == 2

    status = json.loads(p.run("--backend", "swarm", "status", "--json", check=0).stdout)
    assert {s["service"] for s in status["services"] if s["state"] == "running"} >= {
        "db",
        "web",
        "metrics",
    }

    down = p.run("--backend", "swarm", "down", check=0)
    order = [line for line in down.stderr.splitlines() if line.startswith("removing ")]
    assert [line.split(":")[0] for line in order] == [
        "removing monitoring",
        "removing apps",
        "removing databases",
    ]
    assert services(p.name) == []
    assert task_starts(p.name) == {}  # no task container left, the job's included


def test_a_failing_task_is_reported_at_once(stack: Project) -> None:
    p = stack
    compose = p.directory / "docker-compose.yml"
    compose.write_text(
        compose.read_text().replace('sleep 1; echo migrated"', 'echo broken migration; exit 3"')
    )
    began = time.monotonic()
    up = p.run("--backend", "swarm", "up", "--timeout", "120", timeout=400)
    took = time.monotonic() - began
    assert up.returncode == 1, up.stderr
    assert "migrate" in up.stderr and "failed" in up.stderr and "exit code 3" in up.stderr
    assert took < 60  # the task's failure, not the 120 s timeout
    # web was created held at 0 replicas with the rest and never released: no task ever ran
    replicas = of_stack("service", p.name, "--format", "{{.Name}}={{.Replicas}}")
    assert f"{p.name}_web=0/0" in replicas, replicas
    assert "web" not in task_starts(p.name)


def _names(stack: str) -> list[str]:
    return of_stack("service", stack, "--format", "{{.Name}}")


def test_validate_names_what_swarm_cannot_do(
    swarm: None, make_project: Callable[..., Project]
) -> None:
    p = make_project("swarm", POSTGRES_PASSWORD="x-0123456789")
    compose = p.directory / "docker-compose.yml"
    compose.write_text(
        compose.read_text().replace(
            "  metrics:\n",
            "  built:\n    build: .\n    container_name: fixed\n  metrics:\n",
        )
    )
    done = p.run("--backend", "swarm", "validate", "--json", "--offline")
    assert done.returncode == 2, done.stderr
    findings = json.loads(done.stdout)["findings"]
    rules = {(f["rule"], f["location"]) for f in findings}
    assert ("swarm-build", "services.built.build") in rules
    assert ("swarm-ignored", "services.built.container_name") in rules


@pytest.mark.parametrize("backend", ["compose", "swarm"])
def test_both_backends_pass_the_same_probe_tests(
    backend: str, request: pytest.FixtureRequest, make_project: Callable[..., Project]
) -> None:
    """One probe path: the *_FILE password read (inside the container on compose, from the
    secret's own file on Swarm), MariaDB's database taken from MARIADB_DATABASE, and the
    bootstrap.probe.timeout label ending the wait on both."""
    if backend == "swarm":
        request.getfixturevalue("swarm")
    project = make_project("parity")
    try:
        plan = json.loads(project.run("plan", "--json", "--offline", check=0).stdout)
        assert plan["services"]["maria"]["probe"]["database"] == "shop"
        assert plan["services"]["pg"]["probe"]["password_file"] == "/run/secrets/pg_password"
        began = time.monotonic()
        done = project.run("--backend", backend, "up", "--json", "--timeout", "180", timeout=600)
        took = time.monotonic() - began
        assert done.returncode == 5, done.stderr[-3000:]  # degraded: the optional one timed out
        events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        final = {e["service"]: e for e in events if e.get("state") in ("ready", "failed")}
        assert final["pg"]["state"] == "ready", final["pg"]
        assert "SELECT 1 answered" in final["pg"]["detail"]
        assert final["maria"]["state"] == "ready", final["maria"]
        assert final["slow"]["state"] == "failed"
        seconds = float(final["slow"]["detail"].split("timed out after ")[1].split("s")[0])
        assert 3.5 <= seconds < 20, final["slow"]["detail"]  # the label's 4 s, not 180 s
        assert took < 170
    finally:
        project.run("--backend", backend, "down", timeout=300)
