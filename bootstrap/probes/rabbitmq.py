"""``rabbitmq``: the AMQP 0-9-1 handshake. The broker's ``Connection.Start`` is its own
"ready for clients" (``rabbitmq-diagnostics ping`` answers earlier, while the node boots);
with credentials (``RABBITMQ_DEFAULT_USER``/``_PASS``) the probe goes on to log in and open
the virtual host, so wrong credentials are reported as such, then closes cleanly."""

from __future__ import annotations

import socket
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bootstrap.outcome import Observation
from bootstrap.probes.core import Probe, Target
from bootstrap.probes.netio import TIMEOUT, failed, unreachable
from bootstrap.probes.registry import ProbeKind, register, server_port
from bootstrap.probes.spec import PORT, TEXT, ParamValue, ProbeSpec

DEFAULT_PORT = 5672
HEADER = b"AMQP\x00\x00\x09\x01"
FRAME_END = b"\xce"


class AmqpError(Exception):
    pass


def _shortstr(text: str) -> bytes:
    raw = text.encode()
    return bytes([len(raw)]) + raw


def _longstr(raw: bytes) -> bytes:
    return struct.pack("!I", len(raw)) + raw


def _method(class_id: int, method_id: int, arguments: bytes) -> bytes:
    payload = struct.pack("!HH", class_id, method_id) + arguments
    return struct.pack("!BHI", 1, 0, len(payload)) + payload + FRAME_END


def _read_method(sock: socket.socket, first: bytes = b"") -> tuple[int, int, bytes]:
    head = first + _exactly(sock, 7 - len(first))
    kind, _channel, size = struct.unpack("!BHI", head)
    payload = _exactly(sock, size + 1)[:-1]
    if kind != 1:
        raise AmqpError(f"frame type {kind} where a method was expected")
    class_id, method_id = struct.unpack("!HH", payload[:4])
    return class_id, method_id, payload[4:]


def _exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise AmqpError("the broker closed the connection")
        data += chunk
    return data


def _close_reason(arguments: bytes) -> str:
    code = struct.unpack("!H", arguments[:2])[0]
    text = arguments[3 : 3 + arguments[2]].decode("utf-8", "replace")
    return f"{code} {text}"


def handshake(endpoint: tuple[str, int], user: str, password: str, vhost: str) -> str:
    """Up to ``Connection.Start`` without credentials; with them, through ``Open-Ok`` and a
    clean close. Returns what was reached; raises ``AmqpError`` with the broker's reason."""
    with socket.create_connection(endpoint, timeout=TIMEOUT) as sock:
        sock.settimeout(TIMEOUT)
        sock.sendall(HEADER)
        first = _exactly(sock, 1)
        if first == b"A":  # the broker answered with its own protocol header: wrong version
            raise AmqpError("the broker does not speak AMQP 0-9-1")
        class_id, method_id, arguments = _read_method(sock, first)
        if (class_id, method_id) != (10, 10):
            raise AmqpError(f"expected Connection.Start, got {class_id}.{method_id}")
        version = f"{arguments[0]}-{arguments[1]}"  # major-minor: 0-9 (the revision is not sent)
        if not password:
            return f"Connection.Start (AMQP {version})"
        response = b"\x00" + user.encode() + b"\x00" + password.encode()
        # Asking for authentication_failure_close makes the broker say why it refuses a
        # login (Connection.Close 403) instead of closing the socket silently.
        capabilities = _shortstr("authentication_failure_close") + b"t\x01"
        table = _shortstr("capabilities") + b"F" + _longstr(capabilities)
        start_ok = _longstr(table) + _shortstr("PLAIN") + _longstr(response)
        sock.sendall(_method(10, 11, start_ok + _shortstr("en_US")))
        try:
            class_id, method_id, arguments = _read_method(sock)
        except AmqpError:
            raise AmqpError(
                f"login refused for {user!r} (the broker closed the connection)"
            ) from None
        if (class_id, method_id) == (10, 50):
            raise AmqpError(f"login refused: {_close_reason(arguments)}")
        channel_max, frame_max, _heartbeat = struct.unpack("!HIH", arguments[:8])
        sock.sendall(_method(10, 31, struct.pack("!HIH", channel_max, frame_max, 0)))
        sock.sendall(_method(10, 40, _shortstr(vhost) + _shortstr("") + b"\x00"))
        class_id, method_id, arguments = _read_method(sock)
        if (class_id, method_id) == (10, 50):
            raise AmqpError(f"vhost {vhost!r} refused: {_close_reason(arguments)}")
        sock.sendall(
            _method(10, 50, struct.pack("!H", 200) + _shortstr("bootstrap probe") + b"\x00" * 4)
        )
        _read_method(sock)  # Close-Ok
        return f"logged in as {user!r} and opened vhost {vhost!r}"


@dataclass(frozen=True)
class RabbitmqProbe:
    port: int
    user: str = "guest"
    password: str = field(repr=False, default="")
    vhost: str = "/"
    kind: str = "rabbitmq"

    def check(self, target: Target) -> Observation:
        endpoint = target.endpoint(self.port)
        if endpoint is None:
            return unreachable(target, self.port, "rabbitmq")
        try:
            reached = handshake(endpoint, self.user, self.password, self.vhost)
        except AmqpError as exc:
            return Observation(False, f"rabbitmq: {exc}")
        except OSError as exc:
            return failed("rabbitmq", endpoint, exc)
        return Observation(True, f"AMQP: {reached} at {endpoint[0]}:{endpoint[1]}")


def derive(env: Mapping[str, str], _command: Sequence[str]) -> dict[str, ParamValue]:
    """The official image's (``RABBITMQ_DEFAULT_*``) or bitnami's (``RABBITMQ_USERNAME``...)
    credentials; without a password the probe stops at ``Connection.Start``."""
    user = env.get("RABBITMQ_DEFAULT_USER") or env.get("RABBITMQ_USERNAME") or ""
    password = env.get("RABBITMQ_DEFAULT_PASS") or env.get("RABBITMQ_PASSWORD") or ""
    params: dict[str, ParamValue] = {}
    if user and password:
        params.update(user=user, password=password)
    vhost = env.get("RABBITMQ_DEFAULT_VHOST") or env.get("RABBITMQ_VHOST") or ""
    if vhost:
        params["vhost"] = vhost
    return params


def _build(spec: ProbeSpec, exposed: Sequence[int]) -> Probe:
    return RabbitmqProbe(
        server_port(spec, exposed, DEFAULT_PORT),
        spec.text("user", "guest"),
        spec.text("password"),
        spec.text("vhost", "/"),
    )


register(
    ProbeKind(
        "rabbitmq",
        {"port": PORT, "user": TEXT, "vhost": TEXT},
        _build,
        signal="the AMQP 0-9-1 handshake up to `Connection.Start`; with credentials, the "
        "login and the vhost opened",
        tested="real server",
        images=frozenset({"rabbitmq"}),
        derive=derive,
        phase="databases",
    )
)
