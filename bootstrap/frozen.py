"""The model a stack's own supervisor reads: what compose said at the last ``up``.

A supervisor that runs as a service of the stack (``bootstrap.role: supervisor``) has no
compose CLI and no engine rights beyond its proxy's: ``up`` leaves it compose's normalised
model (every profile, interpolated), the active profiles and the project name in
``.bootstrap/supervisor/model.json`` (0600: the model holds the environment's values), and the
supervisor plans from that file as ``up`` planned from compose. A new ``up`` writes it again;
the supervisor notices and reloads.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bootstrap.errors import ConfigError
from bootstrap.runtime import ComposeProject

SUPERVISOR_ROLE = "supervisor"


def frozen_path(directory: Path) -> Path:
    return directory / ".bootstrap" / "supervisor" / "model.json"


def freeze(
    directory: Path,
    project: str,
    profiles: Sequence[str],
    files: Sequence[str],
    document: Mapping[str, Any],
) -> Path:
    """Write the model for the stack's supervisor, whole (a temporary file, then a rename), and
    only when it changed (the supervisor reloads on a change)."""
    path = frozen_path(directory)
    text = json.dumps(
        {"project": project, "profiles": list(profiles), "files": list(files), "config": document},
        sort_keys=True,
    )
    with contextlib.suppress(OSError):
        if path.read_text(encoding="utf-8") == text:
            return path
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    temporary.replace(path)
    return path


@dataclass(frozen=True)
class Frozen:
    project: str
    profiles: tuple[str, ...]
    config: dict[str, Any]
    stamp: int  # the file's mtime (ns): a new one means a new ``up``
    files: tuple[str, ...] = ()  # the compose files, as the workspace names them


def thaw(path: Path) -> Frozen:
    """The model ``up`` left; ConfigError naming the file and the fix when there is none."""
    try:
        stamp = path.stat().st_mtime_ns
        data = json.loads(path.read_text(encoding="utf-8"))
        return Frozen(
            str(data["project"]),
            tuple(data.get("profiles") or ()),
            dict(data["config"]),
            stamp,
            tuple(data.get("files") or ()),
        )
    except FileNotFoundError:
        raise ConfigError(
            "no model for the stack's supervisor yet",
            location=str(path),
            hint="run `bootstrap up` once in the workspace: it writes this file",
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"the supervisor's model cannot be read: {exc}",
            location=str(path),
            hint="run `bootstrap up` again: it writes this file whole",
        ) from None


def stamp_of(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


class FrozenModel:
    """A ``ModelLoader`` over a frozen model: what compose's ``config`` said at ``up``."""

    def __init__(self, frozen: Frozen) -> None:
        self.frozen = frozen
        self.warnings: tuple[str, ...] = ()

    def config(self, project: ComposeProject) -> dict[str, Any]:
        return self.frozen.config

    def redact_with(self, redact: Callable[[str], str]) -> None:
        pass  # nothing runs, nothing to mask
