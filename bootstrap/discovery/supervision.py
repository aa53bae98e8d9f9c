"""Supervision actions as ``bootstrap supervise`` reports them to the discovery service
(``POST /supervision``): the latest kept for the dashboard and ``GET /supervision``, every one
counted by service and kind for Prometheus. Pure.

The body: one action, or ``{"actions": [...]}``; an action is
``{"service", "kind", "reason", "at", "cause"}`` as ``bootstrap.supervise.Action.as_dict``.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from bootstrap.discovery.alerts import PayloadError
from bootstrap.discovery.registry import label_value
from bootstrap.supervise import ActionKind

KEPT = 50
MAX_ACTIONS = 100  # in one report: a supervisor reports one action at a time
MAX_TEXT = 2000  # characters of a service name, reason or cause
SERVICE_NAME = re.compile(r"^[A-Za-z0-9._-]{0,128}$")  # compose's service names, or ""
KINDS = frozenset(k.value for k in ActionKind)


def _action(raw: object) -> dict[str, object]:
    if not isinstance(raw, Mapping):
        raise PayloadError("an action that is not an object")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise PayloadError(f"an action of unknown kind {kind!r}: one of {', '.join(sorted(KINDS))}")
    at = raw.get("at")
    if not isinstance(at, int | float) or isinstance(at, bool):
        raise PayloadError("an action without its time (at: seconds since the epoch)")
    service = str(raw.get("service") or "")
    if not SERVICE_NAME.match(service):
        raise PayloadError("a service name compose would not take")
    if any(len(str(raw.get(key) or "")) > MAX_TEXT for key in ("reason", "cause")):
        raise PayloadError(f"a reason or cause longer than {MAX_TEXT} characters")
    return {
        "service": service,
        "kind": str(kind),
        "reason": str(raw.get("reason") or ""),
        "cause": str(raw.get("cause") or ""),
        "at": float(at),
    }


@dataclass
class SupervisionActions:
    recent: deque[dict[str, object]] = field(default_factory=lambda: deque(maxlen=KEPT))
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)

    def receive(self, payload: object) -> list[dict[str, object]]:
        """Fold one report in (every action checked first); returns the actions taken."""
        listed = payload.get("actions") if isinstance(payload, Mapping) else None
        raws = listed if isinstance(listed, list) else [payload]
        if len(raws) > MAX_ACTIONS:
            raise PayloadError(f"more than {MAX_ACTIONS} actions in one report")
        actions = [_action(raw) for raw in raws]
        for action in actions:
            self.recent.append(action)
            self.counts[(str(action["service"]), str(action["kind"]))] += 1
        return actions

    def latest(self) -> list[dict[str, object]]:
        """Newest first."""
        return list(reversed(self.recent))

    def metrics_lines(self) -> list[str]:
        lines = [
            "# HELP bootstrap_supervision_actions_total Supervision actions by service and kind "
            "(restarted, healed, crash-loop...), as bootstrap supervise reported them.",
            "# TYPE bootstrap_supervision_actions_total counter",
        ]
        for (service, kind), count in sorted(self.counts.items()):
            lines.append(
                "bootstrap_supervision_actions_total"
                f'{{service="{label_value(service)}",kind="{kind}"}} {count}'
            )
        return lines
