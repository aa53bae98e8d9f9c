"""``smtp`` (Mailpit, MailHog): the server's ``220`` greeting on its SMTP port."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bootstrap.outcome import Observation
from bootstrap.probes.core import Probe, Target
from bootstrap.probes.netio import exchange, failed, unreachable
from bootstrap.probes.registry import ProbeKind, register, server_port
from bootstrap.probes.spec import PORT, ProbeSpec

DEFAULT_PORT = 1025


@dataclass(frozen=True)
class SmtpProbe:
    port: int
    kind: str = "smtp"

    def check(self, target: Target) -> Observation:
        endpoint = target.endpoint(self.port)
        if endpoint is None:
            return unreachable(target, self.port, "smtp")
        try:
            data = exchange(endpoint, b"", lambda d: b"\r\n" in d)
        except OSError as exc:
            return failed("smtp", endpoint, exc)
        greeting = data.decode("utf-8", "replace").strip()
        if greeting.startswith("220"):
            return Observation(True, f"SMTP greeting: {greeting[:80]}")
        return Observation(False, f"no SMTP greeting: {greeting[:80] or 'nothing'!r}")


def _build(spec: ProbeSpec, exposed: Sequence[int]) -> Probe:
    return SmtpProbe(server_port(spec, exposed, DEFAULT_PORT))


register(
    ProbeKind(
        "smtp",
        {"port": PORT},
        _build,
        signal="the SMTP `220` greeting (port 1025)",
        tested="handshake peer",
        images=frozenset({"mailpit", "mailhog"}),
    )
)
