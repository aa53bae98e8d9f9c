from __future__ import annotations

import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def engine_answers() -> str | None:
    """None when a Docker engine with Compose v2 answers; else why not."""
    if shutil.which("docker") is None:
        return "no docker CLI"
    try:
        info = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=20,
        )
        compose = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"docker does not answer: {exc}"
    if info.returncode != 0:
        return "the Docker engine does not answer"
    if compose.returncode != 0:
        return "no Compose v2 plugin"
    return None


_ENGINE_PROBLEM: list[str | None] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    needs = [i for i in items if i.get_closest_marker("docker")]
    if not needs:
        return
    if not _ENGINE_PROBLEM:
        _ENGINE_PROBLEM.append(engine_answers())
    problem = _ENGINE_PROBLEM[0]
    if problem and os.environ.get("BOOTSTRAP_REQUIRE_DOCKER") == "1":
        raise pytest.UsageError(f"docker tests required but {problem}")
    if problem:
        for item in needs:
            item.add_marker(pytest.mark.skip(reason=problem))


def _worker() -> tuple[int, int]:
    """(this worker's index, how many) under pytest-xdist; (0, 1) otherwise. Each worker
    takes its own share of ports and subnets, so two never pick the same free one at once."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    return int(name.removeprefix("gw") or 0) % count, count


def free_port(low: int = 3000, high: int = 3099) -> int:
    index, count = _worker()
    for port in range(low + index, high + 1, count):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        busy = subprocess.run(
            ["docker", "ps", "--format", "{{.Ports}}"], capture_output=True, text=True
        ).stdout
        if f":{port}->" not in busy:
            return port
    raise RuntimeError("no free port")


TESTENV = Path(__file__).resolve().parents[2] / "shared" / "testenv"
DOCKER_UP = TESTENV / "docker-up.sh"
DOCKER_PID = Path("/var/run/docker.pid")


def engine_restartable() -> bool:
    """The testenv's engine, which a test may stop and start again (docker-up.sh)."""
    return DOCKER_UP.exists() and DOCKER_PID.exists()


def engine_started_again(daemon: int) -> None:
    """After SIGTERM to ``daemon``: wait until it is gone, then start the engine again."""
    for _ in range(150):
        try:
            os.kill(daemon, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    subprocess.run(["bash", str(DOCKER_UP)], check=True, capture_output=True)


CORPUS = TESTENV.parent / "corpus"


def compose_version(version: str) -> dict[str, str]:
    """An environment whose ``docker compose`` is that Compose release (``compose.sh config``:
    a DOCKER_CONFIG of its own, the engine's plugin untouched); skipped without the testenv,
    failed where CI requires the engine."""
    script = TESTENV / "compose.sh"
    if not script.exists():
        if os.environ.get("BOOTSTRAP_REQUIRE_DOCKER") == "1":
            pytest.fail(f"no {script}: Compose {version} cannot be installed")
        pytest.skip(f"Compose {version} comes from the testenv's compose.sh, absent here")
    done = subprocess.run(
        ["bash", str(script), "config", version], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    return {**os.environ, "DOCKER_CONFIG": done.stdout.strip().splitlines()[-1]}


SHARED_CACHES = {"bootstrap-uv-cache", "bootstrap-pip-cache", "bootstrap-npm-cache"}


def cache_volumes() -> list[str]:
    """The package cache volumes on this engine (bootstrap's cache label)."""
    return subprocess.run(
        ["docker", "volume", "ls", "-q", "--filter", "label=io.bootstrap.cache"],
        capture_output=True,
        text=True,
    ).stdout.split()


_SUBNETS = itertools.cycle(range(64 + _worker()[0], 250, _worker()[1]))
_SUBNET_COUNT = len(range(64 + _worker()[0], 250, _worker()[1]))


def free_subnet_base() -> str:
    used = subprocess.run(
        [
            "docker",
            "network",
            "inspect",
            "--format",
            "{{range .IPAM.Config}}{{.Subnet}} {{end}}",
            *subprocess.run(
                ["docker", "network", "ls", "-q"], capture_output=True, text=True
            ).stdout.split(),
        ],
        capture_output=True,
        text=True,
    ).stdout
    # Round the worker's share, from where the last call stopped: a subnet just handed out is
    # not offered again until the others were (its network may not exist yet).
    for third in itertools.islice(_SUBNETS, _SUBNET_COUNT):
        base = f"172.29.{third}"
        if f"{base}.0/" not in used:
            return base
    raise RuntimeError("no free subnet")


@dataclass
class Project:
    """A copy of a fixture stack in a temporary folder, under a unique project name."""

    name: str
    directory: Path
    env: dict[str, str] = field(default_factory=dict)

    def run(
        self,
        *args: str,
        timeout: float = 300,
        env: dict[str, str] | None = None,
        check: int | None = None,
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*self.command(), *args],
            capture_output=True,
            text=True,
            env=self.environment(env),
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if check is not None:
            assert done.returncode == check, (done.returncode, done.stdout, done.stderr)
        return done

    def command(self) -> list[str]:
        """``bootstrap -C DIR -p NAME``: the command's options follow."""
        return [sys.executable, "-m", "bootstrap", "-C", str(self.directory), "-p", self.name]

    def environment(self, env: dict[str, str] | None = None) -> dict[str, str]:
        full_env = {**os.environ, **self.env, **(env or {})}
        full_env.pop("COMPOSE_PROFILES", None)
        return full_env

    def compose(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                "docker",
                "compose",
                "--project-directory",
                str(self.directory),
                "-p",
                self.name,
                *args,
            ],
            capture_output=True,
            text=True,
            env={**os.environ, **self.env, **(env or {})},
        )

    def containers(self) -> list[dict[str, Any]]:
        ids = subprocess.run(
            ["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={self.name}"],
            capture_output=True,
            text=True,
        ).stdout.split()
        if not ids:
            return []
        out = subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True).stdout
        return list(json.loads(out))

    def container(self, service: str) -> dict[str, Any]:
        for c in self.containers():
            labels = c["Config"]["Labels"]
            if labels.get("com.docker.compose.service") == service:
                return c
        raise KeyError(service)

    def exec(self, service: str, *command: str) -> subprocess.CompletedProcess[str]:
        cid = str(self.container(service)["Id"])
        return subprocess.run(["docker", "exec", cid, *command], capture_output=True, text=True)

    def leftovers(self) -> dict[str, list[str]]:
        label = f"label=com.docker.compose.project={self.name}"
        return {
            "containers": subprocess.run(
                ["docker", "ps", "-aq", "--filter", label], capture_output=True, text=True
            ).stdout.split(),
            "networks": subprocess.run(
                ["docker", "network", "ls", "-q", "--filter", label], capture_output=True, text=True
            ).stdout.split(),
            "volumes": subprocess.run(
                ["docker", "volume", "ls", "-q", "--filter", f"name={self.name}_"],
                capture_output=True,
                text=True,
            ).stdout.split(),
        }

    def cleanup(self) -> None:
        label = f"label=com.docker.compose.project={self.name}"
        for kind in ("container", "network", "volume"):
            listing = ["docker", kind, "ls", "-q", "--filter", label]
            if kind == "container":
                listing = ["docker", "ps", "-aq", "--filter", label]
            ids = subprocess.run(listing, capture_output=True, text=True).stdout.split()
            if kind == "volume":
                ids += subprocess.run(
                    ["docker", "volume", "ls", "-q", "--filter", f"name={self.name}_"],
                    capture_output=True,
                    text=True,
                ).stdout.split()
                helper = subprocess.run(
                    [
                        "docker",
                        "ps",
                        "-aq",
                        "--filter",
                        f"label=com.docker.compose.project.helper-of={self.name}",
                    ],
                    capture_output=True,
                    text=True,
                ).stdout.split()
                if helper:
                    subprocess.run(["docker", "rm", "-f", "-v", *helper], capture_output=True)
            if ids:
                verb = (
                    ["docker", "rm", "-f", "-v"] if kind == "container" else ["docker", kind, "rm"]
                )
                if kind == "volume":
                    verb = ["docker", "volume", "rm", "-f"]
                subprocess.run([*verb, *sorted(set(ids))], capture_output=True)
        built = subprocess.run(  # images compose built for the project (it labels them)
            ["docker", "images", "-q", "--filter", label], capture_output=True, text=True
        ).stdout.split()
        if built:
            subprocess.run(["docker", "rmi", "-f", *sorted(set(built))], capture_output=True)


def _anonymous_volumes(*, dangling: bool) -> set[str]:
    filters = ["--filter", "label=com.docker.volume.anonymous"]
    if dangling:
        filters += ["--filter", "dangling=true"]
    try:
        listed = subprocess.run(
            ["docker", "volume", "ls", "-q", *filters], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return set()
    return set(listed.stdout.split()) if listed.returncode == 0 else set()


@pytest.fixture(autouse=True, scope="session")
def no_anonymous_volume_left() -> Iterator[None]:
    """An image's VOLUME gives each container an anonymous volume, which `down` leaves, as
    compose's does (only `down -v` removes it): the run removes those made while it ran that
    no container uses any more, and none that was there before it."""
    if shutil.which("docker") is None:
        yield
        return
    before = _anonymous_volumes(dangling=False)
    yield
    left = sorted(_anonymous_volumes(dangling=True) - before)
    for start in range(0, len(left), 100):
        subprocess.run(
            ["docker", "volume", "rm", *left[start : start + 100]], capture_output=True, timeout=120
        )


@pytest.fixture
def make_project(tmp_path: Path) -> Iterator[object]:
    """``make_project("ordered", **env)``: a fresh copy of a fixture, removed afterwards."""
    made: list[Project] = []

    def make(fixture: str, **env: str) -> Project:
        name = f"bt{uuid.uuid4().hex[:8]}"
        directory = tmp_path / name
        shutil.copytree(FIXTURES / fixture, directory)
        project = Project(name, directory, dict(env))
        if "SUBNET_BASE" not in env:
            base = free_subnet_base()
            project.env["SUBNET_BASE"] = base
            settings = directory / "bootstrap.toml"
            text = settings.read_text() if settings.exists() else ""
            lines = [line for line in text.splitlines() if not line.startswith("subnet")]
            settings.write_text("\n".join([f'subnet = "{base}.0/24"', *lines]) + "\n")
        made.append(project)
        return project

    yield make
    for project in made:
        project.cleanup()


RELIABILITY_MARKERS = {
    "bad_input": "bad inputs",
    "fault": "faults",
    "data": "data cases",
    "security": "security cases",
}


def pytest_terminal_summary(
    terminalreporter: object, exitstatus: int, config: pytest.Config
) -> None:
    """Count the reliability cases by marker, as run: the README's figures come from here."""
    stats = getattr(terminalreporter, "stats", {})
    counts: dict[str, dict[str, int]] = {
        m: {"passed": 0, "failed": 0, "skipped": 0} for m in RELIABILITY_MARKERS
    }
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in stats.get(outcome, []):
            if getattr(report, "when", "call") not in ("call", "setup"):
                continue
            if outcome == "passed" and report.when != "call":
                continue
            keywords = getattr(report, "keywords", {})
            for marker in RELIABILITY_MARKERS:
                if marker in keywords:
                    key = "failed" if outcome == "error" else outcome
                    counts[marker][key] += 1
    if not any(sum(c.values()) for c in counts.values()):
        return
    parts = [f"{c['passed']}/{sum(c.values())} {RELIABILITY_MARKERS[m]}" for m, c in counts.items()]
    terminalreporter.write_line("reliability passed: " + ", ".join(parts))  # type: ignore[attr-defined]
    target = os.environ.get("BOOTSTRAP_RELIABILITY_OUT")  # only `nox -s readme` keeps them
    if target:
        out = Path(target)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(counts, indent=2))
