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
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bootstrap.errors import ConfigError
from bootstrap.paths import state_dir
from bootstrap.privatefile import write_private
from bootstrap.runtime import ComposeProject

SUPERVISOR_ROLE = "supervisor"


def frozen_path(directory: Path) -> Path:
    return state_dir(directory) / "supervisor" / "model.json"


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
    return write_private(path, text)


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
        self.last_document: dict[str, Any] | None = frozen.config

    def config(self, project: ComposeProject) -> dict[str, Any]:
        return self.frozen.config

    def redact_with(self, redact: Callable[[str], str]) -> None:
        pass  # nothing runs, nothing to mask


# --- what ``up`` gated ----------------------------------------------------------------------
#
# A supervisor that starts after ``up`` (the stack's own, started by that very ``up`` in its
# last phase; or ``bootstrap supervise`` in a terminal) first checks that every running
# service started after what it needs was ready. It cannot see when ``up`` saw a dependency
# ready: the stack's own has no exec, so a dependency with a healthcheck looks ready only at
# the engine's first check, which comes after bootstrap's own run of it; the dependents ``up``
# started in between would look out of order and be restarted for nothing. So the driver
# notes each container it started and then gated, with the moment its probe passed; the
# converge takes a container noted here (the same id, started at the same moment: not
# restarted since) as started in order and ready since then.


@dataclass(frozen=True)
class Gated:
    """One container a driver started after its dependencies were ready, then gated."""

    container: str  # the container's id
    started_at: str  # the engine's StartedAt, as it said it (a restart changes it)
    ready_at: float  # epoch seconds: when its probe passed
    detail: str = ""  # what the probe saw when it passed (`status` shows it)


def gated_path(directory: Path) -> Path:
    return state_dir(directory) / "supervisor" / "gated.json"


def read_gated(directory: Path, project: str) -> dict[str, tuple[Gated, ...]]:
    """Per service, the containers noted for ``project`` (none where nothing was noted)."""
    try:
        data = json.loads(gated_path(directory).read_text(encoding="utf-8"))
        if data.get("project") != project:
            return {}
        return {
            service: tuple(
                Gated(str(g[0]), str(g[1]), float(g[2]), str(g[3]) if len(g) > 3 else "")
                for g in entries
            )
            for service, entries in dict(data["services"]).items()
        }
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return {}


class GateNotes:
    """Notes what a driver started and gated into ``gated.json`` as it happens (a supervisor
    started meanwhile reads it); a workspace it cannot write to keeps no notes."""

    def __init__(self, directory: Path, project: str) -> None:
        self.directory = directory
        self.project = project
        self._lock = threading.Lock()

    def __call__(self, service: str, gated: Sequence[Gated]) -> None:
        with self._lock, contextlib.suppress(OSError):
            known = read_gated(self.directory, self.project)
            known[service] = tuple(gated)
            document = {
                "project": self.project,
                "services": {
                    name: [[g.container, g.started_at, g.ready_at, g.detail] for g in entries]
                    for name, entries in sorted(known.items())
                },
            }
            write_private(gated_path(self.directory), json.dumps(document, sort_keys=True))


def gated_since(
    noted: Mapping[str, tuple[Gated, ...]], service: str, container: str, started_at: str
) -> float | None:
    """When ``container`` of ``service`` was seen ready, where it was noted and has not been
    started again since; None where nothing says so."""
    found = noted_pass(noted, service, container, started_at)
    return None if found is None else found.ready_at


def noted_pass(
    noted: Mapping[str, tuple[Gated, ...]], service: str, container: str, started_at: str
) -> Gated | None:
    """The note of ``container``'s pass, where it was noted and has not been started again
    since."""
    for gated in noted.get(service, ()):
        if gated.container == container and gated.started_at == started_at:
            return gated
    return None
