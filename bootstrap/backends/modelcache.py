"""Compose's answer to `config`, kept for the same question: the same compose binary, the same
arguments and environment, and the same bytes in every file compose reads for it.

Every command that reads the model starts with compose's `config` (50-90 ms, a process that
reads and interpolates the files); a re-run with nothing changed takes the answer kept from
the last one. What `config` prints is a function of its inputs; the question's digest is taken
over all of them, and where this module cannot name every file compose would read, it keeps
nothing and compose is asked, as ever:

- the compose files, and the ``env_file`` and ``label_file`` entries of their services (plain
  paths; one with a variable in it, a YAML this module's outline cannot read, a mention it
  cannot place, or one in a file of another folder than the project's makes the question one
  it does not keep);
- the ``--env-file`` files (the workspace's ``.env`` layers);
- of the environment, the variables those files name anywhere, and compose's own
  (``COMPOSE_*``, ``DOCKER_*``, ``BUILDKIT_*``, ``BUILDX_*``, ``HOME``);
- no ``include`` or ``extends`` (they read other files, and the ``.env`` of another folder),
  no ``COMPOSE_ENV_FILES`` (files named by the environment), no secret store (its values are
  not copied into a file of the user's that outlives the run), no compose file left for
  compose to find.

Kept in the user's state folder (never the workspace's: a clone cannot hand a model to a
command), mode 0600, the ``KEPT`` written or used by ``up`` last; an answer is the model
compose printed and its warnings, nothing compose refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bootstrap.digest import digest as new_digest
from bootstrap.runtime import ComposeProject

FOLDER = "models"  # in the user's state folder
KEPT = 16
LARGEST = 4 << 20  # bytes of a model kept; a larger one is asked each time
_REFERENCES = ("env_file", "label_file")
_READS_OTHERS = re.compile(r"^[ \t-]*[\"']?(include|extends)[\"']?[ \t]*:", re.MULTILINE)


def question(project: ComposeProject, args: list[str], binary: object) -> str | None:
    """The digest of everything compose's `config` with ``args`` answers from, or None where
    this module cannot name it all (compose is asked)."""
    if binary is None or project.secret_env_files or "COMPOSE_ENV_FILES" in project.env:
        return None
    if not project.files:  # compose would look for them itself, in parent folders too
        return None
    base = project.project_directory
    read: list[tuple[str, bytes | None]] = []
    for name in project.files:
        path = project.directory / name
        text = _text(path)
        if text is None:
            return None  # compose says what is wrong with it
        read.append((str(path), text.encode()))
        references = _references(text)
        if references is None or (references and path.parent.resolve() != base.resolve()):
            return None  # a file of another folder: whose folder its paths are relative to
        read += [(str(base / r), _bytes(base / r)) for r in references]
    read += [(e, _bytes(Path(e))) for e in project.env_files]
    if not project.env_files:  # compose reads the project directory's own then
        read.append((str(base / ".env"), _bytes(base / ".env")))
    digest = new_digest(json.dumps([binary, args, _environment(project.env, read)]).encode())
    for where, data in read:
        digest.update(f"\0{where}\0{'-' if data is None else len(data)}\0".encode())
        digest.update(data or b"")
    return digest.hexdigest()


# What compose reads of its environment beyond the variables a file names: its own settings,
# the engine's and builder's (a default platform), and HOME (``~`` in a path).
_IMPLICIT_PREFIXES = ("COMPOSE_", "DOCKER_", "BUILDKIT_", "BUILDX_")
_IMPLICIT = frozenset({"HOME"})
_WORD = re.compile(rb"[A-Za-z0-9_]+")


def _environment(env: Mapping[str, str], read: list[tuple[str, bytes | None]]) -> list[Any]:
    """The variables compose can read: those a file read names anywhere in its bytes, as a
    whole word (or, for a name of other characters, anywhere): a superset of what
    interpolation, ``environment: [NAME]`` and an env file's ``NAME`` take; and the implicit
    ones. A variable no file names (a terminal's own, the shell's ``_``)
    cannot change the model, so it does not change the question."""
    named = b"\0".join(data for _path, data in read if data)
    words = frozenset(_WORD.findall(named))
    return sorted(
        (name, value)
        for name, value in env.items()
        if name.startswith(_IMPLICIT_PREFIXES)
        or name in _IMPLICIT
        or (name.encode() in words if _WORD.fullmatch(name.encode()) else name.encode() in named)
    )


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None  # compose's answer without it (an optional env_file) is an answer too
    except OSError:
        return b"\0unreadable"


def _references(text: str) -> list[str] | None:
    """The plain paths of the services' ``env_file`` and ``label_file`` entries; None where
    the text reads other files (``include``, ``extends``) or a mention cannot be placed."""
    if _READS_OTHERS.search(text):
        return None
    mentions = sum(text.count(key) for key in _REFERENCES)
    if not mentions:
        return []
    from bootstrap.outline import Leaf, Map, Seq, Unsure, outline

    root = outline(text)
    if not isinstance(root, Map):
        return None
    found: list[str] = []
    placed = 0
    try:
        services = _get(root, "services")
        for _name, _line, service in services.pairs if isinstance(services, Map) else []:
            if not isinstance(service, Map):
                continue
            for key, _key_line, value in service.pairs:
                if key not in _REFERENCES:
                    continue
                placed += 1
                entries = value.items if isinstance(value, Seq) else [value]
                for entry in entries:
                    path = _get(entry, "path") if isinstance(entry, Map) else entry
                    if not isinstance(path, Leaf) or not path.text or "$" in path.text:
                        return None
                    found.append(path.text)
    except Unsure:
        return None
    return found if placed == mentions else None


def _get(node: Any, key: str) -> Any:
    return next((value for k, _line, value in node.pairs if k == key), None)


def _folder() -> Path:
    from bootstrap.paths import state_home

    return state_home() / FOLDER


def answer(asked: str | None) -> tuple[str, str] | None:
    """The model and warnings kept for the question ``asked``; None where none is."""
    if asked is None:
        return None
    try:
        kept = json.loads((_folder() / f"{asked}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(kept, dict):
        return None
    model, warnings = kept.get("model"), kept.get("warnings")
    if not isinstance(model, str) or not isinstance(warnings, str):
        return None
    return model, warnings


def used(asked: str) -> None:
    """Mark the answer kept for ``asked`` as used now (``up`` took it): the pruning keeps the
    newest written or used, so the answer a workspace's every run takes is not pushed out by
    sixteen others written once."""
    with contextlib.suppress(OSError):  # gone meanwhile, or a read-only home
        os.utime(_folder() / f"{asked}.json")


def keep(asked: str | None, model: str, warnings: str) -> None:
    """Keep compose's answer to ``asked``, and only the ``KEPT`` answers written or used
    last."""
    if asked is None or len(model) > LARGEST:
        return
    from bootstrap.privatefile import write_private

    folder = _folder()
    with contextlib.suppress(OSError):  # a read-only home: asked again next time
        write_private(folder / f"{asked}.json", json.dumps({"model": model, "warnings": warnings}))
        answers = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
        for old in answers[:-KEPT]:
            with contextlib.suppress(FileNotFoundError):  # another run's pruning took it
                os.unlink(old)
