"""Which phase each service belongs to, and why. Pure."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from bootstrap.model import Service
from bootstrap.settings import Settings

PHASE_LABEL = "bootstrap.phase"
ROLE_LABEL = "bootstrap.role"

DATABASE_IMAGES = (
    "postgres", "postgis", "timescaledb", "mariadb", "mysql", "percona", "redis", "valkey",
    "keydb", "mongo", "memcached", "cassandra", "scylla", "couchdb", "clickhouse", "neo4j",
    "influxdb", "cockroach",
)  # fmt: skip
MONITORING_IMAGES = (
    "prometheus", "grafana", "exporter", "cadvisor", "alertmanager", "loki", "promtail",
    "tempo", "jaeger", "otel", "opentelemetry", "pushgateway",
)  # fmt: skip
DISCOVERY_IMAGES = ("consul", "etcd", "zookeeper", "eureka", "discovery")


@dataclass(frozen=True)
class Placement:
    """A service's phase, the reason for it, and whether a label set it."""

    phase: str
    reason: str
    explicit: bool = False


def image_name(image: str) -> str:
    """``quay.io/org/postgres-exporter:1.2`` -> ``postgres-exporter``."""
    last = image.rsplit("/", 1)[-1]
    return last.split("@", 1)[0].split(":", 1)[0].lower()


def image_kind(service: Service) -> str | None:
    """What the service runs, judged by its image name: a phase name, or None."""
    name = image_name(service.image) if service.image else ""
    if not name:
        return None
    if any(word in name for word in MONITORING_IMAGES):
        return "monitoring"
    if any(word in name for word in DISCOVERY_IMAGES):
        return "discovery"
    if any(word in name for word in DATABASE_IMAGES):
        return "databases"
    return None


def database_engine(service: Service) -> str | None:
    """``postgres`` or ``mariadb`` when the image runs one of those SQL servers."""
    name = image_name(service.image)
    if "exporter" in name:
        return None
    if any(word in name for word in ("postgres", "postgis", "timescaledb")):
        return "postgres"
    if any(word in name for word in ("mariadb", "mysql", "percona")):
        return "mariadb"
    return None


def static_address(service: Service, settings: Settings) -> str | None:
    for attachment in service.networks:
        if attachment.ipv4_address and attachment.network == settings.network:
            return attachment.ipv4_address
    return next((a.ipv4_address for a in service.networks if a.ipv4_address), None)


def classify(service: Service, settings: Settings) -> Placement:
    """Label, then the discovery role, then the static IP's tier, then the image, else apps.

    An unknown label value is left to validation (which suggests the closest phase).
    """
    label = service.label(PHASE_LABEL)
    if label:
        return Placement(label, f"label {PHASE_LABEL}={label}", explicit=True)
    if service.label(ROLE_LABEL) == "discovery" and "discovery" in settings.phases:
        return Placement("discovery", f"label {ROLE_LABEL}=discovery")
    if image_kind(service) == "discovery" and "discovery" in settings.phases:
        return Placement("discovery", f"image {service.image} is a service registry")
    address = static_address(service, settings)
    if address:
        try:
            ip = ipaddress.ip_address(address)
            subnet = ipaddress.ip_network(settings.subnet, strict=False)
        except ValueError:
            ip = None
        if ip is not None and ip in subnet:
            tier = settings.tier_for_offset(int(ip) - int(subnet.network_address))
            if tier and tier.phase in settings.phases:
                return Placement(
                    tier.phase, f"address {address} is in the {tier.name} tier (.{tier.hosts})"
                )
    kind = image_kind(service)
    if kind and kind in settings.phases:
        return Placement(kind, f"image {service.image} runs {kind.rstrip('s')} software")
    default = "apps" if "apps" in settings.phases else settings.phases[-1]
    return Placement(default, "no label, tier address or known image: an application")
