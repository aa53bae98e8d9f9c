"""Live container state, fed by the engine's events stream.

Probes consult it on every attempt (no inspect in a loop) and wait on it between attempts,
so a container that dies wakes its probe at once, and a readiness change is seen within
milliseconds instead of at the next poll.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from bootstrap.errors import EngineError, EngineGone
from bootstrap.runtime import ContainerInfo, EngineEvent, Health, Inspector, State

POLL_INTERVAL = 0.5  # seconds between polls when the events stream is broken


@dataclass(frozen=True)
class LiveState:
    status: str  # created, running, exited, restarting
    exit_code: int = 0
    health: str | None = None
    starts: int = 0  # start events seen since the watch began
    oom_killed: bool = False
    since: float = 0.0  # monotonic time of the last status change seen here


def _monotonic_since(started_at: str) -> float:
    """The engine's StartedAt (RFC 3339, nanoseconds) on this process's monotonic clock."""
    try:
        whole, _dot, fraction = started_at.rstrip("Z").partition(".")
        wall = datetime.fromisoformat(whole).replace(tzinfo=UTC).timestamp()
        wall += float("0." + (fraction[:6] or "0"))
    except ValueError:
        return time.monotonic()
    if wall <= 0:
        return time.monotonic()
    return time.monotonic() - max(0.0, time.time() - wall)


class ContainerWatch:
    """Thread-safe map container id -> LiveState, updated from events."""

    def __init__(self) -> None:
        self._states: dict[str, LiveState] = {}
        self._changed = threading.Condition()
        self._version = 0

    def seed(self, info: ContainerInfo) -> None:
        """Take an inspected state, unless events already told us something newer."""
        with self._changed:
            current = self._states.get(info.id)
            if current is None or current.status == State.CREATED:
                starts = current.starts if current else 0
                self._states[info.id] = LiveState(
                    info.state,
                    info.exit_code,
                    info.health,
                    starts,
                    info.oom_killed,
                    _monotonic_since(info.started_at),
                )
                self._bump()

    def state(self, container_id: str) -> LiveState | None:
        with self._changed:
            return self._states.get(container_id)

    def apply(self, event: EngineEvent) -> None:
        with self._changed:
            current = self._states.get(event.container_id, LiveState(State.CREATED))
            action = event.action
            if action == "start":
                current = replace(
                    current,
                    since=time.monotonic(),
                    status=State.RUNNING,
                    starts=current.starts + 1,
                    health=Health.STARTING if current.health else None,
                )
            elif action == "die":
                code = int(event.attributes.get("exitCode", "0") or 0)
                current = replace(
                    current, status=State.EXITED, exit_code=code, since=time.monotonic()
                )
            elif action == "oom":
                current = replace(current, oom_killed=True)
            elif action.startswith("health_status"):
                current = replace(current, health=action.split(":", 1)[1].strip())
            elif action == "destroy":
                current = replace(current, status="removed")
            else:
                return
            self._states[event.container_id] = current
            self._bump()

    def _bump(self) -> None:
        self._version += 1
        self._changed.notify_all()

    def wait(self, timeout: float, *, or_until: Callable[[], bool] = lambda: False) -> None:
        """Sleep up to ``timeout`` seconds, waking early when any state changes, or, once
        ``nudge``d, when ``or_until`` holds."""
        with self._changed:
            seen = self._version
            self._changed.wait_for(lambda: self._version != seen or or_until(), timeout=timeout)

    def nudge(self) -> None:
        """Have each waiter ask its ``or_until`` again (an exec that ended); no state changed,
        so a plain ``wait`` sleeps on."""
        with self._changed:
            self._changed.notify_all()

    def follow(
        self,
        engine: Inspector,
        project: str,
        stop: threading.Event,
        on_broken: Callable[[str], None] = lambda _why: None,
    ) -> threading.Thread:
        """Subscribe now, then apply the project's events on a daemon thread until ``stop``.

        If the stream breaks (or ends) before ``stop``, ``on_broken`` says why and the thread
        polls the containers it knows instead, so an exit is still seen within a second."""
        events = engine.events(project, stop)

        def run() -> None:
            try:
                for event in events:
                    self.apply(event)
                why = "the engine closed it"
            except (EngineError, OSError, ValueError) as exc:
                why = f"{type(exc).__name__}: {exc}"
            if stop.is_set():
                return
            on_broken(f"the engine's events stream broke ({why}): polling container states")
            self._poll(engine, stop)

        thread = threading.Thread(target=run, name="bootstrap-events", daemon=True)
        thread.start()
        return thread

    def _poll(self, engine: Inspector, stop: threading.Event, every: float = POLL_INTERVAL) -> None:
        while not stop.wait(every):
            with self._changed:
                known = list(self._states)
            for container_id in known:
                try:
                    self.observe(engine.container(container_id))
                except EngineGone:
                    return  # the probes see the engine is gone themselves
                except EngineError:  # removed meanwhile: its state stays as last seen
                    continue

    def observe(self, info: ContainerInfo) -> None:
        """A polled state: replaces what is known when it differs."""
        with self._changed:
            current = self._states.get(info.id, LiveState(State.CREATED))
            status = State.EXITED if info.state in (State.EXITED, State.DEAD) else info.state
            if (current.status, current.exit_code, current.health) == (
                status,
                info.exit_code,
                info.health,
            ):
                return
            starts = current.starts + (
                1 if status == State.RUNNING and current.status != State.RUNNING else 0
            )
            self._states[info.id] = replace(
                current,
                status=status,
                exit_code=info.exit_code,
                health=info.health,
                starts=starts,
                since=time.monotonic(),
            )
            self._bump()
