"""``mariadb`` (also ``mysql``): ``SELECT 1`` (or ``query``) with the service's own
credentials: bootstrap's own client where the port is reachable, else the image's client
(``mariadb``, or ``mysql``) in the container."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bootstrap.classify import MYSQL_WORDS
from bootstrap.outcome import Observation
from bootstrap.probes.core import Probe, Target
from bootstrap.probes.registry import ProbeKind, register
from bootstrap.probes.spec import DEFAULT_QUERY, SQL_PARAMS, ParamValue, ProbeSpec
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
        from bootstrap.probes import mysqlwire  # here: planning imports this module

        return over_network(
            mysqlwire.query,
            (mysqlwire.MysqlError,),
            target,
            endpoint,
            self.credentials,
            self.query,
            "mariadb",
        )


def derive(env: Mapping[str, str], _command: Sequence[str]) -> dict[str, ParamValue]:
    """Credentials as the official MariaDB and MySQL images read them (``MARIADB_*`` or
    ``MYSQL_*``, ``*_FILE`` included): the application user where one is made, else root.
    No database is given where none is made (the probe then connects without one)."""
    user = env.get("MARIADB_USER") or env.get("MYSQL_USER") or ""
    password = env.get("MARIADB_PASSWORD") or env.get("MYSQL_PASSWORD") or ""
    password_file = env.get("MARIADB_PASSWORD_FILE") or env.get("MYSQL_PASSWORD_FILE") or ""
    if not user:
        user = "root"
        password = env.get("MARIADB_ROOT_PASSWORD") or env.get("MYSQL_ROOT_PASSWORD") or ""
        password_file = (
            env.get("MARIADB_ROOT_PASSWORD_FILE") or env.get("MYSQL_ROOT_PASSWORD_FILE") or ""
        )
    params: dict[str, ParamValue] = {
        "port": DEFAULT_PORT,
        "user": user,
        "password": password,
        "database": env.get("MARIADB_DATABASE") or env.get("MYSQL_DATABASE") or "",
    }
    if not password and password_file:
        params["password_file"] = password_file
    return params


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
        in_container=True,
        signal="`SELECT 1` (or `query`) answered with the service's own credentials "
        "(MARIADB_*/MYSQL_* user, password, database, *_FILE included)",
        tested="real server (MariaDB); MySQL 8's caching_sha2_password against a handshake peer",
        images=MYSQL_WORDS,
        derive=derive,
        phase="databases",
    )
)
