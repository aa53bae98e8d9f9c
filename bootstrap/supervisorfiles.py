"""What a supervisor leaves in the workspace for ``status`` and ``trace``: the file that says
it runs (its pid) and the log of its actions; read here without importing the supervisor
(``bootstrap.supervise``: about 3 ms of every ``status``)."""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bootstrap.paths import state_dir


def supervision_log(directory: Path) -> Path:
    """Where a workspace's supervision actions are kept."""
    return state_dir(directory) / "supervision.jsonl"


def supervisor_file(directory: Path) -> Path:
    """Written while a supervisor runs for the workspace (its pid), removed when it stops."""
    return state_dir(directory) / "supervisor.json"


@contextlib.contextmanager
def announced(directory: Path, project: str, *, in_stack: bool = False) -> Iterator[None]:
    """Say, for ``status``, that this process supervises ``project`` (while inside); one in
    the stack names its container (its pid means nothing outside it)."""
    import os
    import socket

    path = supervisor_file(directory)
    said: dict[str, object] = {"pid": os.getpid(), "project": project, "since": time.time()}
    if in_stack:
        said["container"] = socket.gethostname()
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(said), encoding="utf-8")
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()


def running_supervisor(directory: Path) -> dict[str, object] | None:
    """The supervisor that says it runs for this workspace, if its process is alive here."""
    import os

    try:
        data = json.loads(supervisor_file(directory).read_text(encoding="utf-8"))
        pid = int(data["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if data.get("container"):  # the stack's own: the caller asks the engine about it
        return dict(data)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, another user's
    return dict(data)


def logged_actions(
    path: Path, *, since: float = 0.0, until: float | None = None, limit: int | None = None
) -> list[dict[str, object]]:
    """The actions the supervisor logged between ``since`` and ``until`` (read-only)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    found: list[dict[str, object]] = []
    for line in lines:
        entry = _logged_action(line)
        if entry is not None and entry["at"] >= since and (until is None or entry["at"] < until):
            found.append(entry)
    return found[-limit:] if limit else found


def _logged_action(line: str) -> dict[str, Any] | None:
    """One line of the log as the supervisor writes it, or None (a damaged or foreign line:
    the log is a file of the workspace, read as data only)."""
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    if not isinstance(entry, dict) or not all(
        isinstance(entry.get(key), str) for key in ("service", "kind", "reason")
    ):
        return None
    at = entry.get("at")
    if isinstance(at, bool) or not isinstance(at, (int, float)) or not math.isfinite(at):
        return None
    return entry
