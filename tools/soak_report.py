"""Pass rates from a soak run (the junit files `nox -s soak` writes), into .bootstrap/soak.json
and the README's soak line. ``python -m tools.soak_report KILLS REPEAT MINUTES WORKERS``."""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- soak:begin -->", "<!-- soak:end -->"


def outcomes(path: Path) -> dict[str, list[bool]]:
    """test -> one pass/fail per run (parametrised kill points and repeats folded together)."""
    runs: dict[str, list[bool]] = defaultdict(list)
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        if case.find("skipped") is not None:
            continue
        name = re.sub(r"\[.*\]$", "", case.get("name", ""))
        failed = case.find("failure") is not None or case.find("error") is not None
        runs[f"{case.get('classname', '')}.{name}"].append(not failed)
    return dict(runs)


def main() -> int:
    kills, repeat, minutes, workers = sys.argv[1:5]
    folder = ROOT / ".bootstrap"
    killed = outcomes(folder / "soak-kills.xml")
    repeated = outcomes(folder / "soak-repeat.xml") | outcomes(folder / "soak-engine.xml")
    report: dict[str, Any] = {
        "kill_points": int(kills),
        "repeat": int(repeat),
        "minutes": float(minutes),
        "workers": int(workers),
        "kills": {k: [sum(v), len(v)] for k, v in killed.items()},
        "repeated": {k: [sum(v), len(v)] for k, v in repeated.items()},
    }
    (folder / "soak.json").write_text(json.dumps(report, indent=2))
    per_command = ", ".join(
        f"{k.rsplit('.', 1)[1].removeprefix('test_kill_9_during_').split('_')[0]} {ok}/{total}"
        for k, (ok, total) in report["kills"].items()
        if "kill_9" in k
    )
    perfect = sum(1 for ok, total in report["repeated"].values() if ok == total)
    below = [
        f"{k.rsplit('.', 1)[1]} {ok}/{total}"
        for k, (ok, total) in report["repeated"].items()
        if ok < total
    ]
    line = (
        f"Last `uv run nox -s soak` ({kills} kill points per command, every fault and data test "
        f"{repeat} times, {workers} workers, {minutes} minutes on this 2-core machine): kill -9 "
        f"survived: {per_command}; {perfect} of {len(report['repeated'])} tests passed every "
        "repetition" + (f"; below {repeat}/{repeat}: {', '.join(below)}" if below else "") + "."
    )
    print(line)
    readme = ROOT / "README.md"
    text = readme.read_text()
    if BEGIN in text:
        start, end = text.index(BEGIN), text.index(END) + len(END)
        readme.write_text(text[:start] + f"{BEGIN}\n{line}\n{END}" + text[end:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
