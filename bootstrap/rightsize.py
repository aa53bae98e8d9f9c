"""``bootstrap stats``: each service's use next to its limits, and limits proposed from the
peaks it reached. Pure: readings in, rows and a compose override out."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from bootstrap.model import Resources
from bootstrap.runtime import ResourceSample
from bootstrap.sizes import MIB, cpus, memory

DEFAULT_HEADROOM = 1.5
MEMORY_FLOOR = 32 * MIB  # below this a limit only invites the out-of-memory killer
MEMORY_STEP = 16 * MIB
CPU_FLOOR = 0.5  # start-up bursts need room (PostgreSQL's first start averages 0.22 cores
# over 6 s here, with peaks above); idle readings alone would starve it
CPU_STEP = 0.05


@dataclass(frozen=True)
class Usage:
    """What one service used: now, and the most seen (since start where the engine keeps it,
    otherwise over the readings taken)."""

    service: str
    memory: int
    memory_peak: int
    cpu: float
    cpu_peak: float
    declared: Resources = field(default_factory=Resources)
    memory_limit: int = 0  # the limit in force (the machine's memory when none is set)
    peak_since_start: bool = True  # False: the peaks are only this command's readings
    readings: int = 1

    def merged(self, sample: ResourceSample) -> Usage:
        """This usage with one more reading folded in."""
        return replace(
            self,
            memory=sample.memory,
            memory_peak=max(self.memory_peak, sample.memory_peak, sample.memory),
            cpu=sample.cpu,
            cpu_peak=max(self.cpu_peak, sample.cpu),
            memory_limit=sample.memory_limit or self.memory_limit,
            readings=self.readings + 1,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "cpu": round(self.cpu, 3),
            "cpu_peak": round(self.cpu_peak, 3),
            "cpus_limit": self.declared.cpus_limit,
            "memory": self.memory,
            "memory_peak": self.memory_peak,
            "memory_limit": self.declared.memory_limit,
            "memory_available": self.memory_limit,
            "peak_since_start": self.peak_since_start,
            "readings": self.readings,
        }


def usage_from(service: str, sample: ResourceSample, declared: Resources) -> Usage:
    return Usage(
        service=service,
        memory=sample.memory,
        memory_peak=max(sample.memory_peak, sample.memory),
        cpu=sample.cpu,
        cpu_peak=sample.cpu,
        declared=declared,
        memory_limit=sample.memory_limit,
        peak_since_start=sample.memory_peak > 0,
    )


def _share(used: float, limit: float) -> str:
    return f"{used * 100 / limit:.0f}%" if limit else "-"


def table(usages: Iterable[Usage]) -> str:
    """The text table ``stats`` prints."""
    header = (
        f"{'SERVICE':<20} {'CPU':>6} {'PEAK':>6} {'LIMIT':>6}  "
        f"{'MEMORY':>7} {'PEAK':>7} {'LIMIT':>7} {'USE':>5}"
    )
    lines = [header]
    for u in usages:
        limit = u.declared.memory_limit
        lines.append(
            f"{u.service:<20} {u.cpu:>6.2f} {u.cpu_peak:>6.2f} {cpus(u.declared.cpus_limit):>6}  "
            f"{memory(u.memory):>7} {memory(u.memory_peak):>7} {memory(limit):>7} "
            f"{_share(u.memory_peak, limit):>5}"
        )
    return "\n".join(lines)


def _round_up(value: float, step: float) -> float:
    return math.ceil(value / step - 1e-9) * step


def suggest(
    usages: Iterable[Usage], *, headroom: float = DEFAULT_HEADROOM, machine_cpus: int = 0
) -> dict[str, Resources]:
    """Limits from the peaks times ``headroom``; memory reserved at what it uses now. Memory
    rounds up to 16 MiB and never below 32 MiB; CPUs to 0.05 and never below 0.5 (nor above
    the machine)."""
    proposed = {}
    for u in usages:
        memory_limit = max(MEMORY_FLOOR, int(_round_up(u.memory_peak * headroom, MEMORY_STEP)))
        cpu_limit = max(CPU_FLOOR, round(_round_up(u.cpu_peak * headroom, CPU_STEP), 2))
        if machine_cpus:
            cpu_limit = min(cpu_limit, float(machine_cpus))
        reservation = min(memory_limit, int(_round_up(max(u.memory, 1), MEMORY_STEP)))
        proposed[u.service] = Resources(
            memory_limit=memory_limit,
            cpus_limit=cpu_limit,
            memory_reservation=reservation,
            service_keys=u.declared.service_keys,
        )
    return proposed


def override_yaml(
    proposed: Mapping[str, Resources], *, headroom: float, usages: Mapping[str, Usage]
) -> str:
    """A compose override file (YAML; every scalar written as JSON, which YAML reads as is).
    A service that declares ``mem_limit``/``cpus`` gets those keys: compose refuses the two
    forms with different values."""
    lines = [
        "# Proposed by `bootstrap stats --suggest`: limits at each service's peak x "
        f"{headroom:g}, memory reserved at what it used then.",
        "# Review it before you keep it. Compose reads docker-compose.override.yml next to",
        "# docker-compose.yml by itself; under another name, add it to the files bootstrap",
        "# reads (-f, COMPOSE_FILE or bootstrap.toml's files).",
        "services:",
    ]
    for name in sorted(proposed):
        r, u = proposed[name], usages[name]
        since = "since start" if u.peak_since_start else f"over {u.readings} readings"
        lines.append(f"  {json.dumps(name)}:")
        lines.append(
            f"    # peak memory {memory(u.memory_peak)} ({since}), now {memory(u.memory)}; "
            f"peak CPU {u.cpu_peak:.2f} over {u.readings} readings"
        )
        if r.service_keys:
            lines += [
                f"    mem_limit: {json.dumps(memory(r.memory_limit))}",
                f"    mem_reservation: {json.dumps(memory(r.memory_reservation))}",
                f"    cpus: {r.cpus_limit:g}",
            ]
            continue
        lines += [
            "    deploy:",
            "      resources:",
            "        limits:",
            f"          cpus: {json.dumps(cpus(r.cpus_limit))}",
            f"          memory: {json.dumps(memory(r.memory_limit))}",
            "        reservations:",
            f"          memory: {json.dumps(memory(r.memory_reservation))}",
        ]
    return "\n".join(lines) + "\n"
