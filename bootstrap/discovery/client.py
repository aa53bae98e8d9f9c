"""Following the discovery service's WebSocket from the CLI (``bootstrap status --watch``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from bootstrap.discovery import DISCOVERY_PORT
from bootstrap.reach import resolvable
from bootstrap.runtime import ContainerInfo
from bootstrap.workspace import Workspace


def discovery_url(
    workspace: Workspace, containers: dict[str, ContainerInfo], on_network: bool
) -> str | None:
    """The WebSocket URL of the stack's discovery service, when it runs and is reachable."""
    base = discovery_base(workspace, containers, on_network)
    return None if base is None else "ws" + base.removeprefix("http") + "/ws"


def active_alerts(base: str, timeout: float = 2.0) -> list[dict[str, str]] | None:
    """The alerts firing as the discovery service last heard from Alertmanager; None when
    it does not answer."""
    import urllib.request

    try:
        with urllib.request.urlopen(f"{base}/alerts", timeout=timeout) as response:  # noqa: S310 - our own http URL
            alerts = json.loads(response.read()).get("alerts")
    except (OSError, ValueError, AttributeError):
        return None
    return alerts if isinstance(alerts, list) else None


def discovery_base(
    workspace: Workspace, containers: dict[str, ContainerInfo], on_network: bool
) -> str | None:
    """``http://host:port`` of the stack's discovery service, when it runs and is reachable."""
    for name, planned in workspace.plan.services.items():
        if planned.phase != "discovery":
            continue
        info = containers.get(name)
        if info is None or info.state != "running":
            continue
        port = int(planned.service.label("discovery.port") or DISCOVERY_PORT)
        if on_network and resolvable(name):
            return f"http://{name}:{port}"
        if port in info.ports:
            return f"http://127.0.0.1:{info.ports[port]}"
    return None


def follow(url: str, on_message: Callable[[dict[str, Any]], None]) -> None:
    """Call ``on_message`` for every message until the stream ends. Raises OSError when the
    service cannot be reached, so the caller can fall back to polling."""
    import aiohttp

    async def run() -> None:
        try:
            async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
                async for message in ws:
                    if message.type == aiohttp.WSMsgType.TEXT:
                        on_message(json.loads(message.data))
        except aiohttp.ClientError as exc:
            raise OSError(str(exc)) from None

    asyncio.run(run())
