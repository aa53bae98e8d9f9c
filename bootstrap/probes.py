"""Readiness probes: small strategy objects sharing one polling loop.

Each probe answers one question per attempt ("is it ready?") with an ``Observation``; the
loop in ``poll`` owns the deadline, the backoff (tens of milliseconds growing to about a
second) and the clock, which is injected so tests need no sleeping.
"""

from __future__ import annotations

import http.client
import re
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bootstrap.errors import EngineGone
from bootstrap.mcp_client import DEFAULT_PATH, McpError, handshake
from bootstrap.model import Healthcheck
from bootstrap.outcome import Observation, ProbeResult
from bootstrap.probespec import DEFAULT_PORTS, DEFAULT_QUERY, ProbeSpec
from bootstrap.runtime import Engine, ExecResult
from bootstrap.watch import ContainerWatch

RESTART_LOOP_LIMIT = 2
EXEC_LOOP_PAUSE = 0.05
# $1: how many tries; the rest: the command. Prints the last failure's output.
EXEC_LOOP = """n=$1; shift; i=0
while :; do
  out=$("$@" 2>&1); rc=$?
  [ "$rc" -eq 0 ] && exit 0
  i=$((i + 1)); [ "$i" -ge "$n" ] && break
  sleep 0.05 2>/dev/null || sleep 1
done
printf '%s\\n' "$out"; exit "$rc"
"""


class Clock(Protocol):
    def now(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass(frozen=True)
class Backoff:
    first: float = 0.02
    factor: float = 1.5
    ceiling: float = 1.0

    def delays(self) -> Callable[[], float]:
        current = [self.first]

        def next_delay() -> float:
            delay = current[0]
            current[0] = min(self.ceiling, delay * self.factor)
            return delay

        return next_delay


PACED = Backoff(first=0.01, factor=2.0, ceiling=0.1)  # for probes whose exec loop waits


def poll(
    check: Callable[[], Observation],
    *,
    timeout: float,
    clock: Clock,
    backoff: Backoff = Backoff(),
    cancelled: Callable[[], bool] = lambda: False,
    on_change: Callable[[Observation], None] = lambda _seen: None,
) -> ProbeResult:
    """Call ``check`` until it is ready, fatal, cancelled or past the deadline.
    ``on_change`` hears each attempt whose outcome differs from the one before."""
    start = clock.now()
    deadline = start + timeout
    delay = backoff.delays()
    attempts = 0
    last = previous = Observation(False, "not probed yet")
    while True:
        attempts += 1
        try:
            last = check()
        except EngineGone:  # not the service's fault: the whole run stops, at once
            raise
        except Exception as exc:  # one place maps a probe's exception to an observation
            last = Observation(False, f"{type(exc).__name__}: {exc}")
        if (last.ready, last.detail) != (previous.ready, previous.detail):
            on_change(last)
            previous = last
        now = clock.now()
        if last.ready or last.fatal:
            return ProbeResult(last.ready, last.detail, attempts, now - start, last.fatal)
        if cancelled():
            return ProbeResult(False, f"cancelled; last seen: {last.detail}", attempts, now - start)
        if now >= deadline:
            return ProbeResult(False, last.detail, attempts, now - start, timed_out=True)
        clock.sleep(min(delay(), max(0.0, deadline - now)))


# --- the target a probe looks at ------------------------------------------------------------


@dataclass
class Target:
    """A running container and the ways to reach it."""

    service: str
    container_id: str
    engine: Engine
    watch: ContainerWatch
    ports: Mapping[int, int] = field(default_factory=dict)  # container port -> 127.0.0.1 port
    dns_name: str | None = None  # set when bootstrap itself runs on the stack's network
    healthcheck: Healthcheck | None = None
    restart_policy: str = ""
    window: float = 0.0  # > 0: in-container tests repeat inside one exec for this long
    no_shell: bool = False  # learnt: the image has no /bin/sh to loop in

    def endpoint(self, port: int) -> tuple[str, int] | None:
        """Where to dial ``port`` from here; never the container's private address."""
        if self.dns_name:
            return self.dns_name, port
        if port in self.ports:
            return "127.0.0.1", self.ports[port]
        return None

    def read_secret(self, path: str) -> str:
        """A file inside the container (a ``*_FILE`` secret), without a shell or ``cat``."""
        if not path:
            return ""
        return self.engine.read_file(self.container_id, path).decode("utf-8").strip()

    def exec(self, command: Sequence[str], env: Mapping[str, str] | None = None) -> tuple[int, str]:
        result = self.run(command, env)
        return result.exit_code, result.output

    def run(self, command: Sequence[str], env: Mapping[str, str] | None = None) -> ExecResult:
        return self.engine.exec(self.container_id, command, env=env or {})

    def exec_until(
        self, command: Sequence[str], env: Mapping[str, str] | None = None
    ) -> tuple[int, str]:
        """Run ``command`` in the container until it succeeds, for up to ``window`` seconds,
        every 50 ms, inside one exec: success is seen within tens of milliseconds, without a
        round trip through the API per try. Images without /bin/sh get one plain exec."""
        if self.window <= 0 or self.no_shell:
            return self.exec(command, env)
        tries = max(1, round(self.window / EXEC_LOOP_PAUSE))
        result = self.run(
            ["/bin/sh", "-c", EXEC_LOOP, "bootstrap-probe", str(tries), *command], env
        )
        if result.not_found and "exec failed" in result.output:  # no /bin/sh in the image
            self.no_shell = True
            return self.exec(command, env)
        return result.exit_code, result.output


class Probe(Protocol):
    @property
    def kind(self) -> str: ...

    def check(self, target: Target) -> Observation: ...


def exit_zero_is_ready(kind: str, long_running: bool = False) -> bool:
    """Whether a container that exited 0 counts as ready: for a probe with no readiness signal
    of its own (a one-shot job), yes, unless the service must keep running (something waits
    for it with service_started or service_healthy, or it publishes ports): compose's rule
    then, where an exit is a failure. ``up`` and ``status`` both ask this."""
    return kind in ("completed", "running") and not long_running


def container_gate(  # noqa: PLR0911 - one return per container state reads best
    target: Target, *, completed_ok: bool = False
) -> Observation | None:
    """Fatal states every probe reports at once: exited, restart loop, removed."""
    state = target.watch.state(target.container_id)
    if state is None:
        return None
    if state.status == "removed":
        return Observation(False, "the container was removed", fatal=True)
    if state.health == "unhealthy" and state.status == "running":
        # The engine's verdict after the healthcheck's retries: compose's --wait fails here.
        last = target.engine.container(target.container_id).health_log
        return Observation(
            False,
            "the engine marked it unhealthy (its healthcheck failed its retries)"
            + (f"; last check: {last}" if last else ""),
            fatal=True,
        )
    restarts = state.starts - 1
    if restarts >= RESTART_LOOP_LIMIT:
        return Observation(
            False,
            f"restart loop: restarted {restarts} times, last exit code {state.exit_code}",
            fatal=True,
        )
    if state.status == "exited":
        if completed_ok and state.exit_code == 0:
            return Observation(
                True, "completed with exit code 0 (compose's --wait counts any exit as a failure)"
            )
        oom = " (killed: out of memory)" if state.oom_killed else ""
        will_retry = target.restart_policy in ("always", "unless-stopped", "on-failure")
        if will_retry:  # the engine starts it again: the restart-loop gate above decides
            return Observation(False, f"exited with code {state.exit_code}{oom}; restarting")
        return Observation(False, f"exited with code {state.exit_code}{oom}", fatal=True)
    return None


@dataclass(frozen=True)
class RunningProbe:
    """No other signal: ready once the container has stayed up for ``settle`` seconds, so a
    process that crashes at once is not taken for a ready one."""

    settle: float = 0.5
    kind: str = "running"

    def check(self, target: Target) -> Observation:
        state = target.watch.state(target.container_id)
        if state is None or state.status != "running":
            return Observation(False, f"container is {state.status if state else 'unknown'}")
        up_for = time.monotonic() - state.since
        if up_for >= self.settle:
            return Observation(True, "running")
        return Observation(False, f"running for {up_for:.2f}s, settling")


@dataclass(frozen=True)
class CompletedProbe:
    kind: str = "completed"

    def check(self, target: Target) -> Observation:
        state = target.watch.state(target.container_id)
        return Observation(False, f"still {state.status if state else 'unknown'}")


def _healthcheck_command(test: Sequence[str]) -> list[str] | None:
    if not test:
        return None
    if test[0] == "CMD":
        return list(test[1:])
    if test[0] == "CMD-SHELL":
        return ["/bin/sh", "-c", " ".join(test[1:])]
    return None


@dataclass(frozen=True)
class DockerHealthProbe:
    """The container's own healthcheck: the engine's verdict, or the same test run now."""

    kind: str = "docker"
    paced: bool = True  # the in-container loop does the waiting

    def check(self, target: Target) -> Observation:
        state = target.watch.state(target.container_id)
        if state and state.health == "healthy":
            return Observation(True, "engine reports healthy")
        command = _healthcheck_command(target.healthcheck.test if target.healthcheck else ())
        if command is None:
            return Observation(False, f"health: {state.health if state else 'unknown'}")
        code, output = target.exec_until(command)
        if code == 0:
            return Observation(True, "healthcheck test passed")
        last = _last_line(output)
        shown = " ".join(command[2:] if command[:2] == ["/bin/sh", "-c"] else command)[:80]
        said = f": {last[:160]}" if last else " with no output"
        return Observation(False, f"healthcheck `{shown}` exited {code}{said}")


@dataclass
class WithHealthcheck:
    """The service's own healthcheck first (run here, on the tight schedule), then the probe
    its kind calls for: a user's healthcheck says what ready means to them, and the protocol
    probe adds what it checks. Ready when both pass; the healthcheck once is enough."""

    probe: Probe
    passed: bool = False
    paced: bool = True

    @property
    def kind(self) -> str:
        return self.probe.kind

    def check(self, target: Target) -> Observation:
        if not self.passed:
            seen = DockerHealthProbe().check(target)
            if not seen.ready:
                return Observation(False, f"its healthcheck: {seen.detail}", seen.fatal)
            self.passed = True
        seen = self.probe.check(target)
        if seen.ready:
            return Observation(True, f"{seen.detail}; its healthcheck passed")
        return seen


@dataclass(frozen=True)
class TcpProbe:
    port: int
    kind: str = "tcp"

    def check(self, target: Target) -> Observation:
        endpoint = target.endpoint(self.port)
        if endpoint is None:
            code, _output = target.exec(["nc", "-z", "127.0.0.1", str(self.port)])
            return Observation(code == 0, f"nc -z port {self.port} in the container: exit {code}")
        try:
            with socket.create_connection(endpoint, timeout=1.0):
                return Observation(True, f"{endpoint[0]}:{endpoint[1]} accepts connections")
        except OSError as exc:
            return Observation(False, f"{endpoint[0]}:{endpoint[1]}: {exc.strerror or exc}")


@dataclass(frozen=True)
class HttpProbe:
    port: int
    path: str = "/"
    status: int = 200
    body: str = ""
    kind: str = "http"

    def check(self, target: Target) -> Observation:
        endpoint = target.endpoint(self.port)
        if endpoint is None:
            url = f"http://127.0.0.1:{self.port}{self.path}"
            code, output = target.exec(["wget", "-q", "-O", "-", url])
            ok = code == 0 and (not self.body or re.search(self.body, output) is not None)
            return Observation(ok, f"wget {url} in the container: exit {code}")
        connection = http.client.HTTPConnection(*endpoint, timeout=2.0)
        try:
            connection.request("GET", self.path)
            response = connection.getresponse()
            text = response.read(65536).decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as exc:
            return Observation(False, f"GET {self.path}: {exc}")
        finally:
            connection.close()
        if response.status != self.status:
            return Observation(
                False, f"GET {self.path}: HTTP {response.status}, want {self.status}"
            )
        if self.body and re.search(self.body, text) is None:
            return Observation(False, f"GET {self.path}: body does not match {self.body!r}")
        return Observation(True, f"GET {self.path}: HTTP {response.status}")


@dataclass(frozen=True)
class PostgresProbe:
    """``SELECT 1`` (or the ``query`` label's query: its first value must be true) with the
    service's own credentials, over TCP (never the init socket)."""

    port: int
    user: str
    database: str
    password: str = field(repr=False, default="")
    password_file: str = ""  # a *_FILE variable: read inside the container, as the image does
    query: str = DEFAULT_QUERY
    kind: str = "postgres"

    def check(self, target: Target) -> Observation:
        password = self.password or target.read_secret(self.password_file)
        endpoint = target.endpoint(self.port)
        if endpoint is None:
            code, output = target.exec(
                [
                    "psql",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-U",
                    self.user,
                    "-d",
                    self.database,
                    "-tAc",
                    self.query,
                ],
                env={"PGPASSWORD": password, "PGCONNECT_TIMEOUT": "2"},
            )
            if code == 0:
                return _answered(self.query, _last_line(output), " (psql in the container)")
            return Observation(False, f"psql: {_last_line(output) or f'exit {code}'}")
        import psycopg

        try:
            with psycopg.connect(
                host=endpoint[0],
                port=endpoint[1],
                user=self.user,
                password=password,
                dbname=self.database,
                connect_timeout=2,
            ) as connection:
                row = connection.execute(self.query).fetchone()
        except psycopg.Error as exc:
            return Observation(False, f"postgres: {_last_line(str(exc))}")
        return _answered(self.query, row[0] if row else None, f" at {endpoint[0]}:{endpoint[1]}")


@dataclass(frozen=True)
class MariadbProbe:
    port: int
    user: str
    database: str
    password: str = field(repr=False, default="")
    password_file: str = ""  # a *_FILE variable: read inside the container, as the image does
    query: str = DEFAULT_QUERY
    kind: str = "mariadb"

    def check(self, target: Target) -> Observation:
        password = self.password or target.read_secret(self.password_file)
        endpoint = target.endpoint(self.port)
        if endpoint is None:
            args = [
                "-h",
                "127.0.0.1",
                "-P",
                str(self.port),
                "-u",
                self.user,
                "-N",
                "-e",
                self.query,
            ]
            if self.database:
                args.append(self.database)
            code, output = 127, ""
            for client in ("mariadb", "mysql"):
                result = target.run([client, *args], env={"MYSQL_PWD": password})
                code, output = result.exit_code, result.output
                if not result.not_found:
                    break
            if code == 0:
                return _answered(self.query, _last_line(output), f" ({client} in the container)")
            return Observation(False, f"{client}: {_last_line(output) or f'exit {code}'}")
        import pymysql

        try:
            connection = pymysql.connect(
                host=endpoint[0],
                port=endpoint[1],
                user=self.user,
                password=password,
                database=self.database or None,
                connect_timeout=2,
            )
        except pymysql.MySQLError as exc:
            return Observation(False, f"mariadb: {exc}")
        try:
            with connection.cursor() as cursor:
                cursor.execute(self.query)
                row = cursor.fetchone()
        finally:
            connection.close()
        return _answered(self.query, row[0] if row else None, f" at {endpoint[0]}:{endpoint[1]}")


@dataclass(frozen=True)
class McpProbe:
    port: int
    path: str = DEFAULT_PATH
    kind: str = "mcp"

    def check(self, target: Target) -> Observation:
        endpoint = target.endpoint(self.port)
        if endpoint is None:
            if target.healthcheck is not None:
                seen = DockerHealthProbe().check(target)
                return Observation(
                    seen.ready,
                    f"MCP port {self.port} not reachable from here (publish it on 127.0.0.1 "
                    f"for the handshake); container healthcheck: {seen.detail}",
                )
            return Observation(
                False,
                f"port {self.port} is neither published on 127.0.0.1 nor reachable by name; "
                "publish it on 127.0.0.1 or give the service a healthcheck",
                fatal=True,
            )
        try:
            report = handshake(endpoint[0], endpoint[1], self.path)
        except McpError as exc:
            return Observation(False, f"MCP contract: {exc}")
        except OSError as exc:
            return Observation(False, f"MCP {endpoint[0]}:{endpoint[1]}: {exc.strerror or exc}")
        return Observation(True, report.summary())


@dataclass(frozen=True)
class ExecProbe:
    command: str
    kind: str = "exec"
    paced: bool = True

    def check(self, target: Target) -> Observation:
        code, output = target.exec_until(["/bin/sh", "-c", self.command])
        return Observation(code == 0, f"`{self.command}`: exit {code} {_last_line(output)}".strip())


@dataclass(frozen=True)
class LogProbe:
    pattern: str
    kind: str = "log"

    def check(self, target: Target) -> Observation:
        text = target.engine.logs(target.container_id, tail=500)
        if re.search(self.pattern, text, re.MULTILINE):
            return Observation(True, f"log line matches {self.pattern!r}")
        return Observation(False, f"no log line matches {self.pattern!r} yet")


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def truthy(value: object) -> bool:
    """A query's first value as SQL servers and their clients print truth: 1, t, true."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "t", "true", "yes", "on")


def _answered(query: str, value: object, where: str) -> Observation:
    shown = "SELECT 1" if query == DEFAULT_QUERY else f"`{query}`"
    if truthy(value):
        return Observation(True, f"{shown} answered{where}")
    got = "no row" if value is None else repr(value)
    return Observation(False, f"{shown} answered {got}, not true{where}")


def _port(spec: ProbeSpec, exposed: Sequence[int], default: int) -> int:
    if "port" in spec.params:
        return int(spec.number("port", default))
    return exposed[0] if exposed else default


def make_probe(  # noqa: PLR0911 - a dispatch on the kind: one return per kind
    spec: ProbeSpec, *, exposed: Sequence[int] = ()
) -> Probe:
    """Build the strategy for a spec (parameters parsed in planning). ``exposed``: the
    service's container ports, in order."""
    kind = spec.kind
    if kind == "postgres":
        return PostgresProbe(
            int(spec.number("port", DEFAULT_PORTS["postgres"])),
            spec.text("user", "postgres"),
            spec.text("database", "postgres"),
            spec.text("password"),
            spec.text("password_file"),
            spec.text("query", DEFAULT_QUERY),
        )
    if kind in ("mariadb", "mysql"):
        return MariadbProbe(
            int(spec.number("port", DEFAULT_PORTS["mariadb"])),
            spec.text("user", "root"),
            spec.text("database"),
            spec.text("password"),
            spec.text("password_file"),
            spec.text("query", DEFAULT_QUERY),
        )
    if kind == "http":
        return HttpProbe(
            _port(spec, exposed, DEFAULT_PORTS["http"]),
            spec.text("path", "/"),
            int(spec.number("status", 200)),
            spec.text("body"),
        )
    if kind == "tcp":
        return TcpProbe(_port(spec, exposed, DEFAULT_PORTS["tcp"]))
    if kind == "mcp":
        return McpProbe(_port(spec, exposed, DEFAULT_PORTS["mcp"]), spec.text("path", DEFAULT_PATH))
    if kind == "exec":
        return ExecProbe(spec.text("command", "true"))
    if kind == "log":
        return LogProbe(spec.text("pattern", "ready"))
    if kind == "docker":
        return DockerHealthProbe()
    if kind == "completed":
        return CompletedProbe()
    return RunningProbe(spec.number("settle", 0.5))


def run_probe(
    probe: Probe,
    target: Target,
    *,
    timeout: float,
    clock: Clock,
    cancelled: Callable[[], bool] = lambda: False,
    on_change: Callable[[Observation], None] = lambda _seen: None,
    long_running: bool = False,
) -> ProbeResult:
    """Gate on the container's state, then the probe; between attempts wait on the watch.
    ``long_running``: an exit, even with 0, fails it (something needs it to keep running)."""
    completed = exit_zero_is_ready(probe.kind, long_running)

    def attempt() -> Observation:
        gate = container_gate(target, completed_ok=completed)
        if gate is not None:
            return gate
        return probe.check(target)

    class WatchClock:
        def now(self) -> float:
            return clock.now()

        def sleep(self, seconds: float) -> None:
            if isinstance(clock, SystemClock):
                target.watch.wait(seconds)
            else:
                clock.sleep(seconds)

    backoff = PACED if getattr(probe, "paced", False) and target.window > 0 else Backoff()
    return poll(
        attempt,
        timeout=timeout,
        clock=WatchClock(),
        backoff=backoff,
        cancelled=cancelled,
        on_change=on_change,
    )
