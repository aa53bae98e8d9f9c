"""Recognition on other people's stacks (issue 38): every service of the 37 public stacks in
``../shared/corpus/foreign`` and ``foreign2`` (read at run time from a temporary copy, skipped
where the corpus is absent; none of their files is in this repository) is planned with
``bootstrap plan --offline --json``, all of the stack's profiles active, and its phase and probe
compared with what ``tests/corpus/expected.txt`` says an engineer expects of it.

``python -m tests.integration.test_corpus [DIR...]`` prints the comparison for any folders of
compose projects with an ``expected.txt`` of the same form beside them: the acceptance measure
on stacks that are in neither place is taken that way."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import CORPUS

pytestmark = pytest.mark.docker
EXPECTED = Path(__file__).resolve().parents[1] / "corpus" / "expected.txt"


@dataclass(frozen=True)
class Expected:
    stack: str  # <set>/<name>
    service: str
    phases: tuple[str, ...]
    probes: tuple[str, ...]


@dataclass(frozen=True)
class Seen:
    expected: Expected
    phase: str
    probe: str

    @property
    def phase_right(self) -> bool:
        return self.phase in self.expected.phases

    @property
    def probe_right(self) -> bool:
        return self.probe in self.expected.probes

    @property
    def best_probe(self) -> bool:
        return self.probe == self.expected.probes[0]

    def line(self) -> str:
        e = self.expected
        mark = " " if self.phase_right and self.probe_right else "!"
        return (
            f"{mark} {e.stack} {e.service}: phase {self.phase} (expected {'|'.join(e.phases)}),"
            f" probe {self.probe} (expected {'|'.join(e.probes)})"
        )


def read_expected(path: Path) -> dict[str, list[Expected]]:
    stacks: dict[str, list[Expected]] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        stack, service, phases, probes = line.split()
        stacks.setdefault(stack, []).append(
            Expected(stack, service, tuple(phases.split("|")), tuple(probes.split("|")))
        )
    return stacks


def all_profiles(directory: Path) -> list[str]:
    """Every profile of the stack where compose accepts them together (one stack's profiles
    are alternatives that name the same container: then none)."""
    listed = subprocess.run(
        ["docker", "compose", "config", "--profiles"],
        cwd=directory,
        capture_output=True,
        text=True,
        check=False,
    )
    profiles = listed.stdout.split()
    together = subprocess.run(
        ["docker", "compose", *[a for p in profiles for a in ("--profile", p)], "config", "-q"],
        cwd=directory,
        capture_output=True,
        text=True,
        check=False,
    )
    return profiles if together.returncode == 0 else []


def plan(directory: Path) -> dict[str, object]:
    profiles = all_profiles(directory)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bootstrap",
            "-C",
            str(directory),
            *[a for p in profiles for a in ("--profile", p)],
            "plan",
            "--offline",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode in (0, 2), done.stderr
    return dict(json.loads(done.stdout))


def compare(directory: Path, expected: list[Expected]) -> list[Seen]:
    services = dict(plan(directory)["services"])  # type: ignore[call-overload]
    assert sorted(services) == sorted(e.service for e in expected), directory
    return [
        Seen(e, services[e.service]["phase"], services[e.service]["probe"]["kind"])
        for e in expected
    ]


def summary(seen: list[Seen]) -> str:
    total = len(seen)
    phases = sum(s.phase_right for s in seen)
    probes = sum(s.probe_right for s in seen)
    best = sum(s.best_probe for s in seen)
    return (
        f"{total} services: phase {phases}/{total} ({100 * phases / total:.1f}%), probe"
        f" {probes}/{total} ({100 * probes / total:.1f}%), the best probe {best}/{total}"
        f" ({100 * best / total:.1f}%)"
    )


STACKS = read_expected(EXPECTED)


@pytest.fixture
def copy_of(tmp_path: Path) -> Iterator[object]:
    def make(stack: str) -> Path:
        source = CORPUS / stack
        if not source.is_dir():
            pytest.skip(f"{source} is not here (the corpus is read at run time)")
        target = tmp_path / stack.replace("/", "-")
        shutil.copytree(source, target, symlinks=True)
        return target

    yield make


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_every_service_is_planned_as_an_engineer_expects(stack: str, copy_of) -> None:  # type: ignore[no-untyped-def]
    seen = compare(copy_of(stack), STACKS[stack])
    wrong = [s.line() for s in seen if not (s.phase_right and s.probe_right)]
    assert not wrong, "\n".join(wrong)


def test_the_expectations_cover_every_stack_of_the_corpus() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"{CORPUS} is not here")
    present = {
        f"{group}/{p.name}"
        for group in ("foreign", "foreign2")
        for p in (CORPUS / group).iterdir()
        if p.is_dir()
    }
    assert present == set(STACKS)


def main(folders: list[str]) -> None:
    import tempfile

    seen: list[Seen] = []
    sets = [(folder, read_expected(folder / "expected.txt")) for folder in map(Path, folders)]
    with tempfile.TemporaryDirectory() as scratch:
        for folder, stacks in sets or [(CORPUS, STACKS)]:
            for stack, expected in sorted(stacks.items()):
                target = Path(scratch) / stack.replace("/", "-")
                shutil.copytree(folder / stack, target, symlinks=True)
                seen += compare(target, expected)
    for s in seen:
        print(s.line())
    print(summary(seen))


if __name__ == "__main__":
    main(sys.argv[1:])
