"""The shared context of every command, the console, and the mapping of errors to exit codes."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bootstrap.errors import BootstrapError, ExitCode

if TYPE_CHECKING:
    from bootstrap.backends import Backend
    from bootstrap.workspace import Workspace


@dataclass
class CliContext:
    directory: Path
    files: tuple[str, ...]
    project: str | None
    profiles: tuple[str, ...]
    backend_name: str | None = None  # None: the settings' backend (compose by default)
    env_files: tuple[str, ...] = ()  # --env-file, in order (empty: .env, then .env.local)
    redact: Callable[[str], str] = field(default=lambda s: s)
    _backend: Backend | None = None

    def backend(self) -> Backend:
        """The one backend every command of this run uses (chosen here and nowhere else)."""
        if self._backend is None:
            from bootstrap.backends import select_backend

            name = self.backend_name
            if name is None:
                from bootstrap.settings import load_settings

                name = load_settings(self.directory).backend
            self._backend = select_backend(name)
        return self._backend

    def connect_ahead(self) -> bool:
        """Whether a read-only command connects to the engine in a thread while the model is
        read: not where compose's answer was kept (``spawn_early`` found it): no compose
        process to overlap then, and on two cores the thread's imports only contend with the
        command's own (plan 79.2 against 82.4 ms, status 77.8 against 80.5: 25 alternating
        runs). ``up`` connects ahead whatever: its engine questions follow at once."""
        from bootstrap.backends.composecli import model_kept_early

        return not model_kept_early()

    def workspace(self, profiles: Sequence[str] = (), *, generate: bool = False) -> Workspace:
        """The workspace, loaded without writing anything; ``generate`` (``up`` only) first
        creates the secrets the settings list that are still unset."""
        from bootstrap.workspace import load_workspace

        # `--profile a plan --profile b` plans both, as compose would take both.
        merged = ("*",) if "*" in profiles else tuple(dict.fromkeys([*self.profiles, *profiles]))
        workspace = load_workspace(
            self.directory,
            files=self.files,
            profiles=merged,
            project=self.project,
            loader=self.backend().loader,
            generate=generate,
            env_files=self.env_files,
        )
        self.redact = workspace.redact
        remember_redactor(workspace.redact)
        if workspace.generated:
            announce_generated(
                workspace.directory, workspace.settings.secrets_dir, workspace.generated
            )
        return workspace

    def targeted(
        self,
        workspace: Workspace,
        names: Sequence[str],
        profiles: Sequence[str],
        *,
        dependencies: bool,
        generate: bool = False,
    ) -> Workspace:
        """The workspace for ``up SERVICE...``: a service in a profile that is not active has
        its profiles added, as compose does for a service named on its command line; the plan
        is those services and (unless ``--no-deps``) what they depend on."""
        from dataclasses import replace
        from difflib import get_close_matches

        from bootstrap.errors import NotFoundError
        from bootstrap.plan import targeted

        known = list(workspace.stack.services)
        for name in names:
            if name not in workspace.stack.services:
                close = get_close_matches(name, known, n=1)
                raise NotFoundError(
                    f"no such service: {name}",
                    location="up SERVICE",
                    hint=(f"did you mean {close[0]!r}? " if close else "")
                    + f"services: {', '.join(known)}",
                )
        extra = [
            p
            for n in names
            if n not in workspace.plan.services
            for p in workspace.stack.services[n].profiles
        ]
        if extra:
            workspace = self.workspace([*profiles, *extra], generate=generate)
        return replace(workspace, plan=targeted(workspace.plan, names, dependencies=dependencies))


def announce_generated(directory: Path, store: str, names: Sequence[str]) -> None:
    """Say which secrets were generated, and whether git ignores where they went."""
    from bootstrap.workspace import git_ignores

    ignored = git_ignores(directory, f"{store}/{names[0]}")
    note = {
        True: "git-ignored",
        False: f"NOT git-ignored: add {store}/ to .gitignore (`bootstrap init` does)",
        None: "keep it out of version control",
    }[ignored]
    for name in names:
        say(
            f"generated secret {name} in {store}/ ({note})",
            fg="yellow" if ignored is False else None,
        )


def colour_enabled(stream: Any = None) -> bool:
    stream = stream or sys.stderr
    if os.environ.get("NO_COLOR"):
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


# What a terminal would act on instead of showing: the C0 controls but a newline and a tab
# (ESC starts a cursor move, a window title, OSC 52's clipboard write; CR overwrites a line),
# DEL, the C1 controls (U+009B is a CSI of its own on some terminals) and Unicode's
# bidirectional overrides (text shown in another order than it reads).
_UNSHOWABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """Text that came from a file, the engine or a container, safe to print on a terminal:
    each control character is shown as its escape (ESC as ``\\x1b``), as compose's YAML shows
    it, so a cloned repository's labels, values or run records cannot act on the terminal."""
    return escape_controls(text.replace("\r\n", "\n") if "\r\n" in text else text)


def escape_controls(text: str) -> str:
    """Each control character of the text as its escape, nothing else changed."""
    return _UNSHOWABLE.sub(_escaped, text) if _UNSHOWABLE.search(text) else text


def _escaped(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def show(text: str, *, err: bool = False, nl: bool = True, fg: str | None = None) -> None:
    """Every line the commands print passes here: made printable first, then coloured (only
    on a TTY without NO_COLOR), so bootstrap's own colours are the only escapes it writes."""
    text = printable(text)
    if fg and colour_enabled(sys.stderr if err else sys.stdout):
        text = click.style(text, fg=fg)
    click.echo(text, err=err, nl=nl)


def say(message: str, *, fg: str | None = None, redact: Callable[[str], str] = lambda s: s) -> None:
    """A human message: always to stderr, coloured only on a TTY without NO_COLOR."""
    show(redact(message), err=True, fg=fg)


def emit_json(
    document: object, redact: Callable[[str], str] = lambda s: s, *, indent: int | None = 2
) -> None:
    """A JSON document on stdout, masked value by value so it stays valid JSON."""
    from bootstrap.envlayers import redact_document

    masked = redact_document(json.loads(json.dumps(document, default=str)), redact)
    show(json.dumps(masked, indent=indent, sort_keys=False))  # ASCII: controls as \u escapes


def render_error(error: BootstrapError, redact: Callable[[str], str]) -> None:
    """Every error of the run: one, or each of several found in one pass."""
    from bootstrap.errors import ConfigErrors

    for each in error.errors if isinstance(error, ConfigErrors) else [error]:
        say(f"error: {each}", fg="red", redact=redact)
        if each.hint:
            say(f"  fix: {each.hint}", redact=redact)
    if isinstance(error, ConfigErrors):
        say(f"{len(error.errors)} errors; nothing was started", fg="red", redact=redact)


TERMINATION = threading.Event()  # SIGTERM seen: every command's loops notice it and stop


def _terminate(_signum: int, _frame: object) -> None:
    """SIGTERM only sets the flag; the command's own loops (the lock's wait, the phases of
    `down`, `status --watch`, `logs -f`) notice it at their next step and stop there."""
    TERMINATION.set()


def terminating() -> bool:
    return TERMINATION.is_set()


class SignalFlag:
    """Inside ``with``: SIGINT and SIGTERM only set ``event``; the loops that already wake
    every 0.2 s notice it and wind down, and the main thread exits with the code. A handler
    that raises into code holding a lock (a queue, a condition) is a race; this one cannot."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> SignalFlag:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._set)
        return self

    def __exit__(self, *_exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _set(self, signum: int, _frame: object) -> None:
        if self.signum is None:
            self.signum = signum
        if signum == signal.SIGTERM:
            TERMINATION.set()
        self.event.set()

    @property
    def exit_code(self) -> int:
        term = self.signum == signal.SIGTERM
        return int(ExitCode.TERMINATED if term else ExitCode.INTERRUPTED)


def run_cli(group: click.Group) -> None:
    """Run the group; map library errors and signals to documented exit codes."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        result = group.main(standalone_mode=False)
        code = result if isinstance(result, int) else 0
        if TERMINATION.is_set() and code == 0:
            say("terminated: stopped at the next safe step", fg="yellow")
            code = ExitCode.TERMINATED
    except BootstrapError as exc:
        render_error(exc, _current_redact())
        code = int(exc.exit_code)
    except click.exceptions.Abort:
        say("aborted")
        code = ExitCode.INTERRUPTED
    except KeyboardInterrupt:
        say("interrupted")
        code = ExitCode.INTERRUPTED
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        exc.show()
        code = ExitCode.BAD_INPUT
    except OSError as exc:  # a file or socket the user can fix: say which, no traceback
        where = f"{exc.filename}: " if exc.filename else ""
        say(f"error: {where}{exc.strerror or exc}", fg="red", redact=_current_redact())
        say("  fix: check that path's permissions and that it exists", redact=_current_redact())
        code = ExitCode.FAILED
    sys.exit(code)


_REDACT: list[Callable[[str], str]] = []


def remember_redactor(redact: Callable[[str], str]) -> None:
    _REDACT.clear()
    _REDACT.append(redact)


def _current_redact() -> Callable[[str], str]:
    return _REDACT[0] if _REDACT else (lambda s: s)
