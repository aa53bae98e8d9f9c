"""A MySQL/MariaDB client for one question: the client/server protocol's handshake
(``mysql_native_password``, ``caching_sha2_password`` with its fast path, or its full path over
RSA, as MySQL 8 asks on a plain connection), one ``COM_QUERY``, the first value. Standard
library only, so the same probe runs on the host, in a dev container and in the Swarm helper.

dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_connection_phase.html
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import socket
import struct
from dataclasses import dataclass

CLIENT_LONG_PASSWORD = 0x1
CLIENT_CONNECT_WITH_DB = 0x8
CLIENT_PROTOCOL_41 = 0x200
CLIENT_TRANSACTIONS = 0x2000
CLIENT_SECURE_CONNECTION = 0x8000
CLIENT_PLUGIN_AUTH = 0x80000
UTF8MB4 = 45
NATIVE, CACHING_SHA2 = "mysql_native_password", "caching_sha2_password"


class MysqlError(Exception):
    """What the server said (``code``: its error number), or why the exchange broke."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass
class _Packets:
    sock: socket.socket
    sequence: int = 0

    def read(self) -> bytes:
        head = self._exactly(4)
        length = head[0] | head[1] << 8 | head[2] << 16
        self.sequence = (head[3] + 1) % 256
        return self._exactly(length)

    def write(self, payload: bytes) -> None:
        head = struct.pack("<I", len(payload))[:3] + bytes([self.sequence])
        self.sock.sendall(head + payload)
        self.sequence = (self.sequence + 1) % 256

    def _exactly(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise MysqlError("the server closed the connection")
            data += chunk
        return data


def _error(packet: bytes) -> MysqlError:
    code = struct.unpack("<H", packet[1:3])[0]
    message = packet[3:]
    if message[:1] == b"#":
        message = message[6:]  # '#' and the five-character SQL state
    return MysqlError(message.decode("utf-8", "replace"), code)


def _xor(left: bytes, right: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(left, right, strict=False))


def scramble(plugin: str, password: str, nonce: bytes) -> bytes:
    """The auth response of ``plugin`` for ``password`` and the server's 20-byte ``nonce``."""
    if not password:
        return b""
    secret = password.encode()
    if plugin == NATIVE:
        once = hashlib.sha1(secret).digest()  # noqa: S324 - the protocol's own hash
        twice = hashlib.sha1(once).digest()  # noqa: S324
        return _xor(once, hashlib.sha1(nonce + twice).digest())  # noqa: S324
    if plugin == CACHING_SHA2:
        once = hashlib.sha256(secret).digest()
        twice = hashlib.sha256(once).digest()
        return _xor(once, hashlib.sha256(twice + nonce).digest())
    raise MysqlError(f"authentication plugin {plugin!r} is not supported")


def _der_length(data: bytes, at: int) -> tuple[int, int]:
    first = data[at]
    if first < 0x80:
        return first, at + 1
    size = first & 0x7F
    return int.from_bytes(data[at + 1 : at + 1 + size], "big"), at + 1 + size


def _der_items(data: bytes) -> list[tuple[int, bytes]]:
    items, at = [], 0
    while at < len(data):
        tag = data[at]
        length, start = _der_length(data, at + 1)
        items.append((tag, data[start : start + length]))
        at = start + length
    return items


def rsa_public_key(pem: bytes) -> tuple[int, int]:
    """(modulus, exponent) of a PEM public key: SubjectPublicKeyInfo or PKCS#1."""
    body = b"".join(
        line for line in pem.strip().splitlines() if line and not line.startswith(b"-----")
    )
    der = base64.b64decode(body)
    (_tag, outer), *_ = _der_items(der)
    parts = _der_items(outer)
    if parts and parts[0][0] == 0x30:  # SubjectPublicKeyInfo: algorithm, then a BIT STRING
        inner = parts[1][1][1:]  # the bit string's first byte counts unused bits
        (_tag, key), *_ = _der_items(inner)
        parts = _der_items(key)
    return int.from_bytes(parts[0][1], "big"), int.from_bytes(parts[1][1], "big")


def rsa_oaep_encrypt(message: bytes, modulus: int, exponent: int) -> bytes:
    """RSAES-OAEP with SHA-1 and MGF1-SHA-1 (RFC 8017), as MySQL's server decrypts it."""
    size = (modulus.bit_length() + 7) // 8
    digest = hashlib.sha1(b"").digest()  # noqa: S324 - OAEP's label hash, as MySQL uses
    padding = b"\x00" * (size - len(message) - 2 * len(digest) - 2)
    block = digest + padding + b"\x01" + message
    seed = os.urandom(len(digest))

    def mgf1(seed_bytes: bytes, length: int) -> bytes:
        out, counter = b"", 0
        while len(out) < length:
            out += hashlib.sha1(seed_bytes + struct.pack(">I", counter)).digest()  # noqa: S324
            counter += 1
        return out[:length]

    masked_block = _xor(block, mgf1(seed, len(block)))
    masked_seed = _xor(seed, mgf1(masked_block, len(seed)))
    encoded = b"\x00" + masked_seed + masked_block
    return pow(int.from_bytes(encoded, "big"), exponent, modulus).to_bytes(size, "big")


def _handshake(packet: bytes) -> tuple[bytes, str]:
    """(the 20-byte nonce, the plugin) of the server's HandshakeV10."""
    if packet[:1] == b"\xff":
        raise _error(packet)
    if packet[0] != 10:
        raise MysqlError(f"protocol version {packet[0]} is not supported")
    at = packet.index(b"\x00", 1) + 1 + 4  # server version, connection id
    nonce = packet[at : at + 8]
    at += 8 + 1 + 2 + 1 + 2 + 2  # filler, capabilities, charset, status, upper capabilities
    data_length = packet[at]
    at += 1 + 10
    rest = max(13, data_length - 8)
    nonce += packet[at : at + rest].rstrip(b"\x00")
    at += rest
    plugin = packet[at:].split(b"\x00", 1)[0].decode() or NATIVE
    return nonce[:20], plugin


def _lenenc(data: bytes, at: int) -> tuple[int | None, int]:
    first = data[at]
    if first < 0xFB:
        return first, at + 1
    if first == 0xFB:
        return None, at + 1
    size = {0xFC: 2, 0xFD: 3, 0xFE: 8}[first]
    return int.from_bytes(data[at + 1 : at + 1 + size], "little"), at + 1 + size


def _authenticate(packets: _Packets, password: str, nonce: bytes, plugin: str) -> None:
    """Follow the server's answers after the handshake response until OK."""
    while True:
        packet = packets.read()
        if packet[:1] == b"\x00":
            return
        if packet[:1] == b"\xff":
            raise _error(packet)
        if packet[:1] == b"\xfe":  # AuthSwitchRequest: another plugin, a new nonce
            name, _sep, data = packet[1:].partition(b"\x00")
            plugin, nonce = name.decode(), data.rstrip(b"\x00")[:20]
            packets.write(scramble(plugin, password, nonce))
        elif packet[:1] == b"\x01" and plugin == CACHING_SHA2:
            if packet[1:2] == b"\x03":  # fast path: the server had the password cached
                continue
            if packet[1:2] == b"\x04":  # full path: ask for the key, send it encrypted
                packets.write(b"\x02")
                key = packets.read()
                if key[:1] != b"\x01":
                    raise (_error(key) if key[:1] == b"\xff" else MysqlError("no public key"))
                modulus, exponent = rsa_public_key(key[1:])
                plain = password.encode() + b"\x00"
                secret = _xor(plain, (nonce * (len(plain) // len(nonce) + 1))[: len(plain)])
                packets.write(rsa_oaep_encrypt(secret, modulus, exponent))
            else:  # the key itself, unasked
                raise MysqlError("unexpected caching_sha2_password step")
        else:
            raise MysqlError(f"unexpected packet 0x{packet[0]:02x} during authentication")


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
    """The first value of the first row ``sql`` returns, None without a row. Raises
    ``MysqlError`` with the server's message, or ``OSError``."""
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.settimeout(timeout)
    packets = _Packets(sock)
    try:
        nonce, plugin = _handshake(packets.read())
        flags = (
            CLIENT_LONG_PASSWORD
            | CLIENT_PROTOCOL_41
            | CLIENT_TRANSACTIONS
            | CLIENT_SECURE_CONNECTION
            | CLIENT_PLUGIN_AUTH
            | (CLIENT_CONNECT_WITH_DB if database else 0)
        )
        auth = scramble(plugin, password, nonce)
        response = struct.pack("<IIB", flags, 1 << 24, UTF8MB4) + b"\x00" * 23
        response += user.encode() + b"\x00" + bytes([len(auth)]) + auth
        if database:
            response += database.encode() + b"\x00"
        response += plugin.encode() + b"\x00"
        packets.write(response)
        _authenticate(packets, password, nonce, plugin)
        packets.sequence = 0
        packets.write(b"\x03" + sql.encode())
        first = packets.read()
        if first[:1] == b"\xff":
            raise _error(first)
        if first[:1] == b"\x00":
            return None  # not a result set
        columns, _at = _lenenc(first, 0)
        for _ in range(columns or 0):
            packets.read()  # column definitions
        packets.read()  # EOF
        row = packets.read()
        if row[:1] == b"\xfe" and len(row) < 9:
            return None  # EOF: no row
        if row[:1] == b"\xff":
            raise _error(row)
        size, at = _lenenc(row, 0)
        return None if size is None else row[at : at + size].decode("utf-8", "replace")
    finally:
        with contextlib.suppress(OSError):
            packets.sequence = 0
            packets.write(b"\x01")  # COM_QUIT
        sock.close()
