"""A fake engine and model loader for unit tests: no Docker."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bootstrap.runtime import (
    ComposeProject,
    ContainerInfo,
    EngineEvent,
    ExecResult,
    ImageConfig,
    ResourceSample,
    VolumeInfo,
)


@dataclass
class FakeEngine:
    infos: list[ContainerInfo] = field(default_factory=list)
    volume_list: list[VolumeInfo] = field(default_factory=list)
    images: dict[str, str] = field(default_factory=dict)  # image -> id
    image_configs: dict[str, ImageConfig] = field(default_factory=dict)  # image -> its config
    sizes: dict[str, int] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    samples: dict[str, ResourceSample] = field(default_factory=dict)  # container id -> use
    helpers_started: list[tuple[str, str]] = field(default_factory=list)  # (image, network)
    machine: tuple[int, int] = (2, 8 * 1024**3)  # (CPUs, memory bytes)

    def containers(self, project: str, *, inspect: bool = True) -> list[ContainerInfo]:
        return [c for c in self.infos if c.project == project]

    def project_containers(self, project: str, *, inspect: bool = True) -> dict[str, ContainerInfo]:
        return {c.service: c for c in sorted(self.containers(project), key=lambda c: c.name)}

    def container(self, container_id: str) -> ContainerInfo:
        return next(c for c in self.infos if c.id == container_id)

    def logs(self, container_id: str, tail: int) -> str:
        return ""

    def events(self, project: str, stop: threading.Event) -> Iterator[EngineEvent]:
        return iter(())

    def networks(self) -> dict[str, list[str]]:
        return {}

    def published_ports(self) -> dict[tuple[str, int], str]:
        return {}

    def image_exists(self, image: str) -> bool:
        return image in self.images

    def image_id(self, image: str) -> str | None:
        return self.images.get(image)

    def image_config(self, image: str) -> ImageConfig | None:
        return self.image_configs.get(image)

    def version(self) -> dict[str, str]:
        return {"engine": "fake", "api": "1.41"}

    def ping(self) -> None:
        pass

    def memory(self, container_id: str) -> int:
        return self.usage(container_id).memory

    def usage(self, container_id: str, *, cpu: bool = True) -> ResourceSample:
        return self.samples.get(container_id) or ResourceSample(0, 0, 0, 0.0, 0.0)

    def capacity(self) -> tuple[int, int]:
        return self.machine

    def root_dir(self) -> str:
        return "/nonexistent"

    def read_file(self, container_id: str, path: str) -> bytes:
        return b""

    def start(self, container_id: str) -> None:
        self.started.append(container_id)

    def stop(self, container_id: str, timeout: int = 10) -> None:
        pass

    def exec(
        self,
        container_id: str,
        command: Sequence[str],
        *,
        user: str = "",
        env: Mapping[str, str] | None = None,
    ) -> ExecResult:
        return ExecResult(0, "")

    def connect_network(self, network: str, container_id: str) -> None:
        pass

    def run_helper(
        self, image: str, command: Sequence[str], mounts: Mapping[str, str], *, project: str
    ) -> ExecResult:
        return ExecResult(0, "")

    def remove_helpers(self, project: str) -> list[str]:
        return []

    def start_probe_helper(self, image: str, network: str, project: str, package: Path) -> str:
        self.helpers_started.append((image, network))
        return f"helper-{len(self.helpers_started)}"

    def remove_container(self, container_id: str) -> None:
        self.removed.append(container_id)

    def ensure_image(self, image: str) -> None:
        pass

    def volumes(self) -> list[VolumeInfo]:
        return list(self.volume_list)

    def create_volume(self, name: str, labels: Mapping[str, str]) -> None:
        self.volume_list.append(VolumeInfo(name, dict(labels)))

    def create_cache_volume(self, name: str, kind: str) -> None:
        self.volume_list.append(VolumeInfo(name, {}, cache_kind=kind, identity=f"id-{name}"))

    def remove_volume(self, name: str) -> None:
        self.removed.append(name)

    def export_volume(self, volume: str, destination: str, *, image: str, project: str) -> None:
        pass

    def import_volume(self, volume: str, source: str, *, image: str, project: str) -> None:
        pass

    def volume_users(self, volume: str) -> list[str]:
        return []

    def volume_sizes(self) -> dict[str, int]:
        return dict(self.sizes)


@dataclass
class FakeLoader:
    """Answers `compose config` with a canned document."""

    document: dict[str, Any]
    asked: list[ComposeProject] = field(default_factory=list)
    redact: Callable[[str], str] = lambda s: s
    warnings: tuple[str, ...] = ()
    last_document: dict[str, Any] | None = None

    def config(self, project: ComposeProject) -> dict[str, Any]:
        self.asked.append(project)
        self.last_document = {"name": project.name or "fromfiles", **self.document}
        return self.last_document

    def redact_with(self, redact: Callable[[str], str]) -> None:
        self.redact = redact


def workspace(directory: Any, services: dict[str, Any], *, project: str = "shop", **kw: Any) -> Any:
    """A loaded workspace over a canned compose model (no compose, no engine)."""
    from bootstrap.workspace import load_workspace

    (directory / "compose.yaml").write_text("services: {}\n")
    loader = FakeLoader({"services": services, **kw})
    return load_workspace(directory, project=project, loader=loader, environ={})
