"""The README's reliability figures agree with the cases the suite has (one collection)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.readme_counts import sentence

ROOT = Path(__file__).resolve().parents[2]


def test_readme_counts_match_the_suite() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.readme_counts", "--collect"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("COUNTS "))
    collected = json.loads(line[len("COUNTS ") :])
    readme = (ROOT / "README.md").read_text()
    assert sentence(collected) in readme, "run `uv run nox -s readme` to refresh the figures"
    assert "; all pass" in readme
