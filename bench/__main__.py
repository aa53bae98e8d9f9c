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
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from bench import stacks
from bench.common import BOOTSTRAP, REPO, Figure, log, pairwise, run, summary
from bench.daily import bench_daily
from bench.fixtures import bench_fixtures
from bench.install import bench_install
from bench.supervise import bench_supervise
from bench.swarm import bench_cluster, bench_swarm


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


def uptime_offset() -> float:
    """time.time() minus the kernel's uptime: containers share the kernel's clock."""
    with open("/proc/uptime", encoding="ascii") as handle:
        return time.time() - float(handle.read().split()[0])


def engine_start_cost(per_phase: int, phases: int) -> list[float]:
    """For each phase: the wall time the engine takes to start ``per_phase`` busybox
    containers created beforehand and started together, as bootstrap starts a phase."""
    import docker

    client = docker.from_env()
    costs = []
    try:
        for _ in range(phases):
            made = [
                client.containers.create(
                    "busybox:latest", ["sleep", "3600"], labels={"bench.limit": "1"}
                )
                for _ in range(per_phase)
            ]
            started = time.perf_counter()
            threads = [threading.Thread(target=c.start) for c in made]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            costs.append(time.perf_counter() - started)
            for container in made:
                container.remove(force=True)
    finally:
        client.close()
    return costs


def interpreter_start() -> float:
    """A bare interpreter's start: the floor of any Python command."""
    times = [run([sys.executable, "-c", "pass"])[0] for _ in range(4)]
    return statistics.median(times[1:])


def first_start(started_at: float, stdout: str) -> float | None:
    """Seconds from spawning ``bootstrap up --json`` to its first `starting` event."""
    events = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    starts = [float(e["timestamp"]) for e in events if e.get("state") == "starting"]
    return min(starts) - started_at if starts else None


def bench_synthetic(runs: int, work: Path) -> list[Figure]:  # noqa: PLR0915 - a script, top to bottom
    directory = work / "synthetic"
    delays = stacks.synthetic(directory)
    log("the chain's limit: its readiness delays, the engine's start of each phase, python")
    engine_costs = engine_start_cost(3, len(stacks.PHASES))
    python_start = interpreter_start()
    limit = delays + sum(engine_costs) + python_start
    booted = Project(directory)
    composed = Project(directory)
    lags: list[float] = []
    firsts: list[float] = []

    def with_bootstrap() -> float:
        spawned = time.time()
        elapsed, done = booted.bootstrap("up", "--json", "--timeout", "60")
        first = first_start(spawned, done.stdout)
        if first is not None:
            firsts.append(first)
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
        firsts[:] = firsts[-runs:]

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
        noop.target = "<= 0.45 s and <= 0.35x compose, nothing recreated"
        noop.met = (
            median_b <= 0.45
            and statistics.median(noop.ratios["bootstrap/compose"]) <= 0.35
            and unchanged_b
        )
    finally:
        booted.remove()
        composed.remove()

    chain = Figure(
        "synthetic",
        f"wall time from nothing (images present) to every service "
        f"ready: 4 phases x 3 busybox services, readiness after known delays "
        f"{stacks.DELAYS} s; compose: healthchecks every 1 s and service_healthy chains, "
        f"`up -d --wait`. The limit, measured in this run: the delays ({delays:.2f} s) + "
        f"the engine starting each phase's 3 containers together "
        f"({' + '.join(f'{c:.2f}' for c in engine_costs)} s) + `python -c pass` "
        f"({python_start:.3f} s) = {limit:.2f} s",
    )
    chain.runs = {"bootstrap": boot, "compose": comp, "limit": [limit]}
    chain.ratios = {
        "bootstrap/limit": [b / limit for b in boot],
        "bootstrap/compose": [b / c for b, c in zip(boot, comp, strict=True)],
    }
    chain.target = "<= 1.10x the measured limit and <= 0.70x compose"
    chain.met = (
        statistics.median(chain.ratios["bootstrap/limit"]) <= 1.10
        and statistics.median(chain.ratios["bootstrap/compose"]) <= 0.70
    )
    start = Figure(
        "first_start",
        "from spawning `bootstrap up --json` on the synthetic chain to its first `starting` "
        "event (interpreter, imports, compose config, validation, the lock, creation)",
    )
    start.runs = {"bootstrap": firsts}
    start.target = "<= 0.35 s"
    start.met = bool(firsts) and statistics.median(firsts) <= 0.35

    lag = Figure(
        "readiness_lag",
        "per synthetic service: bootstrap's `ready` event time minus "
        "the moment the service wrote /tmp/ready_at (kernel uptime, 10 ms resolution)",
    )
    lag.runs = {"lag": lags}
    lag.target = "median under 100 ms"
    lag.met = bool(lags) and statistics.median(lags) < 0.1
    return [chain, start, lag, noop]


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
        "ALERTMANAGER_HOST_PORT": "9178",
    }
    return directory, env


def bench_reference(runs: int, work: Path) -> list[Figure]:
    directory, env = reference_copy(work)
    project = Project(directory, env, profiles=("mcp",))
    project.bootstrap("plan", "--offline")  # generates the secrets compose will need too
    for secret in (directory / ".secrets").iterdir():
        env[secret.name] = secret.read_text().strip()
    mcp_ready: list[float] = []

    def with_bootstrap() -> float:
        elapsed, done = project.bootstrap("up", "--json", "--timeout", "300")
        events = [json.loads(x) for x in done.stdout.splitlines() if x.startswith("{")]
        moments = {
            e["state"]: float(e["timestamp"]) for e in events if e.get("service") == "scuba-mcp"
        }
        if "starting" in moments and "ready" in moments:
            mcp_ready.append(moments["ready"] - moments["starting"])
        return elapsed

    def with_compose() -> float:
        return project.compose("up", "-d", "--wait")[0]

    def from_nothing() -> None:
        project.down(volumes=True)

    def stopped() -> None:
        project.compose("stop", "-t", "2", check=False)

    paths = (
        (
            "reference",
            "from nothing: containers and volumes removed (the databases initialise), images "
            "present",
            from_nothing,
        ),
        (
            "after_down",
            "after `down`: containers removed, volumes kept (databases already initialised): "
            "the most common morning",
            project.down,
        ),
        ("after_stop", "after `docker compose stop`: the containers exist, stopped", stopped),
    )
    figures = []
    downs: dict[str, list[float]] = {"bootstrap": [], "compose": []}
    try:
        for name, how, reset in paths:
            log(f"reference stack, {name}: bootstrap up --profile mcp vs compose up -d --wait")
            mcp_ready.clear()
            boot, comp = pairwise(runs, with_bootstrap, with_compose, reset)
            figure = Figure(
                name,
                f"`bootstrap up --profile mcp` vs `docker compose --profile mcp up -d --wait` "
                f"on the repository's compose files (healthchecks every 5-10 s, as written), "
                f"{how}",
            )
            figure.runs = {"bootstrap": boot, "compose": comp}
            figure.ratios = {"bootstrap/compose": [b / c for b, c in zip(boot, comp, strict=True)]}
            figure.target = "<= 0.40x compose"
            figure.met = statistics.median(figure.ratios["bootstrap/compose"]) <= 0.40
            figures.append(figure)
            if name == "reference":
                ready = Figure(
                    "mcp_ready",
                    "scuba-mcp: bootstrap's `starting` to `ready` (the MCP handshake answered), "
                    "from nothing",
                )
                ready.runs = {"bootstrap": mcp_ready[-runs:]}
                ready.target = "<= 1.0 s"
                ready.met = bool(mcp_ready) and statistics.median(mcp_ready[-runs:]) <= 1.0
                figures.append(ready)
        log("reference stack: down, bootstrap vs compose")
        for index in range(runs):
            tools = [("bootstrap", project.bootstrap), ("compose", project.compose)]
            if index % 2:
                tools.reverse()
            for tool, call in tools:
                with_compose() if tool == "compose" else with_bootstrap()
                downs[tool].append(call("down")[0])
    finally:
        project.remove()
    down = Figure(
        "down",
        "`bootstrap down` (reverse phase order, each phase's stops together) vs "
        "`docker compose down`, the reference stack running, volumes kept",
    )
    down.runs = downs
    down.ratios = {
        "bootstrap/compose": [
            b / c for b, c in zip(downs["bootstrap"], downs["compose"], strict=True)
        ]
    }
    figures.append(down)
    return figures


def bench_scale(runs: int, work: Path) -> list[Figure]:
    """Generated chains of 12, 24, 48 and 96 services (a quarter per phase, each layer
    depending on all of the previous one, 1 s healthchecks), bootstrap against compose."""
    figures = []
    for size in (12, 24, 48, 96):
        directory = work / f"scale-{size}"
        stacks.synthetic(directory, per_phase=size // 4)
        booted, composed = Project(directory), Project(directory)
        spreads: list[float] = []

        def with_bootstrap(project: Project = booted, into: list[float] = spreads) -> float:
            elapsed = project.bootstrap("up", "--timeout", "300")[0]
            started: dict[str, list[str]] = {}
            for line in run(
                [
                    "docker",
                    "ps",
                    "--filter",
                    f"label=com.docker.compose.project={project.name}",
                    "--format",
                    '{{.ID}} {{.Label "com.docker.compose.service"}}',
                ]
            )[1].stdout.splitlines():
                cid, service = line.split(" ", 1)
                stamp = run(["docker", "inspect", "--format", "{{.State.StartedAt}}", cid])
                started.setdefault(service.split("-")[0], []).append(stamp[1].stdout.strip())
            for moments in started.values():
                seconds = [_rfc3339(m) for m in moments]
                into.append(max(seconds) - min(seconds))
            return elapsed

        def reset(b: Project = booted, c: Project = composed) -> None:
            b.down()
            c.down()

        log(f"generated chain of {size} services")
        try:
            boot, comp = pairwise(
                max(1, runs // 2),
                with_bootstrap,
                lambda c=composed: c.compose("up", "-d", "--wait")[0],
                reset,
            )
        finally:
            booted.remove()
            composed.remove()
        figure = Figure(
            f"scale_{size}",
            f"{size} busybox services, {size // 4} per phase, each depending on the whole "
            "previous phase, 1 s healthchecks; per-phase start spread = last minus first "
            "StartedAt of a phase's containers in bootstrap's runs",
        )
        figure.runs = {"bootstrap": boot, "compose": comp, "phase_start_spread": spreads}
        figure.ratios = {"bootstrap/compose": [b / c for b, c in zip(boot, comp, strict=True)]}
        if size == 48:
            figure.target = "<= 0.80x compose"
            figure.met = statistics.median(figure.ratios["bootstrap/compose"]) <= 0.80
        figures.append(figure)
    return figures


def _rfc3339(stamp: str) -> float:
    """The engine's StartedAt (nanoseconds, Z) as epoch seconds."""
    from datetime import datetime

    head, _, fraction = stamp.rstrip("Z").partition(".")
    seconds = datetime.fromisoformat(head + "+00:00").timestamp()
    return seconds + float(f"0.{fraction or '0'}")


def bench_startup(runs: int, work: Path) -> list[Figure]:
    log("start-up and planning")
    six_dir, synthetic_dir, large_dir = work / "plan-six", work / "plan-small", work / "plan-large"
    stacks.six(six_dir)
    stacks.synthetic(synthetic_dir)
    stacks.large(large_dir)
    six, small, big = Project(six_dir), Project(synthetic_dir), Project(large_dir)
    help_runs = [run([BOOTSTRAP, "--help"])[0] for _ in range(runs + 1)][1:]
    six_runs = [six.bootstrap("plan", "--offline")[0] for _ in range(runs + 1)][1:]
    small_runs = [small.bootstrap("plan", "--offline")[0] for _ in range(runs + 1)][1:]
    six_config = [six.compose("config", "--format", "json")[0] for _ in range(runs + 1)][1:]
    big_plan, big_config = pairwise(
        runs,
        lambda: big.bootstrap("plan", "--offline")[0],
        lambda: big.compose("config", "--format", "json")[0],
        lambda: None,
    )
    startup = Figure("startup", "wall time of `bootstrap --help` (a new process each run)")
    startup.runs = {"help": help_runs}
    startup.target = "< 0.05 s"  # issue 39's figure
    startup.met = statistics.median(help_runs) < 0.05
    plan_six = Figure(
        "plan_6",
        "`bootstrap plan --offline` on 6 services over the four phases; compose's own "
        "`config --format json` of the same file beside it",
    )
    plan_six.runs = {"bootstrap": six_runs, "compose_config": six_config}
    plan_six.target = "<= 0.30 s"
    plan_six.met = statistics.median(six_runs) <= 0.30
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
    return [startup, plan_six, planning]


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
        "pythondontwritebytecode": "unset for every timed process",
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
    names = [
        "daily", "fixtures", "install", "synthetic", "reference", "startup", "reset", "scale",
        "swarm", "cluster", "supervise",
    ]  # fmt: skip
    parser.add_argument("--only", nargs="*", default=names, choices=names)
    options = parser.parse_args()
    benches = {
        "synthetic": bench_synthetic,
        "reference": bench_reference,
        "startup": bench_startup,
        "reset": bench_reset,
        "scale": bench_scale,
        "daily": bench_daily,
        "fixtures": bench_fixtures,
        "install": bench_install,
        "swarm": bench_swarm,
        "cluster": bench_cluster,
        "supervise": bench_supervise,
    }
    # This machine's environment sets it; users' machines do not: without it every process
    # would recompile every module (about 0.3 s per bootstrap call).
    if os.environ.pop("PYTHONDONTWRITEBYTECODE", None) is not None:
        log("PYTHONDONTWRITEBYTECODE unset for the timed processes (users do not set it)")
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
