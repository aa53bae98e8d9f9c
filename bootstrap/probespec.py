"""Which probe gates each service, chosen from labels, image and healthcheck. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bootstrap.classify import database_engine
from bootstrap.model import Service

PROBE_LABEL = "bootstrap.probe"
PROBE_KINDS = (
    "docker", "tcp", "http", "postgres", "mariadb", "mysql", "mcp", "exec", "log",
    "completed", "running",
)  # fmt: skip
_SECRET_PARAMS = {"password"}


@dataclass(frozen=True)
class ProbeSpec:
    """A probe kind and its parameters (``port``, ``path``, ``status``, ``user``...)."""

    kind: str
    params: Mapping[str, str] = field(default_factory=dict)
    reason: str = ""

    def public(self) -> dict[str, str]:
        """Parameters safe to print (no passwords)."""
        return {k: v for k, v in sorted(self.params.items()) if k not in _SECRET_PARAMS}

    def describe(self) -> str:
        shown = " ".join(f"{k}={v}" for k, v in self.public().items())
        return f"{self.kind} {shown}".strip()


def _label_params(service: Service) -> dict[str, str]:
    prefix = PROBE_LABEL + "."
    return {k[len(prefix) :]: v for k, v in service.labels.items() if k.startswith(prefix)}


def sql_params(engine: str, env: Mapping[str, str]) -> dict[str, str]:
    if engine == "postgres":
        user = env.get("POSTGRES_USER") or "postgres"
        return {
            "port": "5432",
            "user": user,
            "database": env.get("POSTGRES_DB") or user,
            "password": env.get("POSTGRES_PASSWORD", ""),
        }
    user = env.get("MARIADB_USER") or env.get("MYSQL_USER") or ""
    password = env.get("MARIADB_PASSWORD") or env.get("MYSQL_PASSWORD") or ""
    if not user:
        user = "root"
        password = env.get("MARIADB_ROOT_PASSWORD") or env.get("MYSQL_ROOT_PASSWORD") or ""
    return {
        "port": "3306",
        "user": user,
        "database": env.get("MARIADB_DATABASE") or env.get("MYSQL_DATABASE") or "",
        "password": password,
    }


def choose_probe(service: Service, *, completed_by_dependents: bool = False) -> ProbeSpec:
    """A label wins; else the SQL server the image runs; else an MCP discovery label; else
    the container's own healthcheck; else "completed" for one-shot jobs; else "running"."""
    params = _label_params(service)
    label = service.label(PROBE_LABEL)
    engine = database_engine(service)
    if label:
        kind = "mariadb" if label == "mysql" else label
        base = sql_params(kind, service.environment) if kind in ("postgres", "mariadb") else {}
        return ProbeSpec(kind, {**base, **params}, f"label {PROBE_LABEL}={label}")
    if engine:
        base = sql_params(engine, service.environment)
        return ProbeSpec(engine, {**base, **params}, f"image {service.image} is a {engine} server")
    if service.label("discovery.protocol") == "mcp":
        base = {"path": service.label("discovery.path") or "/mcp"}
        if service.label("discovery.port"):
            base["port"] = service.label("discovery.port")
        return ProbeSpec("mcp", {**base, **params}, "label discovery.protocol=mcp")
    if service.healthcheck and not service.healthcheck.disabled and service.healthcheck.test:
        return ProbeSpec("docker", params, "the service defines a healthcheck")
    if completed_by_dependents:
        return ProbeSpec("completed", params, "a dependent waits for it to complete")
    return ProbeSpec("running", params, "no healthcheck or probe label: ready once running")
