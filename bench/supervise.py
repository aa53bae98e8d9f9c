"""The supervisor, on tests/fixtures/supervise (PostgreSQL, and an app that asks to be
restarted with it): ``docker restart`` of PostgreSQL -> every dependent ready again, against
plain compose (nothing restarts the app: reported as that); an engine restart (the testenv's
docker-up.sh) -> the stack in order again, and how many services had started out of order."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import BOOTSTRAP, REPO, Figure, log

FIXTURE = REPO / "tests" / "fixtures" / "supervise"
DOCKER_UP = REPO.parent / "shared" / "testenv" / "docker-up.sh"
PID_FILE = Path("/var/run/docker.pid")


class Watcher:
    """``bootstrap supervise --json`` in the background, each action with when it came."""

    def __init__(self, directory: Path, project: str, *args: str) -> None:
        self.process = subprocess.Popen(
            [BOOTSTRAP, "-C", str(directory), "-p", project, "supervise", "--json", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        self.actions: list[tuple[float, dict[str, Any]]] = []
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        self.until(lambda a: a["kind"] == "watching", 60)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("{"):
                with self.changed:
                    self.actions.append((time.perf_counter(), json.loads(line)))
                    self.changed.notify_all()

    def until(self, wanted: Any, timeout: float = 180) -> float:
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for at, action in self.actions:
                    if wanted(action):
                        return at
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"supervise: not seen in {timeout}s: {self.actions}")
                self.changed.wait(min(left, 1.0))

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        if self.process.stdout is not None:
            self.process.stdout.close()


def _started(project: str, service: str) -> str:
    ids = subprocess.run(
        [
            "docker",
            "ps",
            "-aq",
            "--filter",
            f"label=com.docker.compose.project={project}",
            "--filter",
            f"label=com.docker.compose.service={service}",
        ],
        capture_output=True,
        text=True,
    ).stdout.split()
    return subprocess.run(
        ["docker", "inspect", "--format", "{{.State.StartedAt}}", *ids],
        capture_output=True,
        text=True,
    ).stdout.strip()


def _down(directory: Path, project: str) -> None:
    subprocess.run(
        [
            "docker",
            "compose",
            "--project-directory",
            str(directory),
            "-p",
            project,
            "--profile",
            "slow",
            "--profile",
            "in-stack",
            "down",
            "-v",
            "-t",
            "0",
        ],
        capture_output=True,
    )


def bench_supervise(runs: int, work: Path) -> list[Figure]:
    directory = work / "supervise"
    shutil.copytree(FIXTURE, directory)
    restart = Figure(
        "supervise_restart",
        "`docker restart` of PostgreSQL (tests/fixtures/supervise): from the restart to the "
        "app (depends_on.restart: true) ready again, restarted by `bootstrap supervise`",
    )
    broken = 0
    times = []
    for _ in range(runs):
        project = f"benchsv{uuid.uuid4().hex[:6]}"
        try:
            subprocess.run(
                [BOOTSTRAP, "-C", str(directory), "-p", project, "up"],
                check=True,
                capture_output=True,
            )
            before = _started(project, "app")
            subprocess.run(
                ["docker", "restart", f"{project}-db-1"], check=True, capture_output=True
            )  # plain compose: nothing more happens
            time.sleep(5)
            broken += _started(project, "app") == before
            watcher = Watcher(directory, project, "--no-converge")
            try:
                began = time.perf_counter()
                subprocess.run(
                    ["docker", "restart", f"{project}-db-1"], check=True, capture_output=True
                )
                ready = watcher.until(lambda a: a["service"] == "app" and a["kind"] == "ready")
                times.append(ready - began)
            finally:
                watcher.stop()
        finally:
            _down(directory, project)
    restart.runs = {"bootstrap": times}
    restart.notes.append(
        f"without a supervisor (compose alone) the app was not restarted in {broken} of "
        f"{runs} runs: it keeps the connections it had to the old PostgreSQL"
    )
    restart.target = "times reported, no target"
    restart.met = None
    figures = [restart, _in_stack_restart(directory, runs)]
    if DOCKER_UP.exists() and PID_FILE.exists():
        figures.append(_engine_restart(directory, min(runs, 3)))
    else:
        log("supervise: no testenv docker-up.sh here: the engine restart is not measured")
    return figures


def _logged_at(directory: Path, wanted: Any, timeout: float = 180) -> float:
    """When (wall clock) the in-stack supervisor logged the first action ``wanted`` takes."""
    path = directory / ".bootstrap" / "supervision.jsonl"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""
        for line in text.splitlines():
            action = json.loads(line)
            if wanted(action):
                return float(action["at"])
        time.sleep(0.1)
    raise RuntimeError(f"supervise --in-stack: not seen in {timeout}s")


def _in_stack_restart(directory: Path, runs: int) -> Figure:
    figure = Figure(
        "supervise_in_stack",
        "the same `docker restart` of PostgreSQL with the supervisor as a service of the stack "
        "(--profile in-stack: `supervise --in-stack` behind its own socket proxy): from the "
        "restart to the app ready again, as the supervisor logged it",
    )
    times = []
    env = {**os.environ, "REPO_ROOT": str(REPO)}
    for _ in range(runs):
        project = f"benchsv{uuid.uuid4().hex[:6]}"
        log_file = directory / ".bootstrap" / "supervision.jsonl"
        log_file.unlink(missing_ok=True)
        try:
            subprocess.run(
                [BOOTSTRAP, "-C", str(directory), "-p", project, "--profile", "in-stack", "up"],
                check=True,
                capture_output=True,
                env=env,
            )
            _logged_at(directory, lambda a: a["kind"] == "watching")
            began = time.time()
            subprocess.run(
                ["docker", "restart", f"{project}-db-1"], check=True, capture_output=True
            )
            ready = _logged_at(
                directory,
                lambda a, after=began: (
                    a["service"] == "app" and a["kind"] == "ready" and a["at"] > after
                ),
            )
            times.append(ready - began)
        finally:
            _down(directory, project)
    figure.runs = {"bootstrap": times}
    figure.target = "times reported, no target"
    figure.met = None
    return figure


def _engine_restart(directory: Path, runs: int) -> Figure:
    figure = Figure(
        "supervise_engine",
        "an engine restart (SIGTERM to dockerd, then the testenv's docker-up.sh) with "
        "tests/fixtures/supervise --profile slow: from the engine answering again to the "
        "stack in order (early restarted after slowdb, ready 4 s after it starts)",
    )
    times, out_of_order = [], []
    for _ in range(runs):
        project = f"benchsv{uuid.uuid4().hex[:6]}"
        try:
            subprocess.run(
                [BOOTSTRAP, "-C", str(directory), "-p", project, "--profile", "slow", "up"],
                check=True,
                capture_output=True,
            )
            watcher = Watcher(directory, project, "--profile", "slow")
            try:
                daemon = int(PID_FILE.read_text())
                os.kill(daemon, signal.SIGTERM)
                while True:
                    try:
                        os.kill(daemon, 0)
                    except ProcessLookupError:
                        break
                    time.sleep(0.2)
                subprocess.run(["bash", str(DOCKER_UP)], check=True, capture_output=True)
                back = watcher.until(lambda a: a["kind"] == "engine-back")
                ready = watcher.until(lambda a: a["service"] == "early" and a["kind"] == "ready")
                times.append(ready - back)
                out_of_order.append(
                    len([a for _, a in watcher.actions if a["kind"] == "out-of-order"])
                )
            finally:
                watcher.stop()
        finally:
            subprocess.run(["bash", str(DOCKER_UP)], capture_output=True)
            _down(directory, project)
    figure.runs = {"bootstrap": times}
    figure.notes.append(
        f"services restarted for having started out of order: {out_of_order} (per run); "
        "without a supervisor they stay as the engine started them"
    )
    figure.target = "times reported, no target"
    figure.met = None
    return figure
