"""Writes the README's reliability figures from what the suite measured.

``uv run nox -s readme`` runs the reliability cases (pytest -m), which write
.bootstrap/reliability.json, then calls this to rewrite the block between the markers.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- reliability:begin -->", "<!-- reliability:end -->"
NAMES = {
    "bad_input": "bad inputs",
    "fault": "faults",
    "data": "data cases",
    "security": "security cases",
}


def block(counts: dict[str, dict[str, int]]) -> str:
    total = {m: sum(c.values()) for m, c in counts.items()}
    passed = {m: c["passed"] for m, c in counts.items()}
    every = all(passed[m] == total[m] for m in counts)
    parts = ", ".join(f"{total[m]} {NAMES[m]}" for m in NAMES)
    verdict = (
        "all pass"
        if every
        else "NOT all pass: " + ", ".join(f"{passed[m]}/{total[m]} {NAMES[m]}" for m in NAMES)
    )
    return (
        f"{BEGIN}\nThe reliability suite tries {parts}; {verdict} "
        "(counted by pytest markers in the last `uv run nox -s readme`).\n" + END
    )


def main() -> int:
    counts = json.loads((ROOT / ".bootstrap" / "reliability.json").read_text())
    readme = ROOT / "README.md"
    text = readme.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    readme.write_text(text[:start] + block(counts) + text[end:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
