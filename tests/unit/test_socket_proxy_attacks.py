"""The socket proxies under attack, in-process: the real proxy (both policies) in front of a
fake engine on a Unix socket that records every request reaching it. Each case is one crafted
request sent as raw bytes; what it must never do: reach another project's container, pass on
a body, a header or a query parameter the action does not take, act through an old API
version, or tell another project's container from one that does not exist. The same cases
against the real engine (the privileged start of issue 35): test_supervisor_service.py."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from bootstrap.discovery.socketproxy import POLICIES, Proxy

pytestmark = pytest.mark.security

PROJECT = "shop"
CONTAINERS = {  # id -> (name, project, env)
    "a1b2c3d4e5f6" + "0" * 52: ("shop-app-1", PROJECT, ["APP_SECRET=s3", "PATH=/bin"]),
    "a1b2c3ffff00" + "1" * 52: ("shop-db-1", PROJECT, ["POSTGRES_PASSWORD=pw", "OTHER=x"]),
    "b7b7b7b7b7b7" + "2" * 52: ("other-db-1", "other", ["POSTGRES_PASSWORD=theirs"]),
    "a1b2c3d4e5ff" + "3" * 52: ("other-app-1", "other", ["TOKEN=theirs"]),
    "c0c0c0c0c0c0" + "4" * 52: ("bank-api-1", "bank", ["KEY=theirs"]),
    "d1d1d1d1d1d1" + "5" * 52: ("bank-web-1", "bank", []),
    "e2e2e2e2e2e2" + "6" * 52: ("lonely", "", []),
}
OURS = [i for i, (_n, p, _e) in CONTAINERS.items() if p == PROJECT]
THEIRS = [i for i, (_n, p, _e) in CONTAINERS.items() if p != PROJECT]


@dataclass
class Reached:
    method: str
    path: str
    query: str
    body: bytes
    headers: dict[str, str]


@dataclass
class FakeEngine:
    """Answers as the engine does where the proxy may go, 200 "reached" everywhere else."""

    seen: list[Reached] = field(default_factory=list)

    def find(self, ref: str) -> str | None:
        if ref in CONTAINERS:
            return ref
        named = [i for i, (name, _p, _e) in CONTAINERS.items() if name == ref]
        if named:
            return named[0]
        prefixed = [i for i in CONTAINERS if i.startswith(ref)]
        return prefixed[0] if len(prefixed) == 1 else None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append(
            Reached(request.method, request.path, request.query_string, body, dict(request.headers))
        )
        parts = request.path.split("/")
        if parts[1].startswith("v1."):
            parts = ["", *parts[2:]]
        path = "/".join(parts)
        if path.startswith("/containers/") and path.endswith("/json") and path.count("/") == 3:
            found = self.find(parts[2])
            if found is None:
                return web.json_response({"message": f"No such container: {parts[2]}"}, status=404)
            name, project, env = CONTAINERS[found]
            labels = {"com.docker.compose.project": project} if project else {}
            if found == OURS[1]:
                labels["discovery.protocol"] = "postgres"
            return web.json_response(
                {"Id": found, "Name": f"/{name}", "Config": {"Labels": labels, "Env": env}}
            )
        if path in ("/_ping", "/version"):
            return web.json_response({"ApiVersion": "1.41"})
        if path == "/containers/json":
            return web.json_response([])
        return web.json_response({"reached": True})


@dataclass
class Running:
    engine: FakeEngine
    ports: dict[str, int]


@pytest.fixture(scope="module")
def proxies(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """The fake engine and one proxy per policy, on a loop in a thread."""
    folder = tmp_path_factory.mktemp("engine")
    sock = str(folder / "docker.sock")
    engine = FakeEngine()
    loop = asyncio.new_event_loop()
    ports: dict[str, int] = {}
    runners: list[web.AppRunner] = []
    ready = threading.Event()

    async def start() -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", engine.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.UnixSite(runner, sock).start()
        runners.append(runner)
        for name, policy in POLICIES.items():
            proxy = web.AppRunner(Proxy(PROJECT, sock, policy).app())
            await proxy.setup()
            site = web.TCPSite(proxy, "127.0.0.1", 0)
            await site.start()
            ports[name] = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            runners.append(proxy)
        ready.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    assert ready.is_set()
    yield Running(engine, ports)

    async def stop() -> None:
        for runner in runners:
            await runner.cleanup()

    asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def raw(port: int, request: bytes) -> tuple[int, bytes]:
    """Send bytes as they are; the status and body of the answer (0: no answer)."""
    data = b""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(request)
        conn.settimeout(1.0)  # a kept-alive connection: what came within a second
        try:
            while chunk := conn.recv(65536):
                data += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    head, _, body = data.partition(b"\r\n\r\n")
    try:
        status = int(head.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0, data
    if b"transfer-encoding: chunked" in head.lower():
        body = dechunk(body)
    return status, body


def dechunk(body: bytes) -> bytes:
    out = b""
    while body:
        size, _, rest = body.partition(b"\r\n")
        length = int(size.split(b";")[0] or b"0", 16)
        if length == 0:
            break
        out, body = out + rest[:length], rest[length + 2 :]
    return out


def request(method: str, target: str, *, extra: str = "", body: bytes = b"") -> bytes:
    head = f"{method} {target} HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n{extra}"
    if body:
        head += f"Content-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def reached_since(engine: FakeEngine, mark: int) -> list[Reached]:
    return engine.seen[mark:]


def nothing_acted(reached: list[Reached]) -> None:
    """Only inspections (GET .../json) may reach the engine for a refused request."""
    for item in reached:
        assert item.method == "GET" and item.path.endswith("/json"), item


# --- other projects' containers: by id, name, prefix; every verb; every version -------------

VERSIONS = ("", "/v1.24", "/v1.41", "/v1.51")
VERBS = ("json", "start", "stop", "restart", "kill", "stats")


def other_refs() -> list[str]:
    refs: list[str] = []
    for container in THEIRS:
        name = CONTAINERS[container][0]
        refs += [container, name, container[:12]]
    refs += ["a1b2c3", "a1b2c3d4e5", "nonexistent", "shop-app"]  # ambiguous, none, near-miss
    return refs


@pytest.mark.parametrize("policy", sorted(POLICIES))
@pytest.mark.parametrize("version", ("", "/v1.41"))
@pytest.mark.parametrize("verb", VERBS)
@pytest.mark.parametrize("ref", other_refs())
def test_another_projects_container_is_one_that_does_not_exist(
    proxies: Running, policy: str, version: str, verb: str, ref: str
) -> None:
    method = "GET" if verb in ("json", "stats") else "POST"
    mark = len(proxies.engine.seen)
    status, body = raw(proxies.ports[policy], request(method, f"{version}/containers/{ref}/{verb}"))
    allowed = verb in POLICIES[policy].reads or verb in POLICIES[policy].actions
    if allowed:
        assert status == 404, (status, body)
        assert json.loads(body) == {"message": f"No such container: {ref}"}
    else:
        assert status == 403, (status, body)
    nothing_acted(reached_since(proxies.engine, mark))


# --- what the supervisor may do, and only as it may ----------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("verb", ("start", "stop", "restart", "kill"))
@pytest.mark.parametrize("ref", [OURS[0], OURS[0][:12], "shop-app-1"])
def test_an_allowed_act_reaches_the_inspected_id_bare(
    proxies: Running, version: str, verb: str, ref: str
) -> None:
    mark = len(proxies.engine.seen)
    status, _body = raw(
        proxies.ports["supervisor"], request("POST", f"{version}/containers/{ref}/{verb}")
    )
    assert status == 200
    acted = [r for r in reached_since(proxies.engine, mark) if r.method == "POST"]
    assert [(r.path, r.query, r.body) for r in acted] == [
        (f"/containers/{OURS[0]}/{verb}", "", b"")
    ]


@pytest.mark.parametrize(
    ("target", "body", "extra"),
    [
        # a HostConfig with start: applied by engines below API 1.24
        ("/v1.23/containers/shop-app-1/start", b"", ""),
        ("/v1.19/containers/shop-app-1/start", b'{"Privileged": true}', ""),
        ("/v0.9/containers/shop-app-1/start", b"", ""),
        ("/v1.1/containers/shop-app-1/restart", b"", ""),
        ("/v/containers/shop-app-1/start", b"", ""),
        ("/v1.41x/containers/shop-app-1/start", b"", ""),
        (
            "/v1.41/containers/shop-app-1/start",
            b'{"Binds": ["/:/host"], "Privileged": true, "PidMode": "host", "NetworkMode": "host"}',
            "Content-Type: application/json\r\n",
        ),
        ("/containers/shop-app-1/start", b"{}", "Content-Type: application/json\r\n"),
        ("/containers/shop-app-1/restart", b"x", ""),
        # queries an action does not take, or values it would misread
        ("/containers/shop-app-1/start?checkpoint=evil&checkpoint-dir=/var/lib/evil", b"", ""),
        ("/containers/shop-app-1/start?detachKeys=ctrl-p", b"", ""),
        ("/containers/shop-app-1/stop?t=abc", b"", ""),
        ("/containers/shop-app-1/stop?t=1&t=2", b"", ""),
        ("/containers/shop-app-1/stop?t=99999999", b"", ""),
        ("/containers/shop-app-1/kill?signal=KILL;rm%20-rf", b"", ""),
        ("/containers/shop-app-1/kill?signal=" + "A" * 40, b"", ""),
        ("/containers/shop-app-1/restart?t=1&signal=KILL&force=1", b"", ""),
        ("/containers/shop-app-1/start?" + "a=" + "b" * 8192, b"", ""),
        ("/containers/shop-app-1/start?" + "&".join(f"k{i}=v" for i in range(200)), b"", ""),
    ],
)
def test_no_body_no_old_version_no_query_the_act_does_not_take(
    proxies: Running, target: str, body: bytes, extra: str
) -> None:
    mark = len(proxies.engine.seen)
    status, answer = raw(
        proxies.ports["supervisor"], request("POST", target, extra=extra, body=body)
    )
    assert status in (400, 403, 414, 431), (status, answer)
    nothing_acted(reached_since(proxies.engine, mark))


def test_a_chunked_body_is_not_passed_on(proxies: Running) -> None:
    mark = len(proxies.engine.seen)
    payload = b'{"Privileged": true}'
    chunked = f"{len(payload):x}\r\n".encode() + payload + b"\r\n0\r\n\r\n"
    status, _ = raw(
        proxies.ports["supervisor"],
        request(
            "POST",
            "/v1.41/containers/shop-app-1/start",
            extra="Transfer-Encoding: chunked\r\n",
        )
        + chunked,
    )
    assert status == 400
    assert reached_since(proxies.engine, mark) == []


# --- paths in another form than the one the proxy takes ------------------------------------

PATH_TRICKS = [
    "/containers/shop-app-1/../../images/json",
    "/containers/%2e%2e/images/json",
    "/containers/shop-app-1%2Fstart",
    "/containers/shop-app-1/start%00",
    "/%63ontainers/json",
    "//containers/json",
    "/containers//json",
    "/containers/json/",
    "/containers/shop-app-1/start/",
    "/./containers/json",
    "/v1.41/../images/json",
    "/v1.41//containers/json",
    "/containers/shop-app-1\\start",
    "/Containers/json",
    "/CONTAINERS/shop-app-1/START",
    "/containers/.shop/start",
    "/containers/-shop/start",
    "/containers/shop-app-1/start;.json",
    "/containers/shop-app-1/json.start",
    "/containers/" + "a" * 200 + "/start",
    "/" + "x" * 3000,
    "/containers/shop-app-1/start#frag",
    "/containers/shop%2Dapp-1/start",
    "/v1.41/containers/%73hop-app-1/start",
]


@pytest.mark.parametrize("policy", sorted(POLICIES))
@pytest.mark.parametrize("method", ("GET", "POST"))
@pytest.mark.parametrize("path", PATH_TRICKS)
def test_a_path_in_another_form_is_refused(
    proxies: Running, policy: str, method: str, path: str
) -> None:
    mark = len(proxies.engine.seen)
    status, _ = raw(proxies.ports[policy], request(method, path))
    assert status in (400, 403, 404, 414, 431), status
    nothing_acted(reached_since(proxies.engine, mark))


# --- everything that is not allowed, with every method --------------------------------------

ENDPOINTS = [
    "/containers/create",
    "/containers/shop-app-1/exec",
    "/exec/abc/start",
    "/containers/shop-app-1",
    "/containers/shop-app-1/update",
    "/containers/shop-app-1/archive",
    "/containers/shop-app-1/logs",
    "/containers/shop-app-1/attach",
    "/containers/shop-app-1/attach/ws",
    "/containers/shop-app-1/export",
    "/containers/shop-app-1/changes",
    "/containers/shop-app-1/top",
    "/containers/shop-app-1/rename",
    "/containers/shop-app-1/pause",
    "/containers/shop-app-1/unpause",
    "/containers/shop-app-1/wait",
    "/containers/shop-app-1/resize",
    "/containers/prune",
    "/images/json",
    "/images/create",
    "/images/busybox/json",
    "/build",
    "/commit",
    "/volumes",
    "/volumes/create",
    "/networks",
    "/networks/create",
    "/networks/shop_default/connect",
    "/info",
    "/system/df",
    "/auth",
    "/swarm",
    "/swarm/init",
    "/services/create",
    "/nodes",
    "/secrets",
    "/configs",
    "/plugins",
    "/session",
    "/distribution/busybox/json",
    "/tasks",
]


@pytest.mark.parametrize("policy", sorted(POLICIES))
@pytest.mark.parametrize("method", ("GET", "POST", "PUT", "DELETE", "HEAD"))
@pytest.mark.parametrize("path", ENDPOINTS)
def test_everything_else_is_refused(proxies: Running, policy: str, method: str, path: str) -> None:
    mark = len(proxies.engine.seen)
    status, _ = raw(proxies.ports[policy], request(method, f"/v1.41{path}"))
    assert status == 403, status
    assert reached_since(proxies.engine, mark) == []


# --- methods on what is allowed ---------------------------------------------------------------


@pytest.mark.parametrize("policy", sorted(POLICIES))
@pytest.mark.parametrize("method", ("POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"))
@pytest.mark.parametrize("path", ["/_ping", "/version", "/events", "/containers/json"])
def test_a_read_is_only_read(proxies: Running, policy: str, method: str, path: str) -> None:
    mark = len(proxies.engine.seen)
    status, _ = raw(proxies.ports[policy], request(method, path))
    assert status in (403, 405), status
    assert reached_since(proxies.engine, mark) == []


# --- the protocol itself: HTTP/1.0, absolute-form, upgrade, headers ---------------------------

PROTOCOL_TRICKS = [
    b"POST /containers/other-app-1/start HTTP/1.0\r\n\r\n",
    b"GET http://docker/images/json HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n",
    b"POST http://docker/containers/other-app-1/kill HTTP/1.1\r\nHost: x\r\nConnection: close"
    b"\r\n\r\n",
    b"CONNECT docker:2375 HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n",
    b"POST /containers/other-app-1/attach?stream=1 HTTP/1.1\r\nHost: x\r\nUpgrade: tcp\r\n"
    b"Connection: Upgrade\r\n\r\n",
    b"GET /containers/other-app-1/json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    b"X-Forwarded-For: 127.0.0.1\r\n\r\n",
    b"POST /containers/shop-app-1/start HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
    b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\nPOST /containers/other-app-1"
    b"/start HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /containers/shop-app-1/start HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
    b"Content-Length: 40\r\nConnection: close\r\n\r\n",
    b"GET /_ping HTTP/1.1\r\nHost: x\r\n" + b"X-Long: " + b"a" * 20000 + b"\r\n\r\n",
    b"GET /_ping\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    b"GET /containers/json?filters=" + b"%7B" * 600 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
]


@pytest.mark.parametrize("policy", sorted(POLICIES))
@pytest.mark.parametrize("sent", PROTOCOL_TRICKS)
def test_protocol_tricks_reach_nothing_of_another_project(
    proxies: Running, policy: str, sent: bytes
) -> None:
    mark = len(proxies.engine.seen)
    raw(proxies.ports[policy], sent)
    for item in reached_since(proxies.engine, mark):
        assert item.body == b"", item
        assert not any(c in item.path for c in THEIRS), item
        assert "other-app-1" not in item.path or item.method == "GET", item
        assert not item.path.startswith("/images"), item
        assert "X-Forwarded-For" not in item.headers


@pytest.mark.parametrize(
    "header",
    [
        "X-Registry-Auth: eyJ1c2VybmFtZSI6ICJ4In0=",
        "X-Registry-Config: e30=",
        "Authorization: Basic eDp5",
        "Cookie: a=b",
        "Api-Version: 1.19",
        "Content-Type: application/x-tar",
    ],
)
def test_no_header_of_the_caller_is_passed_on(proxies: Running, header: str) -> None:
    mark = len(proxies.engine.seen)
    status, _ = raw(
        proxies.ports["supervisor"],
        request("POST", "/containers/shop-app-1/restart?t=1", extra=header + "\r\n"),
    )
    assert status == 200
    name = header.partition(":")[0]
    for item in reached_since(proxies.engine, mark):
        passed = item.headers.get(name)
        assert passed is None or (name == "Content-Type" and passed != "application/x-tar"), item


# --- what discovery may see of its own project --------------------------------------------------


def test_discovery_sees_no_environment_but_a_probed_databases_credentials(
    proxies: Running,
) -> None:
    status, app = raw(proxies.ports["discovery"], request("GET", "/containers/shop-app-1/json"))
    assert status == 200 and json.loads(app)["Config"]["Env"] == []
    status, db = raw(proxies.ports["discovery"], request("GET", f"/containers/{OURS[1]}/json"))
    assert status == 200 and json.loads(db)["Config"]["Env"] == ["POSTGRES_PASSWORD=pw"]
    status, full = raw(proxies.ports["supervisor"], request("GET", "/containers/shop-app-1/json"))
    assert status == 200 and "APP_SECRET=s3" in json.loads(full)["Config"]["Env"]


def test_lists_and_events_are_narrowed_whatever_was_asked(proxies: Running) -> None:
    for policy in POLICIES:
        for path in ("/containers/json?all=1&filters=%7B%22label%22%3A%5B%5D%7D", "/events"):
            mark = len(proxies.engine.seen)
            raw(proxies.ports[policy], request("GET", path))
            reached = reached_since(proxies.engine, mark)
            assert len(reached) == 1
            query: dict[str, Any] = dict(
                item.split("=", 1) for item in reached[0].query.split("&") if item
            )
            from urllib.parse import unquote

            filters = json.loads(unquote(query["filters"]))
            assert f"com.docker.compose.project={PROJECT}" in filters["label"]
            if path == "/events":
                assert filters["type"] == ["container"]


def test_every_case_above_left_the_engine_untouched_by_another_project(proxies: Running) -> None:
    """Across every request of this file: no act on another project's container ever reached
    the engine, and no body at all."""
    for item in proxies.engine.seen:
        assert item.body == b"", item
        if item.method != "GET":
            assert any(item.path == f"/containers/{c}/{v}" for c in OURS for v in VERBS), item
