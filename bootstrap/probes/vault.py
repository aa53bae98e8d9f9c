"""``vault``: ``GET /v1/sys/health``: 200 (active), 429 (standby), 472/473 (DR, performance
standby) are ready; 501 (not initialised) and 503 (sealed) are not."""

from __future__ import annotations

from bootstrap.probes.httphealth import register_http

_SAID = {200: "active", 429: "standby", 472: "DR secondary", 473: "performance standby",
         501: "not initialised", 503: "sealed"}  # fmt: skip


def _health(status: int, _body: str) -> tuple[bool, str]:
    return status in (200, 429, 472, 473), f"HTTP {status} ({_SAID.get(status, 'unexpected')})"


register_http(
    "vault",
    port=8200,
    paths=["/v1/sys/health"],
    accept=_health,
    images=frozenset({"vault"}),
    signal="`GET /v1/sys/health` answers 200 or a standby's 429/472/473 (sealed 503 is not ready)",
)
