"""The Swarm backend: the same plan, deployed to Docker Swarm phase by phase.

Swarm has no ordering of its own (``depends_on`` is ignored, and ``docker stack deploy
--detach=false`` waits for everything at once). bootstrap's scheduler keeps the order: a
service is deployed only when what it waits for is ready, and it is ready when every replica's
task runs and answers its probe from a helper on the stack's network.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from bootstrap.backends import AS_IS, Capability, Creating
from bootstrap.backends.composecli import ComposeCLI
from bootstrap.errors import ConfigError, EngineError

if TYPE_CHECKING:
    from bootstrap.backends.docker import DockerEngine
    from bootstrap.backends.swarm.driver import SwarmDriver
    from bootstrap.backends.swarm.engine import SwarmServices
    from bootstrap.runtime import ComposeProject, ModelLoader
    from bootstrap.scheduler import Outcome, Reporter
    from bootstrap.status import ServiceStatus
    from bootstrap.supervise import EventSource, Probing
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


class SwarmBackend:
    """A peer of the compose backend, by composition: compose's CLI loads the model (and says
    its version), the shared Docker plumbing reads this node's task containers with Swarm's
    vocabulary, Swarm's own API deploys and watches the services."""

    name = "swarm"

    def __init__(self) -> None:
        self.recording = RecordingCLI()
        self._engine: DockerEngine | None = None
        self._swarm: SwarmServices | None = None

    @property
    def engine(self) -> DockerEngine:
        """Connected on first use (``plan --offline`` never connects)."""
        if self._engine is None:
            from bootstrap.backends.docker import DockerEngine
            from bootstrap.backends.swarm.labels import STACK

            self._engine = DockerEngine.from_env(STACK)
        return self._engine

    @property
    def swarm(self) -> SwarmServices:
        if self._swarm is None:
            from bootstrap.backends.swarm.engine import SwarmServices

            self._swarm = SwarmServices(self.engine)
        return self._swarm

    @property
    def loader(self) -> ModelLoader:
        return self.recording

    def warm_up(
        self,
        *,
        engine: bool = True,
        also: Sequence[str] = (),
        checks: bool = False,
        rules: bool = True,
    ) -> None:
        from bootstrap.backends.warmup import import_what_follows

        # no config hashes: Swarm compares its own specs
        self.recording.meanwhile = functools.partial(
            import_what_follows, engine=engine, also=also, rules=rules
        )

    def prepare(self, workspace: Workspace) -> None:
        if not self.swarm.swarm_active():
            raise EngineError("this engine is not part of a swarm", hint=NOT_A_SWARM)
        if workspace.settings.swarm_resolve_image != "never":
            from bootstrap.backends.swarm.stackfile import service_images

            pushed_later = bool(workspace.settings.swarm_registry)  # built, then pushed by up
            images = service_images(self._document(), workspace.plan, built_too=not pushed_later)
            self.swarm.check_images(images)

    def versions_seen(self) -> dict[str, str]:
        found = self.recording.seen_version
        return {"compose": ".".join(map(str, found))} if found else {}

    def tool_version(self, workspace: Workspace) -> tuple[tuple[int, ...], tuple[int, ...]]:
        from bootstrap.backends.composecli import MINIMUM_VERSION

        return self.recording.version(dict(workspace.compose.env)), MINIMUM_VERSION

    lacks: ClassVar[Mapping[Capability, str]] = {
        Capability.RESET: "a stack's named volumes live on every node that ran one of its "
        "tasks, and this engine sees only its own: remove them per node (`docker volume rm`), "
        "after `bootstrap --backend swarm down`",
        Capability.RESTORE: "snapshots are of volumes on one engine; a stack's volumes are "
        "per node",
        Capability.CACHE: "the package caches are volumes of one engine; on a swarm each "
        "node has its own, created where a task first mounts it",
        Capability.STATS: "the engine's stats are per node: `docker stats` on each node",
        Capability.DOWN_VOLUMES: "a stack's named volumes live on every node that ran one of its "
        "tasks: remove them per node (`docker volume rm`) after `bootstrap --backend swarm "
        "down`",
        Capability.SUPERVISE_IN_STACK: "a supervisor container acts on one engine's containers; on "
        "a swarm run `bootstrap --backend swarm supervise` where the manager is reachable",
        Capability.FORCE_RECREATE: "a stack deploy replaces the tasks whose spec changed; "
        "`docker service update --force SERVICE` replaces one service's tasks",
    }

    def engine_findings(self, workspace: Workspace) -> list[Finding]:
        from bootstrap.backends.swarm.stackfile import placement_findings

        if not self.swarm.swarm_active():
            return []  # said by prepare, with the fix
        nodes = self.swarm.nodes()
        return placement_findings(self._document(), workspace.plan, len(nodes))

    def supports(self, capability: Capability) -> bool:
        return capability not in self.lacks

    def status(
        self, workspace: Workspace, selected: frozenset[str] | None = None, *, live: bool = False
    ) -> list[ServiceStatus]:
        """Every service's tasks now (``live`` or not: nothing of a task is kept)."""
        from bootstrap.backends.swarm.status import swarm_status

        return swarm_status(workspace, self.swarm, selected)

    def supervision(
        self, workspace: Workspace, reporter: Reporter, *, in_stack: bool = False
    ) -> Probing:
        from bootstrap.backends.swarm.supervision import SwarmProbing

        driver = self._driver(workspace, reporter, None)
        return SwarmProbing(driver, dict(workspace.compose.env))

    def supervision_events(self, workspace: Workspace) -> EventSource:
        from bootstrap.backends.swarm.stackfile import stack_name
        from bootstrap.backends.swarm.supervision import SwarmTaskEvents

        stack = stack_name(workspace.plan.project)
        return SwarmTaskEvents(self.swarm, stack, tuple(workspace.plan.order()))

    def findings(self, workspace: Workspace) -> list[Finding]:
        from bootstrap.backends.swarm.stackfile import swarm_findings

        return swarm_findings(self._document(), workspace.plan, workspace.settings.swarm_registry)

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
        creating: Creating = AS_IS,  # --build: built ones are built (swarm_registry)
    ) -> Outcome:
        from bootstrap.scheduler import Event, RunEvent, Scheduler

        began = time.monotonic()
        self.recording.keep_answers()
        settings = workspace.settings
        driver = self._driver(workspace, reporter, timeout)
        if settings.swarm_registry:
            self._push_built(workspace, reporter)
        reporter(Event("", RunEvent.NOTE, f"deploying stack {driver.stack} on Swarm", time.time()))
        try:
            return Scheduler(workspace.plan, driver, reporter, began=began, cancel=cancel).run()
        finally:
            driver.close()

    def _driver(
        self, workspace: Workspace, reporter: Reporter, timeout: float | None
    ) -> SwarmDriver:
        from bootstrap.backends.swarm.driver import SwarmDriver
        from bootstrap.backends.swarm.stackfile import SwarmOptions

        settings = workspace.settings
        options = SwarmOptions(
            endpoint_mode=settings.swarm_endpoint_mode,
            publish_mode=settings.swarm_publish_mode,
            resolve_image=settings.swarm_resolve_image,
        )
        return SwarmDriver(
            workspace,
            self.engine,
            self.swarm,
            self._document(),
            options,
            timeout if timeout is not None else settings.probe_timeout,
            reporter,
            settings.helper_image,
            dict(workspace.compose.env),
        )

    def _push_built(self, workspace: Workspace, reporter: Reporter) -> None:
        """Build the services compose builds, push them to ``swarm_registry`` and deploy
        them from there (every node pulls the same image)."""
        from bootstrap.backends.swarm.stackfile import built_services, registry_image
        from bootstrap.scheduler import Event, RunEvent

        document = self._document()
        built = built_services(document, workspace.plan)
        if not built:
            return
        registry = workspace.settings.swarm_registry
        reporter(Event("", RunEvent.NOTE, f"building {', '.join(built)}", time.time()))
        self.recording.build(workspace.compose, built)
        for name in built:
            spec = document["services"][name]
            local = str(spec.get("image") or f"{workspace.compose.name}-{name}")
            target = registry_image(registry, local)
            self.swarm.push(local, target)
            spec["image"] = target
            reporter(Event(name, RunEvent.NOTE, f"pushed {target}", time.time()))

    def down(
        self,
        workspace: Workspace,
        say: Callable[[str], None],
        stopping: Callable[[], bool] = lambda: False,
        *,
        volumes: bool = False,  # refused before: `down --volumes` is unsupported here
    ) -> list[str]:
        from bootstrap.backends.swarm.teardown import remove_in_reverse_order

        return remove_in_reverse_order(workspace, self.engine, self.swarm, say, stopping)

    def logs(self, workspace: Workspace, services: Sequence[str], follow: bool, tail: str) -> int:
        """``docker service logs`` of every service asked for, at once: with ``follow``, their
        lines merged as they come (one reader per service), as compose's logs are."""
        import subprocess
        import sys

        from bootstrap.backends.swarm.stackfile import stack_name

        stack = stack_name(workspace.plan.project)
        names = list(services) or list(workspace.plan.order())
        args = ["docker", "service", "logs", "--tail", tail, *(["-f"] if follow else [])]
        processes = [
            subprocess.Popen(
                [*args, f"{stack}_{name}"],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                bufsize=1,
            )
            for name in names
        ]
        lock = threading.Lock()

        def pump(process: subprocess.Popen[str]) -> None:
            assert process.stdout is not None
            for line in process.stdout:
                with lock:
                    sys.stdout.write(line)
                    sys.stdout.flush()

        readers = [threading.Thread(target=pump, args=(p,), daemon=True) for p in processes]
        for reader in readers:
            reader.start()
        try:
            codes = [process.wait() for process in processes]
        except KeyboardInterrupt:
            for process in processes:
                process.terminate()
            return 0
        for reader in readers:
            reader.join(timeout=2)
        return next((code for code in codes if code), 0)
