"""Typed errors. Each names a location and a way out, and carries its exit code.

The library raises these; only the CLI turns them into exit codes and text.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented exit codes of the ``bootstrap`` command."""

    OK = 0
    FAILED = 1  # a required service did not become ready
    BAD_INPUT = 2  # bad configuration or arguments: nothing was started
    ENGINE = 3  # the Docker engine or compose CLI is missing, too old or not answering
    LOCKED = 4  # another bootstrap run holds the project's lock
    DEGRADED = 5  # everything required is ready, but optional services failed
    NOT_FOUND = 6  # a snapshot or service that was asked for does not exist
    NO_SPACE = 7  # too little disk for a snapshot: nothing was removed
    INTERRUPTED = 130  # SIGINT
    TERMINATED = 143  # SIGTERM


COMPOSE_UPGRADE = "install Docker Compose v2.20 or newer (`docker compose version`)"


class BootstrapError(Exception):
    """Base error: a message, the place it concerns, and a hint how to fix it."""

    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str, *, location: str = "", hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}{self.message}"


class ConfigError(BootstrapError):
    """The user's configuration is wrong; nothing was started."""

    exit_code = ExitCode.BAD_INPUT


class ConfigErrors(ConfigError):
    """Several configuration errors found in one pass: every one is reported at once."""

    def __init__(self, errors: list[ConfigError]) -> None:
        first = errors[0]
        super().__init__(
            f"{len(errors)} errors; the first: {first.message}",
            location=first.location,
            hint=first.hint,
        )
        self.errors = errors


def raise_all(errors: list[ConfigError]) -> None:
    """Nothing, one error as it is, or all of them together."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ConfigErrors(errors)


class EngineError(BootstrapError):
    """The Docker engine or the compose CLI cannot do what was asked."""

    exit_code = ExitCode.ENGINE


class NoSuchObject(EngineError):
    """The engine has no such container, image, service or volume (it may have just gone)."""


class EngineGone(EngineError):
    """The engine stopped answering in the middle of a run (not a service's fault)."""


class NoSpaceError(BootstrapError):
    exit_code = ExitCode.NO_SPACE


class LockedError(BootstrapError):
    """Another bootstrap process holds the project lock."""

    exit_code = ExitCode.LOCKED


class NotFoundError(BootstrapError):
    exit_code = ExitCode.NOT_FOUND


class CycleError(ConfigError):
    """The dependency graph has a cycle; ``cycle`` lists it in order."""

    def __init__(self, cycle: list[str]) -> None:
        path = " -> ".join([*cycle, cycle[0]])
        super().__init__(
            f"dependency cycle: {path}",
            location=f"services.{cycle[0]}.depends_on",
            hint="remove one of these depends_on entries",
        )
        self.cycle = cycle


class MissingExtra(EngineError):
    """What was asked needs one of the package's extras, not installed here."""

    def __init__(self, extra: str, what: str, missing: str) -> None:
        super().__init__(
            f"{what} needs the {extra!r} extra of compose-bootstrap ({missing} is not installed)",
            location=f"compose-bootstrap[{extra}]",
            hint=f"uv tool install 'compose-bootstrap[{extra}]' (or pip install "
            f"'compose-bootstrap[{extra}]')",
        )
        self.extra = extra


def needing_extra(extra: str, what: str, error: ImportError) -> MissingExtra:
    return MissingExtra(extra, what, error.name or str(error))
