"""The one place a backend is chosen. Everything after this talks to ``Backend``.

A backend answers the engine protocols (``runtime.Engine``), loads the compose model, brings
a workspace up phase by phase and takes it down. Two are peers: compose (``backends/compose/``:
the compose CLI, compose's labels, its stop order) and Swarm (``backends/swarm/``: the stack
file, Swarm's API and labels, its teardown); the Docker plumbing they share is
``backends/docker.py`` (the SDK adapter, typed errors) and ``backends/probehelper.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from bootstrap.errors import ConfigError

if TYPE_CHECKING:
    from bootstrap.runtime import Engine, ModelLoader
    from bootstrap.scheduler import Outcome, Reporter
    from bootstrap.status import ServiceStatus
    from bootstrap.supervise import EventSource, Probing
    from bootstrap.validate import Finding
    from bootstrap.workspace import Workspace

# name -> "module:class": the one table of backends; `select_backend` is the one call site.
BACKENDS = {
    "compose": "bootstrap.backends.compose.backend:ComposeBackend",
    "swarm": "bootstrap.backends.swarm.backend:SwarmBackend",
}
Say = Callable[[str], None]


@dataclass(frozen=True)
class Creating:
    """How ``up`` creates containers, in compose's words (``up --build``, ``--force-recreate``,
    ``--remove-orphans``)."""

    build: bool = False
    force_recreate: bool = False
    remove_orphans: bool = False
    # the services named on the command line: --build and --force-recreate are theirs, what
    # they depend on is created as compose would (as `docker compose up --force-recreate web`)
    targets: tuple[str, ...] = ()

    def compose_flags(self) -> tuple[str, ...]:
        chosen = (
            (self.build, "--build"),
            (self.force_recreate, "--force-recreate"),
            (self.remove_orphans, "--remove-orphans"),
        )
        return tuple(flag for wanted, flag in chosen if wanted)


AS_IS = Creating()  # compose's own decision: create what is missing, recreate what changed


class Capability(StrEnum):
    """What a command needs of a backend beyond bringing a stack up and down (the value is
    the command as a user types it). A backend lists those it lacks, with what to do instead;
    the type checker sees a misspelt one."""

    SUPERVISE = "supervise"
    SUPERVISE_IN_STACK = "supervise --in-stack"
    RESET = "reset"
    RESTORE = "restore"
    CACHE = "cache"
    STATS = "stats"
    DOWN_VOLUMES = "down --volumes"
    FORCE_RECREATE = "up --force-recreate"


class Backend(Protocol):
    name: str

    @property
    def engine(self) -> Engine:
        """The engine, connected on first use (``plan --offline`` never connects)."""
        ...

    @property
    def loader(self) -> ModelLoader: ...

    def warm_up(
        self,
        *,
        engine: bool = True,
        also: Sequence[str] = (),
        checks: bool = False,
        rules: bool = True,
    ) -> None:
        """A command is coming (called before the workspace loads): start in the background
        what it will need and does not depend on the workspace's model (``engine``: the
        engine's client too; ``also``: modules the command imports once it has the model;
        ``checks``: the engine's checks follow the model, so their questions may be asked
        ahead; ``rules``: the validation rules, which ``status`` does not run)."""
        ...

    def prepare(self, workspace: Workspace) -> None:
        """Start what ``up`` will need later in the background (validation runs meanwhile)."""
        ...

    def up(
        self,
        workspace: Workspace,
        reporter: Reporter,
        *,
        timeout: float | None,
        join_network: bool,
        cancel: threading.Event,
        creating: Creating = AS_IS,
    ) -> Outcome: ...

    def down(
        self,
        workspace: Workspace,
        say: Say,
        stopping: Callable[[], bool] = lambda: False,
        *,
        volumes: bool = False,
    ) -> list[str]:
        """Stop and remove in reverse phase order; ``stopping`` (SIGTERM) ends it between
        two phases, what is still up staying up; ``volumes``: compose's ``down --volumes``
        (the named volumes the files declare, and anonymous ones)."""
        ...

    def logs(
        self, workspace: Workspace, services: Sequence[str], follow: bool, tail: str
    ) -> int: ...

    def versions_seen(self) -> dict[str, str]:
        """Versions of its tools it has already learnt (no extra call), for the run record."""
        ...

    def tool_version(self, workspace: Workspace) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(the tool's version, the oldest it supports): compose's, for doctor."""
        ...

    def findings(self, workspace: Workspace) -> list[Finding]:
        """What this backend cannot do with the workspace, found before anything starts."""
        ...

    def engine_findings(self, workspace: Workspace) -> list[Finding]:
        """What only its engine can tell (a swarm's nodes, say); may raise EngineError."""
        ...

    lacks: Mapping[Capability, str]  # what it cannot do, and what to do instead

    def supports(self, capability: Capability) -> bool: ...

    def status(
        self, workspace: Workspace, selected: frozenset[str] | None = None, *, live: bool = False
    ) -> list[ServiceStatus]:
        """Every service now (``status``), read-only: no container started, nothing written;
        a probe's pass seen since the container started may stand for asking it again, unless
        ``live`` (``status --probe``)."""
        ...

    def supervision(
        self, workspace: Workspace, reporter: Reporter, *, in_stack: bool = False
    ) -> Probing:
        """The supervisor's hands: re-gate, restart, the containers now (``supervise``);
        ``in_stack``: from a service of the stack, with no compose CLI and no helpers."""
        ...

    def supervision_events(self, workspace: Workspace) -> EventSource:
        """What the supervisor follows: the engine's container events on compose, the
        manager's tasks told as the same events on Swarm."""
        ...


def refuse_unsupported(backend: Backend, capability: Capability) -> None:
    """Exit 2, naming what the backend cannot do, before anything is touched."""
    why = backend.lacks.get(capability)
    if why is not None:
        command = capability.value
        raise ConfigError(
            f"`{command}` does not work with the {backend.name} backend: {why}",
            location="--backend",
            hint=f"use --backend compose for `{command}`, or do it by hand as said",
        )


def select_backend(name: str = "compose") -> Backend:
    """The backend named by ``--backend`` (compose, the default, or swarm), from the table."""
    target = BACKENDS.get(name)
    if target is not None:
        import importlib

        module, attr = target.split(":")
        factory: Callable[[], Backend] = getattr(importlib.import_module(module), attr)
        return factory()
    raise ConfigError(
        f"unknown backend {name!r}",
        location="--backend",
        hint=f"backends: {', '.join(BACKENDS)}",
    )
