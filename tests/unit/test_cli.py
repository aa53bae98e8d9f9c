"""The click layer in-process (CliRunner), over a fake backend: parse, call, render, exit."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bootstrap.cli import cli
from bootstrap.settings import Settings, settings_document

from .fakes import FakeEngine, FakeLoader


class FakeBackend:
    name = "fake"

    def __init__(self, document: dict[str, Any]) -> None:
        self.loader = FakeLoader(document)
        self.engine = FakeEngine()

    def findings(self, workspace: object) -> list[object]:
        return []

    def engine_findings(self, workspace: object) -> list[object]:
        return []

    def warm_up(
        self, *, engine: bool = True, also: Sequence[str] = (), checks: bool = False
    ) -> None:
        pass


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> FakeBackend:
    made = FakeBackend(
        {
            "services": {
                "db": {"image": "postgres:16", "environment": {"POSTGRES_PASSWORD": "pw"}},
                "api": {
                    "image": "acme/api",
                    "depends_on": {"db": {"condition": "service_healthy"}},
                    "labels": {"bootstrap.probe": "http", "bootstrap.probe.port": "8080"},
                },
            }
        }
    )
    monkeypatch.setattr("bootstrap.backends.select_backend", lambda name="compose": made)
    return made


def invoke(tmp_path: Path, *args: str) -> Any:
    (tmp_path / "compose.yaml").write_text("services: {}\n")
    return CliRunner().invoke(cli, ["-C", str(tmp_path), *args], catch_exceptions=False)


def test_help_lists_every_command_without_importing_docker() -> None:
    import subprocess
    import sys

    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ("plan", "up", "down", "status", "reset", "restore", "doctor", "init"):
        assert command in result.output
    script = (
        "import sys; from click.testing import CliRunner; from bootstrap.cli import cli; "
        "CliRunner().invoke(cli, ['--help']); print(sorted({m.split('.')[0] for m in sys.modules} "
        "& {'docker', 'rich', 'psycopg', 'aiohttp', 'opentelemetry'}))"
    )
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert loaded.stdout.strip() == "[]", loaded.stdout + loaded.stderr


def test_plan_json_offline_over_the_backends_model(tmp_path: Path, backend: FakeBackend) -> None:
    result = invoke(tmp_path, "plan", "--json", "--offline")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["project"] == "fromfiles"  # the files' name:, as compose chose it
    assert document["services"]["db"]["phase"] == "databases"
    assert document["services"]["api"]["probe"] == {
        "kind": "http",
        "why": "label bootstrap.probe=http",
        "source": "label",  # where it came from: a label, the image, a port, the file
        "port": "8080",
    }
    assert document["services"]["db"]["probe"]["source"] == "image (a guess)"
    assert [p["waves"] for p in document["phases"] if p["waves"]] == [[["db"]], [["api"]]]


def test_a_bad_label_exits_2_naming_it(
    tmp_path: Path, backend: FakeBackend, capsys: pytest.CaptureFixture[str]
) -> None:
    backend.loader.document["services"]["api"]["labels"]["bootstrap.probe.port"] = "eighty"
    (tmp_path / "compose.yaml").write_text("services: {}\n")
    from bootstrap.cli.context import run_cli

    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr("sys.argv", ["bootstrap", "-C", str(tmp_path), "plan", "--offline"])
    try:
        with pytest.raises(SystemExit) as exited:
            run_cli(cli)
    finally:
        monkeypatch.undo()
    assert exited.value.code == 2
    said = capsys.readouterr().err
    assert "services.api.labels.bootstrap.probe.port" in said  # the place
    assert "'eighty' is not a port number" in said and "fix:" in said  # what, and the fix


def test_init_writes_every_setting_it_documents(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["-C", str(tmp_path), "init"])
    assert result.exit_code == 0
    written = tomllib.loads((tmp_path / "bootstrap.toml").read_text())
    assert set(written) == set(settings_document(Settings()))
    page = (Path(__file__).resolve().parents[2] / "docs" / "settings.md").read_text()
    for key in written:
        assert f"`{key}`" in page, key
    assert ".env.local" in (tmp_path / ".gitignore").read_text()
    assert written["network"] == "" and written["tiers"] == {} and written["enforce"] == []


def test_init_seed_writes_the_seeds_conventions(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["-C", str(tmp_path), "init", "--seed"])
    assert result.exit_code == 0, result.output
    written = tomllib.loads((tmp_path / "bootstrap.toml").read_text())
    assert (written["network"], written["subnet"]) == ("mcp-cluster", "172.28.0.0/24")
    assert written["tiers"]["databases"]["range"] == "20-29"
    assert "database_ports" in written["enforce"]


def test_init_generates_the_listed_secrets_once(tmp_path: Path) -> None:
    (tmp_path / "bootstrap.toml").write_text('generate_secrets = ["API_TOKEN"]\n')
    assert CliRunner().invoke(cli, ["-C", str(tmp_path), "init"]).exit_code == 0
    secret = (tmp_path / ".secrets" / "API_TOKEN").read_text()
    assert len(secret.strip()) >= 24
    assert (tmp_path / ".secrets" / "API_TOKEN").stat().st_mode & 0o777 == 0o600
    assert CliRunner().invoke(cli, ["-C", str(tmp_path), "init"]).exit_code == 0
    assert (tmp_path / ".secrets" / "API_TOKEN").read_text() == secret


def test_an_unknown_backend_is_refused_with_the_choices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bootstrap.cli.context import run_cli

    (tmp_path / "compose.yaml").write_text("services: {}\n")
    (tmp_path / "bootstrap.toml").write_text('backend = "kubernetes"\n')
    monkeypatch.delenv("BOOTSTRAP_BACKEND", raising=False)
    monkeypatch.setattr("sys.argv", ["bootstrap", "-C", str(tmp_path), "plan", "--offline"])
    with pytest.raises(SystemExit) as exited:
        run_cli(cli)
    assert exited.value.code == 2
    said = capsys.readouterr().err
    assert "unknown backend 'kubernetes'" in said and "compose, swarm" in said


def test_the_backend_comes_from_the_flag_then_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bootstrap.cli.context import CliContext

    chosen: list[str] = []

    def select(name: str = "compose") -> object:
        chosen.append(name)
        return object()

    monkeypatch.setattr("bootstrap.backends.select_backend", select)
    CliContext(tmp_path, (), None, ()).backend()
    (tmp_path / "bootstrap.toml").write_text('backend = "swarm"\n')
    CliContext(tmp_path, (), None, ()).backend()
    CliContext(tmp_path, (), None, (), backend_name="compose").backend()  # the flag wins
    assert chosen == ["compose", "swarm", "compose"]


def test_a_docker_host_wins_over_a_context() -> None:
    from bootstrap.dockercontext import use_context

    env = {"DOCKER_HOST": "tcp://engine:2375", "DOCKER_CONTEXT": "remote"}
    assert use_context(None, env) is None
    assert env == {"DOCKER_HOST": "tcp://engine:2375", "DOCKER_CONTEXT": "remote"}
    assert use_context(None, {}) is None  # no context asked for: nothing to do
