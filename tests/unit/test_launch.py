"""The entry point's early question to compose (``bootstrap.launch``): the workspace it guesses
from the command line is the one click hands the command, a process spawned early is taken
only for the same question, and compose is asked once per command, its version once per
binary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bootstrap import workspace as workspace_module
from bootstrap.backends import composecli
from bootstrap.cli import cli
from bootstrap.launch import Named, guess

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "argv",
    [
        ["plan"],
        ["-C", "/srv/shop", "-p", "shop", "plan", "--json"],
        ["-pshop", "--profile", "debug", "plan", "--profile", "x", "--profile", "debug"],
        ["--project-name=shop", "-f", "a.yaml", "-f", "b.yaml", "validate"],
        ["--env-file", "one.env", "env", "--env-file", "two.env"],
        ["up", "-p", "late", "--project-directory", "/srv/other", "--file", "c.yaml"],
        ["-C", "/srv/shop", "down", "-p", "shop"],
        ["-f", "a.yaml", "status", "-p", "x", "-p", "y"],
        ["--backend", "swarm", "up", "--timeout", "30", "web"],
    ],
)
def test_the_guess_is_the_workspace_click_hands_the_command(
    argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever the order of the options, the guess names the folder, files, project and env
    files the command loads (else its early process would never be taken)."""
    loaded: list[Named] = []

    def load(directory: Path, **kwargs: Any) -> None:
        loaded.append(
            Named(
                str(directory),
                tuple(kwargs["files"]),
                kwargs["project"],
                tuple(kwargs["env_files"]),
                tuple(kwargs["profiles"]),
            )
        )
        raise SystemExit(0)

    monkeypatch.setattr(workspace_module, "load_workspace", load)
    monkeypatch.setattr("bootstrap.cli.context.CliContext.backend", lambda self: _Loader())
    CliRunner().invoke(cli, argv)
    found = guess(argv)
    assert loaded, "the command did not load the workspace"
    assert found is not None
    assert found._replace(directory=str(Path(found.directory)), command="") == loaded[0]


class _Loader:
    loader = None
    name = "compose"

    def warm_up(self, **_kwargs: object) -> None:
        pass


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["init"],
        ["logs", "-f"],
        ["plan", "--help"],
        ["-h"],
        ["--version"],
        ["--context", "remote", "plan"],
        ["plan", "--context=remote"],
        ["--unknown", "plan"],
        ["-p"],
        ["doctor"],
    ],
)
def test_no_guess_where_the_command_does_not_read_the_model_first(argv: list[str]) -> None:
    assert guess(argv) is None


def test_an_early_process_is_taken_only_for_the_same_question() -> None:
    early = composecli._Early()
    env = {"PATH": os.environ["PATH"], "A": "1"}
    early.spawn(["echo", "one"], env)
    early.spawn(["echo", "two"], env)
    assert early.take(["echo", "one"], {**env, "A": "2"}) is None  # another environment
    assert early.take(["echo", "three"], env) is None
    taken = early.take(["echo", "one"], env)
    assert taken is not None and taken.communicate()[0] == "one\n"
    early.spawn(["echo", "hashes"], env, model=False)
    early.discard(model_only=True)  # the model is read: the hashes stay
    assert [entry[0] for entry in early.started] == [["echo", "hashes"]]
    left = early.started[0][2]
    early.discard()
    assert early.started == [] and left.poll() is not None


def _fake_compose(folder: Path, log: Path) -> Path:
    """A compose plugin that logs each call and answers `version` and `config`."""
    plugins = folder / "cli-plugins"
    plugins.mkdir(parents=True)
    script = plugins / "docker-compose"
    model = {"name": "early", "services": {"web": {"image": "busybox", "command": ["true"]}}}
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {log}\n'
        'case "$*" in *version*) echo 2.40.3 ;; *config*) '
        f"echo '{json.dumps(model)}' ;; esac\n"
    )
    script.chmod(0o755)
    return folder


def test_compose_is_asked_once_per_command_and_its_version_once_per_binary(
    tmp_path: Path,
) -> None:
    """The `config` spawned before click is the one the command uses (no second call). A
    read-only command writes nothing, so it asks the version each time; once `up` kept what
    the binary said, no command asks it again until the file changes."""
    log = tmp_path / "calls.log"
    docker_config = _fake_compose(tmp_path / "docker", log)
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "compose.yaml").write_text("services:\n  web:\n    image: busybox\n")
    state = tmp_path / "state"
    env = {**os.environ, "DOCKER_CONFIG": str(docker_config), "XDG_STATE_HOME": str(state)}
    env.pop("DOCKER_CONTEXT", None)
    command = [sys.executable, "-m", "bootstrap", "-C", str(tmp_path / "ws"), "plan", "--offline"]

    def calls() -> list[str]:
        found = log.read_text().splitlines()
        log.write_text("")
        return found

    for _ in range(2):  # read-only: the version asked each time, nothing written
        done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        asked = calls()
        assert sum("config" in c for c in asked) == 1 and sum("version" in c for c in asked) == 1
    assert not state.exists()
    kept = (  # what `up` does once compose has read the files
        "import os, sys; from pathlib import Path; from bootstrap.backends.composecli import "
        "ComposeCLI; from bootstrap.runtime import ComposeProject; cli = ComposeCLI(); "
        "cli.config(ComposeProject(Path(sys.argv[1]), ('compose.yaml',), 'x', (), os.environ)); "
        "cli.keep_answers()"
    )
    subprocess.run(
        [sys.executable, "-c", kept, str(tmp_path / "ws")], env=env, cwd=ROOT, check=True
    )
    assert (state / "bootstrap" / "compose-versions.json").is_file()
    calls()
    again = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
    assert again.returncode == 0, again.stderr
    asked = calls()
    assert sum("config" in c for c in asked) == 1 and not any("version" in c for c in asked)
    plugin = docker_config / "cli-plugins" / "docker-compose"
    plugin.write_text(plugin.read_text() + "# upgraded\n")  # another binary: asked again
    subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT, check=True)
    assert sum("version" in c for c in calls()) == 1


def test_a_guess_that_differs_costs_a_process_not_an_answer(tmp_path: Path) -> None:
    """An environment changed between the early question and the command's own (what
    `--context` would do): the early answer is not taken, the command asks again."""
    log = tmp_path / "calls.log"
    docker_config = _fake_compose(tmp_path / "docker", log)
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "compose.yaml").write_text("services:\n  web:\n    image: busybox\n")
    code = (
        "import os, sys; from bootstrap.launch import ask_compose_early; "
        "ask_compose_early(sys.argv[1:]); os.environ['CHANGED'] = '1'; "
        "from bootstrap.cli import main; main()"
    )
    env = {
        **os.environ,
        "DOCKER_CONFIG": str(docker_config),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    done = subprocess.run(
        [sys.executable, "-c", code, "-C", str(tmp_path / "ws"), "plan", "--offline"],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert "web" in done.stdout
    assert sum("config" in c for c in log.read_text().splitlines()) == 2


def test_the_exit_code_and_every_line_survive_the_quick_exit(tmp_path: Path) -> None:
    """The process ends without the interpreter's teardown (``launch.leave``): what was
    written still arrives whole through a pipe, and the command's exit code is the process's."""
    helped = subprocess.run(
        [sys.executable, "-m", "bootstrap", "--help"], capture_output=True, text=True, cwd=ROOT
    )
    assert helped.returncode == 0 and helped.stdout.rstrip().endswith("143 terminated.")
    refused = subprocess.run(
        [sys.executable, "-m", "bootstrap", "-C", str(tmp_path / "none"), "plan"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert refused.returncode == 2 and "no such folder" in refused.stderr


def test_a_value_made_later_is_waited_for_and_its_failure_raised() -> None:
    import threading

    from bootstrap.later import Later

    release = threading.Event()

    def slow() -> int:
        release.wait(5)
        return 7

    later = Later(slow)
    release.set()
    assert later.result() == 7

    def broken() -> int:
        raise ConnectionError("no engine")

    with pytest.raises(ConnectionError, match="no engine"):
        Later(broken).result()


DATACLASS_BEHAVIOUR = r"""
import dataclasses, json, sys
from dataclasses import InitVar, dataclass, field

if sys.argv[1] == "deferred":
    from bootstrap.launch import defer_dataclass_methods
    assert defer_dataclass_methods() == hasattr(dataclasses, "_create_fn")

@dataclass(frozen=True)
class Point:
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()

@dataclass(order=True)
class Version:
    major: int
    minor: int = field(default=0, compare=False)
    notes: list[str] = field(default_factory=list, repr=False)

@dataclass(frozen=True, slots=True, kw_only=True)
class Named:
    name: str
    size: int = 1

@dataclass
class Child(Version):
    extra: str = "x"
    seed: InitVar[int] = 3
    doubled: int = field(init=False, default=0)

    def __post_init__(self, seed: int) -> None:
        self.doubled = seed * 2

said = []
def attempt(what):
    try:
        said.append(repr(what()))
    except Exception as exc:
        said.append(f"{type(exc).__name__}: {exc}")

for _ in range(2):  # the first call compiles, the second finds it on the class
    attempt(lambda: Point(1, 2))
    attempt(lambda: Point(1) == Point(1, 0) and hash(Point(1)) == hash(Point(1, 0)))
    attempt(lambda: setattr(Point(1), "x", 3))
    attempt(lambda: Point())
    attempt(lambda: sorted([Version(2, 1), Version(1, 5, ["a"])]))
    attempt(lambda: Version(1) < Version(1, 9) or Version(1) == Version(1, 9))
    attempt(lambda: Named(name="a"))
    attempt(lambda: Named("a"))
    attempt(lambda: dataclasses.replace(Named(name="a"), size=4))
    attempt(lambda: (Child(1, seed=5), Child(1).doubled, dataclasses.asdict(Child(2))))
    attempt(lambda: {Point(1): 1}[Point(1, 0)])
print(json.dumps(said))
"""


def test_dataclass_methods_compiled_on_first_call_behave_as_dataclasses_own() -> None:
    """``defer_dataclass_methods`` (the console script's, about 15 ms of `plan` on Python
    3.11): the same classes behave the same with it and without it, their errors too, on
    the first call of each method and after it."""
    said = {
        mode: subprocess.run(
            [sys.executable, "-c", DATACLASS_BEHAVIOUR, mode],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout
        for mode in ("stock", "deferred")
    }
    assert said["stock"] == said["deferred"]
    assert "FrozenInstanceError" in said["stock"] and "TypeError" in said["stock"]


def test_the_top_level_help_imports_nothing_a_command_needs() -> None:
    """`bootstrap --help`, `-h` and `--version` are click's alone: the console, the signal
    handlers, the error mapping and pathlib (3 ms of a 45 ms help) are imported only where a
    command runs."""
    probe = (
        "import sys; sys.argv = ['bootstrap', sys.argv[1]]; import bootstrap.cli as c\n"
        "try:\n    c.main()\nexcept SystemExit as done:\n    code = done.code\n"
        "print(code, 'bootstrap.cli.context' in sys.modules, 'pathlib' in sys.modules, "
        "file=sys.stderr)"
    )
    for flag in ("--help", "-h", "--version"):
        done = subprocess.run(
            [sys.executable, "-c", probe, flag], capture_output=True, text=True, cwd=ROOT
        )
        assert done.stderr.split() == ["0", "False", "False"], done.stderr
        assert ("Usage: bootstrap" if flag != "--version" else "bootstrap, version") in done.stdout
    ran = subprocess.run(
        [sys.executable, "-c", probe.replace("sys.argv[1]]", "'--nosuch']"), "x"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert ran.stderr.split()[-3:-1] == ["2", "True"], ran.stderr  # the ordinary path maps it
