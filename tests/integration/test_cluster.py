"""The Swarm backend on a real multi-node swarm (the testenv's cluster.sh: a manager and two
workers, each a Docker engine in a dind container, and a registry they pull from), reached
through a Docker context as a team's cluster would be: deploy, probe, status, logs and down on
the remote manager; images from the registry; a database pinned where its volume is; a worker
lost in the middle of `up` and after it; an unreachable manager."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest

from tests.conftest import Project

pytestmark = [pytest.mark.docker, pytest.mark.cluster]
TESTENV = Path(__file__).resolve().parents[3] / "shared" / "testenv"
CLUSTER = TESTENV / "cluster.sh"
CONTEXT = "testenv-cluster"
REGISTRY = "127.0.0.1:5000"
PUSHED = ("postgres:16", "python:3.11-slim")  # cluster.sh pushes busybox:latest itself
NODES = ("manager", "worker-1", "worker-2")


def on_cluster(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", "--context", CONTEXT, *args], capture_output=True, text=True)


def node_states() -> dict[str, str]:
    listed = on_cluster("node", "ls", "--format", "{{.Hostname}} {{.Status}}").stdout
    return dict(line.split(" ", 1) for line in listed.splitlines() if " " in line)


def wait_for_nodes(state: Callable[[dict[str, str]], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not state(node_states()):
        assert time.monotonic() < deadline, f"nodes: {node_states()}"
        time.sleep(1)


def all_ready(states: dict[str, str]) -> bool:
    return len(states) == len(NODES) and set(states.values()) == {"Ready"}


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    if not CLUSTER.exists():
        pytest.skip("needs the testenv's cluster.sh (a multi-node swarm of dind nodes)")
    existed = (
        subprocess.run(
            ["docker", "container", "inspect", "testenv-cluster-manager"], capture_output=True
        ).returncode
        == 0
    )
    up = subprocess.run(["bash", str(CLUSTER), "up"], capture_output=True, text=True)
    if up.returncode != 0:
        pytest.skip(f"cannot make the cluster: {up.stderr.strip()[-400:]}")
    try:
        for image in PUSHED:
            subprocess.run(["docker", "tag", image, f"{REGISTRY}/{image}"], check=True)
            subprocess.run(
                ["docker", "push", "-q", f"{REGISTRY}/{image}"], check=True, capture_output=True
            )
        wait_for_nodes(all_ready)
        yield
    finally:
        if not existed:
            subprocess.run(["bash", str(CLUSTER), "down"], capture_output=True)


def remove_volumes(stack: str) -> None:
    """A stack's named volumes live on each node that ran one of its tasks."""
    for node in NODES:
        container = f"testenv-cluster-{node}"
        listed = subprocess.run(
            [
                "docker",
                "exec",
                container,
                "docker",
                "volume",
                "ls",
                "-q",
                "--filter",
                f"label=com.docker.stack.namespace={stack}",
            ],
            capture_output=True,
            text=True,
        ).stdout.split()
        for _ in range(20):  # a removed task lets go of its volume a moment later
            if (
                not listed
                or subprocess.run(
                    ["docker", "exec", container, "docker", "volume", "rm", "-f", *listed],
                    capture_output=True,
                ).returncode
                == 0
            ):
                break
            time.sleep(0.5)


@pytest.fixture
def stack(cluster: None, make_project: Callable[..., Project]) -> Iterator[Project]:
    project = make_project("cluster", POSTGRES_PASSWORD="Cluster-pw-0123456789")
    try:
        yield project
    finally:
        for node in ("worker-1", "worker-2"):
            subprocess.run(["docker", "start", f"testenv-cluster-{node}"], capture_output=True)
        swarm(project, "down", timeout=300)
        on_cluster("stack", "rm", project.name)
        remove_volumes(project.name)
        wait_for_nodes(all_ready)


def swarm(project: Project, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return project.run("--context", CONTEXT, "--backend", "swarm", *args, **kw)  # type: ignore[arg-type]


def tasks(stack: str, service: str) -> list[tuple[str, str, str]]:
    """(node, desired state, current state) of the service's tasks."""
    listed = on_cluster(
        "service",
        "ps",
        f"{stack}_{service}",
        "--format",
        "{{.Node}}|{{.DesiredState}}|{{.CurrentState}}",
    ).stdout
    return [tuple(line.split("|", 2)) for line in listed.splitlines()]  # type: ignore[misc]


def events(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def assert_in_phase_order(seen: list[dict[str, object]]) -> None:
    """No service starts before every service of an earlier phase is ready."""
    phases = ["databases", "discovery", "apps", "monitoring"]
    ready_at: dict[str, int] = {}
    for index, event in enumerate(seen):
        if event.get("state") == "ready":
            ready_at[str(event["service"])] = index
    for index, event in enumerate(seen):
        if event.get("state") != "starting":
            continue
        rank = phases.index(str(event["phase"]))
        earlier = [
            e for e in seen if e.get("state") == "ready" and phases.index(str(e["phase"])) < rank
        ]
        assert all(ready_at[str(e["service"])] < index for e in earlier), event


def test_up_on_a_remote_manager_deploys_from_the_registry_in_order_and_tears_down(
    stack: Project,
) -> None:
    up = swarm(stack, "up", "--json", "--timeout", "180", timeout=600)
    assert up.returncode == 0, up.stderr
    seen = events(up.stdout)
    ready = {str(e["service"]): e for e in seen if e.get("state") == "ready"}
    assert set(ready) == {"db", "migrate", "web", "metrics"}
    assert "3 replicas ready" in str(ready["web"]["detail"])  # each replica, on its node
    assert "SELECT 1" in str(ready["db"]["detail"])
    assert_in_phase_order(seen)
    web_nodes = {node for node, desired, _ in tasks(stack.name, "web") if desired == "Running"}
    assert len(web_nodes) >= 2, web_nodes  # spread over the cluster, not one engine
    assert {n for n, d, _ in tasks(stack.name, "db") if d == "Running"} == {"manager"}
    local = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=com.docker.stack.namespace={stack.name}"],
        capture_output=True,
        text=True,
    ).stdout.split()
    assert local == []  # nothing ran on the engine bootstrap runs beside
    # deployed through the services API after one held stack deploy: still the stack's own
    listed = on_cluster("stack", "ls", "--format", "{{.Name}} {{.Services}}").stdout.split("\n")
    assert f"{stack.name} 4" in listed, listed
    shown = on_cluster("stack", "ps", stack.name, "--format", "{{.Name}}").stdout.split()
    for name in ("db", "migrate", "web", "metrics"):
        assert any(line.startswith(f"{stack.name}_{name}.") for line in shown), shown
    probing = [e for e in seen if e.get("state") == "probing"]
    said = {str(e["service"]): str(e.get("detail", "")) for e in probing}
    assert "services API" in said.get("web", ""), said

    status = swarm(stack, "status", "--json")
    assert status.returncode == 0, status.stderr
    rows = {r["service"]: r for r in json.loads(status.stdout)["services"]}
    assert all(r["ready"] for r in rows.values()), rows
    assert "3/3 tasks running on" in rows["web"]["detail"]
    assert "manager" in rows["db"]["detail"]
    logs = swarm(stack, "logs", "db", "-n", "200")
    assert "database system is ready" in logs.stdout, logs.stdout[-500:]

    down = swarm(stack, "down", timeout=300)
    assert down.returncode == 0, down.stderr
    left = on_cluster(
        "service", "ls", "-q", "--filter", f"label=com.docker.stack.namespace={stack.name}"
    )
    assert left.stdout.split() == []


def test_an_image_the_registry_lacks_stops_up_before_anything_is_deployed(
    stack: Project,
) -> None:
    up = swarm(stack, "up", timeout=300, env={"WEB_IMAGE": f"{REGISTRY}/not-pushed:1"})
    assert up.returncode == 3, up.stderr
    assert "web: 127.0.0.1:5000/not-pushed:1" in up.stderr and "fix:" in up.stderr
    left = on_cluster(
        "service", "ls", "-q", "--filter", f"label=com.docker.stack.namespace={stack.name}"
    )
    assert left.stdout.split() == []


def test_validate_warns_about_a_volume_that_no_placement_keeps_on_one_node(
    stack: Project,
) -> None:
    pinned = swarm(stack, "validate", "--json")
    assert pinned.returncode == 0, pinned.stderr
    assert "swarm-placement" not in pinned.stdout
    compose = stack.directory / "docker-compose.yml"
    text = compose.read_text()
    compose.write_text(text.replace('constraints: ["node.role == manager"]', "constraints: []"))
    unpinned = swarm(stack, "validate", "--json")
    found = [f for f in json.loads(unpinned.stdout)["findings"] if f["rule"] == "swarm-placement"]
    assert [f["location"] for f in found] == ["services.db.deploy.placement"], unpinned.stdout
    assert "3 nodes" in found[0]["message"] and "node.hostname" in found[0]["hint"]


def test_a_worker_lost_in_the_middle_of_up_does_not_stop_the_bring_up(stack: Project) -> None:
    process = subprocess.Popen(
        [
            *stack.command(),
            "--context",
            CONTEXT,
            "--backend",
            "swarm",
            "up",
            "--json",
            "--timeout",
            "180",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=stack.environment(),
        stdin=subprocess.DEVNULL,
    )
    assert process.stdout is not None and process.stderr is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if '"state": "ready"' in line and '"service": "db"' in line:
            subprocess.run(["docker", "stop", "testenv-cluster-worker-2"], check=True)
            break
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    seen = events("".join(lines) + out)
    assert {e["service"] for e in seen if e.get("state") == "ready"} == {
        "db",
        "migrate",
        "web",
        "metrics",
    }
    assert_in_phase_order(seen)


def test_status_says_which_replicas_a_lost_node_took_and_where_they_went(
    stack: Project,
) -> None:
    up = swarm(stack, "up", "--timeout", "180", timeout=600)
    assert up.returncode == 0, up.stderr
    running = [n for n, d, _ in tasks(stack.name, "web") if d == "Running"]
    lost = next(n for n in ("worker-1", "worker-2") if n in running)
    subprocess.run(["docker", "stop", f"testenv-cluster-{lost}"], check=True)
    deadline = time.monotonic() + 120
    while True:
        status = swarm(stack, "status", "--json")
        rows = {r["service"]: r for r in json.loads(status.stdout)["services"]}
        detail = str(rows["web"]["detail"])
        if f"lost with {lost}" in detail and "now on" in detail and rows["web"]["ready"]:
            break
        assert time.monotonic() < deadline, detail
        time.sleep(2)
    moved_to = detail.split("now on ", 1)[1]
    assert lost not in moved_to
    text = swarm(stack, "status").stdout
    assert f"lost with {lost}" in text


def test_a_service_pinned_to_a_lost_node_fails_naming_it(stack: Project) -> None:
    subprocess.run(["docker", "stop", "testenv-cluster-worker-2"], check=True)
    wait_for_nodes(lambda states: states.get("worker-2") == "Down")
    up = swarm(
        stack,
        "up",
        "--timeout",
        "120",
        timeout=600,
        env={"WEB_CONSTRAINT": "node.hostname == worker-2"},
    )
    assert up.returncode == 1, up.stderr
    assert "required service web failed" in up.stderr
    assert "no node can run its task" in up.stderr and "down: worker-2" in up.stderr


def test_a_built_service_is_built_pushed_to_the_registry_and_deployed_from_it(
    cluster: None, make_project: Callable[..., Project]
) -> None:
    import urllib.request

    project = make_project("cluster-build")
    try:
        up = swarm(project, "up", "--json", "--timeout", "180", timeout=600)
        assert up.returncode == 0, up.stderr
        pushed = f"{REGISTRY}/{project.name}-app:latest"
        notes = [str(e.get("detail")) for e in events(up.stdout)]
        assert f"pushed {pushed}" in notes, notes
        ready = next(e for e in events(up.stdout) if e.get("state") == "ready")
        assert "2 replicas ready" in str(ready["detail"])
        with urllib.request.urlopen(
            f"http://{REGISTRY}/v2/{project.name}-app/tags/list", timeout=10
        ) as answer:
            assert "latest" in json.loads(answer.read())["tags"]
        images = on_cluster(
            "service",
            "inspect",
            f"{project.name}_app",
            "--format",
            "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
        ).stdout
        assert images.startswith(pushed), images
    finally:
        swarm(project, "down", timeout=300)
        on_cluster("stack", "rm", project.name)


def test_an_unreachable_manager_exits_3_naming_the_context(
    make_project: Callable[..., Project],
) -> None:
    name = "bt-unreachable-manager"
    subprocess.run(["docker", "context", "rm", "-f", name], capture_output=True)
    made = subprocess.run(
        ["docker", "context", "create", name, "--docker", "host=tcp://127.0.0.1:1"],
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    try:
        project = make_project("cluster", POSTGRES_PASSWORD="Cluster-pw-0123456789")
        done = project.run("--context", name, "--backend", "swarm", "up")
        assert done.returncode == 3, done.stderr
        assert f"Docker context {name!r}" in done.stderr
        assert f"docker --context {name} info" in done.stderr
    finally:
        subprocess.run(["docker", "context", "rm", "-f", name], capture_output=True)


class SwarmSupervising:
    """`bootstrap --context CONTEXT --backend swarm supervise --json` in the background."""

    def __init__(self, project: Project, *args: str) -> None:
        self.process = subprocess.Popen(
            [*project.command(), "--context", CONTEXT, "--backend", "swarm", "supervise",
             "--json", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=project.environment(),
        )  # fmt: skip
        assert self.process.stdout is not None
        self.seen: list[dict[str, object]] = []
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line)

    def until(self, kind: str, service: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1.0)
            except queue.Empty:
                continue
            if line.startswith("{"):
                self.seen.append(json.loads(line))
                if self.seen[-1].get("kind") == kind and self.seen[-1].get("service") == service:
                    return
        raise AssertionError(f"no {kind} of {service}: {self.seen}")

    def drain(self, seconds: float) -> None:
        """Collect what it says for ``seconds``."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=min(left, 1.0))
            except queue.Empty:
                continue
            if line.startswith("{"):
                self.seen.append(json.loads(line))

    def stop(self) -> None:
        self.process.send_signal(2)
        self.process.communicate(timeout=30)


def test_the_supervisor_re_gates_and_restarts_a_dependent_when_swarm_replaces_its_database(
    cluster: None, make_project: Callable[..., Project]
) -> None:
    """`bootstrap --backend swarm supervise` on the cluster: the database's task replaced (its
    container killed on its node; Swarm starts a new task) -> the app waits, the database is
    re-gated, the app (depends_on.restart: true) gets new tasks and is re-gated too."""
    project = make_project("cluster-supervise", POSTGRES_PASSWORD="Cluster-pw-0123456789")
    supervisor: SwarmSupervising | None = None
    try:
        up = swarm(project, "up", "--timeout", "180", timeout=600)
        assert up.returncode == 0, up.stderr

        def app_tasks() -> set[str]:
            listed = on_cluster(
                "service", "ps", "-q", "--filter", "desired-state=running", f"{project.name}_app"
            )
            return set(listed.stdout.split())

        before = app_tasks()
        supervisor = SwarmSupervising(project, "--no-converge")
        supervisor.until("watching", "")
        container = on_cluster(
            "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={project.name}_db"
        ).stdout.split()
        assert container, "the database's container is not on the manager"
        on_cluster("kill", container[0])
        supervisor.until("waiting", "app")
        supervisor.until("back", "db")
        supervisor.until("restarted", "app")
        supervisor.until("ready", "app")
        after = app_tasks()
        assert after and not after & before, (before, after)  # every task replaced
    finally:
        if supervisor is not None:
            supervisor.stop()
        swarm(project, "down", timeout=300)
        on_cluster("stack", "rm", project.name)
        remove_volumes(project.name)


def test_a_crash_looping_swarm_service_is_reported_once_and_left_alone(
    cluster: None, make_project: Callable[..., Project]
) -> None:
    """On Swarm a task that exits is replaced by Swarm (restart_policy); each exit is a crash
    to the supervisor (Swarm has no kill event to tell a stop from it): five within five
    minutes are a crash loop, reported once, and nothing is restarted for it."""
    project = make_project("cluster-supervise", POSTGRES_PASSWORD="Cluster-pw-0123456789")
    supervisor: SwarmSupervising | None = None
    try:
        up = swarm(project, "up", "--timeout", "180", timeout=600)
        assert up.returncode == 0, up.stderr
        supervisor = SwarmSupervising(project, "--profile", "crash", "--no-converge")
        supervisor.until("watching", "")
        made = on_cluster(
            "service", "create", "--detach", "--name", f"{project.name}_crasher",
            "--label", f"com.docker.stack.namespace={project.name}",
            "--restart-delay", "1s", "127.0.0.1:5000/busybox:latest",
            "sh", "-c", "sleep 1; exit 3",
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        supervisor.until("crash-loop", "crasher", timeout=120)
        supervisor.drain(8)  # Swarm goes on replacing it; the supervisor does nothing more
        acted = [a for a in supervisor.seen if a["kind"] in ("restarted", "healed")]
        assert acted == [], supervisor.seen
        loops = [a for a in supervisor.seen if a["kind"] == "crash-loop"]
        assert len(loops) == 1 and "left alone" in str(loops[0]["reason"])
    finally:
        if supervisor is not None:
            supervisor.stop()
        on_cluster("service", "rm", f"{project.name}_crasher")
        swarm(project, "down", timeout=300)
        on_cluster("stack", "rm", project.name)
        remove_volumes(project.name)
