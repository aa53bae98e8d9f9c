"""``loki``: ``GET /ready`` answers 200 (the ring joined)."""

from __future__ import annotations

from bootstrap.probes.httphealth import register_http, status_is

register_http(
    "loki",
    port=3100,
    paths=["/ready"],
    accept=status_is(200),
    images=frozenset({"loki"}),
    signal="`GET /ready` answers 200",
    phase="monitoring",
)
