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


# What a terminal acts on instead of showing: ESC (a window title, OSC 52's clipboard write, a
# screen clear), BEL, CR (a line overwritten), the C1 CSI and a bidirectional override.
ACTING = ("\x1b", "\x07", "\r", "\x9b", "\u202e")
OVERRIDE = """\
services:
  db:
    labels:
      bootstrap.probe.query: "SELECT 1 \\e]0;owned\\a \\e]52;c;ZWNobyBvd25lZA==\\a"
  web:
    labels:
      bootstrap.probe: http
      bootstrap.probe.path: "/\\e[2J\\r\\x9b31m\\u202eok"
"""


@pytest.fixture
def escapes(hostile: tuple[Project, Path]) -> Project:
    """The hostile clone, with escape sequences wherever a read-only command shows text: labels,
    `.env` and `.env.local` values, a run record."""
    project, _ = hostile
    (project.directory / "docker-compose.override.yml").write_text(OVERRIDE)
    with (project.directory / ".env").open("a") as env:
        env.write("GREETING=\x1b]52;c;ZWNobyBvd25lZA==\x07hello\r\n")
    with (project.directory / ".env.local").open("a") as env:
        env.write("TOKEN=\x1b]0;owned\x07\u202eabc\n")
    runs = project.directory / ".bootstrap" / "runs"
    runs.mkdir(parents=True)
    owned = "\x1b]52;c;ZWNobyBvd25lZA==\x07"
    service = {"status": "ready", "launched": 0.1, "started": 0.2, "ended": 0.5, "attempts": 1}
    record = {
        "began": "2026-12-06T00:00:00.000+00:00",
        "project": f"x{owned}",
        "total": 1.0,
        "phases": [{"name": f"apps{owned}", "barrier": 0.0, "services": [owned]}],
        "services": {owned: {**service, "detail": f"{owned}\r", "critical": True}},
        "critical_chain": [owned],
        "versions": {owned: owned},
    }
    (runs / "20261206T000000-x.json").write_text(json.dumps(record))
    action = {"at": 1796515200.0, "service": owned, "kind": owned, "reason": owned, "project": "x"}
    (project.directory / ".bootstrap" / "supervision.jsonl").write_text(
        '{"kind": "no time"}\n[1]\n' + json.dumps({**action, "project": f"x{owned}"}) + "\n"
    )
    return project


@pytest.mark.parametrize(
    "command", [*READ_ONLY, ["env", "--export"], ["plan", "--explain"]], ids=" ".join
)
def test_no_read_only_command_prints_an_escape_of_the_workspace(
    escapes: Project, command: list[str]
) -> None:
    """`docker compose config` shows a control character as its escape; so does bootstrap."""
    done = escapes.run(*command, timeout=120)
    for stream in (done.stdout, done.stderr):
        assert not [c for c in ACTING if c in stream], (command, stream)


def test_the_escapes_are_shown_not_dropped_and_export_keeps_the_value(escapes: Project) -> None:
    planned = escapes.run("plan", "--explain", timeout=120, check=0)
    assert "\\x1b]0;owned\\x07" in planned.stdout  # shown as compose shows it
    traced = escapes.run("trace", timeout=120, check=0)
    assert "critical chain: \\x1b]52;c;ZWNobyBvd25lZA==\\x07" in traced.stdout
    assert "supervision (after the run)" in traced.stdout  # its log's well-formed line, escaped
    exported = escapes.run("env", "--export", timeout=120, check=0)
    line = next(x for x in exported.stdout.splitlines() if x.startswith("export TOKEN="))
    value = subprocess.run(
        ["bash", "-c", f'{line}\nprintf %s "$TOKEN"'],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    assert value == "\x1b]0;owned\x07\u202eabc"  # eval gives the value back, byte for byte


def test_a_damaged_run_record_is_refused_naming_the_file(escapes: Project) -> None:
    (record,) = (escapes.directory / ".bootstrap" / "runs").glob("*.json")
    record.write_text('{"began": "yesterday", "project": "x"}')
    done = escapes.run("trace", timeout=120)
    assert done.returncode == int(ExitCode.BAD_INPUT), done.stderr
    assert f"{record}: not a run record bootstrap can read" in done.stderr  # the place
    assert "remove it" in done.stderr and "Traceback" not in done.stderr  # the fix


CHANGED_SINCE_UP = """\
services:
  db:
    labels:
      bootstrap.probe.query: "CREATE TABLE owned(a int)"
  web:
    healthcheck:
      test: ["CMD", "touch", "/tmp/owned"]
"""


@pytest.mark.parametrize("command", [["status"], ["ps"], ["status", "--json"]], ids=" ".join)
def test_a_file_changed_since_up_runs_nothing_of_its_own_in_the_containers(
    make_project: Callable[..., Project], command: list[str]
) -> None:
    """A pulled branch or a clone naming this project: its probe query and healthcheck test
    are not what the running containers were created with, and status runs neither (ps runs
    nothing in a container)."""
    project = make_project("plain", POSTGRES_PASSWORD="hostile-pw-2")
    project.run("up", timeout=300, check=0)
    (project.directory / "docker-compose.override.yml").write_text(CHANGED_SINCE_UP)
    done = project.run(*command, timeout=120)
    said = done.stdout + done.stderr
    if command[0] == "status":  # ps asks no probe at all: nothing to say of one
        assert "bootstrap.probe.query changed since `up`: not run" in said, said
        assert "healthcheck.test changed since `up`: not run" in said, said
        assert "until `bootstrap up` applies it" in said  # the fix
    else:
        assert done.returncode == 0 and "db" in done.stdout, said
    owned = project.compose(
        "exec", "-T", "db", "psql", "-U", "postgres", "-tAc", "select to_regclass('owned')"
    )
    assert owned.returncode == 0 and owned.stdout.strip() == "", owned
    touched = project.compose("exec", "-T", "web", "ls", "/tmp/owned")
    assert touched.returncode != 0, touched.stdout


def test_env_export_sets_no_program_variable_in_the_shell_that_evals_it(
    hostile: tuple[Project, Path],
) -> None:
    """`eval "$(bootstrap env --export)"` is its documented use: a clone's `.env.local` must
    not set the shell's loader, PATH or engine that way."""
    project, marks = hostile
    with (project.directory / ".env.local").open("a") as env:
        env.write("GREETING=hello\n")
    done = project.run("env", "--export", timeout=120, check=0)
    exported = [line.split("=", 1)[0].removeprefix("export ") for line in done.stdout.splitlines()]
    assert exported == ["GREETING"], done.stdout
    for name in hostile_variables(project.directory):
        if name not in os.environ:  # the shell's own wins over every file: nothing to say
            assert f"not exported: {name} (.env.local)" in done.stderr, done.stderr
    assert marked(marks) == []
