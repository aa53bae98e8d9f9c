"""End to end with the real Dev Containers CLI: `devcontainer up` on a workspace that uses the
feature; its postCreate hook brings the stack up from inside the dev container."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, Project, free_port, free_subnet_base

pytestmark = [pytest.mark.docker, pytest.mark.devcontainer]
REPO = Path(__file__).resolve().parents[2]
CLI_PACKAGE = "@devcontainers/cli@0.89.0"
BASE_IMAGE = "mcr.microsoft.com/devcontainers/base:bookworm"


def devcontainer_cli() -> str:
    prefix = REPO / ".nox" / "devcontainer-cli"
    binary = prefix / "node_modules" / ".bin" / "devcontainer"
    if not binary.exists():
        if shutil.which("npm") is None:
            pytest.skip("npm is not installed")
        subprocess.run(
            [
                "npm",
                "install",
                "--silent",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(prefix),
                CLI_PACKAGE,
            ],
            check=True,
            capture_output=True,
        )
    return str(binary)


def compose_plugin() -> str:
    for candidate in (
        Path.home() / ".docker/cli-plugins/docker-compose",
        Path("/usr/local/lib/docker/cli-plugins/docker-compose"),
        Path("/usr/libexec/docker/cli-plugins/docker-compose"),
        Path("/usr/lib/docker/cli-plugins/docker-compose"),
    ):
        if candidate.exists():
            return str(candidate.resolve())
    pytest.skip("no compose plugin binary to hand to the dev container")


def remove_dev_container(folder: Path) -> None:
    """The dev container the CLI made for ``folder``, and every image it built for it (the
    CLI names them ``vsc-<stamp>-<hash>``, with ``-features`` and ``-uid`` layers on top)."""
    ids = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=devcontainer.local_folder={folder}"],
        capture_output=True,
        text=True,
    ).stdout.split()
    if not ids:
        return
    inspected = subprocess.run(
        ["docker", "inspect", "--format", "{{.Image}} {{.Config.Image}}", *ids],
        capture_output=True,
        text=True,
    ).stdout.split()
    images, names = inspected[0::2], inspected[1::2]
    subprocess.run(["docker", "rm", "-f", "-v", *ids], capture_output=True)
    built = []
    for name in names:
        stem = re.sub(r"(-features)?(-uid)?$", "", name.split(":", 1)[0])
        if stem.startswith("vsc-"):
            built += subprocess.run(
                ["docker", "images", "-q", "--filter", f"reference={stem}*"],
                capture_output=True,
                text=True,
            ).stdout.split()
    subprocess.run(["docker", "rmi", "-f", *images, *built], capture_output=True)


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[tuple[Project, Path]]:
    name = f"dc{uuid.uuid4().hex[:8]}"
    folder = tmp_path / name
    shutil.copytree(FIXTURES / "devcontainer", folder)
    base, port = free_subnet_base(), free_port()
    password = uuid.uuid4().hex
    (folder / ".env").write_text(f"SUBNET_BASE={base}\nAPP_PORT={port}\n")
    (folder / ".secrets").mkdir()
    (folder / ".secrets" / "POSTGRES_PASSWORD").write_text(password)
    (folder / "bootstrap.toml").write_text(f'project = "{name}"\n')
    feature = folder / ".devcontainer" / "bootstrap"
    shutil.copytree(REPO / "features" / "src" / "bootstrap", feature)
    try:
        socket.getaddrinfo("ghcr.io", 443)
    except OSError:  # the CLI would fetch the installsAfter features to order them
        manifest = feature / "devcontainer-feature.json"
        data = json.loads(manifest.read_text())
        data.pop("installsAfter", None)
        manifest.write_text(json.dumps(data))
    subprocess.run(
        ["uv", "build", "--wheel", "--out-dir", str(feature / "dist"), str(REPO)],
        check=True,
        capture_output=True,
    )
    socket_gid = os.stat("/var/run/docker.sock").st_gid
    docker_cli = shutil.which("docker") or "/usr/bin/docker"
    config = {
        "image": BASE_IMAGE,
        "features": {"./bootstrap": {"profiles": "", "timeout": "120"}},
        "remoteUser": "vscode",
        "mounts": [
            "source=/var/run/docker.sock,target=/var/run/docker.sock,type=bind",
            f"source={Path(docker_cli).resolve()},target=/usr/local/bin/docker,type=bind",
            f"source={compose_plugin()},target=/usr/local/lib/docker/cli-plugins/"
            "docker-compose,type=bind",
        ],
        "runArgs": ["--group-add", str(socket_gid)],
        # What the docker-outside-of-docker feature sets: the host's path of the workspace.
        "containerEnv": {"LOCAL_WORKSPACE_FOLDER": "${localWorkspaceFolder}"},
    }
    (folder / ".devcontainer" / "devcontainer.json").write_text(json.dumps(config, indent=2))
    # The workspace belongs to the dev user, as a checkout on a developer's machine does.
    subprocess.run(["chown", "-R", "1000:1000", str(folder)], check=True)
    project = Project(name, folder, {"SUBNET_BASE": base, "APP_PORT": str(port)})
    try:
        yield project, folder
    finally:
        remove_dev_container(folder)
        project.cleanup()


def test_devcontainer_up_brings_the_stack_up_from_post_create(
    workspace: tuple[Project, Path],
) -> None:
    project, folder = workspace
    cli = devcontainer_cli()
    up = subprocess.run(
        [cli, "up", "--workspace-folder", str(folder)], capture_output=True, text=True, timeout=900
    )
    assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
    assert "ready: 2 services" in up.stdout + up.stderr
    assert "joined network" in up.stdout + up.stderr

    status = subprocess.run(
        [cli, "exec", "--workspace-folder", str(folder), "bootstrap", "status", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert status.returncode == 0, status.stderr[-2000:]
    document = json.loads(status.stdout[status.stdout.index("{") :])
    assert document["healthy"] is True
    by_name = {s["service"]: s for s in document["services"]}
    # Inside the dev container the probes dial services by name on the joined network.
    assert "SELECT 1 answered at postgres:5432" in by_name["postgres"]["detail"]
    who = subprocess.run(
        [cli, "exec", "--workspace-folder", str(folder), "id", "-un"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert who.stdout.strip().endswith("vscode")

    # The app serves ./site through a relative bind mount: the host's path reached the engine.
    url = f"http://127.0.0.1:{project.env['APP_PORT']}/"
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.read().decode().strip() == "dive-in"

    # Without the host's path, validate says which mount would not work, before anything.
    unchecked, unknown = (
        validate_without_host_path(cli, folder, flags) for flags in ((), ("--check-mounts",))
    )
    # Read-only by default: the check needs a helper container, so it says how to run it.
    assert "--check-mounts" in unchecked.stderr and unchecked.returncode == 0, unchecked.stderr
    assert unknown.returncode == 2, unknown.stdout + unknown.stderr
    assert "services.app.volumes" in unknown.stderr and "LOCAL_WORKSPACE_FOLDER" in unknown.stderr


def validate_without_host_path(
    cli: str, folder: Path, flags: tuple[str, ...]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            cli,
            "exec",
            "--workspace-folder",
            str(folder),
            "env",
            "-u",
            "LOCAL_WORKSPACE_FOLDER",
            "bootstrap",
            "validate",
            *flags,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def offline_config(folder: Path, extra_env: dict[str, str]) -> dict[str, Any]:
    """The repository's own devcontainer.json, as a fresh clone has it, with what this machine
    cannot fetch replaced: the docker-outside-of-docker feature (ghcr.io) by what it does
    (the socket, the docker CLI and compose plugin, LOCAL_WORKSPACE_FOLDER)."""
    import re

    text = (folder / ".devcontainer" / "devcontainer.json").read_text()
    config: dict[str, Any] = json.loads(re.sub(r"^\s*//.*$", "", text, flags=re.MULTILINE))
    config["features"] = {
        k: v for k, v in config["features"].items() if not k.startswith("ghcr.io")
    }
    config.pop("overrideFeatureInstallOrder", None)
    docker_cli = shutil.which("docker") or "/usr/bin/docker"
    config["mounts"] = [
        "source=/var/run/docker.sock,target=/var/run/docker.sock,type=bind",
        f"source={Path(docker_cli).resolve()},target=/usr/local/bin/docker,type=bind",
        f"source={compose_plugin()},target=/usr/local/lib/docker/cli-plugins/docker-compose,type=bind",
    ]
    config["runArgs"] = ["--group-add", str(os.stat("/var/run/docker.sock").st_gid)]
    config["containerEnv"] = {
        **config.get("containerEnv", {}),
        "LOCAL_WORKSPACE_FOLDER": "${localWorkspaceFolder}",
        **extra_env,
    }
    return config


def test_a_fresh_clone_opens_as_a_dev_container(tmp_path: Path) -> None:
    """`git clone`, then `devcontainer up`: no manual step. The feature is committed (a copy
    of features/src/bootstrap) and, with no wheel bundled, installs the workspace."""
    cli = devcontainer_cli()
    folder = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(folder)], check=True)
    assert (folder / ".devcontainer" / "bootstrap" / "install.sh").exists()
    assert not list((folder / ".devcontainer" / "bootstrap").glob("dist/*.whl"))
    manifest = folder / ".devcontainer" / "bootstrap" / "devcontainer-feature.json"
    try:
        socket.getaddrinfo("ghcr.io", 443)
    except OSError:  # the CLI would fetch the installsAfter features to order them
        data = json.loads(manifest.read_text())
        data.pop("installsAfter", None)
        manifest.write_text(json.dumps(data))
    name = f"dc{uuid.uuid4().hex[:8]}"
    env = {
        "COMPOSE_PROJECT_NAME": name,
        "NET_PREFIX": free_subnet_base(),
        "DISCOVERY_HOST_PORT": str(free_port(7000, 7099)),
        "MCP_HOST_PORT": str(free_port(3100, 3199)),
        "PROMETHEUS_HOST_PORT": str(free_port(9000, 9199)),
    }
    # Beside devcontainer.json: the CLI resolves "./bootstrap" against the config's folder.
    override = folder / ".devcontainer" / "offline.json"
    override.write_text(json.dumps(offline_config(folder, env)))
    subprocess.run(["chown", "-R", "1000:1000", str(folder)], check=True)
    project = Project(name, folder)
    try:
        up = subprocess.run(
            [cli, "up", "--workspace-folder", str(folder), "--override-config", str(override)],
            capture_output=True,
            text=True,
            timeout=1500,
        )
        assert up.returncode == 0, up.stdout[-4000:] + up.stderr[-3000:]
        assert "installing bootstrap from the workspace" in up.stdout + up.stderr
        status = subprocess.run(
            [
                cli,
                "exec",
                "--workspace-folder",
                str(folder),
                "--override-config",
                str(override),
                "bootstrap",
                "status",
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert status.returncode == 0, status.stdout[-3000:] + status.stderr[-2000:]
        document = json.loads(status.stdout[status.stdout.index("{") :])
        assert document["healthy"] is True
        assert document["project"] == name
        # docker-proxy reads its nginx.conf through a relative bind mount of the workspace.
        assert {s["service"]: s["ready"] for s in document["services"]}["docker-proxy"] is True
    finally:
        remove_dev_container(folder)
        project.cleanup()


@pytest.fixture
def registry() -> Iterator[str]:
    """A real OCI registry (registry:2) on a free 127.0.0.1 port, as ``localhost:PORT`` (the
    Dev Containers CLI speaks plain HTTP to localhost only)."""
    port = free_port(5100, 5199)
    name = f"bt-registry-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["docker", "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:5000", "registry:2"],
        check=True,
        capture_output=True,
    )
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2):
                    break
            except OSError:
                import time

                time.sleep(0.1)
        yield f"localhost:{port}"
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True)


def publishable_feature(tmp_path: Path) -> Path:
    """features/src with the wheel bundled, as the release workflow publishes it."""
    source = tmp_path / "features-src"
    shutil.copytree(REPO / "features" / "src", source)
    feature = source / "bootstrap"
    shutil.rmtree(feature / "dist", ignore_errors=True)
    subprocess.run(
        ["uv", "build", "--wheel", "--out-dir", str(feature / "dist"), str(REPO)],
        check=True,
        capture_output=True,
    )
    try:
        socket.getaddrinfo("ghcr.io", 443)
    except OSError:  # the CLI would fetch the installsAfter features to order them
        manifest = feature / "devcontainer-feature.json"
        data = json.loads(manifest.read_text())
        data.pop("installsAfter", None)
        manifest.write_text(json.dumps(data, indent=4))
    return source


def test_the_feature_from_a_registry_brings_a_foreign_workspace_up(
    tmp_path: Path, registry: str
) -> None:
    """Published with `devcontainer features publish` to a real registry, named by its registry
    id in the devcontainer.json of a workspace that is not this repository: `devcontainer up`
    installs it and its postCreate hook brings that workspace's stack up in order."""
    from bootstrap import __version__

    cli = devcontainer_cli()
    source = publishable_feature(tmp_path)
    published = subprocess.run(
        [
            cli,
            "features",
            "publish",
            str(source),
            "--registry",
            registry,
            "--namespace",
            "acme/tools",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert published.returncode == 0, published.stdout[-2000:] + published.stderr[-2000:]
    tags_url = (
        f"http://{registry.replace('localhost', '127.0.0.1')}/v2/acme/tools/bootstrap/tags/list"
    )
    with urllib.request.urlopen(tags_url, timeout=5) as answer:
        tags = set(json.loads(answer.read())["tags"])
    major, minor, _patch = __version__.split(".")
    assert {major, f"{major}.{minor}", __version__, "latest"} <= tags, tags

    name = f"shop{uuid.uuid4().hex[:8]}"
    folder = tmp_path / name
    shutil.copytree(FIXTURES / "adopt", folder)
    web_port = free_port(8100, 8199)
    (folder / ".env").write_text(f"WEB_PORT={web_port}\n")
    (folder / ".devcontainer").mkdir()
    socket_gid = os.stat("/var/run/docker.sock").st_gid
    docker_cli = shutil.which("docker") or "/usr/bin/docker"
    config = {
        "image": BASE_IMAGE,
        "features": {f"{registry}/acme/tools/bootstrap:{major}": {}},
        "remoteUser": "vscode",
        # What the docker-outside-of-docker feature gives (it comes from ghcr.io, out of
        # reach here): the socket, the docker CLI and compose plugin, the host's path.
        "mounts": [
            "source=/var/run/docker.sock,target=/var/run/docker.sock,type=bind",
            f"source={Path(docker_cli).resolve()},target=/usr/local/bin/docker,type=bind",
            f"source={compose_plugin()},target=/usr/local/lib/docker/cli-plugins/"
            "docker-compose,type=bind",
        ],
        "runArgs": ["--group-add", str(socket_gid)],
        "containerEnv": {"LOCAL_WORKSPACE_FOLDER": "${localWorkspaceFolder}"},
    }
    (folder / ".devcontainer" / "devcontainer.json").write_text(json.dumps(config, indent=2))
    subprocess.run(["chown", "-R", "1000:1000", str(folder)], check=True)
    project = Project(name, folder)
    try:
        up = subprocess.run(
            [cli, "up", "--workspace-folder", str(folder)],
            capture_output=True,
            text=True,
            timeout=900,
        )
        out = up.stdout + up.stderr
        assert up.returncode == 0, up.stdout[-4000:] + up.stderr[-3000:]
        assert "ready: 3 services" in out, out[-3000:]
        import re

        order = re.findall(r"\[\s*[\d.]+s\] (\S+)\s+ready\s", out)
        assert order.index("db") < order.index("web") and order.index("redis") < order.index(
            "web"
        ), order
        states = {
            c["Config"]["Labels"]["com.docker.compose.service"]: c["State"]["Status"]
            for c in project.containers()
        }
        assert states == {"db": "running", "redis": "running", "web": "running"}, states
        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/", timeout=5) as page:
            assert "foreign workspace" in page.read().decode()  # ./site via the host's path
        installed = subprocess.run(
            [
                cli,
                "exec",
                "--workspace-folder",
                str(folder),
                "/usr/local/share/bootstrap/venv/bin/python",
                "-m",
                "pip",
                "show",
                "compose-bootstrap",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert f"Version: {__version__}" in installed.stdout, installed.stdout + installed.stderr
        assert "SELECT 1 answered at db:5432" in out  # joined the stack's network: by name
    finally:
        remove_dev_container(folder)
        project.cleanup()
