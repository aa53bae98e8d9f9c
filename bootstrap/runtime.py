"""What bootstrap needs of a container engine, as plain data and small protocols.

No Docker import here: the planner, the probes and the scheduler depend on this module, and
each backend (compose, Swarm) implements it. Callers ask for the protocol they need
(``Inspector``, ``Operator``, ``VolumeStore``); an adapter answers all of them (``Engine``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class ComposeProject:
    """What identifies a compose project: directory, files, name and active profiles.

    ``directory`` is the workspace (files are relative to it); compose's project directory,
    against which the files' relative paths resolve, is the first file's folder, as compose
    itself and the Dev Containers CLI have it (``.devcontainer/docker-compose.yml``)."""

    directory: Path
    files: tuple[str, ...]
    name: str
    profiles: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)  # the full subprocess environment
    env_files: tuple[str, ...] = ()  # handed to compose as --env-file, in order
    # then these: the secret store's values, in a private file (bootstrap.privatefile)
    secret_env_files: tuple[str, ...] = field(default=(), repr=False)

    @property
    def project_directory(self) -> Path:
        return (self.directory / self.files[0]).parent if self.files else self.directory


class State(StrEnum):
    """A container's state as the engine says it (``State.Status``); every comparison with
    one is written with these (a test keeps the literals here)."""

    CREATED = "created"
    RUNNING = "running"
    RESTARTING = "restarting"
    PAUSED = "paused"
    EXITED = "exited"
    REMOVING = "removing"
    DEAD = "dead"


class Health(StrEnum):
    """A container's healthcheck verdict as the engine says it (``State.Health.Status``)."""

    STARTING = "starting"
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"


@dataclass(frozen=True)
class ImageConfig:
    """What a local image's config says of readiness."""

    healthcheck: bool  # a HEALTHCHECK that is not NONE
    exposed: tuple[int, ...]  # its EXPOSEd TCP ports


def tcp_ports(exposed: Mapping[str, object] | None) -> tuple[int, ...]:
    """``{"8080/tcp": {}, "53/udp": {}}`` -> ``(8080,)``, sorted."""
    return tuple(
        sorted(
            int(port.split("/", 1)[0])
            for port in exposed or {}
            if port.endswith("/tcp") and port.split("/", 1)[0].isdigit()
        )
    )


@dataclass(frozen=True)
class ContainerInfo:
    id: str
    name: str
    service: str
    state: str
    project: str = ""  # created, running, exited, restarting, paused, dead
    health: str | None = None  # starting, healthy, unhealthy, or None without a healthcheck
    exit_code: int = 0
    restart_count: int = 0
    config_hash: str = ""
    started_at: str = ""
    ports: Mapping[int, int] = field(default_factory=dict)  # container port -> 127.0.0.1 port
    addresses: Mapping[str, str] = field(default_factory=dict)  # network -> IP
    oom_killed: bool = False
    error: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict, repr=False)  # may hold secrets
    healthcheck_test: tuple[str, ...] = ()  # the effective test, the image's included
    # the TCP ports the container exposes (the image's EXPOSE and the file's expose/ports)
    exposed: tuple[int, ...] = ()
    memory_limit: int = 0  # bytes; 0 when none is set
    image_id: str = ""
    created_at: str = ""  # RFC 3339, as the engine reports it
    image: str = ""  # the image's name as the service asked for it
    health_log: str = ""  # the engine's last healthcheck: exit code and output


@dataclass(frozen=True)
class VolumeInfo:
    name: str
    labels: Mapping[str, str]
    created: str = ""
    project: str = ""  # the compose project (or stack) it belongs to, if any
    cache_kind: str = ""  # uv, pip, npm: one of bootstrap's shared package caches
    identity: str = ""  # set once at creation (a cache's id): tells a recreated volume apart


@dataclass(frozen=True)
class ResourceSample:
    """One reading of a container's use, from the engine's stats API."""

    memory: int  # bytes in use (page cache excluded where the engine says how much)
    memory_peak: int  # the most since start (cgroup v1), or 0 where the engine keeps none
    memory_limit: int  # bytes; the machine's memory when the container has no limit
    cpu: float  # cores used over the engine's last interval (about a second)
    at: float  # time.time() of the reading


@dataclass(frozen=True)
class EngineEvent:
    """A container event: ``action`` is start, die, health_status: healthy, destroy..."""

    container_id: str
    service: str
    action: str
    time: float
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    output: str

    @property
    def not_found(self) -> bool:
        """The command (or the shell to run it) is not in the image: 126/127 or the engine's
        own "executable file not found"."""
        return self.exit_code in (126, 127) or "executable file not found" in self.output


class Inspector(Protocol):
    """Reading the engine: what probes, status, doctor and validation need."""

    def containers(self, project: str, *, inspect: bool = True) -> list[ContainerInfo]: ...
    def project_containers(
        self, project: str, *, inspect: bool = True
    ) -> dict[str, ContainerInfo]: ...
    def container(self, container_id: str) -> ContainerInfo: ...
    def logs(self, container_id: str, tail: int) -> str: ...
    def events(self, project: str, stop: threading.Event) -> Iterator[EngineEvent]: ...
    def networks(self) -> dict[str, list[str]]: ...
    def published_ports(self) -> dict[tuple[str, int], str]: ...
    def image_exists(self, image: str) -> bool: ...
    def image_id(self, image: str) -> str | None: ...
    def image_config(self, image: str) -> ImageConfig | None: ...
    def version(self) -> dict[str, str]: ...
    def ping(self) -> None: ...  # asked now, never remembered: EngineError when it is not there
    def memory(self, container_id: str) -> int: ...
    def usage(self, container_id: str, *, cpu: bool = True) -> ResourceSample: ...
    def capacity(self) -> tuple[int, int]: ...  # (CPUs, memory bytes) of the engine's host
    def root_dir(self) -> str: ...
    def read_file(self, container_id: str, path: str) -> bytes: ...


class Operator(Protocol):
    """Acting on containers: what the driver and the probes' in-container tests need."""

    def start(self, container_id: str) -> None: ...
    def stop(self, container_id: str, timeout: int = 10) -> None: ...
    def exec(
        self,
        container_id: str,
        command: Sequence[str],
        *,
        user: str = "",
        env: Mapping[str, str] | None = None,
    ) -> ExecResult: ...
    def connect_network(self, network: str, container_id: str) -> None: ...
    def run_helper(
        self, image: str, command: Sequence[str], mounts: Mapping[str, str], *, project: str
    ) -> ExecResult: ...
    def remove_helpers(self, project: str) -> list[str]: ...
    def start_probe_helper(self, image: str, network: str, project: str, package: Path) -> str: ...
    def remove_container(self, container_id: str) -> None: ...
    def ensure_image(self, image: str) -> None: ...


class VolumeStore(Protocol):
    """The volumes: caches, reset, snapshots and restore."""

    def volumes(self) -> list[VolumeInfo]: ...
    def create_volume(self, name: str, labels: Mapping[str, str]) -> None: ...
    def create_cache_volume(self, name: str, kind: str) -> None: ...
    def remove_volume(self, name: str) -> None: ...
    def export_volume(self, volume: str, destination: str, *, image: str, project: str) -> None: ...
    def import_volume(self, volume: str, source: str, *, image: str, project: str) -> None: ...
    def volume_users(self, volume: str) -> list[str]: ...
    def volume_sizes(self) -> dict[str, int]: ...


class Engine(Inspector, Operator, VolumeStore, Protocol):
    """Everything an engine adapter answers (the Docker SDK's today)."""


class ModelLoader(Protocol):
    """Where the compose model comes from (``docker compose config`` for compose), and what
    compose warned about while reading it."""

    warnings: tuple[str, ...]
    # the model as the last ``config`` read it (what ``up`` leaves the stack's own supervisor)
    last_document: dict[str, Any] | None

    def config(self, project: ComposeProject) -> dict[str, Any]: ...
    def redact_with(self, redact: Callable[[str], str]) -> None: ...
