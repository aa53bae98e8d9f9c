"""The supervisor on the real engine: `bootstrap supervise` keeps the order after `up`
(a dependency restarted, recreated, unhealthy; an engine restart; a crash loop)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import DOCKER_PID, DOCKER_UP, Project, engine_restartable, engine_started_again

pytestmark = [pytest.mark.docker, pytest.mark.fault]

Action = dict[str, Any]


class Supervising:
    """`bootstrap supervise --json` in the background; its actions as they come."""

    def __init__(self, project: Project, *args: str) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bootstrap",
                "-C",
                str(project.directory),
                "-p",
                project.name,
                "supervise",
                "--json",
                *args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **project.env},
            stdin=subprocess.DEVNULL,
        )
        self.actions: list[Action] = []
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.until(lambda a: a["kind"] == "watching", 60)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("{"):
                with self.changed:
                    self.actions.append(json.loads(line))
                    self.changed.notify_all()

    def until(self, predicate: Callable[[Action], bool], timeout: float = 90) -> Action:
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                found = next((a for a in self.actions if predicate(a)), None)
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    raise AssertionError(f"not seen in {timeout}s: {self.said()}")
                self.changed.wait(min(left, 1.0))

    def said(self) -> str:
        return "\n".join(f"{a['service']} {a['kind']}: {a['reason']}" for a in self.actions)

    def of(self, service: str, kind: str) -> list[Action]:
        with self.changed:
            return [a for a in self.actions if a["service"] == service and a["kind"] == kind]

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.reader.join(10)
        assert self.process.stdout is not None and self.process.stderr is not None
        self.process.stdout.close()
        with self.process.stderr:
            return self.process.stderr.read()


@pytest.fixture
def supervised(make_project: Callable[..., Project]) -> Project:
    return make_project("supervise")


def started_at(project: Project, service: str) -> str:
    return str(project.container(service)["State"]["StartedAt"])


def container_id(project: Project, service: str) -> str:
    return str(project.container(service)["Id"])


@pytest.fixture
def watching(supervised: Project) -> Iterator[tuple[Project, Supervising]]:
    up = supervised.run("up", "--timeout", "120")
    assert up.returncode == 0, up.stderr
    watcher = Supervising(supervised)
    try:
        yield supervised, watcher
    finally:
        err = watcher.stop()
        assert watcher.process.returncode == 0, err
        assert "Traceback" not in err, err


def test_a_restarted_dependency_restarts_the_dependents_that_ask_once_it_is_ready(
    watching: tuple[Project, Supervising],
) -> None:
    project, watcher = watching
    app_before, worker_before = started_at(project, "app"), started_at(project, "worker")
    subprocess.run(["docker", "restart", container_id(project, "db")], check=True)
    ready = watcher.until(lambda a: a["service"] == "app" and a["kind"] == "ready")
    kinds = [(a["service"], a["kind"]) for a in watcher.actions]
    # waiting first; db ready again (its probe), then app restarted and re-gated
    assert kinds.index(("app", "waiting")) < kinds.index(("db", "back"))
    assert kinds.index(("db", "back")) < kinds.index(("app", "restarted"))
    back = watcher.of("db", "back")[0]
    assert started_at(project, "app") != app_before
    assert ready["at"] >= back["at"]
    # worker did not ask (no depends_on.restart): reported, not restarted
    assert watcher.of("worker", "kept") and started_at(project, "worker") == worker_before
    assert "depends_on.db.restart: true" in watcher.of("worker", "kept")[0]["reason"]
    # exactly one restart of app: its own stop's events are not a second reason
    time.sleep(3)
    assert len(watcher.of("app", "restarted")) == 1, watcher.said()
    # status shows what was done, and that a supervisor runs
    status = project.run("status", "--json")
    document = json.loads(status.stdout)
    assert document["supervisor"]["pid"] == watcher.process.pid
    assert any(a["kind"] == "restarted" and a["service"] == "app" for a in document["supervision"])
    text = project.run("status").stdout
    assert "supervisor: running" in text and "restarted: db came back" in text


def test_a_dependency_recreated_with_a_new_config_gets_its_dependents_restarted(
    watching: tuple[Project, Supervising],
) -> None:
    project, watcher = watching
    old_db = container_id(project, "db")
    app_before = started_at(project, "app")
    recreated = project.compose("up", "-d", "--no-deps", "db", env={"DB_MARKER": "two"})
    assert recreated.returncode == 0, recreated.stderr
    assert container_id(project, "db") != old_db
    watcher.until(lambda a: a["service"] == "app" and a["kind"] == "ready")
    waiting = watcher.of("app", "waiting")[0]
    assert waiting["cause"] == "db"
    assert started_at(project, "app") != app_before
    assert project.container("app")["State"]["Running"]


def test_an_unhealthy_dependency_holds_its_dependents_until_it_is_healthy_again(
    watching: tuple[Project, Supervising],
) -> None:
    project, watcher = watching
    flag = container_id(project, "flag")
    app_before = started_at(project, "app")
    subprocess.run(["docker", "exec", flag, "rm", "/tmp/ok"], check=True)
    waiting = watcher.until(lambda a: a["service"] == "app" and a["kind"] == "waiting")
    assert "unhealthy" in waiting["reason"] and waiting["cause"] == "flag"
    time.sleep(2)
    assert not watcher.of("app", "restarted")  # not while flag is unhealthy
    subprocess.run(["docker", "exec", flag, "touch", "/tmp/ok"], check=True)
    watcher.until(lambda a: a["service"] == "app" and a["kind"] == "ready")
    assert watcher.of("flag", "back")
    assert started_at(project, "app") != app_before
    assert project.container("flag")["State"]["Health"]["Status"] == "healthy"


def test_a_crash_loop_is_reported_and_left_alone(supervised: Project) -> None:
    up = supervised.run("up", "--timeout", "120")
    assert up.returncode == 0, up.stderr
    watcher = Supervising(supervised, "--profile", "crash", "--no-converge")
    try:
        started = supervised.compose("--profile", "crash", "up", "-d", "--no-deps", "crasher")
        assert started.returncode == 0, started.stderr
        loop = watcher.until(lambda a: a["service"] == "crasher" and a["kind"] == "crash-loop")
        assert "left alone" in loop["reason"]
        time.sleep(8)  # the engine keeps restarting it; the supervisor does nothing more
        acted = [a for a in watcher.actions if a["kind"] in ("restarted", "healed", "out-of-order")]
        assert acted == [], watcher.said()
        assert len(watcher.of("crasher", "crash-loop")) == 1
    finally:
        err = watcher.stop()
    assert watcher.process.returncode == 0, err


@pytest.mark.engine_restart
def test_after_an_engine_restart_the_stack_is_put_back_in_order(supervised: Project) -> None:
    if not engine_restartable():
        pytest.skip("needs the testenv's engine, which this test stops and starts again")
    up = supervised.run("--profile", "slow", "up", "--timeout", "120")
    assert up.returncode == 0, up.stderr
    watcher = Supervising(supervised, "--profile", "slow")
    daemon = int(DOCKER_PID.read_text())
    try:
        os.kill(daemon, signal.SIGTERM)
        watcher.until(lambda a: a["kind"] == "engine-gone", 60)
        engine_started_again(daemon)
        watcher.until(lambda a: a["kind"] == "engine-back", 60)
        # early started with slowdb (restart: always), 4 s before slowdb was ready
        out = watcher.until(lambda a: a["service"] == "early" and a["kind"] == "out-of-order")
        assert out["cause"] == "slowdb"
        watcher.until(lambda a: a["service"] == "early" and a["kind"] == "ready")
        early = supervised.container("early")["State"]
        slow = supervised.container("slowdb")["State"]
        assert early["Running"] and slow["Health"]["Status"] == "healthy"
        assert early["StartedAt"] > slow["StartedAt"]
    finally:
        err = watcher.stop()
        subprocess.run(["bash", str(DOCKER_UP)], capture_output=True)
    assert watcher.process.returncode == 0, err
