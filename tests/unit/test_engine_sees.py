"""Whether the engine sees the workspace, told by the project's running containers (a bind-
mounted file read back through the archive API) before any helper container is started."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bootstrap.errors import NoSuchObject
from bootstrap.preflight import seen_through_running_containers
from bootstrap.runtime import ContainerInfo

from .fakes import FakeEngine, workspace


@dataclass
class ArchiveEngine(FakeEngine):
    files: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (id, path) -> bytes
    read: list[str] = field(default_factory=list)

    def read_file(self, container_id: str, path: str) -> bytes:
        self.read.append(path)
        if (container_id, path) not in self.files:
            raise NoSuchObject(f"no {path}")
        return self.files[(container_id, path)]


def stack(tmp_path: Path) -> Any:
    (tmp_path / "conf.yml").write_text("scrape: 5s\n")
    bind = {"type": "bind", "source": str(tmp_path / "conf.yml"), "target": "/etc/conf.yml"}
    return workspace(tmp_path, {"web": {"image": "nginx", "volumes": [bind]}})


def running(state: str = "running") -> ContainerInfo:
    return ContainerInfo("c1", "shop-web-1", "web", state, project="shop")


def test_the_same_bytes_through_a_running_container_say_the_engine_sees_the_workspace(
    tmp_path: Path,
) -> None:
    engine = ArchiveEngine(infos=[running()], files={("c1", "/etc/conf.yml"): b"scrape: 5s\n"})
    assert seen_through_running_containers(stack(tmp_path), engine)
    assert engine.read == ["/etc/conf.yml"] and engine.helpers_started == []


def test_other_bytes_a_missing_file_or_nothing_running_leave_it_to_the_helper(
    tmp_path: Path,
) -> None:
    ws = stack(tmp_path)
    other = ArchiveEngine(infos=[running()], files={("c1", "/etc/conf.yml"): b"scrape: 60s\n"})
    assert not seen_through_running_containers(ws, other)
    assert not seen_through_running_containers(ws, ArchiveEngine(infos=[running()]))
    stopped = ArchiveEngine(infos=[running("exited")], files={("c1", "/etc/conf.yml"): b""})
    assert not seen_through_running_containers(ws, stopped) and stopped.read == []
