"""``keycloak``: ``GET /health/ready`` (the management port 9000 from Keycloak 25, else 8080
with KC_HEALTH_ENABLED) says UP. The legacy images (``jboss/keycloak``, ``:legacy``) are not
recognised as this kind: their port or healthcheck gates them."""

from __future__ import annotations

from bootstrap.probes.httphealth import json_field, register_http

register_http(
    "keycloak",
    port=9000,
    paths=["/health/ready"],
    accept=json_field("status", {"UP": True}),
    images=frozenset({"keycloak"}),
    # the WildFly-based Keycloak (up to 16; jboss/keycloak, quay.io/keycloak/keycloak:legacy)
    # serves /auth on 8080 and has no /health/ready, nor the management port
    legacy=frozenset({"jboss-keycloak", ":legacy"}),
    signal='`GET /health/ready` (management port 9000) answers `{"status": "UP"}`',
)
