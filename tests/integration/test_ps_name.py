"""``ps`` names the project without compose where the files say it plainly: that name is the
one ``up`` and ``status`` get from compose's own reading (the real compose CLI), on cases
written to differ and on every stack of the corpus; where it cannot tell, it asks compose."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bootstrap.backends.compose.backend import ComposeBackend
from bootstrap.errors import BootstrapError
from bootstrap.listing import project_name
from bootstrap.workspace import load_workspace, prepare
from tests.conftest import CORPUS

pytestmark = pytest.mark.docker

SERVICES = "services:\n  a:\n    image: busybox:latest\n"
DEVCONTAINER = (".devcontainer/compose.yaml",)
# case -> (files, whether ps reads the name itself, the -f files)
CASES: dict[str, tuple[dict[str, str], bool, tuple[str, ...]]] = {
    "My_App.v2": ({"compose.yaml": SERVICES}, True, ()),  # the folder's name, normalised
    "named": ({"compose.yaml": "name: shop\n" + SERVICES}, True, ()),
    "quoted": ({"compose.yaml": 'name: "shop-2"  # a comment\n' + SERVICES}, True, ()),
    "override-wins": (
        {"compose.yaml": "name: one\n" + SERVICES, "compose.override.yaml": "name: two\n"},
        True,
        (),
    ),
    "dotenv": (
        {"compose.yaml": "name: file\n" + SERVICES, ".env": "COMPOSE_PROJECT_NAME=env\n"},
        True,
        (),
    ),
    "settings": ({"compose.yaml": SERVICES, "bootstrap.toml": 'project = "fromtoml"\n'}, True, ()),
    "json": (
        {"docker-compose.yml": '{"name": "asjson", "services": {"a": {"image": "busybox"}}}'},
        True,
        (),
    ),
    "devcontainer": ({DEVCONTAINER[0]: SERVICES}, True, DEVCONTAINER),
    "devcontainer-named": ({DEVCONTAINER[0]: "name: dc\n" + SERVICES}, True, DEVCONTAINER),
    "interpolated": ({"compose.yaml": "name: ${PROJECT:-fromvar}\n" + SERVICES}, False, ()),
    "escaped": ({"compose.yaml": "name: a$$b\n" + SERVICES}, False, ()),
    "anchored": ({"compose.yaml": "x-n: &n shop\nname: *n\n" + SERVICES}, True, ()),
    "not-valid": ({"compose.yaml": "name: Not Valid\n" + SERVICES}, False, ()),  # compose's rule
}


def compare(directory: Path, files: tuple[str, ...] = ()) -> tuple[str | None, str | None]:
    """(ps's own name or None, the name compose's reading gives or None where it refuses)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    ready = prepare(directory, files=files, project=None, environ=environ, env_files=())
    fast = project_name(ready)
    try:
        slow = load_workspace(
            directory,
            files=files,
            profiles=("*",),
            environ=environ,
            loader=ComposeBackend().loader,
        ).compose.name
    except BootstrapError:
        slow = None
    return fast, slow


@pytest.mark.parametrize("case", list(CASES))
def test_the_name_ps_reads_is_the_one_compose_gives(case: str, tmp_path: Path) -> None:
    written, plain, files = CASES[case]
    directory = tmp_path / case
    for name, text in written.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text)
    fast, slow = compare(directory, files)
    if plain:
        assert slow is not None and fast == slow, (fast, slow)
    else:  # compose's to read (its releases differ: 2.20 refuses a name 5.x normalises)
        assert fast is None, (fast, slow)


def test_on_every_stack_of_the_corpus_the_name_read_is_compose_s(tmp_path: Path) -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"{CORPUS} is not here")
    read = 0
    for group in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
        for stack in sorted(p for p in group.iterdir() if p.is_dir()):
            copy = tmp_path / group.name / stack.name  # a copy: nothing of the corpus is touched
            shutil.copytree(stack, copy, symlinks=True)
            try:
                fast, slow = compare(copy)
            except BootstrapError:
                continue  # a stack bootstrap refuses before naming it (said elsewhere)
            if fast is not None and slow is not None:
                assert fast == slow, (stack, fast, slow)
                read += 1
    print(f"{read} stacks named without compose, as compose names them")
    assert read >= 30, read


def test_ps_asks_compose_nothing_where_the_name_is_plain(tmp_path: Path) -> None:
    """`ps` of a workspace whose name is plain to read runs no compose process at all; where
    the name is interpolated, it asks compose's `config` for it (here a plugin that logs each
    call and answers with the name "early")."""
    log = tmp_path / "calls.log"
    plugins = tmp_path / "docker" / "cli-plugins"
    plugins.mkdir(parents=True)
    model = {"name": "early", "services": {"a": {"image": "busybox", "command": ["true"]}}}
    (plugins / "docker-compose").write_text(
        f'#!/bin/sh\necho "$*" >> {log}\n'
        f"case \"$*\" in *version*) echo 2.40.3 ;; *config*) echo '{json.dumps(model)}' ;; esac\n"
    )
    (plugins / "docker-compose").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env["DOCKER_CONFIG"] = str(tmp_path / "docker")
    for name, wanted in (("plainname-ps", "plainname-ps"), ("${NOPE:-x}", "early")):
        workspace = tmp_path / ("plain" if wanted != "early" else "interpolated")
        workspace.mkdir()
        (workspace / "compose.yaml").write_text(f"name: {name}\n" + SERVICES)
        log.write_text("")
        done = subprocess.run(
            [sys.executable, "-m", "bootstrap", "-C", str(workspace), "ps", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {"project": wanted, "containers": []}
        calls = log.read_text().split("\n")[:-1]
        if wanted == "early":
            assert any("config" in c for c in calls), calls
        else:
            assert calls == [], calls
