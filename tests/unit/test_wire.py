"""bootstrap's own SQL clients against loopback peers that speak the documented handshakes:
PostgreSQL (trust, MD5, SCRAM-SHA-256 checked as a server checks it, a starting server) and
MySQL (mysql_native_password, caching_sha2_password's fast path and its full path over RSA,
a wrong password). The real servers are in tests/integration."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import random
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

import pytest

from bootstrap.probes import mysqlwire, pgwire


@contextmanager
def peer(serve: Callable[[socket.socket], object]) -> Iterator[int]:
    """A one-connection server on 127.0.0.1; yields its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def run() -> None:
        connection, _ = listener.accept()
        with connection, suppress(OSError, AssertionError):
            serve(connection)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        listener.close()
        thread.join(timeout=5)


# --- PostgreSQL -----------------------------------------------------------------------------


def _pg_message(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!I", len(body) + 4) + body


def _pg_read(sock: socket.socket, startup: bool = False) -> tuple[bytes, bytes]:
    if startup:
        size = struct.unpack("!I", sock.recv(4))[0]
        return b"", _recv_all(sock, size - 4)
    kind = _recv_all(sock, 1)
    size = struct.unpack("!I", _recv_all(sock, 4))[0]
    return kind, _recv_all(sock, size - 4)


def _recv_all(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise OSError("closed")
        data += chunk
    return data


def _pg_ready_and_answer(sock: socket.socket, value: bytes | None) -> None:
    sock.sendall(_pg_message(b"R", struct.pack("!I", 0)))
    sock.sendall(_pg_message(b"S", b"server_version\x0016\x00"))
    sock.sendall(_pg_message(b"Z", b"I"))
    kind, body = _pg_read(sock)
    assert kind == b"Q" and body.rstrip(b"\x00") == b"SELECT 1"
    sock.sendall(_pg_message(b"T", struct.pack("!H", 1) + b"?column?\x00" + b"\x00" * 18))
    if value is not None:
        row = struct.pack("!H", 1) + struct.pack("!i", len(value)) + value
        sock.sendall(_pg_message(b"D", row))
    sock.sendall(_pg_message(b"C", b"SELECT 1\x00"))
    sock.sendall(_pg_message(b"Z", b"I"))


def test_postgres_trust_and_the_first_value() -> None:
    def serve(sock: socket.socket) -> None:
        _kind, startup = _pg_read(sock, startup=True)
        assert struct.unpack("!I", startup[:4])[0] == pgwire.PROTOCOL
        assert b"user\x00app\x00database\x00appdb\x00" in startup
        _pg_ready_and_answer(sock, b"1")

    with peer(serve) as port:
        got = pgwire.query(
            "127.0.0.1", port, user="app", password="", database="appdb", sql="SELECT 1"
        )
    assert got == "1"


def test_postgres_md5() -> None:
    salt = b"\x01\x02\x03\x04"

    def serve(sock: socket.socket) -> None:
        _pg_read(sock, startup=True)
        sock.sendall(_pg_message(b"R", struct.pack("!I", 5) + salt))
        _kind, body = _pg_read(sock)
        inner = hashlib.md5(b"pw" + b"app").hexdigest()
        assert body == b"md5" + hashlib.md5(inner.encode() + salt).hexdigest().encode() + b"\x00"
        _pg_ready_and_answer(sock, b"t")

    with peer(serve) as port:
        assert (
            pgwire.query("127.0.0.1", port, user="app", password="pw", database="d", sql="SELECT 1")
            == "t"
        )


def scram_server(sock: socket.socket, password: str, value: bytes | None) -> None:
    """SCRAM-SHA-256 as PostgreSQL checks it: the proof verified against the stored key."""
    _pg_read(sock, startup=True)
    sock.sendall(_pg_message(b"R", struct.pack("!I", 10) + b"SCRAM-SHA-256\x00\x00"))
    _kind, body = _pg_read(sock)
    mechanism, _nul, rest = body.partition(b"\x00")
    assert mechanism == b"SCRAM-SHA-256"
    first = rest[4:].decode()
    assert first.startswith("n,,")
    first_bare = first[3:]
    client_nonce = dict(p.split("=", 1) for p in first_bare.split(","))["r"]
    salt, iterations = os.urandom(16), 4096
    nonce = client_nonce + base64.b64encode(os.urandom(18)).decode()
    server_first = f"r={nonce},s={base64.b64encode(salt).decode()},i={iterations}"
    sock.sendall(_pg_message(b"R", struct.pack("!I", 11) + server_first.encode()))
    _kind, final = _pg_read(sock)
    final_text = final.decode()
    without_proof, _sep, proof = final_text.rpartition(",p=")
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    stored = hashlib.sha256(client_key).digest()
    message = f"{first_bare},{server_first},{without_proof}".encode()
    signature = hmac.digest(stored, message, "sha256")
    recovered = bytes(a ^ b for a, b in zip(base64.b64decode(proof), signature, strict=True))
    if hashlib.sha256(recovered).digest() != stored:
        error = b'SFATAL\x00C28P01\x00Mpassword authentication failed for user "app"\x00\x00'
        sock.sendall(_pg_message(b"E", error))
        return
    server_key = hmac.digest(salted, b"Server Key", "sha256")
    verifier = base64.b64encode(hmac.digest(server_key, message, "sha256")).decode()
    sock.sendall(_pg_message(b"R", struct.pack("!I", 12) + f"v={verifier}".encode()))
    _pg_ready_and_answer(sock, value)


def test_postgres_scram_sha_256_right_and_wrong_password() -> None:
    with peer(lambda s: scram_server(s, "s3cret", b"1")) as port:
        assert (
            pgwire.query(
                "127.0.0.1", port, user="app", password="s3cret", database="d", sql="SELECT 1"
            )
            == "1"
        )
    with (
        peer(lambda s: scram_server(s, "s3cret", b"1")) as port,
        pytest.raises(pgwire.PgError) as caught,
    ):
        pgwire.query("127.0.0.1", port, user="app", password="wrong", database="d", sql="SELECT 1")
    assert caught.value.code == "28P01" and "password authentication failed" in caught.value.message


def test_postgres_no_row_and_a_starting_server() -> None:
    def no_row(sock: socket.socket) -> None:
        _pg_read(sock, startup=True)
        _pg_ready_and_answer(sock, None)

    with peer(no_row) as port:
        assert (
            pgwire.query("127.0.0.1", port, user="a", password="", database="d", sql="SELECT 1")
            is None
        )

    def starting(sock: socket.socket) -> None:
        _pg_read(sock, startup=True)
        message = b"SFATAL\x00C57P03\x00Mthe database system is starting up\x00\x00"
        sock.sendall(_pg_message(b"E", message))

    with peer(starting) as port, pytest.raises(pgwire.PgError) as caught:
        pgwire.query("127.0.0.1", port, user="a", password="", database="d", sql="SELECT 1")
    assert caught.value.starting


# --- MySQL ----------------------------------------------------------------------------------


def _my_packet(sequence: int, payload: bytes) -> bytes:
    return struct.pack("<I", len(payload))[:3] + bytes([sequence]) + payload


def _my_read(sock: socket.socket) -> tuple[int, bytes]:
    head = _recv_all(sock, 4)
    return head[3], _recv_all(sock, head[0] | head[1] << 8 | head[2] << 16)


def _handshake_packet(nonce: bytes, plugin: str) -> bytes:
    return (
        b"\x0a" + b"8.4.0-peer\x00" + struct.pack("<I", 7) + nonce[:8] + b"\x00"
        + struct.pack("<H", 0xF7FF) + bytes([45]) + struct.pack("<H", 2)
        + struct.pack("<H", 0x81FF) + bytes([21]) + b"\x00" * 10 + nonce[8:] + b"\x00"
        + plugin.encode() + b"\x00"
    )  # fmt: skip


def _handshake_response(payload: bytes) -> tuple[str, bytes, str]:
    """(user, auth response, plugin) of a HandshakeResponse41."""
    at = 32
    user_end = payload.index(b"\x00", at)
    user = payload[at:user_end].decode()
    size = payload[user_end + 1]
    auth = payload[user_end + 2 : user_end + 2 + size]
    rest = payload[user_end + 2 + size :].split(b"\x00")
    return user, auth, rest[-2].decode() if len(rest) >= 2 else ""


def _answer_select_one(sock: socket.socket) -> None:
    _seq, query = _my_read(sock)
    assert query == b"\x03SELECT 1"
    sock.sendall(_my_packet(1, b"\x01"))
    sock.sendall(
        _my_packet(
            2, b"\x03def\x00\x00\x00\x011\x00\x0c\x3f\x00\x01\x00\x00\x00\x08\x81\x00\x00\x00\x00"
        )
    )
    sock.sendall(_my_packet(3, b"\xfe\x00\x00\x02\x00"))
    sock.sendall(_my_packet(4, b"\x011"))
    sock.sendall(_my_packet(5, b"\xfe\x00\x00\x02\x00"))


def test_mysql_native_password() -> None:
    nonce = os.urandom(20)

    def serve(sock: socket.socket) -> None:
        sock.sendall(_my_packet(0, _handshake_packet(nonce, mysqlwire.NATIVE)))
        _seq, response = _my_read(sock)
        user, auth, _plugin = _handshake_response(response)
        assert user == "root"
        once = hashlib.sha1(b"pw").digest()
        expect = bytes(
            a ^ b
            for a, b in zip(
                once, hashlib.sha1(nonce + hashlib.sha1(once).digest()).digest(), strict=True
            )
        )
        if auth != expect:
            sock.sendall(_my_packet(2, b"\xff\x15\x04#28000Access denied for user 'root'"))
            return
        sock.sendall(_my_packet(2, b"\x00\x00\x00\x02\x00\x00\x00"))
        _answer_select_one(sock)

    with peer(serve) as port:
        assert (
            mysqlwire.query(
                "127.0.0.1", port, user="root", password="pw", database="", sql="SELECT 1"
            )
            == "1"
        )
    with peer(serve) as port, pytest.raises(mysqlwire.MysqlError) as caught:
        mysqlwire.query("127.0.0.1", port, user="root", password="no", database="", sql="SELECT 1")
    assert caught.value.code == 1045 and "Access denied" in caught.value.message


def _prime(bits: int, rng: random.Random) -> int:
    while True:
        candidate = rng.getrandbits(bits) | (1 << (bits - 1)) | 1
        if all(pow(a, candidate - 1, candidate) == 1 for a in (2, 3, 5, 7, 11, 13, 17, 19, 23)):
            return candidate


def _oaep_decrypt(cipher: bytes, modulus: int, private: int) -> bytes:
    size = (modulus.bit_length() + 7) // 8
    encoded = pow(int.from_bytes(cipher, "big"), private, modulus).to_bytes(size, "big")

    def mgf1(seed: bytes, length: int) -> bytes:
        out, counter = b"", 0
        while len(out) < length:
            out += hashlib.sha1(seed + struct.pack(">I", counter)).digest()
            counter += 1
        return out[:length]

    masked_seed, masked_block = encoded[1:21], encoded[21:]
    seed = bytes(a ^ b for a, b in zip(masked_seed, mgf1(masked_block, 20), strict=True))
    block = bytes(a ^ b for a, b in zip(masked_block, mgf1(seed, len(masked_block)), strict=True))
    assert block[:20] == hashlib.sha1(b"").digest()
    return block[block.index(b"\x01", 20) + 1 :]


def _pem(modulus: int, exponent: int) -> bytes:
    def der(tag: int, body: bytes) -> bytes:
        size = len(body)
        head = (
            bytes([size])
            if size < 0x80
            else bytes([0x80 | ((size.bit_length() + 7) // 8)])
            + size.to_bytes((size.bit_length() + 7) // 8, "big")
        )
        return bytes([tag]) + head + body

    def integer(value: int) -> bytes:
        raw = value.to_bytes((value.bit_length() + 8) // 8, "big")
        return der(0x02, raw)

    pkcs1 = der(0x30, integer(modulus) + integer(exponent))
    algorithm = der(0x30, der(0x06, bytes.fromhex("2a864886f70d010101")) + b"\x05\x00")
    info = der(0x30, algorithm + der(0x03, b"\x00" + pkcs1))
    return (
        b"-----BEGIN PUBLIC KEY-----\n" + base64.encodebytes(info) + b"-----END PUBLIC KEY-----\n"
    )


@pytest.mark.parametrize("cached", [True, False])
def test_mysql_caching_sha2_fast_and_full_paths(cached: bool) -> None:
    """MySQL 8's default: the fast path when the server has the password cached, else the
    full path: the client asks for the server's RSA key and sends the password encrypted."""
    nonce = os.urandom(20)
    rng = random.Random(1234)
    p, q = _prime(512, rng), _prime(512, rng)
    modulus, exponent = p * q, 65537
    private = pow(exponent, -1, (p - 1) * (q - 1))
    received: list[bytes] = []

    def serve(sock: socket.socket) -> None:
        sock.sendall(_my_packet(0, _handshake_packet(nonce, mysqlwire.CACHING_SHA2)))
        _seq, response = _my_read(sock)
        _user, auth, plugin = _handshake_response(response)
        assert plugin == mysqlwire.CACHING_SHA2
        once = hashlib.sha256(b"sha2-pass").digest()
        expect = bytes(
            a ^ b
            for a, b in zip(
                once, hashlib.sha256(hashlib.sha256(once).digest() + nonce).digest(), strict=True
            )
        )
        assert auth == expect
        if cached:
            sock.sendall(_my_packet(2, b"\x01\x03"))
            sock.sendall(_my_packet(3, b"\x00\x00\x00\x02\x00\x00\x00"))
        else:
            sock.sendall(_my_packet(2, b"\x01\x04"))
            _seq, ask = _my_read(sock)
            assert ask == b"\x02"
            sock.sendall(_my_packet(4, b"\x01" + _pem(modulus, exponent)))
            _seq, cipher = _my_read(sock)
            plain = _oaep_decrypt(cipher, modulus, private)
            secret = bytes(a ^ b for a, b in zip(plain, (nonce * 2)[: len(plain)], strict=True))
            received.append(secret)
            sock.sendall(_my_packet(6, b"\x00\x00\x00\x02\x00\x00\x00"))
        _answer_select_one(sock)

    with peer(serve) as port:
        got = mysqlwire.query(
            "127.0.0.1", port, user="app", password="sha2-pass", database="shop", sql="SELECT 1"
        )
    assert got == "1"
    if not cached:
        assert received == [b"sha2-pass\x00"]


def test_rsa_public_key_reads_both_pem_forms() -> None:
    modulus, exponent = (1 << 1023) + 12345, 65537
    assert mysqlwire.rsa_public_key(_pem(modulus, exponent)) == (modulus, exponent)
