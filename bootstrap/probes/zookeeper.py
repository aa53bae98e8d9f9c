"""``zookeeper``: the four-letter word ``ruok`` answered ``imok``; where the whitelist leaves
``ruok`` out (ZooKeeper 3.5+ allows only ``srvr`` by default), ``srvr`` naming its mode."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bootstrap.outcome import Observation
from bootstrap.probes.core import Probe, Target
from bootstrap.probes.netio import exchange, failed, unreachable
from bootstrap.probes.registry import ProbeKind, register, server_port
from bootstrap.probes.spec import PORT, ProbeSpec

DEFAULT_PORT = 2181


@dataclass(frozen=True)
class ZookeeperProbe:
    port: int
    kind: str = "zookeeper"

    def check(self, target: Target) -> Observation:
        endpoint = target.endpoint(self.port)
        if endpoint is None:
            return unreachable(target, self.port, "zookeeper")
        try:
            said = exchange(endpoint, b"ruok", lambda _d: False).decode("utf-8", "replace")
            if said.strip() == "imok":
                return Observation(True, "ruok answered imok")
            said = exchange(endpoint, b"srvr", lambda _d: False).decode("utf-8", "replace")
        except OSError as exc:
            return failed("zookeeper", endpoint, exc)
        mode = next((line for line in said.splitlines() if line.startswith("Mode:")), "")
        if mode:
            return Observation(True, f"srvr: {mode}")
        return Observation(False, f"zookeeper: {said.strip()[:120] or 'no answer'}")


def _build(spec: ProbeSpec, exposed: Sequence[int]) -> Probe:
    return ZookeeperProbe(server_port(spec, exposed, DEFAULT_PORT))


register(
    ProbeKind(
        "zookeeper",
        {"port": PORT},
        _build,
        signal="`ruok` answered `imok`, or `srvr` naming its mode",
        tested="handshake peer",
        images=frozenset({"zookeeper"}),
        phase="discovery",
    )
)
