"""``influxdb``: ``GET /health`` says pass (2.x), else ``GET /ping`` answers 204 (1.x)."""

from __future__ import annotations

import json

from bootstrap.probes.httphealth import register_http


def _health(status: int, body: str) -> tuple[bool, str]:
    if status == 204:
        return True, "ping answered 204"
    try:
        said = json.loads(body).get("status")
    except (ValueError, AttributeError):
        said = None
    return status == 200 and said == "pass", f"HTTP {status}, status={said!r}"


register_http(
    "influxdb",
    port=8086,
    paths=["/health", "/ping"],
    accept=_health,
    images=frozenset({"influxdb"}),
    signal='`GET /health` says `"pass"` (2.x), or `/ping` answers 204 (1.x)',
    phase="databases",
)
