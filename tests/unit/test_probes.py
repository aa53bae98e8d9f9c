from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pytest

from bootstrap.model import Healthcheck
from bootstrap.probes import (
    Backoff,
    EngineContainer,
    Observation,
    Target,
    container_gate,
    poll,
)
from bootstrap.probes.docker import DockerHealthProbe
from bootstrap.probes.postgres import PostgresProbe
from bootstrap.probes.sql import Credentials
from bootstrap.runtime import EngineEvent, ExecResult
from bootstrap.watch import ContainerWatch


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


def test_poll_backs_off_from_tens_of_milliseconds_to_a_second() -> None:
    clock = FakeClock()
    result = poll(lambda: Observation(False, "refused"), timeout=10, clock=clock)
    assert result.timed_out and not result.ready and result.detail == "refused"
    assert clock.sleeps[0] == 0.02
    assert max(clock.sleeps) == 1.0
    assert clock.sleeps[:-1] == sorted(clock.sleeps[:-1])  # the last is cut at the deadline
    assert sum(clock.sleeps) == 10


def test_poll_returns_at_first_ready() -> None:
    clock = FakeClock()
    answers = iter([Observation(False, "a"), Observation(False, "b"), Observation(True, "up")])
    result = poll(lambda: next(answers), timeout=10, clock=clock)
    assert result.ready and result.attempts == 3 and result.detail == "up"


def test_poll_stops_at_fatal_and_maps_exceptions() -> None:
    clock = FakeClock()
    calls = iter([ValueError("boom"), Observation(False, "exited with code 1", fatal=True)])

    def check() -> Observation:
        item = next(calls)
        if isinstance(item, Exception):
            raise item
        assert isinstance(item, Observation)
        return item

    result = poll(check, timeout=100, clock=clock)
    assert result.fatal and result.attempts == 2 and not result.timed_out


def test_poll_honours_cancel() -> None:
    result = poll(
        lambda: Observation(False, "x"), timeout=100, clock=FakeClock(), cancelled=lambda: True
    )
    assert "cancelled" in result.detail and not result.ready


def test_backoff_is_configurable() -> None:
    delays = Backoff(first=0.1, factor=2, ceiling=0.3).delays()
    assert [delays() for _ in range(4)] == [0.1, 0.2, 0.3, 0.3]


@dataclass
class ExecEngine:
    """Answers exec with scripted results; records commands and env."""

    answers: list[ExecResult]
    calls: list[tuple[list[str], dict[str, str]]] = field(default_factory=list)

    def exec(
        self,
        container_id: str,
        command: Sequence[str],
        *,
        user: str = "",
        env: Mapping[str, str] | None = None,
    ) -> ExecResult:
        self.calls.append((list(command), dict(env or {})))
        return self.answers.pop(0)


def target(engine: object, watch: ContainerWatch, **kw: object) -> Target:
    return Target(
        "svc",
        container=EngineContainer(engine, "c1"),  # type: ignore[arg-type]
        watch=watch,
        container_id="c1",
        **kw,  # type: ignore[arg-type]
    )


def test_postgres_probe_runs_select_1_over_tcp_in_the_container() -> None:
    engine = ExecEngine([ExecResult(2, "psql: connection refused"), ExecResult(0, "1\n")])
    watch = ContainerWatch()
    probe = PostgresProbe(5432, Credentials("app", "appdb", "pw"))
    first = probe.check(target(engine, watch))
    assert not first.ready and "connection refused" in first.detail
    assert probe.check(target(engine, watch)).ready
    command, env = engine.calls[0]
    assert command[:3] == ["psql", "-h", "127.0.0.1"] and "SELECT 1" in command
    assert env["PGPASSWORD"] == "pw" and "pw" not in command
    assert "pw" not in repr(probe)


def test_docker_probe_runs_the_healthcheck_test_itself() -> None:
    engine = ExecEngine([ExecResult(1, "no response"), ExecResult(0, "")])
    watch = ContainerWatch()
    hc = Healthcheck(("CMD-SHELL", "pg_isready -h 127.0.0.1"), interval=30)
    t = target(engine, watch, healthcheck=hc)
    assert not DockerHealthProbe().check(t).ready
    assert DockerHealthProbe().check(t).ready
    assert engine.calls[0][0] == ["/bin/sh", "-c", "pg_isready -h 127.0.0.1"]


def test_docker_probe_trusts_the_engines_healthy_event() -> None:
    watch = ContainerWatch()
    watch.apply(EngineEvent("c1", "svc", "start", 0))
    watch.apply(EngineEvent("c1", "svc", "health_status: healthy", 0))
    assert DockerHealthProbe().check(target(ExecEngine([]), watch)).ready


def test_gate_reports_exit_at_once_and_restart_loops() -> None:
    watch = ContainerWatch()
    t = target(ExecEngine([]), watch)
    assert container_gate(t) is None
    watch.apply(EngineEvent("c1", "svc", "start", 0))
    watch.apply(EngineEvent("c1", "svc", "die", 0, {"exitCode": "3"}))
    gate = container_gate(t)
    assert gate is not None and gate.fatal and "exited with code 3" in gate.detail

    looping = target(ExecEngine([]), watch, restart_policy="always")
    watch2 = ContainerWatch()
    looping.watch = watch2
    for _ in range(2):
        watch2.apply(EngineEvent("c1", "svc", "start", 0))
        watch2.apply(EngineEvent("c1", "svc", "die", 0, {"exitCode": "1"}))
        assert container_gate(looping) is not None and not container_gate(looping).fatal  # type: ignore[union-attr]
    watch2.apply(EngineEvent("c1", "svc", "start", 0))
    gate = container_gate(looping)
    assert gate is not None and gate.fatal and "restart loop" in gate.detail


def test_completed_probe_accepts_exit_zero_only() -> None:
    watch = ContainerWatch()
    t = target(ExecEngine([]), watch)
    watch.apply(EngineEvent("c1", "svc", "start", 0))
    watch.apply(EngineEvent("c1", "svc", "die", 0, {"exitCode": "0"}))
    gate = container_gate(t, completed_ok=True)
    assert gate is not None and gate.ready


def test_poll_tells_each_change_of_outcome_once() -> None:
    seen = iter(
        [
            Observation(False, "connection refused"),
            Observation(False, "connection refused"),
            Observation(False, "FATAL: the database system is starting up"),
            Observation(True, "SELECT 1 answered"),
        ]
    )
    changes: list[str] = []
    result = poll(
        lambda: next(seen),
        timeout=10,
        clock=FakeClock(),
        on_change=lambda o: changes.append(o.detail),
    )
    assert result.ready and result.attempts == 4
    assert changes == [
        "connection refused",
        "FATAL: the database system is starting up",
        "SELECT 1 answered",
    ]


def test_sql_probe_query_label_must_answer_true() -> None:
    """`bootstrap.probe.query`: a server that answers but is not what the query asks for (a
    standby that does not stream yet) is not ready."""
    query = "SELECT status = 'streaming' FROM pg_stat_wal_receiver"
    engine = ExecEngine([ExecResult(0, "\n"), ExecResult(0, "f\n"), ExecResult(0, "t\n")])
    watch = ContainerWatch()
    probe = PostgresProbe(5432, Credentials("app", "appdb", "pw"), query=query)
    no_row = probe.check(target(engine, watch))
    assert not no_row.ready and "not true" in no_row.detail
    assert not probe.check(target(engine, watch)).ready
    assert probe.check(target(engine, watch)).ready
    assert engine.calls[0][0][-1] == query


def test_query_label_is_parsed_for_sql_kinds_only() -> None:
    import pytest

    from bootstrap.errors import ConfigError
    from bootstrap.model import Service
    from bootstrap.probespec import choose_probe

    replica = Service(
        "replica",
        image="postgres:17",
        labels={"bootstrap.probe.query": "SELECT pg_is_in_recovery()"},
        environment={"POSTGRES_USER": "app", "POSTGRES_PASSWORD": "pw"},
    )
    spec = choose_probe(replica)
    assert spec.kind == "postgres" and spec.text("query") == "SELECT pg_is_in_recovery()"
    web = Service(
        "web", image="nginx", labels={"bootstrap.probe": "http", "bootstrap.probe.query": "x"}
    )
    with pytest.raises(ConfigError, match="not a parameter of the http probe"):
        choose_probe(web)


def test_a_guessed_tcp_probe_is_running_where_the_image_has_no_nc_an_asked_one_fails() -> None:
    from bootstrap.probes.tcp import TcpProbe

    missing = ExecResult(126, 'exec: "nc": executable file not found in $PATH')
    guessed = TcpProbe(9100, guessed=True).check(target(ExecEngine([missing]), ContainerWatch()))
    assert guessed.ready and "no nc" in guessed.detail and "as compose" in guessed.detail
    asked = TcpProbe(9100).check(target(ExecEngine([missing]), ContainerWatch()))
    assert not asked.ready and asked.fatal and "bootstrap.probe" in asked.detail
    closed = TcpProbe(9100, guessed=True).check(
        target(ExecEngine([ExecResult(1, "")]), ContainerWatch())
    )
    assert not closed.ready and not closed.fatal  # nc ran: the port is not open yet


def test_redis_asks_through_the_images_own_client_where_its_port_is_not_reachable() -> None:
    from bootstrap.probes.redis import RedisProbe

    pong = ExecEngine([ExecResult(0, "PONG\n")])
    seen = RedisProbe(6379, password="s3cret").check(target(pong, ContainerWatch()))
    assert seen.ready and "redis-cli in the container" in seen.detail
    command, env = pong.calls[0]
    assert command[0] == "redis-cli" and "s3cret" not in command  # the password in the env
    assert env == {"REDISCLI_AUTH": "s3cret"}
    valkey = ExecEngine([ExecResult(127, "not found"), ExecResult(0, "PONG")])
    assert "valkey-cli" in RedisProbe(6379).check(target(valkey, ContainerWatch())).detail
    refused = ExecEngine([ExecResult(0, "NOAUTH Authentication required.")])
    assert "needs a password" in RedisProbe(6379).check(target(refused, ContainerWatch())).detail
    none = ExecEngine([ExecResult(127, ""), ExecResult(127, ""), ExecResult(126, "")])
    lost = RedisProbe(6379).check(target(none, ContainerWatch()))
    assert not lost.ready and "not reachable from here" in lost.detail


def test_a_published_port_that_accepts_then_closes_is_not_ready() -> None:
    """docker-proxy accepts on the published port at once and closes the connection while
    nothing listens in the container: that is not a server accepting connections."""
    import socket
    import threading

    from bootstrap.probes.core import Target
    from bootstrap.probes.tcp import TcpProbe

    def serve(close_at_once: bool) -> int:
        listener = socket.create_server(("127.0.0.1", 0))

        def run() -> None:
            conn, _ = listener.accept()
            if close_at_once:
                conn.close()
            else:
                threading.Event().wait(0.5)
                conn.close()
            listener.close()

        threading.Thread(target=run, daemon=True).start()
        return int(listener.getsockname()[1])

    proxied = TcpProbe(8000).check(Target("web", ports={8000: serve(True)}))
    assert not proxied.ready and "nothing listens" in proxied.detail, proxied.detail
    listening = TcpProbe(8000).check(Target("web", ports={8000: serve(False)}))
    assert listening.ready and "accepts connections" in listening.detail


def test_a_name_not_resolvable_when_the_probe_began_is_dialled_once_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A dependency restarting has no name in the network's DNS for a moment: a probe that
    began then (the supervisor's, at the dependency's kill) must dial it by name once it is
    back, not fall back for its whole wait to what cannot work from there (found looping the
    stack's own supervisor: 1 of 7 rounds waited out the probe's 120 s)."""
    import bootstrap.probes.core as core

    names: dict[str, bool] = {"db": False}
    monkeypatch.setattr(core, "resolvable", lambda name: names.get(name, False))
    target = Target("db", dns_candidate="db", ports={})
    assert target.endpoint(5432) is None  # gone from the DNS: nothing to dial from here
    names["db"] = True
    assert target.endpoint(5432) is None  # asked again at most once a second
    target._dns_asked -= 1.0
    assert target.endpoint(5432) == ("db", 5432)
    assert target.endpoint(5432) == ("db", 5432)  # kept, no more lookups needed


def test_what_the_image_says_fills_only_what_the_file_left_at_running() -> None:
    from bootstrap.probes.spec import ProbeSpec
    from bootstrap.targets import what_the_image_says

    running = ProbeSpec("running")
    checked = what_the_image_says(running, healthcheck=True, exposed=(80,))
    assert (checked.kind, checked.source) == ("docker", "image config")
    port = what_the_image_says(running, healthcheck=False, exposed=(8080, 9090))
    assert (port.kind, port.params["port"], port.source) == (
        "tcp",
        8080,
        "image config (a guess)",
    )
    ordered = ProbeSpec("running", ordered=True)  # a label's order is kept
    assert what_the_image_says(ordered, healthcheck=False, exposed=(80,)) is ordered
    sql = ProbeSpec("postgres", recognised=True)
    assert what_the_image_says(sql, healthcheck=True, exposed=(5432,)) is sql


def test_a_slow_resolver_costs_half_a_second_not_five(monkeypatch: pytest.MonkeyPatch) -> None:
    """A lookup the resolver does not answer in time is "not resolvable now" (the probe asks
    again a second later); an answer is shared by every thread asking, and kept a second."""
    import socket
    import threading

    from bootstrap import reach

    release = threading.Event()
    asked: list[str] = []

    def getaddrinfo(name: str, *_args: object) -> list[object]:
        asked.append(name)
        if name == "slow":  # answers, but only once released: after the threads are done
            release.wait(10)
        return []

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(reach, "_known", {})
    monkeypatch.setattr(reach, "_asking", {})
    answers: list[bool] = []
    threads = [
        threading.Thread(target=lambda: answers.append(reach.resolvable("slow"))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [False] * 4  # not the resolver's late "yes": they did not wait for it
    assert asked == ["slow"]  # one lookup for the four threads
    pending = reach._asking["slow"]
    release.set()
    pending.result(timeout=10)  # its answer lands here, not in the next test's table
    assert reach.resolvable("db") is True
    assert reach.resolvable("db") is True
    assert asked.count("db") == 1  # kept for a second
