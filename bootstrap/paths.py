"""Where bootstrap keeps what it writes, in one place: a workspace's ``.bootstrap/`` folder
(run records, the supervisor's files, the lock, Swarm's stack files) and the user's state
folder (what belongs to the machine, not a workspace: the package caches handed over, locks
of read-only workspaces, the compose binary's version)."""

from __future__ import annotations

import os
from pathlib import Path

STATE_FOLDER = ".bootstrap"


def state_dir(workspace: Path) -> Path:
    """A workspace's own ``.bootstrap/``."""
    return workspace / STATE_FOLDER


def state_home() -> Path:
    """The user's state folder for bootstrap (``$XDG_STATE_HOME/bootstrap``, else
    ``~/.local/state/bootstrap``); read when called, never at import."""
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "bootstrap"
