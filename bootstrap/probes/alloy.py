"""``alloy`` (Grafana Alloy): ``GET /-/ready`` answers 200."""

from __future__ import annotations

from bootstrap.probes.httphealth import register_http, status_is

register_http(
    "alloy",
    port=12345,
    paths=["/-/ready"],
    accept=status_is(200),
    images=frozenset({"alloy"}),
    signal="`GET /-/ready` answers 200",
    phase="monitoring",
)
