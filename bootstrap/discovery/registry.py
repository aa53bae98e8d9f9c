"""The registry: which containers are registered, from their labels. Pure.

Labels read (on the container):
``discovery.enable`` (true/false), ``discovery.protocol`` (a probe kind of the registry:
http, mcp, postgres, mariadb, redis, tcp...),
``discovery.port``, ``discovery.path``, ``prometheus.scrape`` (true/false),
``prometheus.port``, ``prometheus.path``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bootstrap.mcp_client import DEFAULT_PATH
from bootstrap.probes.registry import kind, kinds
from bootstrap.runtime import ContainerInfo

_TRUE = ("true", "1", "yes", "on")


@dataclass(frozen=True)
class Registration:
    service: str
    container_id: str
    container_name: str
    address: str  # where the discovery service dials it: its IP on the shared network
    protocol: str
    port: int | None
    path: str
    scrape: bool = False
    scrape_port: int | None = None
    scrape_path: str = "/metrics"
    labels: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    phase: str = "apps"  # as bootstrap's planner places it (label, then what it is)
    memory_limit: int = 0  # bytes; 0 without a limit

    def as_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "phase": self.phase,
            "container": self.container_name,
            "address": self.address,
            "protocol": self.protocol,
            "port": self.port,
            "path": self.path,
            "prometheus": {
                "scrape": self.scrape,
                "port": self.scrape_port,
                "path": self.scrape_path,
            },
        }


@dataclass(frozen=True)
class Health:
    status: str  # "up", "down", "unknown"
    detail: str
    latency: float | None = None
    checked_at: float | None = None
    mcp: Mapping[str, Any] | None = None


class LabelError(ValueError):
    """A discovery label has a value we cannot use; the message names the label."""


def _port(labels: Mapping[str, str], key: str) -> int | None:
    raw = labels.get(key, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise LabelError(f"{key}={raw!r} is not a port number")
    return int(raw)


def registration_from(info: ContainerInfo, *, network: str | None = None) -> Registration | None:
    """A registration for a container carrying discovery or Prometheus labels, else None."""
    labels = info.labels
    enabled = labels.get("discovery.enable", "").lower() in _TRUE
    scrape = labels.get("prometheus.scrape", "").lower() in _TRUE
    if not enabled and not scrape:
        return None
    protocol = labels.get("discovery.protocol", "tcp" if enabled else "http").lower()
    if kind(protocol) is None:  # the probe registry's kinds: what `up` probes, it probes
        raise LabelError(f"discovery.protocol={protocol!r}: use one of {', '.join(kinds())}")
    addresses = dict(info.addresses)
    address = ""
    if network:
        address = next((ip for net, ip in addresses.items() if net.endswith(network) and ip), "")
    address = address or next((ip for ip in addresses.values() if ip), "")
    return Registration(
        service=info.service or info.name,
        container_id=info.id,
        container_name=info.name,
        address=address,
        protocol=protocol,
        port=_port(labels, "discovery.port"),
        path=labels.get("discovery.path", DEFAULT_PATH if protocol == "mcp" else "/"),
        scrape=scrape,
        scrape_port=_port(labels, "prometheus.port"),
        scrape_path=labels.get("prometheus.path", "/metrics"),
        labels={k: v for k, v in labels.items() if k.startswith(("discovery.", "prometheus."))},
        env=dict(info.env),
        phase=phase_of(info),
        memory_limit=info.memory_limit,
    )


def phase_of(info: ContainerInfo) -> str:
    """The container's phase by the planner's own rules (label, role, what it is)."""
    from bootstrap.classify import classify
    from bootstrap.model import Service
    from bootstrap.settings import Settings

    service = Service(name=info.service or info.name, image=info.image, labels=dict(info.labels))
    return classify(service, Settings()).phase


@dataclass
class Registry:
    """Registrations and their health, keyed by service. A service whose container stopped
    stays registered as down (so its probe metric reads 0 and Prometheus keeps its target,
    which alerts need) until its container is removed."""

    entries: dict[str, Registration] = field(default_factory=dict)
    health: dict[str, Health] = field(default_factory=dict)
    stopped: set[str] = field(default_factory=set)
    memory: dict[str, tuple[int, int]] = field(default_factory=dict)  # service -> (used, limit)

    def register(self, registration: Registration) -> bool:
        """True when this changed the registry."""
        previous = self.entries.get(registration.service)
        self.entries[registration.service] = registration
        self.stopped.discard(registration.service)
        if previous is None or previous.container_id != registration.container_id:
            self.health[registration.service] = Health("unknown", "not probed yet")
        self.health.setdefault(registration.service, Health("unknown", "not probed yet"))
        return previous != registration

    def _service_of(self, container_id: str) -> str | None:
        return next((n for n, e in self.entries.items() if e.container_id == container_id), None)

    def mark_stopped(self, container_id: str, detail: str, at: float) -> str | None:
        """The container stopped: its service is down until it starts or is removed."""
        name = self._service_of(container_id)
        if name is not None:
            self.stopped.add(name)
            self.health[name] = Health("down", detail, None, at)
            self.memory.pop(name, None)
        return name

    def deregister_container(self, container_id: str) -> str | None:
        name = self._service_of(container_id)
        if name is not None:
            del self.entries[name]
            self.health.pop(name, None)
            self.memory.pop(name, None)
            self.stopped.discard(name)
        return name

    def running(self) -> list[Registration]:
        return [e for n, e in self.entries.items() if n not in self.stopped]

    def set_health(self, service: str, health: Health) -> bool:
        """Record a probe result; True when the status changed."""
        if service not in self.entries or service in self.stopped:
            return False
        previous = self.health.get(service)
        self.health[service] = health
        return previous is None or previous.status != health.status

    def snapshot(self) -> list[dict[str, Any]]:
        return [
            {**entry.as_dict(), **health_dict(self.health.get(name))}
            for name, entry in sorted(self.entries.items())
        ]


def health_dict(health: Health | None) -> dict[str, Any]:
    if health is None:
        return {"status": "unknown", "detail": ""}
    result: dict[str, Any] = {
        "status": health.status,
        "detail": health.detail,
        "latency": health.latency,
        "checked_at": health.checked_at,
    }
    if health.mcp is not None:
        result["mcp"] = dict(health.mcp)
    return result


def file_sd(entries: Iterable[Registration], project: str = "") -> list[dict[str, Any]]:
    """Prometheus ``file_sd_configs`` targets: one group per scraped service."""
    groups = []
    for entry in sorted(entries, key=lambda e: e.service):
        if not entry.scrape:
            continue
        port = entry.scrape_port or entry.port
        if port is None:
            continue
        host = entry.service  # Prometheus sits on the same network: the DNS name is stable
        labels = {
            "job": entry.service,
            "service": entry.service,
            "__metrics_path__": entry.scrape_path,
        }
        if project:
            labels["compose_project"] = project
        groups.append({"targets": [f"{host}:{port}"], "labels": labels})
    return groups


def label_value(value: str) -> str:
    """A label value as the Prometheus text exposition format writes it: a backslash, a
    double quote and a line feed escaped, so no value can end its line or start another."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def metrics_text(registry: Registry, alerts_firing: int = 0) -> str:
    """The Prometheus text exposition of the registry."""
    lines = [
        "# HELP bootstrap_discovery_registered_services Services in the registry.",
        "# TYPE bootstrap_discovery_registered_services gauge",
        f"bootstrap_discovery_registered_services {len(registry.entries)}",
        "# HELP bootstrap_discovery_service_up 1 when the service's last probe succeeded.",
        "# TYPE bootstrap_discovery_service_up gauge",
    ]
    for name in sorted(registry.entries):
        health = registry.health.get(name)
        up = 1 if health and health.status == "up" else 0
        lines.append(f'bootstrap_discovery_service_up{{service="{label_value(name)}"}} {up}')
    lines += [
        "# HELP bootstrap_discovery_probe_latency_seconds Duration of the last probe.",
        "# TYPE bootstrap_discovery_probe_latency_seconds gauge",
    ]
    for name in sorted(registry.entries):
        health = registry.health.get(name)
        if health and health.latency is not None:
            lines.append(
                f'bootstrap_discovery_probe_latency_seconds{{service="{label_value(name)}"}} '
                f"{health.latency:.6f}"
            )
    lines += [
        "# HELP bootstrap_container_memory_bytes Memory the service's container uses.",
        "# TYPE bootstrap_container_memory_bytes gauge",
        *(
            f'bootstrap_container_memory_bytes{{service="{label_value(name)}"}} {used}'
            for name, (used, _limit) in sorted(registry.memory.items())
        ),
        "# HELP bootstrap_container_memory_limit_bytes Its memory limit (only where one is set).",
        "# TYPE bootstrap_container_memory_limit_bytes gauge",
        *(
            f'bootstrap_container_memory_limit_bytes{{service="{label_value(name)}"}} {limit}'
            for name, (_used, limit) in sorted(registry.memory.items())
            if limit
        ),
        "# HELP bootstrap_discovery_alerts_firing Alerts Alertmanager reported firing.",
        "# TYPE bootstrap_discovery_alerts_firing gauge",
        f"bootstrap_discovery_alerts_firing {alerts_firing}",
    ]
    return "\n".join(lines) + "\n"
