"""Compose's lifecycle hooks (``pre_start`` since Compose 5.3, ``post_start``, ``pre_stop``),
side by side on the real engine with Compose 5.6.1: each of compose's own hook scenarios
(``../shared/corpus/compose-e2e-5``, read at run time; compose's ``pkg/e2e/hooks_test.go`` says
what each must do) is brought up with ``docker compose up -d --wait`` in one copy and with
``bootstrap up`` in another, and what a user would see is compared: the outcome, the
containers' states, what the hooks wrote, and what the output names. Steps after the first
(an unchanged re-up, a spec change, ``--force-recreate``, ``down``) are taken on both too."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import CORPUS, Project, compose_version

pytestmark = pytest.mark.docker
SCENARIOS = CORPUS / "compose-e2e-5"
COMPOSE = "5.6.1"


@dataclass(frozen=True)
class Step:
    verb: str  # up, up --force-recreate, down
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    steps: tuple[Step, ...] = (Step("up"),)
    # after the last step, read on both sides: (file in the `data` volume); must agree (its
    # number of lines where a hook writes a random token)
    volume_files: tuple[str, ...] = ()
    said: tuple[str, ...] = ()  # what both outputs name (a failing hook)
    logs: tuple[tuple[str, str], ...] = ()  # (service, text its log must hold)


SCENARIO_CASES = {
    "TestPreStartHookSuccess": Scenario(logs=(("sample", "initialized"),)),
    "TestPreStartHookInError": Scenario(said=("pre_start", "17")),
    "TestPreStartHookMidSequenceFailure": Scenario(
        volume_files=("hooks.txt",), said=("pre_start[1]", "17")
    ),
    "TestPreStartHookSequentialOrder": Scenario(volume_files=("out",)),
    "TestPreStartHookRunsOnceForScaledService": Scenario(volume_files=("log",)),
    "TestPreStartHookIdempotentReUp": Scenario((Step("up"), Step("up")), ("tokens.txt",)),
    "TestPreStartHookReRunOnSpecChange": Scenario(
        (Step("up", {"HOOK_VERSION": "v1"}), Step("up", {"HOOK_VERSION": "v2"})),
        ("versions.txt",),
    ),
    "TestPreStartHookForceRecreate": Scenario(
        (Step("up"), Step("up --force-recreate")), ("tokens.txt",)
    ),
    "TestPostStartHookSuccess": Scenario(),
    "TestPostStartHookInError": Scenario(said=("hook exited with status 127",)),
    "TestPostStartAndPreStopHook": Scenario((Step("up"), Step("down")), ("log.txt",)),
    "TestPreStopHookSuccess": Scenario((Step("up"), Step("down")), ("log.txt",)),
    "TestPreStopHookInError": Scenario((Step("up"), Step("down"))),
}
# compose's other scenarios use verbs bootstrap does not have (`stop SERVICE`, `up --scale`)
NOT_BOOTSTRAPS = {"TestPreStartHookNotReRunOnScaleUp", "TestPreStopHookSuccessWithPreviousStop"}


def test_every_scenario_of_compose_has_a_case() -> None:
    if not SCENARIOS.is_dir():
        pytest.skip(f"{SCENARIOS} is absent")
    found = {p.name for p in SCENARIOS.iterdir() if p.is_dir()}
    assert found == set(SCENARIO_CASES) | NOT_BOOTSTRAPS


@dataclass
class Side:
    project: Project
    env: dict[str, str]
    output: str = ""
    codes: list[int] = field(default_factory=list)

    def command(self, verb: str) -> list[str]:
        words = verb.split()
        if self.project.name.startswith("cmp"):
            wait = ["-d", "--wait", "--wait-timeout", "60"] if words[0] == "up" else []
            # the file named, as compose's own tests do (Compose 5.6.1 runs pre_stop hooks only
            # when it reads the project from its files, not from the containers' labels)
            named = ["-f", "compose.yaml", "-p", self.project.name]
            return ["docker", "compose", *named, *words, *wait]
        return [sys.executable, "-m", "bootstrap", "-p", self.project.name, *words]

    def run(self, step: Step) -> None:
        done = subprocess.run(
            self.command(step.verb),
            cwd=self.project.directory,
            capture_output=True,
            text=True,
            env={**self.env, **step.env},
            timeout=240,
        )
        self.output += done.stdout + done.stderr
        self.codes.append(done.returncode)

    def states(self) -> list[str]:
        return sorted(
            f"{c['Config']['Labels']['com.docker.compose.service']}={c['State']['Status']}"
            for c in self.project.containers()
            if "com.docker.compose.service" in c["Config"]["Labels"]
            and c["Config"]["Labels"].get("com.docker.compose.oneoff") != "True"
        )

    def volume_file(self, name: str) -> str:
        done = subprocess.run(
            ["docker", "run", "--rm", "-v", f"{self.project.name}_data:/mnt", "alpine",
             "cat", f"/mnt/{name}"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        if done.returncode != 0:
            return f"(no {name})"
        if name.startswith("tokens"):
            return f"{len(done.stdout.splitlines())} lines"
        return done.stdout

    def logs(self, service: str) -> str:
        return subprocess.run(
            ["docker", "compose", "-p", self.project.name, "logs", service],
            cwd=self.project.directory,
            capture_output=True,
            text=True,
            env=self.env,
        ).stdout


@pytest.fixture
def sides(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Side, Side]]:
    name: str = request.node.callspec.params["name"]
    if not (SCENARIOS / name).is_dir():
        pytest.skip(f"{SCENARIOS / name} is absent")
    env = compose_version(COMPOSE)
    tag = uuid.uuid4().hex[:6]
    made = []
    for prefix in ("cmp", "bst"):
        folder = tmp_path / f"{prefix}{tag}"
        shutil.copytree(SCENARIOS / name, folder)
        made.append(Side(Project(folder.name, folder), env))
    try:
        yield made[0], made[1]
    finally:
        for side in made:
            side.project.cleanup()


def outcome(code: int) -> str:
    return "ok" if code == 0 else "failed"


@pytest.mark.parametrize("name", sorted(SCENARIO_CASES))
def test_bootstrap_keeps_composes_hooks(name: str, sides: tuple[Side, Side]) -> None:
    case = SCENARIO_CASES[name]
    compose, ours = sides
    for step in case.steps:
        compose.run(step)
        ours.run(step)
        assert [outcome(c) for c in ours.codes] == [outcome(c) for c in compose.codes], (
            f"compose:\n{compose.output}\nbootstrap:\n{ours.output}"
        )
    assert ours.states() == compose.states()
    for file in case.volume_files:
        assert ours.volume_file(file) == compose.volume_file(file), file
    for text in case.said:
        assert text in compose.output, compose.output
        assert text in ours.output, ours.output
    for service, text in case.logs:
        assert text in compose.logs(service)
        assert text in ours.logs(service)
