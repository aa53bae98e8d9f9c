"""``status``: every service of the plan, its container, and one probe attempt now."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from bootstrap.bringup import in_container, project_containers, target_and_probe
from bootstrap.engine import ContainerInfo, Engine
from bootstrap.probes import Observation, container_gate
from bootstrap.watch import ContainerWatch
from bootstrap.workspace import Workspace


@dataclass(frozen=True)
class ServiceStatus:
    service: str
    phase: str
    state: str
    health: str | None
    probe: str
    ready: bool
    detail: str
    ports: dict[int, int]
    address: str | None
    optional: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "phase": self.phase,
            "state": self.state,
            "health": self.health,
            "probe": self.probe,
            "ready": self.ready,
            "detail": self.detail,
            "ports": {str(k): v for k, v in self.ports.items()},
            "address": self.address,
            "optional": self.optional,
        }


def _one(
    workspace: Workspace, engine: Engine, name: str, info: ContainerInfo | None, on_network: bool
) -> ServiceStatus:
    planned = workspace.plan.services[name]
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
    watch = ContainerWatch()
    watch.seed(info)
    target, probe = target_and_probe(planned, info, engine, watch, on_network)
    observation = container_gate(target, completed_ok=probe.kind in ("completed", "running"))
    if observation is None:
        try:
            observation = probe.check(target)
        except Exception as exc:  # a status must render even when a probe breaks
            observation = Observation(False, f"{type(exc).__name__}: {exc}")
    address = next(iter(info.addresses.values()), None) if info.addresses else planned.address
    return ServiceStatus(
        name,
        planned.phase,
        info.state,
        info.health,
        planned.probe.kind,
        observation.ready,
        observation.detail,
        dict(info.ports),
        planned.address or address,
        planned.optional,
    )


def collect_status(workspace: Workspace, engine: Engine) -> list[ServiceStatus]:
    containers = project_containers(engine, workspace.compose.name)
    names = workspace.plan.order()
    on_network = in_container()
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(
            pool.map(lambda n: _one(workspace, engine, n, containers.get(n), on_network), names)
        )
