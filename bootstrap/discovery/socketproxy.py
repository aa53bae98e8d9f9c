"""The stack's one proxy in front of the Docker socket: the slice of the API one caller needs,
for one compose project's containers only. Two policies, one per caller:

- ``supervisor`` (the stack's own supervisor): GET ``_ping`` and ``version``; the container
  events and the container list, narrowed to the project; GET ``containers/REF/json``; POST
  ``containers/REF/{start,stop,restart,kill}``.
- ``discovery`` (the discovery service): GET ``_ping`` and ``version``; the events and the
  list, narrowed; GET ``containers/REF/json`` with ``Config.Env`` cut to the credentials the
  SQL probes read (of a container discovery probes as a database; nothing of any other);
  GET ``containers/REF/stats`` (its memory, one reading).

Whatever the policy, ``REF`` must be a container of the project: it is inspected first and the
request goes to the inspected id (a name taken over meanwhile is not acted on); a container of
another project is answered exactly as one that does not exist (404, the same body), so
walking names or id prefixes tells nothing. Nothing of the request is passed on but what the
rule allows: no body (a request that brings one is refused: the engine applies a HostConfig
sent with ``start`` for API versions below 1.24), no header, only the query parameters the
action takes, each checked (``t`` a number, ``signal`` a signal's name or number), and actions
go to the engine without a version prefix (its own current API). A path that is not in the
canonical form (percent-encoding, ``..``, ``//``, a trailing slash), an API version below
1.24, a URL or query that is too long: 400. Everything else: 403.

``python -m bootstrap.discovery.socketproxy --policy supervisor|discovery [--project NAME]``
(else the project of the container it runs in); it listens on ``--port`` (2375) of loopback and
of its own addresses on the networks it is attached to (``--host`` to choose), never on
another interface.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiohttp import ClientSession, web

PROJECT_LABEL = "com.docker.compose.project"
PROTOCOL_LABEL = "discovery.protocol"
MAX_TARGET = 2048  # bytes of path and query together
MIN_API = (1, 24)
_VERSIONED = re.compile(r"^/v([0-9]{1,2})\.([0-9]{1,3})(/.*)$")
_CONTAINER = re.compile(r"^/containers/([A-Za-z0-9][A-Za-z0-9_.-]{0,127})/([a-z]+)$")
_NUMBER = re.compile(r"^-?[0-9]{1,5}$")
_SIGNAL = re.compile(r"^(?:SIG)?[A-Z][A-Z0-9+-]{0,11}$|^[0-9]{1,2}$")
_BOOLEAN = re.compile(r"^(?:0|1|true|false|True|False)$")
_TIMESTAMP = re.compile(r"^[0-9]{1,20}(?:\.[0-9]{1,9})?$")
_PASSED_HEADERS = ("Content-Type", "Api-Version", "Docker-Experimental", "Ostype", "Server")


def _checked(pattern: re.Pattern[str]) -> Callable[[str], bool]:
    return lambda value: pattern.match(value) is not None


def _filters(value: str) -> bool:
    return len(value) <= 1024  # replaced by the proxy's own: only the size matters


# query parameters each endpoint takes, and the check of each value
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
LIST_QUERY: Mapping[str, Callable[[str], bool]] = {  # as the SDK and the CLI ask
    "all": _checked(_BOOLEAN),
    "filters": _filters,
    "limit": _checked(_NUMBER),
    "size": _checked(_BOOLEAN),
    "trunc_cmd": _checked(_BOOLEAN),
    "since": _checked(_REF),
    "before": _checked(_REF),
}
EVENTS_QUERY: Mapping[str, Callable[[str], bool]] = {
    "since": _checked(_TIMESTAMP),
    "until": _checked(_TIMESTAMP),
    "filters": _filters,
}
ACTION_QUERY: Mapping[str, Mapping[str, Callable[[str], bool]]] = {
    "start": {},
    "stop": {"t": _checked(_NUMBER), "signal": _checked(_SIGNAL)},
    "restart": {"t": _checked(_NUMBER), "signal": _checked(_SIGNAL)},
    "kill": {"signal": _checked(_SIGNAL)},
}
READ_QUERY: Mapping[str, Mapping[str, Callable[[str], bool]]] = {
    "json": {"size": _checked(_BOOLEAN)},
    "stats": {"stream": _checked(_BOOLEAN), "one-shot": _checked(_BOOLEAN)},
}


@dataclass(frozen=True)
class Policy:
    """What one caller may do. ``reads``: the container sub-resources it may GET; ``actions``:
    those it may POST; ``env``: a container's ``Config.Env`` as it may see it (None: as is)."""

    name: str
    reads: frozenset[str]
    actions: frozenset[str] = frozenset()
    env: Callable[[Mapping[str, Any]], list[str]] | None = None
    what: str = ""  # said in every refusal


def credential_env(inspected: Mapping[str, Any]) -> list[str]:
    """``Config.Env`` as discovery may see it: of a container it probes as a database (its
    ``discovery.protocol`` label is a SQL kind), the variables that kind reads credentials
    from (asked of the probe registry); of any other, nothing."""
    from bootstrap.probes.registry import credential_names

    config = inspected.get("Config")
    if not isinstance(config, dict):
        return []
    labels = config.get("Labels") if isinstance(config.get("Labels"), dict) else {}
    names = credential_names(str((labels or {}).get(PROTOCOL_LABEL, "")))
    return [
        item
        for item in config.get("Env") or []
        if isinstance(item, str) and item.partition("=")[0] in names
    ]


POLICIES: Mapping[str, Policy] = {
    "supervisor": Policy(
        "supervisor",
        reads=frozenset({"json"}),
        actions=frozenset(ACTION_QUERY),
        what="it may start, stop, restart and kill this project's containers and read their "
        "state; nothing else",
    ),
    "discovery": Policy(
        "discovery",
        reads=frozenset({"json", "stats"}),
        env=credential_env,
        what="it may read this project's containers, their events and memory; nothing else",
    ),
}


@dataclass(frozen=True)
class Decision:
    """What the proxy does with one request. Pure data, from ``decide``."""

    status: int  # 0: allowed; else the status to answer with
    reason: str = ""
    container: str = ""  # the container to check first: it must be the project's
    verb: str = ""  # json, stats, start, stop, restart, kill
    narrowed: bool = False  # a list or events: the project's label filter is added
    path: str = ""  # what goes to the engine (the inspected id still to put in for REF)
    query: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def allowed(self) -> bool:
        return self.status == 0


def _refused(reason: str) -> Decision:
    return Decision(403, reason)


def _bad(reason: str) -> Decision:
    return Decision(400, reason)


def canonical_problem(raw_path: str, raw_query: str) -> str | None:
    """Why a request's target is not in the one form the proxy takes, or None."""
    segments = raw_path.split("/")
    problems = (
        (len(raw_path) + len(raw_query) > MAX_TARGET, "the request's URL is too long"),
        (not raw_path.startswith("/"), "the path is not absolute"),
        ("%" in raw_path or "\\" in raw_path, "an encoded or escaped path is not taken"),
        ("" in segments[1:] and raw_path != "/", "empty path segments are not taken"),
        (any(part in (".", "..") for part in segments), "dot segments are not taken"),
        (
            any(ord(c) < 0x21 or ord(c) > 0x7E for c in raw_path + raw_query),
            "control or non-ASCII characters are not taken",
        ),
    )
    return next((said for bad, said in problems if bad), None)


def _query(
    pairs: Sequence[tuple[str, str]], allowed: Mapping[str, Callable[[str], bool]]
) -> tuple[tuple[tuple[str, str], ...], str | None]:
    """The pairs the endpoint takes, checked; an unknown, repeated or bad one is refused."""
    seen: dict[str, str] = {}
    for key, value in pairs:
        check = allowed.get(key)
        if check is None:
            return (), f"the query parameter {key!r} is not taken here"
        if key in seen:
            return (), f"the query parameter {key!r} is given twice"
        if not check(value):
            return (), f"the value of {key!r} is not one this proxy passes on"
        seen[key] = value
    return tuple(seen.items()), None


def decide(
    policy: Policy,
    method: str,
    raw_path: str,
    query: Sequence[tuple[str, str]] = (),
    *,
    raw_query: str = "",
    has_body: bool = False,
) -> Decision:
    """The rule set, on a method, the path as sent and its query (pure)."""
    decision = _decide(policy, method, raw_path, query, raw_query)
    if decision.allowed and has_body:
        return _bad("a request with a body is not passed on")
    return decision


def _decide(  # noqa: PLR0911 - one return per rule
    policy: Policy,
    method: str,
    raw_path: str,
    query: Sequence[tuple[str, str]],
    raw_query: str,
) -> Decision:
    problem = canonical_problem(raw_path, raw_query)
    if problem is not None:
        return _bad(problem)
    versioned = _VERSIONED.match(raw_path)
    prefix, rest = "", raw_path
    if versioned is not None:
        major, minor, rest = int(versioned.group(1)), int(versioned.group(2)), versioned.group(3)
        if (major, minor) < MIN_API:
            return _bad(f"API version {major}.{minor} is below 1.24, which this proxy refuses")
        prefix = raw_path[: len(raw_path) - len(rest)]
    elif raw_path.startswith("/v") and raw_path[2:3].isdigit():
        return _bad("not an API version")
    reading = method in ("GET", "HEAD")
    if rest in ("/_ping", "/version"):
        return Decision(0, path=prefix + rest) if reading else _refused(f"{method} {rest}")
    if rest in ("/events", "/containers/json"):
        if method != "GET":
            return _refused(f"{method} {rest}")
        taken, why = _query(query, EVENTS_QUERY if rest == "/events" else LIST_QUERY)
        return _bad(why) if why else Decision(0, narrowed=True, path=prefix + rest, query=taken)
    match = _CONTAINER.match(rest)
    if match is None:
        return _refused(f"{method} {rest} is not among what {policy.name} may do")
    ref, verb = match.groups()
    if verb in policy.reads and reading:
        taken, why = _query(query, READ_QUERY[verb])
        path = prefix + rest
    elif verb in policy.actions and method == "POST":
        taken, why = _query(query, ACTION_QUERY[verb])
        path = rest  # no version prefix: the engine's own API, where start takes no HostConfig
    else:
        return _refused(f"{method} {rest} is not among what {policy.name} may do")
    if why is not None:
        return _bad(why)
    return Decision(0, container=ref, verb=verb, path=path, query=taken)


def narrowed_filters(raw: str | None, project: str, *, events: bool = False) -> str:
    """``filters`` (the API's JSON) with the project's label added (and, of ``events``, only
    the containers'), whatever was asked."""
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
    if events:
        filters["type"] = ["container"]
    else:
        filters.pop("type", None)
    return json.dumps(filters)


def refusal(status: int, reason: str, policy: Policy) -> dict[str, str]:
    said = "bad request" if status == 400 else "forbidden"
    return {"message": f"{said} by bootstrap's socket proxy: {reason} ({policy.what})"}


def no_such_container(ref: str) -> dict[str, str]:
    """The answer for a container that does not exist and for one of another project alike."""
    return {"message": f"No such container: {ref}"}


def rewritten(path: str, ref: str, container_id: str) -> str:
    """The path with the inspected id in place of the name or prefix it gave."""
    return path.replace(f"/containers/{ref}/", f"/containers/{container_id}/", 1)


def owner(inspected: Mapping[str, object]) -> str:
    config = inspected.get("Config")
    labels = config.get("Labels") if isinstance(config, dict) else None
    return str(labels.get(PROJECT_LABEL, "")) if isinstance(labels, dict) else ""


def shown(inspected: dict[str, Any], policy: Policy) -> dict[str, Any]:
    """A container's inspect as the policy lets its caller see it."""
    if policy.env is None:
        return inspected
    config = dict(inspected.get("Config") or {})
    config["Env"] = policy.env(inspected)
    return {**inspected, "Config": config}


class Proxy:
    """The aiohttp application over the engine's socket."""

    def __init__(self, project: str, socket_path: str, policy: Policy) -> None:
        self.project = project
        self.socket_path = socket_path
        self.policy = policy
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

        raw_path, _, raw_query = request.raw_path.partition("?")
        has_body = request.body_exists or request.content_length not in (None, 0)
        decision = decide(
            self.policy,
            request.method,
            raw_path,
            list(request.query.items()),
            raw_query=raw_query,
            has_body=has_body,
        )
        if not decision.allowed:
            body = refusal(decision.status, decision.reason, self.policy)
            return web.json_response(body, status=decision.status)
        session = await self.session()
        path, query = decision.path, list(decision.query)
        if decision.narrowed:
            asked = dict(decision.query).get("filters")
            query = [(k, v) for k, v in query if k != "filters"]
            events = decision.path.endswith("/events")
            query.append(("filters", narrowed_filters(asked, self.project, events=events)))
        if decision.container:
            inspected = await self.inspect(session, decision.container)
            if inspected is None or owner(inspected) != self.project:
                return web.json_response(no_such_container(decision.container), status=404)
            if decision.verb == "json":
                return web.json_response(shown(inspected, self.policy))
            path = rewritten(path, decision.container, str(inspected.get("Id", "")))
        return await self.forward(request, session, path, query)

    async def inspect(self, session: ClientSession, ref: str) -> dict[str, Any] | None:
        """The container ``ref`` names (a name, an id, an unambiguous id prefix), or None."""
        async with session.get(f"http://docker/containers/{ref}/json") as got:
            if got.status != 200:
                return None
            found = await got.json()
        return found if isinstance(found, dict) else None

    async def forward(
        self,
        request: web.Request,
        session: ClientSession,
        path: str,
        query: Sequence[tuple[str, str]],
    ) -> web.StreamResponse:
        from aiohttp import web

        async with session.request(request.method, f"http://docker{path}", params=query) as up:
            response = web.StreamResponse(status=up.status)
            for name in _PASSED_HEADERS:
                if name in up.headers:
                    response.headers[name] = up.headers[name]
            await response.prepare(request)
            async for chunk in up.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    def app(self) -> web.Application:
        from aiohttp import web

        application = web.Application(client_max_size=1024)
        application.router.add_route("*", "/{tail:.*}", self.handle)
        application.on_cleanup.append(self.close)
        return application


def own_container(socket_path: str) -> dict[str, Any]:
    """The inspect of the container this runs in (its hostname is its id), or {}."""
    import socket

    import docker.errors

    import docker

    try:
        client = docker.APIClient(base_url=f"unix://{socket_path}", timeout=10)
        found = client.inspect_container(socket.gethostname())
    except (docker.errors.DockerException, OSError):
        return {}
    return found if isinstance(found, dict) else {}


def own_addresses(inspected: Mapping[str, Any]) -> list[str]:
    """Loopback and the container's addresses on the networks it is attached to."""
    networks = (inspected.get("NetworkSettings") or {}).get("Networks") or {}
    found = [str(n.get("IPAddress")) for n in networks.values() if n and n.get("IPAddress")]
    return ["127.0.0.1", *sorted(set(found))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bootstrap.discovery.socketproxy")
    parser.add_argument("--policy", choices=sorted(POLICIES), required=True)
    parser.add_argument("--project", default=os.environ.get("PROXY_PROJECT", ""))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PROXY_PORT", "2375")))
    parser.add_argument("--host", action="append", help="An address to listen on (repeatable).")
    parser.add_argument("--socket", default="/var/run/docker.sock")
    args = parser.parse_args(argv)
    itself = own_container(args.socket) if not (args.project and args.host) else {}
    project = args.project or owner(itself)
    if not project:
        parser.error(
            "--project (or PROXY_PROJECT) names the one project it serves; without it, "
            "the proxy must run in a container of that compose project"
        )
    hosts = args.host or own_addresses(itself)
    from aiohttp import web

    policy = POLICIES[args.policy]
    print(
        f"socket proxy ({policy.name}) for project {project} on {', '.join(hosts)} "
        f"port {args.port}",
        flush=True,
    )
    web.run_app(Proxy(project, args.socket, policy).app(), host=hosts, port=args.port, print=None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
