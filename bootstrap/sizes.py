"""Memory sizes and CPU figures as compose writes them. Pure."""

from __future__ import annotations

from bootstrap.model import Resources

MIB = 1024**2
GIB = 1024**3


def memory(value: int) -> str:
    """Bytes in compose's own units, never below the value: ``2G``, ``1536M``, ``900K``;
    ``-`` for none."""
    if value <= 0:
        return "-"
    if value % GIB == 0:
        return f"{value // GIB}G"
    if value >= MIB:
        return f"{-(-value // MIB)}M"
    return f"{-(-value // 1024)}K"


def cpus(value: float) -> str:
    return "-" if value <= 0 else f"{value:g}"


def describe(resources: Resources) -> str:
    """``mem 256M/64M cpu 0.5/0.1`` (limit/reservation), or ``no limits``."""
    if not resources:
        return "no limits"
    parts = []
    if resources.memory_limit or resources.memory_reservation:
        reserved = (
            f"/{memory(resources.memory_reservation)}" if resources.memory_reservation else ""
        )
        parts.append(f"mem {memory(resources.memory_limit)}{reserved}")
    if resources.cpus_limit or resources.cpus_reservation:
        reserved = f"/{cpus(resources.cpus_reservation)}" if resources.cpus_reservation else ""
        parts.append(f"cpu {cpus(resources.cpus_limit)}{reserved}")
    return " ".join(parts)
