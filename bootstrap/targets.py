"""Where and how to probe one service's container: shared by ``up`` and ``status``."""

from __future__ import annotations

from bootstrap.model import Healthcheck, Service
from bootstrap.plan import PlannedService
from bootstrap.probes import EngineContainer, Probe, Target, make_probe
from bootstrap.probes.core import Guessed
from bootstrap.probes.docker import WithHealthcheck
from bootstrap.probes.registry import HEALTHCHECK, RUNNING, TCP, Rests, is_job, rests_on
from bootstrap.probes.spec import ProbeSpec
from bootstrap.reach import resolvable
from bootstrap.runtime import ContainerInfo, Engine
from bootstrap.watch import ContainerWatch


def exposed_ports(service: Service) -> list[int]:
    """The container ports a probe without a ``port`` parameter tries: the published ones'
    targets, else the ``discovery.port`` label's."""
    exposed = [p.target for p in service.ports]
    if not exposed and service.label("discovery.port").isdigit():
        exposed = [int(service.label("discovery.port"))]
    return exposed


def effective_healthcheck(service: PlannedService, info: ContainerInfo) -> Healthcheck | None:
    """The compose file's healthcheck, else the image's (as the container carries it); None
    when there is none or it is disabled."""
    declared = service.service.healthcheck
    if declared is not None:
        return None if declared.disabled or not declared.test else declared
    if info.healthcheck_test and info.healthcheck_test[0] != "NONE":
        return Healthcheck(test=info.healthcheck_test)
    return None


def target_and_probe(
    service: PlannedService,
    info: ContainerInfo,
    engine: Engine,
    watch: ContainerWatch,
    on_network: bool,
) -> tuple[Target, Probe]:
    """Where and how to probe one service's container (shared by ``up`` and ``status``).

    The container's effective healthcheck (the image's included) backs the compose one; a
    service with no other signal but such a healthcheck is gated on it.
    """
    healthcheck = effective_healthcheck(service, info)
    dns = service.name if on_network and resolvable(service.name) else None
    target = Target(
        service.name,
        container=EngineContainer(engine, info.id),
        watch=watch,
        container_id=info.id,
        ports=dict(info.ports),
        dns_name=dns,
        dns_candidate=service.name if on_network and dns is None else None,
        healthcheck=healthcheck,
        restart_policy=service.service.restart,
    )
    exposed = exposed_ports(service.service)
    spec = service.probe
    if spec.kind == RUNNING and healthcheck is not None:
        spec = ProbeSpec(HEALTHCHECK, spec.params, "the image defines a healthcheck")
    elif spec.kind == RUNNING and not spec.ordered and info.exposed:
        # the file says nothing of a port; the image does (EXPOSE): the server is up when
        # that port accepts a connection (a guess: where it cannot be tried, or never
        # accepts, it is "running", as compose has it)
        port = info.exposed[0]
        why = f"the image exposes {port}: ready when it accepts a connection"
        spec = ProbeSpec(TCP, {"port": port}, why, guessed=True)
    probe = make_probe(spec, exposed=exposed)
    if spec.recognised:
        probe = Guessed(probe)  # bootstrap's guess never fails what compose calls ready
    if (
        healthcheck is not None
        and rests_on(spec.kind) is not Rests.HEALTH
        and not is_job(spec.kind)
    ):
        probe = WithHealthcheck(probe)  # the user's own healthcheck must pass too
    return target, probe


def network_only_port(service: PlannedService, probe: Probe, target: Target) -> int | None:
    """The port of a probe that can only ask over the network (no way in through the
    container) when that port is not reachable from here; None when it can be asked here."""
    from bootstrap.probes import kind as kind_of

    inner = probe.probe if isinstance(probe, WithHealthcheck) else probe
    inner = inner.probe if isinstance(inner, Guessed) else inner
    port = getattr(inner, "port", None)
    found = kind_of(service.probe.kind)
    if (
        found is None
        or found.needs_container
        or found.in_container
        or not isinstance(port, int)
        or target.endpoint(port) is not None
    ):
        return None
    return port
