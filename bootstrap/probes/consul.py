"""``consul``: ``GET /v1/status/leader`` names a leader (an empty string: no quorum yet)."""

from __future__ import annotations

from bootstrap.probes.httphealth import json_of, register_http


def _leader(status: int, body: str) -> tuple[bool, str]:
    leader = json_of(body)
    if status == 200 and isinstance(leader, str) and leader:
        return True, f"leader {leader}"
    return False, f"HTTP {status}, no leader yet"


register_http(
    "consul",
    port=8500,
    paths=["/v1/status/leader"],
    accept=_leader,
    images=frozenset({"consul"}),
    signal="`GET /v1/status/leader` names a leader",
    phase="discovery",
)
