"""A unit test per probe kind, against loopback peers or a scripted container, and the registry
that the labels, the planner, both backends and discovery share."""

from __future__ import annotations

import http.server
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bootstrap.probes import Target, UnknownKind, kinds, make_probe
from bootstrap.probes.core import every_replica
from bootstrap.probes.spec import ProbeSpec
from bootstrap.runtime import ContainerInfo, EngineEvent, ExecResult
from bootstrap.watch import ContainerWatch


@dataclass
class ScriptedContainer:
    """ContainerAccess that answers exec from a script and keeps what was asked."""

    answers: list[ExecResult] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    log_text: str = ""
    calls: list[tuple[list[str], dict[str, str]]] = field(default_factory=list)

    def exec(self, command: Sequence[str], env: Mapping[str, str] | None = None) -> ExecResult:
        self.calls.append((list(command), dict(env or {})))
        return self.answers.pop(0)

    def read_file(self, path: str) -> bytes:
        return self.files[path]

    def logs(self, tail: int) -> str:
        return self.log_text

    def inspect(self) -> ContainerInfo:
        return ContainerInfo("c1", "svc-1", "svc", "running")


@contextmanager
def http_server(status: int = 200, body: bytes = b"ok") -> Iterator[int]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def free_local_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_registry_has_every_kind_and_refuses_an_unknown_one() -> None:
    assert {"docker", "tcp", "http", "postgres", "mariadb", "mysql", "mcp", "exec", "log",
            "completed", "running"} <= set(kinds())  # fmt: skip
    assert kinds()["mysql"].name == "mariadb"
    with pytest.raises(UnknownKind):
        make_probe(ProbeSpec("htpp"))
    for name, kind in kinds().items():
        assert kind.signal and kind.tested, name  # the docs' table reads them
        assert "timeout" in kind.label_params


def test_tcp_connects_to_the_published_port() -> None:
    probe = make_probe(ProbeSpec("tcp", {"port": 5000}))
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        assert probe.check(Target("svc", ports={5000: port})).ready
    closed = probe.check(Target("svc", ports={5000: free_local_port()}))
    assert not closed.ready and "127.0.0.1" in closed.detail


def test_tcp_without_an_endpoint_asks_nc_in_the_container() -> None:
    container = ScriptedContainer([ExecResult(1, ""), ExecResult(0, "")])
    probe = make_probe(ProbeSpec("tcp", {"port": 6379}))
    target = Target("svc", container=container)
    assert not probe.check(target).ready
    assert probe.check(target).ready
    assert container.calls[0][0] == ["nc", "-z", "127.0.0.1", "6379"]


def test_http_status_and_body() -> None:
    with http_server(200, b"hello world") as port:
        target = Target("svc", ports={80: port})
        assert make_probe(ProbeSpec("http", {"port": 80})).check(target).ready
        wrong_body = make_probe(ProbeSpec("http", {"port": 80, "body": "^bye"})).check(target)
        assert not wrong_body.ready and "does not match" in wrong_body.detail
    with http_server(503) as port:
        seen = make_probe(ProbeSpec("http", {"port": 80})).check(Target("svc", ports={80: port}))
        assert not seen.ready and "HTTP 503, want 200" in seen.detail
    with http_server(204) as port:
        spec = ProbeSpec("http", {"port": 80, "status": 204})
        assert make_probe(spec).check(Target("svc", ports={80: port})).ready


def test_http_uses_the_first_container_port_without_a_port_parameter() -> None:
    probe = make_probe(ProbeSpec("http"), exposed=[8080, 9000])
    assert probe.port == 8080  # type: ignore[attr-defined]


def test_mcp_unreachable_without_a_healthcheck_is_fatal_and_says_how() -> None:
    seen = make_probe(ProbeSpec("mcp", {"port": 8000})).check(Target("svc"))
    assert seen.fatal and "publish it on 127.0.0.1" in seen.detail


def test_mcp_against_a_server_that_breaks_the_contract() -> None:
    with http_server(200, b"not json") as port:
        seen = make_probe(ProbeSpec("mcp", {"port": 8000})).check(Target("svc", ports={8000: port}))
    assert not seen.ready and "MCP" in seen.detail


def test_exec_repeats_in_one_exec_and_reports_the_output() -> None:
    container = ScriptedContainer([ExecResult(3, "not yet\n"), ExecResult(0, "")])
    probe = make_probe(ProbeSpec("exec", {"command": "test -f /ready"}))
    target = Target("svc", container=container, window=2.0)
    first = probe.check(target)
    assert not first.ready and "exit 3" in first.detail and "not yet" in first.detail
    assert probe.check(target).ready
    command = container.calls[0][0]
    assert command[:2] == ["/bin/sh", "-c"] and command[-3:] == ["/bin/sh", "-c", "test -f /ready"]


def test_log_matches_a_line() -> None:
    container = ScriptedContainer(log_text="booting\nready to accept connections\n")
    assert (
        make_probe(ProbeSpec("log", {"pattern": "ready to accept"}))
        .check(Target("svc", container=container))
        .ready
    )
    assert (
        not make_probe(ProbeSpec("log", {"pattern": "^listening"}))
        .check(Target("svc", container=container))
        .ready
    )


def test_running_waits_for_the_settle_time() -> None:
    watch = ContainerWatch()
    watch.apply(EngineEvent("c1", "svc", "start", 0))
    probe = make_probe(ProbeSpec("running", {"settle": 0.2}))
    target = Target("svc", watch=watch, container_id="c1")
    assert not probe.check(target).ready
    time.sleep(0.25)
    assert probe.check(target).ready


def test_mariadb_in_the_container_falls_back_to_mysql_and_reads_a_password_file() -> None:
    container = ScriptedContainer(
        [ExecResult(127, "exec failed: executable file not found"), ExecResult(0, "1\n")],
        files={"/run/secrets/db": b"from-a-file\n"},
    )
    spec = ProbeSpec(
        "mariadb",
        {"port": 3306, "user": "app", "database": "shop", "password_file": "/run/secrets/db"},
    )
    seen = make_probe(spec).check(Target("svc", container=container))
    assert seen.ready and "mysql in the container" in seen.detail
    (first, env), (second, _env) = container.calls
    assert first[0] == "mariadb" and second[0] == "mysql" and first[-1] == "shop"
    assert env == {"MYSQL_PWD": "from-a-file"} and "from-a-file" not in first


def test_a_probe_that_needs_the_container_says_so_where_there_is_none() -> None:
    from bootstrap.probes import NoContainer

    with pytest.raises(NoContainer):
        make_probe(ProbeSpec("log", {"pattern": "x"})).check(Target("svc", dns_name="10.0.0.5"))
    assert kinds()["log"].needs_container and not kinds()["postgres"].needs_container


def test_every_replica_is_one_verdict() -> None:
    from bootstrap.outcome import Observation

    ok, bad = Observation(True, "SELECT 1 answered"), Observation(False, "refused")
    assert every_replica([("a", ok), ("b", ok)], 2).ready
    missing = every_replica([("a", ok)], 2)
    assert not missing.ready and "1/2 replicas found" in missing.detail
    one_down = every_replica([("a", ok), ("b", bad)], 2)
    assert not one_down.ready and "b: refused" in one_down.detail


def test_the_swarm_helper_imports_only_the_standard_library() -> None:
    """It runs in a bare Python image with this package copied in: nothing else."""
    code = (
        "import sys; before = set(sys.modules); "
        "import bootstrap.backends.helper as h, bootstrap.probes as p; p.kinds(); "
        "names = {m.split('.')[0] for m in set(sys.modules) - before}; "
        "print(sorted(n for n in names if n not in sys.stdlib_module_names and n != 'bootstrap'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout


def test_the_docs_table_lists_every_kind_as_the_registry_has_it() -> None:
    from pathlib import Path

    from bootstrap.probes.registry import kinds_table

    page = (Path(__file__).resolve().parents[2] / "docs" / "recognition.md").read_text()
    assert kinds_table() in page, "the table in docs/recognition.md is out of date"
    for name in kinds():
        assert f"`{name}`" in page


def test_the_index_says_what_the_modules_register() -> None:
    """The registry picks a kind's module from bootstrap/probes/index.py without importing the
    others: what it says (names, image words, repositories per module) is what they register."""
    from bootstrap.probes import index
    from bootstrap.probes.registry import index_entries

    assert index_entries() == index.MODULES, (
        "bootstrap/probes/index.py is out of date: run python -c 'from "
        "bootstrap.probes.registry import write_index; write_index()' && "
        "ruff format bootstrap/probes/index.py"
    )


def test_recognising_an_image_imports_only_its_kinds_module() -> None:
    """A plan imports the modules of the kinds its stack uses (a fresh interpreter): the
    names of every kind are known without importing one, a recognised image imports its own."""
    code = (
        "import sys; from bootstrap.probes.registry import kinds, recognised, by_repository; "
        "names = list(kinds()); "
        "before = {m for m in sys.modules if m.startswith('bootstrap.probes.')}; "
        "found = recognised(['bitnami', 'redis']); "
        "kafka = by_repository('confluentinc/cp-server'); "
        "after = {m for m in sys.modules if m.startswith('bootstrap.probes.')}; "
        "print(found.name, kafka.name, len(names), sorted(after - before))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    name, kafka, count, imported = done.stdout.split(" ", 3)
    assert (name, kafka) == ("redis", "kafka")
    assert int(count) == len(list(kinds()))
    assert "bootstrap.probes.redis" in imported and "bootstrap.probes.kafka" in imported
    assert "bootstrap.probes.postgres" not in imported and "mongodb" not in imported


def test_a_port_the_image_exposes_is_what_running_waits_for(tmp_path: Path) -> None:
    """issue 38: a service whose file declares no port (Dify's API, Weaviate...) was only
    "running"; the image's EXPOSE says where the server listens: a TCP connect there (a guess:
    where it cannot be tried, "running" as compose has it). A label's "running" stays."""
    from bootstrap.runtime import ContainerInfo
    from bootstrap.targets import target_and_probe
    from bootstrap.watch import ContainerWatch
    from tests.unit.fakes import FakeEngine, workspace
    from tests.unit.helpers import svc

    ws = workspace(
        tmp_path,
        {"api": svc("myorg/api:3"), "worker": svc(labels={"bootstrap.probe": "running"})},
    )
    info = ContainerInfo("c1", "shop-api-1", "api", "running", "shop", exposed=(5001, 8080))
    engine = FakeEngine()
    _target, probe = target_and_probe(
        ws.plan.services["api"], info, engine, ContainerWatch(), False
    )
    assert (probe.kind, getattr(probe, "port", None)) == ("tcp", 5001)
    _target, ordered = target_and_probe(
        ws.plan.services["worker"], info, engine, ContainerWatch(), False
    )
    assert ordered.kind == "running"


def test_the_services_name_is_looked_up_only_when_a_probe_dials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the stack's network (a dev container) the service's name is looked up when a probe
    first dials a port, not for every target: a healthcheck or the container's life never
    waits on the resolver (a slow one cost a no-op re-run 0.5 s per phase)."""
    import bootstrap.probes.core as core
    import bootstrap.targets as targets
    from bootstrap.runtime import ContainerInfo
    from bootstrap.targets import target_and_probe
    from bootstrap.watch import ContainerWatch
    from tests.unit.fakes import FakeEngine, workspace
    from tests.unit.helpers import svc

    asked: list[str] = []

    def resolvable(name: str) -> bool:
        asked.append(name)
        return True

    monkeypatch.setattr(core, "resolvable", resolvable)
    monkeypatch.setattr(targets, "resolvable", resolvable, raising=False)  # where it asked
    ws = workspace(
        tmp_path,
        {
            "worker": svc(labels={"bootstrap.probe": "running"}),
            "web": svc(labels={"bootstrap.probe": "tcp", "bootstrap.probe.port": "8080"}),
        },
    )
    info = ContainerInfo("c1", "shop-worker-1", "worker", "running", "shop")
    target, probe = target_and_probe(
        ws.plan.services["worker"], info, FakeEngine(), ContainerWatch(), True
    )
    assert probe.kind == "running" and asked == []
    target, probe = target_and_probe(
        ws.plan.services["web"], info, FakeEngine(), ContainerWatch(), True
    )
    assert asked == []
    assert target.endpoint(8080) == ("web", 8080) and asked == ["web"]


def test_a_healthcheck_loop_is_given_up_once_the_engine_marks_the_container_unhealthy() -> None:
    """The in-container loop runs for its window (2 s in `up`); the engine's verdict on the
    way (compose's --wait fails at once on it) ends the wait then, said by the gate, not
    after the window: `start-fail` waited about 0.9 s longer than compose."""
    from bootstrap.model import Healthcheck
    from bootstrap.probes.core import SystemClock
    from bootstrap.probes.run import run_probe

    released = threading.Event()

    @dataclass
    class SlowContainer(ScriptedContainer):
        def exec(self, command: Sequence[str], env: Mapping[str, str] | None = None) -> ExecResult:
            released.wait(5)  # the loop in the container: failing until its window ends
            return ExecResult(1, "")

    watch = ContainerWatch()
    watch.apply(EngineEvent("c1", "svc", "start", 0))
    watch.apply(EngineEvent("c1", "svc", "health_status: starting", 0))
    target = Target(
        "svc",
        container=SlowContainer(),
        watch=watch,
        container_id="c1",
        healthcheck=Healthcheck(test=("CMD-SHELL", "false")),
        window=5.0,
    )
    threading.Timer(
        0.3, watch.apply, (EngineEvent("c1", "svc", "health_status: unhealthy", 0),)
    ).start()
    began = time.monotonic()
    try:
        result = run_probe(
            make_probe(ProbeSpec("docker", {})), target, timeout=10, clock=SystemClock()
        )
    finally:
        released.set()
    took = time.monotonic() - began
    assert not result.ready and result.fatal and "marked it unhealthy" in result.detail
    assert took < 2.0, took  # the window is 5 s: given up at the verdict, not after it
