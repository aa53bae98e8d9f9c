"""Readiness probes: small strategies sharing one polling loop, one module per kind, one
registry of kinds (``registry``). Standard library only: the Swarm probe helper imports it.

``core``: the target, ``poll``, the container gate; ``run``: ``run_probe`` (the gate, then
the probe, in the poll loop); ``spec``: parameters and ``ProbeSpec``; ``registry``: the kinds
and what each rests on; a module per kind registers itself there.
"""

from __future__ import annotations

from bootstrap.outcome import Observation, ProbeResult
from bootstrap.probes.core import (
    PACED,
    Backoff,
    Clock,
    ContainerAccess,
    EngineContainer,
    NoContainer,
    Probe,
    SystemClock,
    Target,
    container_gate,
    poll,
    truthy,
)
from bootstrap.probes.registry import ProbeKind, UnknownKind, kind, kinds, make_probe
from bootstrap.probes.run import exit_zero_is_ready, run_probe

__all__ = [
    "PACED",
    "Backoff",
    "Clock",
    "ContainerAccess",
    "EngineContainer",
    "NoContainer",
    "Observation",
    "Probe",
    "ProbeKind",
    "ProbeResult",
    "SystemClock",
    "Target",
    "UnknownKind",
    "container_gate",
    "exit_zero_is_ready",
    "kind",
    "kinds",
    "make_probe",
    "poll",
    "run_probe",
    "truthy",
]
