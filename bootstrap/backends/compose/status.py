"""``status`` on compose: every service of the plan, its container, and its probe's verdict
(nothing started, nothing written).

A container a driver started and saw pass its probe (``frozen.GateNotes``: its id and the
engine's StartedAt) is ready as of then while it still runs without a restart and the engine
has no unhealthy verdict of it: its probe is not asked again (an exec of ``psql``, a held
connection: most of the command's time). Every other one, and every one with ``live``
(``status --probe``, ``--watch``), gets one attempt of its probe now."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from bootstrap.errors import NoSuchObject
from bootstrap.frozen import Gated, noted_pass, read_gated
from bootstrap.later import in_threads
from bootstrap.outcome import Observation
from bootstrap.plan import PlannedService
from bootstrap.probes import Probe, container_gate, exit_zero_is_ready
from bootstrap.probes.registry import Rests, rests_on
from bootstrap.reach import in_container
from bootstrap.runtime import ContainerInfo, Engine, Health, State
from bootstrap.status import ServiceStatus
from bootstrap.targets import network_only_port, target_and_probe
from bootstrap.watch import ContainerWatch
from bootstrap.workspace import Workspace


def _one(
    workspace: Workspace,
    engine: Engine,
    name: str,
    info: ContainerInfo | None,
    on_network: bool,
    noted: Mapping[str, tuple[Gated, ...]],
) -> ServiceStatus:
    planned = workspace.plan.services[name]
    if info is None and planned.service.replicas == 0:
        return ServiceStatus(
            name,
            planned.phase,
            "scaled to 0",
            None,
            planned.probe.kind,
            True,
            "deploy.replicas is 0: no container, as compose has it",
            {},
            planned.address,
            planned.optional,
        )
    if info is None:
        return ServiceStatus(
            name,
            planned.phase,
            "absent",
            None,
            planned.probe.kind,
            False,
            "no container",
            {},
            planned.address,
            planned.optional,
        )
    changed = not_applied(planned, info)
    if changed:  # the file's probe is not what this container runs with: nothing of it runs
        return _engine_says(planned, info, changed)
    watch = ContainerWatch()
    watch.seed(info)
    target, probe = target_and_probe(planned, info, engine, watch, on_network)
    observation = container_gate(
        target, completed_ok=exit_zero_is_ready(probe.kind, planned.long_running)
    )
    since = None
    if observation is None and _asking_costs(probe, info):
        passed = noted_pass(noted, name, info.id, info.started_at)
        if passed is not None:
            since = passed.ready_at
            at = time.strftime("%H:%M:%S", time.localtime(since))
            when = f"passed at {at}, not restarted since; `status --probe` asks now"
            said = f"{passed.detail} ({when})" if passed.detail else when
            observation = Observation(True, said)
    port = network_only_port(planned, probe, target) if observation is None else None
    if port is not None and _asks_inside(planned):
        inside = probe.check(target)  # through the image's own client, where it has one
        if inside.ready or "not reachable from here" not in inside.detail:
            observation, port = inside, None
    if port is not None:  # status starts no helper: what the engine says, and why
        healthy = info.health in (None, Health.HEALTHY)
        observation = Observation(
            healthy,
            f"{info.health or 'running'}; its {planned.probe.kind} probe asks port {port}, not "
            "reachable from here (`bootstrap up` asks it from a helper on the stack's network)",
        )
    if observation is None:
        try:
            observation = probe.check(target)
        except Exception as exc:  # a status must render even when a probe breaks
            observation = Observation(False, f"{type(exc).__name__}: {exc}")
    return ServiceStatus(
        name,
        planned.phase,
        info.state,
        info.health,
        planned.probe.kind,
        observation.ready,
        observation.detail,
        dict(info.ports),
        _address(planned, info),
        planned.optional,
        probed_at=since,
    )


def _address(planned: PlannedService, info: ContainerInfo) -> str | None:
    """The address the row shows: the planned static one, else the container's first."""
    return planned.address or next(iter(info.addresses.values()), None)


# The labels a probe is chosen and parameterised by: a command, a query, a path, a port.
PROBE_LABELS = ("bootstrap.probe", "discovery.")


def not_applied(planned: PlannedService, info: ContainerInfo) -> str:
    """What the compose file says of the service's probe that its container was not created
    with (its labels and healthcheck test as compose applied them), or "". A read-only command
    runs only what the container was created with: a file that changed since ``up`` (a pulled
    branch, a cloned workspace naming this project) is untrusted until ``up`` applies it."""
    labels = planned.service.labels
    changed = sorted(
        key
        for key in labels
        if key.startswith(PROBE_LABELS) and info.labels.get(key) != labels[key]
    )
    declared = planned.service.healthcheck
    test = declared.test if declared and not declared.disabled else ()
    if test and test != info.healthcheck_test:  # no test of its own: the image's, unchanged
        changed.append("healthcheck.test")
    if not changed:
        return ""
    return f"{', '.join(changed)} changed since `up`: not run until `bootstrap up` applies it"


def _engine_says(planned: PlannedService, info: ContainerInfo, why: str) -> ServiceStatus:
    """A row from what the engine says alone (its state and healthcheck verdict), and why."""
    return ServiceStatus(
        planned.name,
        planned.phase,
        info.state,
        info.health,
        planned.probe.kind,
        info.state == State.RUNNING and info.health in (None, Health.HEALTHY),
        f"{info.health or info.state}: {why}",
        dict(info.ports),
        _address(planned, info),
        planned.optional,
    )


def _inspected(engine: Engine, listed: ContainerInfo) -> ContainerInfo | None:
    """The container in full (its exit code, env, healthcheck); None once it is gone."""
    try:
        return engine.container(listed.id)
    except NoSuchObject:
        return None


def _asking_costs(probe: Probe, info: ContainerInfo) -> bool:
    """Whether its probe asks the server (an exec, a connection) rather than read what the
    engine says now at no cost: the container's life, its healthcheck's ``healthy``."""
    rests = rests_on(probe.kind)
    return rests is Rests.SERVER or (rests is Rests.HEALTH and info.health != Health.HEALTHY)


def _asks_inside(planned: Any) -> bool:
    from bootstrap.probes import kind

    found = kind(planned.probe.kind)
    return found is not None and bool(found.clients)


def _replicas(rows: list[ServiceStatus]) -> ServiceStatus:
    """One row for a service: its container's, or its replicas' together (ready when every
    one is; the first that is not says why)."""
    if len(rows) == 1:
        return rows[0]
    ready = [r for r in rows if r.ready]
    shown = next((r for r in rows if not r.ready), rows[0])
    return replace(
        shown,
        ready=len(ready) == len(rows),
        detail=f"{len(ready)}/{len(rows)} replicas ready: {shown.detail}",
    )


def collect_status(
    workspace: Workspace,
    engine: Engine,
    selected: frozenset[str] | None = None,
    *,
    live: bool = False,
) -> list[ServiceStatus]:
    """Every service ``selected`` names (all of the plan when None), and, like `docker compose
    ps`, every other service of the project that has a container, marked as not selected;
    ``live``: every probe asked now, also of a container seen ready since it started."""
    containers: dict[str, list[ContainerInfo]] = {}
    listed = engine.containers(workspace.compose.name, inspect=False)  # one call; each
    for info in sorted(listed, key=lambda c: c.name):  # inspected by its service's thread
        containers.setdefault(info.service, []).append(info)  # every replica
    wanted = set(workspace.plan.order()) if selected is None else selected
    names = [n for n in workspace.plan.order() if n in wanted or n in containers]
    on_network = in_container()
    noted = {} if live else read_gated(workspace.directory, workspace.compose.name)

    def one(name: str) -> ServiceStatus:
        inspected = [_inspected(engine, info) for info in containers.get(name, [])]
        found: list[ContainerInfo | None] = [i for i in inspected if i is not None] or [None]
        rows = [_one(workspace, engine, name, info, on_network, noted) for info in found]
        return replace(_replicas(rows), selected=name in wanted)

    return in_threads(one, names)
