"""``minio``: ``GET /minio/health/ready`` answers 200."""

from __future__ import annotations

from bootstrap.probes.httphealth import register_http, status_is

register_http(
    "minio",
    port=9000,
    paths=["/minio/health/ready"],
    accept=status_is(200),
    images=frozenset({"minio"}),
    signal="`GET /minio/health/ready` answers 200",
    phase="databases",
)
