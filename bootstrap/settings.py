"""Project settings: ``[tool.bootstrap]`` in ``pyproject.toml`` or a ``bootstrap.toml``.

The defaults fit any workspace: compose's own files and project name, the stack's own
network, no address tiers, no reserved port ranges, no policy adopted. The conventions of
this repository's reference stack (the mcp-cluster network, tiered static addresses, reserved
host port ranges) are ``SEED``: ``bootstrap init --seed`` writes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bootstrap.errors import ConfigError
from bootstrap.ranges import IntRange, parse_range

PHASES: tuple[str, ...] = ("databases", "discovery", "apps", "monitoring")


@dataclass(frozen=True)
class Tier:
    """A block of static addresses (host offsets inside the subnet) and the phase it implies."""

    name: str
    hosts: IntRange
    phase: str
    also: tuple[str, ...] = ()  # other phases whose services may sit here

    def admits(self, phase: str) -> bool:
        return phase == self.phase or phase in self.also


@dataclass(frozen=True)
class PortRange:
    """A reserved block of host ports and the phases whose services it suits."""

    name: str
    ports: IntRange
    phases: tuple[str, ...]


SEED_TIERS: tuple[Tier, ...] = (
    Tier("databases", IntRange(20, 29), "databases"),
    Tier("build", IntRange(50, 59), "apps"),
    Tier("network", IntRange(60, 69), "apps", ("discovery",)),
    Tier("monitoring", IntRange(70, 79), "monitoring"),
    Tier("mcp", IntRange(90, 99), "apps", ("discovery",)),
)

SEED_PORT_RANGES: tuple[PortRange, ...] = (
    PortRange("development", IntRange(3000, 3099), ("apps", "monitoring")),
    PortRange("api", IntRange(3100, 3199), ("apps",)),
    PortRange("internal", IntRange(7000, 7099), ("discovery", "apps", "databases")),
    PortRange("monitoring", IntRange(9000, 9199), ("monitoring",)),
    PortRange("gpu-ai", IntRange(9400, 9499), ("apps",)),
)

# One cache per tool, shared by every workspace on the machine: a cache is worth having because
# a second workspace finds what the first downloaded. Never a project's data (reset skips them).
DEFAULT_CACHES: Mapping[str, str] = {
    "uv": "bootstrap-uv-cache",
    "pip": "bootstrap-pip-cache",
    "npm": "bootstrap-npm-cache",
}


@dataclass(frozen=True)
class Settings:
    """Everything about a workspace that is not in its compose files."""

    project: str = ""  # empty: compose's own rules (see workspace.resolve_project_name)
    volume_prefix: str = ""  # empty: the project name
    network: str = ""  # the stack's main network; empty: the one most services attach to
    subnet: str = ""  # empty: the main network's own (from the compose files)
    phases: tuple[str, ...] = PHASES
    tiers: tuple[Tier, ...] = ()  # static-address ranges that imply a phase (the seed's: SEED)
    port_ranges: tuple[PortRange, ...] = ()  # reserved host port ranges (the seed's: SEED)
    compose_files: tuple[str, ...] = ()  # empty: the defaults that exist
    secrets_dir: str = ".secrets"
    caches: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_CACHES))
    cache_uid: int = 1000
    cache_gid: int = 1000
    probe_timeout: float = 120.0
    backend: str = "compose"  # where the stack runs: compose or swarm (--backend wins)
    # Swarm (--backend swarm): how services are reached and images resolved. dnsrr and host
    # mode where the kernel has no IPVS (the virtual IP and the ingress mesh need it).
    swarm_endpoint_mode: str = "vip"
    swarm_publish_mode: str = "ingress"
    swarm_resolve_image: str = "always"  # never: images that only exist on this machine
    # A registry every node pulls from: services compose builds are built, pushed there as
    # REGISTRY/IMAGE and deployed from it (empty: a built service is an error on Swarm)
    swarm_registry: str = ""
    # Any image with python3: the probe helper on a stack's network (Swarm's replicas, and a
    # compose service whose port is neither published on 127.0.0.1 nor reachable by name).
    probe_image: str = "python:3.11-slim"
    swarm_probe_image: str = ""  # the older name of probe_image, still read
    snapshot_dir: str = ".bootstrap/snapshots"
    generate_secrets: tuple[str, ...] = ()  # secrets to create in the store when unset
    # Policies adopted as rules (errors); elsewhere they are advice: "tiers" (static addresses
    # in their tier's range), "port_ranges" (host ports in the reserved ranges),
    # "volume_prefix" (every volume named <prefix>_...), "database_ports" (no database port
    # on all interfaces: a warning otherwise). The reference repo adopts all four.
    enforce: tuple[str, ...] = ()
    # Warnings and notices silenced by their rule's name (`bootstrap validate --json` shows
    # each finding's rule). Errors are never silenced.
    quiet: tuple[str, ...] = ()
    source: str = "defaults"
    project_source: str = ""  # where the project name came from, once resolved
    explicit: frozenset[str] = frozenset()  # the keys the settings file set

    @property
    def helper_image(self) -> str:
        return self.swarm_probe_image or self.probe_image

    @property
    def prefix(self) -> str:
        return self.volume_prefix or self.project

    def cache_volume(self, kind: str) -> str:
        """The shared volume of one package cache (not prefixed: every workspace uses it)."""
        return self.caches[kind]

    def enforces(self, policy: str) -> bool:
        return policy in self.enforce

    def tier_for_offset(self, offset: int) -> Tier | None:
        return next((t for t in self.tiers if offset in t.hosts), None)


# --- loading -------------------------------------------------------------------------------

_SCALARS: dict[str, type] = {
    "project": str,
    "volume_prefix": str,
    "network": str,
    "subnet": str,
    "secrets_dir": str,
    "cache_uid": int,
    "cache_gid": int,
    "probe_timeout": float,
    "snapshot_dir": str,
    "backend": str,
    "swarm_endpoint_mode": str,
    "swarm_publish_mode": str,
    "swarm_resolve_image": str,
    "swarm_registry": str,
    "swarm_probe_image": str,
    "probe_image": str,
}
_KNOWN = {
    *_SCALARS,
    "phases",
    "tiers",
    "port_ranges",
    "compose_files",
    "caches",
    "generate_secrets",
    "enforce",
    "quiet",
}
POLICIES = ("tiers", "port_ranges", "volume_prefix", "database_ports")

# This repository's reference stack: the seed's network, tiers and port ranges, adopted as
# rules. ``bootstrap init --seed`` writes these; nothing else assumes them.
SEED_NETWORK, SEED_SUBNET = "mcp-cluster", "172.28.0.0/24"
_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", list: "a list"}


def load_settings(directory: Path) -> Settings:
    """Read settings from ``bootstrap.toml`` or ``pyproject.toml`` in ``directory``.

    ``bootstrap.toml`` wins when both exist. A missing file gives the defaults.
    """
    own = directory / "bootstrap.toml"
    pyproject = directory / "pyproject.toml"
    settings = Settings()
    if own.is_file():
        settings = settings_from_mapping(_read_toml(own), source=own.name)
    elif pyproject.is_file():
        table = _read_toml(pyproject).get("tool", {}).get("bootstrap")
        if isinstance(table, dict):
            settings = settings_from_mapping(table, source=f"{pyproject.name} [tool.bootstrap]")
    check_paths(settings, directory)
    return settings


PATH_SETTINGS = ("secrets_dir", "snapshot_dir")


def check_paths(settings: Settings, directory: Path) -> None:
    """Every folder a workspace's settings name stays inside the workspace (its symlinks
    followed): a cloned ``bootstrap.toml`` must not make the secret store ``~/.ssh``."""
    root = directory.resolve()
    for key in PATH_SETTINGS:
        value = str(getattr(settings, key))
        target = (directory / value).resolve()
        if target != root and root not in target.parents:
            raise ConfigError(
                f"{key} = {value!r} leaves the workspace ({target})",
                location=f"{settings.source}: {key}",
                hint=f"name a folder inside the workspace (the default is "
                f"{getattr(Settings(), key)!r}); a symlink that leads out is refused too",
            )


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib  # only where a settings file exists: its regular expressions cost ~5 ms

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"not valid TOML: {exc}", location=path.name, hint="fix the syntax at that line"
        ) from None


def settings_from_mapping(data: Mapping[str, Any], *, source: str = "settings") -> Settings:
    """Build settings from a parsed TOML table, checking every type. Pure."""

    def where(key: str) -> str:
        return f"{source}: {key}"

    unknown = sorted(set(data) - _KNOWN)
    if unknown:
        from difflib import get_close_matches

        key = unknown[0]
        close = get_close_matches(key, sorted(_KNOWN), n=1)
        raise ConfigError(
            f"unknown setting {key!r}",
            location=where(key),
            hint=f"did you mean {close[0]!r}?" if close else f"known: {', '.join(sorted(_KNOWN))}",
        )
    values: dict[str, Any] = {"source": source, "explicit": frozenset(data)}
    for key, kind in _SCALARS.items():
        if key not in data:
            continue
        value = data[key]
        ok = isinstance(value, kind) and not isinstance(value, bool)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            raise ConfigError(
                f"expected {_TYPE_NAMES[kind]}, got {type(value).__name__} {value!r}",
                location=where(key),
                hint=f"write {key} as {_TYPE_NAMES[kind]}",
            )
        values[key] = value
    for key in ("phases", "compose_files", "generate_secrets", "enforce", "quiet"):
        if key in data:
            values[key] = tuple(_string_list(data[key], where(key)))
    _check_policies(values.get("enforce", ()), where("enforce"))
    if "caches" in data:
        values["caches"] = _string_table(data["caches"], where("caches"))
    phases: tuple[str, ...] = values.get("phases", PHASES)
    if "tiers" in data:
        values["tiers"] = _tiers(data["tiers"], where("tiers"), phases)
    if "port_ranges" in data:
        values["port_ranges"] = _port_ranges(data["port_ranges"], where("port_ranges"), phases)
    settings = Settings(**values)
    try:
        if settings.subnet:
            import ipaddress  # here: every command reads the settings

            ipaddress.ip_network(settings.subnet)
    except ValueError as exc:
        raise ConfigError(
            f"{settings.subnet!r} is not a subnet: {exc}",
            location=where("subnet"),
            hint="write it in CIDR form, e.g. 172.28.0.0/24",
        ) from None
    return settings


def _check_policies(policies: tuple[str, ...], location: str) -> None:
    for policy in policies:
        if policy not in POLICIES:
            from difflib import get_close_matches

            close = get_close_matches(policy, POLICIES, n=1)
            raise ConfigError(
                f"unknown policy {policy!r}",
                location=location,
                hint=(f"did you mean {close[0]!r}? " if close else "")
                + f"policies: {', '.join(POLICIES)}",
            )


def _string_list(value: object, location: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(
            f"expected a list of strings, got {value!r}",
            location=location,
            hint='write it like ["a", "b"]',
        )
    return list(value)


def _string_table(value: object, location: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(
            f"expected a table of strings, got {value!r}",
            location=location,
            hint='write it like { uv = "bootstrap-uv-cache" }',
        )
    return dict(value)


def _table_entries(value: object, location: str) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ConfigError(
            f"expected a table of tables, got {value!r}",
            location=location,
            hint="write one [tool.bootstrap.<key>.<name>] table per entry",
        )
    return value


def _check_phase(phase: object, location: str, phases: tuple[str, ...]) -> str:
    if not isinstance(phase, str) or phase not in phases:
        raise ConfigError(
            f"unknown phase {phase!r}",
            location=location,
            hint=f"use one of: {', '.join(phases)}",
        )
    return phase


def _parse(text: object, location: str, lowest: int, highest: int) -> IntRange:
    try:
        if not isinstance(text, str):
            raise ValueError(f"expected a string like '20-29', got {text!r}")
        return parse_range(text, lowest=lowest, highest=highest)
    except ValueError as exc:
        raise ConfigError(str(exc), location=location, hint="write it like '20-29'") from None


def _tiers(value: object, location: str, phases: tuple[str, ...]) -> tuple[Tier, ...]:
    tiers = []
    for name, entry in _table_entries(value, location).items():
        hosts = _parse(entry.get("range"), f"{location}.{name}.range", 1, 65534)
        phase = _check_phase(entry.get("phase"), f"{location}.{name}.phase", phases)
        also = _string_list(entry.get("also", []), f"{location}.{name}.also")
        for other in also:
            _check_phase(other, f"{location}.{name}.also", phases)
        tiers.append(Tier(name, hosts, phase, tuple(also)))
    return tuple(tiers)


def _port_ranges(value: object, location: str, phases: tuple[str, ...]) -> tuple[PortRange, ...]:
    ranges = []
    for name, entry in _table_entries(value, location).items():
        ports = _parse(entry.get("range"), f"{location}.{name}.range", 1, 65535)
        fits = _string_list(entry.get("phases", list(phases)), f"{location}.{name}.phases")
        for phase in fits:
            _check_phase(phase, f"{location}.{name}.phases", phases)
        ranges.append(PortRange(name, ports, tuple(fits)))
    return tuple(ranges)


def settings_document(settings: Settings) -> dict[str, Any]:
    """Every setting as a TOML-ready table (what ``bootstrap init`` writes)."""
    return {
        "project": settings.project,
        "volume_prefix": settings.volume_prefix,
        "compose_files": list(settings.compose_files),
        "network": settings.network,
        "subnet": settings.subnet,
        "phases": list(settings.phases),
        "enforce": list(settings.enforce),
        "quiet": list(settings.quiet),
        "secrets_dir": settings.secrets_dir,
        "generate_secrets": list(settings.generate_secrets),
        "cache_uid": settings.cache_uid,
        "cache_gid": settings.cache_gid,
        "probe_timeout": settings.probe_timeout,
        "snapshot_dir": settings.snapshot_dir,
        "backend": settings.backend,
        "swarm_endpoint_mode": settings.swarm_endpoint_mode,
        "swarm_publish_mode": settings.swarm_publish_mode,
        "swarm_resolve_image": settings.swarm_resolve_image,
        "swarm_registry": settings.swarm_registry,
        "probe_image": settings.probe_image,
        "caches": dict(settings.caches),
        "tiers": {
            t.name: {"range": str(t.hosts), "phase": t.phase, "also": list(t.also)}
            for t in settings.tiers
        },
        "port_ranges": {
            r.name: {"range": str(r.ports), "phases": list(r.phases)} for r in settings.port_ranges
        },
    }


def seed_settings(project: str = "") -> Settings:
    """The seed's conventions as settings (what ``bootstrap init --seed`` writes)."""
    return Settings(
        project=project,
        network=SEED_NETWORK,
        subnet=SEED_SUBNET,
        tiers=SEED_TIERS,
        port_ranges=SEED_PORT_RANGES,
        enforce=POLICIES,
    )
