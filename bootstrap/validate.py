"""Validation of the network plan, ports and volumes before anything starts.

The rules here are pure functions over the stack, the plan and the settings; the two checks
that need the engine (subnet overlap, port in use) take what the engine reported as data.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

from bootstrap.classify import database_engine
from bootstrap.model import Network, PortBinding, Stack, Volume
from bootstrap.plan import Plan
from bootstrap.probes.registry import Rests, rests_on
from bootstrap.probespec import allowances
from bootstrap.settings import Settings


class Severity(Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTICE = "notice"


@dataclass(frozen=True)
class Finding:
    severity: Severity
    location: str
    message: str
    hint: str = ""
    rule: str = ""
    written: str = ""  # file:line where the location is written, where it is known

    def as_dict(self) -> dict[str, str]:
        return {
            "severity": self.severity.value,
            "rule": self.rule,
            "location": self.location,
            "written": self.written,
            "message": self.message,
            "hint": self.hint,
        }

    @property
    def place(self) -> str:
        return f"{self.written}: {self.location}" if self.written else self.location


def error(rule: str, location: str, message: str, hint: str) -> Finding:
    return Finding(Severity.ERROR, location, message, hint, rule)


def policy(
    settings: Settings,
    name: str,
    rule: str,
    location: str,
    message: str,
    hint: str,
    *,
    otherwise: Severity = Severity.NOTICE,
) -> Finding:
    """A finding of a policy: an error where the settings adopt it, else ``otherwise`` (a
    notice: advice; a warning where the risk is real) whose hint says how to adopt it."""
    if settings.enforces(name):
        return Finding(Severity.ERROR, location, message, hint, rule)
    adopt = f' (an error only where the settings have enforce = ["{name}"])'
    return Finding(otherwise, location, message, hint + adopt, rule)


def warning(rule: str, location: str, message: str, hint: str) -> Finding:
    return Finding(Severity.WARNING, location, message, hint, rule)


def _host_range(tier_hosts: object) -> str:
    return f".{tier_hosts}".replace("-", "-.")


def check_profiles(stack: Stack, flags: tuple[str, ...] | None = None) -> list[Finding]:
    """A profile no service has: an error when ``--profile`` asked for it (a typo would start
    nothing of what was meant); from ``COMPOSE_PROFILES`` a warning, since compose ignores it.
    ``flags``: the ``--profile`` flags, or None when the profiles came from the variable."""
    from difflib import get_close_matches

    known = set(stack.all_profiles)
    findings = []
    for profile in stack.active_profiles:
        if profile == "*" or profile in known:
            continue
        close = get_close_matches(profile, sorted(known), n=1)
        hint = (f"did you mean {close[0]!r}? " if close else "") + (
            f"profiles in the compose files: {', '.join(sorted(known)) or 'none'}"
        )
        if flags is not None and profile in flags:
            findings.append(
                error(
                    "unknown-profile",
                    f"--profile {profile}",
                    f"no service has the profile {profile!r}",
                    hint,
                )
            )
        else:
            findings.append(
                warning(
                    "unknown-profile",
                    f"COMPOSE_PROFILES={profile}",
                    f"no service has the profile {profile!r} (compose ignores it too)",
                    hint,
                )
            )
    return findings


_UNSET = re.compile(r'The "?(\w+)"? variable is not set')


def compose_findings(warnings: Iterable[str], files: Iterable[str] = ()) -> list[Finding]:
    """Compose's own warnings about the files, as findings: an unset variable (compose
    interpolates it as blank), an obsolete attribute, anything else compose said."""
    findings = []
    for text in warnings:
        unset = _UNSET.search(text)
        if unset:
            name = unset.group(1)
            findings.append(
                warning(
                    "variable-unset",
                    f"${{{name}}}",
                    f"{name} is not set: compose interpolates it as a blank string",
                    f"set {name} in .env, .env.local, the environment or the secret store, or "
                    f"give it a default in the file: ${{{name}:-value}}",
                )
            )
        elif "is obsolete" in text:
            where, _sep, what = text.partition(": ")
            findings.append(
                warning(
                    "compose-obsolete",
                    where if what else "compose",
                    what or text,
                    "remove the attribute (compose ignores it)",
                )
            )
        else:
            findings.append(warning("compose-warning", "docker compose", text, ""))
    return findings


def check_network(stack: Stack, plan: Plan, settings: Settings) -> list[Finding]:
    """Every network with static addresses: a well-formed subnet (the engine refuses a static
    address on a network without one), addresses inside it, not the gateway, unique; on the
    main network, in their tier where the settings define tiers."""
    findings: list[Finding] = []
    for key, network in sorted(stack.networks.items()):
        static = [
            (name, a.ipv4_address)
            for name in plan.order()
            for a in plan.services[name].service.networks
            if a.network == key and a.ipv4_address
        ]
        if not static or network.external:
            continue
        location = f"networks.{key}.ipam.config"
        if not network.subnets:
            findings.append(
                error(
                    "subnet-missing",
                    location,
                    f"{static[0][0]} has the static address {static[0][1]} on {key}, which has "
                    "no subnet: the engine refuses a static address there",
                    f"give {key} a subnet (ipam.config: [{{subnet: ...}}]), or drop ipv4_address",
                )
            )
            continue
        subnet_text, gateway_text = network.subnets[0]
        try:
            subnet = ipaddress.ip_network(subnet_text, strict=True)
        except ValueError as exc:
            findings.append(
                error(
                    "subnet-malformed",
                    f"{location}[0].subnet",
                    f"{subnet_text!r} is not a well-formed subnet ({exc})",
                    "write it in CIDR form with the host bits zero, e.g. 172.28.0.0/24",
                )
            )
            continue
        main = key == settings.network
        if main and "subnet" in settings.explicit and subnet_text != settings.subnet:
            findings.append(
                warning(
                    "subnet-differs",
                    f"{location}[0].subnet",
                    f"{subnet_text} differs from the settings' subnet {settings.subnet}",
                    "make them agree, or drop `subnet` from the settings",
                )
            )
        gateway = ipaddress.ip_address(gateway_text) if gateway_text else subnet.network_address + 1
        findings += check_addresses(plan, settings, key, subnet, gateway, tiers=main)
    return findings


_Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_Subnet = ipaddress.IPv4Network | ipaddress.IPv6Network


def check_addresses(
    plan: Plan,
    settings: Settings,
    network: str,
    subnet: _Subnet,
    gateway: _Address,
    *,
    tiers: bool = True,
) -> list[Finding]:
    """Static addresses on ``network``: inside the subnet, not the gateway or a reserved
    address, unique, and (``tiers``, where the settings define some) in the tier of the phase
    the planner chose."""
    findings: list[Finding] = []
    taken: dict[ipaddress.IPv4Address | ipaddress.IPv6Address, str] = {}
    for name in plan.order():
        planned = plan.services[name]
        for attachment in planned.service.networks:
            if attachment.network != network or not attachment.ipv4_address:
                continue
            where = f"services.{name}.networks.{network}.ipv4_address"
            text = attachment.ipv4_address
            try:
                address = ipaddress.ip_address(text)
            except ValueError:
                findings.append(
                    error(
                        "address-malformed",
                        where,
                        f"{text!r} is not an IP address",
                        f"use an address inside {subnet}",
                    )
                )
                continue
            if address not in subnet:
                findings.append(
                    error(
                        "address-outside-subnet",
                        where,
                        f"{text} is outside {subnet}",
                        f"use an address inside {subnet}",
                    )
                )
                continue
            if address == gateway:
                findings.append(
                    error(
                        "address-is-gateway",
                        where,
                        f"{text} is the gateway of {subnet}",
                        f"pick another address in {subnet}",
                    )
                )
                continue
            if address in (subnet.network_address, subnet.broadcast_address):
                findings.append(
                    error(
                        "address-reserved",
                        where,
                        f"{text} is the network or broadcast address of {subnet}",
                        f"pick another address in {subnet}",
                    )
                )
                continue
            if address in taken:
                findings.append(
                    error(
                        "address-duplicate",
                        where,
                        f"{text} is also the address of {taken[address]}",
                        "give each service its own address",
                    )
                )
                continue
            taken[address] = name
            if not tiers or not settings.tiers:
                continue
            offset = int(address) - int(subnet.network_address)
            tier = settings.tier_for_offset(offset)
            wanted = planned.phase  # what the planner chose: the findings never contradict it
            own = [t for t in settings.tiers if t.phase == wanted]
            expected = " or ".join(f"{t.name} ({_host_range(t.hosts)})" for t in own)
            if tier is None:
                findings.append(
                    policy(
                        settings,
                        "tiers",
                        "address-no-tier",
                        where,
                        f"{text} is in no tier range",
                        f"use the {expected} range" if own else "add a tier to the settings",
                    )
                )
            elif not tier.admits(wanted):
                findings.append(
                    policy(
                        settings,
                        "tiers",
                        "address-wrong-tier",
                        where,
                        f"{text} is in the {tier.name} range ({_host_range(tier.hosts)}), "
                        f"not {expected or wanted}",
                        f"move {name} to an address in its tier, or label it "
                        f"bootstrap.phase: {tier.phase}",
                    )
                )
    return findings


def check_injected_variables(stack: Stack, known: Iterable[str]) -> list[Finding]:
    """A config or secret read from an environment variable that no layer sets: compose
    would start what comes before it and then refuse this service; said before anything
    starts. ``known``: the variables compose will see (every layer, the environment)."""
    have = set(known)
    findings = []
    for service in stack.services.values():
        if not stack.is_active(service):
            continue
        for injected in service.injected:
            if injected.source == "environment" and injected.variable not in have:
                what = f"{injected.kind[:-1]} {injected.name}"
                findings.append(
                    error(
                        "injected-variable-unset",
                        f"{injected.kind}.{injected.name}.environment",
                        f"{injected.variable} is not set: compose cannot make the {what} that "
                        f"{service.name} needs",
                        f"set {injected.variable} in .env, .env.local, the environment or the "
                        "secret store",
                    )
                )
    return findings


def check_external_resources(
    stack: Stack, networks: Iterable[str], volumes: Iterable[str]
) -> list[Finding]:
    """An external network or volume an active service uses must exist (compose refuses to
    create the containers otherwise): said before anything starts. ``networks``, ``volumes``:
    the engine's names."""
    active = [s for s in stack.services.values() if stack.is_active(s)]
    used_networks = {a.network for s in active for a in s.networks}
    used_volumes = {m.source for s in active for m in s.mounts if m.type == "volume"}
    external: list[tuple[str, Mapping[str, Network | Volume], set[str], set[str]]] = [
        ("network", stack.networks, used_networks, set(networks)),
        ("volume", stack.volumes, used_volumes, set(volumes)),
    ]
    findings = []
    for kind, declared, used, have in external:
        for key, item in sorted(declared.items()):
            if item.external and key in used and item.name not in have:
                findings.append(
                    error(
                        "external-missing",
                        f"{kind}s.{key}",
                        f"the external {kind} {item.name} does not exist",
                        f"create it first (`docker {kind} create {item.name}`), or drop "
                        "`external: true` so compose creates it",
                    )
                )
    return findings


def check_subnet_overlap(
    stack: Stack, settings: Settings, existing: Mapping[str, Iterable[str]]
) -> list[Finding]:
    """``existing``: the engine's networks, name -> subnets. Our own networks are skipped."""
    findings = []
    own_names = {n.name for n in stack.networks.values()}
    for key, network in stack.networks.items():
        if network.external:
            continue
        for index, (subnet_text, _gw) in enumerate(network.subnets):
            try:
                subnet = ipaddress.ip_network(subnet_text, strict=False)
            except ValueError:
                continue
            for other, subnets in sorted(existing.items()):
                if other in own_names:
                    continue
                for other_subnet in subnets:
                    try:
                        clash = subnet.overlaps(ipaddress.ip_network(other_subnet, strict=False))
                    except (ValueError, TypeError):
                        continue
                    if clash:
                        findings.append(
                            error(
                                "subnet-overlap",
                                f"networks.{key}.ipam.config[{index}].subnet",
                                f"{subnet} overlaps {other_subnet} of the existing Docker "
                                f"network {other!r}",
                                f"remove it (docker network rm {other}) or choose another subnet",
                            )
                        )
    return findings


def _binding_key(port: PortBinding) -> tuple[int | None, str]:
    return port.published, port.protocol


def check_ports(plan: Plan, settings: Settings) -> list[Finding]:
    findings: list[Finding] = []
    owners: dict[tuple[int | None, str], str] = {}
    for name in plan.order():
        planned = plan.services[name]
        for index, port in enumerate(planned.service.ports):
            if port.published is None:
                continue
            where = f"services.{name}.ports[{index}]"
            is_database = planned.phase == "databases" or database_engine(planned.service)
            if is_database and port.all_interfaces:
                findings.append(
                    policy(
                        settings,
                        "database_ports",
                        "database-port-public",
                        where,
                        f"{name}'s port {port.published} is published on all interfaces: "
                        f"anyone who reaches this machine reaches {name} (a data store)",
                        f'publish it on loopback only: "127.0.0.1:{port.published}:'
                        f'{port.target}", or not at all',
                        otherwise=Severity.WARNING,
                    )
                )
            key = _binding_key(port)
            if key in owners:
                findings.append(
                    error(
                        "port-duplicate",
                        where,
                        f"host port {port.published}/{port.protocol} is also published by "
                        f"{owners[key]}",
                        "give each service its own host port",
                    )
                )
            else:
                owners[key] = name
            if not settings.port_ranges:
                continue  # no reserved ranges: nothing to fit
            fitting = [r for r in settings.port_ranges if port.published in r.ports]
            ranges = ", ".join(f"{r.ports} {r.name}" for r in settings.port_ranges)
            if not fitting:
                findings.append(
                    policy(
                        settings,
                        "port_ranges",
                        "port-outside-ranges",
                        where,
                        f"host port {port.published} is outside every reserved range",
                        f"use a port in: {ranges}",
                    )
                )
            elif settings.enforces("port_ranges") and not any(
                planned.phase in r.phases for r in fitting
            ):
                suits = [r for r in settings.port_ranges if planned.phase in r.phases]
                findings.append(
                    warning(
                        "port-range-mismatch",
                        where,
                        f"host port {port.published} is in the {fitting[0].name} range, "
                        f"meant for {', '.join(fitting[0].phases)}, but {name} is in "
                        f"{planned.phase}",
                        "use a port in: "
                        + (", ".join(f"{r.ports} {r.name}" for r in suits) or ranges),
                    )
                )
    return findings


def check_ports_free(plan: Plan, busy: Mapping[tuple[str, int], str | None]) -> list[Finding]:
    """``busy``: (host_ip, port) -> who holds it (a container name, or None if unknown)."""
    findings = []
    for name in plan.order():
        for index, port in enumerate(plan.services[name].service.ports):
            if port.published is None:
                continue
            key = (port.host_ip or "0.0.0.0", port.published)  # noqa: S104
            if key in busy:
                holder = busy[key]
                who = f"the container {holder}" if holder else "another process"
                findings.append(
                    error(
                        "port-in-use",
                        f"services.{name}.ports[{index}]",
                        f"host port {port.published} is already taken by {who}",
                        f"stop {holder}"
                        if holder
                        else f"find it with `ss -ltnp 'sport = :{port.published}'` and stop it, "
                        "or publish another port",
                    )
                )
    return findings


def check_volumes(stack: Stack, plan: Plan, settings: Settings) -> list[Finding]:
    findings = []
    used = {
        m.source for s in plan.services.values() for m in s.service.mounts if m.type == "volume"
    }
    for key, volume in sorted(stack.volumes.items()):
        if volume.external or key not in used:
            continue
        if not volume.name.startswith(settings.prefix + "_"):
            findings.append(
                policy(
                    settings,
                    "volume_prefix",
                    "volume-name",
                    f"volumes.{key}.name",
                    f"volume {volume.name!r} does not follow the {settings.prefix}_ naming "
                    "convention: reset neither snapshots nor removes it",
                    f"name it {settings.prefix}_{key} (or drop `name:` and let the project "
                    "prefix it)",
                )
            )
    return findings


DATA_DIRS = {"postgres": "/var/lib/postgresql/data", "mariadb": "/var/lib/mysql"}


def check_database_volumes(plan: Plan) -> list[Finding]:
    """A database whose data directory is not a mounted volume keeps its rows in an
    anonymous volume: a recreate starts it empty. A warning: nothing is wrong yet."""
    findings = []
    for name in plan.order():
        service = plan.services[name].service
        engine = database_engine(service)
        if engine is None:
            continue
        data_dir = service.environment.get("PGDATA") or DATA_DIRS[engine]
        # An anonymous volume survives a recreate (compose hands it to the new container) but
        # not `down`: the next `up` creates a new, empty one.
        mounted = [
            m.target.rstrip("/")
            for m in service.mounts
            if m.type == "bind" or (m.type == "volume" and m.source)
        ]
        if not any(data_dir == t or data_dir.startswith(t + "/") for t in mounted):
            findings.append(
                warning(
                    "database-volume",
                    f"services.{name}.volumes",
                    f"{data_dir} is not on a named volume: its data is in an anonymous volume "
                    f"that `down` leaves behind, and the next `up` starts {name} empty",
                    f"mount a named volume there, e.g. {name}_data:{data_dir}",
                )
            )
    return findings


SUGGEST = "`bootstrap stats --suggest` proposes limits from what the services used"


def check_database_limits(plan: Plan) -> list[Finding]:
    """A database without a memory limit can take the machine's memory; the kernel then
    kills whatever it picks, maybe the database itself."""
    return [
        Finding(
            Severity.NOTICE,
            f"services.{name}.deploy.resources.limits.memory",
            f"{name} is a database without a memory limit: under load it can take the "
            "machine's memory, and the out-of-memory killer picks its victim",
            f"set deploy.resources.limits.memory; {SUGGEST}",
            "database-memory-limit",
        )
        for name in plan.order()
        if database_engine(plan.services[name].service) is not None
        and not plan.services[name].service.resources.memory_limit
    ]


def check_capacity(plan: Plan, cpus: int, memory: int) -> list[Finding]:
    """Limits and reservations against the engine's machine: a CPU limit above its cores
    is refused at create; memory limits, or reservations, that add up to more than it has are
    promises it cannot keep. (CPU limits may add up to more: each is a cap, and idle services
    leave their share to the busy ones.)"""
    from bootstrap.sizes import memory as size_of

    def size(value: float) -> str:
        return size_of(int(value))

    findings = []
    resources = {n: plan.services[n].service.resources for n in plan.order()}
    for name, r in resources.items():
        if cpus and r.cpus_limit > cpus:
            findings.append(
                error(
                    "cpu-limit-above-machine",
                    f"services.{name}.deploy.resources.limits.cpus",
                    f"{name} asks for {r.cpus_limit:g} CPUs; the engine's machine has {cpus}",
                    f"lower it to at most {cpus}",
                )
            )
    every = resources.values()
    totals = (
        ("memory limits", sum(r.memory_limit for r in every), memory, size),
        ("memory reservations", sum(r.memory_reservation for r in every), memory, size),
        ("CPU reservations", sum(r.cpus_reservation for r in every), cpus, _cores),
    )
    for what, total, have, show in totals:
        if have and total > have:
            findings.append(
                warning(
                    "limits-exceed-machine",
                    "deploy.resources",
                    f"the services' {what} add up to {show(total)}; the engine's machine has "
                    f"{show(have)}",
                    f"lower them, or start fewer profiles; {SUGGEST}",
                )
            )
    return findings


def _cores(value: float) -> str:
    return f"{value:g} CPUs"


_SOCKET_PATHS = ("/var/run/docker.sock", "/run/docker.sock", "/var/run", "/run")


def check_privileges(plan: Plan) -> list[Finding]:
    """Services that hold the host: the Docker socket in any mode (a `:ro` mount still allows
    every API call), privileged mode, CAP_SYS_ADMIN. Warnings, unless the service accepts the
    risk with the label ``bootstrap.allow``."""
    findings = []
    for name in plan.order():
        service = plan.services[name].service
        allowed = set(allowances(service))
        where = f"services.{name}"
        accept = "or accept it on purpose with the label bootstrap.allow: {}"
        socket = next(
            (
                m
                for m in service.mounts
                if m.type == "bind" and m.source.rstrip("/") in _SOCKET_PATHS
            ),
            None,
        )
        if socket is not None and "docker-socket" not in allowed:
            findings.append(
                warning(
                    "docker-socket",
                    f"{where}.volumes",
                    f"{name} mounts the Docker socket ({socket.source}): code running in it "
                    "controls the host; read-only mode does not help, the API behind it is whole",
                    "reach the engine through a proxy that allows only what the service needs "
                    "(bootstrap.discovery.socketproxy: the reference stack's docker-proxy and "
                    "supervisor-proxy), " + accept.format("docker-socket"),
                )
            )
        if service.privileged and "privileged" not in allowed:
            findings.append(
                warning(
                    "privileged",
                    f"{where}.privileged",
                    f"{name} runs privileged: every device and capability of the host",
                    "drop it and add only the capabilities it needs (cap_add), "
                    + accept.format("privileged"),
                )
            )
        if {"SYS_ADMIN", "ALL"} & set(service.cap_add) and "sys-admin" not in allowed:
            findings.append(
                warning(
                    "sys-admin",
                    f"{where}.cap_add",
                    f"{name} adds CAP_SYS_ADMIN, which is nearly root on the host",
                    "find the narrower capability it needs, " + accept.format("sys-admin"),
                )
            )
    return findings


def check_secrets(weak: Mapping[str, str]) -> list[Finding]:
    """Secrets too short or common to mask safely in free text: masked where they stand as
    values, but a log line that prints one bare would show it."""
    return [
        warning(
            "weak-secret",
            name,
            f"the value of {name} is {why}: it cannot be masked everywhere it might be printed",
            f"use a long random value (e.g. `openssl rand -base64 24` into .secrets/{name})",
        )
        for name, why in sorted(weak.items())
    ]


def env_file_program_variables(dotenv: Mapping[str, str]) -> list[Finding]:
    """Env files that set a variable saying which program runs or where it connects
    (``DOCKER_HOST``, ``PATH``, ``LD_PRELOAD``...): compose takes their values for
    interpolation only, and bootstrap too; said, so nobody expects the engine to change."""
    from bootstrap.envlayers import program_variable

    return [
        warning(
            "env-file-program-variable",
            name,
            f"an env file sets {name}: compose uses it to interpolate the files only, not for "
            "how it runs or which engine it talks to, and neither does bootstrap",
            f"set {name} in your shell (or use `--context`) if you mean it for the tools",
        )
        for name in sorted(dotenv)
        if program_variable(name) and not name.upper().startswith("COMPOSE_")
    ]


# Every rule a finding can carry: what `quiet` in the settings may name.
RULES = frozenset(
    {
        "address-duplicate", "address-is-gateway", "address-malformed", "address-no-tier",
        "address-outside-subnet", "address-reserved", "address-wrong-tier",
        "bind-source-elsewhere", "cpu-limit-above-machine", "database-memory-limit",
        "database-port-public", "database-volume", "docker-socket", "engine-skipped",
        "limits-exceed-machine", "mounts-unchecked", "port-duplicate", "port-in-use",
        "port-outside-ranges", "port-range-mismatch", "privileged", "subnet-differs",
        "subnet-malformed", "subnet-missing", "subnet-overlap", "swarm-build", "swarm-ignored",
        "swarm-order", "swarm-placement", "swarm-probe", "sys-admin", "unknown-profile",
        "volume-name", "weak-secret", "quiet-unknown", "variable-unset", "compose-obsolete",
        "compose-warning", "label-prefix", "healthy-without-healthcheck",
        "env-file-program-variable", "compose-untested", "enforce-without-policy",
        "external-missing", "injected-variable-unset", "healthcheck-start-interval",
    }
)  # fmt: skip


def silence(findings: Iterable[Finding], settings: Settings) -> list[Finding]:
    """Drop the warnings and notices whose rule the settings' ``quiet`` names (never an
    error); a name that is no rule is itself a notice, with the closest rule."""
    from difflib import get_close_matches

    kept = [f for f in findings if f.severity is Severity.ERROR or f.rule not in settings.quiet]
    for name in settings.quiet:
        if name not in RULES:
            close = get_close_matches(name, sorted(RULES), n=1)
            kept.append(
                Finding(
                    Severity.NOTICE,
                    f"{settings.source}: quiet",
                    f"{name!r} is not the name of a rule",
                    (f"did you mean {close[0]!r}? " if close else "")
                    + "`bootstrap validate --json` shows each finding's rule",
                    "quiet-unknown",
                )
            )
    return kept


def check_healthy_conditions(plan: Plan) -> list[Finding]:
    """``condition: service_healthy`` on a service whose compose file gives it no
    healthcheck: compose refuses it unless the image has one; bootstrap waits for its own
    probe where it has one, and refuses it where it has none."""
    findings = []
    for name in plan.order():
        planned = plan.services[name]
        declared = planned.service.healthcheck
        if not planned.healthy_for or (declared is not None and not declared.disabled):
            continue
        who = ", ".join(planned.healthy_for)
        own = rests_on(planned.probe.kind) is not Rests.LIFE
        findings.append(
            warning(
                "healthy-without-healthcheck",
                f"services.{name}.healthcheck",
                f"{who} waits for {name} with condition: service_healthy, but {name} has no "
                "healthcheck in the compose file: compose refuses this unless its image has "
                "one"
                + (
                    f"; bootstrap waits for its {planned.probe.kind} probe instead"
                    if own
                    else "; so does bootstrap (it has no other health signal for it)"
                ),
                f"give {name} a healthcheck (plain compose then works too), or make the "
                "condition service_started",
            )
        )
    return findings


def check_start_intervals(plan: Plan) -> list[Finding]:
    """A healthcheck's ``start_interval`` without its ``start_period``: compose refuses it when
    it creates the container (after creating those before it); refused here, before anything
    is created, with compose's own words. Only where compose refuses it (2.40.3 and 5.6.1 do;
    2.20.3 creates it): the compose backend asks with the version compose said."""
    findings = []
    for name in plan.order():
        declared = plan.services[name].service.healthcheck
        if declared is None or declared.start_interval is None or declared.start_period_given:
            continue
        findings.append(
            error(
                "healthcheck-start-interval",
                f"services.{name}.healthcheck.start_interval",
                "healthcheck.start_interval requires healthcheck.start_period to be set",
                f"give {name}'s healthcheck a start_period (the window start_interval paces), "
                "or remove start_interval",
            )
        )
    return findings


LABEL_PREFIX = "bootstrap."


def check_label_prefixes(plan: Plan) -> list[Finding]:
    """A label that nearly says ``bootstrap.`` (``bootstap.phase``, ``Bootstrap.probe``) is
    ignored by bootstrap: said, with the spelling it reads."""
    from difflib import SequenceMatcher

    findings = []
    for name in plan.order():
        for key in sorted(plan.services[name].service.labels):
            head, dot, tail = key.partition(".")
            if not dot or key.startswith(LABEL_PREFIX):
                continue
            near = head.lower() == "bootstrap" or (
                SequenceMatcher(None, head.lower(), "bootstrap").ratio() >= 0.8
            )
            if near:
                findings.append(
                    warning(
                        "label-prefix",
                        f"services.{name}.labels.{key}",
                        f"{key!r} looks like a bootstrap label, but bootstrap reads only "
                        f"labels that start with {LABEL_PREFIX!r}: this one is ignored",
                        f"write it as {LABEL_PREFIX}{tail}",
                    )
                )
    return findings


def check_policies(settings: Settings) -> list[Finding]:
    """A policy the settings adopt (``enforce``) with nothing to enforce: the tables it reads
    are not written (the seed's are not defaults), so it would check nothing, silently."""
    tables = {"tiers": settings.tiers, "port_ranges": settings.port_ranges}
    return [
        warning(
            "enforce-without-policy",
            f"{settings.source}: enforce",
            f"enforce names {policy!r}, but no [{policy}.*] table says what it is: it checks "
            "nothing",
            f"write the [{policy}.*] tables (`bootstrap init --seed` writes the seed's), or take "
            f"{policy!r} out of enforce",
        )
        for policy, table in tables.items()
        if settings.enforces(policy) and not table
    ]


def validate(
    stack: Stack, plan: Plan, settings: Settings, profile_flags: tuple[str, ...] | None = None
) -> list[Finding]:
    """Every rule that needs no engine."""
    return [
        *check_policies(settings),
        *check_profiles(stack, profile_flags),
        *check_network(stack, plan, settings),
        *check_ports(plan, settings),
        *check_volumes(stack, plan, settings),
        *check_database_volumes(plan),
        *check_database_limits(plan),
        *check_privileges(plan),
        *check_label_prefixes(plan),
        *check_healthy_conditions(plan),
    ]


def errors_in(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity is Severity.ERROR]
