"""``exec``: a command run in the container exits 0 (repeated inside one exec while it
fails, every 50 ms)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bootstrap.outcome import Observation
from bootstrap.probes.core import Probe, Target, last_line
from bootstrap.probes.registry import ProbeKind, register
from bootstrap.probes.spec import TEXT, ProbeSpec


@dataclass(frozen=True)
class ExecProbe:
    command: str
    kind: str = "exec"
    paced: bool = True

    def check(self, target: Target) -> Observation:
        code, output = target.exec_until(["/bin/sh", "-c", self.command])
        return Observation(code == 0, f"`{self.command}`: exit {code} {last_line(output)}".strip())


def _build(spec: ProbeSpec, _exposed: Sequence[int]) -> Probe:
    return ExecProbe(spec.text("command", "true"))


register(
    ProbeKind(
        "exec",
        {"command": TEXT},
        _build,
        needs_container=True,
        signal="`command` exits 0 in the container",
        tested="real server",
    )
)
