"""The supervisor against a scripted engine: which events make it act, in which order, and
what it leaves alone. The real engine's behaviour is in tests/integration/test_supervise.py."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bootstrap.errors import ConfigError, EngineGone
from bootstrap.frozen import Gated, GateNotes, gated_since, read_gated
from bootstrap.plan import PlannedService
from bootstrap.runtime import ContainerInfo, EngineEvent
from bootstrap.supervise import Action, ActionKind, Supervisor, keep
from bootstrap.supervisorfiles import logged_actions
from tests.unit.fakes import FakeEngine, workspace
from tests.unit.helpers import svc

GONE = object()  # put on the queue: the engine's event stream breaks


def stamp(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


@dataclass
class ScriptedEngine(FakeEngine):
    """Events come from a queue; a ``GONE`` on it breaks the stream (the engine went away)."""

    feed: queue.Queue[Any] = field(default_factory=queue.Queue)
    subscriptions: int = 0
    down: bool = False

    def events(self, project: str, stop: threading.Event) -> Iterator[EngineEvent]:
        if self.down:
            raise EngineGone("the engine is not answering")
        self.subscriptions += 1
        return self._items(stop)

    def _items(self, stop: threading.Event) -> Iterator[EngineEvent]:
        while not stop.is_set():
            try:
                item = self.feed.get(timeout=0.05)
            except queue.Empty:
                continue
            if item is GONE:
                raise EngineGone("the events stream broke")
            yield item

    def ping(self) -> None:
        if self.down:
            raise EngineGone("the engine is not answering")


@dataclass
class FakeProbing:
    """Readiness by name (a service not listed is ready); restarts are recorded and produce
    the events a real stop and start would (kill, die, stop, start)."""

    engine: ScriptedEngine
    ready: dict[str, bool] = field(default_factory=dict)
    restarts: list[str] = field(default_factory=list)
    started: dict[str, float] = field(default_factory=dict)
    probed: list[str] = field(default_factory=list)
    on_restart: Callable[[str], None] = lambda _name: None
    forgotten: int = 0

    def wait_ready(self, service: PlannedService, cancelled: Callable[[], bool]) -> bool:
        while True:
            self.probed.append(service.name)
            if self.ready.get(service.name, True):
                return True
            if cancelled():
                return False
            time.sleep(0.01)

    def restart(self, service: PlannedService) -> None:
        self.restarts.append(service.name)
        for action in ("kill", "die", "stop", "start"):
            self.engine.feed.put(event(service.name, action, exit_code="0"))
        self.started[service.name] = time.time()
        self.on_restart(service.name)

    def refresh(self) -> dict[str, ContainerInfo]:
        return {
            name: ContainerInfo(
                f"id-{name}", f"shop-{name}-1", name, "running", "shop", started_at=stamp(at)
            )
            for name, at in self.started.items()
        }

    def observe(self, event: EngineEvent) -> None:
        pass

    def forget(self) -> None:
        self.forgotten += 1

    def close(self) -> None:
        pass


def event(service: str, action: str, exit_code: str = "1") -> EngineEvent:
    return EngineEvent(f"id-{service}", service, action, time.time(), {"exitCode": exit_code})


def stack_of(tmp_path: Path, **extra: dict[str, Any]) -> Any:
    services: dict[str, Any] = {
        "db": svc("postgres:16"),
        "api": svc(
            "python:3.12", depends={"db": {"condition": "service_healthy", "restart": True}}
        ),
        "worker": svc("python:3.12", depends={"db": "service_started"}),
        "web": svc("nginx", depends={"api": {"condition": "service_started", "restart": True}}),
        **extra,
    }
    return workspace(tmp_path, services)


class Run:
    """A supervisor in a thread, its actions collected; stopped at the end of the test."""

    def __init__(self, tmp_path: Path, **kw: Any) -> None:
        self.engine = ScriptedEngine()
        self.probing = FakeProbing(self.engine)
        self.actions: list[Action] = []
        self.changed = threading.Condition()
        self.supervisor = Supervisor(
            kw.pop("ws", None) or stack_of(tmp_path),
            self.engine,
            self.probing,
            self.seen,
            wait=kw.pop("wait", 3.0),
            heal_interval=kw.pop("heal_interval", 0.05),
        )
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=self.supervisor.run, args=(self.stop,), kwargs=kw, daemon=True
        )

    def seen(self, action: Action) -> None:
        with self.changed:
            self.actions.append(action)
            self.changed.notify_all()

    def __enter__(self) -> Run:
        self.thread.start()
        deadline = time.monotonic() + 2
        while self.engine.subscriptions == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join(2)

    def until(self, predicate: Callable[[list[Action]], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate(self.actions):
                left = deadline - time.monotonic()
                assert left > 0, f"not seen in {timeout}s; actions: {self.kinds()}"
                self.changed.wait(left)

    def kinds(self) -> list[tuple[str, str]]:
        return [(a.service, a.kind.value) for a in self.actions]

    def has(self, service: str, kind: ActionKind) -> Callable[[list[Action]], bool]:
        return lambda actions: any(a.service == service and a.kind is kind for a in actions)


def test_a_dependency_that_crashes_and_comes_back_restarts_the_dependents_that_ask(
    tmp_path: Path,
) -> None:
    with Run(tmp_path) as run:
        run.probing.ready["db"] = False
        run.engine.feed.put(event("db", "die"))
        run.until(run.has("worker", ActionKind.WAITING))
        assert ("api", "waiting") in run.kinds()
        assert run.probing.restarts == []  # nothing restarts while db is not ready
        run.probing.ready["db"] = True
        run.until(run.has("web", ActionKind.READY))
    # api asked (depends_on.restart), web asked of api: restarted in that order, each re-gated
    # before the next; worker did not ask: reported, left running
    assert run.probing.restarts == ["api", "web"]
    kinds = run.kinds()
    assert kinds.index(("db", "back")) < kinds.index(("api", "restarted"))
    assert kinds.index(("api", "ready")) < kinds.index(("web", "restarted"))
    kept = next(a for a in run.actions if a.service == "worker" and a.kind is ActionKind.KEPT)
    assert "depends_on.db.restart: true" in kept.reason
    # its own restarts' die events were not taken for crashes of api and web
    assert not [k for k in kinds if k[1] == "crash-loop"]
    time.sleep(0.3)
    assert run.probing.restarts == ["api", "web"]


def test_the_label_asks_for_the_restart_where_depends_on_cannot(tmp_path: Path) -> None:
    ws = workspace(
        tmp_path,
        {
            "db": svc("postgres:16"),
            "app": svc(
                "python:3.12",
                depends={"db": "service_started"},
                labels={"bootstrap.restart-with-dependencies": "true"},
            ),
        },
    )
    with Run(tmp_path, ws=ws) as run:
        run.engine.feed.put(event("db", "destroy"))
        run.until(run.has("app", ActionKind.READY))
    assert run.probing.restarts == ["app"]
    waiting = next(a for a in run.actions if a.kind is ActionKind.WAITING)
    assert "removed" in waiting.reason and waiting.cause == "db"


def test_an_unhealthy_dependency_makes_its_dependents_wait(tmp_path: Path) -> None:
    with Run(tmp_path) as run:
        run.engine.feed.put(event("db", "health_status: unhealthy"))
        run.until(run.has("web", ActionKind.READY))
    waiting = next(a for a in run.actions if a.service == "api" and a.kind is ActionKind.WAITING)
    assert "unhealthy" in waiting.reason


def test_a_stop_someone_asked_for_is_not_a_crash_but_an_exit_nobody_asked_for_is(
    tmp_path: Path,
) -> None:
    with Run(tmp_path) as run:
        for _ in range(6):  # `docker restart db`, six times: kill before every die
            run.engine.feed.put(event("db", "kill"))
            run.engine.feed.put(event("db", "die", "0"))
        time.sleep(0.3)
        assert not [a for a in run.actions if a.kind is ActionKind.CRASH_LOOP]
        for _ in range(5):  # five exits of worker on its own
            run.engine.feed.put(event("worker", "die"))
        run.until(run.has("worker", ActionKind.CRASH_LOOP))
    loop = next(a for a in run.actions if a.kind is ActionKind.CRASH_LOOP)
    assert "left alone" in loop.reason and "bootstrap up" in loop.reason


def test_a_crash_looping_dependency_is_not_hammered(tmp_path: Path) -> None:
    with Run(tmp_path) as run:
        run.probing.ready["db"] = False
        for _ in range(8):
            run.engine.feed.put(event("db", "die"))
        run.until(run.has("db", ActionKind.CRASH_LOOP))
        run.probing.ready["db"] = True
        run.until(run.has("db", ActionKind.BACK))
        time.sleep(0.3)
    assert [a for a in run.actions if a.kind is ActionKind.CRASH_LOOP] != []
    assert len([a for a in run.actions if a.kind is ActionKind.CRASH_LOOP]) == 1
    # the first exit started a recovery; the loop's later exits started none
    assert len([a for a in run.actions if a.service == "db" and a.kind is ActionKind.BACK]) == 1


def test_after_the_engine_comes_back_what_started_too_early_is_restarted_in_order(
    tmp_path: Path,
) -> None:
    engine_back = time.time()
    with Run(tmp_path) as run:
        # the engine started everything at once; db took a while to be ready
        run.probing.started.update(
            {
                "db": engine_back,
                "api": engine_back + 0.01,
                "worker": engine_back + 0.01,
                "web": engine_back + 0.02,
            }
        )
        run.probing.ready["db"] = False
        run.engine.down = True
        run.engine.feed.put(GONE)
        run.until(run.has("", ActionKind.ENGINE_GONE))
        threading.Timer(0.3, lambda: setattr(run.engine, "down", False)).start()
        threading.Timer(1.5, lambda: run.probing.ready.update(db=True)).start()
        run.until(run.has("", ActionKind.ENGINE_BACK))
        run.until(run.has("web", ActionKind.READY))
        run.until(run.has("worker", ActionKind.READY))
    # every dependent of db started before db was ready: restarted, in phase order
    out_of_order = [a.service for a in run.actions if a.kind is ActionKind.OUT_OF_ORDER]
    assert out_of_order == ["api", "worker", "web"] or out_of_order == ["worker", "api", "web"]
    said = "\n".join(f"{a.service} {a.kind.value} {a.reason}" for a in run.actions)
    assert run.probing.restarts == out_of_order, said
    assert run.probing.forgotten == 1  # what the missed events said was dropped
    assert all(a.cause for a in run.actions if a.kind is ActionKind.OUT_OF_ORDER)


def test_a_stack_that_started_in_order_is_left_as_it_is(tmp_path: Path) -> None:
    began = time.time() - 60
    run = Run(tmp_path, converge_first=True)
    run.probing.started.update(
        {"db": began, "api": began + 5, "worker": began + 5, "web": began + 6}
    )
    with run:
        deadline = time.monotonic() + 3
        while len(set(run.probing.probed)) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert run.probing.restarts == []
    assert set(run.probing.probed) >= {"db", "api", "worker", "web"}


def converge_after_up(tmp_path: Path, noted: bool) -> Run:
    """A supervisor starting just after an ordered ``up``: db's health is not known to it yet
    (no exec in the stack: the engine has not run its first check), while ``up`` saw db ready
    (its own run of the check) and then started api, worker and web."""
    began = time.time() - 1
    run = Run(tmp_path, converge_first=True, wait=5.0)
    run.probing.started.update(
        {"db": began, "api": began + 0.3, "worker": began + 0.3, "web": began + 0.5}
    )
    run.probing.ready["db"] = False
    threading.Timer(0.4, lambda: run.probing.ready.update(db=True)).start()
    if noted:
        notes = GateNotes(run.supervisor.workspace.directory, run.supervisor.workspace.compose.name)
        ready_at = {
            "db": began + 0.2,
            "api": began + 0.4,
            "worker": began + 0.4,
            "web": began + 0.6,
        }
        for name, at in ready_at.items():
            notes(name, [Gated(f"id-{name}", stamp(run.probing.started[name]), at)])
    return run


def test_a_supervisor_started_after_an_ordered_up_restarts_nothing(tmp_path: Path) -> None:
    with converge_after_up(tmp_path, noted=True) as run:
        run.until(run.has("", ActionKind.IN_ORDER))
    assert run.probing.restarts == []
    done = next(a for a in run.actions if a.kind is ActionKind.IN_ORDER)
    assert "(0 restarted" in done.reason


def test_what_no_driver_noted_is_judged_by_what_the_supervisor_sees(tmp_path: Path) -> None:
    # the same stack with nothing noted (an engine restart changes every StartedAt): db was
    # seen ready only after its dependents started, so they are put back in order
    with converge_after_up(tmp_path, noted=False) as run:
        run.until(run.has("", ActionKind.IN_ORDER))
    assert sorted(run.probing.restarts) == ["api", "web", "worker"]


def test_a_note_of_a_container_started_again_since_counts_for_nothing(tmp_path: Path) -> None:
    with converge_after_up(tmp_path, noted=True) as run:
        # db's container started again after it was noted: its note is stale
        run.probing.started["db"] += 0.05
        run.until(run.has("", ActionKind.IN_ORDER))
    # api, worker and web were noted in order; web's dependency api too: only the note of db
    # is stale, and what was noted of its dependents still holds
    assert run.probing.restarts == []
    noted = read_gated(run.supervisor.workspace.directory, run.supervisor.workspace.compose.name)
    assert gated_since(noted, "db", "id-db", stamp(run.probing.started["db"])) is None


def test_a_service_that_opts_in_is_healed_after_n_failed_probes_with_backoff(
    tmp_path: Path,
) -> None:
    ws = workspace(
        tmp_path,
        {
            "app": svc("python:3.12", labels={"bootstrap.heal": "3"}),
            "other": svc("python:3.12"),
        },
    )
    with Run(tmp_path, ws=ws) as run:
        run.probing.ready["app"] = False
        run.probing.ready["other"] = False  # fails too, but did not opt in
        run.probing.on_restart = lambda name: run.probing.ready.update({name: True})
        run.until(run.has("app", ActionKind.HEALED))
        run.until(run.has("app", ActionKind.READY))
    assert run.probing.restarts == ["app"]
    healed = next(a for a in run.actions if a.kind is ActionKind.HEALED)
    assert "3 times in a row" in healed.reason


def test_the_log_keeps_every_action_and_reads_back_by_time(tmp_path: Path) -> None:
    path = tmp_path / ".bootstrap" / "supervision.jsonl"
    write = keep(path, "shop")
    write(Action("api", ActionKind.RESTARTED, "db came back", at=100.0, cause="db"))
    write(Action("api", ActionKind.READY, "re-gated", at=105.0))
    with path.open("a", encoding="utf-8") as handle:  # a damaged or foreign line is skipped
        for line in (
            "not json",
            "[1, 2]",
            '{"at": 106.0, "kind": "restarted"}',
            '{"at": "106", "service": "api", "kind": "ready", "reason": "r"}',
            '{"at": Infinity, "service": "api", "kind": "ready", "reason": "r"}',
            '{"at": 107.0, "service": {"x": 1}, "kind": "ready", "reason": "r"}',
        ):
            handle.write(line + "\n")
    assert [a["kind"] for a in logged_actions(path)] == ["restarted", "ready"]
    assert [a["at"] for a in logged_actions(path, since=101.0)] == [105.0]
    assert logged_actions(path, until=101.0)[0]["project"] == "shop"
    assert logged_actions(tmp_path / "missing.jsonl") == []


def test_heal_zero_heals_nothing(tmp_path: Path) -> None:
    ws = workspace(tmp_path, {"app": svc("python:3.12", labels={"bootstrap.heal": "0"})})
    with Run(tmp_path, ws=ws) as run:
        run.probing.ready["app"] = False
        time.sleep(0.4)
    assert run.probing.restarts == []


@pytest.mark.parametrize(
    ("label", "value"),
    [
        ("bootstrap.heal", "-1"),
        ("bootstrap.heal", "yes"),
        ("bootstrap.heal", ""),
        ("bootstrap.restart-with-dependencies", "sometimes"),
    ],
)
def test_supervision_labels_with_a_wrong_value_are_refused_before_anything_starts(
    tmp_path: Path, label: str, value: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        workspace(tmp_path, {"app": svc("python:3.12", labels={label: value})})
    assert caught.value.location == f"services.app.labels.{label}"
    assert caught.value.hint
