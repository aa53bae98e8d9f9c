"""What every probe shares: the target it looks at, one polling loop, the container gate.

A ``Target`` is where a service can be reached: an endpoint (a port published on 127.0.0.1,
or a name on the stack's network) and, where bootstrap has it, access to the container
itself (exec, files, logs: the compose backend; not the Swarm helper). A probe is a small
strategy answering one question per attempt; ``poll`` owns the deadline, the backoff and the
injected clock; ``run_probe`` adds the container gate and waits on the events watch between
attempts. Standard library only: the Swarm probe helper imports this.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bootstrap.errors import EngineGone
from bootstrap.model import Healthcheck
from bootstrap.outcome import Observation, ProbeResult
from bootstrap.reach import resolvable
from bootstrap.runtime import ContainerInfo, ExecResult, Health, State
from bootstrap.watch import LiveState

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


class ContainerAccess(Protocol):
    """The container itself, where bootstrap can reach it (the compose backend)."""

    def exec(self, command: Sequence[str], env: Mapping[str, str] | None = None) -> ExecResult: ...
    def read_file(self, path: str) -> bytes: ...
    def logs(self, tail: int) -> str: ...
    def inspect(self) -> ContainerInfo: ...


class StateSource(Protocol):
    """The container's live state (the events watch) and a way to wait for its next change."""

    def state(self, container_id: str) -> LiveState | None: ...
    def wait(self, timeout: float, *, or_until: Callable[[], bool] = ...) -> None: ...
    def nudge(self) -> None: ...


class _Engine(Protocol):
    def exec(
        self,
        container_id: str,
        command: Sequence[str],
        *,
        user: str = "",
        env: Mapping[str, str] | None = None,
    ) -> ExecResult: ...
    def read_file(self, container_id: str, path: str) -> bytes: ...
    def logs(self, container_id: str, tail: int) -> str: ...
    def container(self, container_id: str) -> ContainerInfo: ...


@dataclass(frozen=True)
class EngineContainer:
    """``ContainerAccess`` over an engine adapter and a container id."""

    engine: _Engine
    container_id: str

    def exec(self, command: Sequence[str], env: Mapping[str, str] | None = None) -> ExecResult:
        return self.engine.exec(self.container_id, command, env=env or {})

    def read_file(self, path: str) -> bytes:
        return self.engine.read_file(self.container_id, path)

    def logs(self, tail: int) -> str:
        return self.engine.logs(self.container_id, tail)

    def inspect(self) -> ContainerInfo:
        return self.engine.container(self.container_id)


class NoContainer(Exception):
    """The probe needs the container itself and this target has none (a Swarm replica)."""


@dataclass
class Target:
    """A service's container, or replica, and the ways to reach it."""

    service: str
    container: ContainerAccess | None = None
    watch: StateSource | None = None
    container_id: str = ""
    ports: Mapping[int, int] = field(default_factory=dict)  # container port -> 127.0.0.1 port
    dns_name: str | None = None  # a name or address on the stack's network, from where we are
    healthcheck: Healthcheck | None = None
    restart_policy: str = ""
    window: float = 0.0  # > 0: in-container tests repeat inside one exec for this long
    no_shell: bool = False  # learnt: the image has no /bin/sh to loop in
    # the service's name on a network shared with it, not resolvable yet: a container that is
    # stopping, restarting or not attached yet has no name in the network's DNS for a moment;
    # asked again (once a second) for as long as the probe runs, so a probe begun in that
    # moment dials it by name once it is back instead of never
    dns_candidate: str | None = None
    _dns_asked: float = field(default=float("-inf"), repr=False)

    def endpoint(self, port: int) -> tuple[str, int] | None:
        """Where to dial ``port`` from here; never the container's private address."""
        if not self.dns_name and self.dns_candidate and time.monotonic() - self._dns_asked >= 1:
            self._dns_asked = time.monotonic()
            if resolvable(self.dns_candidate):
                self.dns_name = self.dns_candidate
        if self.dns_name:
            return self.dns_name, port
        if port in self.ports:
            return "127.0.0.1", self.ports[port]
        return None

    def state(self) -> LiveState | None:
        return self.watch.state(self.container_id) if self.watch is not None else None

    def access(self) -> ContainerAccess:
        if self.container is None:
            raise NoContainer(f"{self.service}: the container itself is not reachable from here")
        return self.container

    def read_secret(self, path: str) -> str:
        """A file inside the container (a ``*_FILE`` secret), without a shell or ``cat``."""
        if not path:
            return ""
        return self.access().read_file(path).decode("utf-8").strip()

    def run(self, command: Sequence[str], env: Mapping[str, str] | None = None) -> ExecResult:
        return self.access().exec(command, env or {})

    def exec(self, command: Sequence[str], env: Mapping[str, str] | None = None) -> tuple[int, str]:
        result = self.run(command, env)
        return result.exit_code, result.output

    def exec_until(
        self, command: Sequence[str], env: Mapping[str, str] | None = None
    ) -> tuple[int, str]:
        """Run ``command`` in the container until it succeeds, for up to ``window`` seconds,
        every 50 ms, inside one exec: success is seen within tens of milliseconds, without a
        round trip through the API per try. Images without /bin/sh get one plain exec."""
        if self.window <= 0 or self.no_shell:
            return self.exec(command, env)
        tries = max(1, round(self.window / EXEC_LOOP_PAUSE))
        result = self._run_while_sound(
            ["/bin/sh", "-c", EXEC_LOOP, "bootstrap-probe", str(tries), *command], env
        )
        if result is None:  # the caller's gate says why (run_probe asks it again)
            return 1, "given up: the container's state failed the probe meanwhile"
        if result.not_found and "exec failed" in result.output:  # no /bin/sh in the image
            self.no_shell = True
            return self.exec(command, env)
        return result.exit_code, result.output

    def _run_while_sound(
        self, command: Sequence[str], env: Mapping[str, str] | None
    ) -> ExecResult | None:
        """``run``, given up (None) as soon as the container's state fails the probe (the
        engine marks it unhealthy, it is removed): the loop in the container would go on for
        up to ``window`` seconds, where compose's --wait fails at once. The exec given up
        ends by itself within the window."""
        if self.watch is None:
            return self.run(command, env)
        answers: list[ExecResult | BaseException] = []
        done = threading.Event()

        watch = self.watch

        def run() -> None:
            try:
                answers.append(self.run(command, env))
            except BaseException as exc:  # raised to the caller, below
                answers.append(exc)
            finally:
                done.set()
                watch.nudge()

        threading.Thread(target=run, name="bootstrap-exec", daemon=True).start()
        # woken by the exec's end or by any change the events bring (the engine's unhealthy
        # verdict: said at once, not at the next pause), else every EXEC_LOOP_PAUSE
        while not done.is_set():
            watch.wait(EXEC_LOOP_PAUSE, or_until=done.is_set)
            gate = None if done.is_set() else container_gate(self)
            if gate is not None and gate.fatal:
                return None
        if isinstance(answers[0], BaseException):
            raise answers[0]
        return answers[0]


class Probe(Protocol):
    @property
    def kind(self) -> str: ...

    def check(self, target: Target) -> Observation: ...


def container_gate(  # noqa: PLR0911 - one return per container state reads best
    target: Target, *, completed_ok: bool = False
) -> Observation | None:
    """Fatal states every probe reports at once: exited, restart loop, removed, unhealthy."""
    state = target.state()
    if state is None:
        return None
    if state.status == "removed":
        return Observation(False, "the container was removed", fatal=True)
    if state.health == Health.UNHEALTHY and state.status == State.RUNNING:
        # The engine's verdict after the healthcheck's retries: compose's --wait fails here.
        last = target.container.inspect().health_log if target.container else ""
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
    if state.status == State.EXITED:
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


@dataclass
class Guessed:
    """A probe bootstrap chose from the image, not one a label asked for. A server that
    answers in another protocol is not what was guessed: it is ready as compose would count
    it (running, its healthcheck passed where it has one: ``WithHealthcheck`` wraps this), at
    once, saying so and which label makes it explicit."""

    probe: Probe

    @property
    def kind(self) -> str:
        return self.probe.kind

    @property
    def paced(self) -> bool:
        return bool(getattr(self.probe, "paced", False))

    def check(self, target: Target) -> Observation:
        seen = self.probe.check(target)
        if not seen.foreign:
            return seen
        return Observation(
            True,
            f"{seen.detail}; so not the {self.kind} server bootstrap guessed from its image: "
            "ready as compose counts it (running); say how to wait for it with the label "
            "bootstrap.probe (tcp, http, ...)",
        )


def every_replica(seen: Sequence[tuple[str, Observation]], want: int) -> Observation:
    """The one verdict on a replicated service, wherever its replicas were probed: ready
    when ``want`` of them were found and every one is ready; the first that is not says why.
    ``seen``: (the replica's name or address, what its probe saw)."""
    if len(seen) < want:
        return Observation(False, f"{len(seen)}/{want} replicas found")
    ready = [name for name, observation in seen if observation.ready]
    if len(ready) < len(seen):
        name, bad = next((n, o) for n, o in seen if not o.ready)
        return Observation(
            False, f"{len(ready)}/{len(seen)} replicas ready; {name}: {bad.detail}", bad.fatal
        )
    first = seen[0][1].detail if seen else ""
    return Observation(True, f"{len(seen)} replicas ready: {first}" if len(seen) > 1 else first)


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def truthy(value: object) -> bool:
    """A query's first value as SQL servers and their clients print truth: 1, t, true."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "t", "true", "yes", "on")


def shown_command(command: Sequence[str]) -> str:
    """A command as a person would type it (a shell form shown without ``/bin/sh -c``)."""
    words = list(command[2:]) if list(command[:2]) == ["/bin/sh", "-c"] else list(command)
    return re.sub(r"\s+", " ", " ".join(words))[:80]
