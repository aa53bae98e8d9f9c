"""The supervisor as a service of the stack (``bootstrap.role: supervisor``): it runs
``bootstrap supervise --in-stack`` in a container, plans from the model ``up`` left, reaches
the engine only through its own proxy, and keeps the order after a dependency restarts and
after the engine restarts (its restart policy brings it back with the rest)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bootstrap.errors import ExitCode
from tests.conftest import (
    DOCKER_PID,
    DOCKER_UP,
    Project,
    engine_restartable,
    engine_started_again,
)

pytestmark = [pytest.mark.docker, pytest.mark.fault]

Action = dict[str, Any]
REPO = Path(__file__).resolve().parents[2]
PROXY = "http://supervisor-proxy:2375"


def logged(project: Project) -> list[Action]:
    """The actions the in-stack supervisor wrote to the workspace's .bootstrap/."""
    path = project.directory / ".bootstrap" / "supervision.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def until(
    project: Project, predicate: Callable[[Action], bool], timeout: float = 90, after: int = 0
) -> Action:
    """The first action (from the ``after``-th on) that ``predicate`` takes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = next((a for a in logged(project)[after:] if predicate(a)), None)
        if found is not None:
            return found
        time.sleep(0.5)
    said = "\n".join(f"{a['service']} {a['kind']}: {a['reason']}" for a in logged(project))
    logs = subprocess.run(
        ["docker", "logs", "--tail", "30", str(project.container("supervisor")["Id"])],
        capture_output=True,
        text=True,
    )
    raise AssertionError(f"not seen in {timeout}s:\n{said}\n{logs.stdout}{logs.stderr}")


def started(project: Project) -> dict[str, str]:
    """Each service's container and when it last started."""
    return {
        c["Config"]["Labels"]["com.docker.compose.service"]: f"{c['Id']} {c['State']['StartedAt']}"
        for c in project.containers()
    }


@dataclass(frozen=True)
class InStack:
    project: Project
    after_up: dict[str, str]  # started(project) as `up` left it


@pytest.fixture
def in_stack(make_project: Callable[..., Project]) -> Iterator[InStack]:
    """The stack with its own supervisor, once the supervisor has checked the order (its
    converge at start): what follows in a test is caused by the test."""
    project = make_project("supervise", REPO_ROOT=str(REPO))
    (project.directory / ".bootstrap").mkdir(exist_ok=True)
    up = project.run("--profile", "in-stack", "up", "--build", "--timeout", "180")
    assert up.returncode == 0, up.stderr
    after_up = started(project)
    until(project, lambda a: a["kind"] == "in-order", 60)
    yield InStack(project, after_up)


def test_a_supervisor_started_by_an_ordered_up_restarts_nothing(in_stack: InStack) -> None:
    """up started every service after what it needs was ready (after-slowcheck: once up's own
    run of slowcheck's healthcheck passed, seconds before the engine's first one): the
    supervisor's check of the order at its start restarts nothing."""
    project = in_stack.project
    actions = logged(project)
    assert not [a for a in actions if a["kind"] in ("out-of-order", "restarted")], actions
    done = next(a for a in actions if a["kind"] == "in-order")
    assert "(0 restarted" in done["reason"], done
    assert started(project) == in_stack.after_up


def ask_proxy(project: Project, method: str, path: str, body: str = "") -> tuple[int, str]:
    """One request to the supervisor's proxy from inside the supervisor's container."""
    script = (
        "import sys, urllib.request, urllib.error\n"
        "r = urllib.request.Request(sys.argv[1] + sys.argv[3], method=sys.argv[2], "
        "data=sys.argv[4].encode() if sys.argv[2] == 'POST' else None, "
        "headers={'Content-Type': 'application/json'})\n"
        "try:\n"
        "    with urllib.request.urlopen(r, timeout=20) as got: print(got.status); "
        "print(got.read().decode())\n"
        "except urllib.error.HTTPError as e: print(e.code); print(e.read().decode())\n"
    )
    done = project.exec("supervisor", "python", "-c", script, PROXY, method, path, body)
    assert done.returncode == 0, done.stderr
    status, _, body = done.stdout.partition("\n")
    return int(status), body


def test_the_stacks_own_supervisor_restarts_a_dependent_once_its_dependency_is_back(
    in_stack: InStack,
) -> None:
    project = in_stack.project
    app_before = project.container("app")["State"]["StartedAt"]
    worker_before = project.container("worker")["State"]["StartedAt"]
    seen = len(logged(project))
    subprocess.run(["docker", "restart", str(project.container("db")["Id"])], check=True)
    # what the restart caused: the actions logged since
    ready = until(project, lambda a: a["service"] == "app" and a["kind"] == "ready", after=seen)
    kinds = [(a["service"], a["kind"]) for a in logged(project)[seen:]]
    assert kinds.index(("app", "waiting")) < kinds.index(("db", "back"))
    assert kinds.index(("db", "back")) < kinds.index(("app", "restarted"))
    assert ready["at"] >= next(a["at"] for a in logged(project) if a["kind"] == "back")
    assert project.container("app")["State"]["StartedAt"] != app_before
    assert project.container("worker")["State"]["StartedAt"] == worker_before  # did not ask
    # its own proxy and itself are never acted on
    assert not [a for a in logged(project) if a["service"] in ("supervisor", "supervisor-proxy")]
    status = project.run("--profile", "in-stack", "status")
    assert "supervisor: running in the stack" in status.stdout, status.stdout
    assert "restarted: db came back" in status.stdout
    # a second supervisor (in a terminal) is refused while the stack's own one runs
    second = project.run("--profile", "in-stack", "supervise", timeout=60)
    assert second.returncode == int(ExitCode.LOCKED), second.stderr
    assert "already supervised by the stack's own supervisor" in second.stderr


@pytest.mark.security
def test_the_supervisors_proxy_refuses_all_but_this_projects_start_stop_restart(
    in_stack: InStack,
) -> None:
    project = in_stack.project
    decoy = subprocess.run(
        [
            "docker", "run", "-d", "--rm",
            "--label", "com.docker.compose.project=someone-else",
            "busybox:latest", "sleep", "300",
        ],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    try:
        app = str(project.container("app")["Id"])
        # listing and events are narrowed to this project, whatever the filters asked
        status, body = ask_proxy(project, "GET", "/v1.41/containers/json?all=1")
        assert status == 200
        listed = {c["Labels"]["com.docker.compose.project"] for c in json.loads(body)}
        assert listed == {project.name}, listed
        assert decoy not in body
        # what it may do: restart this project's container (by name, too)
        assert ask_proxy(project, "POST", f"/containers/{app}/restart?t=0")[0] == 204
        name = project.container("app")["Name"].lstrip("/")
        assert ask_proxy(project, "POST", f"/containers/{name}/stop?t=0")[0] == 204
        assert ask_proxy(project, "POST", f"/containers/{name}/start")[0] == 204
        # a HostConfig sent with start (applied by the engine below API 1.24): refused, and
        # the container starts as it was created
        assert ask_proxy(project, "POST", f"/containers/{name}/stop?t=0")[0] == 204
        privileged = '{"Binds": ["/:/host"], "Privileged": true, "PidMode": "host"}'
        for version in ("/v1.23", "/v1.19", "/v1.41", ""):
            status, body = ask_proxy(
                project, "POST", f"{version}/containers/{name}/start", privileged
            )
            assert status == 400, (version, status, body)
        assert ask_proxy(project, "POST", f"/containers/{name}/start?checkpoint=x")[0] == 400
        assert ask_proxy(project, "POST", f"/containers/{name}/start")[0] == 204
        host = project.container("app")["HostConfig"]
        assert host["Privileged"] is False and not host["Binds"] and host["PidMode"] == ""
        # another project's container answers as one that does not exist
        for ref in (decoy, decoy[:12]):
            status, body = ask_proxy(project, "POST", f"/containers/{ref}/restart")
            assert status == 404 and json.loads(body) == {"message": f"No such container: {ref}"}
        # what it may not: create, exec, images, volumes
        refused = [
            ("POST", "/containers/create"),
            ("POST", f"/containers/{app}/exec"),
            ("DELETE", f"/containers/{app}"),
            ("GET", "/images/json"),
            ("POST", "/images/create?fromImage=busybox"),
            ("GET", "/volumes"),
            ("POST", "/volumes/create"),
            ("GET", "/networks"),
            ("POST", f"/v1.41/containers/{app}/update"),
        ]
        for method, path in refused:
            status, body = ask_proxy(project, method, path)
            assert status == 403, (method, path, status, body)
            assert "socket proxy" in body
        assert subprocess.run(
            ["docker", "inspect", "-f", "{{.State.Running}}", decoy],
            capture_output=True, text=True,
        ).stdout.strip() == "true"  # fmt: skip
        # the supervisor's own container has no socket and no way around its proxy
        mounts = project.container("supervisor")["Mounts"]
        assert not [m for m in mounts if "docker.sock" in m["Source"]]
        assert project.container("supervisor")["HostConfig"]["CapDrop"] == ["ALL"]
    finally:
        subprocess.run(["docker", "rm", "-f", decoy], capture_output=True)


@pytest.mark.engine_restart
def test_after_an_engine_restart_the_stacks_supervisor_comes_back_and_puts_it_in_order(
    make_project: Callable[..., Project],
) -> None:
    if not engine_restartable():
        pytest.skip("needs the testenv's engine, which this test stops and starts again")
    project = make_project("supervise", REPO_ROOT=str(REPO))
    (project.directory / ".bootstrap").mkdir(exist_ok=True)
    up = project.run(
        "--profile", "in-stack", "--profile", "slow", "up", "--build", "--timeout", "180"
    )
    assert up.returncode == 0, up.stderr
    until(project, lambda a: a["kind"] == "watching", 60)
    seen = len(logged(project))
    daemon = int(DOCKER_PID.read_text())
    try:
        os.kill(daemon, signal.SIGTERM)
        engine_started_again(daemon)
        # the engine starts every container (restart: always) at once, the supervisor with
        # them: it converges; early started with slowdb, before slowdb was ready
        out = until(
            project,
            lambda a: a["service"] == "early" and a["kind"] == "out-of-order",
            120,
        )
        assert out["cause"] == "slowdb"
        assert logged(project).index(out) >= seen
        until(project, lambda a: a["service"] == "early" and a["kind"] == "ready", 120)
        early = project.container("early")["State"]
        slow = project.container("slowdb")["State"]
        assert early["Running"] and slow["Health"]["Status"] == "healthy"
        assert early["StartedAt"] > slow["StartedAt"]
    finally:
        subprocess.run(["bash", str(DOCKER_UP)], capture_output=True)
