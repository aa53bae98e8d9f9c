"""``oracle`` (Oracle Database Free / XE): its listener (1521) accepts a connection. No
client library speaks its protocol here; with a healthcheck (the images ship
``healthcheck.sh``) that gates it too."""

from __future__ import annotations

from collections.abc import Sequence

from bootstrap.probes.core import Probe
from bootstrap.probes.registry import ProbeKind, register, server_port
from bootstrap.probes.spec import PORT, ProbeSpec
from bootstrap.probes.tcp import TcpProbe

DEFAULT_PORT = 1521


def _build(spec: ProbeSpec, exposed: Sequence[int]) -> Probe:
    return TcpProbe(server_port(spec, exposed, DEFAULT_PORT))


register(
    ProbeKind(
        "oracle",
        {"port": PORT},
        _build,
        signal="the listener (1521) accepts a connection (and the image's healthcheck, "
        "where it has one)",
        tested="handshake peer",
        images=frozenset({"oracle", "oracle-free", "oracle-xe"}),
        phase="databases",
    )
)
