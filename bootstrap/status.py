"""What ``status`` says of one service, the same for every backend (each backend's
``status`` module fills it in)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bootstrap.runtime import State


@dataclass(frozen=True)
class ServiceStatus:
    service: str
    phase: str
    state: str
    health: str | None
    probe: str
    ready: bool
    detail: str
    ports: dict[int, int]
    address: str | None
    optional: bool
    selected: bool = True  # False: a running container of a profile not asked for
    # epoch seconds: when the probe passed that ``ready`` rests on, where it was not asked now
    probed_at: float | None = None

    @property
    def counts(self) -> bool:
        """Whether it decides the stack's health: required, and asked for or running."""
        return not self.optional and (self.selected or self.state == State.RUNNING)

    def as_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "phase": self.phase,
            "state": self.state,
            "health": self.health,
            "probe": self.probe,
            "ready": self.ready,
            "detail": self.detail,
            "ports": {str(k): v for k, v in self.ports.items()},
            "address": self.address,
            "optional": self.optional,
            "selected": self.selected,
            "probed_at": self.probed_at,
        }
