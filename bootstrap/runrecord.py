"""The record of one ``up``: per service its phase and the moments it was created, launched,
started, first probed and ready (or failed or skipped, and why), its probe attempts and what
the last one saw; per phase its barrier; the critical chain; the versions. Kept under
``.bootstrap/runs/`` (the last 20), rendered by ``bootstrap trace``.

``Recorder`` is a reporter (the scheduler's observer): it sees the events as they happen and
notes when, on the same monotonic clock as the outcome. Building the record is pure.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bootstrap.errors import ConfigError
from bootstrap.paths import state_dir
from bootstrap.runtime import ContainerInfo

if TYPE_CHECKING:  # only types: `ps` and `trace` read records without the scheduler
    from bootstrap.scheduler import Event, Outcome, Reporter

RECORD_SCHEMA = 1
KEEP = 20


@dataclass
class Recorder:
    """Passes every event on, and remembers (monotonic time, event)."""

    forward: Reporter
    seen: list[tuple[float, Event]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, event: Event) -> None:
        with self._lock:
            self.seen.append((time.monotonic(), event))
        self.forward(event)


def _wall(stamp: str) -> float | None:
    """An engine timestamp (RFC 3339 with nanoseconds) as epoch seconds."""
    if not stamp or stamp.startswith("0001"):
        return None
    whole, _dot, fraction = stamp.rstrip("Z").partition(".")
    try:
        base = datetime.fromisoformat(whole).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None
    return base + float("0." + (fraction[:6] or "0"))


def build_record(
    *,
    project: str,
    outcome: Outcome,
    events: list[tuple[float, Event]],
    began_wall: float,
    containers: Mapping[str, ContainerInfo],
    versions: Mapping[str, str],
    redact: Callable[[str], str] = lambda s: s,
) -> dict[str, Any]:
    """The record as plain data: times in seconds from the start of ``up``. Pure."""

    def rel(moment: float | None) -> float | None:
        return None if moment is None else round(moment - outcome.began, 3)

    first: dict[tuple[str, str], float] = {}
    observed: dict[str, list[dict[str, Any]]] = {}
    for moment, event in events:
        first.setdefault((event.service, event.state), moment)
        if event.state == "observed":
            observed.setdefault(event.service, []).append(
                {"at": rel(moment), "saw": redact(event.detail)}
            )
    chain = outcome.critical_chain()
    services: dict[str, Any] = {}
    for name, result in outcome.results.items():
        info = containers.get(name)
        created = _wall(info.created_at) if info else None
        ended = result.ready_at or first.get((name, result.status.value))
        services[name] = {
            "phase": result.phase,
            "status": result.status.value,
            "optional": result.optional,
            "created": None if created is None else round(created - began_wall, 3),
            "launched": rel(first.get((name, "starting"))),
            "started": rel(result.started_at),
            "first_probe": rel(first.get((name, "probing"))),
            "ended": rel(ended),
            "attempts": result.attempts,
            "observed": observed.get(name, []),  # each change of the probe's outcome
            "detail": redact(result.reason.splitlines()[0] if result.reason else ""),
            "critical": name in chain,
        }
    phases = [
        {
            "name": event.detail,
            "barrier": rel(moment),
            "services": [n for n, s in services.items() if s["phase"] == event.detail],
        }
        for moment, event in events
        if event.state == "phase"
    ]
    return {
        "schema": RECORD_SCHEMA,
        "project": project,
        "began": datetime.fromtimestamp(began_wall, UTC).isoformat(timespec="milliseconds"),
        "total": round(outcome.ended - outcome.began, 3),
        "ok": outcome.ok,
        "cancelled": outcome.cancelled,
        "critical_chain": chain,
        "phases": phases,
        "services": services,
        "versions": dict(versions),
    }


def runs_folder(workspace_directory: Path) -> Path:
    return state_dir(workspace_directory) / "runs"


def save_record(folder: Path, record: dict[str, Any], *, keep: int = KEEP) -> Path:
    """Write it whole (temporary name, then rename), then keep only the newest ``keep``."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = record["began"].replace(":", "").replace("-", "").split(".")[0]
    path = folder / f"{stamp}-{record['project']}.json"
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(record, indent=1), encoding="utf-8")
    temporary.replace(path)
    for old in list_records(folder)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def list_records(folder: Path, project: str | None = None) -> list[Path]:
    if not folder.is_dir():
        return []
    """The kept records, oldest first; only ``project``'s where given. A name is the run's
    moment (no dash in it) and the project's: ``shop`` is not ``my-shop``."""
    runs = sorted(p for p in folder.glob("*.json") if not p.name.startswith("."))
    return [p for p in runs if project is None or p.stem.partition("-")[2] == project]


def load_record(path: Path) -> dict[str, Any]:
    """A kept record, refused (exit 2, naming the file) where it is not one ``up`` wrote: a
    record is a file of the workspace, and a cloned or damaged one is read as data only."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problem: str | None = f"not JSON ({exc})"
    else:
        problem = record_problem(data)
    if problem is not None:
        raise ConfigError(
            f"not a run record bootstrap can read: {problem}",
            location=str(path),
            hint=f"remove it (rm '{path}'); `bootstrap up` records every run",
        )
    record: dict[str, Any] = data
    return record


_NUMBER = (int, float)
_MOMENT = (int, float, type(None))
# what trace, its HTML page and the OpenTelemetry export read of a record: key -> types
_RECORD_FIELDS: dict[str, tuple[type, ...]] = {
    "project": (str,),
    "began": (str,),
    "total": _NUMBER,
    "critical_chain": (list,),
    "phases": (list,),
    "services": (dict,),
    "versions": (dict,),
}
_PHASE_FIELDS: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "barrier": _NUMBER,
    "services": (list,),
}
_SERVICE_FIELDS: dict[str, tuple[type, ...]] = {
    "status": (str,),
    "launched": _MOMENT,
    "started": _MOMENT,
    "ended": _MOMENT,
    "attempts": (int,),
    "detail": (str,),
    "critical": (bool,),
}
_OBSERVED_FIELDS: dict[str, tuple[type, ...]] = {"at": _NUMBER, "saw": (str,)}
_KIND = {str: "text", int: "a number", bool: "true or false", list: "a list", dict: "an object"}


def record_problem(data: object) -> str | None:
    """What makes the data not a record as ``up`` writes it (None where nothing does). Pure."""
    problem = _wrong(data, _RECORD_FIELDS, "")
    if problem is not None or not isinstance(data, dict):
        return problem
    try:
        datetime.fromisoformat(data["began"])
    except ValueError:
        return "began is not a time (ISO 8601)"
    if not all(isinstance(n, str) for n in data["critical_chain"]):
        return "critical_chain is not a list of names"
    for index, phase in enumerate(data["phases"]):
        where = f"phases[{index}]"
        problem = problem or _wrong(phase, _PHASE_FIELDS, where)
        if problem is None and not all(isinstance(n, str) for n in phase["services"]):
            problem = f"{where}.services is not a list of names"
    for name, entry in data["services"].items():
        where = f"services.{name}"
        problem = problem or _wrong(entry, _SERVICE_FIELDS, where)
        for at, seen in enumerate(entry.get("observed", []) if problem is None else []):
            problem = problem or _wrong(seen, _OBSERVED_FIELDS, f"{where}.observed[{at}]")
    return problem


def _wrong(item: object, fields: dict[str, tuple[type, ...]], where: str) -> str | None:
    if not isinstance(item, dict):
        return f"{where or 'the file'} is not an object"
    for key, types in fields.items():
        value = item.get(key)
        # a bool is an int to isinstance: only a field of bools takes one
        if (
            key not in item
            or not isinstance(value, types)
            or (isinstance(value, bool) and bool not in types)
        ):
            name = f"{where}.{key}" if where else key
            return f"{name} is missing or not {_KIND[types[0]]}"
    return None
