"""``reset`` and ``restore``: the project's data volumes, snapshotted first, never lost."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bootstrap.caches import helper_image
from bootstrap.errors import ConfigError, NoSpaceError, NotFoundError
from bootstrap.runtime import Engine, VolumeInfo, VolumeStore
from bootstrap.workspace import Workspace

if TYPE_CHECKING:
    from bootstrap.backends import Backend

Say = Callable[[str], None]


def data_volumes(workspace: Workspace, engine: VolumeStore) -> list[VolumeInfo]:
    """Volumes reset may remove: the project's label AND the ``<prefix>_`` name, both.

    A volume lacking either is never touched, and a package cache never counts as data.
    """
    prefix = workspace.settings.prefix + "_"
    chosen = [
        volume
        for volume in engine.volumes()
        if volume.project == workspace.compose.name
        and volume.name.startswith(prefix)
        and not volume.cache_kind
    ]
    return sorted(chosen, key=lambda v: v.name)


def cache_volumes(workspace: Workspace, engine: VolumeStore) -> list[VolumeInfo]:
    """The shared package caches named in the settings that exist (``reset --caches``)."""
    names = set(workspace.settings.caches.values())
    return sorted((v for v in engine.volumes() if v.name in names), key=lambda v: v.name)


@dataclass(frozen=True)
class Snapshot:
    path: Path
    project: str
    created: str
    volumes: tuple[dict[str, object], ...]


def snapshot_volumes(
    workspace: Workspace, engine: Engine, volumes: list[VolumeInfo], say: Say
) -> Path:
    """Write every volume to ``<snapshot_dir>/<project>-<time>/`` with a manifest.

    The folder is written under a ``.partial`` name and renamed only when complete, so a
    snapshot that exists is whole.
    """
    root = workspace.directory / workspace.settings.snapshot_dir
    stamp = time.strftime("%Y%m%dT%H%M%S")
    final = root / f"{workspace.compose.name}-{stamp}"
    partial = root / f".{final.name}.partial"
    partial.mkdir(parents=True, exist_ok=True)
    image = helper_image(engine)
    entries = []
    for volume in volumes:
        file = f"{volume.name}.tar"
        say(f"snapshot {volume.name}")
        engine.export_volume(
            volume.name, str(partial / file), image=image, project=workspace.compose.name
        )
        entries.append(
            {
                "name": volume.name,
                "labels": dict(volume.labels),
                "file": file,
                "bytes": (partial / file).stat().st_size,
            }
        )
    manifest = {"project": workspace.compose.name, "created": stamp, "volumes": entries}
    (partial / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    fd = os.open(partial, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    partial.rename(final)
    return final


def reset(
    workspace: Workspace,
    backend: Backend,
    say: Say,
    *,
    caches: bool,
    snapshot: bool,
    dry_run: bool,
) -> tuple[list[str], Path | None]:
    """Down, snapshot the data volumes, remove them; with ``caches`` also empty the shared
    package caches (never snapshotted: they are downloads, not data), skipping any that a
    container of another workspace still uses."""
    engine = backend.engine
    volumes = data_volumes(workspace, engine)
    shared = cache_volumes(workspace, engine) if caches else []
    names = [v.name for v in [*volumes, *shared]]
    if dry_run:
        return names, None
    root = workspace.directory / workspace.settings.snapshot_dir
    for partial in sorted(root.glob(f".{workspace.compose.name}-*.partial")):
        shutil.rmtree(partial, ignore_errors=True)  # a killed snapshot: never restorable
        say(f"removed the incomplete snapshot {partial.name}")
    if snapshot and volumes:
        ensure_room(root, {v.name for v in volumes}, engine.volume_sizes())
    backend.down(workspace, say)
    where = snapshot_volumes(workspace, engine, volumes, say) if snapshot and volumes else None
    removed = []
    for volume in volumes:
        say(f"remove volume {volume.name}")
        engine.remove_volume(volume.name)
        removed.append(volume.name)
    for volume in shared:
        users = engine.volume_users(volume.name)
        if users:
            say(f"keep shared cache {volume.name}: in use by {', '.join(users)}")
            continue
        say(f"remove shared cache {volume.name}")
        engine.remove_volume(volume.name)
        removed.append(volume.name)
    return removed, where


SNAPSHOT_MARGIN = 1.1  # tar headers and the manifest, with room to spare


def ensure_room(root: Path, volumes: set[str], sizes: dict[str, int]) -> None:
    """Refuse before anything is stopped or removed when the snapshot would not fit."""
    needed = sum(max(sizes.get(name, 0), 0) for name in volumes)
    root.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(root).free
    if needed * SNAPSHOT_MARGIN > free:
        raise NoSpaceError(
            f"the snapshot needs about {_size(needed * SNAPSHOT_MARGIN)}, "
            f"{root} has {_size(free)} free; nothing was stopped or removed",
            location=str(root),
            hint="free some space, mount a larger disk at snapshot_dir (a folder of the "
            "workspace), or reset with --no-snapshot if the data may go",
        )


def _size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.1f} {unit}" if unit != "B" else f"{int(count)} B"
        count /= 1024
    return f"{count:.1f} GiB"


def list_snapshots(workspace: Workspace) -> list[Path]:
    root = workspace.directory / workspace.settings.snapshot_dir
    if not root.is_dir():
        return []
    return sorted(
        (
            p
            for p in root.iterdir()
            if p.is_dir()
            and not p.name.startswith(".")
            and (p / "manifest.json").is_file()
            and p.name.startswith(workspace.compose.name + "-")
        ),
        key=lambda p: p.name,
    )


def restore(
    workspace: Workspace, engine: Engine, say: Say, *, snapshot: str | None, replace: bool
) -> Path:
    """Put a snapshot back. Refuses while a container uses a volume, or (without
    ``replace``) when the volume already exists."""
    available = list_snapshots(workspace)
    if snapshot:
        path = Path(snapshot)
        if not path.is_absolute() and not path.exists():
            path = workspace.directory / workspace.settings.snapshot_dir / snapshot
    elif available:
        path = available[-1]
    else:
        raise NotFoundError(
            "no snapshot to restore",
            location=str(workspace.directory / workspace.settings.snapshot_dir),
            hint="`bootstrap reset` takes one unless --no-snapshot",
        )
    manifest_file = path / "manifest.json"
    if not manifest_file.is_file():
        raise NotFoundError(
            "not a snapshot (no manifest.json)",
            location=str(path),
            hint="name a folder listed by `bootstrap restore --list`",
        )
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    existing = {v.name for v in engine.volumes()}
    image = helper_image(engine)
    for entry in manifest["volumes"]:
        name = str(entry["name"])
        users = engine.volume_users(name) if name in existing else []
        if users:
            raise ConfigError(
                f"volume {name} is in use by {', '.join(users)}",
                location=f"volume {name}",
                hint="run `bootstrap down` first",
            )
        if name in existing and not replace:
            raise ConfigError(
                f"volume {name} exists already",
                location=f"volume {name}",
                hint="pass --replace to overwrite it with the snapshot",
            )
    for entry in manifest["volumes"]:
        name = str(entry["name"])
        if name in existing:
            engine.remove_volume(name)
        engine.create_volume(name, dict(entry.get("labels") or {}))
        say(f"restore {name}")
        engine.import_volume(
            name, str(path / str(entry["file"])), image=image, project=workspace.compose.name
        )
    return path
