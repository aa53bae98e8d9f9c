"""``postgres``: ``SELECT 1`` (or the ``query`` label's: its first value must be true) with
the service's own credentials, over TCP: bootstrap's own client where the port is reachable
(published on 127.0.0.1, or by name on the stack's network), else ``psql`` in the container."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bootstrap.outcome import Observation
from bootstrap.probes import pgwire
from bootstrap.probes.core import Probe, Target
from bootstrap.probes.registry import ProbeKind, register
from bootstrap.probes.spec import DEFAULT_QUERY, SQL_PARAMS, ProbeSpec
from bootstrap.probes.sql import Credentials, in_container, over_network

DEFAULT_PORT = 5432


@dataclass(frozen=True)
class PostgresProbe:
    port: int
    credentials: Credentials
    query: str = DEFAULT_QUERY
    kind: str = "postgres"

    def check(self, target: Target) -> Observation:
        endpoint = target.endpoint(self.port)
        if endpoint is None:
            return in_container("postgres", target, self.port, self.credentials, self.query)
        return over_network(
            pgwire.query,
            (pgwire.PgError,),
            target,
            endpoint,
            self.credentials,
            self.query,
            "postgres",
        )


def _build(spec: ProbeSpec, _exposed: Sequence[int]) -> Probe:
    return PostgresProbe(
        int(spec.number("port", DEFAULT_PORT)),
        Credentials.of(spec, "postgres", "postgres"),
        spec.text("query", DEFAULT_QUERY),
    )


register(
    ProbeKind(
        "postgres",
        SQL_PARAMS,
        _build,
        signal="`SELECT 1` (or `query`, whose first value must be true) answered with the "
        "service's own credentials (POSTGRES_USER/_PASSWORD/_DB, *_FILE included)",
        tested="real server",
    )
)
