"""``weaviate``: ``GET /v1/.well-known/ready`` answers 200 (the node takes requests)."""

from __future__ import annotations

from bootstrap.probes.httphealth import register_http, status_is

register_http(
    "weaviate",
    port=8080,
    paths=["/v1/.well-known/ready"],
    accept=status_is(200),
    images=frozenset({"weaviate"}),
    signal="`GET /v1/.well-known/ready` answers 200",
    phase="databases",
)
