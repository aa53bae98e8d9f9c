"""The reliability figures of docs/reliability.md, counted from the suite.

``python -m tools.readme_counts --collect`` collects the suite once and prints, per reliability
marker, how many cases run against the real engine (marked ``docker``) and how many are unit
cases. ``uv run nox -s readme`` runs the cases (which write ``.bootstrap/reliability.json``
when ``BOOTSTRAP_RELIABILITY_OUT`` names it), then calls this to rewrite the block in
docs/reliability.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- reliability:begin -->", "<!-- reliability:end -->"
NAMES = {
    "bad_input": "bad inputs",
    "fault": "faults",
    "data": "data cases",
    "security": "security cases",
}


def collect() -> dict[str, dict[str, int]]:
    """marker -> {"engine": n, "unit": n}, from one collection of the whole suite."""
    import pytest

    counts = {m: {"engine": 0, "unit": 0} for m in NAMES}

    class Counter:
        def pytest_collection_modifyitems(self, items: list[Any]) -> None:
            for item in items:
                where = "engine" if item.get_closest_marker("docker") else "unit"
                for marker in NAMES:
                    if item.get_closest_marker(marker):
                        counts[marker][where] += 1

    pytest.main(
        ["--collect-only", "-q", "-p", "no:cacheprovider", str(ROOT / "tests")],
        plugins=[Counter()],
    )
    return counts


def sentence(collected: dict[str, dict[str, int]]) -> str:
    parts = ", ".join(
        f"{c['engine'] + c['unit']} {NAMES[m]} ({c['engine']} on the real engine, {c['unit']} unit)"
        for m, c in collected.items()
    )
    return f"The reliability suite tries {parts}"


def block(collected: dict[str, dict[str, int]], results: dict[str, dict[str, int]]) -> str:
    """The sentence, and what the last run did with each kind: passed, skipped (a case that
    needs what the machine lacked) and failed, so the counts add up."""
    failed = sum(r.get("failed", 0) for r in results.values())
    verdict = "none failed" if not failed else f"{failed} FAILED"
    run = "; ".join(
        f"{NAMES[m]}: {r.get('passed', 0)} passed, {r.get('skipped', 0)} skipped, "
        f"{r.get('failed', 0)} failed"
        for m, r in results.items()
    )
    return (
        f"{BEGIN}\n{sentence(collected)}; {verdict} in the last `uv run nox -s readme` "
        f"({run}).\n{END}"
    )


def main() -> int:
    if sys.argv[1:] == ["--collect"]:
        print("COUNTS " + json.dumps(collect()))
        return 0
    results = json.loads((ROOT / ".bootstrap" / "reliability.json").read_text())
    collected = collect()
    readme = ROOT / "docs" / "reliability.md"
    text = readme.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    readme.write_text(text[:start] + block(collected, results) + text[end:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
