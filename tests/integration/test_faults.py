"""Faults: a clear message, a non-zero exit, and the next run recovers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from tests.conftest import Project, free_port

pytestmark = [pytest.mark.docker, pytest.mark.fault]


@pytest.fixture
def faults(make_project: Callable[..., Project]) -> Project:
    return make_project("faults", WEB_PORT=str(free_port()))


def popen_up(
    project: Project, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bootstrap",
            "-C",
            str(project.directory),
            "-p",
            project.name,
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **project.env, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


def json_lines(process: subprocess.Popen[str]) -> Iterator[dict[str, object]]:
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("{"):
            yield json.loads(line)


def wait_for_event(process: subprocess.Popen[str], service: str, state: str) -> None:
    for event in json_lines(process):
        if event["service"] == service and event["state"] == state:
            return
    raise AssertionError(f"no {state} event for {service}")


def helpers_left(project: Project) -> list[str]:
    return subprocess.run(
        [
            "docker",
            "ps",
            "-aq",
            "--filter",
            f"label=com.docker.compose.project.helper-of={project.name}",
        ],
        capture_output=True,
        text=True,
    ).stdout.split()


def test_optional_service_failing_degrades_and_goes_on(faults: Project) -> None:
    done = faults.run("--profile", "optional", "up", "--timeout", "30")
    assert done.returncode == 5, done.stderr
    assert "tracing" in done.stderr and "exited with code 1" in done.stderr
    assert "degraded: optional services unavailable: tracing" in done.stderr
    assert "tracing unavailable" in done.stderr  # web is marked degraded, with the reason
    status = json.loads(faults.run("--profile", "optional", "status", "--json").stdout)
    ready = {s["service"]: s["ready"] for s in status["services"]}
    assert ready["web"] and ready["db"] and not ready["tracing"]


def test_database_never_healthy_times_out_with_last_seen_and_log_tail(faults: Project) -> None:
    done = faults.run("--profile", "never-healthy", "up", "--timeout", "3")
    assert done.returncode == 1, done.stderr
    assert "brokendb" in done.stderr and "timed out after" in done.stderr
    assert "healthcheck `false` exited 1 with no output" in done.stderr  # what it last saw
    assert "FATAL: data directory has wrong ownership" in done.stderr  # the log tail
    assert "fix:" in done.stderr


def test_container_exiting_at_start_is_reported_at_once(faults: Project) -> None:
    done = faults.run("--profile", "exits", "up", "--json", "--timeout", "120")
    assert done.returncode == 1, done.stderr
    failed = next(
        json.loads(line)
        for line in done.stdout.splitlines()
        if '"crasher"' in line and '"failed"' in line
    )
    assert "exited with code 3" in failed["detail"]
    assert "timed out" not in failed["detail"]  # the exit, not the 120 s deadline, ended it
    summary = json.loads(done.stdout.splitlines()[-1])
    assert summary["state"] == "summary"
    assert "panic: config file missing" in summary["services"]["crasher"]["log_tail"]


def test_restart_loop_is_reported(faults: Project) -> None:
    done = faults.run("--profile", "loops", "up", "--timeout", "120")
    assert done.returncode == 1, done.stderr
    assert "restart loop" in done.stderr and "looper" in done.stderr
    assert "timed out" not in done.stderr
    faults.compose("--profile", "loops", "stop", "looper")


def test_missing_image_names_the_image(faults: Project) -> None:
    done = faults.run("--profile", "missing-image", "up", "--timeout", "30")
    assert done.returncode == 3, done.stderr
    assert "bootstrap-test/nonexistent:1" in done.stderr and "could not be pulled" in done.stderr
    assert "fix:" in done.stderr


def test_port_taken_between_validation_and_start(faults: Project) -> None:
    port = int(faults.env["WEB_PORT"])
    process = popen_up(faults, "--profile", "port", "up", "--json", "--timeout", "60")
    holder = socket.socket()
    try:
        wait_for_event(process, "slow", "probing")  # validated; web-port starts later
        holder.bind(("127.0.0.1", port))
        holder.listen()
        out, err = process.communicate(timeout=120)
    finally:
        holder.close()
    assert process.returncode == 1, err
    assert "taken after validation" in out + err and "web-port" in err
    # The next run recovers once the port is free.
    assert faults.run("--profile", "port", "up", "--timeout", "60").returncode == 0


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_mid_up_then_next_up_finishes(faults: Project, sig: int, code: int) -> None:
    process = popen_up(
        faults, "--profile", "slow", "up", "--json", "--timeout", "60", env={"SLOW_DELAY": "4"}
    )
    wait_for_event(process, "slow", "probing")
    process.send_signal(sig)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == code, err
    assert "Traceback" not in err
    assert helpers_left(faults) == []
    again = faults.run("--profile", "slow", "up", "--timeout", "60", env={"SLOW_DELAY": "4"})
    assert again.returncode == 0, again.stderr


def test_two_ups_at_once(faults: Project) -> None:
    first = popen_up(
        faults, "--profile", "slow", "up", "--json", "--timeout", "60", env={"SLOW_DELAY": "4"}
    )
    wait_for_event(first, "db", "starting")  # the first holds the lock now
    refused = faults.run("--profile", "slow", "up", "--no-wait-lock")
    assert refused.returncode == 4, refused.stderr
    assert f"pid {first.pid}" in refused.stderr
    waiter = popen_up(faults, "--profile", "slow", "up", "--timeout", "60")
    _out, err = waiter.communicate(timeout=120)
    first.communicate(timeout=60)
    assert first.returncode == 0
    assert waiter.returncode == 0, err
    assert "waiting for the project lock held by" in err


def test_engine_not_answering(faults: Project) -> None:
    done = faults.run("up", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert done.returncode == 3, done.stderr
    assert "does not answer" in done.stderr and "fix:" in done.stderr


def test_compose_cli_missing(faults: Project, tmp_path: object) -> None:
    done = faults.run("up", env={"PATH": "/nonexistent"})
    assert done.returncode == 3, done.stderr
    assert "docker CLI is not installed" in done.stderr
