"""``chroma``: the heartbeat (``/api/v2/heartbeat``; before 0.6, ``/api/v1/heartbeat``)
answers 200."""

from __future__ import annotations

from bootstrap.probes.httphealth import register_http, status_is

register_http(
    "chroma",
    port=8000,
    paths=["/api/v2/heartbeat", "/api/v1/heartbeat"],
    accept=status_is(200),
    images=frozenset({"chroma", "chromadb"}),
    signal="`GET /api/v2/heartbeat` (or v1) answers 200",
    phase="databases",
)
