"""A PostgreSQL client for one question: connect (trust, cleartext, MD5 or SCRAM-SHA-256),
ask a simple query, read the first value. Standard library only, so the same probe runs on
the host, in a dev container and in the Swarm probe helper (a bare Python image).

Protocol 3.0 (postgresql.org/docs/current/protocol-flow.html); SCRAM as RFC 5802/7677.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import socket
import struct
from dataclasses import dataclass

from bootstrap.probes.netio import NotThisProtocol

PROTOCOL = 196608  # 3.0


class PgError(Exception):
    """What the server said (``code`` is its SQLSTATE), or why the exchange broke."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    @property
    def starting(self) -> bool:
        """The server is up but not taking queries yet (starting, recovering, shutting)."""
        return self.code in ("57P03", "57P01", "08006") or "starting up" in self.message


MAX_MESSAGE = 16 * 1024 * 1024  # longer is no PostgreSQL message a probe gets: another server


@dataclass
class _Connection:
    sock: socket.socket

    def send(self, kind: bytes, body: bytes) -> None:
        self.sock.sendall(kind + struct.pack("!I", len(body) + 4) + body)

    def receive(self) -> tuple[bytes, bytes]:
        head = self._exactly(5)
        length = struct.unpack("!I", head[1:])[0]
        if not head[:1].isalpha() or not 4 <= length <= MAX_MESSAGE:
            shown = head.decode("latin-1").encode("unicode_escape").decode("ascii")
            raise NotPostgres(f"it answered {shown!r}, not a PostgreSQL message")
        return head[:1], self._exactly(length - 4)

    def _exactly(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise PgError("the server closed the connection")
            data += chunk
        return data


def _error(body: bytes) -> PgError:
    fields = {}
    for part in body.split(b"\x00"):
        if part:
            fields[part[:1].decode()] = part[1:].decode("utf-8", "replace")
    return PgError(fields.get("M", "error"), fields.get("C", ""))


def _scram(connection: _Connection, user: str, password: str, mechanisms: bytes) -> None:
    if b"SCRAM-SHA-256" not in mechanisms.split(b"\x00"):
        raise PgError(f"no supported SASL mechanism in {mechanisms!r}")
    nonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = f"n=,r={nonce}"  # the user name is the startup message's, as libpq sends it
    first = ("n,," + first_bare).encode()
    connection.send(b"p", b"SCRAM-SHA-256\x00" + struct.pack("!I", len(first)) + first)
    kind, body = connection.receive()
    if kind == b"E":
        raise _error(body)
    if struct.unpack("!I", body[:4])[0] != 11:  # AuthenticationSASLContinue
        raise PgError("unexpected SCRAM step")
    server_first = body[4:].decode()
    parts = dict(item.split("=", 1) for item in server_first.split(","))
    if not parts["r"].startswith(nonce):
        raise PgError("the server's SCRAM nonce does not extend ours")
    salted = hashlib.pbkdf2_hmac(
        "sha256", password.encode(), base64.b64decode(parts["s"]), int(parts["i"])
    )
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    stored = hashlib.sha256(client_key).digest()
    final_bare = f"c=biws,r={parts['r']}"
    message = f"{first_bare},{server_first},{final_bare}".encode()
    signature = hmac.digest(stored, message, "sha256")
    proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
    connection.send(b"p", f"{final_bare},p={base64.b64encode(proof).decode()}".encode())
    kind, body = connection.receive()
    if kind == b"E":
        raise _error(body)
    server_key = hmac.digest(salted, b"Server Key", "sha256")
    expected = base64.b64encode(hmac.digest(server_key, message, "sha256")).decode()
    if body[4:].decode().strip() != f"v={expected}":
        raise PgError("the server's SCRAM signature is wrong")


class NotPostgres(PgError, NotThisProtocol):
    """The server answered the startup message, not as PostgreSQL does."""


def _authenticate(connection: _Connection, user: str, password: str) -> None:
    while True:
        kind, body = connection.receive()
        if kind == b"E":
            raise _error(body)
        if kind != b"R":
            raise NotPostgres(f"it answered {kind!r}, not a PostgreSQL authentication message")
        code = struct.unpack("!I", body[:4])[0]
        if code == 0:
            return
        if code == 3:  # cleartext
            connection.send(b"p", password.encode() + b"\x00")
        elif code == 5:  # md5: md5(md5(password + user) + salt)
            inner = hashlib.md5(password.encode() + user.encode()).hexdigest()  # noqa: S324
            outer = hashlib.md5(inner.encode() + body[4:8]).hexdigest()  # noqa: S324
            connection.send(b"p", b"md5" + outer.encode() + b"\x00")
        elif code == 10:  # SASL
            _scram(connection, user, password, body[4:])
        elif code in (11, 12):
            continue
        else:
            raise PgError(f"authentication method {code} is not supported")


def query(
    host: str,
    port: int,
    *,
    user: str,
    password: str,
    database: str,
    sql: str,
    timeout: float = 2.0,
) -> str | None:
    """The first value of the first row ``sql`` returns (as text), None without a row.
    Raises ``PgError`` with the server's message (``starting`` while it starts), or
    ``OSError``."""
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.settimeout(timeout)
    connection = _Connection(sock)
    try:
        params = b"user\x00" + user.encode() + b"\x00database\x00" + database.encode()
        params += b"\x00application_name\x00bootstrap-probe\x00\x00"
        body = struct.pack("!I", PROTOCOL) + params
        sock.sendall(struct.pack("!I", len(body) + 4) + body)
        _authenticate(connection, user, password)
        while True:  # parameters, key data, then ReadyForQuery (or the database's error)
            kind, body = connection.receive()
            if kind == b"E":
                raise _error(body)
            if kind == b"Z":
                break
        connection.send(b"Q", sql.encode() + b"\x00")
        value: str | None = None
        seen_row = False
        error: PgError | None = None
        while True:
            kind, body = connection.receive()
            if kind == b"D" and not seen_row:
                seen_row = True
                columns = struct.unpack("!H", body[:2])[0]
                if columns:
                    size = struct.unpack("!i", body[2:6])[0]
                    value = None if size < 0 else body[6 : 6 + size].decode("utf-8", "replace")
            elif kind == b"E":
                error = _error(body)
            elif kind == b"Z":
                break
        if error is not None:
            raise error
        return value
    finally:
        with contextlib.suppress(OSError):
            connection.send(b"X", b"")
        sock.close()
