"""Supervision on Swarm: the manager's tasks, polled, told to the supervisor as the container
events it follows on compose (a running task that stops running: ``die``; a task that starts
running: ``start``), and its hands on the stack: re-gating through the Swarm driver's wait,
a restart as ``docker service update --force``. A task Swarm reschedules after a failure or
a lost node is a dependency coming back, re-gated like a restarted container."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from bootstrap.backends.swarm.driver import SwarmDriver, rerun
from bootstrap.backends.swarm.engine import SwarmServices, TaskInfo
from bootstrap.backends.swarm.states import FAILED_STATES, RUNNING, SHUTDOWN, serving
from bootstrap.plan import PlannedService
from bootstrap.runtime import ContainerInfo, EngineEvent

POLL = 1.0  # seconds between two looks at the manager's tasks
REPLACED = 60.0  # seconds a restart may take before its old tasks are given up on


Running = Mapping[str, Mapping[str, TaskInfo]]  # service -> running task id -> task


def running_tasks(tasks: Mapping[str, list[TaskInfo]]) -> dict[str, dict[str, TaskInfo]]:
    """service -> its tasks that run now (and are meant to). Pure."""
    return {name: {t.id: t for t in listed if serving(t)} for name, listed in tasks.items()}


def task_events(
    before: Running, now: Running, tasks: Mapping[str, list[TaskInfo]], at: float
) -> list[EngineEvent]:
    """What changed between two looks, as container events. A task that ran and no longer
    does: ``die`` (with its exit code where Swarm gives one), or ``destroy`` where it is gone
    from the list; one that runs now and did not: ``start``. Pure."""
    events: list[EngineEvent] = []
    for name in sorted(set(before) | set(now)):
        was, runs = before.get(name, {}), now.get(name, {})
        listed = {t.id: t for t in tasks.get(name, [])}
        for task_id in sorted(set(was) - set(runs)):
            task = listed.get(task_id)
            if task is None:
                events.append(EngineEvent(task_id, name, "destroy", at))
                continue
            code = "" if task.exit_code is None else str(task.exit_code)
            said = {"exitCode": code or "?", "state": task.state, "error": task.error}
            events.append(EngineEvent(task_id, name, "die", at, said))
        events += [EngineEvent(t, name, "start", at) for t in sorted(set(runs) - set(was))]
    return events


@dataclass
class SwarmTaskEvents:
    """The supervisor's event source on Swarm (``events`` and ``version``, as an engine's)."""

    swarm: SwarmServices
    stack: str
    services: tuple[str, ...]
    poll: float = POLL

    def _look(self) -> dict[str, list[TaskInfo]]:
        return {name: self.swarm.tasks(f"{self.stack}_{name}") for name in self.services}

    def events(self, project: str, stop: threading.Event) -> Iterator[EngineEvent]:
        listed = self._look()  # an unreachable manager raises here: the supervisor waits
        before = running_tasks(listed)
        while not stop.wait(self.poll):
            listed = self._look()
            now = running_tasks(listed)
            yield from task_events(before, now, listed, time.time())
            before = now

    def ping(self) -> None:
        self.swarm.docker.ping()


@dataclass
class SwarmProbing:
    """The supervisor's hands on a stack: the driver's wait, ``service update --force``."""

    driver: SwarmDriver
    env: Mapping[str, str]
    # service -> the task ids that ran before its restart: its wait begins once they are gone
    _replaced: dict[str, set[str]] = field(default_factory=dict)

    def _name(self, service: PlannedService) -> str:
        return self.driver.swarm_service(service.name)

    def _running(self, service: PlannedService) -> set[str]:
        tasks = self.driver.engine.tasks(self._name(service))
        return {t.id for t in tasks if serving(t)}

    def wait_ready(self, service: PlannedService, cancelled: Callable[[], bool]) -> bool:
        old = self._replaced.pop(service.name, set())
        deadline = time.monotonic() + REPLACED
        while old & self._running(service):  # the update has not replaced them yet
            if cancelled() or time.monotonic() > deadline:
                return False
            time.sleep(0.2)
        # the task that failed (the reason of this wait) is history: Swarm replaces it
        listed = self.driver.engine.tasks(self._name(service))
        history = frozenset(t.id for t in listed if t.state in (*FAILED_STATES, SHUTDOWN))
        return self.driver.wait_ready(service, cancelled, history | old).ready

    def restart(self, service: PlannedService) -> None:
        self._replaced[service.name] = self._running(service)
        rerun(self._name(service), self.env)  # a new task for every replica, as update does

    def refresh(self) -> dict[str, ContainerInfo]:
        """Each service's first running task as a container (state, when it started)."""
        found: dict[str, ContainerInfo] = {}
        for name in self.driver.workspace.plan.order():
            tasks = self.driver.engine.tasks(self.driver.swarm_service(name))
            live = sorted(
                (t for t in tasks if t.desired == RUNNING),
                key=lambda t: (t.state != RUNNING, t.timestamp),
            )
            if live:
                task = live[0]
                found[name] = ContainerInfo(
                    task.id,
                    f"{self.driver.swarm_service(name)}.{task.slot or 1}",
                    name,
                    RUNNING if task.state == RUNNING else task.state,
                    project=self.driver.stack,
                    started_at=task.timestamp,
                )
        return found

    def observe(self, event: EngineEvent) -> None:
        return None  # the driver asks the manager every time

    def forget(self) -> None:
        return None

    def close(self) -> None:
        self.driver.close()
