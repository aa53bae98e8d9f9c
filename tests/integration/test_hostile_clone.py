"""A cloned repository is untrusted until the user runs ``up``: the read-only commands are as
safe on it as ``docker compose config``. The hostile workspace here carries every door issue
35 found: a secret store, ``.env`` and ``.env.local`` naming the variables that choose which
program runs and how (PATH, LD_PRELOAD, PYTHONPATH, DOCKER_HOST over ssh, DOCKER_CONFIG with a
credential helper, HOME), executables of its own named as what those would run, and a
``bootstrap.toml`` whose paths leave the workspace. Every program of the workspace leaves a
mark when it runs; no command may leave one."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bootstrap.errors import ExitCode
from tests.conftest import Project

pytestmark = [pytest.mark.docker, pytest.mark.security]

READ_ONLY = (
    ["plan"],
    ["plan", "--json"],
    ["validate"],
    ["env"],
    ["env", "--explain"],
    ["status"],
    ["ps"],
    ["logs", "--tail", "1"],
    ["trace"],
    ["doctor"],
)
PROGRAMS = ("ssh", "docker", "docker-compose", "docker-credential-evil", "git", "sh", "python3")


def plant(folder: Path, marks: Path) -> None:
    """Executables of the workspace's own, each leaving a mark (its name) when it runs."""
    tools = folder / "tools"
    tools.mkdir()
    for name in PROGRAMS:
        script = tools / name
        script.write_text(f"#!/bin/sh\necho {name} >> {marks}\nexit 1\n")
        script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    (folder / "docker-config").mkdir()
    (folder / "docker-config" / "config.json").write_text('{"credsStore": "evil"}')
    (folder / "evil.so").write_text("not a library")


def hostile_variables(folder: Path) -> dict[str, str]:
    tools = folder / "tools"
    return {
        "PATH": f"{tools}:/usr/bin:/bin",
        "DOCKER_HOST": "ssh://someone@127.0.0.1",
        "DOCKER_CONFIG": str(folder / "docker-config"),
        "LD_PRELOAD": str(folder / "evil.so"),
        "PYTHONPATH": str(tools),
        "HOME": str(folder),
        "BASH_ENV": str(tools / "sh"),
        "GIT_SSH_COMMAND": str(tools / "ssh"),
    }


@pytest.fixture
def hostile(tmp_path: Path, make_project: Callable[..., Project]) -> tuple[Project, Path]:
    project = make_project("plain", POSTGRES_PASSWORD="hostile-pw-1")
    marks = tmp_path / "marks"
    plant(project.directory, marks)
    lines = "".join(f"{k}={v}\n" for k, v in hostile_variables(project.directory).items())
    (project.directory / ".env").write_text(lines)
    (project.directory / ".env.local").write_text(lines)
    return project, marks


def marked(marks: Path) -> list[str]:
    return marks.read_text().split() if marks.exists() else []


@pytest.mark.parametrize("command", READ_ONLY, ids=" ".join)
def test_env_files_change_no_program_of_a_read_only_command(
    hostile: tuple[Project, Path], command: list[str]
) -> None:
    project, marks = hostile
    done = project.run(*command, timeout=120)
    assert marked(marks) == [], (marks.read_text(), done.stderr)
    # whatever it said, the engine it reached was the shell's, not the ssh one
    assert "someone@127.0.0.1" not in done.stderr, done.stderr


def test_an_env_file_that_names_the_engine_is_said_and_not_followed(
    hostile: tuple[Project, Path],
) -> None:
    project, marks = hostile
    done = project.run("validate", timeout=120)
    assert "an env file sets DOCKER_HOST" in done.stderr
    listed = project.run("validate", "--json", timeout=120)
    said = {
        f["location"]
        for f in json.loads(listed.stdout)["findings"]
        if f["rule"] == "env-file-program-variable"
    }
    assert said == set(hostile_variables(project.directory)), said
    assert marked(marks) == []


@pytest.mark.parametrize("name", sorted(hostile_variables(Path("/x"))))
@pytest.mark.parametrize("command", (["plan"], ["status"], ["logs", "--tail", "1"]), ids=" ".join)
def test_a_secret_store_naming_a_program_variable_is_refused(
    hostile: tuple[Project, Path], name: str, command: list[str]
) -> None:
    project, marks = hostile
    store = project.directory / ".secrets"
    store.mkdir(exist_ok=True)
    (store / name).write_text(hostile_variables(project.directory)[name])
    done = project.run(*command, timeout=120)
    assert done.returncode == int(ExitCode.BAD_INPUT), done.stderr
    assert f"a secret may not be named {name}" in done.stderr
    assert f".secrets/{name}" in done.stderr  # the place
    assert "rename it" in done.stderr  # the fix
    assert marked(marks) == []


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("secrets_dir", "../outside"),
        ("secrets_dir", "/root/.ssh"),
        ("secrets_dir", "link-out"),
        ("snapshot_dir", "/etc/cron.d"),
        ("snapshot_dir", "../../snapshots"),
    ],
)
def test_a_setting_whose_path_leaves_the_workspace_is_refused(
    hostile: tuple[Project, Path], tmp_path: Path, setting: str, value: str
) -> None:
    project, _marks = hostile
    outside = tmp_path / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "id_ed25519").write_text("PRIVATE KEY")
    (project.directory / "link-out").symlink_to(outside)
    settings = project.directory / "bootstrap.toml"
    settings.write_text(settings.read_text() + f'{setting} = "{value}"\n')
    for command in (["plan"], ["env"], ["status"]):
        done = project.run(*command, timeout=120)
        assert done.returncode == int(ExitCode.BAD_INPUT), done.stderr
        assert f"{setting} = '{value}' leaves the workspace" in done.stderr
        assert "PRIVATE KEY" not in done.stdout + done.stderr


def test_a_secret_linked_out_of_the_workspace_is_refused(
    hostile: tuple[Project, Path], tmp_path: Path
) -> None:
    project, _marks = hostile
    key = tmp_path / "id_ed25519"
    key.write_text("PRIVATE KEY")
    store = project.directory / ".secrets"
    store.mkdir()
    (store / "id_ed25519").symlink_to(key)
    done = project.run("plan", "--json", timeout=120)
    assert done.returncode == int(ExitCode.BAD_INPUT), done.stderr
    assert "outside the workspace" in done.stderr and "PRIVATE KEY" not in done.stdout


def test_the_secret_store_still_wins_over_the_shell_through_compose(
    make_project: Callable[..., Project],
) -> None:
    """The store reaches compose as an env file: what it sets wins over the shell (its layer),
    with every character as written, and nothing of it is in compose's process environment."""
    project = make_project("plain", POSTGRES_PASSWORD="from-the-shell")
    store = project.directory / ".secrets"
    store.mkdir()
    value = 'from the store: $HOME ${X:-y} "q" \\ #'
    (store / "POSTGRES_PASSWORD").write_text(value + "\n")
    done = project.run("plan", "--json", timeout=120)
    assert done.returncode == 0, done.stderr
    config = subprocess.run(
        [sys.executable, "-c", SHOW_ENV, str(project.directory), project.name],
        capture_output=True,
        text=True,
        env=project.environment(),
        timeout=120,
    )
    assert config.returncode == 0, config.stderr
    assert config.stdout.strip() == repr(value)


# Load the workspace as the CLI does and ask the real compose for the service's environment.
SHOW_ENV = """
import sys
from pathlib import Path
from bootstrap.backends.composecli import ComposeCLI
from bootstrap.workspace import load_workspace
ws = load_workspace(Path(sys.argv[1]), project=sys.argv[2], loader=ComposeCLI())
assert "POSTGRES_PASSWORD" not in ws.compose.env, "the store is in compose's environment"
print(repr(ws.stack.services["db"].environment["POSTGRES_PASSWORD"]))
"""


def test_compose_alone_runs_nothing_of_the_workspace_either(
    hostile: tuple[Project, Path],
) -> None:
    """The reference: `docker compose config` on the same folder."""
    project, marks = hostile
    compose = shutil.which("docker")
    assert compose is not None
    subprocess.run(
        [compose, "compose", "--project-directory", str(project.directory), "config"],
        capture_output=True,
        env={**os.environ, "POSTGRES_PASSWORD": "x"},
        timeout=60,
    )
    assert marked(marks) == []
