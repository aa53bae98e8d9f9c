"""The one table of probe kinds: each kind's label parameters, its factory, where it can run.

A kind is registered by its own module (``bootstrap/probes/<kind>.py``); the labels, the
planner, both backends and the discovery service read this table, so a kind they do not know
is an error everywhere, never a silent "running". Adding a kind is one module, one line in
``KIND_MODULES`` and one row of docs/recognition.md's table.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from bootstrap.probes.core import Probe
from bootstrap.probes.spec import TIMEOUT, Param, ProbeSpec

# The modules that register kinds, in the order plan --help and the docs list them.
KIND_MODULES = (
    "docker",
    "tcp",
    "http",
    "postgres",
    "mariadb",
    "mcp",
    "exec",
    "log",
    "completed",
    "running",
)


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
    aliases: tuple[str, ...] = ()  # other label values for it (mysql -> mariadb)
    signal: str = ""  # what "ready" means, for the docs
    tested: str = ""  # what it is tested against: "real server" or "handshake peer"
    defaults: Mapping[str, object] = field(default_factory=dict)

    @property
    def label_params(self) -> Mapping[str, Param]:
        return {**self.params, "timeout": TIMEOUT}


_KINDS: dict[str, ProbeKind] = {}
_LOADED: list[bool] = []  # every module of KIND_MODULES imported (one alone registers early)


def register(kind: ProbeKind) -> ProbeKind:
    for name in (kind.name, *kind.aliases):
        _KINDS[name] = kind
    return kind


def kinds() -> Mapping[str, ProbeKind]:
    """Every registered kind by name (aliases included), the modules loaded on first use."""
    if not _LOADED:
        for module in KIND_MODULES:
            importlib.import_module(f"bootstrap.probes.{module}")
        _LOADED.append(True)
    return _KINDS


def kind(name: str) -> ProbeKind | None:
    return kinds().get(name)


def canonical(name: str) -> str:
    """A label's kind as the registry names it (``mysql`` -> ``mariadb``)."""
    found = kind(name)
    return found.name if found else name


class UnknownKind(ValueError):
    """A kind no module registers."""


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
