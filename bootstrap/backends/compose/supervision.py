"""The supervisor's hands on compose: the driver's probes and starts (compose's own start
where it runs hooks or copies files in), the engine's stop (compose's where a pre_stop hook
runs first)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bootstrap.backends.compose.driver import DockerDriver
from bootstrap.backends.composecli import ComposeCLI
from bootstrap.backends.probehelper import ProbeHelper
from bootstrap.frozen import GateNotes
from bootstrap.plan import PlannedService
from bootstrap.reach import in_container
from bootstrap.runtime import ContainerInfo, Engine, EngineEvent
from bootstrap.scheduler import Reporter
from bootstrap.watch import ContainerWatch
from bootstrap.workspace import Workspace


@dataclass
class ComposeProbing:
    """The supervisor's hands on compose: the driver's probes and starts, the engine's stop."""

    driver: DockerDriver

    def wait_ready(self, service: PlannedService, cancelled: Callable[[], bool]) -> bool:
        return self.driver.wait_ready(service, cancelled).ready

    def restart(self, service: PlannedService) -> None:
        """Stop, then start as ``up`` starts it: through compose where compose runs hooks
        (``pre_stop`` before the stop; ``pre_start``/``post_start`` at the start, by the
        compose version's own rules), else through the engine."""
        compose = self.driver.compose
        if service.service.stopped_by_compose and compose is not None:
            compose.stop(self.driver.workspace.compose, [service.name])
        else:
            grace = max(0, round(service.service.stop_grace))
            for info in self.driver.replicas_of(service):
                self.driver.engine.stop(info.id, grace)
        self.refresh()
        self.driver.start(service)

    def refresh(self) -> dict[str, ContainerInfo]:
        fresh = self.driver.engine.project_containers(self.driver.workspace.compose.name)
        self.driver.containers.clear()
        self.driver.containers.update(fresh)
        return fresh

    def observe(self, event: EngineEvent) -> None:
        self.driver.watch.apply(event)

    def forget(self) -> None:
        self.driver.watch = ContainerWatch()  # re-seeded from inspect at the next probe

    def close(self) -> None:
        if self.driver.helper is not None:
            self.driver.helper.close()


def supervision_probing(
    workspace: Workspace,
    engine: Engine,
    compose: ComposeCLI | None,
    reporter: Reporter,
    *,
    in_stack: bool = False,
) -> ComposeProbing:
    """A driver for the supervisor: the same probes and starts as ``up``'s. In the stack
    (``in_stack``) its proxy allows no create: no probe helper, probes by name on the
    networks it shares, starts through the API (no compose)."""
    watch = ContainerWatch()
    driver = DockerDriver(
        workspace,
        engine,
        watch,
        engine.project_containers(workspace.compose.name),
        workspace.settings.probe_timeout,
        on_network=in_stack or in_container(),
        compose=compose,
        helper=None
        if in_stack
        else ProbeHelper(engine, workspace.settings.helper_image, workspace.compose.name),
        report=reporter,
        gates=GateNotes(workspace.directory, workspace.compose.name),
    )
    return ComposeProbing(driver)
