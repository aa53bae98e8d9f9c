"""Validation that needs the engine: subnet overlap and host ports in use."""

from __future__ import annotations

import socket

from bootstrap.runtime import Engine
from bootstrap.validate import Finding, check_ports_free, check_subnet_overlap
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


def busy_ports(workspace: Workspace, engine: Engine) -> dict[tuple[str, int], str | None]:
    """Host ports the plan publishes that someone else holds: (ip, port) -> holder."""
    own = {c.name for c in engine.containers(workspace.compose.name, inspect=False)}
    docker_held = engine.published_ports()
    busy: dict[tuple[str, int], str | None] = {}
    for planned in workspace.plan.services.values():
        for port in planned.service.ports:
            if port.published is None or port.protocol != "tcp":
                continue
            ip = port.host_ip or "0.0.0.0"  # noqa: S104
            holder = docker_held.get((ip, port.published)) or docker_held.get(
                ("0.0.0.0", port.published)  # noqa: S104
            )
            if holder in own:
                continue
            if holder is not None:
                busy[(ip, port.published)] = holder
            elif not port_bindable(ip, port.published):
                busy[(ip, port.published)] = None
    return busy


def engine_findings(workspace: Workspace, engine: Engine) -> list[Finding]:
    return [
        *check_subnet_overlap(workspace.stack, workspace.settings, engine.networks()),
        *check_ports_free(workspace.plan, busy_ports(workspace, engine)),
    ]
