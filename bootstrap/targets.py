"""Where and how to probe one service's container: shared by ``up`` and ``status``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from bootstrap.model import Healthcheck, Service
from bootstrap.plan import Plan, PlannedService
from bootstrap.probes import EngineContainer, Probe, Target, make_probe
from bootstrap.probes.core import Guessed
from bootstrap.probes.docker import WithHealthcheck
from bootstrap.probes.registry import HEALTHCHECK, RUNNING, TCP, Rests, is_job, rests_on
from bootstrap.probes.spec import ProbeSpec
from bootstrap.runtime import ContainerInfo, Engine, ImageConfig
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


def what_the_image_says(spec: ProbeSpec, *, healthcheck: bool, exposed: Sequence[int]) -> ProbeSpec:
    """The probe where the file gives none ("running") and the image's config does: its
    HEALTHCHECK gates the service; else a port it EXPOSEs is up when it accepts a connection
    (a guess: where it cannot be tried, or never accepts, it is "running", as compose has
    it). The one rule for ``up`` (from the container) and ``plan`` (from a local image)."""
    if spec.kind != RUNNING:
        return spec
    if healthcheck:
        why = "the image defines a healthcheck"
        return ProbeSpec(HEALTHCHECK, spec.params, why, from_image=True)
    if not spec.ordered and exposed:
        port = exposed[0]
        why = f"the image exposes {port}: ready when it accepts a connection"
        return ProbeSpec(TCP, {"port": port}, why, guessed=True, from_image=True)
    return spec


def with_image_configs(plan: Plan, config_of: Callable[[str], ImageConfig | None]) -> Plan:
    """The plan with what local images say (``plan`` without ``--offline``): a service the
    file leaves at "running" gets its image's healthcheck or exposed port, as ``up`` will
    give it once the container exists. An image not here changes nothing."""
    services = dict(plan.services)
    asked: dict[str, ImageConfig | None] = {}  # one question per image, however many use it
    for name, planned in plan.services.items():
        if planned.probe.kind != RUNNING or not planned.service.image:
            continue
        image = planned.service.image
        if image not in asked:
            asked[image] = config_of(image)
        config = asked[image]
        if config is None:
            continue
        declared = planned.service.healthcheck
        disabled = declared is not None and (declared.disabled or not declared.test)
        spec = what_the_image_says(
            planned.probe,
            healthcheck=config.healthcheck and not disabled,
            exposed=config.exposed,
        )
        if spec is not planned.probe:
            services[name] = replace(planned, probe=spec)
    return replace(plan, services=services)


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
    target = Target(
        service.name,
        container=EngineContainer(engine, info.id),
        watch=watch,
        container_id=info.id,
        ports=dict(info.ports),
        # looked up when a probe first dials a port (``Target.endpoint``): a healthcheck, an
        # exec or the container's life never waits on the name's lookup (up to 0.5 s where
        # the resolver is slow, measured in a dev container on a no-op re-run)
        dns_candidate=service.name if on_network else None,
        healthcheck=healthcheck,
        restart_policy=service.service.restart,
    )
    exposed = exposed_ports(service.service)
    spec = what_the_image_says(
        service.probe, healthcheck=healthcheck is not None, exposed=info.exposed
    )
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
