"""What the protocol probes share: reaching the port, one bounded exchange on a socket, the
observation when the port cannot be reached from here. Standard library only."""

from __future__ import annotations

import socket
from collections.abc import Callable

from bootstrap.outcome import Observation
from bootstrap.probes.core import Target

TIMEOUT = 2.0


def unreachable(target: Target, port: int, name: str) -> Observation:
    """The port is neither published on 127.0.0.1 nor reachable by name from here."""
    return Observation(
        False,
        f"{name}: port {port} of {target.service} is not reachable from here: publish it on "
        "127.0.0.1, or let bootstrap probe from the stack's network (a dev container, "
        "--join-network)",
    )


def exchange(
    endpoint: tuple[str, int],
    send: bytes,
    done: Callable[[bytes], bool],
    *,
    timeout: float = TIMEOUT,
    limit: int = 65536,
) -> bytes:
    """Connect, send ``send`` (nothing if empty), read until ``done(received)`` or the peer
    closes; what was received. Raises ``OSError`` (refused, reset, timed out)."""
    with socket.create_connection(endpoint, timeout=timeout) as sock:
        sock.settimeout(timeout)
        if send:
            sock.sendall(send)
        data = b""
        while not done(data) and len(data) < limit:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        return data


def failed(name: str, endpoint: tuple[str, int], exc: OSError) -> Observation:
    return Observation(False, f"{name} {endpoint[0]}:{endpoint[1]}: {exc.strerror or exc}")


class NotThisProtocol(Exception):
    """The peer answered, but not in the protocol asked."""


def not_this(name: str, what: str, data: bytes) -> Observation:
    """A server answered, but not as a ``what`` would: it is something else."""
    shown = data[:40].decode("latin-1").encode("unicode_escape").decode("ascii")
    return Observation(
        False, f"{name}: not a {what}: it answered {len(data)} bytes ({shown!r})", foreign=True
    )


def looks_like_http(data: bytes) -> bool:
    return data.startswith((b"HTTP/", b"<!DOCTYPE", b"<html", b"<HTML"))
