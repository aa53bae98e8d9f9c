"""``redis`` (Redis, Valkey, KeyDB, Dragonfly): RESP ``PING`` answered ``PONG``, after ``AUTH``
where a password is set (``--requirepass`` in the command, or ``REDIS_PASSWORD``). A server
still loading its dataset answers ``-LOADING``: not ready."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bootstrap.outcome import Observation
from bootstrap.probes.core import Probe, Target
from bootstrap.probes.netio import exchange, failed, not_this, unreachable
from bootstrap.probes.registry import ProbeKind, register, server_port
from bootstrap.probes.spec import PORT, TEXT, ParamValue, ProbeSpec

DEFAULT_PORT = 6379
CLIENTS = ("redis-cli", "valkey-cli", "keydb-cli")
NOT_RUNNABLE = (126, 127)


def command(*words: str) -> bytes:
    parts = [f"*{len(words)}\r\n".encode()]
    for word in words:
        raw = word.encode()
        parts.append(b"$" + str(len(raw)).encode() + b"\r\n" + raw + b"\r\n")
    return b"".join(parts)


def _lines(count: int) -> object:
    return lambda data: data.count(b"\r\n") >= count


@dataclass(frozen=True)
class RedisProbe:
    port: int
    password: str = field(repr=False, default="")
    user: str = ""
    kind: str = "redis"

    def check(self, target: Target) -> Observation:  # noqa: PLR0911 - one return per reply
        endpoint = target.endpoint(self.port)
        if endpoint is None:
            return self._inside(target) or unreachable(target, self.port, "redis")
        send = b""
        if self.password:
            send += command("AUTH", *([self.user] if self.user else []), self.password)
        send += command("PING")
        expected = 2 if self.password else 1
        try:
            data = exchange(endpoint, send, _lines(expected))  # type: ignore[arg-type]
        except OSError as exc:
            return failed("redis", endpoint, exc)
        replies = data.decode("utf-8", "replace").split("\r\n")
        if self.password:
            auth, replies = replies[0], replies[1:]
            if auth.startswith("-"):
                return Observation(False, f"redis AUTH refused: {auth[1:]}")
        reply = replies[0] if replies else ""
        if reply == "+PONG":
            return Observation(True, f"PING answered PONG at {endpoint[0]}:{endpoint[1]}")
        if reply.startswith("-LOADING"):
            return Observation(False, "redis is loading its dataset into memory")
        if reply.startswith(("-NOAUTH", "-WRONGPASS")):
            return Observation(False, f"redis needs a password: {reply[1:]}")
        if data and not data.startswith((b"+", b"-", b":", b"$", b"*")):  # not RESP at all
            return not_this("redis", "Redis server", data)
        return Observation(False, f"redis answered {reply or 'nothing'!r}")

    def _inside(self, target: Target) -> Observation | None:
        """``PING`` through the image's own client (the password in REDISCLI_AUTH, never on
        the command line); None where the image has none."""
        if target.container is None:
            return None
        env = {"REDISCLI_AUTH": self.password} if self.password else {}
        user = ["--user", self.user] if self.user else []
        for client in CLIENTS:
            code, output = target.exec(
                [client, "-h", "127.0.0.1", "-p", str(self.port), *user, "ping"], env=env
            )
            if code in NOT_RUNNABLE:
                continue
            reply = output.strip().splitlines()[-1] if output.strip() else ""
            if reply == "PONG":
                return Observation(True, f"PING answered PONG ({client} in the container)")
            if "LOADING" in reply:
                return Observation(False, "redis is loading its dataset into memory")
            if "NOAUTH" in reply or "WRONGPASS" in reply:
                return Observation(False, f"redis needs a password: {reply}")
            return Observation(False, f"{client} ping: exit {code}: {reply or 'no answer'}")
        return None


def derive(env: Mapping[str, str], command_line: Sequence[str]) -> dict[str, ParamValue]:
    """The password from ``--requirepass`` in the command, else ``REDIS_PASSWORD`` (bitnami's
    and many stacks' variable)."""
    words = list(command_line)
    params: dict[str, ParamValue] = {}
    for index, word in enumerate(words):
        if word == "--requirepass" and index + 1 < len(words):
            params["password"] = words[index + 1]
        elif word.startswith("--requirepass="):
            params["password"] = word.split("=", 1)[1]
    if "password" not in params and env.get("REDIS_PASSWORD"):
        params["password"] = env["REDIS_PASSWORD"]
    return params


def _build(spec: ProbeSpec, exposed: Sequence[int]) -> Probe:
    return RedisProbe(
        server_port(spec, exposed, DEFAULT_PORT), spec.text("password"), spec.text("user")
    )


register(
    ProbeKind(
        "redis",
        {"port": PORT, "user": TEXT},
        _build,
        signal="RESP `PING` answered `PONG` (after `AUTH` where a password is set); "
        "`-LOADING` is not ready",
        tested="real server",
        images=frozenset({"redis", "valkey", "keydb", "dragonfly", "redis-stack"}),
        derive=derive,
        phase="databases",
        clients=CLIENTS,
    )
)
