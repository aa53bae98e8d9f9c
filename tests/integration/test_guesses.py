"""A probe bootstrap guessed from an image never fails what ``docker compose up --wait`` calls
ready: real servers of the wrong kind under names that say otherwise (an nginx tagged like a
Kafka image, a Redis tagged like a PostgreSQL image, a legacy Keycloak layout and Confluent's
Flink-with-Kafka demo image played by an nginx), brought up by compose and by bootstrap side
by side."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Project

pytestmark = pytest.mark.docker

TAG = f"bootstrap-test-{uuid.uuid4().hex[:8]}"
DISGUISES = {  # the name it goes by here -> the image it is
    f"bitnami/kafka:{TAG}": "nginx:stable",
    f"bitnami/postgresql:{TAG}": "redis:7",
    f"jboss/keycloak:{TAG}": "nginx:latest",
    f"cnfldemos/flink-kafka:{TAG}": "nginx:stable",
}
STACK = f"""\
services:
  broker:
    image: bitnami/kafka:{TAG}
    ports: ["127.0.0.1::80"]
  jobmanager:
    image: cnfldemos/flink-kafka:{TAG}
    expose: ["80"]
  warehouse:
    image: bitnami/postgresql:{TAG}
    environment: {{POSTGRESQL_PASSWORD: x}}
  auth:
    image: jboss/keycloak:{TAG}
    expose: ["80"]
"""


@pytest.fixture(scope="module")
def disguised() -> Iterator[None]:
    for name, image in DISGUISES.items():
        subprocess.run(["docker", "tag", image, name], check=True, capture_output=True)
    try:
        yield
    finally:
        subprocess.run(["docker", "rmi", *DISGUISES], capture_output=True)


def test_servers_of_another_kind_are_ready_as_compose_counts_them(
    tmp_path: Path, disguised: None
) -> None:
    runs = {}
    for who in ("cmp", "bst"):
        folder = tmp_path / f"{who}{uuid.uuid4().hex[:6]}"
        folder.mkdir()
        (folder / "compose.yaml").write_text(STACK)
        runs[who] = Project(folder.name, folder)
    try:
        compose = subprocess.run(
            ["docker", "compose", "up", "-d", "--wait", "--wait-timeout", "60"],
            cwd=runs["cmp"].directory,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert compose.returncode == 0, compose.stderr
        ours = subprocess.run(
            [sys.executable, "-m", "bootstrap", "-p", runs["bst"].name, "up", "--json"],
            cwd=runs["bst"].directory,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert ours.returncode == 0, ours.stderr[-3000:]
        ready = {
            e["service"]: e["detail"]
            for e in map(json.loads, ours.stdout.splitlines())
            if e.get("state") == "ready"
        }
        # told apart at its first answer, not after the probe's timeout
        assert "not a Kafka broker" in ready["broker"], ready
        assert "not the kafka server bootstrap guessed" in ready["broker"]
        assert "not a postgres server" in ready["warehouse"], ready
        assert "bootstrap.probe" in ready["warehouse"]
        # the legacy layout is not given the modern Keycloak probe at all
        plan = subprocess.run(
            [sys.executable, "-m", "bootstrap", "-p", runs["bst"].name, "plan", "--json"],
            cwd=runs["bst"].directory,
            capture_output=True,
            text=True,
            timeout=120,
        )
        services = json.loads(plan.stdout)["services"]
        assert services["auth"]["probe"]["kind"] == "tcp", services["auth"]
        # Flink with Kafka in its image's name is an app, not a broker
        assert services["jobmanager"]["probe"]["kind"] == "tcp", services["jobmanager"]
        assert services["jobmanager"]["phase"] == "apps"
    finally:
        for project in runs.values():
            project.cleanup()


def test_plan_says_what_a_local_image_says_where_the_file_says_nothing(tmp_path: Path) -> None:
    """An image's HEALTHCHECK and EXPOSE are known once it is here: ``plan`` (not offline)
    shows the probe ``up`` will use, and where it came from; offline, nothing is asked."""
    checked = f"bootstrap-test-hc-{uuid.uuid4().hex[:8]}:1"
    subprocess.run(
        ["docker", "build", "-q", "-t", checked, "-"],
        input='FROM busybox\nHEALTHCHECK --interval=1s CMD true\nCMD ["sleep", "60"]\n',
        text=True,
        check=True,
        capture_output=True,
    )
    try:
        project = Project(f"bt{uuid.uuid4().hex[:8]}", tmp_path)
        (tmp_path / "compose.yaml").write_text(
            "services:\n"
            "  web: {image: 'nginx:stable'}\n"  # EXPOSE 80, no port in the file
            f"  worker: {{image: '{checked}'}}\n"  # a HEALTHCHECK in the image
            f"  quiet: {{image: '{checked}', healthcheck: {{disable: true}}}}\n"
            "  absent: {image: 'example.invalid/nothing-here:1'}\n"
        )
        online = json.loads(project.run("plan", "--json", check=0).stdout)["services"]
        offline = json.loads(project.run("plan", "--json", "--offline", check=0).stdout)
        assert (online["web"]["probe"]["kind"], online["web"]["probe"]["port"]) == ("tcp", "80")
        assert online["web"]["probe"]["source"] == "image config (a guess)"
        assert online["worker"]["probe"]["kind"] == "docker"
        assert online["worker"]["probe"]["source"] == "image config"
        assert online["quiet"]["probe"]["kind"] == "running"  # the file turned it off
        assert online["absent"]["probe"]["kind"] == "running"  # nothing pulled, nothing said
        assert {s["probe"]["kind"] for s in offline["services"].values()} == {"running"}
    finally:
        subprocess.run(["docker", "rmi", checked], capture_output=True)
