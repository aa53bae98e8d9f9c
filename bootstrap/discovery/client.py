"""Following the discovery service's WebSocket from the CLI (``bootstrap status --watch``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from bootstrap.discovery import DISCOVERY_PORT
from bootstrap.errors import BootstrapError
from bootstrap.reach import resolvable
from bootstrap.runtime import ContainerInfo, State
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
        if info is None or info.state != State.RUNNING:
            continue
        port = int(planned.service.label("discovery.port") or DISCOVERY_PORT)
        if on_network and resolvable(name):
            return f"http://{name}:{port}"
        if port in info.ports:
            return f"http://127.0.0.1:{info.ports[port]}"
    return None


def follow(url: str, on_message: Callable[[dict[str, Any]], None]) -> None:
    """Call ``on_message`` for every message until the stream ends. Raises OSError when the
    service cannot be reached (or the stream's client, the discovery extra, is not
    installed), so the caller can fall back to polling."""
    try:
        import aiohttp
    except ImportError as exc:
        raise OSError(
            f"following the stream needs compose-bootstrap[discovery] (aiohttp): {exc.name or exc}"
        ) from None

    async def run() -> None:
        try:
            async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
                async for message in ws:
                    if message.type == aiohttp.WSMsgType.TEXT:
                        on_message(json.loads(message.data))
        except aiohttp.ClientError as exc:
            raise OSError(str(exc)) from None

    asyncio.run(run())


class SupervisionPoster:
    """Hands each supervision action to the stack's discovery service (``POST /supervision``),
    in order, from one background thread: a discovery service that is absent or slow costs
    the supervisor nothing (the action is still logged and shown; it is just not posted).
    ``find`` answers the service's base URL, asked again after a failed post; ``token`` is
    the stack's ``DISCOVERY_TOKEN``, which the service asks of every writer."""

    def __init__(
        self, find: Callable[[], str | None], token: str = "", timeout: float = 2.0
    ) -> None:
        import queue
        import threading

        self.find, self.token, self.timeout = find, token, timeout
        self.base: str | None = None
        self.posted = 0
        self.queue: queue.Queue[dict[str, object] | None] = queue.Queue()
        self.thread = threading.Thread(target=self._run, daemon=True, name="bootstrap-post")
        self.thread.start()

    def __call__(self, action: dict[str, object]) -> None:
        self.queue.put(action)

    def close(self, wait: float = 3.0) -> None:
        """Post what is queued (for at most ``wait`` seconds), then stop."""
        self.queue.put(None)
        self.thread.join(wait)

    def _run(self) -> None:
        while (action := self.queue.get()) is not None:
            if self.base is None:
                try:
                    self.base = self.find()
                except BootstrapError:  # the engine unreachable: no post now
                    self.base = None
            if self.base is not None and not self._post(self.base, action):
                self.base = None  # it moved or stopped: look again for the next one

    def _post(self, base: str, action: dict[str, object]) -> bool:
        import urllib.request

        request = urllib.request.Request(  # noqa: S310 - our own http URL
            f"{base}/supervision",
            data=json.dumps(action).encode(),
            headers={
                "Content-Type": "application/json",
                **({"Authorization": f"Bearer {self.token}"} if self.token else {}),
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                status: int = response.status
                ok = 200 <= status < 300
        except OSError:
            return False
        self.posted += ok
        return ok
