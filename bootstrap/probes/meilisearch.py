"""``meilisearch``: ``GET /health`` says ``{"status": "available"}``."""

from __future__ import annotations

from bootstrap.probes.httphealth import json_field, register_http

register_http(
    "meilisearch",
    port=7700,
    paths=["/health"],
    accept=json_field("status", {"available": True}),
    images=frozenset({"meilisearch"}),
    signal='`GET /health` answers `{"status": "available"}`',
    phase="databases",
)
