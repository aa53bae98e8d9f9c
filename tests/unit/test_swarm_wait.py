"""The Swarm driver's readiness wait, without a swarm: a fake manager whose tasks change
between attempts (a scripted timeline over an injected clock), the wait's verdicts read off
``SwarmDriver.wait_ready``. Where a fix to the Swarm wait starts; on a real multi-node swarm:
tests/integration/test_cluster.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from bootstrap.backends.swarm.driver import SwarmDriver
from bootstrap.backends.swarm.engine import NodeInfo, TaskInfo
from bootstrap.backends.swarm.stackfile import SwarmOptions
from tests.unit.fakes import workspace
from tests.unit.helpers import svc

if TYPE_CHECKING:
    from bootstrap.backends.docker import DockerEngine
    from bootstrap.backends.swarm.engine import SwarmServices

READY = NodeInfo("n1", "manager", "ready", "active", True)
DOWN = NodeInfo("n2", "worker-1", "down", "active", False)


def task(
    number: int,
    state: str,
    *,
    desired: str = "running",
    node: str = "n1",
    error: str = "",
    slot: int | None = None,
) -> TaskInfo:
    return TaskInfo(f"task{number}", state, desired, error, node, f"c{number}", None, "", slot)


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


class FakeManager:
    """Tasks as a timeline: from each moment on (the clock's), the tasks listed then."""

    def __init__(self, clock: Clock, timeline: list[tuple[float, list[TaskInfo]]]) -> None:
        self.clock = clock
        self.timeline = timeline
        self.nodes_seen = [READY, DOWN]
        self.wanted: int | None = 2
        self.asked = 0

    def replicas(self, service: str) -> int | None:
        return self.wanted

    def tasks(self, service: str) -> list[TaskInfo]:
        self.asked += 1
        current: list[TaskInfo] = []
        for moment, tasks in self.timeline:
            if self.clock.t >= moment:
                current = tasks
        return current

    def nodes(self) -> list[NodeInfo]:
        return list(self.nodes_seen)


def waiting(
    tmp_path: Path, timeline: list[tuple[float, list[TaskInfo]]], probe: str = "running"
) -> tuple[Callable[[], Any], FakeManager, Clock]:
    listed: dict[str, Any] = {"web": svc(labels={"bootstrap.probe": probe})}
    tmp_path.mkdir(parents=True, exist_ok=True)
    ws = workspace(tmp_path, listed)
    clock = Clock()
    manager = FakeManager(clock, timeline)
    driver = SwarmDriver(
        ws,
        cast("DockerEngine", object()),  # only the probe helper would use it
        cast("SwarmServices", manager),
        {"name": "shop", "services": listed},
        SwarmOptions(),
        30.0,
        lambda _e: None,
        "python",
        {},
        clock=clock,
    )
    service = ws.plan.services["web"]
    return lambda: driver.wait_ready(service, lambda: False), manager, clock


def test_ready_once_every_wanted_replica_runs(tmp_path: Path) -> None:
    wait, _manager, clock = waiting(
        tmp_path,
        [
            (0.0, [task(1, "starting", slot=1)]),
            (1.0, [task(1, "running", slot=1), task(2, "preparing", slot=2)]),
            (2.5, [task(1, "running", slot=1), task(2, "running", slot=2)]),
        ],
    )
    result = wait()
    assert result.ready, result.detail
    assert "2/2 tasks running" in result.detail
    assert clock.t >= 2.5


def test_a_replaced_task_is_history_and_a_failed_one_fails_the_wait(tmp_path: Path) -> None:
    # the old task, replaced (desired shutdown), does not count as one of the two
    wait, _manager, _clock = waiting(
        tmp_path,
        [(0.0, [task(1, "running", desired="shutdown", slot=1), task(2, "running", slot=1)])],
    )
    result = wait()
    assert not result.ready and result.timed_out and "1/2 tasks running" in result.detail
    wait, _manager, _clock = waiting(
        tmp_path / "failed",
        [(0.0, [task(1, "running", slot=1), task(2, "failed", error="exit 3", slot=2)])],
    )
    failed = wait()
    assert not failed.ready and not failed.timed_out
    assert "task2" in failed.detail and "exit 3" in failed.detail


def test_a_task_no_node_can_take_fails_at_once_naming_the_nodes_down(tmp_path: Path) -> None:
    wait, manager, clock = waiting(
        tmp_path / "a",
        [(0.0, [task(1, "pending", node="", error="no suitable node (constraints)", slot=1)])],
    )
    manager.wanted = 1
    result = wait()
    assert not result.ready and "no node can run its task" in result.detail
    assert "worker-1" in result.detail
    assert clock.t < 1.0  # at the first look, not at the timeout


def test_a_job_waits_for_completion_not_for_running(tmp_path: Path) -> None:
    wait, manager, _clock = waiting(
        tmp_path,
        [(0.0, [task(1, "running")]), (1.0, [task(1, "complete", desired="complete")])],
        probe="completed",
    )
    manager.wanted = None  # a job: no replica count in its spec
    result = wait()
    assert result.ready and "1/1 tasks complete" in result.detail
