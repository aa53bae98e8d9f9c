"""Where bootstrap runs and how it reaches services from there."""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from concurrent.futures import Future

# A service's name is Docker's embedded DNS's answer (about a millisecond) on a network shared
# with it; elsewhere the question goes to the machine's resolvers, which may take seconds to
# say no (a lost UDP answer: glibc asks again after 5 s). So an answer is waited for this long
# (a name not answered by then is not resolvable now; callers ask again a second later), and
# kept for a second, for every thread that asks.
ANSWER_WITHIN = 0.5
KEPT_FOR = 1.0

_lock = threading.Lock()
_known: dict[str, tuple[float, bool]] = {}  # name -> (when answered, resolvable)
_asking: dict[str, Future[bool]] = {}  # name -> the lookup under way


def in_container() -> bool:
    return os.path.exists("/.dockerenv") or os.environ.get("BOOTSTRAP_IN_NETWORK") == "1"


def resolvable(name: str) -> bool:
    """Whether ``name`` resolves from here: the last answer of the past second, else one
    lookup (shared by every thread asking for the name), waited for ``ANSWER_WITHIN``."""
    with _lock:
        known = _known.get(name)
        if known is not None and time.monotonic() - known[0] < KEPT_FOR:
            return known[1]
        asking = _asking.get(name)
        if asking is None:
            from concurrent.futures import Future  # here: every command imports this module

            asking = _asking[name] = Future()
            threading.Thread(target=_look_up, args=(name, asking), daemon=True).start()
    from concurrent.futures import TimeoutError as Pending

    try:
        return asking.result(timeout=ANSWER_WITHIN)
    except Pending:
        return False


def _look_up(name: str, answer: Future[bool]) -> None:
    import socket  # here: every command imports this module before compose is asked

    try:
        socket.getaddrinfo(name, None)
    except OSError:
        found = False
    else:
        found = True
    with _lock:
        _known[name] = (time.monotonic(), found)
        _asking.pop(name, None)
    answer.set_result(found)
