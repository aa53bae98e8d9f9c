"""``--context`` / ``DOCKER_CONTEXT`` pick the engine for everything a run talks to: the SDK
(which reads no contexts itself) and compose alike."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable, Iterator

import pytest

from tests.conftest import Project

pytestmark = pytest.mark.docker


@pytest.fixture
def contexts() -> Iterator[Callable[[str], str]]:
    made: list[str] = []

    def create(host: str) -> str:
        name = f"bt{uuid.uuid4().hex[:8]}"
        done = subprocess.run(
            ["docker", "context", "create", name, "--docker", f"host={host}"],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        made.append(name)
        return name

    yield create
    for name in made:
        subprocess.run(["docker", "context", "rm", "-f", name], capture_output=True)


def test_the_context_names_the_engine_for_sdk_and_compose(
    contexts: Callable[[str], str], make_project: Callable[..., Project]
) -> None:
    p = make_project("plain", POSTGRES_PASSWORD="ctx-pw-0123456789")
    good = contexts("unix:///var/run/docker.sock")
    nowhere = contexts("tcp://127.0.0.1:9")  # discard: nothing answers there
    env = {"DOCKER_HOST": ""}  # as a user has it: no host set, the context decides
    assert p.run("--context", good, "up", "--timeout", "120", env=env).returncode == 0
    status = p.run("status", "--json", env={"DOCKER_HOST": "", "DOCKER_CONTEXT": good})
    assert status.returncode == 0, status.stderr
    refused = p.run("--context", nowhere, "status", env=env)
    assert refused.returncode == 3, refused.stderr
    assert "Traceback" not in refused.stderr
    missing = p.run("--context", "no-such-context-here", "status", env=env)
    assert missing.returncode == 3 and "docker context ls" in missing.stderr
    assert p.run("--context", good, "down", env=env).returncode == 0
