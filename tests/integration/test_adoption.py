"""Adopting bootstrap in a repository of one's own: installed as a Python CLI in a fresh HOME,
run in a workspace that is not this one, and read-only commands that stay read-only."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, Project, free_port

pytestmark = [pytest.mark.docker]
REPO = Path(__file__).resolve().parents[2]


def tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``folder``: path -> (size, mtime in ns)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        stat = path.lstat()
        found[str(path.relative_to(folder))] = (
            stat.st_size if path.is_file() else -1,
            stat.st_mtime_ns,
        )
    return found


class ContainerEvents:
    """`docker events` for containers over a stretch of time: what was created or started.
    Read after the stretch with --since/--until, so nothing is missed and nothing waits."""

    def __enter__(self) -> ContainerEvents:
        self.since = time.time()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.until = time.time() + 0.5

    def actions(self, *filters: str) -> list[str]:
        args = ["docker", "events", "--since", f"{self.since:.3f}", "--until", f"{self.until:.3f}"]
        args += ["--filter", "type=container", "--format", "{{.Action}} {{.Actor.ID}}"]
        for item in filters:
            args += ["--filter", item]
        done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=True)
        return [
            line for line in done.stdout.splitlines() if line.split(" ")[0] in ("create", "start")
        ]


@pytest.fixture
def foreign(tmp_path: Path) -> Iterator[Project]:
    """The adopt fixture in a folder of its own (its name is the project's), with secrets to
    generate listed in its settings, and a bind mount under the workspace."""
    name = f"adopt{uuid.uuid4().hex[:8]}"
    folder = tmp_path / name
    shutil.copytree(FIXTURES / "adopt", folder)
    project = Project(name, folder, {"WEB_PORT": str(free_port(8100, 8199))})
    try:
        yield project
    finally:
        project.cleanup()


def bootstrap(
    folder: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """bootstrap as a user runs it in their folder: no -C, no -p, no COMPOSE_* variables."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bootstrap", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        env=full,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


READ_ONLY = (
    ("plan",),
    ("plan", "--json"),
    ("plan", "--offline"),
    ("validate",),
    ("validate", "--json"),
    ("env",),
    ("env", "--explain"),
    ("status",),
    ("status", "--json"),
)


def test_read_only_commands_write_no_file_and_start_no_container(foreign: Project) -> None:
    """Before and after `up`: plan, validate, env and status leave the workspace and the user's
    state folder as they were and start no container, even with secrets the settings would
    generate, in a container (the bind-mount check needs a helper: it is skipped, saying so)."""
    folder = foreign.directory
    (folder / "bootstrap.toml").write_text('generate_secrets = ["POSTGRES_PASSWORD"]\n')
    state = folder.parent / "state"
    env = {**foreign.env, "XDG_STATE_HOME": str(state), "BOOTSTRAP_IN_NETWORK": "1"}
    env.pop("LOCAL_WORKSPACE_FOLDER", None)
    for phase in ("before up", "after up"):
        before = tree(folder), tree(state) if state.exists() else {}
        with ContainerEvents() as events:
            for args in READ_ONLY:
                done = bootstrap(folder, *args, env=env)
                assert done.returncode in (0, 1), (phase, args, done.stdout, done.stderr)
                assert "Traceback" not in done.stderr, (phase, args, done.stderr)
        after = tree(folder), tree(state) if state.exists() else {}
        assert after == before, (phase, "files changed")
        assert not (folder / ".secrets").exists() or phase == "after up"
        assert events.actions() == [], phase
        plan = bootstrap(folder, "plan", env=env)
        assert "not checked" in plan.stderr and "--check-mounts" in plan.stderr, plan.stderr
        if phase == "before up":
            up = bootstrap(folder, "up", env=env)
            assert up.returncode == 0, up.stdout + up.stderr
            assert "generated secret POSTGRES_PASSWORD" in up.stderr
            assert (folder / ".secrets" / "POSTGRES_PASSWORD").stat().st_size > 8

    # The check exists and does start a container when asked: the watch above could see one.
    with ContainerEvents() as events:
        checked = bootstrap(folder, "validate", "--check-mounts", env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert events.actions(), "--check-mounts started no helper: the test above proves nothing"

    # doctor writes nothing either, and says what it starts.
    doctor = bootstrap(folder, "doctor", env=env)
    assert "helper container" in doctor.stderr, doctor.stderr


def readme_block(marker: str) -> str:
    """The shell block of the README between ``<!-- marker:begin -->`` and its end."""
    text = (REPO / "README.md").read_text()
    found = re.search(
        rf"<!-- {marker}:begin -->\s*```sh\n(.*?)```\s*<!-- {marker}:end -->", text, re.DOTALL
    )
    assert found, f"README has no {marker} block"
    return found.group(1)


@pytest.fixture(scope="module")
def wheel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        ["uv", "build", "--wheel", "--out-dir", str(out), str(REPO)],
        check=True,
        capture_output=True,
    )
    return out


def fresh_home(tmp_path: Path) -> dict[str, str]:
    """A new user's environment: an empty HOME, nothing of this machine's tools' state, the
    wheel found where PyPI would be asked (it is not published from here)."""
    home = tmp_path / "home"
    home.mkdir()
    keep = {k: os.environ[k] for k in ("PATH", "LANG", "TERM", "SSL_CERT_FILE") if k in os.environ}
    return {
        **keep,
        "HOME": str(home),
        "PATH": f"{home}/.local/bin:{keep.get('PATH', '/usr/bin:/bin')}",
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
    }


def bring_up_with(binary: str, foreign: Project, env: dict[str, str]) -> None:
    """`bootstrap up` in the foreign workspace, in order; its page answers; `down` after."""
    run_env = {**env, **foreign.env}
    up = subprocess.run(
        [binary, "up", "--json"],
        cwd=foreign.directory,
        capture_output=True,
        text=True,
        env=run_env,
        timeout=600,
    )
    assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
    events = [json.loads(line) for line in up.stdout.splitlines() if line.startswith("{")]
    ready = {e["service"]: e["timestamp"] for e in events if e.get("state") == "ready"}
    starting = {e["service"]: e["timestamp"] for e in events if e.get("state") == "starting"}
    assert set(ready) == {"db", "redis", "web"}, events[-1]
    assert starting["web"] >= ready["db"] and starting["web"] >= ready["redis"]
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{foreign.env['WEB_PORT']}/", timeout=5) as page:
        assert "foreign workspace" in page.read().decode()
    down = subprocess.run(
        [binary, "down"],
        cwd=foreign.directory,
        capture_output=True,
        text=True,
        env=run_env,
        timeout=300,
    )
    assert down.returncode == 0, down.stderr


@pytest.mark.install
def test_the_readme_install_line_with_uv_then_up_in_a_foreign_workspace(
    tmp_path: Path, wheel_dir: Path, foreign: Project
) -> None:
    env = fresh_home(tmp_path)
    env["UV_FIND_LINKS"] = str(wheel_dir)  # where PyPI would answer once it is published
    snippet = readme_block("install")
    assert "uv tool install compose-bootstrap" in snippet
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", snippet],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    binary = shutil.which("bootstrap", path=env["PATH"])
    assert binary and binary.startswith(env["HOME"]), binary
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, env=env)
    from bootstrap import __version__

    assert version.stdout.strip() == f"bootstrap, version {__version__}"
    bring_up_with(binary, foreign, env)


@pytest.mark.install
def test_pipx_install_of_the_wheel_then_up_in_a_foreign_workspace(
    tmp_path: Path, wheel_dir: Path, foreign: Project
) -> None:
    env = fresh_home(tmp_path)
    tools = tmp_path / "pipx-tool"
    subprocess.run([sys.executable, "-m", "venv", str(tools)], check=True)
    subprocess.run(
        [str(tools / "bin" / "pip"), "install", "-q", "pipx"],
        check=True,
        capture_output=True,
        env=env,
        timeout=300,
    )
    wheel = next(wheel_dir.glob("compose_bootstrap-*.whl"))
    done = subprocess.run(
        [str(tools / "bin" / "pipx"), "install", str(wheel)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    binary = Path(env["HOME"]) / ".local" / "bin" / "bootstrap"
    assert binary.exists(), done.stdout
    bring_up_with(str(binary), foreign, env)
