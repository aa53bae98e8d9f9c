"""The plan: phases in order, waves inside each phase, and everything ``up`` needs. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bootstrap import PLAN_SCHEMA_VERSION
from bootstrap.classify import Placement, classify, static_address
from bootstrap.errors import ConfigError, ConfigErrors, raise_all
from bootstrap.graph import find_cycle, waves
from bootstrap.model import Dependency, Service, Stack
from bootstrap.probespec import ProbeSpec, check_labels, choose_probe, is_optional_label
from bootstrap.settings import Settings


@dataclass(frozen=True)
class PlannedService:
    name: str
    phase: str
    reasons: tuple[str, ...]
    explicit: bool
    wave: int  # 1-based, inside its phase
    depends_on: tuple[Dependency, ...]
    probe: ProbeSpec
    optional: bool
    address: str | None
    service: Service
    # Who waits for it to be running or healthy: then it must keep running, and exiting,
    # even with 0, is a failure (compose's rule); so is a service with published ports.
    needed_running_by: tuple[str, ...] = ()
    healthy_for: tuple[str, ...] = ()  # dependents with condition: service_healthy

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)

    @property
    def is_job(self) -> bool:
        """A one-shot job: ready once it exited 0 (what its probe kind says)."""
        from bootstrap.probes.registry import is_job  # planning loads no kind until asked

        return is_job(self.probe.kind)

    @property
    def long_running(self) -> bool:
        return bool(self.needed_running_by) or any(
            p.published is not None for p in self.service.ports
        )


@dataclass(frozen=True)
class Phase:
    name: str
    waves: tuple[tuple[str, ...], ...]

    @property
    def services(self) -> tuple[str, ...]:
        return tuple(name for wave in self.waves for name in wave)


@dataclass(frozen=True)
class Plan:
    project: str
    phases: tuple[Phase, ...]
    services: Mapping[str, PlannedService]
    profiles: tuple[str, ...] = ()

    def phase_index(self, name: str) -> int:
        return [p.name for p in self.phases].index(self.services[name].phase)

    def order(self) -> list[str]:
        return [name for phase in self.phases for name in phase.services]


def targeted(plan: Plan, names: Sequence[str], *, dependencies: bool = True) -> Plan:
    """The plan for ``up SERVICE...``: those services and, as compose starts them, what they
    depend on (transitively; ``dependencies=False`` is compose's ``--no-deps``). Phases and
    waves keep their order; an emptied phase stays, with no services."""
    keep: set[str] = set()
    todo = [n for n in names if n in plan.services]
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep.add(name)
        if dependencies:
            todo += [d.name for d in plan.services[name].depends_on if d.name in plan.services]
    phases = tuple(
        Phase(
            phase.name,
            tuple(w for w in (tuple(n for n in wave if n in keep) for wave in phase.waves) if w),
        )
        for phase in plan.phases
    )
    services = {
        name: replace(
            planned,
            wave=next(i for i, w in enumerate(_phase(phases, planned.phase).waves, 1) if name in w),
            depends_on=tuple(d for d in planned.depends_on if d.name in keep),
        )
        for name, planned in plan.services.items()
        if name in keep
    }
    return replace(plan, phases=phases, services=services)


def _phase(phases: Sequence[Phase], name: str) -> Phase:
    return next(p for p in phases if p.name == name)


def _is_optional(service: Service, edges: Sequence[Any]) -> bool:
    """``edges``: the ``depends_on`` entries of other services that name this one."""
    if is_optional_label(service):
        return True
    return bool(edges) and all(not d.required for d in edges)


def _effective_dependencies(
    service: Service, selected: Mapping[str, Service]
) -> tuple[Dependency, ...]:
    """Dependencies among the selected services. A missing required one is an error."""
    kept = []
    for dep in service.depends_on:
        if dep.name in selected:
            kept.append(dep)
        elif dep.required:
            raise ConfigError(
                f"depends on {dep.name!r}, which is not a service of the active profiles",
                location=f"services.{service.name}.depends_on.{dep.name}",
                hint=f"define {dep.name!r}, activate its profile, or mark the dependency "
                "required: false",
            )
    return tuple(kept)


def resolve_phases(
    placements: Mapping[str, Placement],
    edges: Mapping[str, tuple[Dependency, ...]],
    phases: tuple[str, ...],
) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Move inferred phases so every dependency comes up no later than its dependent.

    Returns name -> (phase, reasons). A label-set phase that contradicts an edge is an error.
    The fixpoint loop is load-bearing: moving one service can create a new conflict upstream.
    """
    rank = {p: i for i, p in enumerate(phases)}
    phase = {n: p.phase for n, p in placements.items()}
    reasons: dict[str, list[str]] = {n: [p.reason] for n, p in placements.items()}
    changed = True
    while changed:
        changed = False
        for name in sorted(edges):
            for dep in edges[name]:
                if rank[phase[dep.name]] <= rank[phase[name]]:
                    continue
                if not placements[dep.name].explicit:
                    reasons[dep.name].append(
                        f"moved from {phase[dep.name]} to {phase[name]}: {name} depends on it"
                    )
                    phase[dep.name] = phase[name]
                elif not placements[name].explicit:
                    reasons[name].append(
                        f"moved from {phase[name]} to {phase[dep.name]}: it depends on "
                        f"{dep.name} ({phase[dep.name]} by label)"
                    )
                    phase[name] = phase[dep.name]
                else:
                    raise ConfigError(
                        f"{name} is in phase {phase[name]} by label but depends on {dep.name}, "
                        f"which is in the later phase {phase[dep.name]} by label",
                        location=f"services.{name}.depends_on.{dep.name}",
                        hint=f"change bootstrap.phase of {name} or {dep.name}, "
                        "or remove the dependency",
                    )
                changed = True
    return {n: (phase[n], tuple(reasons[n])) for n in placements}


def build_plan(stack: Stack, settings: Settings) -> Plan:
    """Turn the stack model into the frozen plan ``up`` executes. Raises ``ConfigError``."""
    selected = stack.selected
    problems: list[ConfigError] = []
    for service in selected.values():
        for check in (
            lambda s=service: check_labels(s, settings.phases),
            lambda s=service: choose_probe(s),
        ):
            try:
                check()
            except ConfigErrors as many:
                problems += many.errors
            except ConfigError as exc:
                problems.append(exc)
    raise_all(problems)  # every label mistake of the run at once
    edges = {n: _effective_dependencies(s, selected) for n, s in selected.items()}
    cycle = find_cycle({n: [d.name for d in deps] for n, deps in edges.items()})
    if cycle:
        from bootstrap.errors import CycleError

        raise CycleError(cycle)
    placements = {n: classify(s, settings) for n, s in selected.items()}
    resolved = resolve_phases(placements, edges, settings.phases)
    completed = {
        d.name
        for deps in edges.values()
        for d in deps
        if d.condition == "service_completed_successfully"
    }
    phases: list[Phase] = []
    wave_of: dict[str, int] = {}
    for phase_name in settings.phases:
        members = [n for n in selected if resolved[n][0] == phase_name]
        layered = waves(members, {n: [d.name for d in edges[n]] for n in members})
        for index, wave in enumerate(layered, 1):
            wave_of.update(dict.fromkeys(wave, index))
        phases.append(Phase(phase_name, tuple(tuple(w) for w in layered)))
    # who names each service, indexed once (a scan per service was quadratic: 0.4 s of a
    # 1,000-service plan)
    named_by: dict[str, list[Any]] = {}
    for other in selected.values():
        for dep in other.depends_on:
            named_by.setdefault(dep.name, []).append(dep)
    incoming: dict[str, list[tuple[str, str]]] = {}
    for dependent, deps in edges.items():
        for d in deps:
            incoming.setdefault(d.name, []).append((dependent, d.condition))
    planned = {
        name: PlannedService(
            name=name,
            phase=resolved[name][0],
            reasons=resolved[name][1],
            explicit=placements[name].explicit,
            wave=wave_of[name],
            depends_on=edges[name],
            probe=choose_probe(service, completed_by_dependents=name in completed),
            optional=_is_optional(service, named_by.get(name, [])),
            address=static_address(service, settings),
            service=service,
            needed_running_by=tuple(
                sorted(
                    n
                    for n, condition in incoming.get(name, [])
                    if condition in ("service_started", "service_healthy")
                )
            ),
            healthy_for=tuple(
                sorted(
                    n for n, condition in incoming.get(name, []) if condition == "service_healthy"
                )
            ),
        )
        for name, service in selected.items()
    }
    return Plan(
        project=stack.project,
        phases=tuple(phases),
        services=planned,
        profiles=stack.active_profiles,
    )


def plan_document(plan: Plan, *, env_layers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The stable ``plan --json`` schema. Secrets never appear in it."""
    return {
        "schema": PLAN_SCHEMA_VERSION,
        "project": plan.project,
        "profiles": list(plan.profiles),
        "phases": [
            {"name": phase.name, "waves": [list(w) for w in phase.waves]} for phase in plan.phases
        ],
        "services": {
            name: {
                "phase": s.phase,
                "wave": s.wave,
                "why": list(s.reasons),
                "explicit": s.explicit,
                "optional": s.optional,
                "image": s.service.image,
                "address": s.address,
                "ports": [str(p) for p in s.service.ports],
                "volumes": [f"{m.source}:{m.target}" for m in s.service.mounts if m.source],
                "depends_on": [
                    {"service": d.name, "condition": d.condition, "required": d.required}
                    for d in s.depends_on
                ],
                "probe": {
                    "kind": s.probe.kind,
                    "why": s.probe.reason,
                    "source": s.probe.source,
                    **s.probe.public(),
                },
                "resources": s.service.resources.as_dict(),
                "replicas": s.service.replicas,
            }
            for name in plan.order()
            for s in [plan.services[name]]
        },
        "env_layers": dict(env_layers or {}),
    }
