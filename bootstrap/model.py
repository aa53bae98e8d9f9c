"""The stack model: plain dataclasses built from ``docker compose config --format json``. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

# Where the compose loader lists the files' profiles when the model holds only the active
# ones (an x- key: compose's own JSON never has it)
DECLARED_PROFILES = "x-bootstrap-declared-profiles"


@dataclass(frozen=True)
class Dependency:
    name: str
    condition: str = "service_started"
    required: bool = True
    restart: bool = False  # depends_on.restart: restart the dependent when this one comes back


@dataclass(frozen=True)
class PortBinding:
    target: int
    published: int | None
    host_ip: str = ""
    protocol: str = "tcp"

    @property
    def all_interfaces(self) -> bool:
        return self.host_ip in ("", "0.0.0.0", "::")  # noqa: S104 - we detect it, not bind it

    def __str__(self) -> str:
        host = f"{self.host_ip}:" if self.host_ip else ""
        published = f"{host}{self.published}:" if self.published else ""
        return f"{published}{self.target}/{self.protocol}"


@dataclass(frozen=True)
class Mount:
    type: str
    source: str
    target: str


@dataclass(frozen=True)
class Attachment:
    network: str
    ipv4_address: str | None = None


@dataclass(frozen=True)
class InjectedFile:
    """A config or secret whose source is inline ``content`` or an ``environment`` variable:
    compose copies it into the container just before the start, so such a service is started
    by compose itself (``Service.started_by_compose``)."""

    target: str
    source: str  # "content" or "environment"
    variable: str = ""  # the variable an "environment" one is read from
    name: str = ""  # the config's or secret's name in the file (its top-level key)
    kind: str = ""  # "configs" or "secrets"


@dataclass(frozen=True)
class Healthcheck:
    test: tuple[str, ...]
    interval: float = 30.0
    timeout: float = 30.0
    retries: int = 3
    start_period: float = 0.0
    disabled: bool = False
    start_interval: float | None = None  # None: not given
    start_period_given: bool = False  # compose refuses start_interval without start_period


@dataclass(frozen=True)
class Resources:
    """Memory (bytes) and CPU (cores) limits and reservations; 0 where none is set.

    From ``deploy.resources`` or the service-level ``mem_limit``/``cpus``/``mem_reservation``
    (compose applies either to the container)."""

    memory_limit: int = 0
    cpus_limit: float = 0.0
    memory_reservation: int = 0
    cpus_reservation: float = 0.0
    service_keys: bool = False  # written as mem_limit/cpus (an override must use the same)

    def __bool__(self) -> bool:
        return bool(
            self.memory_limit or self.cpus_limit or self.memory_reservation or self.cpus_reservation
        )

    def as_dict(self) -> dict[str, float]:
        return {k: v for k, v in asdict(self).items() if k != "service_keys"}


@dataclass(frozen=True)
class Service:
    name: str
    image: str = ""
    build: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    depends_on: tuple[Dependency, ...] = ()
    ports: tuple[PortBinding, ...] = ()
    mounts: tuple[Mount, ...] = ()
    networks: tuple[Attachment, ...] = ()
    healthcheck: Healthcheck | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    profiles: tuple[str, ...] = ()
    restart: str = ""
    injected: tuple[InjectedFile, ...] = ()
    stop_grace: float = 10.0  # stop_grace_period: how long `down` waits before SIGKILL
    privileged: bool = False
    cap_add: tuple[str, ...] = ()
    resources: Resources = field(default_factory=Resources)
    replicas: int = 1  # deploy.replicas (or the legacy `scale`): containers of this service
    # the lifecycle hooks it declares (pre_start, post_start, pre_stop): compose runs them
    hooks: frozenset[str] = frozenset()
    command: tuple[str, ...] = ()  # as compose normalised it (a list)
    expose: tuple[int, ...] = ()  # `expose:` ports: reachable on the networks, not published

    @property
    def started_by_compose(self) -> bool:
        """Whether starting it takes compose itself: compose runs ``pre_start`` hooks before
        the start (once per container, a failure leaving it created), copies inline and
        environment configs and secrets in just before it, and runs ``post_start`` hooks
        after."""
        return bool(self.hooks & START_HOOKS) or bool(self.injected)

    @property
    def stopped_by_compose(self) -> bool:
        """Whether stopping it takes compose itself: compose runs ``pre_stop`` hooks first."""
        return "pre_stop" in self.hooks

    def label(self, key: str, default: str = "") -> str:
        return self.labels.get(key, default)


HOOKS = ("pre_start", "post_start", "pre_stop")  # compose's lifecycle hooks (5.3+: pre_start)
START_HOOKS = frozenset({"pre_start", "post_start"})


@dataclass(frozen=True)
class Network:
    key: str
    name: str
    subnets: tuple[tuple[str, str | None], ...] = ()  # (subnet, gateway)
    external: bool = False


@dataclass(frozen=True)
class Volume:
    key: str
    name: str
    external: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Stack:
    """Every service of the compose files, and which of them the active profiles select."""

    project: str
    services: Mapping[str, Service]
    networks: Mapping[str, Network]
    volumes: Mapping[str, Volume]
    active_profiles: tuple[str, ...] = ()
    # Top-level configs and secrets read from a file: (kind, key) -> path. Compose bind-mounts
    # these from the engine's disk, as it does a bind volume.
    file_sources: Mapping[tuple[str, str], str] = field(default_factory=dict)
    # the files' profiles where the model holds only the active ones (compose could not read
    # every profile at once); else every service is here and they are its profiles
    declared_profiles: tuple[str, ...] = ()

    @property
    def all_profiles(self) -> tuple[str, ...]:
        found = {p for s in self.services.values() for p in s.profiles}
        return tuple(sorted(found | set(self.declared_profiles)))

    def is_active(self, service: Service) -> bool:
        if not service.profiles:
            return True
        return "*" in self.active_profiles or bool(
            set(service.profiles) & set(self.active_profiles)
        )

    def with_profiles(self, profiles: Iterable[str]) -> Stack:
        return replace(self, active_profiles=tuple(profiles))

    @property
    def selected(self) -> dict[str, Service]:
        return {n: s for n, s in self.services.items() if self.is_active(s)}


def parse_duration(value: object, default: float) -> float:
    """Compose durations like ``1m30s``, ``500ms``, ``5s`` (or nanoseconds as an int)."""
    if value is None:
        return default
    if isinstance(value, int | float):
        return float(value) / 1e9
    text, total, number = str(value), 0.0, ""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6, "ns": 1e-9}
    index = 0
    while index < len(text):
        char = text[index]
        if char.isdigit() or char == ".":
            number += char
            index += 1
            continue
        unit = text[index : index + 2] if text[index : index + 2] in units else char
        if unit not in units or not number:
            return default
        total += float(number) * units[unit]
        number, index = "", index + len(unit)
    return total + (float(number) if number else 0.0)


def _healthcheck(data: Mapping[str, Any] | None) -> Healthcheck | None:
    if not data:
        return None
    test = data.get("test") or []
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    disabled = bool(data.get("disable")) or (bool(test) and test[0] == "NONE")
    return Healthcheck(
        test=tuple(str(t) for t in test),
        interval=parse_duration(data.get("interval"), 30.0),
        timeout=parse_duration(data.get("timeout"), 30.0),
        retries=int(data.get("retries") or 3),
        start_period=parse_duration(data.get("start_period"), 0.0),
        disabled=disabled,
        start_interval=(
            None
            if data.get("start_interval") is None
            else parse_duration(data.get("start_interval"), 0.0)
        ),
        start_period_given=data.get("start_period") is not None,
    )


def _published(value: object) -> int | None:
    if value in (None, ""):
        return None
    text = str(value)
    return int(text.split("-", 1)[0]) if text.split("-", 1)[0].isdigit() else None


def _number(value: object) -> float:
    try:
        return float(str(value)) if value not in (None, "") else 0.0
    except ValueError:
        return 0.0


def _resources(data: Mapping[str, Any]) -> Resources:
    """Compose's normalised JSON gives bytes as strings and cores as numbers."""
    resources = ((data.get("deploy") or {}).get("resources")) or {}
    limits, reservations = resources.get("limits") or {}, resources.get("reservations") or {}
    return Resources(
        memory_limit=int(_number(limits.get("memory") or data.get("mem_limit"))),
        cpus_limit=_number(limits.get("cpus") or data.get("cpus")),
        memory_reservation=int(_number(reservations.get("memory") or data.get("mem_reservation"))),
        cpus_reservation=_number(reservations.get("cpus")),
        service_keys=any(data.get(k) for k in ("mem_limit", "cpus", "mem_reservation")),
    )


def _injected(data: Mapping[str, Any], top: Mapping[str, Any]) -> tuple[InjectedFile, ...]:
    files = []
    for kind, default_dir in (("configs", "/"), ("secrets", "/run/secrets/")):
        definitions = top.get(kind) or {}
        for entry in data.get(kind) or []:
            ref = {"source": entry} if isinstance(entry, str) else entry
            source = str(ref.get("source", ""))
            spec = definitions.get(source) or {}
            if "content" not in spec and "environment" not in spec:
                continue  # file-based: compose bind-mounts it at create
            target = str(ref.get("target") or source)
            if not target.startswith("/"):
                target = default_dir + target
            files.append(
                InjectedFile(
                    target,
                    "content" if "content" in spec else "environment",
                    variable=str(spec.get("environment") or ""),
                    name=source,
                    kind=kind,
                )
            )
    return tuple(files)


def _service(name: str, data: Mapping[str, Any], top: Mapping[str, Any]) -> Service:
    depends = data.get("depends_on") or {}
    if isinstance(depends, list):
        depends = {d: {} for d in depends}
    nets = data.get("networks") or {}
    if isinstance(nets, list):
        nets = {n: None for n in nets}
    labels = data.get("labels") or {}
    if isinstance(labels, list):
        labels = dict(item.split("=", 1) if "=" in item else (item, "") for item in labels)
    return Service(
        name=name,
        image=str(data.get("image") or ""),
        build=bool(data.get("build")),
        labels={str(k): str(v) for k, v in labels.items()},
        depends_on=tuple(
            Dependency(
                dep,
                str((spec or {}).get("condition") or "service_started"),
                bool((spec or {}).get("required", True)),
                bool((spec or {}).get("restart", False)),
            )
            for dep, spec in sorted(depends.items())
        ),
        ports=tuple(
            PortBinding(
                target=int(p.get("target") or 0),
                published=_published(p.get("published")),
                host_ip=str(p.get("host_ip") or ""),
                protocol=str(p.get("protocol") or "tcp"),
            )
            for p in data.get("ports") or []
        ),
        mounts=tuple(
            Mount(str(m.get("type", "")), str(m.get("source", "")), str(m.get("target", "")))
            for m in data.get("volumes") or []
        ),
        networks=tuple(
            Attachment(net, (spec or {}).get("ipv4_address")) for net, spec in sorted(nets.items())
        ),
        healthcheck=_healthcheck(data.get("healthcheck")),
        environment={
            str(k): str(v) for k, v in (data.get("environment") or {}).items() if v is not None
        },
        profiles=tuple(data.get("profiles") or ()),
        restart=str(data.get("restart") or ""),
        injected=_injected(data, top),
        stop_grace=parse_duration(data.get("stop_grace_period"), 10.0),
        privileged=bool(data.get("privileged")),
        cap_add=tuple(str(c).upper().removeprefix("CAP_") for c in data.get("cap_add") or ()),
        resources=_resources(data),
        replicas=_replicas(data),
        hooks=frozenset(hook for hook in HOOKS if data.get(hook)),
        command=_words_of(data.get("command")),
        expose=tuple(
            int(str(p).split("/")[0].split("-")[0])
            for p in data.get("expose") or ()
            if str(p).split("/")[0].split("-")[0].isdigit()
        ),
    )


def _words_of(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return ()


def _replicas(data: Mapping[str, Any]) -> int:
    if data.get("provider"):  # a provider service (Compose 2.36+, models): no container, and
        return 0  # compose's --wait leaves it out (5.x): nothing to wait for
    deploy = data.get("deploy") or {}
    raw = deploy.get("replicas", data.get("scale", 1))
    try:
        return max(0, int(raw))
    except (TypeError, ValueError):
        return 1


def unescaped(value: Any) -> Any:
    """Compose's ``config`` writes every ``$`` of a resolved value as ``$$`` (so its output
    can be read again without interpolating twice); the values themselves, as a container
    gets them, have one. Pure."""
    if isinstance(value, str):
        return value.replace("$$", "$")
    if isinstance(value, Mapping):
        return {key: unescaped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unescaped(item) for item in value]
    return value


def stack_from_compose(
    document: Mapping[str, Any], *, active_profiles: Iterable[str] = ()
) -> Stack:
    """Build the model from compose's normalised JSON (its values as the containers get
    them: ``unescaped``). Pure."""
    document = unescaped(document)
    networks = {
        key: Network(
            key=key,
            name=str((spec or {}).get("name") or key),
            subnets=tuple(
                (str(c["subnet"]), c.get("gateway"))
                for c in ((spec or {}).get("ipam") or {}).get("config") or []
                if c.get("subnet")
            ),
            external=bool((spec or {}).get("external")),
        )
        for key, spec in (document.get("networks") or {}).items()
    }
    volumes = {
        key: Volume(
            key=key,
            name=str((spec or {}).get("name") or key),
            external=bool((spec or {}).get("external")),
            labels=dict((spec or {}).get("labels") or {}),
        )
        for key, spec in (document.get("volumes") or {}).items()
    }
    services = {
        name: _service(name, spec or {}, document)
        for name, spec in sorted((document.get("services") or {}).items())
    }
    return Stack(
        project=str(document.get("name") or ""),
        services=services,
        networks=networks,
        volumes=volumes,
        active_profiles=tuple(active_profiles),
        declared_profiles=tuple(document.get(DECLARED_PROFILES) or ()),
        file_sources={
            (kind, str(key)): str(spec["file"])
            for kind in ("configs", "secrets")
            for key, spec in (document.get(kind) or {}).items()
            if isinstance(spec, Mapping) and spec.get("file")
        },
    )
