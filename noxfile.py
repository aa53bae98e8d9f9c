"""Sessions: tests (unit + integration against the real engine), lint, typecheck, bench,
feature. ``uv run nox`` runs the default ones."""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "uv"
nox.options.sessions = ["lint", "typecheck", "tests"]
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
    session.run("ruff", "check", "bootstrap", "tests", "noxfile.py")
    session.run("ruff", "format", "--check", "bootstrap", "tests", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    _install(session, "typecheck")
    session.run("mypy", "--strict", "bootstrap")


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks against docker compose (not part of the default run)."""
    _install(session, "test")
    session.run("python", "-m", "bench", *session.posargs)


@nox.session(default=False)
def readme(session: nox.Session) -> None:
    """Run the reliability cases and write their counts into the README."""
    _install(session, "test")
    session.run("pytest", "tests", "-m", "bad_input or fault or data or security",
                "-p", "no:cacheprovider")
    session.run("python", "-m", "tests.readme_counts")
