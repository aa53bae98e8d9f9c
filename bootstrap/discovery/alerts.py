"""Alerts as Alertmanager's webhook reports them: kept while firing, dropped when resolved.
Pure.

The payload (webhook version 4): ``{"status", "receiver", "alerts": [{"status", "labels",
"annotations", "startsAt", "endsAt", "fingerprint"}...]}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Alert:
    fingerprint: str
    name: str
    status: str  # firing, resolved
    severity: str
    service: str
    summary: str
    starts_at: str
    ends_at: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


MAX_ALERTS = 200  # in one webhook call (Alertmanager's max_alerts, 0 by default, is set to it)
MAX_FIRING = 500  # kept at once: past it the oldest firing alerts are dropped
MAX_TEXT = 2000  # characters of any label or annotation kept


class PayloadError(ValueError):
    """The body is not an Alertmanager webhook payload."""


def _alert(raw: Mapping[str, Any]) -> Alert:
    labels = raw.get("labels") or {}
    annotations = raw.get("annotations") or {}
    if not isinstance(labels, Mapping) or not isinstance(annotations, Mapping):
        raise PayloadError("labels and annotations are objects")
    name = str(labels.get("alertname") or "")
    if not name:
        raise PayloadError("an alert without labels.alertname")
    fingerprint = str(raw.get("fingerprint") or "") or ",".join(
        f"{k}={v}" for k, v in sorted(labels.items())
    )
    return Alert(
        fingerprint=fingerprint[:MAX_TEXT],
        name=name[:MAX_TEXT],
        status="resolved" if raw.get("status") == "resolved" else "firing",
        severity=str(labels.get("severity") or "")[:MAX_TEXT],
        service=str(labels.get("service") or labels.get("job") or labels.get("instance") or "")[
            :MAX_TEXT
        ],
        summary=str(annotations.get("summary") or annotations.get("description") or name)[
            :MAX_TEXT
        ],
        starts_at=str(raw.get("startsAt") or "")[:64],
        ends_at=str(raw.get("endsAt") or "")[:64] if raw.get("status") == "resolved" else "",
    )


@dataclass
class Alerts:
    firing: dict[str, Alert] = field(default_factory=dict)

    def receive(self, payload: object) -> list[Alert]:
        """Fold one webhook call in; returns the alerts whose status changed."""
        if not isinstance(payload, Mapping) or not isinstance(payload.get("alerts"), list):
            raise PayloadError("expected Alertmanager's webhook JSON with an alerts list")
        if len(payload["alerts"]) > MAX_ALERTS:
            raise PayloadError(f"more than {MAX_ALERTS} alerts in one call")
        changed = []
        for raw in payload["alerts"]:
            if not isinstance(raw, Mapping):
                raise PayloadError("an alert that is not an object")
            alert = _alert(raw)
            known = alert.fingerprint in self.firing
            if alert.status == "firing":
                self.firing[alert.fingerprint] = alert
                while len(self.firing) > MAX_FIRING:
                    del self.firing[next(iter(self.firing))]
                if not known:
                    changed.append(alert)
            elif known:
                del self.firing[alert.fingerprint]
                changed.append(alert)
        return changed

    def active(self) -> list[dict[str, str]]:
        return [a.as_dict() for a in sorted(self.firing.values(), key=lambda a: a.starts_at)]
