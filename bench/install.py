"""What installing bootstrap brings (issue 39, point 4): the wheel built from this checkout,
installed with uv into a fresh virtual environment, once as ``compose-bootstrap`` and once with
every extra (``[all]``): the distributions installed and the megabytes of their site-packages.
Needs the package index (PyPI) for the dependencies."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from bench.common import REPO, Figure, log


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def _install(wheel: Path, extra: str, where: Path) -> tuple[int, float]:
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    venv = where / f"venv{extra or '-base'}"
    subprocess.run([uv, "venv", "-q", str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    target = f"{wheel}[{extra}]" if extra else str(wheel)
    subprocess.run(
        [uv, "pip", "install", "-q", "--python", str(python), target],
        check=True,
        capture_output=True,
    )
    listed = subprocess.run(
        [uv, "pip", "list", "--python", str(python), "--format", "freeze"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    site = next((venv / "lib").glob("python*/site-packages"))
    return len(listed), _size_mb(site)


def bench_install(_runs: int, work: Path) -> list[Figure]:
    log("install: the wheel into fresh virtual environments (base, [all])")
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    dist = work / "dist"
    subprocess.run(
        [uv, "build", "-q", "--wheel", "-o", str(dist)], cwd=REPO, check=True, capture_output=True
    )
    wheel = next(dist.glob("*.whl"))
    base = _install(wheel, "", work)
    full = _install(wheel, "all", work)
    figure = Figure(
        "install",
        "`uv build --wheel`, then `uv pip install` of the wheel into a fresh venv: the "
        "distributions installed (bootstrap's included) and their site-packages' size",
        unit="count / MB",
    )
    figure.notes = [
        f"compose-bootstrap: {base[0]} distributions, {base[1]:.1f} MB",
        f"compose-bootstrap[all] (discovery server, OTLP exporter): {full[0]} distributions, "
        f"{full[1]:.1f} MB",
    ]
    figure.target = "the base lighter than [all]"
    figure.met = base[0] < full[0] and base[1] < full[1]
    return [figure]
