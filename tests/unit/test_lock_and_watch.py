from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import pytest

from bootstrap.errors import LockedError
from bootstrap.lock import ProjectLock
from bootstrap.runtime import ContainerInfo, EngineEvent
from bootstrap.watch import ContainerWatch


def test_second_holder_is_refused_naming_the_first(tmp_path: Path) -> None:
    path = tmp_path / "p.lock"
    with ProjectLock(path):
        with pytest.raises(LockedError) as caught:
            ProjectLock(path, wait=0.2).__enter__()
        assert "pid" in caught.value.message
    with ProjectLock(path, wait=0):  # released: free again
        pass


def test_a_dead_holders_lock_is_taken_over_and_said(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    path = tmp_path / "p.lock"
    path.write_text(json.dumps({"pid": dead.pid, "command": "bootstrap up", "since": "then"}))
    seen: list[str] = []
    with ProjectLock(path, wait=0, on_stale=seen.append):
        pass
    assert seen and f"pid {dead.pid}" in seen[0] and "bootstrap up" in seen[0]
    seen.clear()
    with ProjectLock(path, wait=0, on_stale=seen.append):  # released cleanly: nothing stale
        pass
    assert seen == []


def event(action: str, **attributes: str) -> EngineEvent:
    return EngineEvent("c1", "web", action, time.time(), attributes)


def test_events_drive_the_live_state() -> None:
    watch = ContainerWatch()
    watch.seed(ContainerInfo("c1", "web-1", "web", "created"))
    watch.apply(event("start"))
    state = watch.state("c1")
    assert state is not None and state.status == "running" and state.starts == 1
    watch.apply(event("health_status: healthy"))
    assert watch.state("c1").health == "healthy"  # type: ignore[union-attr]
    watch.apply(event("die", exitCode="3"))
    assert (watch.state("c1").status, watch.state("c1").exit_code) == ("exited", 3)  # type: ignore[union-attr]
    watch.apply(event("destroy"))
    assert watch.state("c1").status == "removed"  # type: ignore[union-attr]


def test_wait_wakes_on_a_change_not_at_the_timeout() -> None:
    watch = ContainerWatch()
    threading.Timer(0.3, lambda: watch.apply(event("start"))).start()
    began = time.monotonic()
    watch.wait(5)
    waited = time.monotonic() - began
    assert 0.25 <= waited < 2  # it did wait, until the change, not until the timeout
    began = time.monotonic()
    watch.wait(0.3)  # nothing changes: it waits the whole timeout
    assert time.monotonic() - began >= 0.28


def test_a_nudge_wakes_a_wait_for_what_it_also_waits_on_and_no_plain_wait() -> None:
    """An exec that ends nudges the watch: the loop waiting on it (``or_until``) wakes, where
    a wait for a change only sleeps on (nothing changed)."""
    watch = ContainerWatch()
    ended = threading.Event()
    woke: list[str] = []

    def on_exec() -> None:
        watch.wait(30, or_until=ended.is_set)
        woke.append("exec")

    def plain() -> None:
        watch.wait(3)
        woke.append("plain")

    waiters = [threading.Thread(target=on_exec), threading.Thread(target=plain)]
    for waiter in waiters:
        waiter.start()
    time.sleep(0.2)  # both asleep
    ended.set()
    watch.nudge()
    waiters[0].join(10)
    assert not waiters[0].is_alive() and woke == ["exec"]  # woken long before its 30 s
    waiters[1].join(10)
    assert woke == ["exec", "plain"]  # the plain wait slept on to its timeout


class BrokenStream:
    """An engine whose events stream breaks at once; inspecting answers a dead container."""

    def __init__(self) -> None:
        self.state = "running"

    def events(self, project: str, stop: threading.Event) -> object:
        def broken() -> object:
            raise OSError("connection reset")
            yield

        return broken()

    def container(self, container_id: str) -> ContainerInfo:
        return ContainerInfo(container_id, "web-1", "web", self.state, exit_code=2)


def test_a_broken_events_stream_is_said_and_polling_takes_over() -> None:
    watch = ContainerWatch()
    watch.seed(ContainerInfo("c1", "web-1", "web", "running"))
    engine = BrokenStream()
    said: list[str] = []
    stop = threading.Event()
    watch.follow(engine, "p", stop, on_broken=said.append)  # type: ignore[arg-type]
    engine.state = "exited"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and watch.state("c1").status != "exited":  # type: ignore[union-attr]
        watch.wait(0.2)
    stop.set()
    assert said and "events stream broke (OSError: connection reset)" in said[0]
    assert watch.state("c1").status == "exited" and watch.state("c1").exit_code == 2  # type: ignore[union-attr]
