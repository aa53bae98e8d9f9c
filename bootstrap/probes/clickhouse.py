"""``clickhouse``: ``GET /ping`` on the HTTP port answers ``Ok.``."""

from __future__ import annotations

from bootstrap.probes.httphealth import register_http


def _ok(status: int, body: str) -> tuple[bool, str]:
    return status == 200 and body.strip() == "Ok.", f"HTTP {status} {body.strip()[:40]!r}"


register_http(
    "clickhouse",
    port=8123,
    paths=["/ping"],
    accept=_ok,
    images=frozenset({"clickhouse", "myscaledb"}),  # MyScale is a ClickHouse build
    signal="`GET /ping` answers `Ok.`",
    phase="databases",
)
