"""``tcp``: the port accepts a connection (from here, else ``nc -z`` in the container)."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import dataclass

from bootstrap.outcome import Observation
from bootstrap.probes.core import Probe, Target
from bootstrap.probes.registry import TCP, ProbeKind, port_of, register
from bootstrap.probes.spec import PORT, ProbeSpec

DEFAULT_PORT = 80


NOT_RUNNABLE = (126, 127)  # the exec's command is not in the image
# A published port is docker-proxy's: it accepts at once, and closes as soon as nothing
# answers behind it. A connection still open after this long (or a server that speaks first)
# is the service's.
PROXY_CLOSE = 0.1


def _still_open(sock: socket.socket, where: str) -> Observation:
    sock.settimeout(PROXY_CLOSE)
    try:
        first = sock.recv(1)
    except TimeoutError:
        return Observation(True, f"{where} accepts connections")
    except OSError as exc:  # reset: the proxy found nothing listening
        return Observation(
            False, f"{where} accepted, then {exc.strerror or exc}: not listening yet"
        )
    if not first:
        return Observation(
            False, f"{where} accepted and closed at once: nothing listens behind it yet"
        )
    return Observation(True, f"{where} accepts connections (and speaks first)")


@dataclass(frozen=True)
class TcpProbe:
    port: int
    kind: str = TCP
    guessed: bool = False  # bootstrap's guess, not asked for: no way to try it is "running"

    def check(self, target: Target) -> Observation:
        endpoint = target.endpoint(self.port)
        if endpoint is None:
            code, _output = target.exec(["nc", "-z", "127.0.0.1", str(self.port)])
            if code in NOT_RUNNABLE:
                return self._no_nc()
            return Observation(code == 0, f"nc -z port {self.port} in the container: exit {code}")
        where = f"{endpoint[0]}:{endpoint[1]}"
        try:
            with socket.create_connection(endpoint, timeout=1.0) as sock:
                if target.dns_name:  # straight to the container: its accept is the server's
                    return Observation(True, f"{where} accepts connections")
                return _still_open(sock, where)
        except OSError as exc:
            return Observation(False, f"{where}: {exc.strerror or exc}")

    def _no_nc(self) -> Observation:
        where = (
            f"port {self.port} is not published on 127.0.0.1 and the image has no nc to try it "
            "from inside"
        )
        if self.guessed:
            return Observation(True, f"running ({where}; as compose, ready once running)")
        return Observation(
            False,
            f"{where}: publish it on 127.0.0.1, or choose another probe with the label "
            "bootstrap.probe",
            fatal=True,
        )


def _build(spec: ProbeSpec, exposed: Sequence[int]) -> Probe:
    return TcpProbe(port_of(spec, exposed, DEFAULT_PORT), guessed=spec.guessed)


register(
    ProbeKind(
        TCP,
        {"port": PORT},
        _build,
        in_container=True,
        signal="the port accepts a TCP connection",
        tested="real server",
    )
)
