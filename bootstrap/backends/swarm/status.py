"""``status`` on Swarm: every service of the plan from the manager's view of its tasks, on
every node (the containers of other nodes are not this engine's to inspect). Read-only: no
helper is started, so the protocol probes are not run here (``up`` runs them per replica);
a replica is ready when its task runs (Swarm reports a task with a healthcheck as running
only once it passes). A replica lost with its node is said, with where its replacement went."""

from __future__ import annotations

from collections.abc import Iterable

from bootstrap.backends.swarm import states
from bootstrap.backends.swarm.engine import NodeInfo, SwarmServices, TaskInfo
from bootstrap.backends.swarm.stackfile import stack_name
from bootstrap.status import ServiceStatus
from bootstrap.workspace import Workspace


def swarm_status(
    workspace: Workspace, swarm: SwarmServices, selected: frozenset[str] | None = None
) -> list[ServiceStatus]:
    stack = stack_name(workspace.plan.project)
    existing = swarm.stack_services(stack)
    nodes = {node.id: node for node in swarm.nodes()}
    wanted = set(workspace.plan.order()) if selected is None else selected
    rows = []
    for name in workspace.plan.order():
        if name not in wanted and name not in existing:
            continue
        planned = workspace.plan.services[name]
        job = planned.is_job
        if name not in existing:
            state, ready, detail = "absent", False, "not deployed"
        else:
            service = f"{stack}_{name}"
            state, ready, detail = service_state(
                swarm.tasks(service), swarm.replicas(service), nodes, job
            )
        rows.append(
            ServiceStatus(
                name,
                planned.phase,
                state,
                None,
                planned.probe.kind,
                ready,
                detail,
                {},
                planned.address,
                planned.optional,
                selected=name in wanted,
            )
        )
    return rows


def _where(tasks: Iterable[TaskInfo], nodes: dict[str, NodeInfo]) -> str:
    names = sorted({nodes[t.node].hostname if t.node in nodes else t.node[:12] for t in tasks})
    return ", ".join(names) or "no node"


def service_state(
    tasks: list[TaskInfo], replicas: int | None, nodes: dict[str, NodeInfo], job: bool
) -> tuple[str, bool, str]:
    """(state, ready, detail) of one service from its tasks. Pure."""
    done_state = states.done_state(job)
    current = [t for t in tasks if t.desired in (states.RUNNING, states.COMPLETE)]
    done = states.done(current, job)
    want = replicas if replicas is not None else max(1, len({t.node for t in current}))
    lost = states.lost_with_node(tasks, nodes)
    failing = states.failed(current)
    detail = f"{len(done)}/{want} tasks {done_state} on {_where(done, nodes)}"
    if lost:
        gone = sorted({nodes[t.node].hostname for t in lost})
        detail += f"; {len(lost)} lost with {', '.join(gone)} ({nodes[lost[0].node].state})"
        slots = {t.slot for t in lost}
        moved = [t for t in current if t.slot in slots and t.node not in {x.node for x in lost}]
        if moved:
            detail += f", now on {_where(moved, nodes)}"
    pending = [t for t in current if t.state not in (done_state, *states.FAILED_STATES)]
    if pending:
        detail += f"; {len(pending)} {pending[0].state} on {_where(pending, nodes)}"
    if failing:
        detail += f"; {failing[0].state}: {failing[0].error or 'no error given'}"
    ready = len(done) >= want
    state = done_state if ready else ("starting" if pending else "degraded")
    return state, ready, detail
