"""``log``: a line of the container's log matches ``pattern``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bootstrap.outcome import Observation
from bootstrap.probes.core import Probe, Target
from bootstrap.probes.registry import ProbeKind, register
from bootstrap.probes.spec import Param, ProbeSpec, regex


@dataclass(frozen=True)
class LogProbe:
    pattern: str
    kind: str = "log"

    def check(self, target: Target) -> Observation:
        text = target.access().logs(500)
        if re.search(self.pattern, text, re.MULTILINE):
            return Observation(True, f"log line matches {self.pattern!r}")
        return Observation(False, f"no log line matches {self.pattern!r} yet")


def _build(spec: ProbeSpec, _exposed: Sequence[int]) -> Probe:
    return LogProbe(spec.text("pattern", "ready"))


register(
    ProbeKind(
        "log",
        {"pattern": Param(regex)},
        _build,
        needs_container=True,
        signal="a log line matches `pattern`",
        tested="real server",
    )
)
