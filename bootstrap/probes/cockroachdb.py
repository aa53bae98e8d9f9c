"""``cockroachdb``: ``GET /health?ready=1`` on the HTTP port answers 200 (a node that takes
SQL, not one still joining)."""

from __future__ import annotations

from bootstrap.probes.httphealth import register_http, status_is

register_http(
    "cockroachdb",
    port=8080,
    paths=["/health?ready=1"],
    accept=status_is(200),
    images=frozenset({"cockroach", "cockroachdb"}),
    signal="`GET /health?ready=1` answers 200",
    phase="databases",
)
