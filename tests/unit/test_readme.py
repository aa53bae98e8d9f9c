"""docs/reliability.md's figures agree with the cases the suite has (one collection)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tools.readme_counts import sentence

ROOT = Path(__file__).resolve().parents[2]


def test_readme_counts_match_the_suite() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tools.readme_counts", "--collect"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("COUNTS "))
    collected = json.loads(line[len("COUNTS ") :])
    page = (ROOT / "docs" / "reliability.md").read_text()
    assert sentence(collected) in page, "run `uv run nox -s readme` to refresh the figures"
    ran = re.search(r"; none failed in the last .*?\((.*?)\)\.", page)
    assert ran, "the last run's outcome is not in docs/reliability.md"
    for kind, passed, skipped, failed in re.findall(
        r"([a-z][a-z ]*): (\d+) passed, (\d+) skipped, (\d+) failed", ran.group(1)
    ):
        tried = re.search(rf"(\d+) {kind} \(", page)
        assert tried, kind
        assert int(passed) + int(skipped) + int(failed) == int(tried.group(1)), kind
        assert int(failed) == 0, kind
