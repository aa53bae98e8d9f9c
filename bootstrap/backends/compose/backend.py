"""The compose backend: compose creates, bootstrap starts and probes through the Docker SDK."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING

from bootstrap.backends import AS_IS, Capability, Creating
from bootstrap.backends.composecli import MINIMUM_VERSION, ComposeCLI

# The oldest Compose seen refusing a healthcheck's start_interval without start_period (at
# create; 2.40.3 and 5.6.1 do, 2.20.3 does not): from it on, validation refuses it first.
REFUSES_START_INTERVAL_ALONE = (2, 40)

if TYPE_CHECKING:
    from bootstrap.later import Later
    from bootstrap.runtime import Engine, ModelLoader
    from bootstrap.scheduler import Outcome, Reporter
    from bootstrap.status import ServiceStatus
    from bootstrap.supervise import EventSource, Probing
    from bootstrap.validate import Finding
    from bootstrap.workspace import Workspace


class ComposeBackend:
    name = "compose"

    def __init__(self) -> None:
        self.cli = ComposeCLI()
        self._engine: Engine | None = None
        self._connecting: Later[Engine] | None = None
        self._hashes: Later[dict[str, str]] | None = None

    @property
    def engine(self) -> Engine:
        """Connected on first use (one client for the whole run), or by ``warm_up``'s thread
        while compose read the files; its failure (no engine) is raised here, to the caller
        that needs the engine."""
        if self._engine is None:
            connecting = self._connecting
            self._engine = connecting.result() if connecting else self._make_engine()
        return self._engine

    def _make_engine(self, *, read_ahead: bool = False) -> Engine:
        from bootstrap.backends.compose.labels import COMPOSE
        from bootstrap.backends.docker import DockerEngine

        engine = DockerEngine.from_env(COMPOSE)
        if read_ahead:
            engine.read_ahead()
        return engine

    @property
    def loader(self) -> ModelLoader:
        return self.cli

    def warm_up(
        self,
        *,
        engine: bool = True,
        also: Sequence[str] = (),
        checks: bool = False,
        rules: bool = True,
    ) -> None:
        """Import the rules and connect to the engine (and, for ``checks``, ask it what its
        checks ask whatever the model: ``DockerEngine.read_ahead``) in threads while compose
        reads the files."""
        from bootstrap.backends.warmup import import_what_follows
        from bootstrap.later import Later

        self.cli.meanwhile = functools.partial(
            import_what_follows, engine=False, also=also, rules=rules
        )
        if engine and self._engine is None and self._connecting is None:
            self._connecting = Later(functools.partial(self._make_engine, read_ahead=checks))

    def prepare(self, workspace: Workspace) -> None:
        """Ask compose for its config hashes in the background, where there are containers
        to compare them with (a re-run); a first start needs none, and on two cores the
        question would slow it down."""
        from bootstrap.backends.compose.driver import hashes_in_background

        if self.engine.containers(workspace.compose.name, inspect=False):
            self._hashes = hashes_in_background(workspace, self.cli)

    def up(
        self,
        workspace: Workspace,
        reporter: Reporter,
        *,
        timeout: float | None,
        join_network: bool,
        cancel: threading.Event,
        creating: Creating = AS_IS,
    ) -> Outcome:
        from bootstrap.backends.compose.driver import bring_up

        self.cli.keep_answers()
        return bring_up(
            workspace,
            self.engine,
            self.cli,
            reporter,
            timeout=timeout,
            join_network=join_network,
            hashes=self._hashes,
            cancel=cancel,
            creating=creating,
        )

    def down(
        self,
        workspace: Workspace,
        say: Callable[[str], None],
        stopping: Callable[[], bool] = lambda: False,
        *,
        volumes: bool = False,
    ) -> list[str]:
        from bootstrap.backends.compose.teardown import stop_in_reverse_order

        stopped = stop_in_reverse_order(
            workspace,
            self.engine,
            say,
            stopping,
            by_compose=lambda names: self.cli.stop(workspace.compose, names),
        )
        if not stopping():
            if not self.cli.every_profile:
                # compose's down cannot name the services of the profiles it could not read:
                # their containers (stopped above) are removed here, so its networks can go
                known = set(workspace.stack.services)
                for info in self.engine.containers(workspace.compose.name, inspect=False):
                    if info.service not in known:
                        self.engine.remove_container(info.id)
            self.cli.down(workspace.compose, volumes=volumes)
        return stopped

    def logs(self, workspace: Workspace, services: Sequence[str], follow: bool, tail: str) -> int:
        return self.cli.logs(workspace.compose, services, follow, tail)

    def versions_seen(self) -> dict[str, str]:
        found = self.cli.seen_version
        return {"compose": ".".join(map(str, found))} if found else {}

    def tool_version(self, workspace: Workspace) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return self.cli.version(dict(workspace.compose.env)), MINIMUM_VERSION

    def findings(self, workspace: Workspace) -> list[Finding]:
        from bootstrap.backends.composecli import NEWEST_TESTED
        from bootstrap.validate import Finding, Severity

        found = self.cli.seen_version
        refusals = []
        if found and tuple(found[:2]) >= REFUSES_START_INTERVAL_ALONE:
            from bootstrap.validate import check_start_intervals

            refusals = check_start_intervals(workspace.plan)
        if not found or tuple(found[:2]) <= NEWEST_TESTED:
            return refusals
        return [
            *refusals,
            Finding(
                Severity.NOTICE,
                "docker compose",
                f"Docker Compose {'.'.join(map(str, found))} is newer than any this bootstrap "
                f"was tested with ({'.'.join(map(str, NEWEST_TESTED))}.x)",
                "it is used as it is; if something differs from `docker compose up --wait`, "
                "report it",
                "compose-untested",
            ),
        ]

    def engine_findings(self, workspace: Workspace) -> list[Finding]:
        return []  # the engine's checks are preflight's, the same for every backend

    lacks: Mapping[Capability, str] = MappingProxyType({})  # it does everything

    def supports(self, capability: Capability) -> bool:
        return capability not in self.lacks

    def status(
        self, workspace: Workspace, selected: frozenset[str] | None = None, *, live: bool = False
    ) -> list[ServiceStatus]:
        from bootstrap.backends.compose.status import collect_status

        return collect_status(workspace, self.engine, selected, live=live)

    def supervision(
        self, workspace: Workspace, reporter: Reporter, *, in_stack: bool = False
    ) -> Probing:
        from bootstrap.backends.compose.supervision import supervision_probing

        return supervision_probing(
            workspace, self.engine, None if in_stack else self.cli, reporter, in_stack=in_stack
        )

    def supervision_events(self, workspace: Workspace) -> EventSource:
        return self.engine
