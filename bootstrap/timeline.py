"""A run record as a timeline: a compact text view, a self-contained HTML page (inline SVG
and CSS: no script, no font, nothing from the network), and a comparison of two runs. Pure."""

from __future__ import annotations

from html import escape
from typing import Any

Record = dict[str, Any]
_COLOURS = {"ready": "#2e8540", "degraded": "#c77c02", "failed": "#c0392b", "skipped": "#999"}


def _rows(record: Record) -> list[tuple[str, str, dict[str, Any]]]:
    """(phase, service, entry) in phase order, each phase's services by start."""
    rows = []
    for phase in record["phases"]:
        members = [(n, record["services"][n]) for n in phase["services"] if n in record["services"]]
        members.sort(key=lambda item: (item[1]["launched"] is None, item[1]["launched"] or 0.0))
        rows += [(phase["name"], name, entry) for name, entry in members]
    return rows


def _span(entry: dict[str, Any]) -> tuple[float, float, float]:
    """(launched, started, ended): the engine's part is launched->started, readiness after."""
    launched = entry["launched"] if entry["launched"] is not None else entry["ended"] or 0.0
    started = entry["started"] if entry["started"] is not None else launched
    ended = entry["ended"] if entry["ended"] is not None else started
    return float(launched), float(started), float(ended)


def supervision_lines(record: Record) -> list[str]:
    """The supervision lane: what the supervisor did after this run (its ``supervision``)."""
    actions = record.get("supervision") or []
    if not actions:
        return []
    began = _epoch(record["began"])
    lines = ["supervision (after the run)"]
    for action in actions:
        offset = float(action["at"]) - began
        who = action.get("service") or "(engine)"
        lines.append(f"  +{offset:8.2f}s {who:<20} {action['kind']}: {action['reason']}")
    return lines


def _epoch(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp).timestamp()


def text(record: Record, width: int = 48) -> str:
    """One line per service: its bar over the run (= engine start, - waiting for readiness)."""
    total = max(float(record["total"]), 0.001)
    scale = width / total
    lines = [f"run {record['began']}  project {record['project']}  {record['total']:.2f}s"]
    current = ""
    for phase, name, entry in _rows(record):
        if phase != current:
            current = phase
            barrier = next(p["barrier"] for p in record["phases"] if p["name"] == phase)
            lines.append(f"{phase} (from {barrier:.2f}s)")
        launched, started, ended = _span(entry)
        bar = (
            " " * round(launched * scale)
            + "=" * max(0, round(started * scale) - round(launched * scale))
            + "-" * max(1, round(ended * scale) - round(started * scale))
        )
        mark = "*" if entry["critical"] else " "
        lines.append(
            f" {mark}{name:<22} |{bar:<{width}}| {ended - launched:6.2f}s {entry['status']}"
        )
    lines.append("* critical chain: " + " -> ".join(record["critical_chain"]))
    lines.append("= the engine starting the container, - waiting for readiness")
    return "\n".join(lines + supervision_lines(record))


def compare(older: Record, newer: Record) -> list[tuple[str, float | None, float | None]]:
    """(service, seconds from launch to ready before, now), slowest change first."""
    rows = []
    for name in sorted(set(older["services"]) | set(newer["services"])):
        before = _took(older["services"].get(name))
        after = _took(newer["services"].get(name))
        rows.append((name, before, after))
    return sorted(rows, key=lambda r: -((r[2] or 0.0) - (r[1] or 0.0)))


def _took(entry: dict[str, Any] | None) -> float | None:
    if not entry or entry["ended"] is None:
        return None
    launched, _started, ended = _span(entry)
    return round(ended - launched, 3)


def compare_text(older: Record, newer: Record) -> str:
    lines = [
        f"total {older['total']:.2f}s -> {newer['total']:.2f}s "
        f"({newer['total'] - older['total']:+.2f}s)"
    ]
    for name, before, after in compare(older, newer):
        if before is None or after is None:
            lines.append(
                f"  {name:<24} {'-' if before is None else f'{before:.2f}s'} -> "
                f"{'-' if after is None else f'{after:.2f}s'}"
            )
            continue
        change = after - before
        word = "slower" if change > 0 else "faster"
        lines.append(f"  {name:<24} {before:6.2f}s -> {after:6.2f}s  {abs(change):.2f}s {word}")
    return "\n".join(lines)


def _supervision_html(record: Record) -> str:
    lines = supervision_lines(record)
    if not lines:
        return ""
    items = "".join(f"<li>{escape(line.strip())}</li>" for line in lines[1:])
    return f'<h2>Supervision after the run</h2><ul class="supervision">{items}</ul>'


def html(record: Record, previous: Record | None = None) -> str:
    """The Gantt chart page: a row per service grouped by phase, each bar split into the
    engine's part and the wait for readiness, phase barriers, the critical chain outlined,
    hover text with the probe's last detail, and a line against the previous run."""
    rows = _rows(record)
    total = max(float(record["total"]), 0.001)
    left, width, height, top = 210, 760, 22, 40
    scale = width / total
    svg: list[str] = []
    y = top
    current = ""
    for phase, name, entry in rows:
        if phase != current:
            current = phase
            svg.append(f'<text class="phase" x="4" y="{y + 15}">{escape(phase)}</text>')
            y += height
        launched, started, ended = _span(entry)
        colour = _COLOURS.get(entry["status"], "#555")
        critical = ' class="critical"' if entry["critical"] else ""
        hover = escape(
            f"{name}: {entry['status']} in {ended - launched:.2f}s "
            f"(engine {started - launched:.2f}s, readiness {ended - started:.2f}s, "
            f"{entry['attempts']} probe attempts"
            + "".join(f"; at {o['at']:.2f}s saw {o['saw']}" for o in entry.get("observed", []))
            + f") - {entry['detail']}"
        )
        svg.append(
            f'<g{critical} data-service="{escape(name)}"><title>{hover}</title>'
            f'<text x="16" y="{y + 15}">{escape(name)}</text>'
            f'<rect class="engine" x="{left + launched * scale:.1f}" y="{y + 3}" '
            f'width="{max(1.0, (started - launched) * scale):.1f}" height="{height - 6}"/>'
            f'<rect class="wait" fill="{colour}" x="{left + started * scale:.1f}" y="{y + 3}" '
            f'width="{max(1.0, (ended - started) * scale):.1f}" height="{height - 6}"/></g>'
        )
        y += height
    for phase in record["phases"]:
        x = left + float(phase["barrier"]) * scale
        label = escape(phase["name"])
        svg.append(
            f'<line class="barrier" x1="{x:.1f}" x2="{x:.1f}" y1="{top - 8}" y2="{y}"/>'
            f'<text class="barrier-label" x="{x + 3:.1f}" y="{top - 12}">{label}</text>'
        )
    for second in range(int(total) + 1):
        x = left + second * scale
        svg.append(f'<text class="tick" x="{x:.1f}" y="{y + 16}">{second}s</text>')
    against = ""
    if previous is not None:
        change = float(record["total"]) - float(previous["total"])
        word = "slower" if change > 0 else "faster"
        against = (
            f'<p class="compare">{abs(change):.2f}s {word} than the previous run '
            f"({escape(previous['began'])}, {previous['total']:.2f}s)</p>"
        )
    chain = " &rarr; ".join(escape(n) for n in record["critical_chain"])
    versions = ", ".join(f"{escape(k)} {escape(str(v))}" for k, v in record["versions"].items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>bootstrap up: {escape(record["project"])} {escape(record["began"])}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }}
svg text {{ font-size: 12px; fill: #222; }} svg text.phase {{ font-weight: 600; }}
rect.engine {{ fill: #7aa6d8; }} g.critical rect {{ stroke: #000; stroke-width: 2; }}
g.critical text {{ font-weight: 700; }} line.barrier {{ stroke: #888; stroke-dasharray: 4 3; }}
text.barrier-label, text.tick {{ fill: #666; font-size: 11px; }}
.legend span {{ display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 12px; }}
</style></head><body>
<h1>bootstrap up: {escape(record["project"])}</h1>
<p>{escape(record["began"])}: {record["total"]:.2f}s in all; critical chain: {chain}</p>
{against}
<p class="legend"><span style="background:#7aa6d8"></span>engine starting the container
<span style="background:#2e8540"></span>waiting for readiness (ready)
<span style="background:#c0392b"></span>failed</p>
<svg width="{left + width + 40}" height="{y + 30}">
{chr(10).join(svg)}
</svg>
{_supervision_html(record)}
<p class="versions">{versions}</p>
</body></html>
"""
