"""``keycloak``: ``GET /health/ready`` (the management port 9000 from Keycloak 25, else 8080
with KC_HEALTH_ENABLED) says UP."""

from __future__ import annotations

from bootstrap.probes.httphealth import json_field, register_http

register_http(
    "keycloak",
    port=9000,
    paths=["/health/ready"],
    accept=json_field("status", {"UP": True}),
    images=frozenset({"keycloak"}),
    signal='`GET /health/ready` (management port 9000) answers `{"status": "UP"}`',
)
