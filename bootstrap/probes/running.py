"""``running``: no readiness signal of its own: ready once the container has stayed up for a
settle time, so a process that crashes at once is not taken for a ready one."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from bootstrap.outcome import Observation
from bootstrap.probes.core import Probe, Target
from bootstrap.probes.registry import RUNNING, ProbeKind, Rests, register
from bootstrap.probes.spec import TIMEOUT, ProbeSpec
from bootstrap.runtime import State

# A process that fails at once is gone 0.10-0.16 s after the engine's StartedAt (measured on
# Engine 28: `false`, `sh -c "exit 3"`, a Python ImportError); twice that catches them, and
# costs a fast stack no more than that at the end of its run (paid once, for every service).
SETTLE = 0.25


@dataclass(frozen=True)
class RunningProbe:
    settle: float = SETTLE
    kind: str = RUNNING

    def check(self, target: Target) -> Observation:
        state = target.state()
        if state is None or state.status != State.RUNNING:
            return Observation(False, f"container is {state.status if state else 'unknown'}")
        up_for = time.monotonic() - state.since
        if up_for >= self.settle:
            return Observation(True, "running")
        return Observation(False, f"running for {up_for:.2f}s, settling")


def _build(spec: ProbeSpec, _exposed: Sequence[int]) -> Probe:
    return RunningProbe(spec.number("settle", SETTLE))


register(
    ProbeKind(
        RUNNING,
        {"settle": TIMEOUT},
        _build,
        needs_container=True,
        rests=Rests.LIFE,
        signal="the container has run for `settle` (0.25 s) without exiting",
        tested="real server",
    )
)
