"""``up`` on Docker Compose's own end-to-end fixtures (``../shared/corpus/compose-e2e``, read at
run time from a temporary copy; none of their files is in this repository): each fixture's file
brought up by ``docker compose up -d --wait`` and by ``bootstrap up``, alternating pair by
pair, everything removed between runs. Where both succeed, the ratio of their times; where
both refuse, the ratio of the time to the refusal; where one succeeds and the other does not,
no ratio and a note (a difference of semantics, which docs/compose-differences.md must say).

Images the fixtures name and the machine lacks are tagged from stand-ins for the run
(``nginx:alpine`` from ``nginx``, ``bash`` from ``busybox`` where there is no bash image) and
untagged after; a fixture whose image cannot be stood in for is skipped, saying so."""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import uuid
from pathlib import Path

from bench.common import BOOTSTRAP, REPO, Figure, log, run, summary

CORPUS = REPO.parent / "shared" / "corpus" / "compose-e2e"
WAIT = "60"
STAND_INS = {"nginx:alpine": "nginx:latest", "bash": "busybox:latest", "alpine": "alpine:latest"}


def main_file(folder: Path) -> str:
    """The fixture's file: the one its SOURCE names (``path: .../NAME``), else the only one."""
    source = (folder / "SOURCE").read_text() if (folder / "SOURCE").is_file() else ""
    named = re.search(r"^path: .*/([^/\s]+)$", source, re.M)
    if named and (folder / named.group(1)).is_file():
        return named.group(1)
    files = sorted(p.name for p in folder.glob("*.y*ml"))
    return "compose.yaml" if "compose.yaml" in files else files[0]


def image_present(image: str) -> bool:
    return (
        subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode == 0
    )


def stand_in() -> list[str]:
    """Tag the stand-ins that are missing; returns the tags made (to remove after)."""
    made = []
    for name, source in STAND_INS.items():
        if not image_present(name) and image_present(source):
            subprocess.run(["docker", "tag", source, name], check=True, capture_output=True)
            made.append(name)
    return made


class Fixture:
    def __init__(self, folder: Path, scratch: Path) -> None:
        self.name = folder.name
        self.directory = scratch / folder.name
        shutil.copytree(folder, self.directory, symlinks=True)
        self.file = main_file(folder)
        self.project = f"bfx{uuid.uuid4().hex[:6]}"

    def compose(self) -> tuple[float, int]:
        elapsed, done = run(
            [
                "docker", "compose", "--project-directory", str(self.directory),
                "-p", self.project, "-f", str(self.directory / self.file),
                "up", "-d", "--wait", "--wait-timeout", WAIT,
            ],
            check=False,
        )  # fmt: skip
        return elapsed, done.returncode

    def bootstrap(self) -> tuple[float, int]:
        elapsed, done = run(
            [
                BOOTSTRAP, "-C", str(self.directory), "-p", self.project,
                "-f", str(self.directory / self.file), "up", "--timeout", WAIT,
            ],
            check=False,
        )  # fmt: skip
        return elapsed, done.returncode

    def reset(self) -> None:
        run(
            [
                "docker", "compose", "--project-directory", str(self.directory),
                "-p", self.project, "-f", str(self.directory / self.file),
                "down", "-v", "--remove-orphans", "-t", "0",
            ],
            check=False,
        )  # fmt: skip


def pairs(fixture: Fixture, runs: int) -> tuple[list[float], list[float], list[tuple[bool, bool]]]:
    """``runs`` alternating pairs after a warm-up pair: times, and whether each succeeded."""
    mine: list[float] = []
    theirs: list[float] = []
    outcomes: list[tuple[bool, bool]] = []
    for index in range(runs + 1):  # the first pair warms up, not recorded
        order = [("bootstrap", fixture.bootstrap), ("compose", fixture.compose)]
        if index % 2:
            order.reverse()
        pair = {}
        for who, tool in order:
            pair[who] = tool()
            fixture.reset()
        if index:
            mine.append(pair["bootstrap"][0])
            theirs.append(pair["compose"][0])
            outcomes.append((pair["bootstrap"][1] == 0, pair["compose"][1] == 0))
    return mine, theirs, outcomes


def bench_fixtures(runs: int, tmp: Path) -> list[Figure]:
    if not CORPUS.is_dir():
        log(f"{CORPUS} is not here: the compose fixtures are skipped")
        return []
    made = stand_in()
    figure = Figure(
        "compose-e2e",
        f"compose's e2e fixtures (v2.40.3, {CORPUS}): `bootstrap up` against `docker compose "
        f"up -d --wait`, {runs} alternating pairs each after a warm-up, everything removed "
        "between runs; per fixture the median of per-pair ratios",
    )
    per_fixture: dict[str, float] = {}
    refusals: dict[str, float] = {}
    try:
        for folder in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
            fixture = Fixture(folder, tmp)
            text = (fixture.directory / fixture.file).read_text()
            images = set(re.findall(r"image:\s*\"?([^\s\"]+)", text))
            absent = sorted(i for i in images if "$" not in i and not image_present(i))
            if absent:
                figure.notes.append(f"{fixture.name}: skipped, no image {', '.join(absent)}")
                continue
            mine, theirs, outcomes = pairs(fixture, runs)
            ratio = statistics.median(m / t for m, t in zip(mine, theirs, strict=True))
            figure.runs[f"{fixture.name} bootstrap"] = mine
            figure.runs[f"{fixture.name} compose"] = theirs
            both_up = all(b and c for b, c in outcomes)
            both_refuse = all(not b and not c for b, c in outcomes)
            if both_up:
                per_fixture[fixture.name] = ratio
            elif both_refuse:
                refusals[fixture.name] = statistics.median(mine) - statistics.median(theirs)
            else:
                figure.notes.append(
                    f"{fixture.name}: outcomes differ (bootstrap ok, compose ok): {outcomes}"
                )
            log(
                f"{fixture.name}: bootstrap {statistics.median(mine):.2f} s, compose "
                f"{statistics.median(theirs):.2f} s, {ratio:.2f}x, outcomes {outcomes[0]}"
            )
    finally:
        for tag in made:
            subprocess.run(["docker", "rmi", tag], capture_output=True)
    ratios = list(per_fixture.values())
    if ratios:
        figure.ratios["bootstrap/compose (both up), each fixture's median"] = ratios
        worst = max(per_fixture, key=lambda k: per_fixture[k])
        figure.notes.append(
            f"both up on {len(ratios)} fixtures: median {statistics.median(ratios):.2f}x, "
            f"worst {worst} {per_fixture[worst]:.2f}x; at most 1.0x on "
            f"{sum(r <= 1.0 for r in ratios)} of {len(ratios)}"
        )
        figure.notes += [f"  {k}: {v:.2f}x" for k, v in sorted(per_fixture.items())]
        figure.target = "each <= 1.0x, median < 0.9x"
        figure.met = max(ratios) <= 1.0 and statistics.median(ratios) < 0.9
    if refusals:
        figure.notes.append(
            "both refuse: bootstrap's refusal minus compose's, "
            + ", ".join(f"{k} {v * 1000:+.0f} ms" for k, v in sorted(refusals.items()))
            + f" (target: within 100 ms; summary {summary(list(refusals.values()))})"
        )
    return [figure]
