"""``mongodb``: the ``hello`` command over ``OP_MSG`` answered ``ok: 1`` (no login needed);
the reply says whether this member is writable."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bootstrap.outcome import Observation
from bootstrap.probes.core import Probe, Target
from bootstrap.probes.netio import exchange, failed, unreachable
from bootstrap.probes.registry import ProbeKind, register, server_port
from bootstrap.probes.spec import PORT, ProbeSpec

DEFAULT_PORT = 27017
OP_MSG = 2013


def bson(document: dict[str, Any]) -> bytes:
    """A BSON document of int32, double, string and boolean values (what ``hello`` needs)."""
    body = b""
    for key, value in document.items():
        name = key.encode() + b"\x00"
        if isinstance(value, bool):
            body += b"\x08" + name + (b"\x01" if value else b"\x00")
        elif isinstance(value, int):
            body += b"\x10" + name + struct.pack("<i", value)
        elif isinstance(value, float):
            body += b"\x01" + name + struct.pack("<d", value)
        else:
            raw = str(value).encode() + b"\x00"
            body += b"\x02" + name + struct.pack("<i", len(raw)) + raw
    return struct.pack("<i", len(body) + 5) + body + b"\x00"


def read_bson(data: bytes) -> dict[str, Any]:
    """The scalar fields of a BSON document (nested documents and arrays skipped)."""
    size = struct.unpack("<i", data[:4])[0]
    at, out = 4, {}
    while at < size - 1:
        kind = data[at]
        end = data.index(b"\x00", at + 1)
        key, at = data[at + 1 : end].decode(), end + 1
        if kind == 0x01:
            out[key], at = struct.unpack("<d", data[at : at + 8])[0], at + 8
        elif kind == 0x02:
            length = struct.unpack("<i", data[at : at + 4])[0]
            out[key], at = (
                data[at + 4 : at + 3 + length].decode("utf-8", "replace"),
                at + 4 + length,
            )
        elif kind in (0x03, 0x04):
            at += struct.unpack("<i", data[at : at + 4])[0]
        elif kind == 0x08:
            out[key], at = data[at] == 1, at + 1
        elif kind == 0x10:
            out[key], at = struct.unpack("<i", data[at : at + 4])[0], at + 4
        elif kind in (0x09, 0x11, 0x12):
            out[key], at = struct.unpack("<q", data[at : at + 8])[0], at + 8
        elif kind == 0x07:
            at += 12
        elif kind == 0x0A:
            out[key] = None
        else:
            break  # a type this reader does not know: the fields read so far stand
    return out


def hello_message(request_id: int = 1) -> bytes:
    body = struct.pack("<I", 0) + b"\x00" + bson({"hello": 1, "$db": "admin"})
    return struct.pack("<iiii", 16 + len(body), request_id, 0, OP_MSG) + body


def _complete(data: bytes) -> bool:
    return len(data) >= 4 and len(data) >= struct.unpack("<i", data[:4])[0]


@dataclass(frozen=True)
class MongodbProbe:
    port: int
    kind: str = "mongodb"

    def check(self, target: Target) -> Observation:
        endpoint = target.endpoint(self.port)
        if endpoint is None:
            return unreachable(target, self.port, "mongodb")
        try:
            data = exchange(endpoint, hello_message(), _complete)
        except OSError as exc:
            return failed("mongodb", endpoint, exc)
        if not _complete(data) or len(data) < 21:
            return Observation(False, f"mongodb: no reply to hello ({len(data)} bytes)")
        opcode = struct.unpack("<i", data[12:16])[0]
        if opcode != OP_MSG or data[20] != 0:
            return Observation(False, f"mongodb: unexpected reply (opcode {opcode})")
        reply = read_bson(data[21:])
        if reply.get("ok") != 1:
            return Observation(False, f"mongodb hello: {reply.get('errmsg') or reply}")
        writable = reply.get("isWritablePrimary", reply.get("ismaster"))
        role = "writable primary" if writable else "not writable (a secondary, or no primary yet)"
        return Observation(True, f"hello answered ok: 1, {role}")


def _build(spec: ProbeSpec, exposed: Sequence[int]) -> Probe:
    return MongodbProbe(server_port(spec, exposed, DEFAULT_PORT))


register(
    ProbeKind(
        "mongodb",
        {"port": PORT},
        _build,
        signal="`hello` over `OP_MSG` answered `ok: 1`",
        tested="handshake peer",
        images=frozenset({"mongo", "mongodb", "mongodb-community-server"}),
        phase="databases",
    )
)
