"""Where bootstrap runs and how it reaches services from there."""

from __future__ import annotations

import os


def in_container() -> bool:
    return os.path.exists("/.dockerenv") or os.environ.get("BOOTSTRAP_IN_NETWORK") == "1"


def resolvable(name: str) -> bool:
    import socket  # here: every command imports this module before compose is asked

    try:
        socket.getaddrinfo(name, None)
    except OSError:
        return False
    return True
