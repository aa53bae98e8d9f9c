"""``qdrant``: ``GET /readyz`` answers 200 (its collections loaded; ``/healthz`` is only up)."""

from __future__ import annotations

from bootstrap.probes.httphealth import register_http, status_is

register_http(
    "qdrant",
    port=6333,
    paths=["/readyz"],
    accept=status_is(200),
    images=frozenset({"qdrant"}),
    signal="`GET /readyz` answers 200",
    phase="databases",
)
