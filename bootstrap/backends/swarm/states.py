"""What Swarm's task states mean to bootstrap, in one place. Pure.

A task's ``state`` is what it is doing (``running``, ``complete``, ``failed``...), its
``desired`` state what Swarm wants of it (``running``, ``complete`` for a job's, ``shutdown``
once it was replaced). The driver's wait, ``status`` and the supervisor read tasks through
these rules only."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bootstrap.backends.swarm.engine import NodeInfo, TaskInfo

RUNNING = "running"  # a task's state, and the desired state of a server's tasks
COMPLETE = "complete"  # a job's task's, done
SHUTDOWN = "shutdown"  # the desired state of a replaced task; the state of one stopped
FAILED_STATES = ("failed", "rejected")
NODE_READY = "ready"  # a node's state when it takes tasks
# states of a task still on its way to the done state (and of one a lost node still holds)
ON_ITS_WAY = (RUNNING, "orphaned", "assigned", "preparing", "starting")


def serving(task: TaskInfo) -> bool:
    """Running, and Swarm wants it running: a server's live task."""
    return task.state == RUNNING and task.desired == RUNNING


def done_state(job: bool) -> str:
    """The state a task of the service ends its wait in: a job's completes, a server runs."""
    return COMPLETE if job else RUNNING


def current(tasks: Iterable[TaskInfo], job: bool) -> list[TaskInfo]:
    """The tasks of the service's current run: a replaced task (desired shutdown) is history,
    unless it failed on its own."""
    wanted = (COMPLETE, RUNNING) if job else (RUNNING,)
    return [t for t in tasks if t.desired in wanted or t.state in FAILED_STATES]


def failed(tasks: Iterable[TaskInfo]) -> list[TaskInfo]:
    return [t for t in tasks if t.state in FAILED_STATES]


def done(tasks: Iterable[TaskInfo], job: bool) -> list[TaskInfo]:
    return [t for t in tasks if t.state == done_state(job)]


def on_a_node_down(task: TaskInfo, nodes: Mapping[str, NodeInfo]) -> bool:
    """Whether the task's node is known and not ready (down, disconnected)."""
    return task.node in nodes and nodes[task.node].state != NODE_READY


def lost_with_node(tasks: Iterable[TaskInfo], nodes: Mapping[str, NodeInfo]) -> list[TaskInfo]:
    """Replaced tasks that were on their way or running on a node that went down: what a lost
    node took (Swarm already placed their replacements)."""
    return [
        t
        for t in tasks
        if t.desired == SHUTDOWN and on_a_node_down(t, nodes) and t.state in ON_ITS_WAY
    ]


def unplaceable(tasks: Iterable[TaskInfo]) -> list[TaskInfo]:
    """Tasks no node can take (pinned to one that is down, or constraints nobody meets)."""
    return [t for t in tasks if t.state == "pending" and "no suitable node" in t.error]
