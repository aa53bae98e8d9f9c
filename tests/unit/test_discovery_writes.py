"""Who may write to the discovery service, and what a write can do: the real aiohttp app on
loopback (over a fake engine), the attacks of issue 35 kept as cases. A browser page of
another site must not write nor follow /ws; a container of the stack must not write without
the stack's token; a write is bounded; nothing written can forge a line of /metrics."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web

from bootstrap.discovery.alerts import MAX_ALERTS
from bootstrap.discovery.server import DiscoveryConfig, DiscoveryService
from bootstrap.discovery.supervision import MAX_ACTIONS
from tests.unit.fakes import FakeEngine

pytestmark = pytest.mark.security
TOKEN = "stack-token-123456"


@dataclass
class Served:
    port: int
    service: DiscoveryService


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder: Path = tmp_path_factory.mktemp("sd")
    config = DiscoveryConfig("shop", sd_file=folder / "targets.json", token=TOKEN, interval=60)
    service = DiscoveryService(FakeEngine(), config)
    loop = asyncio.new_event_loop()
    holder: list[web.AppRunner] = []
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def start() -> None:
        runner = web.AppRunner(service.app())
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        holder.append(runner)

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    yield Served(port, service)
    asyncio.run_coroutine_threadsafe(holder[0].cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def call(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=body, headers=headers or {}, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def alert(name: str) -> dict[str, object]:
    return {"status": "firing", "labels": {"alertname": name}, "fingerprint": name}


JSON = {"Content-Type": "application/json"}
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 415),  # a browser's "simple" request: text/plain, no preflight
        ({"Content-Type": "text/plain"}, 401),
        (JSON, 401),
        ({**JSON, "Authorization": "Bearer wrong"}, 401),
        ({**JSON, "Authorization": f"Basic {TOKEN}"}, 401),
        ({**JSON, "Authorization": f"Bearer {TOKEN}x"}, 401),
        ({**JSON, **BEARER, "Origin": "http://evil.example"}, 403),
        ({**JSON, **BEARER, "Origin": "null"}, 403),
        ({**BEARER, "Content-Type": "text/plain"}, 415),
    ],
)
@pytest.mark.parametrize("path", ["/alerts", "/supervision"])
def test_a_write_without_the_token_or_from_another_site_is_refused(
    served: Served, headers: dict[str, str], status: int, path: str
) -> None:
    body = json.dumps({"alerts": [alert("Forged")]}).encode()
    if not headers:
        headers = {"Content-Type": "text/plain", "Origin": "http://evil.example"}
        status = 403
    got, said = call(served.port, "POST", path, body, headers)
    assert got == status, said
    assert "Forged" not in call(served.port, "GET", "/alerts")[1]


def test_the_stacks_writers_write(served: Served) -> None:
    body = json.dumps({"alerts": [alert("Real")]}).encode()
    assert call(served.port, "POST", "/alerts", body, {**JSON, **BEARER})[0] == 200
    assert "Real" in call(served.port, "GET", "/alerts")[1]
    same_origin = {**JSON, **BEARER, "Origin": f"http://127.0.0.1:{served.port}"}
    resolved = json.dumps({"alerts": [{**alert("Real"), "status": "resolved"}]}).encode()
    assert call(served.port, "POST", "/alerts", resolved, same_origin)[0] == 200


def test_a_write_is_bounded(served: Served) -> None:
    many = json.dumps({"alerts": [alert(f"A{i}") for i in range(MAX_ALERTS + 1)]}).encode()
    assert call(served.port, "POST", "/alerts", many, {**JSON, **BEARER})[0] == 400
    actions = {
        "actions": [
            {"service": "a", "kind": "kept", "reason": "", "at": 1.0}
            for _ in range(MAX_ACTIONS + 1)
        ]
    }
    body = json.dumps(actions).encode()
    assert call(served.port, "POST", "/supervision", body, {**JSON, **BEARER})[0] == 400
    huge = b'{"alerts": [' + b'{"labels": {"alertname": "x"}},' * 20000 + b"{}]}"
    assert call(served.port, "POST", "/alerts", huge, {**JSON, **BEARER})[0] == 413
    assert served.service.alerts.active() == []


@pytest.mark.parametrize(
    "service",
    [
        'db"} 1\nbootstrap_discovery_service_up{service="db',
        "db\nbootstrap_discovery_alerts_firing 0",
        'x",kind="restarted',
        "x\\",
    ],
)
def test_no_write_forges_a_line_of_the_metrics(served: Served, service: str) -> None:
    action = {"service": service, "kind": "restarted", "reason": "r\n}", "at": 1.0}
    got, _ = call(
        served.port, "POST", "/supervision", json.dumps(action).encode(), {**JSON, **BEARER}
    )
    assert got == 400  # not a service name compose takes
    metrics = call(served.port, "GET", "/metrics")[1]
    assert 'service="db"} 1' not in metrics
    firing = [
        line for line in metrics.splitlines() if line.startswith("bootstrap_discovery_alerts")
    ]
    assert len(firing) == 1


def test_label_values_are_escaped_as_the_exposition_format_says() -> None:
    from bootstrap.discovery.registry import label_value

    assert label_value('a"b\\c\nd') == 'a\\"b\\\\c\\nd'


def test_the_websocket_refuses_another_sites_page(served: Served) -> None:
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    upgrade = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": key,
    }
    assert (
        call(served.port, "GET", "/ws", None, {**upgrade, "Origin": "http://evil.example"})[0]
        == 403
    )


def test_a_host_run_listens_on_loopback_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    import bootstrap.reach

    monkeypatch.setattr(bootstrap.reach, "in_container", lambda: False)
    assert DiscoveryConfig.from_env({}, "shop").host == "127.0.0.1"
    monkeypatch.setattr(bootstrap.reach, "in_container", lambda: True)
    assert DiscoveryConfig.from_env({}, "shop").host == "0.0.0.0"
    assert DiscoveryConfig.from_env({"DISCOVERY_HOST": "0.0.0.0"}, "shop").host == "0.0.0.0"
    assert DiscoveryConfig.from_env({"DISCOVERY_TOKEN": " t "}, "shop").token == "t"
