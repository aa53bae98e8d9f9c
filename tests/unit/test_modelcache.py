"""Compose's `config` answer kept for the same question: every input compose reads changes the
question, and where one cannot be named nothing is kept."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from bootstrap.backends import modelcache
from bootstrap.runtime import ComposeProject

BINARY = ["/usr/local/lib/docker/cli-plugins/docker-compose", [1, 2, 3, 4]]
ARGS = ["docker", "compose", "config", "--format", "json"]
COMPOSE = """\
services:
  web:
    image: busybox:${TAG}
    env_file:
      - app.env
      - path: optional.env
        required: false
    label_file: labels.txt
  db:
    image: postgres
    env_file: db.env
"""


def workspace(tmp_path: Path, compose: str = COMPOSE) -> ComposeProject:
    (tmp_path / "compose.yaml").write_text(compose)
    for name in ("app.env", "db.env", "labels.txt", ".env"):
        (tmp_path / name).write_text(f"{name.upper().replace('.', '_')}=1\n")
    return ComposeProject(
        tmp_path,
        ("compose.yaml",),
        "shop",
        env={"TAG": "1"},
        env_files=(str(tmp_path / ".env"),),
    )


def question(project: ComposeProject, args: list[str] = ARGS, binary: object = BINARY) -> str:
    asked = modelcache.question(project, args, binary)
    assert asked is not None
    return asked


def test_every_input_compose_reads_changes_the_question(tmp_path: Path) -> None:
    project = workspace(tmp_path)
    first = question(project)
    assert question(project) == first  # the same inputs: the same question
    seen = {first}

    def changed(asked: str) -> None:
        assert asked not in seen
        seen.add(asked)

    for name in ("compose.yaml", "app.env", "db.env", "labels.txt", ".env"):
        path = tmp_path / name
        before = path.read_text()
        path.write_text(before + "# another byte\n")
        changed(question(project))
        path.write_text(before)
        assert question(project) == first
    (tmp_path / "optional.env").write_text("OPTIONAL=1\n")  # an optional file appearing
    changed(question(project))
    (tmp_path / "optional.env").unlink()
    changed(
        question(
            ComposeProject(
                tmp_path, ("compose.yaml",), "shop", env={"TAG": "2"}, env_files=project.env_files
            )
        )
    )
    changed(question(project, [*ARGS[:2], "--profile", "*", *ARGS[2:]]))
    changed(question(project, binary=[BINARY[0], [1, 2, 3, 5]]))  # another compose binary


def test_of_the_environment_what_a_file_names_and_what_compose_reads_itself_counts(
    tmp_path: Path,
) -> None:
    project = workspace(tmp_path)
    (tmp_path / "db.env").write_text("POSTGRES_PASSWORD\nSOME.NAME\n")  # from the environment

    def asked(**env: str) -> str:
        return question(replace(project, env={**project.env, **env}))

    first = asked()
    for unnamed in ({"TERM_SESSION_ID": "7"}, {"_": "/usr/bin/env"}, {"OLDPWD": "/tmp"}):
        assert asked(**unnamed) == first, unnamed  # no file names it: the same model
    for named in (
        {"TAG": "2"},  # interpolated in compose.yaml
        {"POSTGRES_PASSWORD": "x"},  # named by an env file
        {"SOME.NAME": "x"},
        {"COMPOSE_PROFILES": "debug"},  # compose's own
        {"DOCKER_DEFAULT_PLATFORM": "linux/arm64"},
        {"HOME": "/elsewhere"},  # ~ in a path
    ):
        assert asked(**named) != first, named


def test_without_env_files_the_project_directorys_dotenv_is_an_input(tmp_path: Path) -> None:
    project = ComposeProject(tmp_path, ("compose.yaml",), "shop", env={})
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: busybox\n")
    first = question(project)
    (tmp_path / ".env").write_text("TAG=2\n")
    assert question(project) != first


@pytest.mark.parametrize(
    "compose",
    [
        "include:\n  - other.yaml\nservices: {}\n",
        "services:\n  web:\n    extends:\n      file: base.yaml\n      service: web\n",
        "services:\n  web:\n    extends: base\n  base:\n    image: busybox\n",
        "services:\n  web:\n    image: busybox\n    env_file: ${STAGE}.env\n",
        "services:\n  web:\n    image: busybox\n    env_file:\n      - path: $STAGE.env\n",
        "x-env: &env\n  env_file: a.env\nservices:\n  web:\n    <<: *env\n    image: busybox\n",
        "x-common:\n  env_file: a.env\nservices:\n  web:\n    image: busybox\n",
        "services:\n  web:\n    image: busybox\n    env_file: {path: a.env}\n",
    ],
    ids=[
        "include",
        "extends-file",
        "extends",
        "variable-path",
        "variable-long-path",
        "anchor",
        "mention-elsewhere",
        "flow-mapping",
    ],
)
def test_nothing_is_kept_where_every_file_read_cannot_be_named(
    tmp_path: Path, compose: str
) -> None:
    assert modelcache.question(workspace(tmp_path, compose), ARGS, BINARY) is None


def test_a_file_of_another_folder_that_names_env_files_keeps_nothing(tmp_path: Path) -> None:
    project = workspace(tmp_path)
    (tmp_path / "ops").mkdir()
    (tmp_path / "ops" / "override.yaml").write_text("services:\n  web:\n    env_file: o.env\n")
    both = replace(project, files=("compose.yaml", "ops/override.yaml"))
    assert modelcache.question(both, ARGS, BINARY) is None
    (tmp_path / "ops" / "override.yaml").write_text("services:\n  web:\n    init: true\n")
    assert modelcache.question(both, ARGS, BINARY) is not None  # no path of its own in it


def test_nothing_is_kept_for_a_secret_store_files_named_by_the_environment_or_not_named(
    tmp_path: Path,
) -> None:
    project = workspace(tmp_path)
    secrets = ComposeProject(
        tmp_path, ("compose.yaml",), "shop", secret_env_files=("/proc/1/fd/3",)
    )
    named = ComposeProject(tmp_path, ("compose.yaml",), "shop", env={"COMPOSE_ENV_FILES": "a.env"})
    assert modelcache.question(secrets, ARGS, BINARY) is None
    assert modelcache.question(named, ARGS, BINARY) is None
    assert modelcache.question(project, ARGS, None) is None  # the docker CLI picks compose
    found = ComposeProject(tmp_path, (), "shop")  # compose would look for the files itself
    assert modelcache.question(found, ARGS, BINARY) is None


def test_an_answer_is_kept_privately_and_only_the_newest_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert modelcache.answer("a" * 64) is None
    modelcache.keep("a" * 64, '{"services": {}}', "WARN something\n")
    assert modelcache.answer("a" * 64) == ('{"services": {}}', "WARN something\n")
    folder = tmp_path / "state" / "bootstrap" / modelcache.FOLDER
    assert oct(os.stat(folder / f"{'a' * 64}.json").st_mode & 0o777) == "0o600"
    for index in range(modelcache.KEPT + 3):
        modelcache.keep(f"{index:064x}", "{}", "")
        os.utime(folder / f"{index:064x}.json", ns=(index + 2, index + 2))
    kept = sorted(p.stem for p in folder.glob("*.json"))
    assert len(kept) == modelcache.KEPT and f"{modelcache.KEPT + 2:064x}" in kept
    modelcache.keep("b" * 64, "x" * (modelcache.LARGEST + 1), "")  # too large: asked each time
    assert modelcache.answer("b" * 64) is None
    (folder / f"{'c' * 64}.json").write_text("[1, 2]")  # not one this module wrote
    assert modelcache.answer("c" * 64) is None
    assert modelcache.answer(None) is None


def test_an_answer_up_takes_again_outlives_newer_ones_written_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pruning keeps the answers written or used last: the one a workspace's every `up`
    takes is not pushed out by others written since."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    folder = tmp_path / "state" / "bootstrap" / modelcache.FOLDER
    for index in range(modelcache.KEPT):
        modelcache.keep(f"{index:064x}", "{}", "")
        os.utime(folder / f"{index:064x}.json", ns=(index + 2, index + 2))
    modelcache.used(f"{0:064x}")  # the oldest written, taken by an `up` now
    modelcache.keep(f"{modelcache.KEPT:064x}", "{}", "")
    assert modelcache.answer(f"{0:064x}") == ("{}", "")
    assert modelcache.answer(f"{1:064x}") is None  # the least recently written or used
    modelcache.used("d" * 64)  # nothing kept for it: nothing to mark, nothing raised
    assert not (folder / f"{'d' * 64}.json").exists()
