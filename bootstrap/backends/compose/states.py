"""What a container's state (as the engine says it) means to bootstrap, in one place. Pure."""

from __future__ import annotations

from bootstrap.runtime import State

RUNNING = State.RUNNING
# a container the engine keeps up: stop it at down
UP = frozenset({State.RUNNING, State.RESTARTING})


def started(state: str) -> bool:
    """Running now: nothing to start."""
    return state == RUNNING


def up(state: str) -> bool:
    """Running, or restarting under its policy: what down stops."""
    return state in UP
