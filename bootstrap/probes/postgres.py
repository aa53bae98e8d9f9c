"""``postgres``: ``SELECT 1`` (or the ``query`` label's: its first value must be true) with
the service's own credentials, over TCP: bootstrap's own client where the port is reachable
(published on 127.0.0.1, or by name on the stack's network), else ``psql`` in the container."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bootstrap.classify import POSTGRES_WORDS
from bootstrap.outcome import Observation
from bootstrap.probes.core import Probe, Target
from bootstrap.probes.registry import ProbeKind, register
from bootstrap.probes.spec import DEFAULT_QUERY, SQL_PARAMS, ParamValue, ProbeSpec
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
        from bootstrap.probes import pgwire  # here: planning imports this module

        return over_network(
            pgwire.query,
            (pgwire.PgError,),
            target,
            endpoint,
            self.credentials,
            self.query,
            "postgres",
        )


def derive(env: Mapping[str, str], _command: Sequence[str]) -> dict[str, ParamValue]:
    """Credentials as the official image reads them, ``POSTGRES_PASSWORD_FILE`` included
    (the probe reads such a file inside the container, or from the secret's source)."""
    user = env.get("POSTGRES_USER") or "postgres"
    params: dict[str, ParamValue] = {
        "port": DEFAULT_PORT,
        "user": user,
        "database": env.get("POSTGRES_DB") or user,
        "password": env.get("POSTGRES_PASSWORD", ""),
    }
    if not params["password"] and env.get("POSTGRES_PASSWORD_FILE"):
        params["password_file"] = env["POSTGRES_PASSWORD_FILE"]
    return params


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
        in_container=True,
        signal="`SELECT 1` (or `query`, whose first value must be true) answered with the "
        "service's own credentials (POSTGRES_USER/_PASSWORD/_DB, *_FILE included)",
        tested="real server",
        images=POSTGRES_WORDS,
        derive=derive,
        phase="databases",
    )
)
