"""``mimir`` (Grafana Mimir): ``GET /ready`` answers 200."""

from __future__ import annotations

from bootstrap.probes.httphealth import register_http, status_is

register_http(
    "mimir",
    port=8080,
    paths=["/ready"],
    accept=status_is(200),
    images=frozenset({"mimir"}),
    signal="`GET /ready` answers 200",
    phase="monitoring",
)
