"""``uv run nox -s bench``: bootstrap against docker compose on the same machine, in one run.

Every figure is measured pair by pair (the tools alternate run by run, after a warm-up),
reported as the median of per-pair ratios with min and max, and says how it was measured.
A human table goes to stderr; ``--json PATH`` writes every run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import stacks

REPO = Path(__file__).resolve().parents[1]
BOOTSTRAP = str(Path(sys.executable).parent / "bootstrap")


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


class Project:
    """One compose project in a folder: the two tools' commands on it, and its removal."""

    def __init__(
        self, directory: Path, env: dict[str, str] | None = None, profiles: tuple[str, ...] = ()
    ) -> None:
        self.directory = directory
        self.name = f"bench{uuid.uuid4().hex[:6]}"
        self.env = env or {}
        self.profiles = profiles

    def _profile_args(self) -> list[str]:
        return [a for p in self.profiles for a in ("--profile", p)]

    def bootstrap(self, *args: str, check: bool = True) -> tuple[float, Any]:
        return run(
            [BOOTSTRAP, "-C", str(self.directory), "-p", self.name, *self._profile_args(), *args],
            env=self.env,
            check=check,
        )

    def compose(self, *args: str, check: bool = True) -> tuple[float, Any]:
        return run(
            [
                "docker",
                "compose",
                "--project-directory",
                str(self.directory),
                "-p",
                self.name,
                *self._profile_args(),
                *args,
            ],
            env=self.env,
            check=check,
        )

    def containers(self) -> dict[str, str]:
        """container id -> StartedAt."""
        ids = run(
            ["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={self.name}"]
        )[1].stdout.split()
        if not ids:
            return {}
        out = run(["docker", "inspect", "--format", "{{.Id}} {{.State.StartedAt}}", *ids])
        return dict(line.split(" ", 1) for line in out[1].stdout.splitlines())

    def down(self, volumes: bool = False) -> None:
        self.compose(
            "down", "--remove-orphans", "-t", "2", *(["-v"] if volumes else []), check=False
        )

    def remove(self) -> None:
        self.down(volumes=True)
        for volume in run(
            [
                "docker",
                "volume",
                "ls",
                "-q",
                "--filter",
                f"label=com.docker.compose.project={self.name}",
            ]
        )[1].stdout.split():
            run(["docker", "volume", "rm", "-f", volume], check=False)


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


def uptime_offset() -> float:
    """time.time() minus the kernel's uptime: containers share the kernel's clock."""
    with open("/proc/uptime", encoding="ascii") as handle:
        return time.time() - float(handle.read().split()[0])


def bench_synthetic(runs: int, work: Path) -> list[Figure]:  # noqa: PLR0915 - a script, top to bottom
    directory = work / "synthetic"
    limit = stacks.synthetic(directory)
    booted = Project(directory)
    composed = Project(directory)
    lags: list[float] = []

    def with_bootstrap() -> float:
        elapsed, done = booted.bootstrap("up", "--json", "--timeout", "60")
        offset = uptime_offset()
        events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        ready = {e["service"]: e["timestamp"] for e in events if e.get("state") == "ready"}
        for cid in booted.containers():
            info = run(
                [
                    "docker",
                    "inspect",
                    "--format",
                    '{{index .Config.Labels "com.docker.compose.service"}}',
                    cid,
                ]
            )[1]
            service = info.stdout.strip()
            moment = run(["docker", "exec", cid, "cat", "/tmp/ready_at"])[1].stdout.strip()
            if service in ready and moment:
                lags.append(ready[service] - (float(moment) + offset))
        return elapsed

    def with_compose() -> float:
        return composed.compose("up", "-d", "--wait")[0]

    def reset() -> None:
        booted.down()
        composed.down()

    try:
        log("synthetic phase chain: 4 phases x 3 busybox services")
        lags.clear()
        boot, comp = pairwise(runs, with_bootstrap, with_compose, reset)
        lags[:] = lags[-runs * 12 :]  # the measured runs, not the warm-up

        log("no-op re-run on the healthy synthetic stack")
        noop = Figure(
            "noop",
            "`up` again on an already healthy stack (synthetic chain); "
            "proof: container ids and StartedAt unchanged",
        )
        booted.bootstrap("up", "--timeout", "60")
        composed_project = composed
        composed_project.compose("up", "-d", "--wait")
        before_b, before_c = booted.containers(), composed_project.containers()
        for _ in range(runs):
            noop.runs.setdefault("bootstrap", []).append(booted.bootstrap("up")[0])
            noop.runs.setdefault("compose", []).append(
                composed_project.compose("up", "-d", "--wait")[0]
            )
        unchanged_b = booted.containers() == before_b
        unchanged_c = composed_project.containers() == before_c
        noop.ratios["bootstrap/compose"] = [
            b / c for b, c in zip(noop.runs["bootstrap"], noop.runs["compose"], strict=True)
        ]
        noop.notes.append(f"bootstrap recreated or restarted nothing: {unchanged_b}")
        noop.notes.append(f"compose recreated or restarted nothing: {unchanged_c}")
        median_b = statistics.median(noop.runs["bootstrap"])
        noop.target = "under 1 s and at most 0.5x compose, nothing recreated"
        noop.met = (
            median_b < 1.0
            and statistics.median(noop.ratios["bootstrap/compose"]) <= 0.5
            and unchanged_b
        )
    finally:
        booted.remove()
        composed.remove()

    chain = Figure(
        "synthetic",
        f"wall time from nothing (images present) to every service "
        f"ready: 4 phases x 3 busybox services, readiness after known delays "
        f"{stacks.DELAYS} s (limit {limit:.1f} s by construction); compose: "
        "healthchecks every 1 s and service_healthy chains, `up -d --wait`",
    )
    chain.runs = {"bootstrap": boot, "compose": comp}
    chain.ratios = {
        "bootstrap/limit": [b / limit for b in boot],
        "bootstrap/compose": [b / c for b, c in zip(boot, comp, strict=True)],
    }
    chain.target = "bootstrap within 1.15x of the limit and at most 0.65x of compose"
    chain.met = (
        statistics.median(chain.ratios["bootstrap/limit"]) <= 1.15
        and statistics.median(chain.ratios["bootstrap/compose"]) <= 0.65
    )

    lag = Figure(
        "readiness_lag",
        "per synthetic service: bootstrap's `ready` event time minus "
        "the moment the service wrote /tmp/ready_at (kernel uptime, 10 ms resolution)",
    )
    lag.runs = {"lag": lags}
    lag.target = "median under 100 ms"
    lag.met = bool(lags) and statistics.median(lags) < 0.1
    return [chain, lag, noop]


def reference_copy(work: Path) -> tuple[Path, dict[str, str]]:
    directory = work / "reference"
    directory.mkdir()
    for name in (
        "docker-compose.yml",
        "docker-compose.mcp-persistent.yml",
        ".env",
        "pyproject.toml",
        "README.md",
    ):
        shutil.copy2(REPO / name, directory / name)
    for name in ("bootstrap", "docker", "services"):
        shutil.copytree(REPO / name, directory / name, ignore=shutil.ignore_patterns("__pycache__"))
    env = {
        "NET_PREFIX": "172.30.77",
        "DISCOVERY_HOST_PORT": "7077",
        "MCP_HOST_PORT": "3177",
        "PROMETHEUS_HOST_PORT": "9177",
    }
    return directory, env


def bench_reference(runs: int, work: Path) -> list[Figure]:
    directory, env = reference_copy(work)
    project = Project(directory, env, profiles=("mcp",))
    project.bootstrap("plan", "--offline")  # generates the secrets compose will need too
    for secret in (directory / ".secrets").iterdir():
        env[secret.name] = secret.read_text().strip()
    try:
        log("reference stack: bootstrap up --profile mcp vs docker compose up -d --wait")
        boot, comp = pairwise(
            runs,
            lambda: project.bootstrap("up", "--timeout", "300")[0],
            lambda: project.compose("up", "-d", "--wait")[0],
            project.down,
        )
    finally:
        project.remove()
    figure = Figure(
        "reference",
        "`bootstrap up --profile mcp` vs `docker compose --profile "
        "mcp up -d --wait` on the repository's compose files (healthchecks every "
        "5-10 s, as written), from nothing: containers removed, volumes kept, "
        "images present",
    )
    figure.runs = {"bootstrap": boot, "compose": comp}
    figure.ratios = {"bootstrap/compose": [b / c for b, c in zip(boot, comp, strict=True)]}
    figure.target = "at most 0.5x of compose"
    figure.met = statistics.median(figure.ratios["bootstrap/compose"]) <= 0.5
    return [figure]


def bench_startup(runs: int, work: Path) -> list[Figure]:
    log("start-up and planning")
    synthetic_dir, large_dir = work / "plan-small", work / "plan-large"
    stacks.synthetic(synthetic_dir)
    stacks.large(large_dir)
    small, big = Project(synthetic_dir), Project(large_dir)
    help_runs = [run([BOOTSTRAP, "--help"])[0] for _ in range(runs + 1)][1:]
    small_runs = [small.bootstrap("plan", "--offline")[0] for _ in range(runs + 1)][1:]
    big_plan, big_config = pairwise(
        runs,
        lambda: big.bootstrap("plan", "--offline")[0],
        lambda: big.compose("config", "--format", "json")[0],
        lambda: None,
    )
    startup = Figure("startup", "wall time of `bootstrap --help` (a new process each run)")
    startup.runs = {"help": help_runs}
    startup.target = "under 150 ms"
    startup.met = statistics.median(help_runs) < 0.15
    planning = Figure(
        "plan",
        "`bootstrap plan --offline`: the 12-service synthetic stack, "
        "and a generated 1,000-service stack against `docker compose config "
        "--format json` on the same file; own time = plan minus compose config",
    )
    own = [p - c for p, c in zip(big_plan, big_config, strict=True)]
    planning.runs = {
        "plan_12": small_runs,
        "plan_1000": big_plan,
        "compose_config_1000": big_config,
        "own_1000": own,
    }
    planning.ratios = {
        "plan_1000/compose_config_1000": [p / c for p, c in zip(big_plan, big_config, strict=True)]
    }
    planning.target = "plan of 1,000 services under 0.5 s of its own time"
    planning.met = statistics.median(own) < 0.5
    return [startup, planning]


def bench_reset(runs: int, work: Path) -> list[Figure]:
    log("reset: bootstrap reset vs docker compose down -v")
    directory = work / "reset"
    stacks.data_stack(directory)
    project = Project(directory)
    no_snap, with_snap, compose_down = [], [], []
    try:
        for index in range(runs + 1):
            project.bootstrap("up", "--timeout", "120")
            elapsed = project.bootstrap("reset", "--yes", "--no-snapshot")[0]
            project.bootstrap("up", "--timeout", "120")
            snapped = project.bootstrap("reset", "--yes")[0]
            project.compose("up", "-d", "--wait")
            down = project.compose("down", "-v")[0]
            if index:  # the first is the warm-up
                no_snap.append(elapsed)
                with_snap.append(snapped)
                compose_down.append(down)
            shutil.rmtree(directory / ".bootstrap" / "snapshots", ignore_errors=True)
    finally:
        project.remove()
    figure = Figure(
        "reset",
        "PostgreSQL (fresh data directory) and two volumes with 32 MiB: "
        "`bootstrap reset --yes --no-snapshot` and `reset --yes` (snapshots "
        "first) against `docker compose down -v`",
    )
    figure.runs = {
        "reset_no_snapshot": no_snap,
        "reset_with_snapshot": with_snap,
        "compose_down_v": compose_down,
    }
    figure.ratios = {
        "no_snapshot/compose": [a / b for a, b in zip(no_snap, compose_down, strict=True)],
        "snapshot_cost_s": [w - n for w, n in zip(with_snap, no_snap, strict=True)],
    }
    return [figure]


def machine() -> dict[str, Any]:
    engine = run(["docker", "version", "--format", "{{.Server.Version}}"])[1].stdout.strip()
    compose = run(["docker", "compose", "version", "--short"])[1].stdout.strip()
    return {
        "cores": os.cpu_count(),
        "engine": engine,
        "compose": compose,
        "python": sys.version.split()[0],
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def table(figures: list[Figure]) -> str:
    lines = [f"{'figure':<14} {'measure':<30} {'median':>9} {'min':>9} {'max':>9}  target / met"]
    for figure in figures:
        first = True
        for key, values in list(figure.runs.items()) + list(figure.ratios.items()):
            if not values:
                continue
            s = summary(values)
            unit = "x" if "/" in key else "s"
            tail = f"  {figure.target} / {figure.met}" if first and figure.target else ""
            lines.append(
                f"{figure.name if first else '':<14} {key:<30} {s['median']:>8.3f}{unit}"
                f" {s['min']:>8.3f}{unit} {s['max']:>8.3f}{unit}{tail}"
            )
            first = False
        for note in figure.notes:
            lines.append(f"{'':<14} {note}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--json", dest="json_path", type=Path, default=REPO / "bench" / "results" / "latest.json"
    )
    parser.add_argument("--only", nargs="*", default=["synthetic", "reference", "startup", "reset"])
    options = parser.parse_args()
    benches = {
        "synthetic": bench_synthetic,
        "reference": bench_reference,
        "startup": bench_startup,
        "reset": bench_reset,
    }
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="bootstrap-bench-") as tmp:
        for name in options.only:
            figures += benches[name](options.runs, Path(tmp))
    document = {
        "machine": machine(),
        "runs_per_figure": options.runs,
        "figures": {f.name: f.document() for f in figures},
    }
    options.json_path.parent.mkdir(parents=True, exist_ok=True)
    options.json_path.write_text(json.dumps(document, indent=2))
    print(table(figures), file=sys.stderr)
    log(f"wrote {options.json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
