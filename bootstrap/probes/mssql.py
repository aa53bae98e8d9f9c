"""``mssql`` (SQL Server, Azure SQL Edge): TDS ``PRELOGIN`` answered; where a password is
known (``MSSQL_SA_PASSWORD``/``SA_PASSWORD``) and the server does not require encryption, a
``LOGIN7`` as ``sa`` answered ``LOGINACK`` (an ``ERROR`` token says why not). MS-TDS 2.2.6.4
and 2.2.6.5; standard library only, so no TLS: a server that requires encryption is reported
ready once its pre-login answers."""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bootstrap.outcome import Observation
from bootstrap.probes.core import Probe, Target
from bootstrap.probes.netio import TIMEOUT, failed, unreachable
from bootstrap.probes.registry import ProbeKind, register, server_port
from bootstrap.probes.spec import PORT, TEXT, ParamValue, ProbeSpec

DEFAULT_PORT = 1433
PRELOGIN, LOGIN7, TABULAR = 0x12, 0x10, 0x04
ENCRYPT_NOT_SUP, ENCRYPT_REQ = 0x02, 0x03
LOGINACK, ERROR, INFO, ENVCHANGE, DONE = 0xAD, 0xAA, 0xAB, 0xE3, 0xFD


class TdsError(Exception):
    pass


def packet(kind: int, payload: bytes) -> bytes:
    return struct.pack(">BBHHBB", kind, 0x01, 8 + len(payload), 0, 1, 0) + payload


def prelogin_payload() -> bytes:
    data = [
        (0x00, b"\x0f\x00\x07\xd0\x00\x00"),  # VERSION
        (0x01, bytes([ENCRYPT_NOT_SUP])),  # ENCRYPTION
        (0x02, b"\x00"),  # INSTOPT
        (0x03, struct.pack(">I", os.getpid() & 0xFFFFFFFF)),  # THREADID
        (0x04, b"\x00"),  # MARS
    ]
    offset = 5 * len(data) + 1
    head, body = b"", b""
    for token, value in data:
        head += struct.pack(">BHH", token, offset + len(body), len(value))
        body += value
    return head + b"\xff" + body


def prelogin_options(payload: bytes) -> dict[int, bytes]:
    options, at = {}, 0
    while at < len(payload) and payload[at] != 0xFF:
        token, offset, length = struct.unpack(">BHH", payload[at : at + 5])
        options[token] = payload[offset : offset + length]
        at += 5
    return options


def obfuscate(password: str) -> bytes:
    """LOGIN7's password scrambling: every byte's nibbles swapped, then XOR 0xA5."""
    return bytes((((b << 4) & 0xF0) | (b >> 4)) ^ 0xA5 for b in password.encode("utf-16-le"))


def login7_payload(user: str, password: str, database: str) -> bytes:
    values = [
        socket.gethostname()[:128].encode("utf-16-le"),  # host name
        user.encode("utf-16-le"),
        obfuscate(password),
        "bootstrap-probe".encode("utf-16-le"),  # app name
        b"",  # server name
        b"",  # extension
        "bootstrap".encode("utf-16-le"),  # client interface name
        b"",  # language
        database.encode("utf-16-le"),
    ]
    fixed = 94
    offsets, data = b"", b""
    for value in values:
        offsets += struct.pack("<HH", fixed + len(data), len(value) // 2)
        data += value
    tail = b"\x00" * 6 + struct.pack("<HH", fixed + len(data), 0) * 3 + struct.pack("<I", 0)
    head = struct.pack(
        "<IIIIII BBBB II",
        fixed + len(data),
        0x74000004,  # TDS 7.4
        4096,
        0,
        os.getpid() & 0xFFFFFFFF,
        0,
        0xE0,
        0x03,
        0x00,
        0x00,
        0,
        0x0409,
    )
    return head + offsets + tail + data


def _receive(sock: socket.socket) -> tuple[int, bytes]:
    """One whole message (its packets up to end-of-message)."""
    kind, payload = 0, b""
    while True:
        head = _exactly(sock, 8)
        kind, status, length = struct.unpack(">BBH", head[:4])
        payload += _exactly(sock, length - 8)
        if status & 0x01:
            return kind, payload


def _exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise TdsError("the server closed the connection")
        data += chunk
    return data


def login_outcome(tokens: bytes) -> tuple[bool, str]:
    """(logged in, what the token stream said)."""
    at, said = 0, ""
    while at < len(tokens):
        token = tokens[at]
        if token in (LOGINACK, ERROR, INFO, ENVCHANGE, 0xA9):
            length = struct.unpack("<H", tokens[at + 1 : at + 3])[0]
            body = tokens[at + 3 : at + 3 + length]
            if token == LOGINACK:
                return True, "LOGINACK"
            if token == ERROR:
                number = struct.unpack("<I", body[:4])[0]
                chars = struct.unpack("<H", body[6:8])[0]
                text = body[8 : 8 + 2 * chars].decode("utf-16-le", "replace")
                said = f"error {number}: {text}"
            at += 3 + length
        elif token in (DONE, 0xFE, 0xFF):
            at += 13
        else:
            break
    return False, said or "no LOGINACK"


def handshake(endpoint: tuple[str, int], user: str, password: str, database: str) -> str:
    with socket.create_connection(endpoint, timeout=TIMEOUT) as sock:
        sock.settimeout(TIMEOUT)
        sock.sendall(packet(PRELOGIN, prelogin_payload()))
        kind, payload = _receive(sock)
        if kind != TABULAR:
            raise TdsError(f"unexpected answer to PRELOGIN (type 0x{kind:02x})")
        encryption = prelogin_options(payload).get(0x01, b"\x00")[:1]
        if not password:
            return "PRELOGIN answered"
        if encryption == bytes([ENCRYPT_REQ]):
            return "PRELOGIN answered (the server requires encryption: login not attempted)"
        sock.sendall(packet(LOGIN7, login7_payload(user, password, database)))
        _kind, tokens = _receive(sock)
        ok, said = login_outcome(tokens)
        if not ok:
            raise TdsError(f"login as {user!r} refused: {said}")
        return f"PRELOGIN answered, logged in as {user!r}"


@dataclass(frozen=True)
class MssqlProbe:
    port: int
    user: str = "sa"
    password: str = field(repr=False, default="")
    database: str = ""
    kind: str = "mssql"

    def check(self, target: Target) -> Observation:
        endpoint = target.endpoint(self.port)
        if endpoint is None:
            return unreachable(target, self.port, "mssql")
        try:
            reached = handshake(endpoint, self.user, self.password, self.database)
        except TdsError as exc:
            return Observation(False, f"mssql: {exc}")
        except OSError as exc:
            return failed("mssql", endpoint, exc)
        return Observation(True, f"TDS: {reached} at {endpoint[0]}:{endpoint[1]}")


def derive(env: Mapping[str, str], _command: Sequence[str]) -> dict[str, ParamValue]:
    password = env.get("MSSQL_SA_PASSWORD") or env.get("SA_PASSWORD") or ""
    return {"user": "sa", "password": password} if password else {}


def _build(spec: ProbeSpec, exposed: Sequence[int]) -> Probe:
    return MssqlProbe(
        server_port(spec, exposed, DEFAULT_PORT),
        spec.text("user", "sa"),
        spec.text("password"),
        spec.text("database"),
    )


register(
    ProbeKind(
        "mssql",
        {"port": PORT, "user": TEXT, "database": TEXT},
        _build,
        signal="TDS `PRELOGIN` answered; with the SA password, `LOGIN7` answered `LOGINACK`",
        tested="handshake peer",
        images=frozenset({"mssql", "sqlserver", "azure-sql-edge", "mssql-server"}),
        derive=derive,
        phase="databases",
    )
)
