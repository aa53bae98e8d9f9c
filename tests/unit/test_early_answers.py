"""A re-run's early answers (DockerDriver.ask_early): a running container's probe asked at
once stands in for the wait in its phase only while fresh and while its container still runs.

No Docker: a fake engine, and a real TCP listener on 127.0.0.1 as the service's published port.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bootstrap.backends.compose import driver as driver_module
from bootstrap.backends.compose.driver import EARLY_NOTE, DockerDriver
from bootstrap.runtime import ContainerInfo, EngineEvent
from bootstrap.watch import ContainerWatch

from .fakes import FakeEngine, workspace


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP server on 127.0.0.1 that accepts whatever connects and holds it open, as a
    server does."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def running_stack(tmp_path: Path, port: int) -> tuple[DockerDriver, ContainerWatch]:
    services = {
        "api": {
            "image": "example/api",
            "labels": {"bootstrap.probe": "tcp"},
            "ports": [{"target": 8080, "published": str(port), "host_ip": "127.0.0.1"}],
        }
    }
    ws = workspace(tmp_path, services)
    info = ContainerInfo(
        "c-api",
        "shop-api-1",
        "api",
        "running",
        project="shop",
        started_at="2026-12-06T10:00:00Z",
        ports={8080: port},
    )
    engine = FakeEngine(infos=[info])
    watch = ContainerWatch()
    driver = DockerDriver(ws, engine, watch, {"api": info}, timeout=1.0)
    return driver, watch


def asked_early(driver: DockerDriver) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        driver.ask_early(pool)
        for future in driver._early.values():
            future.result()


def test_a_fresh_answer_of_a_running_container_stands_in_for_the_wait(
    tmp_path: Path, listener: socket.socket
) -> None:
    driver, _ = running_stack(tmp_path, listener.getsockname()[1])
    asked_early(driver)
    result = driver.wait_ready(driver.workspace.plan.services["api"], lambda: False)
    assert result.ready
    assert EARLY_NOTE in result.detail


def test_a_stale_answer_is_not_taken_the_phase_asks_again(
    tmp_path: Path, listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    driver, _ = running_stack(tmp_path, listener.getsockname()[1])
    asked_early(driver)
    monkeypatch.setattr(driver_module, "EARLY_FRESH", -1.0)  # every answer is stale
    result = driver.wait_ready(driver.workspace.plan.services["api"], lambda: False)
    assert result.ready  # the phase's own wait, which the server answers
    assert EARLY_NOTE not in result.detail


def test_an_answer_is_not_taken_once_its_container_stopped(
    tmp_path: Path, listener: socket.socket
) -> None:
    driver, watch = running_stack(tmp_path, listener.getsockname()[1])
    asked_early(driver)
    watch.apply(EngineEvent("c-api", "api", "die", 0.0, {"exitCode": "137"}))
    result = driver.wait_ready(driver.workspace.plan.services["api"], lambda: False)
    assert not result.ready
    assert EARLY_NOTE not in result.detail


def test_a_container_that_does_not_answer_yet_is_left_to_its_phase(tmp_path: Path) -> None:
    with socket.socket() as unused:  # a port nothing listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    driver, _ = running_stack(tmp_path, port)
    asked_early(driver)
    assert driver._early["api"].result() is None
    result = driver.wait_ready(driver.workspace.plan.services["api"], lambda: False)
    assert not result.ready
    assert EARLY_NOTE not in result.detail
