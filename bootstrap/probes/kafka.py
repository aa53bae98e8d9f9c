"""``kafka`` (Kafka, Redpanda): an ``ApiVersions`` request (v0) answered without an error:
the broker takes requests on its client port."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from bootstrap.outcome import Observation
from bootstrap.probes.core import Probe, Target
from bootstrap.probes.netio import exchange, failed, looks_like_http, not_this, unreachable
from bootstrap.probes.registry import ProbeKind, register, server_port
from bootstrap.probes.spec import PORT, ProbeSpec

DEFAULT_PORT = 9092
API_VERSIONS = 18
CORRELATION = 0x626F6F74  # "boot"


def api_versions_request() -> bytes:
    client = b"bootstrap"
    body = struct.pack("!hhih", API_VERSIONS, 0, CORRELATION, len(client)) + client
    return struct.pack("!i", len(body)) + body


def _complete(data: bytes) -> bool:
    return len(data) >= 4 and len(data) >= 4 + struct.unpack("!i", data[:4])[0]


@dataclass(frozen=True)
class KafkaProbe:
    port: int
    kind: str = "kafka"

    def check(self, target: Target) -> Observation:  # noqa: PLR0911 - one return per answer
        endpoint = target.endpoint(self.port)
        if endpoint is None:
            return unreachable(target, self.port, "kafka")
        try:
            data = exchange(endpoint, api_versions_request(), _complete)
        except OSError as exc:
            return failed("kafka", endpoint, exc)
        if data and (looks_like_http(data) or not _complete(data) or len(data) < 10):
            return not_this("kafka", "Kafka broker", data)
        if not _complete(data) or len(data) < 10:
            return Observation(False, f"kafka: no ApiVersions answer ({len(data)} bytes)")
        correlation, error = struct.unpack("!ih", data[4:10])
        if correlation != CORRELATION:
            return not_this("kafka", "Kafka broker", data)
        if error:
            return Observation(False, f"kafka ApiVersions: error code {error}")
        count = struct.unpack("!i", data[10:14])[0] if len(data) >= 14 else 0
        return Observation(
            True, f"ApiVersions answered ({count} APIs) at {endpoint[0]}:{endpoint[1]}"
        )


def _build(spec: ProbeSpec, exposed: Sequence[int]) -> Probe:
    return KafkaProbe(server_port(spec, exposed, DEFAULT_PORT))


register(
    ProbeKind(
        "kafka",
        {"port": PORT},
        _build,
        signal="an `ApiVersions` request answered without an error",
        tested="handshake peer",
        images=frozenset({"kafka", "redpanda"}),
        # Confluent's broker images under names that do not say Kafka
        repositories=frozenset({"confluentinc/cp-server", "confluentinc/cp-enterprise-kafka"}),
        phase="databases",
    )
)
