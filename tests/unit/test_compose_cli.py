from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bootstrap.backends import composecli
from bootstrap.backends.composecli import ComposeCLI, base_args, classify_failure, parse_version
from bootstrap.errors import ConfigError, EngineError
from bootstrap.runtime import ComposeProject


def classify(stderr: str, verb: str = "create") -> Exception:
    return classify_failure(stderr, ["docker", "compose", verb], lambda s: s.replace("pw1", "***"))


def test_engine_not_answering_is_an_engine_error_with_a_fix() -> None:
    error = classify("Cannot connect to the Docker daemon at unix:///var/run/docker.sock.")
    assert isinstance(error, EngineError) and "does not answer" in error.message
    assert "dockerd" in error.hint


def test_old_cli_and_missing_image() -> None:
    assert "too old" in str(classify("unknown flag: --no-start"))
    missing = classify("pull access denied for nothere, repository does not exist")
    assert isinstance(missing, EngineError) and missing.location == "images"


def test_required_variable_names_it_and_masks() -> None:
    error = classify("required variable DB_URL is missing a value: set pw1 first", "config")
    assert isinstance(error, ConfigError) and error.location == "${DB_URL}"
    assert "***" in error.message and "pw1" not in error.message


@pytest.mark.parametrize(
    ("stderr", "location"),
    [
        (
            'service "app" depends on undefined service "ghost": invalid',
            "services.app.depends_on.ghost",
        ),
        ("dependency cycle detected: a -> b -> a", "services.a.depends_on"),
        ("yaml: line 3: mapping values are not allowed", "compose files"),
    ],
)
def test_config_failures_are_the_files_fault(stderr: str, location: str) -> None:
    error = classify(stderr, "config")
    assert isinstance(error, ConfigError) and error.location == location


def test_base_args_use_the_first_files_folder_and_omit_an_unknown_name() -> None:
    project = ComposeProject(Path("/w"), (".devcontainer/docker-compose.yml",), "", ("p",))
    args = base_args(project)
    assert args[:4] == ["docker", "compose", "--project-directory", "/w/.devcontainer"]
    assert "-p" not in args and args[-2:] == ["--profile", "p"]
    named = ComposeProject(Path("/w"), ("compose.yaml",), "shop")
    assert base_args(named, all_profiles=True)[-4:] == ["-f", "/w/compose.yaml", "--profile", "*"]


def test_parse_version() -> None:
    assert parse_version("v2.40.3") == (2, 40, 3)
    assert parse_version("2.18.1-desktop.2") == (2, 18, 1)


def test_disk_usage_waits_for_the_one_the_engine_is_already_running() -> None:
    """The engine runs one disk-usage report at a time and answers a second with a 500:
    two workspaces resetting at once must both get their sizes."""
    import docker.errors

    from bootstrap.backends import docker as adapter
    from bootstrap.backends.compose.labels import COMPOSE

    class Api:
        calls = 0

        def df(self) -> dict[str, object]:
            Api.calls += 1
            if Api.calls < 3:
                raise docker.errors.APIError(
                    "500", explanation="a disk usage operation is already running"
                )
            return {"Volumes": [{"Name": "v", "UsageData": {"Size": 42}}]}

    engine = adapter.DockerEngine(Api(), COMPOSE)
    assert engine.volume_sizes() == {"v": 42}
    assert Api.calls == 3

    class Broken(Api):
        def df(self) -> dict[str, object]:
            raise docker.errors.APIError("500", explanation="something else")

    engine.api = Broken()
    with pytest.raises(EngineError, match="something else"):
        engine.volume_sizes()


def test_up_s_compose_flags_reach_the_create_call() -> None:
    from bootstrap.backends import Creating
    from bootstrap.backends.composecli import create_args, down_args

    flags = Creating(build=True, force_recreate=True, remove_orphans=True).compose_flags()
    assert flags == ("--build", "--force-recreate", "--remove-orphans")
    assert Creating().compose_flags() == ()
    project = ComposeProject(Path("/w"), ("compose.yaml",), "shop")
    args = create_args(project, ["web"], no_deps=True, flags=flags)
    assert args[-5:] == ["--quiet-pull", "--build", "--force-recreate", "--remove-orphans", "web"]
    assert down_args(project, volumes=True)[-1] == "--volumes"


@pytest.mark.parametrize(
    ("found", "said"),
    [
        ((5, 6, 1), False),
        ((2, 40, 3), False),
        ((2, 20, 0), False),
        ((5, 7, 0), True),
        ((6, 0), True),
    ],
)
def test_a_compose_newer_than_any_tested_is_a_notice_not_a_failure(
    found: tuple[int, ...], said: bool
) -> None:
    from types import SimpleNamespace

    from bootstrap.backends.compose.backend import ComposeBackend
    from bootstrap.validate import Severity
    from tests.unit.helpers import plan, svc

    backend = ComposeBackend()
    backend.cli.seen_version = found
    workspace = SimpleNamespace(plan=plan({"web": svc()}))
    findings = backend.findings(workspace)  # type: ignore[arg-type]  # only its plan is read
    assert bool(findings) is said
    assert all(f.severity is Severity.NOTICE and f.rule == "compose-untested" for f in findings)


@pytest.mark.parametrize(
    ("found", "refused"), [((5, 6, 1), True), ((2, 40, 3), True), ((2, 20, 3), False)]
)
def test_start_interval_alone_is_refused_where_this_compose_refuses_it(
    found: tuple[int, ...], refused: bool
) -> None:
    """2.40.3 and 5.6.1 refuse a healthcheck's start_interval without start_period when they
    create the container; 2.20.3 creates it. Validation refuses it first where compose would."""
    from types import SimpleNamespace

    from bootstrap.backends.compose.backend import ComposeBackend
    from tests.unit.helpers import plan, svc

    backend = ComposeBackend()
    backend.cli.seen_version = found
    alone = {"test": ["CMD", "true"], "start_interval": "1s"}
    workspace = SimpleNamespace(plan=plan({"web": svc(healthcheck=alone)}))
    rules = [f.rule for f in backend.findings(workspace)]  # type: ignore[arg-type]
    assert rules == (["healthcheck-start-interval"] if refused else [])


FAKE_COMPOSE = """#!/bin/sh
# compose's `config` that waits (up to 5 s) for the marker the caller's `meanwhile` writes
case "$*" in
  *"version --short"*) echo 5.6.1; exit 0;;
esac
for _ in $(seq 50); do
  [ -e "$MARKER" ] && { echo '{"name": "shop", "services": {}}'; exit 0; }
  sleep 0.1
done
echo "the marker never came" >&2
exit 1
"""


def fake_compose(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = tmp_path / "docker-compose"
    script.write_text(FAKE_COMPOSE)
    script.chmod(0o755)
    monkeypatch.setattr(composecli, "compose_command", lambda: (str(script),))
    return tmp_path / "marker"


def test_what_follows_the_model_is_done_while_compose_reads_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``meanwhile`` runs once compose's `config` is running, not after it: the fake compose
    answers only once the marker that ``meanwhile`` writes exists."""
    marker = fake_compose(tmp_path, monkeypatch)
    cli = ComposeCLI()
    cli.meanwhile = marker.touch
    env = {**os.environ, "MARKER": str(marker)}
    project = ComposeProject(tmp_path, ("compose.yaml",), "shop", env=env)
    assert cli.config(project) == {"name": "shop", "services": {}}
    assert cli.meanwhile is None  # once: a second `config` does not run it again
    marker.unlink()
    with pytest.raises(ConfigError, match="marker never came"):
        cli.config(project)


READ_ONLY_SPAWN = """
import subprocess, sys
import bootstrap.backends.composecli as composecli
composecli.compose_command = lambda: (sys.argv[1],)
seen = []
popen = subprocess.Popen.__init__
def spawn(self, args, *rest, **options):
    if "config" in args:
        seen.append(sorted(m for m in sys.modules if m.startswith("bootstrap")))
    popen(self, args, *rest, **options)
subprocess.Popen.__init__ = spawn
from bootstrap.cli import cli
try:
    cli.main(sys.argv[2:], standalone_mode=False)
finally:
    print(" ".join(seen[0]))
"""


@pytest.mark.parametrize(
    "command", [("plan", "--offline"), ("validate", "--offline"), ("env",), ("up", "--dry-run")]
)
def test_a_command_asks_compose_before_it_imports_the_planner(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    """The model, the plan, the rules and the probe registry are imported while compose reads
    the files (by ``warm_up``), not before compose is asked: a read-only command's time, and
    how soon `up` refuses files compose refuses."""
    script = tmp_path / "docker-compose"
    script.write_text(
        '#!/bin/sh\ncase "$*" in *version*) echo 5.6.1;; *) echo \'{"services": {}}\';; esac\n'
    )
    script.chmod(0o755)
    (tmp_path / "compose.yaml").write_text("services: {}\n")
    done = subprocess.run(
        [sys.executable, "-c", READ_ONLY_SPAWN, str(script), *command],
        cwd=tmp_path,
        env={**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    loaded = done.stdout.split()
    assert "bootstrap.workspace" in loaded, done.stderr
    heavy_ones = ("bootstrap.plan", "bootstrap.model", "bootstrap.validate", "bootstrap.probes")
    for heavy in (*heavy_ones, "bootstrap.lifecycle", "bootstrap.scheduler"):
        assert heavy not in loaded, (heavy, loaded)


def test_kept_hashes_answer_only_the_same_project_profiles_and_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bootstrap.backends.composecli import (
        HASHES_KEPT,
        hashes_kept_for,
        remember_hashes,
        remembered_hashes,
    )

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    shop = ComposeProject(tmp_path / "w", ("compose.yaml",), "shop", ())
    assert remembered_hashes(shop, "m1") is None and not hashes_kept_for(shop)
    (tmp_path / "bootstrap").mkdir()
    (tmp_path / "bootstrap" / "config-hashes.json").write_text("not json")
    assert remembered_hashes(shop, "m1") is None  # damaged: asked again, no error
    remember_hashes(shop, "m1", {"web": "h1"})
    assert remembered_hashes(shop, "m1") == {"web": "h1"} and hashes_kept_for(shop)
    assert remembered_hashes(shop, "m2") is None  # another model
    assert remembered_hashes(shop, None) is None  # no digest: the docker CLI chooses compose
    debug = ComposeProject(tmp_path / "w", ("compose.yaml",), "shop", ("debug",))
    assert remembered_hashes(debug, "m1") is None  # other profiles, other services
    other = ComposeProject(tmp_path / "x", ("compose.yaml",), "shop", ())
    assert remembered_hashes(other, "m1") is None  # another folder
    for n in range(HASHES_KEPT):
        remember_hashes(ComposeProject(tmp_path / f"p{n}", ("c.yaml",), "p", ()), "m", {})
    assert remembered_hashes(shop, "m1") is None  # the oldest project left out
