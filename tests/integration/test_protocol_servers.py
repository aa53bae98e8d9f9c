"""The protocol probes against the real servers the testenv builds (Redis, Memcached,
RabbitMQ, NATS, etcd, Mosquitto): a stack of them with no healthcheck and no label comes up in
order, each gated on its own protocol (from a published port, or from a helper on the stack's
network); wrong credentials are reported as such; RabbitMQ is not taken for ready when its
Erlang node answers but AMQP does not yet."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bootstrap.probes import Target, make_probe
from bootstrap.probes.spec import ProbeSpec
from tests.conftest import FIXTURES, Project

pytestmark = [pytest.mark.docker]

EXPECTED = {
    "cache": ("redis", "PING answered PONG"),
    "sessions": ("memcached", "memcached 1."),
    "broker": ("rabbitmq", "logged in as 'shop'"),
    "events": ("nats", "PING answered PONG"),
    "coordination": ("etcd", "health='true'"),
    "telemetry": ("mqtt", "CONNACK accepted"),
}


@pytest.fixture
def protocols(tmp_path: Path) -> Iterator[Project]:
    name = f"pr{uuid.uuid4().hex[:8]}"
    shutil.copytree(FIXTURES / "protocols", tmp_path / name)
    project = Project(name, tmp_path / name)
    try:
        yield project
    finally:
        project.cleanup()


def test_every_server_is_recognised_and_comes_up_on_its_own_protocol(protocols: Project) -> None:
    plan = json.loads(protocols.run("plan", "--json", "--offline", check=0).stdout)
    for service, (kind, _said) in EXPECTED.items():
        assert plan["services"][service]["probe"]["kind"] == kind, service
        assert plan["services"][service]["phase"] in ("databases", "discovery"), service
    assert plan["services"]["app"]["phase"] == "apps"
    done = protocols.run("up", "--json", "--timeout", "120")
    assert done.returncode == 0, done.stderr[-3000:]
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    ready = {e["service"]: e for e in events if e.get("state") == "ready"}
    for service, (_kind, said) in EXPECTED.items():
        assert said in ready[service]["detail"], (service, ready[service]["detail"])
    # cache and events publish nothing: Redis asked through its image's redis-cli, NATS (no
    # client in its image) from a helper on the stack's network.
    assert "redis-cli in the container" in ready["cache"]["detail"]
    assert "from a helper" in ready["events"]["detail"]
    starting = next(e for e in events if e.get("service") == "app" and e["state"] == "starting")
    assert all(ready[s]["timestamp"] <= starting["timestamp"] for s in EXPECTED)
    helpers = subprocess.run(
        [
            "docker",
            "ps",
            "-aq",
            "--filter",
            f"label=com.docker.compose.project.helper-of={protocols.name}",
        ],
        capture_output=True,
        text=True,
    ).stdout.split()
    assert helpers == []  # the helper is gone with the run


def published(project: Project, service: str, port: int) -> int:
    ports = project.container(service)["NetworkSettings"]["Ports"]
    return int(ports[f"{port}/tcp"][0]["HostPort"])


def run_server(name: str, *args: str) -> str:
    return subprocess.run(
        ["docker", "run", "-d", "--rm", "--name", name, *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def host_port(container: str, port: int) -> int:
    out = subprocess.run(
        ["docker", "port", container, f"{port}/tcp"], capture_output=True, text=True, check=True
    ).stdout
    return int(out.split(":")[-1].splitlines()[0])


def poll_ready(
    kind: str, port: int, published_port: int, params: dict[str, object], limit: float = 60.0
) -> tuple[bool, str]:
    probe = make_probe(ProbeSpec(kind, dict(params)))  # type: ignore[arg-type]
    deadline = time.monotonic() + limit
    seen = probe.check(Target("svc", ports={port: published_port}))
    while not seen.ready and time.monotonic() < deadline:
        time.sleep(0.2)
        seen = probe.check(Target("svc", ports={port: published_port}))
    return seen.ready, seen.detail


def test_wrong_credentials_are_reported_as_such() -> None:
    tag = uuid.uuid4().hex[:8]
    redis, rabbit, nats = f"bt-redis-{tag}", f"bt-rabbit-{tag}", f"bt-nats-{tag}"
    try:
        run_server(
            redis, "-p", "127.0.0.1::6379", "redis:7", "redis-server", "--requirepass", "right-pw"
        )
        run_server(
            rabbit,
            "-p",
            "127.0.0.1::5672",
            "-e",
            "RABBITMQ_DEFAULT_USER=app",
            "-e",
            "RABBITMQ_DEFAULT_PASS=right-pw",
            "rabbitmq:3",
        )
        run_server(nats, "-p", "127.0.0.1::4222", "nats:2", "--user", "app", "--pass", "right-pw")
        redis_port, rabbit_port, nats_port = (
            host_port(redis, 6379),
            host_port(rabbit, 5672),
            host_port(nats, 4222),
        )
        assert poll_ready("redis", 6379, redis_port, {"password": "right-pw"})[0]
        ready, said = poll_ready("redis", 6379, redis_port, {"password": "wrong"}, limit=0)
        assert not ready and "AUTH refused" in said and "WRONGPASS" in said, said
        assert poll_ready("rabbitmq", 5672, rabbit_port, {"user": "app", "password": "right-pw"})[0]
        ready, said = poll_ready(
            "rabbitmq", 5672, rabbit_port, {"user": "app", "password": "wrong"}, limit=0
        )
        assert not ready and "login refused" in said, said
        assert poll_ready("nats", 4222, nats_port, {"user": "app", "password": "right-pw"})[0]
        ready, said = poll_ready(
            "nats", 4222, nats_port, {"user": "app", "password": "wrong"}, limit=0
        )
        assert not ready and "Authorization Violation" in said, said
    finally:
        subprocess.run(["docker", "rm", "-f", redis, rabbit, nats], capture_output=True)


def test_rabbitmq_is_not_ready_when_only_its_node_answers() -> None:
    """`rabbitmq-diagnostics ping` answers as soon as the Erlang node is up, seconds before
    the broker takes AMQP: the probe must not pass at the first."""
    name = f"bt-rabbit-{uuid.uuid4().hex[:8]}"
    try:
        run_server(name, "-p", "127.0.0.1::5672", "rabbitmq:3")
        port = host_port(name, 5672)
        times: dict[str, float] = {}
        began = time.monotonic()

        def node_up() -> None:
            while "ping" not in times and time.monotonic() - began < 90:
                done = subprocess.run(
                    ["docker", "exec", name, "rabbitmq-diagnostics", "-q", "ping"],
                    capture_output=True,
                )
                if done.returncode == 0:
                    times["ping"] = time.monotonic()

        watcher = threading.Thread(target=node_up, daemon=True)
        watcher.start()
        ready, said = poll_ready("rabbitmq", 5672, port, {}, limit=90)
        times["amqp"] = time.monotonic()
        watcher.join(timeout=90)
        assert ready, said
        assert "ping" in times
        assert times["amqp"] > times["ping"], times  # AMQP comes after the node answers
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
