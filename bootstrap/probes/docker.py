"""``docker``: the container's own healthcheck, run here on a tight schedule (not at the
engine's next interval), or the engine's ``healthy``, whichever comes first. Also the
healthcheck that gates any other probe of a service that has one (``WithHealthcheck``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bootstrap.outcome import Observation
from bootstrap.probes.core import Probe, Target, last_line, shown_command
from bootstrap.probes.registry import HEALTHCHECK, ProbeKind, Rests, register
from bootstrap.probes.spec import ProbeSpec
from bootstrap.runtime import Health


def healthcheck_command(test: Sequence[str]) -> list[str] | None:
    if not test:
        return None
    if test[0] == "CMD":
        return list(test[1:])
    if test[0] == "CMD-SHELL":
        return ["/bin/sh", "-c", " ".join(test[1:])]
    return None


@dataclass(frozen=True)
class DockerHealthProbe:
    """The container's own healthcheck: the engine's verdict, or the same test run now."""

    kind: str = HEALTHCHECK
    paced: bool = True  # the in-container loop does the waiting

    def check(self, target: Target) -> Observation:
        state = target.state()
        if state and state.health == Health.HEALTHY:
            return Observation(True, "engine reports healthy")
        command = healthcheck_command(target.healthcheck.test if target.healthcheck else ())
        if command is None or target.container is None:
            return Observation(False, f"health: {state.health if state else 'unknown'}")
        code, output = target.exec_until(command)
        if code == 0:
            return Observation(True, "healthcheck test passed")
        last = last_line(output)
        said = f": {last[:160]}" if last else " with no output"
        return Observation(False, f"healthcheck `{shown_command(command)}` exited {code}{said}")


@dataclass
class WithHealthcheck:
    """The service's own healthcheck first (run here, on the tight schedule), then the probe
    its kind calls for: a user's healthcheck says what ready means to them, and the protocol
    probe adds what it checks. Ready when both pass; the healthcheck once is enough."""

    probe: Probe
    passed: bool = False
    paced: bool = True

    @property
    def kind(self) -> str:
        return self.probe.kind

    def check(self, target: Target) -> Observation:
        if not self.passed:
            seen = DockerHealthProbe().check(target)
            if not seen.ready:
                return Observation(False, f"its healthcheck: {seen.detail}", seen.fatal)
            self.passed = True
        seen = self.probe.check(target)
        if seen.ready:
            return Observation(True, f"{seen.detail}; its healthcheck passed")
        return seen


def _build(_spec: ProbeSpec, _exposed: Sequence[int]) -> Probe:
    return DockerHealthProbe()


register(
    ProbeKind(
        HEALTHCHECK,
        {},
        _build,
        needs_container=True,
        rests=Rests.HEALTH,
        signal="the container's healthcheck test passes (run at once, then every 50 ms), or "
        "the engine says healthy",
        tested="real server",
    )
)
