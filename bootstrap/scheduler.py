"""The ready-set scheduler: phases as barriers, ``depends_on`` inside a phase, events out.

Workers start a service and wait for its probe; they report back through one queue, and the
scheduler (one thread) decides what may start next. It never prints: it emits ``Event``s to
a reporter, and returns an ``Outcome`` holding every ``Result``.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Literal, Protocol, runtime_checkable

from bootstrap.errors import EngineGone
from bootstrap.outcome import ProbeResult
from bootstrap.plan import Plan, PlannedService
from bootstrap.probes.registry import RUNNING


class Status(StrEnum):
    """A service's status in a run: what ``up`` reports of it and the run's result keeps."""

    PENDING = "pending"
    STARTING = "starting"
    PROBING = "probing"
    READY = "ready"
    DEGRADED = "degraded"  # ready, but a non-required dependency is unavailable
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"

    @property
    def usable(self) -> bool:
        return self in (Status.READY, Status.DEGRADED)


class RunEvent(StrEnum):
    """What an event says about the run rather than one service's status."""

    PHASE = "phase"  # a phase begins (service ""; detail: the phase)
    NOTE = "note"  # something about the run (service "")
    OBSERVED = "observed"  # a probe's outcome changed (the record and --json keep these)


# What an event says: a service's status (one vocabulary, Status), or something of the run.
EventKind = Status | RunEvent


@dataclass(frozen=True)
class Event:
    service: str
    state: EventKind
    detail: str
    timestamp: float
    phase: str = ""


@dataclass(frozen=True)
class Result:
    service: str
    phase: str
    status: Status
    reason: str
    started_at: float | None = None
    ready_at: float | None = None
    optional: bool = False
    waited_for: str | None = None  # what it last waited for before starting: the critical link
    attempts: int = 0
    log_tail: str = ""  # a failed service's last log lines, apart from the reason

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.ready_at is None:
            return None
        return self.ready_at - self.started_at


@dataclass
class Outcome:
    results: dict[str, Result]
    began: float
    ended: float
    cancelled: bool = False
    engine_gone: EngineGone | None = None  # the engine stopped answering: no service's fault

    @property
    def failed_required(self) -> list[Result]:
        return [
            r
            for r in self.results.values()
            if r.status in (Status.FAILED, Status.SKIPPED) and not r.optional
        ]

    @property
    def degraded(self) -> list[Result]:
        """What makes the run degraded: optional services that failed or were skipped, and
        services that run without an optional dependency."""
        return [
            r
            for r in self.results.values()
            if (r.status in (Status.FAILED, Status.SKIPPED, Status.DEGRADED) and r.optional)
            or r.status is Status.DEGRADED
        ]

    @property
    def ok(self) -> bool:
        return not self.cancelled and not self.failed_required and self.engine_gone is None

    def critical_chain(self) -> list[str]:
        """The services that made the total as long as it was, first to last."""
        ready = [r for r in self.results.values() if r.ready_at is not None]
        if not ready:
            return []
        chain = [max(ready, key=lambda r: r.ready_at or 0.0).service]
        seen = set(chain)
        while True:
            link = self.results[chain[-1]].waited_for
            if link is None or link in seen or link not in self.results:
                break
            chain.append(link)
            seen.add(link)
        return list(reversed(chain))


class Driver(Protocol):
    """What the scheduler needs to bring one service up."""

    def start(self, service: PlannedService) -> str:
        """Start (or keep) the container; returns a short note ("started", "already running")."""
        ...

    def wait_ready(self, service: PlannedService, cancelled: Callable[[], bool]) -> ProbeResult: ...

    def log_tail(self, service: PlannedService, lines: int) -> str: ...


@runtime_checkable
class Settling(Protocol):
    """A driver that calls a ``running`` service ready as soon as it runs, and checks once,
    after every phase, that it stayed up for its settle time."""

    def settle(self, service: PlannedService, cancelled: Callable[[], bool]) -> ProbeResult: ...


Reporter = Callable[[Event], None]


class Go(Enum):
    """What a service's dependencies allow now."""

    WAIT = "wait"
    GO = "go"
    DEGRADED = "degraded"  # go, though a non-required dependency is unavailable
    SKIP = "skip"  # a required dependency failed


@dataclass(frozen=True)
class DependencyVerdict:
    go: Go
    upstream: str | None = None  # the dependency that decided SKIP
    upstream_status: Status | None = None
    unavailable: tuple[str, ...] = ()  # for DEGRADED: "name (status)"

    def describe(self) -> str:
        if self.go is Go.SKIP:
            status = self.upstream_status.value if self.upstream_status else "failed"
            return f"skipped: upstream {self.upstream} {status}"
        if self.go is Go.DEGRADED:
            return "degraded: " + ", ".join(self.unavailable)
        return ""


@dataclass
class _Message:
    service: str
    kind: Literal["started", "done"]
    result: ProbeResult | None = None
    error: str = ""
    at: float = field(default_factory=time.monotonic)
    gone: EngineGone | None = None


class Scheduler:
    def __init__(
        self,
        plan: Plan,
        driver: Driver,
        reporter: Reporter,
        *,
        max_workers: int = 16,
        clock: Callable[[], float] = time.monotonic,
        began: float | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.plan = plan
        self.driver = driver
        self.report = reporter
        self.clock = clock
        self.max_workers = max_workers
        self.began = began
        # Set by the caller (a signal handler sets it; it only sets a flag): no new starts,
        # probes give up, and the loop below, which wakes every 0.2 s, winds down.
        self.cancel = cancel or threading.Event()
        self._done = threading.Event()  # tells leftover workers the run is over
        self._links: dict[str, str | None] = {}
        self._verdicts: dict[str, DependencyVerdict] = {}
        self._gone: EngineGone | None = None

    def _emit(self, name: str, state: EventKind, detail: str = "") -> None:
        phase = self.plan.services[name].phase if name in self.plan.services else ""
        self.report(Event(name, state, detail, time.time(), phase))

    def run(self) -> Outcome:
        began = self.began if self.began is not None else self.clock()
        results: dict[str, Result] = {}
        started: dict[str, float] = {}  # service -> when its container started
        barrier: str | None = None  # the last required service of earlier phases to be ready
        stopped_by: str | None = None
        inbox: queue.Queue[_Message] = queue.Queue()
        pool = ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="bootstrap")
        try:
            for phase in self.plan.phases:
                names = list(phase.services)
                if not names:
                    continue
                if stopped_by is not None or self.cancel.is_set() or self._gone:
                    why = (
                        f"not started: required service {stopped_by} failed"
                        if stopped_by
                        else "not started: the engine went away"
                        if self._gone
                        else "not started: cancelled"
                    )
                    for name in names:
                        results[name] = self._final(name, Status.SKIPPED, why)
                    continue
                self.report(Event("", RunEvent.PHASE, phase.name, time.time(), phase.name))
                self._run_phase(names, results, started, barrier, inbox, pool)
                ready = [
                    results[n]
                    for n in names
                    if results[n].status.usable and results[n].ready_at is not None
                ]
                if ready:
                    barrier = max(ready, key=lambda r: r.ready_at or 0.0).service
                failed = [
                    n
                    for n in names
                    if results[n].status in (Status.FAILED, Status.SKIPPED)
                    and not results[n].optional
                ]
                if failed and stopped_by is None:
                    stopped_by = failed[0]
            if isinstance(self.driver, Settling) and not self.cancel.is_set() and not self._gone:
                self._settle(results, pool)
        finally:
            self._done.set()
            pool.shutdown(wait=True, cancel_futures=True)
        return Outcome(
            results, began, self.clock(), cancelled=self.cancel.is_set(), engine_gone=self._gone
        )

    def _settle(self, results: dict[str, Result], pool: ThreadPoolExecutor) -> None:
        """The settle time of every service that was ready once running, paid once: one that
        exited since is failed (its dependents started, as compose's would have)."""
        driver = self.driver
        assert isinstance(driver, Settling)
        names = [
            n
            for n, r in results.items()
            if r.status.usable and self.plan.services[n].probe.kind == RUNNING
        ]
        checks = {
            n: pool.submit(driver.settle, self.plan.services[n], self._stopping) for n in names
        }
        for name, future in checks.items():
            try:
                settled = future.result()
            except EngineGone as exc:
                self._gone = self._gone or exc
                return
            except Exception as exc:  # a check that breaks is said, not raised
                settled = ProbeResult(False, f"{type(exc).__name__}: {exc}", 0, 0.0)
            if settled.ready:
                continue
            before = results[name]
            results[name] = self._final(
                name,
                Status.FAILED,
                f"did not stay up after it was ready: {settled.detail}",
                started_at=before.started_at,
                waited_for=before.waited_for,
                attempts=before.attempts + settled.attempts,
                log_tail=self.driver.log_tail(self.plan.services[name], 20).rstrip(),
            )

    def interrupt(self) -> None:
        self.cancel.set()

    def _stopping(self) -> bool:
        return self.cancel.is_set() or self._done.is_set()

    def _final(
        self,
        name: str,
        status: Status,
        reason: str,
        *,
        optional: bool | None = None,
        started_at: float | None = None,
        ready_at: float | None = None,
        waited_for: str | None = None,
        attempts: int = 0,
        log_tail: str = "",
    ) -> Result:
        planned = self.plan.services[name]
        result = Result(
            name,
            planned.phase,
            status,
            reason,
            started_at=started_at,
            ready_at=ready_at,
            optional=bool(optional or planned.optional),
            waited_for=waited_for,
            attempts=attempts,
            log_tail=log_tail,
        )
        self._emit(name, status, reason)
        return result

    def _run_phase(
        self,
        names: list[str],
        results: dict[str, Result],
        started: dict[str, float],
        barrier: str | None,
        inbox: queue.Queue[_Message],
        pool: ThreadPoolExecutor,
    ) -> None:
        waiting = list(names)
        running: set[str] = set()
        while waiting or running:
            if self.cancel.is_set() or self._gone:
                why = "the engine went away" if self._gone else "cancelled"
                for name in waiting:
                    results[name] = self._final(name, Status.SKIPPED, f"not started: {why}")
                waiting = []
            for name in list(waiting):
                verdict = self._dependency_verdict(name, results, started)
                if verdict.go is Go.WAIT:
                    continue
                waiting.remove(name)
                if verdict.go is Go.SKIP:
                    # Skipped for an optional upstream: graceful degradation, not a stop.
                    inherited = results[verdict.upstream].optional if verdict.upstream else False
                    results[name] = self._final(
                        name, Status.SKIPPED, verdict.describe(), optional=inherited or None
                    )
                    continue
                running.add(name)
                self._links[name] = self._critical_link(name, results, barrier)
                self._verdicts[name] = verdict
                self._emit(name, Status.STARTING, verdict.describe())
                pool.submit(self._work, name, inbox)
            if not running:
                if waiting:  # nothing runs and nothing can start: unreachable by construction
                    for name in waiting:
                        results[name] = self._final(name, Status.SKIPPED, "dependencies never held")
                return
            message = self._next(inbox)
            if message is None:
                continue
            if message.kind == "started":
                started[message.service] = message.at
                continue
            running.discard(message.service)
            if message.gone is not None and self._gone is None:
                self._gone = message.gone
                self._done.set()  # every other probe stops asking a dead engine
            results[message.service] = self._conclude(message, started)

    def _next(self, inbox: queue.Queue[_Message]) -> _Message | None:
        try:
            return inbox.get(timeout=0.2)
        except queue.Empty:
            return None

    def _dependency_verdict(
        self,
        name: str,
        results: dict[str, Result],
        started: dict[str, float],
    ) -> DependencyVerdict:
        notes = []
        for dep in self.plan.services[name].depends_on:
            outcome = results.get(dep.name)
            if dep.condition == "service_started" and dep.name in started:
                continue
            if outcome is None:
                return DependencyVerdict(Go.WAIT)
            if outcome.status.usable:
                continue
            if dep.required:
                return DependencyVerdict(Go.SKIP, upstream=dep.name, upstream_status=outcome.status)
            notes.append(f"{dep.name} unavailable ({outcome.status.value})")
        if notes:
            return DependencyVerdict(Go.DEGRADED, unavailable=tuple(notes))
        return DependencyVerdict(Go.GO)

    def _critical_link(
        self, name: str, results: dict[str, Result], barrier: str | None
    ) -> str | None:
        candidates = [
            results[d.name]
            for d in self.plan.services[name].depends_on
            if d.name in results and results[d.name].ready_at is not None
        ]
        if barrier and barrier in results:
            candidates.append(results[barrier])
        if not candidates:
            return None
        return max(candidates, key=lambda r: r.ready_at or 0.0).service

    def _work(self, name: str, inbox: queue.Queue[_Message]) -> None:
        planned = self.plan.services[name]
        try:
            note = self.driver.start(planned)
            inbox.put(_Message(name, "started", at=self.clock()))
            self._emit(name, Status.PROBING, f"{note}; probe {planned.probe.describe()}")
            result = self.driver.wait_ready(planned, self._stopping)
            tail = "" if result.ready else self.driver.log_tail(planned, 20)
            inbox.put(_Message(name, "done", result, error=tail, at=self.clock()))
        except EngineGone as exc:
            inbox.put(_Message(name, "done", None, error=exc.message, at=self.clock(), gone=exc))
        except Exception as exc:  # one place maps a worker's exception to a result
            inbox.put(
                _Message(name, "done", None, error=f"{type(exc).__name__}: {exc}", at=self.clock())
            )

    def _conclude(self, message: _Message, started: dict[str, float]) -> Result:
        name = message.service
        start_time = started.get(name)
        link = self._links.get(name)
        probe = message.result
        if probe is None:
            return self._final(
                name,
                Status.FAILED,
                f"could not start: {message.error}",
                started_at=start_time,
                waited_for=link,
            )
        if probe.ready:
            verdict = self._verdicts.get(name, DependencyVerdict(Go.GO))
            status = Status.DEGRADED if verdict.go is Go.DEGRADED else Status.READY
            detail = probe.detail + (f" ({verdict.describe()})" if verdict.describe() else "")
            return self._final(
                name,
                status,
                detail,
                started_at=start_time,
                ready_at=message.at,
                waited_for=link,
                attempts=probe.attempts,
            )
        if self.cancel.is_set() and not probe.fatal and not probe.timed_out:
            return self._final(
                name, Status.CANCELLED, probe.detail, started_at=start_time, waited_for=link
            )
        what = "timed out" if probe.timed_out else "failed"
        return self._final(
            name,
            Status.FAILED,
            f"{what} after {probe.elapsed:.1f}s: {probe.detail}",
            started_at=start_time,
            waited_for=link,
            attempts=probe.attempts,
            log_tail=message.error.rstrip(),
        )
