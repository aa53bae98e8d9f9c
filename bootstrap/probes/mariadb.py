"""``mariadb`` (also ``mysql``): ``SELECT 1`` (or ``query``) with the service's own
credentials: bootstrap's own client where the port is reachable, else the image's client
(``mariadb``, or ``mysql``) in the container."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bootstrap.outcome import Observation
from bootstrap.probes import mysqlwire
from bootstrap.probes.core import Probe, Target
from bootstrap.probes.registry import ProbeKind, register
from bootstrap.probes.spec import DEFAULT_QUERY, SQL_PARAMS, ProbeSpec
from bootstrap.probes.sql import Credentials, in_container, over_network

DEFAULT_PORT = 3306


@dataclass(frozen=True)
class MariadbProbe:
    port: int
    credentials: Credentials
    query: str = DEFAULT_QUERY
    kind: str = "mariadb"

    def check(self, target: Target) -> Observation:
        endpoint = target.endpoint(self.port)
        if endpoint is None:
            return in_container("mariadb", target, self.port, self.credentials, self.query)
        return over_network(
            mysqlwire.query,
            (mysqlwire.MysqlError,),
            target,
            endpoint,
            self.credentials,
            self.query,
            "mariadb",
        )


def _build(spec: ProbeSpec, _exposed: Sequence[int]) -> Probe:
    return MariadbProbe(
        int(spec.number("port", DEFAULT_PORT)),
        Credentials.of(spec, "root", ""),
        spec.text("query", DEFAULT_QUERY),
    )


register(
    ProbeKind(
        "mariadb",
        SQL_PARAMS,
        _build,
        aliases=("mysql",),
        signal="`SELECT 1` (or `query`) answered with the service's own credentials "
        "(MARIADB_*/MYSQL_* user, password, database, *_FILE included)",
        tested="real server (MariaDB); MySQL 8's caching_sha2_password against a handshake peer",
    )
)
