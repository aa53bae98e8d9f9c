"""Validation that needs the engine: subnet overlap and host ports in use."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from bootstrap.errors import EngineError
from bootstrap.hostpaths import binds_under
from bootstrap.reach import in_container
from bootstrap.runtime import Engine, Inspector, State
from bootstrap.validate import (
    Finding,
    Severity,
    check_capacity,
    check_external_resources,
    check_ports_free,
    check_subnet_overlap,
    error,
)
from bootstrap.workspace import Workspace


def port_bindable(host_ip: str, port: int) -> bool:
    """Whether a TCP listener could bind ``host_ip:port`` right now on this host."""
    family = socket.AF_INET6 if ":" in host_ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host_ip, port))
        except OSError:
            return False
    return True


def busy_ports(workspace: Workspace, engine: Inspector) -> dict[tuple[str, int], str | None]:
    """Host ports the plan publishes that someone else holds: (ip, port) -> holder."""
    docker_held = engine.published_ports()
    own: set[str] | None = None  # the project's own containers: asked where one holds a port
    busy: dict[tuple[str, int], str | None] = {}
    for planned in workspace.plan.services.values():
        for port in planned.service.ports:
            if port.published is None or port.protocol != "tcp":
                continue
            ip = port.host_ip or "0.0.0.0"  # noqa: S104
            holder = docker_held.get((ip, port.published)) or docker_held.get(
                ("0.0.0.0", port.published)  # noqa: S104
            )
            if holder is not None and own is None:
                own = {c.name for c in engine.containers(workspace.compose.name, inspect=False)}
            if own is not None and holder in own:
                continue
            if holder is not None:
                busy[(ip, port.published)] = holder
            elif not port_bindable(ip, port.published):
                busy[(ip, port.published)] = None
    return busy


def engine_sees_the_workspace(workspace: Workspace, engine: Engine) -> bool:
    """Whether the engine's host has this workspace at the same path (same files): true on
    the host, and in docker-in-docker; false in a dev container using the host's engine.
    Told by the project's running containers where they can tell it (no container started),
    else by a helper container that lists the engine's copy of the workspace."""
    from bootstrap.caches import helper_image

    if seen_through_running_containers(workspace, engine):
        return True

    local = sorted(os.listdir(workspace.directory))
    seen = engine.run_helper(
        helper_image(engine),
        ["ls", "-A", "/w"],
        {str(workspace.directory): "/w"},
        project=workspace.compose.name,
    )
    return seen.exit_code == 0 and sorted(seen.output.split()) == local


FILE_KINDS = ("configs.", "secrets.")
COMPARED_FILES = 1  # bind-mounted files read back through running containers (about 20 ms each)
COMPARED_SIZE = 1_000_000  # bytes: a larger file is not read back


def seen_through_running_containers(workspace: Workspace, engine: Inspector) -> bool:
    """True when running containers of the project bind-mount files of the workspace and the
    engine's copies (read through the archive API: no container started, no exec) are these
    files' bytes. False where none can tell or one differs: the helper decides then."""
    containers = engine.project_containers(workspace.compose.name, inspect=False)
    compared = 0
    for service, source, target in binds_under(workspace.stack, str(workspace.directory)):
        info = containers.get(service)
        if service.startswith(FILE_KINDS) or info is None or info.state != State.RUNNING:
            continue
        local = Path(source)
        try:
            if not local.is_file() or local.stat().st_size > COMPARED_SIZE:
                continue
            if engine.read_file(info.id, target) != local.read_bytes():
                return False
        except (OSError, EngineError):
            return False
        compared += 1
        if compared >= COMPARED_FILES:
            break
    return compared > 0


MOUNTS_FLAG = "--check-mounts"


def check_bind_sources(workspace: Workspace, engine: Engine, *, helpers: bool) -> list[Finding]:
    """In a container, without LOCAL_WORKSPACE_FOLDER to translate them: bind mounts of the
    workspace that the engine would take from its own disk. Telling needs a helper container
    that lists the engine's view of the workspace: only with ``helpers`` (``up``, and the
    read-only commands' ``--check-mounts``)."""
    if not in_container() or workspace.host_root is not None:
        return []
    binds = binds_under(workspace.stack, str(workspace.directory))
    if not binds:
        return []
    if not helpers:
        return [
            Finding(
                Severity.NOTICE,
                f"services.{binds[0][0]}.volumes",
                f"bind mounts under the workspace not checked: telling whether the engine sees "
                f"this container's {workspace.directory} starts a helper container",
                f"run with {MOUNTS_FLAG} to check them (`up` always does)",
                "mounts-unchecked",
            )
        ]
    if engine_sees_the_workspace(workspace, engine):
        return []
    return [
        error(
            "bind-source-elsewhere",
            f"{service}.file" if service.startswith(FILE_KINDS) else f"services.{service}.volumes",
            f"{source} is a path in this container; the Docker engine runs elsewhere (the "
            f"host) and would mount its own {source}"
            + ("" if service.startswith(FILE_KINDS) else f" at {target}")
            + ": empty, or missing",
            "set LOCAL_WORKSPACE_FOLDER to the host's path of this workspace (the "
            "docker-outside-of-docker feature does) so bootstrap translates it, or use a "
            "named volume or a config",
        )
        for service, source, target in binds
    ]


def engine_findings(workspace: Workspace, engine: Engine, *, helpers: bool) -> list[Finding]:
    """The checks that ask the engine. Only ``helpers`` lets one start a container."""
    networks = engine.networks()
    external = any(v.external for v in workspace.stack.volumes.values())
    volumes = [v.name for v in engine.volumes()] if external else []
    return [
        *check_external_resources(workspace.stack, networks, volumes),
        *check_subnet_overlap(workspace.stack, workspace.settings, networks),
        *check_ports_free(workspace.plan, busy_ports(workspace, engine)),
        *check_bind_sources(workspace, engine, helpers=helpers),
        *check_capacity(workspace.plan, *engine.capacity()),
    ]
