"""``http``: ``GET path`` answers ``status`` (200), its body matching ``body`` if given."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bootstrap.outcome import Observation
from bootstrap.probes.core import Probe, Target
from bootstrap.probes.registry import ProbeKind, port_of, register
from bootstrap.probes.spec import PORT, Param, ProbeSpec, path, regex, status

DEFAULT_PORT = 80


def get(host: str, port: int, where: str, timeout: float = 2.0) -> tuple[int, str]:
    """(status, body's first 64 KiB) of ``GET where``. Raises ``OSError`` or
    ``http.client.HTTPException``."""
    import http.client  # only when it asks: planning loads every kind

    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", where, headers={"User-Agent": "bootstrap-probe"})
        response = connection.getresponse()
        return response.status, response.read(65536).decode("utf-8", "replace")
    finally:
        connection.close()


@dataclass(frozen=True)
class HttpProbe:
    port: int
    path: str = "/"
    status: int = 200
    body: str = ""
    kind: str = "http"

    def check(self, target: Target) -> Observation:
        import http.client  # only when it asks: planning loads every kind

        endpoint = target.endpoint(self.port)
        if endpoint is None:
            url = f"http://127.0.0.1:{self.port}{self.path}"
            code, output = target.exec(["wget", "-q", "-O", "-", url])
            ok = code == 0 and (not self.body or re.search(self.body, output) is not None)
            return Observation(ok, f"wget {url} in the container: exit {code}")
        try:
            answered, text = get(*endpoint, self.path)
        except (OSError, http.client.HTTPException) as exc:
            return Observation(False, f"GET {self.path}: {exc}")
        if answered != self.status:
            return Observation(False, f"GET {self.path}: HTTP {answered}, want {self.status}")
        if self.body and re.search(self.body, text) is None:
            return Observation(False, f"GET {self.path}: body does not match {self.body!r}")
        return Observation(True, f"GET {self.path}: HTTP {answered}")


def _build(spec: ProbeSpec, exposed: Sequence[int]) -> Probe:
    return HttpProbe(
        port_of(spec, exposed, DEFAULT_PORT),
        spec.text("path", "/"),
        int(spec.number("status", 200)),
        spec.text("body"),
    )


register(
    ProbeKind(
        "http",
        {"port": PORT, "path": Param(path), "status": Param(status), "body": Param(regex)},
        _build,
        in_container=True,
        signal="`GET path` answers `status` (200), the body matching `body` where given",
        tested="real server",
    )
)
