"""The supervisor's socket proxy: the slice of the Docker API a stack's supervisor needs, for
one compose project's containers only.

Allowed: GET ``_ping``, ``version``, ``info``; the events stream and the container list, each
narrowed to the project's label (whatever filters the caller sent, the proxy adds its own);
GET ``containers/REF/json`` and POST ``containers/REF/{start,stop,restart,kill}`` where
``REF`` is a container of the project (asked of the engine first; the action goes to the
inspected id, so a name taken over meanwhile is not acted on). Everything else is 403: no
create, no exec, no other project's containers, no images, no volumes, no networks.

The read-only proxy of the reference stack (nginx, ``docker/socket-proxy``) stays as it is
for discovery; an nginx rule cannot tell one project's container from another's, hence this
one. ``python -m bootstrap.discovery.supervisorproxy --project NAME`` (or the env
``SUPERVISOR_PROJECT``), listening on ``--port`` (2375), with the socket at ``--socket``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import ClientSession, web

PROJECT_LABEL = "com.docker.compose.project"
ACTIONS = ("start", "stop", "restart", "kill")
_VERSIONED = re.compile(r"^(/v[0-9][0-9.]*)?(/.*)$")
_CONTAINER = re.compile(
    r"^/containers/([A-Za-z0-9][A-Za-z0-9_.-]*)/(json|start|stop|restart|kill)$"
)
_PASSED_HEADERS = ("Content-Type", "Api-Version", "Docker-Experimental", "Ostype", "Server")


@dataclass(frozen=True)
class Decision:
    """What the proxy does with one request. Pure data, from ``decide``."""

    allowed: bool
    reason: str = ""
    container: str = ""  # the container to check first: it must be the project's
    narrowed: bool = False  # a list or events: the project's label filter is added


def decide(method: str, path: str) -> Decision:
    """The rule set, on a method and path (pure)."""
    found = _VERSIONED.match(path)
    rest = found.group(2) if found else path
    reading = method in ("GET", "HEAD")
    if rest in ("/_ping", "/version", "/info"):
        return Decision(reading, "" if reading else f"{method} {rest} is read-only here")
    if rest in ("/events", "/containers/json"):
        return Decision(reading, "" if reading else f"{method} {rest}", narrowed=True)
    match = _CONTAINER.match(rest)
    if match is not None:
        ref, verb = match.groups()
        wanted = "GET" if verb == "json" else "POST"
        if method == wanted or (verb == "json" and method == "HEAD"):
            return Decision(True, container=ref)
        return Decision(False, f"{method} on {rest}")
    return Decision(False, f"{method} {rest} is not among what a supervisor may do")


def narrowed_filters(raw: str | None, project: str) -> str:
    """``filters`` (the API's JSON) with the project's label added, whatever was asked."""
    try:
        filters = json.loads(raw) if raw else {}
    except ValueError:
        filters = {}
    if not isinstance(filters, dict):
        filters = {}
    labels = filters.get("label", [])
    if isinstance(labels, dict):  # the older map form: {"key=value": true}
        labels = [key for key, on in labels.items() if on]
    if not isinstance(labels, list):
        labels = []
    wanted = f"{PROJECT_LABEL}={project}"
    filters["label"] = [*[str(item) for item in labels if item != wanted], wanted]
    return json.dumps(filters)


def forbidden(reason: str) -> tuple[int, dict[str, str]]:
    return 403, {
        "message": f"forbidden by bootstrap's supervisor proxy: {reason} (it may start, stop "
        "and restart this project's containers, and read their state; nothing else)"
    }


def rewritten(path: str, ref: str, container_id: str) -> str:
    """The request's path with the inspected id in place of the name it gave."""
    found = _VERSIONED.match(path)
    prefix = (found.group(1) if found else "") or ""
    rest = found.group(2) if found else path
    return prefix + rest.replace(f"/containers/{ref}/", f"/containers/{container_id}/", 1)


def owner(inspected: Mapping[str, object]) -> str:
    config = inspected.get("Config")
    labels = config.get("Labels") if isinstance(config, dict) else None
    return str(labels.get(PROJECT_LABEL, "")) if isinstance(labels, dict) else ""


class Proxy:
    """The aiohttp application over the engine's socket."""

    def __init__(self, project: str, socket_path: str) -> None:
        self.project = project
        self.socket_path = socket_path
        self._session: ClientSession | None = None

    async def session(self) -> ClientSession:
        from aiohttp import ClientSession, ClientTimeout, UnixConnector

        if self._session is None:
            self._session = ClientSession(
                connector=UnixConnector(path=self.socket_path),
                timeout=ClientTimeout(total=None, sock_connect=10),
            )
        return self._session

    async def close(self, _app: object = None) -> None:
        if self._session is not None:
            await self._session.close()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        decision = decide(request.method, request.path)
        if not decision.allowed:
            status, body = forbidden(decision.reason)
            return web.json_response(body, status=status)
        session = await self.session()
        path = request.path
        query: list[tuple[str, str]] = list(request.query.items())
        if decision.narrowed:
            query = [(k, v) for k, v in query if k != "filters"]
            query.append(("filters", narrowed_filters(request.query.get("filters"), self.project)))
        if decision.container:
            async with session.get(f"http://docker/containers/{decision.container}/json") as got:
                if got.status != 200:
                    return web.Response(
                        body=await got.read(), status=got.status, content_type="application/json"
                    )
                inspected = await got.json()
            if owner(inspected) != self.project:
                status, body = forbidden(
                    f"container {decision.container} is not of project {self.project}"
                )
                return web.json_response(body, status=status)
            path = rewritten(path, decision.container, str(inspected.get("Id", "")))
        return await self.forward(request, session, path, query)

    async def forward(
        self,
        request: web.Request,
        session: ClientSession,
        path: str,
        query: Sequence[tuple[str, str]],
    ) -> web.StreamResponse:
        from aiohttp import web

        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k in ("Content-Type",)}
        async with session.request(
            request.method, f"http://docker{path}", params=query, data=body or None, headers=headers
        ) as upstream:
            response = web.StreamResponse(status=upstream.status)
            for name in _PASSED_HEADERS:
                if name in upstream.headers:
                    response.headers[name] = upstream.headers[name]
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    def app(self) -> web.Application:
        from aiohttp import web

        application = web.Application()
        application.router.add_route("*", "/{tail:.*}", self.handle)
        application.on_cleanup.append(self.close)
        return application


def own_project(socket_path: str) -> str:
    """The compose project of the container this runs in (its hostname is its id), or ""."""
    import socket

    import docker.errors

    import docker

    try:
        client = docker.APIClient(base_url=f"unix://{socket_path}", timeout=10)
        return owner(client.inspect_container(socket.gethostname()))
    except (docker.errors.DockerException, OSError):
        return ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bootstrap.discovery.supervisorproxy")
    parser.add_argument("--project", default=os.environ.get("SUPERVISOR_PROJECT", ""))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SUPERVISOR_PORT", "2375")))
    parser.add_argument("--socket", default="/var/run/docker.sock")
    args = parser.parse_args(argv)
    project = args.project or own_project(args.socket)
    if not project:
        parser.error(
            "--project (or SUPERVISOR_PROJECT) names the one project it serves; without it, "
            "the proxy must run in a container of that compose project"
        )
    from aiohttp import web

    print(f"supervisor proxy for project {project} on :{args.port}", flush=True)
    web.run_app(Proxy(project, args.socket).app(), port=args.port, print=None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
