"""``etcd``: ``GET /health`` says ``{"health": "true"}`` (a member with a quorum)."""

from __future__ import annotations

from bootstrap.probes.httphealth import json_field, register_http

register_http(
    "etcd",
    port=2379,
    paths=["/health"],
    accept=json_field("health", {"true": True}),
    images=frozenset({"etcd"}),
    signal='`GET /health` answers `{"health": "true"}`',
    tested="real server",
    phase="discovery",
)
