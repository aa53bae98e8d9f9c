"""``nats``: the server's ``INFO``, then ``CONNECT`` and ``PING`` answered ``PONG`` (``-ERR``
says why not: an authorization violation is reported as such)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bootstrap.outcome import Observation
from bootstrap.probes.core import Probe, Target
from bootstrap.probes.netio import exchange, failed, unreachable
from bootstrap.probes.registry import ProbeKind, register, server_port
from bootstrap.probes.spec import PORT, TEXT, ParamValue, ProbeSpec

DEFAULT_PORT = 4222


@dataclass(frozen=True)
class NatsProbe:
    port: int
    user: str = ""
    password: str = field(repr=False, default="")
    token: str = field(repr=False, default="")
    kind: str = "nats"

    def check(self, target: Target) -> Observation:
        endpoint = target.endpoint(self.port)
        if endpoint is None:
            return unreachable(target, self.port, "nats")
        options: dict[str, object] = {"verbose": False, "pedantic": False, "name": "bootstrap"}
        if self.user:
            options.update(user=self.user, **{"pass": self.password})
        if self.token:
            options["auth_token"] = self.token
        send = b"CONNECT " + json.dumps(options).encode() + b"\r\nPING\r\n"
        try:
            data = exchange(endpoint, send, lambda d: b"PONG\r\n" in d or b"-ERR" in d)
        except OSError as exc:
            return failed("nats", endpoint, exc)
        text = data.decode("utf-8", "replace")
        if not text.startswith("INFO "):
            return Observation(False, f"nats: no INFO from the server: {text[:80]!r}")
        if "PONG" in text:
            return Observation(True, f"PING answered PONG at {endpoint[0]}:{endpoint[1]}")
        error = next((line for line in text.splitlines() if line.startswith("-ERR")), "")
        return Observation(False, f"nats: {error or 'no PONG'}")


def derive(_env: Mapping[str, str], command: Sequence[str]) -> dict[str, ParamValue]:
    """``--user``/``--pass`` or ``--auth`` from the server's command line."""
    words, params = list(command), {}
    for flag, key in (("--user", "user"), ("--pass", "password"), ("--auth", "token")):
        if flag in words and words.index(flag) + 1 < len(words):
            params[key] = words[words.index(flag) + 1]
    return dict(params)


def _build(spec: ProbeSpec, exposed: Sequence[int]) -> Probe:
    return NatsProbe(
        server_port(spec, exposed, DEFAULT_PORT),
        spec.text("user"),
        spec.text("password"),
        spec.text("token"),
    )


register(
    ProbeKind(
        "nats",
        {"port": PORT, "user": TEXT},
        _build,
        signal="`INFO`, then `CONNECT` and `PING` answered `PONG`",
        tested="real server",
        images=frozenset({"nats"}),
        derive=derive,
        phase="databases",
    )
)
