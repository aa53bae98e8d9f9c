"""The workflows' shell steps through shellcheck (what actionlint does with them; actionlint
itself cannot be installed here: its PyPI package downloads its binary from GitHub at build
time). ``${{ ... }}`` expressions become a shell variable first, as actionlint does.

``python -m tools.workflow_lint .github/workflows/*.yml`` exits non-zero on a finding; without
a shellcheck binary it says so and exits 0 (``.ci/run`` installs Debian's).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

EXPRESSION = re.compile(r"\$\{\{.*?\}\}")


def run_steps(workflow: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, script) of every `run:` step."""
    found = []
    for job_name, job in (workflow.get("jobs") or {}).items():
        for index, step in enumerate(job.get("steps") or []):
            if "run" in step:
                where = f"jobs.{job_name}.steps[{index}] ({step.get('name', 'unnamed')})"
                found.append((where, str(step["run"])))
    return found


def main(paths: list[str]) -> int:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        print("workflow_lint: no shellcheck on this machine: run steps not checked")
        return 0
    failed = 0
    for path in paths:
        workflow = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        for where, script in run_steps(workflow):
            text = EXPRESSION.sub("${GITHUB_EXPRESSION}", script)
            with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as handle:
                handle.write("#!/usr/bin/env bash\nset -e\n" + text)
            done = subprocess.run(
                [shellcheck, "-s", "bash", "-e", "SC2154", handle.name],
                capture_output=True,
                text=True,
            )
            Path(handle.name).unlink()
            if done.returncode != 0:
                failed += 1
                print(f"{path}: {where}:\n{done.stdout}")
    print(f"workflow_lint: {len(paths)} workflow(s), {failed} step(s) with findings")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
