"""The README's reliability figures agree with the cases the suite has (by marker)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def collected(marker: str) -> int:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-m",
            marker,
            "-p",
            "no:cacheprovider",
            str(ROOT / "tests"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    match = re.search(r"(\d+)(?:/\d+)? tests? (?:collected|selected)", done.stdout)
    assert match, done.stdout[-500:]
    return int(match.group(1))


def test_readme_counts_match_the_suite() -> None:
    readme = (ROOT / "README.md").read_text()
    line = re.search(
        r"The reliability suite tries (\d+) bad inputs, (\d+) faults, "
        r"(\d+) data cases, (\d+) security cases; all pass",
        readme,
    )
    assert line, "README has no reliability figures: run `uv run nox -s readme`"
    figures = [int(n) for n in line.groups()]
    assert figures == [collected(m) for m in ("bad_input", "fault", "data", "security")]
