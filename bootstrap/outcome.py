"""What a probe hands the scheduler: one attempt's observation, and the probe's result."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Observation:
    """One attempt: ready or not, what was seen, and whether waiting longer is pointless."""

    ready: bool
    detail: str
    fatal: bool = False
    # a server answered, but not in the protocol asked: whatever it is, it is not that (a
    # guess of bootstrap's then falls back to what compose would wait for)
    foreign: bool = False


@dataclass(frozen=True)
class ProbeResult:
    ready: bool
    detail: str
    attempts: int
    elapsed: float
    fatal: bool = False
    timed_out: bool = False
