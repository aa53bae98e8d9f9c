"""The discovery service's process: events in, probes on a schedule, HTTP and WebSocket out.

aiohttp serves HTTP and WebSocket from one small, well-kept dependency; the Docker SDK and
the probes are synchronous, so they run on worker threads and hand results to the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import WSMsgType, web

from bootstrap.discovery import DISCOVERY_PORT, DISCOVERY_TOKEN
from bootstrap.discovery.alerts import Alert, Alerts, PayloadError
from bootstrap.discovery.registry import (
    Health,
    LabelError,
    Registration,
    Registry,
    file_sd,
    metrics_text,
    registration_from,
)
from bootstrap.discovery.supervision import SupervisionActions
from bootstrap.mcp_client import McpError, handshake
from bootstrap.probes import Target, UnknownKind, make_probe
from bootstrap.probes.registry import kind
from bootstrap.probespec import ParamValue, ProbeSpec
from bootstrap.runtime import Engine, EngineEvent, Inspector, State

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

log = logging.getLogger("bootstrap.discovery")
STOPPED = ("die", "stop", "kill", "oom")


PROBER = web.AppKey("prober", asyncio.Task[None])
MAX_BODY = 256 * 1024  # bytes of a POST: Alertmanager's calls are capped at 200 alerts


@dataclass(frozen=True)
class DiscoveryConfig:
    project: str
    network: str = "mcp-cluster"
    host: str = "127.0.0.1"  # a host's loopback; in a container, the stack's network
    port: int = DISCOVERY_PORT
    interval: float = 5.0
    sd_file: Path | None = Path("/sd/targets.json")
    # what writers (Alertmanager, the supervisor) send as `Authorization: Bearer TOKEN`;
    # without one every write is refused
    token: str = field(default="", repr=False)

    @classmethod
    def from_env(cls, environ: dict[str, str], project: str) -> DiscoveryConfig:
        from bootstrap.reach import in_container

        sd = environ.get("DISCOVERY_SD_FILE", "/sd/targets.json")
        inside = "0.0.0.0" if in_container() else "127.0.0.1"  # noqa: S104 - the stack's network
        return cls(
            project=environ.get("DISCOVERY_PROJECT") or project,
            network=environ.get("DISCOVERY_NETWORK", "mcp-cluster"),
            host=environ.get("DISCOVERY_HOST") or inside,
            port=int(environ.get("DISCOVERY_PORT", str(DISCOVERY_PORT))),
            interval=float(environ.get("DISCOVERY_INTERVAL", "5")),
            sd_file=Path(sd) if sd else None,
            token=environ.get(DISCOVERY_TOKEN, "").strip(),
        )


def foreign_origin(request: web.Request) -> str | None:
    """The ``Origin`` a browser sent when it is not this service's own (a page of another site
    posting, or opening the WebSocket); None for a same-origin request or a non-browser."""
    origin = request.headers.get("Origin")
    if origin is None:
        return None
    _scheme, _, rest = origin.partition("://")
    return None if rest and rest == request.host else origin


def writer_refused(request: web.Request, token: str) -> str | None:
    """Why a write (POST) is refused, or None: the stack's token, as a bearer, is needed."""
    import hmac

    if not token:
        return "this discovery service takes no writes: it has no DISCOVERY_TOKEN"
    given = request.headers.get("Authorization", "")
    scheme, _, credentials = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(credentials.strip(), token):
        return "a write needs the stack's token (Authorization: Bearer DISCOVERY_TOKEN)"
    if request.content_type != "application/json":
        return "a write is JSON (Content-Type: application/json)"
    return None


def own_project(engine: Inspector) -> str:
    """The compose project of the container this runs in (its hostname is its id)."""
    try:
        info = engine.container(socket.gethostname())
    except Exception:  # not in a container, or not a compose one
        return ""
    return info.project


def probe_once(entry: Registration, engine: Engine) -> Health:
    """One probe of a registered service with the same strategies ``bootstrap up`` uses."""
    started = time.monotonic()
    if not entry.address:
        return Health("down", "no address on a shared network", None, time.time())
    if entry.protocol == "mcp":
        try:
            report = handshake(entry.address, entry.port or 8000, entry.path, timeout=3.0)
        except (McpError, OSError) as exc:
            return Health(
                "down",
                f"MCP: {exc}",
                time.monotonic() - started,
                time.time(),
                {"compliant": False, "error": str(exc)},
            )
        return Health(
            "up",
            report.summary(),
            time.monotonic() - started,
            time.time(),
            {
                "compliant": True,
                "protocol_version": report.protocol_version,
                "server_name": report.server_name,
                "server_version": report.server_version,
                "tools": len(report.tools),
                "tool_names": list(report.tools),
            },
        )
    # the parameters the kind reads from the container's environment (its credentials: the
    # proxy passes those, and only those), then what the labels say
    found = kind(entry.protocol)
    params: dict[str, ParamValue] = dict(found.derive(entry.env, ())) if found else {}
    if entry.port:
        params["port"] = entry.port
    if "discovery.path" in entry.labels:
        params["path"] = entry.path
    spec = ProbeSpec(found.name if found else entry.protocol, params)
    try:
        probe = make_probe(spec, exposed=[entry.port] if entry.port else [])
    except UnknownKind as exc:  # a label with a typo: down, saying so, never "running"
        return Health("down", str(exc), time.monotonic() - started, time.time())
    # Over the network only: the discovery service reads the engine through a read-only
    # proxy (no exec), so a probe that needs the container itself says it cannot run here.
    target = Target(entry.service, container_id=entry.container_id, dns_name=entry.address)
    try:
        seen = probe.check(target)
    except Exception as exc:  # a broken probe is a down service, not a dead registry
        return Health(
            "down", f"{type(exc).__name__}: {exc}", time.monotonic() - started, time.time()
        )
    return Health(
        "up" if seen.ready else "down", seen.detail, time.monotonic() - started, time.time()
    )


class DiscoveryService:
    def __init__(self, engine: Engine, config: DiscoveryConfig) -> None:
        self.engine = engine
        self.config = config
        self.registry = Registry()
        self.alerts = Alerts()
        self.supervision = SupervisionActions()
        self.sockets: set[web.WebSocketResponse] = set()
        self.stop = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.started = time.time()
        self._stopping: dict[str, float] = {}  # container id -> its last kill or stop event

    # --- registration ---------------------------------------------------------------------

    def _register_container(self, container_id: str) -> Registration | None:
        try:
            info = self.engine.container(container_id)
        except Exception as exc:
            log.info("container %s vanished before registration: %s", container_id[:12], exc)
            return None
        if info.state != State.RUNNING:
            return None
        try:
            entry = registration_from(info, network=self.config.network)
        except LabelError as exc:
            log.warning("%s: ignored: %s", info.name, exc)
            return None
        if entry is None:
            return None
        self.registry.register(entry)
        return entry

    def scan(self) -> None:
        for info in self.engine.containers(self.config.project):
            if info.state == State.RUNNING:
                self._register_container(info.id)
        self.write_file_sd()

    async def on_event(self, event: EngineEvent) -> None:
        if event.action == "start":
            entry = await asyncio.to_thread(self._register_container, event.container_id)
            if entry is not None:
                await self.broadcast(entry.service, "registered", "container started")
                self.write_file_sd()
                await self.probe_until_up(entry)
        elif event.action in STOPPED:
            code = event.attributes.get("exitCode")
            asked = self._stopping.get(event.container_id, 0.0) > time.monotonic() - 30
            if event.action in ("kill", "stop"):
                self._stopping[event.container_id] = time.monotonic()
            # A stop someone asked for (docker stop, compose stop) says so whichever order
            # the engine tells its events in (20.10: kill, die, stop; 28: kill, stop, die)
            said = "stopped" if event.action == "die" and asked else event.action
            detail = f"container {said}" + (f" (exit code {code})" if code else "")
            name = self.registry.mark_stopped(event.container_id, detail, time.time())
            if name is not None:
                await self.broadcast(name, "down", detail)
        elif event.action == "destroy":
            name = self.registry.deregister_container(event.container_id)
            if name is not None:
                await self.broadcast(name, "removed", "container removed")
                self.write_file_sd()

    def follow_events(self) -> None:
        events = self.engine.events(self.config.project, self.stop)
        loop = self.loop

        def pump() -> None:
            for event in events:
                if loop is None or self.stop.is_set():
                    return
                asyncio.run_coroutine_threadsafe(self.on_event(event), loop)

        threading.Thread(target=pump, name="discovery-events", daemon=True).start()

    # --- health ---------------------------------------------------------------------------

    async def probe(self, entry: Registration) -> None:
        health = await asyncio.to_thread(probe_once, entry, self.engine)
        current = self.registry.entries.get(entry.service)
        if current is None or current.container_id != entry.container_id:
            return  # deregistered while probing
        if self.registry.set_health(entry.service, health):
            await self.broadcast(entry.service, health.status, health.detail, health.latency)

    async def probe_until_up(self, entry: Registration) -> None:
        """A container just started is probed on a short backoff until it answers (or the
        regular interval takes over): one early "connection refused" must not show a ready
        service as down until the next round."""
        pause, waited = 0.25, 0.0
        while not self.stop.is_set():
            await self.probe(entry)
            health = self.registry.health.get(entry.service)
            current = self.registry.entries.get(entry.service)
            if health is None or health.status == "up" or current != entry:
                return
            if waited >= self.config.interval:
                return
            await asyncio.sleep(pause)
            waited += pause
            pause = min(pause * 2, 2.0)

    def read_memory(self, entry: Registration) -> None:
        """The container's memory beside its limit, for the near-the-limit alert."""
        try:
            used = self.engine.usage(entry.container_id, cpu=False).memory
        except Exception as exc:  # gone between listing and reading: the next round says
            log.debug("no memory reading for %s: %s", entry.service, exc)
            return
        if entry.service not in self.registry.stopped:
            self.registry.memory[entry.service] = (used, entry.memory_limit)

    async def probe_forever(self) -> None:
        while not self.stop.is_set():
            entries = self.registry.running()
            await asyncio.gather(
                *(self.probe(e) for e in entries),
                *(asyncio.to_thread(self.read_memory, e) for e in entries),
            )
            await asyncio.sleep(self.config.interval)

    # --- outputs --------------------------------------------------------------------------

    def write_file_sd(self) -> None:
        if self.config.sd_file is None:
            return
        path = self.config.sd_file
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".tmp")
            temporary.write_text(
                json.dumps(file_sd(self.registry.entries.values(), self.config.project), indent=2),
                encoding="utf-8",
            )
            temporary.replace(path)  # Prometheus never reads a half-written file
        except OSError as exc:
            log.warning("cannot write %s: %s", path, exc)

    async def broadcast(
        self, service: str, status: str, detail: str, latency: float | None = None
    ) -> None:
        message = json.dumps(
            {
                "type": "status",
                "service": service,
                "status": status,
                "detail": detail,
                "timestamp": time.time(),
                **({"latency": latency} if latency is not None else {}),
            }
        )
        log.info("%s %s: %s", service, status, detail)
        await self._send_all(message)

    async def _send_all(self, message: str) -> None:
        for ws in list(self.sockets):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_str(message)

    # --- HTTP -----------------------------------------------------------------------------

    async def dashboard(self, _request: web.Request) -> web.Response:
        """The live page: plain HTML, CSS and a small script shipped in the package."""
        from importlib.resources import files

        page = files("bootstrap.discovery").joinpath("dashboard.html").read_text("utf-8")
        return web.Response(text=page, content_type="text/html", charset="utf-8")

    async def services(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {"project": self.config.project, "services": self.registry.snapshot()}
        )

    async def healthz(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {
                "status": "ok",
                "registered": len(self.registry.entries),
                "uptime": round(time.time() - self.started, 1),
            }
        )

    async def metrics(self, _request: web.Request) -> web.Response:
        text = metrics_text(self.registry, len(self.alerts.firing))
        return web.Response(
            text=text + "\n".join(self.supervision.metrics_lines()) + "\n",
            content_type="text/plain",
            charset="utf-8",
        )

    async def receive_supervision(self, request: web.Request) -> web.Response:
        """What ``bootstrap supervise`` did: kept, counted and sent to the dashboard."""
        try:
            actions = self.supervision.receive(await request.json())
        except (ValueError, PayloadError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        for action in actions:
            log.info("supervision %s %s: %s", action["service"], action["kind"], action["reason"])
            await self._send_all(json.dumps({**action, "type": "supervision"}))
        return web.json_response({"received": len(actions)})

    async def list_supervision(self, _request: web.Request) -> web.Response:
        return web.json_response({"actions": self.supervision.latest()})

    async def receive_alerts(self, request: web.Request) -> web.Response:
        """Alertmanager's webhook: firing alerts are kept and shown, resolved ones dropped."""
        try:
            changed = self.alerts.receive(await request.json())
        except (ValueError, PayloadError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        for alert in changed:
            await self.broadcast_alert(alert)
        return web.json_response({"received": len(changed)})

    async def list_alerts(self, _request: web.Request) -> web.Response:
        return web.json_response({"alerts": self.alerts.active()})

    async def broadcast_alert(self, alert: Alert) -> None:
        log.info("alert %s %s: %s", alert.name, alert.status, alert.summary)
        await self._send_all(
            json.dumps({"type": "alert", "timestamp": time.time(), **alert.as_dict()})
        )

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=20)
        await ws.prepare(request)
        await ws.send_str(
            json.dumps(
                {
                    "type": "snapshot",
                    "timestamp": time.time(),
                    "services": self.registry.snapshot(),
                    "alerts": self.alerts.active(),
                    "supervision": self.supervision.latest(),
                }
            )
        )
        self.sockets.add(ws)
        try:
            async for message in ws:
                if message.type == WSMsgType.ERROR:
                    break
        finally:
            self.sockets.discard(ws)
        return ws

    @web.middleware
    async def guard(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        """A browser's request from another site is refused (a page the developer opens must
        not write here nor follow /ws); a write needs the token."""
        origin = foreign_origin(request)
        if origin is not None:
            return web.json_response({"error": f"requests from {origin} are refused"}, status=403)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            why = writer_refused(request, self.config.token)
            if why is not None:
                status = 415 if "Content-Type" in why else 401 if "token" in why else 403
                return web.json_response({"error": why}, status=status)
        return await handler(request)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.guard], client_max_size=MAX_BODY)
        app.router.add_get("/", self.dashboard)
        app.router.add_get("/services", self.services)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics)
        app.router.add_get("/ws", self.websocket)
        app.router.add_post("/alerts", self.receive_alerts)
        app.router.add_get("/alerts", self.list_alerts)
        app.router.add_post("/supervision", self.receive_supervision)
        app.router.add_get("/supervision", self.list_supervision)
        app.on_startup.append(self._on_startup)
        app.on_cleanup.append(self._on_cleanup)
        return app

    async def _on_startup(self, app: web.Application) -> None:
        self.loop = asyncio.get_running_loop()
        await asyncio.to_thread(self.scan)
        self.follow_events()
        app[PROBER] = asyncio.create_task(self.probe_forever())

    async def _on_cleanup(self, app: web.Application) -> None:
        self.stop.set()
        app[PROBER].cancel()
        for ws in list(self.sockets):
            await ws.close()


def serve(environ: dict[str, str] | None = None) -> int:
    """Run the discovery service until stopped. Returns an exit code."""
    from bootstrap.backends import select_backend
    from bootstrap.errors import EngineError

    environ = dict(os.environ if environ is None else environ)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s discovery %(message)s")
    socket_path = environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if socket_path.startswith("unix://") and not os.path.exists(socket_path[len("unix://") :]):
        log.error(
            "no Docker socket at %s: mount it read-only "
            "(volumes: [/var/run/docker.sock:/var/run/docker.sock:ro])",
            socket_path[len("unix://") :],
        )
        return 3
    try:
        engine = select_backend(environ.get("BOOTSTRAP_BACKEND") or "compose").engine
    except EngineError as exc:
        log.error("%s (%s)", exc.message, exc.hint)
        return 3
    project = environ.get("DISCOVERY_PROJECT") or own_project(engine)
    if not project:
        log.error("no compose project to watch: set DISCOVERY_PROJECT")
        return 2
    config = DiscoveryConfig.from_env(environ, project)
    service = DiscoveryService(engine, config)
    log.info("watching project %s, serving on %s:%s", project, config.host, config.port)
    if not config.token:
        log.warning("no DISCOVERY_TOKEN: every write (alerts, supervision actions) is refused")
    web.run_app(service.app(), host=config.host, port=config.port, print=None, handle_signals=True)
    return 0
