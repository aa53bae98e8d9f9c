"""What every bench shares: running and timing a command, a figure, pairs of runs."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# BENCH_BOOTSTRAP: another build's command (a "before" figure from the same bench code)
BOOTSTRAP = os.environ.get("BENCH_BOOTSTRAP") or str(Path(sys.executable).parent / "bootstrap")


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def run(
    args: list[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run(
        args,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        text=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    elapsed = time.perf_counter() - started
    if check and done.returncode not in (0,):
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed, done


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 4),
        "min": round(min(values), 4),
        "max": round(max(values), 4),
    }


@dataclass
class Figure:
    name: str
    how: str
    unit: str = "s"
    runs: dict[str, list[float]] = field(default_factory=dict)
    ratios: dict[str, list[float]] = field(default_factory=dict)
    target: str = ""
    met: bool | None = None
    notes: list[str] = field(default_factory=list)

    def document(self) -> dict[str, Any]:
        return {
            "how": self.how,
            "unit": self.unit,
            "runs": {k: [round(v, 4) for v in vs] for k, vs in self.runs.items()},
            "summary": {k: summary(vs) for k, vs in self.runs.items() if vs},
            "ratios": {
                k: {**summary(vs), "runs": [round(v, 3) for v in vs]}
                for k, vs in self.ratios.items()
                if vs
            },
            "target": self.target,
            "met": self.met,
            "notes": self.notes,
        }


def pairwise(
    runs: int, first: Callable[[], float], second: Callable[[], float], reset: Callable[[], None]
) -> tuple[list[float], list[float]]:
    """A warm-up of each, then ``runs`` pairs, alternating which tool goes first."""
    for warm_up in (first, second):  # not recorded
        reset()
        warm_up()
    reset()
    a_runs, b_runs = [], []
    for index in range(runs):
        order = [(first, a_runs), (second, b_runs)]
        if index % 2:
            order.reverse()
        for tool, into in order:
            into.append(tool())
            reset()
    return a_runs, b_runs
