"""``completed``: a one-shot job others wait on (``service_completed_successfully``): ready
when it has exited with code 0 (the container gate says so)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bootstrap.outcome import Observation
from bootstrap.probes.core import Probe, Target
from bootstrap.probes.registry import COMPLETED, ProbeKind, Rests, register
from bootstrap.probes.spec import ProbeSpec


@dataclass(frozen=True)
class CompletedProbe:
    kind: str = COMPLETED

    def check(self, target: Target) -> Observation:
        state = target.state()
        return Observation(False, f"still {state.status if state else 'unknown'}")


def _build(_spec: ProbeSpec, _exposed: Sequence[int]) -> Probe:
    return CompletedProbe()


register(
    ProbeKind(
        COMPLETED,
        {},
        _build,
        needs_container=True,
        rests=Rests.LIFE,
        job=True,
        signal="the container exited with code 0",
        tested="real server",
    )
)
