"""One probe run: the container's gate, then the probe, in the one poll loop (``core.poll``).

Apart from ``core`` because what an exit means depends on the kind, which the registry says
(and the registry imports ``core`` for the ``Probe`` protocol)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bootstrap.outcome import Observation, ProbeResult
from bootstrap.probes.core import PACED, Backoff, Clock, Probe, Target, container_gate, poll
from bootstrap.probes.registry import Rests, rests_on


def exit_zero_is_ready(kind: str, long_running: bool = False) -> bool:
    """Whether a container that exited 0 counts as ready: for a probe with no readiness signal
    of its own (a one-shot job), yes, unless the service must keep running (something waits
    for it with service_started or service_healthy, or it publishes ports): compose's rule
    then, where an exit is a failure. ``up`` and ``status`` both ask this."""
    return rests_on(kind) is Rests.LIFE and not long_running


def run_probe(
    probe: Probe,
    target: Target,
    *,
    timeout: float,
    clock: Clock,
    cancelled: Callable[[], bool] = lambda: False,
    on_change: Callable[[Observation], None] = lambda _seen: None,
    long_running: bool = False,
    between: Callable[[float], None] | None = None,
) -> ProbeResult:
    """Gate on the container's state, then the probe, in the one poll loop. ``between``
    waits between attempts (the events watch: a container that dies wakes it); by default the
    clock's sleep. ``long_running``: an exit, even with 0, fails it."""
    completed = exit_zero_is_ready(probe.kind, long_running)

    def attempt() -> Observation:
        gate = container_gate(target, completed_ok=completed)
        if gate is not None:
            return gate
        seen = probe.check(target)
        if seen.ready or seen.fatal:
            return seen
        # what the container did while the probe ran (an exec loop gives up on a container
        # the engine marked unhealthy): said now, not after the next pause
        return container_gate(target, completed_ok=completed) or seen

    @dataclass(frozen=True)
    class WaitingClock:
        def now(self) -> float:
            return clock.now()

        def sleep(self, seconds: float) -> None:
            (between or clock.sleep)(seconds)

    backoff = PACED if getattr(probe, "paced", False) and target.window > 0 else Backoff()
    return poll(
        attempt,
        timeout=timeout,
        clock=WaitingClock(),
        backoff=backoff,
        cancelled=cancelled,
        on_change=on_change,
    )
