"""The `bootstrap` command's entry point: compose is asked first, click and the commands after.

A command that reads the model (``plan``, ``validate``, ``env``, ``up``, ``down``, ``status``,
``ps``) spends most of its time in compose's `config`. Here, before click and the command's
modules are imported, the command line's workspace is prepared (``workspace.prepare_early``:
its folder, files and environment; nothing written) and compose's `config` spawned for it
(``composecli.spawn_early``); the command, parsed by click as ever, takes that process where it
asks compose the same question with the same environment, and kills it otherwise. The guess
below reads only the options that name the workspace; whatever it gets wrong costs a process,
never an answer: what is taken is exactly what the command would have run itself.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from bootstrap.workspace import Prepared

# The commands whose first question is compose's `config` of the workspace.
READS_MODEL_FIRST = frozenset({"plan", "validate", "env", "up", "down", "status"})
# Of these, the ones that load every profile's services (as `compose ps` shows them).
EVERY_PROFILE = frozenset({"down", "status"})
# The options that name the workspace (before the command; after it, -C is not one).
_NAMING = {
    "-C": "directory",
    "--project-directory": "directory",
    "-f": "files",
    "--file": "files",
    "-p": "project",
    "--project-name": "project",
    "--env-file": "env_files",
    "--profile": "profiles",
    "--backend": "",
}
_STOP = frozenset({"-h", "--help", "--version", "--context"})


class Named(NamedTuple):
    """The workspace a command line names, as click will hand it to the command."""

    directory: str
    files: tuple[str, ...]
    project: str | None
    env_files: tuple[str, ...]
    profiles: tuple[str, ...] = ()  # as the command merges them (``*``: every profile)
    command: str = ""


def guess(argv: Sequence[str]) -> Named | None:
    """The workspace inputs ``argv`` names (directory, files, project, env_files), or None
    where the command does not read the model first or the line is not plain."""
    found: dict[str, list[str]] = {
        "directory": [],
        "files": [],
        "project": [],
        "env_files": [],
        "profiles": [],
    }
    command = ""
    words = list(argv)
    while words:
        word = words.pop(0)
        if word == "--":
            break
        if word in _STOP or word.startswith("--context="):
            return None
        name, value = _option(word, words, after=bool(command))
        if name is None:
            if word.startswith("-"):
                if not command:
                    return None  # an option before the command that is not ours
                continue  # the command's own (its value, if any, is skipped as a word)
            if not command:
                command = word
                if command not in READS_MODEL_FIRST:
                    return None
            continue
        if value is None:
            return None
        if name:
            found[name].append(value)
    if not command:
        return None
    return Named(
        found["directory"][-1] if found["directory"] else ".",
        tuple(found["files"]),
        found["project"][-1] if found["project"] else None,
        tuple(found["env_files"]),
        ("*",)
        if "*" in found["profiles"] or command in EVERY_PROFILE
        else tuple(dict.fromkeys(found["profiles"])),
        command,
    )


def _option(word: str, rest: list[str], *, after: bool) -> tuple[str | None, str | None]:
    """(the input it names, its value) for a naming option, else (None, None)."""
    flag, equals, attached = word.partition("=")
    if not equals and word[:2] in {"-C", "-f", "-p"} and len(word) > 2:
        flag, attached, equals = word[:2], word[2:], "="
    if flag not in _NAMING or (after and flag == "-C"):
        return None, None
    if equals:
        return _NAMING[flag], attached
    return _NAMING[flag], rest.pop(0) if rest else None


def ask_compose_early(argv: Sequence[str]) -> None:
    """Spawn compose's `config` for the workspace ``argv`` names, where it is plain to read.
    Any failure here is left for the command to meet and report."""
    named = guess(argv)
    if named is None or os.environ.get("DOCKER_CONTEXT"):
        return
    from pathlib import Path

    from bootstrap.backends.composecli import spawn_early
    from bootstrap.errors import BootstrapError
    from bootstrap.workspace import prepare_early

    try:
        ready = prepare_early(
            Path(named.directory),
            files=named.files,
            project=named.project,
            env_files=named.env_files,
        )
        spawn_early(ready.project)
        if named.command == "up" and ready.named is not None:
            _hashes_early(ready, named.profiles)
    except (BootstrapError, OSError, ValueError):
        return


def _hashes_early(ready: Prepared, profiles: tuple[str, ...]) -> None:
    """Where the project has containers (a re-run), ask compose for its config hashes too:
    `up` compares them with the containers' to tell a re-run with nothing to change."""
    from dataclasses import replace

    from bootstrap.backends.composecli import hashes_kept_for, spawn_hashes_early
    from bootstrap.backends.engineapi import SocketAPI, socket_path
    from bootstrap.workspace import active_profiles

    path = socket_path(os.environ.get("DOCKER_HOST", ""))
    if path is None or ready.named is None:
        return
    label = f"com.docker.compose.project={ready.named.name}"
    # unversioned (the engine's own API version): no negotiation for one question
    if not SocketAPI(path, 1.0, "").containers(all=True, filters={"label": [label]}):
        return
    selected, _flags = active_profiles(profiles, os.environ, ready.environment.dotenv)
    project = replace(ready.project, profiles=selected)
    if not hashes_kept_for(project):  # kept: taken once the model is read, if it is the same
        spawn_hashes_early(project)


def defer_dataclass_methods() -> bool:
    """Compile a dataclass's generated methods (``__init__``, ``__repr__``, ``__eq__``...)
    when each is first called, not when the class is made. Python 3.11 and 3.12 compile
    five or six small functions for every ``@dataclass``, one ``exec`` each: 55 classes on
    `plan`'s way, about 15 ms of a 0.12 s command, mostly for methods it never calls (3.13
    compiles a class's methods at once; there this does nothing). The text compiled is
    dataclasses' own, unchanged; the first call of a method puts the compiled one on its
    class. Only the console script does this (a library user's process is left as it is).
    Returns whether it did."""
    import dataclasses
    import inspect

    make = getattr(dataclasses, "_create_fn", None)
    if make is None or getattr(make, "deferred", False):
        return False
    expected = ["name", "args", "body", "globals", "locals", "return_type"]
    if list(inspect.signature(make).parameters) != expected:
        return False  # not the function this was written against

    def deferred(name: str, args: object, body: object, **options: Any) -> Any:
        if options.get("locals") is not None:
            options["locals"] = dict(options["locals"])  # as it is now (it may be reused)
        compiled: list[Any] = []

        def first_call(*arguments: Any, **keywords: Any) -> Any:
            if not compiled:
                real = make(name, args, body, **options)
                real.__qualname__ = first_call.__qualname__  # dataclasses sets it after
                compiled.append(real)
            real = compiled[0]
            if arguments:  # the method's class holds the compiled one from now on
                for owner in type(arguments[0]).__mro__:
                    if owner.__dict__.get(name) is first_call:
                        setattr(owner, name, real)
            return real(*arguments, **keywords)

        first_call.__name__ = name
        return first_call

    deferred.deferred = True  # type: ignore[attr-defined]
    dataclasses._create_fn = deferred  # type: ignore[attr-defined]
    return True


def main() -> None:
    if sys.argv[1:] and not _STOP.intersection(sys.argv[1:]):  # help imports no dataclass
        defer_dataclass_methods()
    ask_compose_early(sys.argv[1:])
    from bootstrap.cli import main as run

    try:
        run()
    except SystemExit as done:
        leave(done.code)
        raise


def leave(code: object) -> None:
    """End the process with ``code`` once the command is done: the exit handlers run and the
    output is flushed, then the process ends without the interpreter's teardown of every
    module (about 20 ms of a 0.15 s command, measured). Returns (for the ordinary exit)
    where a thread that is not a daemon still runs, or the output cannot be flushed."""
    import atexit
    import contextlib
    import threading

    if not isinstance(code, int) or any(
        not t.daemon for t in threading.enumerate() if t is not threading.main_thread()
    ):
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe: Python's own exit says so
        return
    atexit._run_exitfuncs()
    with contextlib.suppress(OSError, ValueError):  # what a handler wrote
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)
