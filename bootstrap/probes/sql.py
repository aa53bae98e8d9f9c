"""What the SQL probes share: credentials (``*_FILE`` included), the answer's verdict, and the
one place that builds the command line of an image's own client (``psql``, ``mariadb``),
for a database bootstrap can reach only from inside its container."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bootstrap.outcome import Observation
from bootstrap.probes.core import Target, last_line, truthy
from bootstrap.probes.netio import NotThisProtocol
from bootstrap.probes.spec import DEFAULT_QUERY, ProbeSpec


@dataclass(frozen=True)
class Credentials:
    user: str
    database: str
    password: str = field(repr=False, default="")
    password_file: str = ""  # a *_FILE variable: read inside the container, as the image does

    @classmethod
    def of(cls, spec: ProbeSpec, user: str, database: str) -> Credentials:
        return cls(
            spec.text("user", user),
            spec.text("database", database),
            spec.text("password"),
            spec.text("password_file"),
        )

    def secret(self, target: Target) -> str:
        """The password: given, else the ``*_FILE`` read inside the container."""
        if self.password or not self.password_file:
            return self.password
        return target.read_secret(self.password_file)


def answered(query: str, value: object, where: str) -> Observation:
    shown = "SELECT 1" if query == DEFAULT_QUERY else f"`{query}`"
    if truthy(value):
        return Observation(True, f"{shown} answered{where}")
    got = "no row" if value is None else repr(value)
    return Observation(False, f"{shown} answered {got}, not true{where}")


def client_command(engine: str, port: int, credentials: Credentials, query: str) -> list[str]:
    """The image's own client asking ``query`` over TCP on 127.0.0.1 (never the init
    socket): the password goes in the environment (``client_env``), never the arguments."""
    if engine == "postgres":
        return [
            "psql", "-h", "127.0.0.1", "-p", str(port), "-U", credentials.user,
            "-d", credentials.database, "-tAc", query,
        ]  # fmt: skip
    args = ["-h", "127.0.0.1", "-P", str(port), "-u", credentials.user, "-N", "-e", query]
    return ["mariadb", *args, *([credentials.database] if credentials.database else [])]


def client_env(engine: str, password: str) -> dict[str, str]:
    if engine == "postgres":
        return {"PGPASSWORD": password, "PGCONNECT_TIMEOUT": "2"}
    return {"MYSQL_PWD": password}


def in_container(
    engine: str, target: Target, port: int, credentials: Credentials, query: str
) -> Observation:
    """Ask with the image's client inside the container (``mysql`` where ``mariadb`` is not)."""
    command = client_command(engine, port, credentials, query)
    env = client_env(engine, credentials.secret(target))
    result = target.run(command, env)
    if engine != "postgres" and result.not_found:
        command[0] = "mysql"
        result = target.run(command, env)
    if result.not_found:  # every image of the server has its client: this is something else
        return Observation(
            False,
            f"{command[0]} is not in the image: not a {engine} server's image",
            foreign=True,
        )
    if result.exit_code == 0:
        return answered(query, last_line(result.output), f" ({command[0]} in the container)")
    return Observation(
        False, f"{command[0]}: {last_line(result.output) or f'exit {result.exit_code}'}"
    )


def over_network(
    ask: Callable[..., str | None],
    errors: tuple[type[Exception], ...],
    target: Target,
    endpoint: Sequence[object],
    credentials: Credentials,
    query: str,
    name: str,
) -> Observation:
    """Ask with bootstrap's own client (standard library) at ``endpoint``."""
    host, port = str(endpoint[0]), int(str(endpoint[1]))
    try:
        value = ask(
            host,
            port,
            user=credentials.user,
            password=credentials.secret(target),
            database=credentials.database,
            sql=query,
        )
    except NotThisProtocol as exc:
        return Observation(False, f"{name}: not a {name} server: {exc}", foreign=True)
    except errors as exc:
        return Observation(False, f"{name}: {exc}")
    except OSError as exc:
        return Observation(False, f"{name} {host}:{port}: {exc.strerror or exc}")
    return answered(query, value, f" at {host}:{port}")
