"""The Swarm backend: the same plan, deployed to Docker Swarm phase by phase.

Swarm has no ordering of its own (``depends_on`` is ignored, and ``docker stack deploy
--detach=false`` waits for everything at once). bootstrap's scheduler keeps the order: a
service is deployed only when what it waits for is ready, and it is ready when every replica's
task runs and answers its probe from a helper on the stack's network.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

from bootstrap.backends.compose import ComposeBackend
from bootstrap.backends.compose.cli import ComposeCLI
from bootstrap.errors import ConfigError, EngineError

if TYPE_CHECKING:
    from bootstrap.backends.swarm.engine import SwarmEngine
    from bootstrap.runtime import ComposeProject, Engine
    from bootstrap.scheduler import Outcome, Reporter
    from bootstrap.validate import Finding
    from bootstrap.workspace import Workspace

NOT_A_SWARM = "make this engine a swarm manager (`docker swarm init`), or use --backend compose"


class RecordingCLI(ComposeCLI):
    """Compose's CLI as the loader, keeping the normalised document it read: the stack file
    is made from it (profiles, interpolation and the env layers already resolved)."""

    document: dict[str, Any] | None = None

    def config(self, project: ComposeProject) -> dict[str, Any]:
        self.document = super().config(project)
        return self.document


class SwarmBackend(ComposeBackend):
    """Compose's loader and its version checks; Swarm's engine, bring-up and teardown."""

    name = "swarm"

    def __init__(self) -> None:
        super().__init__()
        self.recording = RecordingCLI()
        self.cli = self.recording

    def _make_engine(self) -> Engine:
        from bootstrap.backends.swarm.engine import SwarmEngine

        return SwarmEngine()

    @property
    def swarm(self) -> SwarmEngine:
        return cast("SwarmEngine", self.engine)

    def warm_up(self) -> None:
        from bootstrap.backends.compose import warm_engine_import

        warm_engine_import()  # no config hashes: Swarm compares its own specs

    def prepare(self, workspace: Workspace) -> None:
        if not self.swarm.swarm_active():
            raise EngineError("this engine is not part of a swarm", hint=NOT_A_SWARM)

    def findings(self, workspace: Workspace) -> list[Finding]:
        from bootstrap.backends.swarm.stackfile import swarm_findings

        return swarm_findings(self._document(), workspace.plan)

    def _document(self) -> dict[str, Any]:
        if self.recording.document is None:
            raise ConfigError("the compose model was not loaded", location="swarm backend")
        return self.recording.document

    def up(
        self,
        workspace: Workspace,
        reporter: Reporter,
        *,
        timeout: float | None,
        join_network: bool,
        cancel: threading.Event,
    ) -> Outcome:
        from bootstrap.backends.swarm.driver import SwarmDriver
        from bootstrap.backends.swarm.stackfile import SwarmOptions
        from bootstrap.scheduler import Event, Scheduler

        began = time.monotonic()
        settings = workspace.settings
        options = SwarmOptions(
            endpoint_mode=settings.swarm_endpoint_mode,
            publish_mode=settings.swarm_publish_mode,
            resolve_image=settings.swarm_resolve_image,
        )
        driver = SwarmDriver(
            workspace,
            self.swarm,
            self._document(),
            options,
            timeout if timeout is not None else settings.probe_timeout,
            reporter,
            settings.swarm_probe_image,
            dict(workspace.compose.env),
        )
        reporter(Event("", "note", f"deploying stack {driver.stack} on Swarm", time.time()))
        try:
            return Scheduler(workspace.plan, driver, reporter, began=began, cancel=cancel).run()
        finally:
            driver.close()

    def down(self, workspace: Workspace, say: Callable[[str], None]) -> list[str]:
        from bootstrap.backends.swarm.teardown import remove_in_reverse_order

        return remove_in_reverse_order(workspace, self.swarm, say)

    def logs(self, workspace: Workspace, services: Sequence[str], follow: bool, tail: str) -> int:
        import subprocess

        from bootstrap.backends.swarm.stackfile import stack_name

        stack = stack_name(workspace.plan.project)
        names = list(services) or list(workspace.plan.order())
        code = 0
        for name in names:
            args = ["docker", "service", "logs", "--tail", tail, f"{stack}_{name}"]
            code = (
                code or subprocess.run([*args, *(["-f"] if follow else [])], check=False).returncode
            )
        return code
