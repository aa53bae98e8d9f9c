"""Keeping the order after ``up``: the supervisor follows the engine's events and the probes.

- A dependency that stops, crashes, is recreated or turns unhealthy: the services that
  depend on it (required ``depends_on``) are reported waiting; once it is ready again (its
  probe, not just "running"), the dependents that ask for it (``depends_on.restart: true``, or
  the label ``bootstrap.restart-with-dependencies: "true"``) are restarted in phase order and
  re-gated on their own probes; the others are only reported.
- After the engine restarts (or the machine reboots), every container with a restart policy
  starts at once: the supervisor converges the stack to the ordered state, phase by phase,
  restarting a service that started before what it depends on was ready.
- A service that opts in (``bootstrap.heal: "3"``) and fails its probe that many times in a
  row is restarted, with a backoff; a service that keeps exiting (a crash loop) is reported
  and left alone past a limit, never hammered.

It only starts, stops and restarts the project's containers (``Operator.start``/``stop`` and
compose's own start for services with hooks): no create, no exec beyond the probes'
healthcheck tests, no other project's containers, no images, no volumes.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from bootstrap.errors import EngineError, EngineGone
from bootstrap.frozen import gated_since, read_gated
from bootstrap.plan import Plan, PlannedService
from bootstrap.probespec import (
    HEAL_LABEL,
    RESTART_LABEL,
    heal_after,
    wants_restart_with_dependencies,
)
from bootstrap.runtime import ContainerInfo, EngineEvent, State
from bootstrap.workspace import Workspace

CRASH_LIMIT = 5  # exits within CRASH_WINDOW: a crash loop, left alone
CRASH_WINDOW = 300.0
HEAL_INTERVAL = 5.0
DOWN_ACTIONS = ("die", "destroy", "kill", "oom", "health_status: unhealthy")


class ActionKind(StrEnum):
    WAITING = "waiting"  # a dependency went away: this service waits for it
    BACK = "back"  # a dependency is ready again (its probe passed)
    RESTARTED = "restarted"  # restarted because a dependency came back (or out of order)
    KEPT = "kept"  # a dependency came back; not restarted (it did not ask for it)
    READY = "ready"  # re-gated: its own probe passed after the restart
    HEALED = "healed"  # restarted after failing its probe (bootstrap.heal)
    CRASH_LOOP = "crash-loop"  # exits too often: reported, left alone
    WATCHING = "watching"  # the supervisor follows the project's events (from now on)
    ENGINE_GONE = "engine-gone"
    ENGINE_BACK = "engine-back"
    OUT_OF_ORDER = "out-of-order"  # started before a dependency was ready (an engine restart)
    GAVE_UP = "gave-up"  # what it waited for did not come back in time
    STOPPED = "stopped"  # not running after the engine came back, and nothing restarts it
    IN_ORDER = "in-order"  # the converge is done: every running service started in order


@dataclass(frozen=True)
class Action:
    """One supervision action: a line of status, a row of the log, a span."""

    service: str
    kind: ActionKind
    reason: str
    at: float = field(default_factory=time.time)
    cause: str = ""  # the dependency, where one caused it

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "kind": self.kind.value}


Report = Callable[[Action], None]


LOG_LIMIT = 1_000_000  # bytes; past it the log keeps its newer half


def keep(path: Path, project: str) -> Report:
    """An observer that appends every action to ``path`` (``.bootstrap/supervision.jsonl``:
    what ``status`` and ``trace`` show); a workspace it cannot write to just keeps no log."""
    lock = threading.Lock()

    def write(action: Action) -> None:
        with lock, contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({**action.as_dict(), "project": project}) + "\n")
            if path.stat().st_size > LOG_LIMIT:
                lines = path.read_text(encoding="utf-8").splitlines()
                path.write_text("\n".join(lines[len(lines) // 2 :]) + "\n", encoding="utf-8")

    return write


class EventSource(Protocol):
    """Where the supervisor hears what happens to the project: an engine's container events,
    or a swarm's task changes told as the same events; ``ping`` says whether it answers now."""

    def events(self, project: str, stop: threading.Event) -> Iterator[EngineEvent]: ...
    def ping(self) -> None: ...


class Probing(Protocol):
    """What the supervisor needs of a backend: re-gate a service (its probe), restart one,
    the project's containers now (inspected), and every event it sees (for the probes)."""

    def wait_ready(self, service: PlannedService, cancelled: Callable[[], bool]) -> bool: ...
    def restart(self, service: PlannedService) -> None: ...
    def refresh(self) -> dict[str, ContainerInfo]: ...
    def observe(self, event: EngineEvent) -> None: ...
    def forget(self) -> None: ...  # events were missed: what they said is no longer known
    def close(self) -> None: ...


@dataclass
class ServiceState:
    ready: bool = True
    recovering: bool = False
    exits: deque[float] = field(default_factory=deque)
    looping: bool = False
    failures: int = 0
    heals: int = 0


class Supervisor:
    """Follows one project's events until ``stop``; acts through ``probing``."""

    def __init__(
        self,
        workspace: Workspace,
        engine: EventSource,
        probing: Probing,
        report: Report,
        *,
        wait: float = 600.0,
        heal_interval: float = HEAL_INTERVAL,
        acting: Callable[[], contextlib.AbstractContextManager[object]] | None = None,
    ) -> None:
        self.workspace = workspace
        self.plan = workspace.plan
        self.engine = engine
        self.probing = probing
        self.report = report
        self.wait = wait
        self.heal_interval = heal_interval
        # the stack's own supervisor and what it stands on (its socket proxy): never acted on
        self.ignored = supervisor_services(self.plan)
        self.state = {name: ServiceState() for name in self.order()}
        self._lock = threading.Lock()
        self._busy = threading.Semaphore(1)  # one recovery acts at a time: phase order holds
        self.stop = threading.Event()
        # Held around every restart: the project's lock, so an `up` or `down` in another
        # terminal and the supervisor never act on the same containers at once.
        self.acting = acting or contextlib.nullcontext
        # services the supervisor restarts -> until when their stop's events are its own (the
        # start event ends it sooner): they are not a crash, and no reason to act
        self._ours: dict[str, float] = {}
        self._killed: dict[str, float] = {}  # container id -> when it was last killed
        # bumped when the engine goes away: waits begun before give way to the converge
        # that follows its return
        self._epoch = 0

    # --- the graph ------------------------------------------------------------------------

    def order(self) -> list[str]:
        """The services it supervises, in plan (phase) order."""
        return [name for name in self.plan.order() if name not in self.ignored]

    def dependents(self, name: str) -> list[str]:
        """Services with a required dependency on ``name``, in plan (phase) order."""
        return [
            other
            for other in self.order()
            if any(d.name == name and d.required for d in self.plan.services[other].depends_on)
        ]

    def wants_restart(self, dependent: str, dependency: str) -> bool:
        planned = self.plan.services[dependent]
        edge = next((d for d in planned.depends_on if d.name == dependency), None)
        return bool(edge and edge.restart) or wants_restart_with_dependencies(planned.service)

    # --- the loop -------------------------------------------------------------------------

    def run(self, stop: threading.Event | None = None, *, converge_first: bool = False) -> None:
        """Until ``stop``: events in, actions out; an engine that goes away is waited for,
        and the stack converged to its order when it is back."""
        self.stop = stop or self.stop
        healer = threading.Thread(target=self._heal_loop, daemon=True, name="bootstrap-heal")
        healer.start()
        converge = converge_first
        pause = 0.5
        watching = False
        while not self.stop.is_set():
            try:
                events = self.engine.events(self.workspace.compose.name, self.stop)
                if not watching:
                    watching = True
                    self.report(
                        Action(
                            "",
                            ActionKind.WATCHING,
                            f"following the events of {len(self.state)} services of "
                            f"{self.workspace.compose.name}",
                        )
                    )
                if converge:
                    threading.Thread(target=self.converge, daemon=True).start()
                    converge = False
                pause = 0.5
                self._follow(events)
            except EngineGone as exc:
                self._epoch += 1
                self.report(Action("", ActionKind.ENGINE_GONE, exc.message))
                self._wait_for_engine(pause)
                pause = min(pause * 2, 1.0)
                if not self.stop.is_set():
                    self.probing.forget()
                    self.report(Action("", ActionKind.ENGINE_BACK, "the engine answers again"))
                    converge = True
            except EngineError as exc:  # a hiccup: look again shortly
                self.report(Action("", ActionKind.ENGINE_GONE, exc.message))
                self.stop.wait(pause)
                self.probing.forget()

    def _follow(self, events: Iterator[EngineEvent]) -> None:
        for event in events:
            if self.stop.is_set():
                return
            self.on_event(event)

    def _wait_for_engine(self, pause: float) -> None:
        while not self.stop.wait(pause):
            try:
                self.engine.ping()
                return
            except EngineError:
                pause = min(pause * 2, 1.0)

    def on_event(self, event: EngineEvent) -> None:
        self.probing.observe(event)
        name = event.service
        if event.action == "kill":
            self._killed[event.container_id] = time.monotonic()
        with self._lock:
            if self._ours.get(name, 0.0) > time.monotonic():
                if event.action == "start":  # the stop's events are all behind us
                    del self._ours[name]
                return  # the supervisor's own restart
        if name not in self.state or event.action not in DOWN_ACTIONS:
            return
        if event.action == "die" and self._crashed(event) and self._crash_looping(name):
            return
        self.went_down(name, self._said(event))

    def _crashed(self, event: EngineEvent) -> bool:
        """An exit nobody asked for: no kill (docker stop, restart, compose) just before."""
        killed = self._killed.pop(event.container_id, None)
        return killed is None or time.monotonic() - killed > 30.0

    @staticmethod
    def _said(event: EngineEvent) -> str:
        if event.action == "die":
            return f"its container exited (code {event.attributes.get('exitCode', '?')})"
        if event.action == "destroy":
            return "its container was removed (recreated, or taken down)"
        if event.action.startswith("health_status"):
            return "its healthcheck reports unhealthy"
        return f"its container got {event.action}"

    def _crash_looping(self, name: str) -> bool:
        state = self.state[name]
        now = time.monotonic()
        with self._lock:
            state.exits.append(now)
            while state.exits and now - state.exits[0] > CRASH_WINDOW:
                state.exits.popleft()
            if state.looping or len(state.exits) < CRASH_LIMIT:
                return state.looping
            state.looping = True
        self.report(
            Action(
                name,
                ActionKind.CRASH_LOOP,
                f"exited {len(state.exits)} times in {CRASH_WINDOW:.0f} s: left alone (its "
                "dependents stay as they are); fix it, then `bootstrap up`",
            )
        )
        return True

    # --- a dependency that went away --------------------------------------------------------

    def went_down(self, name: str, why: str) -> None:
        state = self.state[name]
        with self._lock:
            state.ready = False
            if state.recovering:
                return
            state.recovering = True
        for dependent in self.dependents(name):
            self.report(Action(dependent, ActionKind.WAITING, f"{name}: {why}", cause=name))
        threading.Thread(target=self._recover, args=(name,), daemon=True).start()

    def _recover(self, name: str) -> None:
        """Wait for ``name`` to be ready again (its probe); then its dependents, in order."""
        planned = self.plan.services[name]
        began = time.monotonic()
        try:
            back = self._ready(planned)
            with self._lock:
                self.state[name].ready = back
            if not back:
                if not self.stop.is_set() and time.monotonic() >= began + self.wait:
                    self.report(
                        Action(name, ActionKind.GAVE_UP, f"not ready again in {self.wait:.0f}s")
                    )
                return
            self.report(Action(name, ActionKind.BACK, "ready again: its probe passed"))
            with self._busy:
                self._dependents_after(name)
        finally:
            with self._lock:
                self.state[name].recovering = False

    def _dependents_after(self, name: str, done: set[str] | None = None) -> None:
        """``name`` is ready again: restart (in phase order) the dependents that ask for it,
        then theirs in turn; report the others. Holding ``_busy``."""
        done = set() if done is None else done
        for dependent in self.dependents(name):
            if dependent in done or self.state[dependent].looping:
                continue
            done.add(dependent)
            if not self.wants_restart(dependent, name):
                self.report(
                    Action(
                        dependent,
                        ActionKind.KEPT,
                        f"{name} is back; not restarted (set depends_on.{name}.restart: true, "
                        f"or the label {RESTART_LABEL}, to have it restarted)",
                        cause=name,
                    )
                )
                continue
            if self._restart(dependent, f"{name} came back", cause=name):
                self._dependents_after(dependent, done)

    def _ready(self, planned: PlannedService) -> bool:
        """Until ``planned`` passes its probe: False past the wait, on stop, or when the
        engine went away meanwhile (the converge after its return takes over)."""
        epoch = self._epoch
        deadline = time.monotonic() + self.wait
        while not self._stale(epoch) and time.monotonic() < deadline:
            try:
                self.probing.refresh()
                if self.probing.wait_ready(planned, self._stopping_or(deadline, epoch)):
                    return True
            except EngineError:
                pass  # recreated meanwhile, or the engine hiccuped: look again
            self.stop.wait(0.5)
        return False

    def _stale(self, epoch: int) -> bool:
        return self.stop.is_set() or self._epoch != epoch

    def _stopping_or(self, deadline: float, epoch: int) -> Callable[[], bool]:
        return lambda: self._stale(epoch) or time.monotonic() >= deadline

    def _restart(
        self, name: str, why: str, *, cause: str = "", kind: ActionKind | None = None
    ) -> bool:
        """Restart ``name`` and wait for its probe; True once it is ready again."""
        planned = self.plan.services[name]
        for dependent in self.dependents(name):
            self.report(Action(dependent, ActionKind.WAITING, f"{name} is restarting", cause=name))
        self.report(Action(name, kind or ActionKind.RESTARTED, why, cause=cause))
        with self._lock:
            self._ours[name] = float("inf")
        try:
            with self.acting():
                self.probing.restart(planned)
        except EngineError as exc:
            with self._lock:
                self._ours.pop(name, None)
            self.report(Action(name, ActionKind.GAVE_UP, f"could not restart it: {exc.message}"))
            return False
        with self._lock:  # its events may still be on their way: a while longer
            if name in self._ours:
                self._ours[name] = time.monotonic() + 30.0
        epoch = self._epoch
        ready = self._ready(planned)
        with self._lock:
            self.state[name].ready = ready
        if ready:
            self.report(Action(name, ActionKind.READY, "re-gated: its probe passed"))
        elif not self._stale(epoch):
            self.report(Action(name, ActionKind.GAVE_UP, f"not ready in {self.wait:.0f}s"))
        return ready

    # --- after an engine restart ------------------------------------------------------------

    def converge(self) -> None:
        """Phase by phase: wait for each service; restart one that started before what it
        depends on was ready (the engine starts every container with a restart policy at
        once). A container that a driver started in order and gated (``up``, or this
        supervisor: ``frozen.GateNotes``) and that has not started again since is in order,
        ready since its probe passed then. Of the others, a dependency ready at the first look
        is taken as ready since it started (all that can be known); one that was not is ready
        when its probe first passed."""
        epoch = self._epoch
        # Who is ready at the very first look, all at once, before waiting for a recovery or
        # an older converge to let go: a dependency looked at only when the walk reaches it
        # may have become ready meanwhile, and would be taken as ready since it started
        # (seen: a dependency ready 4 s after its start, reached late, so the service that
        # started with it was not restarted).
        running = self._look(epoch)
        if running is None:
            return  # gone again: the converge after its return starts over
        first = {n: self._ready_once(self.plan.services[n]) for n in self.order() if n in running}
        restarted = 0
        with self._busy:
            ready_at: dict[str, float] = {}
            for name in self.order():
                if self._stale(epoch):
                    return  # the engine went away again: the next converge starts over
                planned = self.plan.services[name]
                looked = self._look(epoch)
                if looked is None:
                    return  # gone: the converge after its return starts over
                info = looked.get(name)
                started = _started(info)
                if (
                    info is None
                    or started is None
                    or info.state not in (State.RUNNING, State.RESTARTING)
                ):
                    if info is not None and info.state == State.EXITED and planned.long_running:
                        self.report(
                            Action(
                                name,
                                ActionKind.STOPPED,
                                "not running, and no restart policy brings it back: "
                                "`bootstrap up` starts it in order",
                            )
                        )
                    continue
                # read afresh at each service: an `up` that started this supervisor in its
                # last phase is still noting the services of that phase
                gated = self._gated(name, info)
                if gated is not None:
                    ready_at[name] = gated
                    continue
                late = [
                    d.name
                    for d in planned.depends_on
                    if d.required and ready_at.get(d.name, 0.0) > started
                ]
                if late and not self.state[name].looping:
                    restarted += 1
                    self._restart(
                        name,
                        f"it started before {', '.join(late)} was ready (the engine starts "
                        "every container at once)",
                        cause=late[0],
                        kind=ActionKind.OUT_OF_ORDER,
                    )
                    ready_at[name] = time.time()
                elif first.get(name) and self._ready_once(planned):
                    ready_at[name] = started
                elif self._ready(planned):
                    # the driver that started it may have noted it meanwhile, with the moment
                    # its own probe passed (before this one, which may wait for the engine's)
                    ready_at[name] = self._gated(name, info) or time.time()
        self.report(
            Action(
                "",
                ActionKind.IN_ORDER,
                f"every running service started after what it needs was ready ({restarted} "
                f"restarted to get there)",
            )
        )

    def _gated(self, name: str, info: ContainerInfo) -> float | None:
        """When a driver saw ``info`` ready after starting it in order (None: not noted, or
        started again since)."""
        noted = read_gated(self.workspace.directory, self.workspace.compose.name)
        return gated_since(noted, name, info.id, info.started_at)

    def _look(self, epoch: int) -> dict[str, ContainerInfo] | None:
        """The project's containers now; an engine just back may answer with an error for a
        while (containers being restarted): asked again, until it answers or goes away."""
        deadline = time.monotonic() + 30.0
        while not self._stale(epoch):
            try:
                return self.probing.refresh()
            except EngineError:
                if time.monotonic() >= deadline:
                    return None
                self.stop.wait(0.5)
        return None

    def _ready_once(self, planned: PlannedService) -> bool:
        try:
            return self.probing.wait_ready(planned, lambda: True)
        except EngineError:
            return False

    # --- healing ----------------------------------------------------------------------------

    def _heal_loop(self) -> None:
        wanted = {
            name: limit
            for name in self.order()
            if (limit := heal_after(self.plan.services[name].service)) > 0
        }
        while wanted and not self.stop.wait(self.heal_interval):
            for name, limit in wanted.items():
                state = self.state[name]
                if state.recovering or state.looping or not state.ready:
                    continue
                if self._ready_once(self.plan.services[name]):
                    state.failures = 0
                    continue
                state.failures += 1
                if state.failures < limit:
                    continue
                state.failures, state.heals = 0, state.heals + 1
                if state.heals > CRASH_LIMIT:
                    state.looping = True
                    self.report(
                        Action(
                            name, ActionKind.CRASH_LOOP, f"healed {CRASH_LIMIT} times: left alone"
                        )
                    )
                    continue
                with self._busy:
                    self._restart(
                        name,
                        f"failed its probe {limit} times in a row ({HEAL_LABEL}: {limit})",
                        kind=ActionKind.HEALED,
                    )
                self.stop.wait(self.heal_interval * 2 ** min(state.heals, 5))  # backoff


def supervisor_services(plan: Plan) -> frozenset[str]:
    """The stack's own supervisor services (``bootstrap.role: supervisor``) and what they
    depend on: restarting its proxy would cut the supervisor off in the middle of an act."""
    from bootstrap.classify import ROLE_LABEL
    from bootstrap.frozen import SUPERVISOR_ROLE

    own = {
        name
        for name, planned in plan.services.items()
        if planned.service.label(ROLE_LABEL) == SUPERVISOR_ROLE
    }
    under = {d.name for name in own for d in plan.services[name].depends_on}
    return frozenset(own | under)


def _started(info: ContainerInfo | None) -> float | None:
    """A container's StartedAt as epoch seconds (None where it never started)."""
    if info is None:
        return None
    return _moment(info.started_at)


def _moment(stamp: str) -> float | None:
    """An engine's RFC 3339 time (UTC, nanoseconds) as epoch seconds; None for none."""
    if not stamp or stamp.startswith("0001"):
        return None
    from datetime import UTC, datetime

    whole, _dot, fraction = stamp.rstrip("Z").partition(".")
    try:
        moment = datetime.fromisoformat(whole).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None
    return moment + float("0." + (fraction[:6] or "0"))
