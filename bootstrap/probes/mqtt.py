"""``mqtt`` (Mosquitto, EMQX, HiveMQ, VerneMQ): an MQTT 3.1.1 ``CONNECT`` answered by a
``CONNACK`` that accepts it; a refusal says why (bad credentials, not authorised)."""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from bootstrap.outcome import Observation
from bootstrap.probes.core import Probe, Target
from bootstrap.probes.netio import exchange, failed, unreachable
from bootstrap.probes.registry import ProbeKind, register, server_port
from bootstrap.probes.spec import PORT, TEXT, ProbeSpec

DEFAULT_PORT = 1883
REFUSED = {
    1: "unacceptable protocol version",
    2: "client identifier rejected",
    3: "server unavailable",
    4: "bad user name or password",
    5: "not authorised",
}


def _string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("!H", len(raw)) + raw


def _remaining(length: int) -> bytes:
    out = b""
    while True:
        byte, length = length % 128, length // 128
        out += bytes([byte | (0x80 if length else 0)])
        if not length:
            return out


def connect_packet(client_id: str, user: str, password: str) -> bytes:
    flags = 0x02 | (0x80 if user else 0) | (0x40 if user and password else 0)
    body = _string("MQTT") + bytes([4, flags]) + struct.pack("!H", 30) + _string(client_id)
    if user:
        body += _string(user) + (_string(password) if password else b"")
    return b"\x10" + _remaining(len(body)) + body


@dataclass(frozen=True)
class MqttProbe:
    port: int
    user: str = ""
    password: str = field(repr=False, default="")
    kind: str = "mqtt"

    def check(self, target: Target) -> Observation:
        endpoint = target.endpoint(self.port)
        if endpoint is None:
            return unreachable(target, self.port, "mqtt")
        packet = connect_packet(f"bootstrap-{os.urandom(4).hex()}", self.user, self.password)
        try:
            data = exchange(endpoint, packet + b"\xe0\x00", lambda d: len(d) >= 4)
        except OSError as exc:
            return failed("mqtt", endpoint, exc)
        if len(data) < 4 or data[0] != 0x20:
            return Observation(False, f"mqtt: no CONNACK ({data[:8].hex() or 'nothing'})")
        code = data[3]
        if code == 0:
            return Observation(True, f"CONNACK accepted at {endpoint[0]}:{endpoint[1]}")
        return Observation(False, f"mqtt CONNACK refused: {REFUSED.get(code, code)}")


def _build(spec: ProbeSpec, exposed: Sequence[int]) -> Probe:
    return MqttProbe(
        server_port(spec, exposed, DEFAULT_PORT), spec.text("user"), spec.text("password")
    )


register(
    ProbeKind(
        "mqtt",
        {"port": PORT, "user": TEXT},
        _build,
        signal="MQTT 3.1.1 `CONNECT` answered by a `CONNACK` that accepts it",
        tested="real server",
        images=frozenset({"mosquitto", "emqx", "hivemq", "hivemq-ce", "vernemq"}),
        phase="databases",
    )
)
