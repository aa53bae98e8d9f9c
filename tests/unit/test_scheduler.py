from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from bootstrap.plan import PlannedService
from bootstrap.probes import ProbeResult
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


def run(services: dict[str, object], driver: FakeDriver) -> tuple[object, list[Event]]:
    events: list[Event] = []
    outcome = Scheduler(plan(services), driver, events.append).run()  # type: ignore[arg-type]
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
    assert all(r.status is Status.READY for r in outcome.results.values())  # type: ignore[attr-defined]


def test_required_failure_stops_new_starts_and_keeps_the_log_tail() -> None:
    driver = FakeDriver(fail={"pg"})
    outcome, _ = run(STACK, driver)
    results = outcome.results  # type: ignore[attr-defined]
    assert results["pg"].status is Status.FAILED
    assert "connection refused" in results["pg"].reason
    assert "FATAL something broke" in results["pg"].reason
    assert "registry" not in driver.started and "prometheus" not in driver.started
    assert results["prometheus"].status is Status.SKIPPED
    assert "required service pg failed" in results["prometheus"].reason
    assert not outcome.ok  # type: ignore[attr-defined]


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
    results = outcome.results  # type: ignore[attr-defined]
    assert results["tracing"].status is Status.FAILED
    assert results["api"].status is Status.DEGRADED
    assert "tracing unavailable" in results["api"].reason
    assert results["reporter"].status is Status.SKIPPED
    assert "upstream tracing failed" in results["reporter"].reason
    assert "prometheus" in driver.started
    assert outcome.ok  # type: ignore[attr-defined]
    degraded = {r.service for r in outcome.failed_optional}  # type: ignore[attr-defined]
    assert degraded == {"tracing", "api", "reporter"}


def test_start_error_becomes_a_failed_result() -> None:
    driver = FakeDriver(crash_on_start={"maria"})
    outcome, events = run(STACK, driver)
    result = outcome.results["maria"]  # type: ignore[attr-defined]
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
    chain = outcome.critical_chain()  # type: ignore[attr-defined]
    assert chain[-1] == "prometheus"
    assert chain[0] in ("pg", "maria")
    assert "registry" in chain
