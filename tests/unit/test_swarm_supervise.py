"""Supervision on Swarm: the tasks told as container events (pure), a restart waited for."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bootstrap.backends.swarm.engine import TaskInfo
from bootstrap.backends.swarm.supervision import running_tasks, task_events
from bootstrap.plan import PlannedService


def task(
    task_id: str, state: str = "running", desired: str = "running", code: int | None = None
) -> TaskInfo:
    return TaskInfo(task_id, state, desired, "", "node1", f"c-{task_id}", code, "2026-12-01")


def test_a_rescheduled_task_is_a_die_then_a_start() -> None:
    before = running_tasks({"db": [task("t1")], "app": [task("a1")]})
    listed = {
        "db": [task("t1", "failed", "shutdown", code=137), task("t2")],
        "app": [task("a1")],
    }
    events = task_events(before, running_tasks(listed), listed, 5.0)
    assert [(e.service, e.action, e.container_id) for e in events] == [
        ("db", "die", "t1"),
        ("db", "start", "t2"),
    ]
    assert events[0].attributes["exitCode"] == "137" and events[0].time == 5.0


def test_a_task_gone_from_the_list_is_destroyed_and_nothing_changed_is_nothing() -> None:
    before = running_tasks({"db": [task("t1")]})
    assert [e.action for e in task_events(before, running_tasks({"db": []}), {"db": []}, 1.0)] == [
        "destroy"
    ]
    same = {"db": [task("t1")]}
    assert task_events(before, running_tasks(same), same, 1.0) == []


def test_a_task_being_replaced_no_longer_counts_as_running() -> None:
    assert running_tasks({"app": [task("a1", desired="shutdown"), task("a2", "starting")]}) == {
        "app": {}
    }


def test_a_restart_is_waited_for_once_its_old_tasks_are_gone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`service update --force` returns before Swarm replaces the tasks: the re-gate must not
    take the old, still running task for the new one."""
    from bootstrap.backends.swarm import supervision as module
    from bootstrap.backends.swarm.supervision import SwarmProbing
    from bootstrap.outcome import ProbeResult

    from .helpers import plan, svc

    planned = plan({"app": svc()}).services["app"]
    replaced = [task("old", "shutdown", "shutdown"), task("new")]
    looks = iter([[task("old")], [task("old")], [task("old")], replaced])
    waited: list[str] = []
    ignored: set[str] = set()
    reruns: list[str] = []

    class Engine:
        def tasks(self, service: str) -> list[TaskInfo]:
            return next(looks, [task("new")])

    class Driver:
        engine = Engine()

        def swarm_service(self, name: str) -> str:
            return f"shop_{name}"

        def wait_ready(
            self,
            service: PlannedService,
            cancelled: Callable[[], bool],
            history: frozenset[str] = frozenset(),
        ) -> ProbeResult:
            waited.append(service.name)
            ignored.update(history)
            return ProbeResult(True, "1/1 tasks running", 1, 0.0)

    monkeypatch.setattr(module, "rerun", lambda name, env: reruns.append(name))
    probing = SwarmProbing(Driver(), {})  # type: ignore[arg-type]
    probing.restart(planned)
    assert reruns == ["shop_app"]
    assert probing.wait_ready(planned, lambda: False)
    assert waited == ["app"] and next(looks, None) is None  # every look was taken
    assert ignored == {"old"}  # the replaced task is history, not a failure of the wait
