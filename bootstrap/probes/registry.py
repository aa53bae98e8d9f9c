"""The one table of probe kinds: each kind's label parameters, its factory, where it can run.

A kind is registered by its own module (``bootstrap/probes/<kind>.py``); the labels, the
planner, both backends and the discovery service read this table, so a kind they do not know
is an error everywhere, never a silent "running". Adding a kind is one module, one line in
``KIND_MODULES`` and one row of docs/recognition.md's table.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import FrameType
from typing import Any

from bootstrap.probes.core import Probe
from bootstrap.probes.index import MODULES
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


_KINDS: dict[str, ProbeKind] = {}  # what the imported modules registered
_LOADING = threading.RLock()  # register() runs inside it, from the modules it imports


_REGISTERED_BY: dict[str, str] = {}  # kind name -> the module of KIND_MODULES it came from


def register(kind: ProbeKind) -> ProbeKind:
    for name in (kind.name, *kind.aliases):
        _KINDS[name] = kind
    frame = sys._getframe(1)  # the kind's module, maybe through a helper (register_http)
    while frame.f_back is not None and _short(frame) not in KIND_MODULES:
        frame = frame.f_back
    _REGISTERED_BY[kind.name] = _short(frame)
    return kind


def _short(frame: FrameType) -> str:
    return str(frame.f_globals.get("__name__", "")).rpartition(".")[2]


class _Kinds(Mapping[str, ProbeKind]):
    """Every kind by name (aliases included), in ``KIND_MODULES``' order. A kind's module is
    imported when the kind is first asked for: which module registers which name, and the image
    words and repositories recognition asks about, are ``index.MODULES``, written from the
    modules (``write_index``; a unit test keeps it equal), so a command imports the modules of
    the kinds its stack uses, not fifty."""

    def __getitem__(self, name: str) -> ProbeKind:
        found = _KINDS.get(name)
        if found is None:
            module = _MODULE_OF.get(name)
            if module is None:
                raise KeyError(name)
            with _LOADING:
                importlib.import_module(f"bootstrap.probes.{module}")
            found = _KINDS[name]
        return found

    def __iter__(self) -> Iterator[str]:
        yield from _NAMES
        yield from (name for name in list(_KINDS) if name not in _MODULE_OF)

    def __len__(self) -> int:
        return len(_NAMES) + sum(1 for name in list(_KINDS) if name not in _MODULE_OF)


# From the index: name -> its module, the names in order, image word -> the first name whose
# images hold it, repository -> name.
_MODULE_OF = {name: entry[0] for entry in MODULES for name in entry[1]}
_NAMES = tuple(name for entry in MODULES for name in entry[1])
_BY_IMAGE: dict[str, str] = {}
_BY_REPOSITORY: dict[str, str] = {}
for _module, _names, _images, _repositories in MODULES:
    for _word in _images:
        _BY_IMAGE.setdefault(_word, _names[0])
    for _repository in _repositories:
        _BY_REPOSITORY.setdefault(_repository, _names[0])
_RANK = {name: rank for rank, name in enumerate(_NAMES)}
_ALL = _Kinds()


def kinds() -> Mapping[str, ProbeKind]:
    """Every kind by name (aliases included), each kind's module imported on first use."""
    return _ALL


def index_entries() -> tuple[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...]:
    """``index.MODULES`` as the modules say it now (every module imported): per module of
    ``KIND_MODULES``, the names it registers, its kinds' image words and repositories."""
    entries = []
    for module in KIND_MODULES:
        with _LOADING:
            importlib.import_module(f"bootstrap.probes.{module}")
        mine = [k for n, k in _KINDS.items() if n == k.name and _REGISTERED_BY[n] == module]
        names = tuple(dict.fromkeys(n for k in mine for n in (k.name, *k.aliases)))
        images = tuple(sorted({w for k in mine for w in k.images}))
        repositories = tuple(sorted({r for k in mine for r in k.repositories}))
        entries.append((module, names, images, repositories))
    return tuple(entries)


def index_source() -> str:
    """The text of ``bootstrap/probes/index.py`` (``ruff format`` gives it its final shape)."""
    import pprint

    lines = [
        '"""Which module registers which probe kind, and the image words and repositories',
        "recognition asks about: written by ``registry.write_index()`` from the modules (a",
        "unit test keeps it equal); the registry imports a kind's module when the kind is",
        'asked for."""',
        "",
        "MODULES: tuple[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...] = "
        + pprint.pformat(index_entries(), width=96),
        "",
    ]
    return "\n".join(lines)


def write_index() -> None:
    """Write ``bootstrap/probes/index.py`` from the modules (after adding or changing a kind)."""
    from pathlib import Path

    Path(__file__).with_name("index.py").write_text(index_source(), encoding="utf-8")


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
    names = [_BY_IMAGE[w] for w in words if w in _BY_IMAGE]
    return _ALL[min(names, key=_RANK.__getitem__)] if names else None


def by_repository(repository: str) -> ProbeKind | None:
    """The kind an image's exact repository runs, where its name does not say it
    (``confluentinc/cp-server`` is a Kafka broker)."""
    name = _BY_REPOSITORY.get(repository)
    return _ALL[name] if name else None


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
