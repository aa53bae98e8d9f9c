"""``couchdb``: ``GET /_up`` answers ``{"status": "ok"}``."""

from __future__ import annotations

from bootstrap.probes.httphealth import json_field, register_http

register_http(
    "couchdb",
    port=5984,
    paths=["/_up"],
    accept=json_field("status", {"ok": True}),
    images=frozenset({"couchdb"}),
    signal='`GET /_up` answers `{"status": "ok"}`',
    phase="databases",
)
