"""The one table of probe kinds: each kind's label parameters, its factory, where it can run.

A kind is registered by its own module (``bootstrap/probes/<kind>.py``); the labels, the
planner, both backends and the discovery service read this table, so a kind they do not know
is an error everywhere, never a silent "running". Adding a kind is one module, one line in
``KIND_MODULES`` and one row of docs/recognition.md's table.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bootstrap.probes.core import Probe
from bootstrap.probes.spec import TIMEOUT, Param, ParamValue, ProbeSpec

# (the service's resolved environment, its command) -> the parameters they give the probe
Derive = Callable[[Mapping[str, str], Sequence[str]], Mapping[str, ParamValue]]

# The modules that register kinds, in the order plan --help and the docs list them.
KIND_MODULES = (
    "docker",
    "tcp",
    "http",
    "postgres",
    "mariadb",
    "mcp",
    "redis",
    "memcached",
    "rabbitmq",
    "nats",
    "mqtt",
    "kafka",
    "etcd",
    "zookeeper",
    "consul",
    "mongodb",
    "elasticsearch",
    "couchdb",
    "mssql",
    "cockroachdb",
    "clickhouse",
    "oracle",
    "minio",
    "localstack",
    "azurite",
    "dynamodb",
    "keycloak",
    "vault",
    "smtp",
    "influxdb",
    "meilisearch",
    "typesense",
    "qdrant",
    "weaviate",
    "chroma",
    "loki",
    "tempo",
    "mimir",
    "pyroscope",
    "alloy",
    "exec",
    "log",
    "completed",
    "running",
)


# The kinds the planner itself chooses (every other kind comes from an image or a label).
RUNNING = "running"  # the container runs (for its settle time)
COMPLETED = "completed"  # a one-shot job exited 0
HEALTHCHECK = "docker"  # the container's own healthcheck
TCP = "tcp"  # a port accepts a connection (a port the file or the image names)


class Rests(StrEnum):
    """What a kind's "ready" rests on."""

    SERVER = "server"  # a server that answers: its protocol, a port, a command's exit
    HEALTH = "health"  # the container's own healthcheck
    LIFE = "life"  # the container's life only: it runs, or it completed


@dataclass(frozen=True)
class ProbeKind:
    """A probe kind: its label parameters (every kind also takes ``timeout``), how it is
    built from a parsed spec and the service's container ports, and what it needs."""

    name: str
    params: Mapping[str, Param]
    build: Callable[[ProbeSpec, Sequence[int]], Probe]
    # The container itself (exec, logs): then a probe can run only where bootstrap reaches
    # the container (compose); on Swarm such a kind rests on the task's state.
    needs_container: bool = False
    # Where its port is not reachable from here, it can still ask from inside the container
    # (psql, nc, wget in the image): no probe helper needed on compose.
    in_container: bool = False
    # Clients an image may carry that let it ask from inside the container (redis-cli): where
    # one is there, compose asks through it instead of starting the probe helper.
    clients: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()  # other label values for it (mysql -> mariadb)
    signal: str = ""  # what "ready" means, for the docs
    tested: str = ""  # what it is tested against: "real server" or "handshake peer"
    # Recognition: the name words of the images that run it (`redis`, `valkey`...), and the
    # parameters its image's documented variables and command give (credentials, a port).
    images: frozenset[str] = frozenset()
    derive: Derive = field(default=lambda _env, _command: {})
    phase: str = ""  # the phase such a server belongs in, where the name words do not say
    # images of an older layout its probe does not fit (a repository path, or ":tag"): one
    # is planned as the server it is not recognised as (its port, its healthcheck)
    legacy: frozenset[str] = frozenset()
    # exact repositories (namespace/name) of images that run it under another name
    repositories: frozenset[str] = frozenset()
    rests: Rests = Rests.SERVER  # what its "ready" rests on
    job: bool = False  # ready once its container exited 0 (a dependent waits for that)

    @property
    def label_params(self) -> Mapping[str, Param]:
        return {**self.params, "timeout": TIMEOUT}


_KINDS: dict[str, ProbeKind] = {}
_LOADED: list[bool] = []  # every module of KIND_MODULES imported (one alone registers early)
# image word -> (rank, kind): the first kind, in the registry's order, whose images hold it
_BY_IMAGE: dict[str, tuple[int, ProbeKind]] = {}
_LOADING = threading.RLock()  # register() runs inside it, from the modules it imports


def register(kind: ProbeKind) -> ProbeKind:
    for name in (kind.name, *kind.aliases):
        _KINDS[name] = kind
    _BY_IMAGE.clear()  # rebuilt on the next question
    return kind


def kinds() -> Mapping[str, ProbeKind]:
    """Every registered kind by name (aliases included), the modules loaded on first use
    (once: a thread may load them while compose reads the files)."""
    if not _LOADED:
        with _LOADING:
            _load()
    return _KINDS


def _load() -> None:
    if not _LOADED:
        for module in KIND_MODULES:
            importlib.import_module(f"bootstrap.probes.{module}")
        # In KIND_MODULES' order, whichever module a caller imported first.
        order = {name: index for index, name in enumerate(KIND_MODULES)}
        ranked = sorted(_KINDS.items(), key=lambda item: order.get(item[1].name, len(order)))
        _KINDS.clear()
        _KINDS.update(ranked)
        _LOADED.append(True)


def kind(name: str) -> ProbeKind | None:
    return kinds().get(name)


def rests_on(name: str) -> Rests:
    """What the kind ``name`` rests on (a kind nobody registers: a server, which is refused
    everywhere it is used)."""
    found = kind(name)
    return found.rests if found else Rests.SERVER


def is_job(name: str) -> bool:
    found = kind(name)
    return bool(found and found.job)


def canonical(name: str) -> str:
    """A label's kind as the registry names it (``mysql`` -> ``mariadb``)."""
    found = kind(name)
    return found.name if found else name


class UnknownKind(ValueError):
    """A kind no module registers."""


def recognised(words: Sequence[str]) -> ProbeKind | None:
    """The kind whose images a name's words say (``redis`` -> redis), or None: the first in
    the registry's order where several do (one index, not a scan of every kind per name)."""
    if not _BY_IMAGE:
        loaded = kinds()
        with _LOADING:
            for rank, found in enumerate(loaded.values()):
                for image in found.images:
                    _BY_IMAGE.setdefault(image, (rank, found))
    ranked = [_BY_IMAGE[w] for w in words if w in _BY_IMAGE]
    return min(ranked, key=lambda item: item[0])[1] if ranked else None


def by_repository(repository: str) -> ProbeKind | None:
    """The kind an image's exact repository runs, where its name does not say it
    (``confluentinc/cp-server`` is a Kafka broker)."""
    for found in kinds().values():
        if repository in found.repositories:
            return found
    return None


class _Reading(dict[str, str]):
    """An empty environment that remembers every name asked of it."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key: str, default: object = None) -> Any:
        self.asked.add(key)
        return default

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        self.asked.add(str(key))
        return False


def credential_names(name: str) -> frozenset[str]:
    """The variables a kind reads its parameters from (credentials, a database): what its
    ``derive`` asks of an environment with nothing set, where every fallback is asked."""
    found = kind(name)
    if found is None:
        return frozenset()
    reading = _Reading()
    found.derive(reading, ())
    return frozenset(reading.asked)


def make_probe(spec: ProbeSpec, *, exposed: Sequence[int] = ()) -> Probe:
    """Build the strategy for a spec (parameters parsed in planning). ``exposed``: the
    service's container ports, in order. A kind nobody registers is an error."""
    found = kind(spec.kind)
    if found is None:
        raise UnknownKind(f"unknown probe kind {spec.kind!r}; kinds are: {', '.join(kinds())}")
    return found.build(spec, exposed)


def port_of(spec: ProbeSpec, exposed: Sequence[int], default: int) -> int:
    """The ``port`` parameter, else the service's first container port, else the default."""
    if "port" in spec.params:
        return int(spec.number("port", default))
    return exposed[0] if exposed else default


def server_port(spec: ProbeSpec, exposed: Sequence[int], default: int) -> int:
    """For a known server: the ``port`` parameter, else its default port where the service
    publishes it or publishes nothing, else the first port it publishes (a server moved to
    another port publishes that one)."""
    if "port" in spec.params:
        return int(spec.number("port", default))
    return default if default in exposed or not exposed else exposed[0]


TABLE_BEGIN, TABLE_END = "<!-- probe-kinds:begin -->", "<!-- probe-kinds:end -->"


def kinds_table() -> str:
    """The probe kinds as docs/recognition.md shows them (a unit test keeps the page equal)."""
    rows = [
        "| kind | recognised from | ready when | label parameters | tested against |",
        "| --- | --- | --- | --- | --- |",
    ]
    seen: set[str] = set()
    for found in kinds().values():
        if found.name in seen:
            continue
        seen.add(found.name)
        names = ", ".join(f"`{w}`" for w in sorted(found.images)) or "a label (or its rule)"
        if found.aliases:
            names += f"; label also `{'`, `'.join(found.aliases)}`"
        params = ", ".join(f"`{p}`" for p in sorted(found.label_params)) or "-"
        rows.append(f"| `{found.name}` | {names} | {found.signal} | {params} | {found.tested} |")
    return "\n".join([TABLE_BEGIN, *rows, TABLE_END])
