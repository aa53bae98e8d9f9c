"""The servers whose readiness is an HTTP endpoint of their own (etcd's ``/health``,
Elasticsearch's ``_cluster/health``...): one probe shape, each kind's module says the port,
the paths, and what answer is ready."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bootstrap.outcome import Observation
from bootstrap.probes.core import Probe, Target
from bootstrap.probes.netio import unreachable
from bootstrap.probes.registry import Derive, ProbeKind, register, server_port
from bootstrap.probes.spec import PORT, TEXT, ProbeSpec

Accept = Callable[[int, str], tuple[bool, str]]  # (status, body) -> (ready, what it says)


def json_of(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


@dataclass(frozen=True)
class HttpHealthProbe:
    kind: str
    port: int
    paths: tuple[str, ...]  # tried in order: a 404 moves on to the next
    accept: Accept
    user: str = ""
    password: str = field(repr=False, default="")

    def check(self, target: Target) -> Observation:
        import http.client  # only when it asks: planning loads every kind

        endpoint = target.endpoint(self.port)
        if endpoint is None:
            return unreachable(target, self.port, self.kind)
        headers = {"User-Agent": "bootstrap-probe", "Accept": "application/json"}
        if self.password:
            token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        seen = Observation(False, f"{self.kind}: no path answered")
        for path in self.paths:
            connection = http.client.HTTPConnection(*endpoint, timeout=2.0)
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                status, body = response.status, response.read(65536).decode("utf-8", "replace")
            except (OSError, http.client.HTTPException) as exc:
                return Observation(False, f"{self.kind} GET {path}: {exc}")
            finally:
                connection.close()
            if status == 404 and path != self.paths[-1]:
                continue
            if status == 404:  # an HTTP server without the product's health endpoint
                return Observation(
                    False,
                    f"{self.kind}: not a {self.kind} server (or a layout without "
                    f"{', '.join(self.paths)}): GET {path} answered HTTP 404",
                    foreign=True,
                )
            if status == 401:
                who = f" as {self.user}" if self.password else ""
                return Observation(
                    False, f"{self.kind} GET {path}: HTTP 401: credentials refused{who}"
                )
            ready, said = self.accept(status, body)
            seen = Observation(ready, f"{self.kind} GET {path}: {said}")
            break
        return seen


def register_http(
    name: str,
    *,
    port: int,
    paths: Sequence[str],
    accept: Accept,
    images: frozenset[str],
    signal: str,
    tested: str = "handshake peer",
    phase: str = "",
    derive: Derive | None = None,
    user: str = "",
    legacy: frozenset[str] = frozenset(),
) -> ProbeKind:
    """Register an HTTP-health kind: its port, paths (the first that exists answers), the
    accepted answer; ``derive`` gives a password from the image's variables."""

    def build(spec: ProbeSpec, exposed: Sequence[int]) -> Probe:
        return HttpHealthProbe(
            name,
            server_port(spec, exposed, port),
            tuple(paths),
            accept,
            spec.text("user", user),
            spec.text("password"),
        )

    kind = ProbeKind(
        name,
        {"port": PORT, "user": TEXT},
        build,
        signal=signal,
        tested=tested,
        images=images,
        legacy=legacy,
        phase=phase,
        derive=derive or (lambda _env, _command: {}),
    )
    return register(kind)


def status_is(*wanted: int) -> Accept:
    def accept(status: int, _body: str) -> tuple[bool, str]:
        return status in wanted, f"HTTP {status}"

    return accept


def json_field(key: str, ready: Mapping[str, bool] | Callable[[object], bool]) -> Accept:
    """Ready when the JSON body's ``key`` is one of ``ready``'s true values (or passes it)."""

    def accept(status: int, body: str) -> tuple[bool, str]:
        document = json_of(body)
        value = document.get(key) if isinstance(document, dict) else None
        ok = ready(value) if callable(ready) else bool(ready.get(str(value), False))
        return status == 200 and ok, f"HTTP {status}, {key}={value!r}"

    return accept
