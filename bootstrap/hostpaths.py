"""Bind mounts from inside a dev container that talks to the host's engine. Pure.

With docker-outside-of-docker, compose (in the container) resolves ``./config`` to the
container's path of the workspace, ``/workspaces/app/config``; the engine (on the host) then
mounts its own ``/workspaces/app/config``: empty, or missing. Where the host's path of the
workspace is known (``LOCAL_WORKSPACE_FOLDER``, which the docker-outside-of-docker feature
sets), an override file gives compose the host's paths; compose merges volumes by target.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bootstrap.model import Stack

OVERRIDE_NAME = "host-paths.override.yml"


def under(path: str, root: str) -> str | None:
    """``path`` relative to ``root`` ("" for root itself), or None when outside it."""
    try:
        return str(PurePosixPath(path).relative_to(PurePosixPath(root)))
    except ValueError:
        return None


def _on_host(path: str, container_root: str, host_root: str) -> str | None:
    inside = under(path, container_root)
    if inside is None:
        return None
    return str(PurePosixPath(host_root) / inside) if inside != "." else host_root


def host_path_override(stack: Stack, container_root: str, host_root: str) -> dict[str, Any] | None:
    """A compose override that points every bind source, and every config or secret file,
    under the workspace at the host's path of it; None when nothing needs it."""
    override: dict[str, Any] = {}
    for name, service in sorted(stack.services.items()):
        volumes = []
        for mount in service.mounts:
            host = _on_host(mount.source, container_root, host_root)
            if mount.type == "bind" and host is not None:
                volumes.append({"type": "bind", "source": host, "target": mount.target})
        if volumes:
            override.setdefault("services", {})[name] = {"volumes": volumes}
    for (kind, key), path in sorted(stack.file_sources.items()):
        host = _on_host(path, container_root, host_root)
        if host is not None:
            override.setdefault(kind, {})[key] = {"file": host}
    return override or None


def binds_under(stack: Stack, root: str) -> list[tuple[str, str, str]]:
    """(service, source, target) of every bind mount whose source is under ``root``, and of
    every config or secret file under it (as ``configs.NAME``)."""
    return [
        (name, m.source, m.target)
        for name, service in sorted(stack.selected.items())
        for m in service.mounts
        if m.type == "bind" and under(m.source, root) is not None
    ] + [
        (f"{kind}.{key}", path, f"{kind}.{key}")
        for (kind, key), path in sorted(stack.file_sources.items())
        if under(path, root) is not None
    ]


def translation_wanted(
    environ: Mapping[str, str], in_container: bool, directory: str
) -> str | None:
    """The host's path of the workspace when a translation applies, else None."""
    host = environ.get("LOCAL_WORKSPACE_FOLDER", "")
    if not in_container or not host or host == directory:
        return None
    return host
