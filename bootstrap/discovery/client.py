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
    for name, planned in workspace.plan.services.items():
        if planned.phase != "discovery":
            continue
        info = containers.get(name)
        if info is None or info.state != "running":
            continue
        port = int(planned.service.label("discovery.port") or DISCOVERY_PORT)
        if on_network and resolvable(name):
            return f"ws://{name}:{port}/ws"
        if port in info.ports:
            return f"ws://127.0.0.1:{info.ports[port]}/ws"
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
