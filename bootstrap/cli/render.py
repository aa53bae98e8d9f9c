"""Reporters: the scheduler's events as JSON lines, plain lines, or a live table on a TTY."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from bootstrap.cli.context import colour_enabled, printable, show
from bootstrap.scheduler import Event, Outcome, Status

_STATE_COLOURS = {
    "ready": "green",
    "degraded": "yellow",
    "failed": "red",
    "skipped": "yellow",
    "cancelled": "yellow",
    "probing": "cyan",
    "starting": "cyan",
}


class JsonReporter:
    """One JSON object per line on stdout."""

    def __init__(self, redact: Callable[[str], str]) -> None:
        self.redact = redact
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        document = {
            "service": event.service,
            "state": event.state,
            "phase": event.phase,
            "detail": self.redact(event.detail),
            "timestamp": round(event.timestamp, 3),
        }
        with self._lock:
            show(json.dumps(document))

    def close(self) -> None:
        pass


class PlainReporter:
    """Human lines on stderr, one per event."""

    def __init__(self, redact: Callable[[str], str]) -> None:
        self.redact = redact
        self.began = time.monotonic()
        self._lock = threading.Lock()
        self.colour = colour_enabled()

    def __call__(self, event: Event) -> None:
        if event.state == "observed":  # a probe's intermediate outcomes: --json and the record
            return
        elapsed = time.monotonic() - self.began
        if event.state == "phase":
            text = f"[{elapsed:6.2f}s] == phase {event.detail}"
        elif event.state == "note":
            text = f"[{elapsed:6.2f}s] {event.detail}"
        else:
            first = event.detail.splitlines()[0] if event.detail else ""
            text = f"[{elapsed:6.2f}s] {event.service:<22} {event.state:<9} {first}".rstrip()
        colour = _STATE_COLOURS.get(event.state) if self.colour else None
        with self._lock:
            show(self.redact(text), err=True, fg=colour)

    def close(self) -> None:
        pass


class LiveReporter:
    """A live per-service table (phase, state, elapsed) with rich, on a TTY only."""

    def __init__(self, redact: Callable[[str], str], services: list[tuple[str, str]]) -> None:
        from rich.console import Console
        from rich.live import Live

        self.redact = redact
        self.began = time.monotonic()
        self.rows: dict[str, dict[str, Any]] = {
            name: {"phase": phase, "state": "pending", "detail": "", "since": None, "took": None}
            for name, phase in services
        }
        self._lock = threading.Lock()
        self.console = Console(file=sys.stderr, no_color=not colour_enabled())
        self.live = Live(self._table(), console=self.console, refresh_per_second=8, transient=False)
        self.live.start()

    def _table(self) -> Any:
        from rich.table import Table
        from rich.text import Text  # the detail as text, never as rich's markup

        table = Table(box=None, pad_edge=False)
        for column in ("service", "phase", "state", "elapsed", "detail"):
            table.add_column(column)
        now = time.monotonic()
        for name, row in self.rows.items():
            elapsed = (
                row["took"]
                if row["took"] is not None
                else (now - row["since"] if row["since"] else None)
            )
            colour, detail = _STATE_COLOURS.get(row["state"], "white"), row["detail"]
            table.add_row(
                name,
                row["phase"],
                f"[{colour}]{row['state']}[/]",
                f"{elapsed:.2f}s" if elapsed is not None else "",
                Text(printable(self.redact(detail.splitlines()[0] if detail else ""))[:70]),
            )
        return table

    def __call__(self, event: Event) -> None:
        with self._lock:
            row = self.rows.get(event.service)
            if row is None or event.state == "observed":
                return
            if event.state == "starting":
                row["since"] = time.monotonic()
            if (
                event.state in ("ready", "degraded", "failed", "skipped", "cancelled")
                and row["since"] is not None
            ):
                row["took"] = time.monotonic() - row["since"]
            row["state"], row["detail"] = event.state, event.detail
            self.live.update(self._table())

    def close(self) -> None:
        self.live.stop()


def summary_lines(outcome: Outcome) -> list[str]:
    """The final table: every service, its readiness time, and the critical chain."""
    lines = [f"{'service':<22} {'phase':<11} {'status':<9} {'ready in':>9}  detail"]
    for result in outcome.results.values():
        took = f"{result.duration:.2f}s" if result.duration is not None else "-"
        first = result.reason.splitlines()[0] if result.reason else ""
        lines.append(
            f"{result.service:<22} {result.phase:<11} {result.status.value:<9} "
            f"{took:>9}  {first[:90]}"
        )
    chain = outcome.critical_chain()
    total = outcome.ended - outcome.began
    if chain:
        lines.append(f"critical chain ({total:.2f}s in all): " + " -> ".join(chain))
    for result in outcome.results.values():
        if result.status is Status.FAILED and result.log_tail:
            lines.append(f"--- {result.service}: last log lines ---")
            lines.extend("  " + line for line in result.log_tail.splitlines())
    return lines


def outcome_document(outcome: Outcome) -> dict[str, Any]:
    return {
        "ok": outcome.ok,
        "cancelled": outcome.cancelled,
        "elapsed": round(outcome.ended - outcome.began, 3),
        "critical_chain": outcome.critical_chain(),
        "services": {
            r.service: {
                "phase": r.phase,
                "status": r.status.value,
                "optional": r.optional,
                "ready_in": round(r.duration, 3) if r.duration is not None else None,
                "detail": r.reason,
                "log_tail": r.log_tail,
            }
            for r in outcome.results.values()
        },
    }
