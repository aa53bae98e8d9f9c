"""``typesense``: ``GET /health`` says ``{"ok": true}`` (false while it loads its data)."""

from __future__ import annotations

from bootstrap.probes.httphealth import json_field, register_http

register_http(
    "typesense",
    port=8108,
    paths=["/health"],
    accept=json_field("ok", lambda value: value is True),
    images=frozenset({"typesense"}),
    signal='`GET /health` answers `{"ok": true}`',
    phase="databases",
)
