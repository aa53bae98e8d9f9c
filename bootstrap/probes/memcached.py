"""``memcached``: the text protocol's ``version`` answered ``VERSION x``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bootstrap.outcome import Observation
from bootstrap.probes.core import Probe, Target
from bootstrap.probes.netio import exchange, failed, unreachable
from bootstrap.probes.registry import ProbeKind, register, server_port
from bootstrap.probes.spec import PORT, ProbeSpec

DEFAULT_PORT = 11211


@dataclass(frozen=True)
class MemcachedProbe:
    port: int
    kind: str = "memcached"

    def check(self, target: Target) -> Observation:
        endpoint = target.endpoint(self.port)
        if endpoint is None:
            return unreachable(target, self.port, "memcached")
        try:
            data = exchange(endpoint, b"version\r\n", lambda d: b"\r\n" in d)
        except OSError as exc:
            return failed("memcached", endpoint, exc)
        reply = data.decode("utf-8", "replace").strip()
        if reply.startswith("VERSION "):
            return Observation(True, f"memcached {reply[8:]} at {endpoint[0]}:{endpoint[1]}")
        return Observation(False, f"memcached answered {reply[:80] or 'nothing'!r}")


def _build(spec: ProbeSpec, exposed: Sequence[int]) -> Probe:
    return MemcachedProbe(server_port(spec, exposed, DEFAULT_PORT))


register(
    ProbeKind(
        "memcached",
        {"port": PORT},
        _build,
        signal="`version` answered `VERSION x`",
        tested="real server",
        images=frozenset({"memcached"}),
        phase="databases",
    )
)
