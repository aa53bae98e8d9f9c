"""Build stacks and plans from compose-shaped dicts, with no Docker."""

from __future__ import annotations

from typing import Any

from bootstrap.model import Stack, stack_from_compose
from bootstrap.plan import Plan, build_plan
from bootstrap.settings import SEED_PORT_RANGES, SEED_TIERS, Settings

NET = "mcp-cluster"
# The seed's conventions as advice (nothing enforced): what the unit tests of the tiers, the
# port ranges and the notices plan against. A workspace's defaults have none of them.
SEED_ADVICE = Settings(
    network=NET, subnet="172.28.0.0/24", tiers=SEED_TIERS, port_ranges=SEED_PORT_RANGES
)


def svc(
    image: str = "busybox",
    *,
    ip: str | None = None,
    labels: dict[str, str] | None = None,
    depends: dict[str, Any] | None = None,
    ports: list[dict[str, Any]] | None = None,
    volumes: list[str] | None = None,
    profiles: list[str] | None = None,
    healthcheck: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"image": image}
    if ip:
        spec["networks"] = {NET: {"ipv4_address": ip}}
    if labels:
        spec["labels"] = labels
    if depends:
        spec["depends_on"] = {
            k: (v if isinstance(v, dict) else {"condition": v, "required": True})
            for k, v in depends.items()
        }
    if ports:
        spec["ports"] = ports
    if volumes:
        spec["volumes"] = [{"type": "volume", "source": v, "target": "/data"} for v in volumes]
    if profiles:
        spec["profiles"] = profiles
    if healthcheck:
        spec["healthcheck"] = healthcheck
    if env:
        spec["environment"] = env
    return spec


def port(published: int, target: int = 80, host_ip: str = "127.0.0.1") -> dict[str, Any]:
    return {"target": target, "published": str(published), "host_ip": host_ip, "protocol": "tcp"}


def document(
    services: dict[str, Any],
    *,
    project: str = "react_scuba",
    subnet: str = "172.28.0.0/24",
    volumes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    used = {
        m.get("source") for s in services.values() for m in s.get("volumes", []) if m.get("source")
    }
    vols = {v: {"name": f"{project}_{v}"} for v in sorted(used)}
    vols.update(volumes or {})
    return {
        "name": project,
        "services": services,
        "networks": {NET: {"name": f"{project}_{NET}", "ipam": {"config": [{"subnet": subnet}]}}},
        "volumes": vols,
    }


def stack(services: dict[str, Any], profiles: tuple[str, ...] = (), **kw: Any) -> Stack:
    return stack_from_compose(document(services, **kw), active_profiles=profiles)


def plan(
    services: dict[str, Any],
    profiles: tuple[str, ...] = (),
    settings: Settings | None = None,
    **kw: Any,
) -> Plan:
    return build_plan(stack(services, profiles, **kw), settings or SEED_ADVICE)


def seed_like() -> dict[str, Any]:
    """A stack shaped like the seed's: tiered static addresses, a discovery service."""
    return {
        "postgres": svc("postgres:17", ip="172.28.0.20", volumes=["pgdata"]),
        "mariadb": svc("mariadb:11", ip="172.28.0.21", volumes=["mariadata"]),
        "discovery": svc(
            "bootstrap-discovery", ip="172.28.0.90", labels={"bootstrap.role": "discovery"}
        ),
        "mcp-server": svc(
            "scuba-mcp",
            ip="172.28.0.91",
            profiles=["mcp"],
            depends={"postgres": "service_healthy"},
            ports=[port(3101, 8000)],
        ),
        "prometheus": svc("prom/prometheus", ip="172.28.0.71", ports=[port(9090, 9090)]),
        "node-exporter": svc("prom/node-exporter", ip="172.28.0.73"),
    }
