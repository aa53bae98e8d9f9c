"""What a container's state (as the engine says it) means to bootstrap, in one place. Pure."""

from __future__ import annotations

RUNNING = "running"
UP = frozenset({RUNNING, "restarting"})  # a container the engine keeps up: stop it at down


def started(state: str) -> bool:
    """Running now: nothing to start."""
    return state == RUNNING


def up(state: str) -> bool:
    """Running, or restarting under its policy: what down stops."""
    return state in UP
