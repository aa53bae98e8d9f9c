"""The daily commands, timed whole from outside (a new process each run, as a user waits for
them), each beside compose's own command on the same files in the same run: on a plain stack
this project did not shape (PostgreSQL, Redis, two Python services, nginx, Prometheus; no
settings, no healthchecks but the images') and on two foreign fixtures (Temporal- and
NetBox-shaped, tests/fixtures/foreign): ``plan`` and ``validate`` against ``config``, ``env``
against ``config --environment``; on the plain stack ``status`` and ``ps`` against ``ps``,
``up`` against ``up -d --wait`` and a no-op ``up`` against a no-op ``up -d --wait``."""

from __future__ import annotations

import functools
import json
import shutil
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import BOOTSTRAP, REPO, Figure, log, pairwise, run

FOREIGN = REPO / "tests" / "fixtures" / "foreign"


def plain_stack(directory: Path) -> None:
    """Six services as people write them: images the machine has, ports, a volume."""
    services: dict[str, Any] = {
        "db": {
            "image": "postgres:16",
            "environment": {"POSTGRES_PASSWORD": "example"},
            "volumes": ["dbdata:/var/lib/postgresql/data"],
        },
        "redis": {"image": "redis:7"},
        "api": {
            "image": "python:3.11",
            "command": ["python", "-m", "http.server", "8000"],
            "depends_on": ["db", "redis"],
        },
        "worker": {
            "image": "python:3.11",
            "command": ["python", "-c", "import time; time.sleep(1e9)"],
            "depends_on": ["db"],
        },
        "web": {"image": "nginx", "ports": ["127.0.0.1::80"], "depends_on": ["api"]},
        "prometheus": {"image": "prom/prometheus"},
    }
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "compose.yaml").write_text(
        json.dumps({"services": services, "volumes": {"dbdata": {}}}, indent=1)
    )


class Tools:
    def __init__(self, directory: Path, project: str) -> None:
        self.directory, self.project = directory, project

    def bootstrap(self, *args: str, check: bool = True) -> float:
        return run([BOOTSTRAP, "-C", str(self.directory), "-p", self.project, *args], check=check)[
            0
        ]

    def compose(self, *args: str) -> float:
        return run(
            [
                "docker",
                "compose",
                "--project-directory",
                str(self.directory),
                "-p",
                self.project,
                *args,
            ]
        )[0]


def _pair(
    name: str,
    how: str,
    runs: int,
    ours: Callable[[], float],
    theirs: Callable[[], float],
    target: str,
    limit: float,
) -> Figure:
    mine, other = pairwise(runs, ours, theirs, lambda: None)
    figure = Figure(name, how)
    figure.runs = {"bootstrap": mine, "compose": other}
    figure.ratios = {"bootstrap/compose": [m / o for m, o in zip(mine, other, strict=True)]}
    figure.target = target
    figure.met = statistics.median(figure.ratios["bootstrap/compose"]) <= limit
    return figure


# bootstrap's read-only command, compose's own command of the same files, the ratio wanted
READ_ONLY = (
    ("plan", ("config",), 2.0),
    ("validate", ("config", "--quiet"), 2.0),
    ("env", ("config", "--environment"), 2.0),
)


def bench_daily(runs: int, work: Path) -> list[Figure]:
    figures: list[Figure] = []
    stacks = {"plain": work / "daily-plain"}
    plain_stack(stacks["plain"])
    for name in ("temporal", "netbox"):
        shutil.copytree(FOREIGN / name, work / f"daily-{name}")
        stacks[name] = work / f"daily-{name}"
    for name, directory in stacks.items():
        log(f"daily: plan, validate, env on {name}")
        tools = Tools(directory, f"benchd{name[:4]}")
        for command, theirs, target in READ_ONLY:
            figures.append(
                _pair(
                    f"{command}_{name}",
                    f"`bootstrap {command}` on {name} against `docker compose "
                    f"{' '.join(theirs)}` of the same files",
                    runs,
                    functools.partial(tools.bootstrap, command),
                    functools.partial(tools.compose, *theirs),
                    f"<= {target:g}x compose {theirs[0]}",
                    target,
                )
            )
    log("daily: up, no-op up, status and ps on the plain stack")
    plain = Tools(stacks["plain"], "benchdup")
    compose_side = Tools(stacks["plain"], "benchdupc")

    def fresh_up() -> float:
        took = plain.bootstrap("up")
        plain.compose("down", "-v", "-t", "0")
        return took

    def fresh_compose() -> float:
        took = compose_side.compose("up", "-d", "--wait")
        compose_side.compose("down", "-v", "-t", "0")
        return took

    try:
        figures.append(
            _pair(
                "up_plain",
                "`bootstrap up` of the plain stack from nothing (containers created) against "
                "`docker compose up -d --wait`, each followed by `down -v` (not timed)",
                runs,
                fresh_up,
                fresh_compose,
                "no slower than compose (<= 1.0x)",
                1.0,
            )
        )
        plain.bootstrap("up")
        compose_side.compose("up", "-d", "--wait")
        figures.append(
            _pair(
                "noop_plain",
                "`bootstrap up` of the plain stack already up against `docker compose up -d "
                "--wait` already up",
                runs,
                lambda: plain.bootstrap("up"),
                lambda: compose_side.compose("up", "-d", "--wait"),
                "within 0.35 s (see runs)",
                10.0,
            )
        )
        noop = figures[-1]
        noop.met = statistics.median(noop.runs["bootstrap"]) <= 0.35
        figures.append(
            _pair(
                "status_plain",
                "`bootstrap status` after `up` (the passes `up` saw, no probe asked: no container "
                "restarted since) against `docker compose ps`",
                runs,
                lambda: plain.bootstrap("status", check=False),
                lambda: compose_side.compose("ps"),
                "<= 2x compose ps",
                2.0,
            )
        )
        figures.append(
            _pair(
                "status_probe_plain",
                "`bootstrap status --probe` (every service's probe asked now: psql and "
                "redis-cli in their containers, a published port) against `docker compose ps`",
                runs,
                lambda: plain.bootstrap("status", "--probe", check=False),
                lambda: compose_side.compose("ps"),
                "none: reported",
                float("inf"),
            )
        )
        figures.append(
            _pair(
                "ps_plain",
                "`bootstrap ps` (the containers and their phase, no probe) against `docker "
                "compose ps`",
                runs,
                lambda: plain.bootstrap("ps"),
                lambda: compose_side.compose("ps"),
                "<= 2x compose ps",
                2.0,
            )
        )
    finally:
        plain.compose("down", "-v", "-t", "0")
        compose_side.compose("down", "-v", "-t", "0")
    return figures
