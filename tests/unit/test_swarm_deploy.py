"""How the Swarm driver deploys, without a swarm: one ``docker stack deploy`` holding every
new replicated service at 0 replicas, then each released at its turn through the services
API; jobs, global services and services the stack has already go through a deploy at their
turn. On a real multi-node swarm: tests/integration/test_cluster.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

from bootstrap.backends.swarm import driver as swarm_driver
from bootstrap.backends.swarm.driver import SwarmDriver
from bootstrap.backends.swarm.stackfile import SwarmOptions
from tests.unit.fakes import workspace
from tests.unit.helpers import svc

if TYPE_CHECKING:
    from bootstrap.backends.docker import DockerEngine
    from bootstrap.backends.swarm.engine import SwarmServices


class FakeSwarm:
    def __init__(self, existing: dict[str, str]) -> None:
        self.existing = existing
        self.scaled: list[tuple[str, int]] = []

    def stack_services(self, stack: str) -> dict[str, str]:
        return dict(self.existing)

    def scale(self, service: str, replicas: int) -> None:
        self.scaled.append((service, replicas))


def services() -> dict[str, Any]:
    web = svc(depends={"db": "service_healthy"})
    web["deploy"] = {"replicas": 2}
    agent = svc()
    agent["deploy"] = {"mode": "global"}
    return {
        "db": svc("postgres:16"),
        "migrate": svc(labels={"bootstrap.probe": "completed"}, depends={"db": "service_healthy"}),
        "web": web,
        "agent": agent,
    }


def driven(tmp_path: Path, existing: dict[str, str]) -> tuple[SwarmDriver, FakeSwarm]:
    listed = services()
    document: dict[str, Any] = {"name": "shop", "services": listed}
    ws = workspace(tmp_path, listed)
    swarm = FakeSwarm(existing)
    made = SwarmDriver(
        ws,
        cast("DockerEngine", object()),  # only the probe helper would use it
        cast("SwarmServices", swarm),
        document,
        SwarmOptions(),
        5.0,
        lambda _e: None,
        "python",
        {},
    )
    return made, swarm


@pytest.fixture
def deploys(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    seen: list[tuple[str, dict[str, Any]]] = []

    def deploy(stack_file: Path, _stack: str, _resolve: str, _env: object) -> None:
        seen.append((stack_file.name, json.loads(stack_file.read_text())))

    monkeypatch.setattr(swarm_driver, "deploy", deploy)
    return seen


def test_new_replicated_services_are_held_in_one_deploy_then_released_through_the_api(
    tmp_path: Path, deploys: list[tuple[str, dict[str, Any]]]
) -> None:
    driver, swarm = driven(tmp_path, {})
    plan = driver.workspace.plan
    assert driver.start(plan.services["db"]).endswith("through the services API)")
    # one deploy: db and web, held at 0; the job and the global service are not in it
    assert len(deploys) == 1
    name, held = deploys[0]
    assert name == "stack-held.json"
    assert set(held["services"]) == {"db", "web"}
    assert {s["deploy"]["replicas"] for s in held["services"].values()} == {0}
    assert swarm.scaled == [("shop_db", 1)]
    driver.start(plan.services["migrate"])  # a job: its own cumulative deploy, with db
    assert deploys[-1][0] == "stack.json"
    assert set(deploys[-1][1]["services"]) == {"db", "migrate"}
    assert deploys[-1][1]["services"]["db"]["deploy"].get("replicas", 1) == 1
    driver.start(plan.services["web"])
    assert swarm.scaled[-1] == ("shop_web", 2)
    assert len(deploys) == 2  # web needed no deploy of its own
    driver.start(plan.services["agent"])  # global: deployed at its turn
    assert set(deploys[-1][1]["services"]) == {"db", "web", "agent"}
    assert deploys[-1][1]["services"]["web"]["deploy"]["replicas"] == 2


def test_a_service_the_stack_has_already_is_deployed_at_its_turn_not_held(
    tmp_path: Path, deploys: list[tuple[str, dict[str, Any]]]
) -> None:
    driver, swarm = driven(tmp_path, {"db": "id1", "web": "id2"})
    plan = driver.workspace.plan
    driver.start(plan.services["db"])
    assert [name for name, _doc in deploys] == ["stack.json"]  # nothing new to hold
    driver.start(plan.services["web"])
    assert swarm.scaled == []
    assert set(deploys[-1][1]["services"]) == {"db", "web"}
