from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bootstrap.outcome import ProbeResult
from bootstrap.plan import PlannedService
from bootstrap.scheduler import Event, Scheduler, Status

from .helpers import plan, svc


@dataclass
class FakeDriver:
    """Services become ready (or fail) when the test says; records what started when."""

    fail: set[str] = field(default_factory=set)
    crash_on_start: set[str] = field(default_factory=set)
    started: list[str] = field(default_factory=list)
    ready_order: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    running_during_start: dict[str, set[str]] = field(default_factory=dict)
    live: set[str] = field(default_factory=set)

    def start(self, service: PlannedService) -> str:
        if service.name in self.crash_on_start:
            raise RuntimeError("no such image")
        with self.lock:
            self.started.append(service.name)
            self.running_during_start[service.name] = set(self.live)
            self.live.add(service.name)
        return "started"

    def wait_ready(self, service: PlannedService, cancelled: Callable[[], bool]) -> ProbeResult:
        if service.name in self.fail:
            return ProbeResult(False, "connection refused", 3, 0.1, timed_out=True)
        with self.lock:
            self.ready_order.append(service.name)
        return ProbeResult(True, "ok", 1, 0.01)

    def log_tail(self, service: PlannedService, lines: int) -> str:
        return f"{service.name}: FATAL something broke"


def run(services: Mapping[str, Any], driver: FakeDriver) -> tuple[Any, list[Event]]:
    events: list[Event] = []
    outcome = Scheduler(plan(dict(services)), driver, events.append).run()
    return outcome, events


STACK = {
    "pg": svc("postgres"),
    "maria": svc("mariadb"),
    "registry": svc(labels={"bootstrap.role": "discovery"}),
    "api": svc(depends={"pg": "service_healthy"}),
    "web": svc(depends={"api": "service_started"}),
    "prometheus": svc("prom/prometheus"),
}


def test_phases_are_barriers_and_dependencies_order_inside_a_phase() -> None:
    driver = FakeDriver()
    outcome, _ = run(STACK, driver)
    order = driver.started
    assert set(order[:2]) == {"pg", "maria"}
    assert order[2] == "registry"
    assert order.index("api") < order.index("web")
    assert order[-1] == "prometheus"
    assert all(r.status is Status.READY for r in outcome.results.values())


def test_required_failure_stops_new_starts_and_keeps_the_log_tail() -> None:
    driver = FakeDriver(fail={"pg"})
    outcome, _ = run(STACK, driver)
    results = outcome.results
    assert results["pg"].status is Status.FAILED
    assert "connection refused" in results["pg"].reason
    assert "FATAL something broke" in results["pg"].log_tail  # apart from the reason
    assert "FATAL" not in results["pg"].reason
    assert "registry" not in driver.started and "prometheus" not in driver.started
    assert results["prometheus"].status is Status.SKIPPED
    assert "required service pg failed" in results["prometheus"].reason
    assert not outcome.ok


def test_optional_failure_degrades_dependents_and_goes_on() -> None:
    services = {
        "pg": svc("postgres"),
        "tracing": svc(labels={"bootstrap.optional": "true"}),
        "api": svc(
            depends={
                "tracing": {"condition": "service_healthy", "required": False},
                "pg": "service_healthy",
            }
        ),
        "reporter": svc(depends={"tracing": "service_healthy"}),
        "prometheus": svc("prom/prometheus"),
    }
    driver = FakeDriver(fail={"tracing"}, crash_on_start=set())
    outcome, _ = run(services, driver)
    results = outcome.results
    assert results["tracing"].status is Status.FAILED
    assert results["api"].status is Status.DEGRADED
    assert "tracing unavailable" in results["api"].reason
    assert results["reporter"].status is Status.SKIPPED
    assert "upstream tracing failed" in results["reporter"].reason
    assert "prometheus" in driver.started
    assert outcome.ok
    degraded = {r.service for r in outcome.degraded}
    assert degraded == {"tracing", "api", "reporter"}


def test_start_error_becomes_a_failed_result() -> None:
    driver = FakeDriver(crash_on_start={"maria"})
    outcome, events = run(STACK, driver)
    result = outcome.results["maria"]
    assert result.status is Status.FAILED and "no such image" in result.reason
    assert any(e.service == "maria" and e.state == "failed" for e in events)


def test_events_flow_starting_probing_ready() -> None:
    driver = FakeDriver()
    _, events = run({"pg": svc("postgres")}, driver)
    states = [e.state for e in events if e.service == "pg"]
    assert states == ["starting", "probing", "ready"]
    assert events[0].state == "phase" and events[0].detail == "databases"


def test_critical_chain_follows_the_last_link() -> None:
    driver = FakeDriver()
    outcome, _ = run(STACK, driver)
    chain = outcome.critical_chain()
    assert chain[-1] == "prometheus"
    assert chain[0] in ("pg", "maria")
    assert "registry" in chain


@dataclass
class GatedDriver:
    """wait_ready blocks until the test (or another service's start) lets it go, so the tests
    below fail for a sequential scheduler and for one that cannot be cancelled."""

    gates: dict[str, threading.Event] = field(default_factory=dict)
    started: list[str] = field(default_factory=list)
    ready: list[str] = field(default_factory=list)
    starts_seen_ready: dict[str, list[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    probing: threading.Event = field(default_factory=threading.Event)

    def start(self, service: PlannedService) -> str:
        with self.lock:
            self.started.append(service.name)
            self.starts_seen_ready[service.name] = list(self.ready)
        return "started"

    def wait_ready(self, service: PlannedService, cancelled: Callable[[], bool]) -> ProbeResult:
        gate = self.gates.get(service.name)
        self.probing.set()
        while gate is not None and not gate.wait(0.01):
            if cancelled():
                return ProbeResult(False, "cancelled", 1, 0.0)
        with self.lock:
            self.ready.append(service.name)
        return ProbeResult(True, "ok", 1, 0.0)

    def log_tail(self, service: PlannedService, lines: int) -> str:
        return ""


def test_services_of_a_wave_are_probed_at_the_same_time() -> None:
    """pg becomes ready only once maria has started: a sequential scheduler never gets there."""
    maria_started = threading.Event()
    driver = GatedDriver(gates={"pg": maria_started})
    original = driver.start

    def start(service: PlannedService) -> str:
        note = original(service)
        if service.name == "maria":
            maria_started.set()
        return note

    driver.start = start  # type: ignore[method-assign]
    finished = threading.Event()
    outcome: list[object] = []

    def go() -> None:
        outcome.append(
            Scheduler(
                plan({"pg": svc("postgres"), "maria": svc("mariadb")}), driver, lambda e: None
            ).run()
        )
        finished.set()

    threading.Thread(target=go, daemon=True).start()
    assert finished.wait(5), "the wave's services were not run concurrently"
    assert all(r.status is Status.READY for r in outcome[0].results.values())  # type: ignore[attr-defined]


def test_a_later_phase_starts_only_after_the_earlier_one_is_ready() -> None:
    driver = GatedDriver()
    Scheduler(plan(STACK), driver, lambda e: None).run()
    assert {"pg", "maria"} <= set(driver.starts_seen_ready["registry"])
    assert "registry" in driver.starts_seen_ready["api"]
    assert "pg" in driver.starts_seen_ready["api"]  # api waits for pg (service_healthy)
    assert set(driver.starts_seen_ready["prometheus"]) >= {"pg", "maria", "registry", "api", "web"}


def test_cancel_stops_probes_and_new_starts_promptly() -> None:
    never = threading.Event()
    driver = GatedDriver(gates={"pg": never})
    cancel = threading.Event()
    scheduler = Scheduler(plan(STACK), driver, lambda e: None, cancel=cancel)
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(scheduler.run()), daemon=True)
    thread.start()
    assert driver.probing.wait(5)
    cancel.set()  # what the signal handler does, and all it does
    thread.join(5)
    assert not thread.is_alive(), "the scheduler did not wind down after cancel"
    outcome = result[0]
    assert outcome.cancelled  # type: ignore[attr-defined]
    assert outcome.results["pg"].status is Status.CANCELLED  # type: ignore[attr-defined]
    assert outcome.results["prometheus"].status is Status.SKIPPED  # type: ignore[attr-defined]
    assert "registry" not in driver.started


def test_skip_reason_is_typed_not_parsed() -> None:
    driver = FakeDriver(fail={"tracing"})
    services = {
        "tracing": svc(labels={"bootstrap.optional": "true"}),
        "reporter": svc(depends={"tracing": "service_healthy"}),
    }
    outcome, _ = run(services, driver)
    reporter = outcome.results["reporter"]
    assert reporter.status is Status.SKIPPED and reporter.optional  # inherits the upstream's
    assert reporter.reason == "skipped: upstream tracing failed"


@dataclass
class SettlingDriver(FakeDriver):
    """Also checks, once every phase is up, that `running` services stayed up."""

    crashed_after_ready: set[str] = field(default_factory=set)
    settled: list[str] = field(default_factory=list)

    def settle(self, service: PlannedService, cancelled: Callable[[], bool]) -> ProbeResult:
        with self.lock:
            self.settled.append(service.name)
        if service.name in self.crashed_after_ready:
            return ProbeResult(False, "exited with code 1", 1, 0.1, fatal=True)
        return ProbeResult(True, "stayed up", 1, 0.0)


def test_the_running_settle_is_paid_once_after_every_phase_and_a_crash_then_fails_it() -> None:
    stack = {
        "pg": svc("postgres"),
        "api": svc(depends={"pg": "service_healthy"}),  # probe: running
        "web": svc(depends={"api": "service_started"}),  # probe: running
    }
    driver = SettlingDriver(crashed_after_ready={"api"})
    outcome, events = run(stack, driver)
    assert sorted(driver.settled) == ["api", "web"]  # pg has a probe of its own
    assert driver.started == ["pg", "api", "web"]  # web did not wait for api's settle
    api = outcome.results["api"]
    assert api.status is Status.FAILED and "did not stay up" in api.reason
    assert "exited with code 1" in api.reason and "FATAL" in api.log_tail
    assert outcome.results["web"].status is Status.READY and not outcome.ok
    said = [(e.service, e.state.value) for e in events if e.service == "api"]
    assert said[-2:] == [("api", "ready"), ("api", "failed")]


def test_a_driver_that_does_not_settle_later_is_not_asked_to() -> None:
    outcome, _ = run({"api": svc()}, FakeDriver())
    assert outcome.ok
