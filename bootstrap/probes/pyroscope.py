"""``pyroscope`` (Grafana Pyroscope): ``GET /ready`` answers 200."""

from __future__ import annotations

from bootstrap.probes.httphealth import register_http, status_is

register_http(
    "pyroscope",
    port=4040,
    paths=["/ready"],
    accept=status_is(200),
    images=frozenset({"pyroscope"}),
    signal="`GET /ready` answers 200",
    phase="monitoring",
)
