"""The Docker adapters against canned engine answers (the JSON Engine 20.10 returns, trimmed),
the way docker-py's own unit tests put a fake API behind the client: parsing, error mapping,
the compose driver's start paths, the Swarm task reading."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import docker.errors
import pytest
import requests

from bootstrap.backends.compose.labels import COMPOSE
from bootstrap.backends.docker import DockerEngine
from bootstrap.backends.swarm.engine import SwarmServices
from bootstrap.backends.swarm.labels import STACK
from bootstrap.errors import EngineError, EngineGone, NoSuchObject

INSPECTED: dict[str, Any] = {
    "Id": "c0ffee" * 10 + "abcd",
    "Name": "/shop-db-1",
    "Created": "2026-12-01T10:00:00.123456789Z",
    "Image": "sha256:1234",
    "RestartCount": 1,
    "State": {
        "Status": "running",
        "ExitCode": 0,
        "StartedAt": "2026-12-01T10:00:01.5Z",
        "OOMKilled": False,
        "Error": "",
        "Health": {
            "Status": "unhealthy",
            "Log": [{"ExitCode": 1, "Output": "pg_isready: no response\n"}],
        },
    },
    "Config": {
        "Image": "postgres:16",
        "Labels": {
            "com.docker.compose.project": "shop",
            "com.docker.compose.service": "db",
            "com.docker.compose.config-hash": "abc123",
        },
        "Env": ["POSTGRES_PASSWORD=pw", "PATH=/usr/bin"],
        "Healthcheck": {"Test": ["CMD-SHELL", "pg_isready"]},
    },
    "HostConfig": {"Memory": 268435456},
    "NetworkSettings": {
        "Ports": {
            "5432/tcp": [{"HostIp": "127.0.0.1", "HostPort": "15432"}],
            "9999/tcp": None,
        },
        "Networks": {"shop_default": {"IPAddress": "172.20.0.2"}},
    },
}
LISTED: dict[str, Any] = {
    "Id": INSPECTED["Id"],
    "Names": ["/shop-db-1"],
    "Image": "postgres:16",
    "ImageID": "sha256:1234",
    "State": "running",
    "Status": "Up 3 seconds (health: starting)",
    "Created": 1764583200,
    "Labels": INSPECTED["Config"]["Labels"],
    "Ports": [{"PrivatePort": 5432, "PublicPort": 15432, "IP": "127.0.0.1", "Type": "tcp"}],
    "NetworkSettings": {"Networks": {"shop_default": {"IPAddress": "172.20.0.2"}}},
}


class FakeApi:
    """The APIClient methods the adapter calls, answering from canned JSON."""

    def __init__(self, **raises: Exception) -> None:
        self.raises = raises
        self.calls: list[tuple[str, tuple[Any, ...], Mapping[str, Any]]] = []

    def _answer(self, name: str, answer: Any, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((name, args, kwargs))
        if name in self.raises:
            raise self.raises[name]
        return answer

    def inspect_container(self, cid: str) -> Any:
        return self._answer("inspect_container", INSPECTED, cid)

    def containers(self, **kwargs: Any) -> Any:
        helper = {**LISTED, "Id": "h" * 64, "Labels": {"io.bootstrap.helper": "1"}}
        return self._answer("containers", [LISTED, helper], **kwargs)

    def exec_create(self, cid: str, command: list[str], **kwargs: Any) -> Any:
        return self._answer("exec_create", {"Id": "e1"}, cid, command, **kwargs)

    def exec_start(self, exec_id: str) -> Any:
        return self._answer("exec_start", b"1\n", exec_id)

    def exec_inspect(self, exec_id: str) -> Any:
        return self._answer("exec_inspect", {"ExitCode": 0}, exec_id)

    def start(self, cid: str) -> Any:
        return self._answer("start", None, cid)

    def tasks(self, **kwargs: Any) -> Any:
        task = {
            "ID": "t1",
            "NodeID": "n1",
            "DesiredState": "running",
            "Status": {
                "State": "failed",
                "Err": "task: non-zero exit (1)",
                "Timestamp": "2026-12-01T10:00:00Z",
                "ContainerStatus": {"ContainerID": "c1", "ExitCode": 1},
            },
        }
        return self._answer("tasks", [task], **kwargs)


def not_found() -> docker.errors.NotFound:
    return docker.errors.NotFound("404", explanation="No such container: x")


def test_an_inspected_container_is_read_whole() -> None:
    info = DockerEngine(FakeApi(), COMPOSE).container("x")
    assert (info.name, info.service, info.project, info.state) == (
        "shop-db-1",
        "db",
        "shop",
        "running",
    )
    assert info.ports == {5432: 15432}  # only bindings on 127.0.0.1/0.0.0.0, null ones skipped
    assert info.health == "unhealthy" and info.health_log == "exit 1: pg_isready: no response"
    assert info.env["POSTGRES_PASSWORD"] == "pw" and info.memory_limit == 268435456
    assert info.healthcheck_test == ("CMD-SHELL", "pg_isready")
    assert info.addresses == {"shop_default": "172.20.0.2"} and info.restart_count == 1


def test_the_list_summary_skips_helpers_and_reads_health_from_the_status() -> None:
    api = FakeApi()
    listed = DockerEngine(api, COMPOSE).containers("shop", inspect=False)
    assert [c.name for c in listed] == ["shop-db-1"]
    assert listed[0].health == "starting" and listed[0].ports == {5432: 15432}
    assert listed[0].created_at.startswith("2025-12-01T")
    assert api.calls[0][2]["filters"] == {"label": "com.docker.compose.project=shop"}


def test_exec_returns_the_exit_code_and_output() -> None:
    api = FakeApi()
    engine = DockerEngine(api, COMPOSE)
    done = engine.exec("x", ["psql", "-c", "SELECT 1"], env={"PGPASSWORD": "pw"})
    assert (done.exit_code, done.output) == (0, "1\n")
    assert api.calls[0][2]["environment"] == {"PGPASSWORD": "pw"}


@pytest.mark.parametrize(
    ("raised", "expected", "said"),
    [
        (not_found(), NoSuchObject, "No such container"),
        (
            docker.errors.APIError("500", explanation="port is already allocated"),
            EngineError,
            "already allocated",
        ),
        (requests.exceptions.ReadTimeout("read timed out"), EngineError, "did not answer in time"),
        (requests.exceptions.ConnectionError("refused"), EngineGone, "went away"),
    ],
)
def test_engine_errors_are_mapped_once_with_their_text(
    raised: Exception, expected: type[Exception], said: str
) -> None:
    engine = DockerEngine(FakeApi(inspect_container=raised), COMPOSE)
    with pytest.raises(expected) as caught:
        engine.container("x")
    assert said in str(caught.value)
    if expected is not EngineGone:
        assert not isinstance(caught.value, EngineGone)


def test_a_vanished_container_is_not_a_crash_of_the_listing() -> None:
    engine = DockerEngine(FakeApi(inspect_container=not_found()), COMPOSE)
    assert engine.containers("shop") == []  # gone between the list and the inspect


def test_swarm_tasks_are_read_with_their_failure() -> None:
    (task,) = SwarmServices(DockerEngine(FakeApi(), STACK)).tasks("shop_db")
    assert (task.state, task.desired, task.exit_code, task.container_id) == (
        "failed",
        "running",
        1,
        "c1",
    )
    assert "non-zero exit" in task.error


def test_each_backend_reads_containers_in_its_own_vocabulary() -> None:
    """A Swarm task's container: no compose label, the stack's namespace and service name."""
    task = {
        **LISTED,
        "Labels": {
            "com.docker.stack.namespace": "shop",
            "com.docker.swarm.service.name": "shop_db",
        },
    }

    class TaskApi(FakeApi):
        def containers(self, **kwargs: Any) -> Any:
            return self._answer("containers", [task], **kwargs)

    (info,) = DockerEngine(TaskApi(), STACK).containers("shop", inspect=False)
    assert (info.project, info.service) == ("shop", "db")
    (as_compose,) = DockerEngine(TaskApi(), COMPOSE).containers("shop", inspect=False)
    assert (as_compose.project, as_compose.service) == ("", "")  # compose's labels are absent


def test_the_engine_connected_while_compose_reads_is_the_one_handed_out_or_its_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bootstrap.backends.compose.backend import ComposeBackend
    from bootstrap.errors import EngineError

    made: list[object] = []

    def connect(self: ComposeBackend, *, read_ahead: bool = False) -> object:
        made.append(object())
        return made[-1]

    monkeypatch.setattr(ComposeBackend, "_make_engine", connect)
    backend = ComposeBackend()
    backend.warm_up()
    assert backend.engine is made[0] and backend.engine is made[0] and len(made) == 1

    def refuse(self: ComposeBackend, *, read_ahead: bool = False) -> object:
        raise EngineError("no engine here", location="docker")

    monkeypatch.setattr(ComposeBackend, "_make_engine", refuse)
    later = ComposeBackend()
    later.warm_up()
    with pytest.raises(EngineError, match="no engine here"):
        _ = later.engine
    offline = ComposeBackend()
    offline.warm_up(engine=False)  # plan --offline: nothing connects
    assert offline._connecting is None


def test_what_the_checks_ask_whatever_the_model_is_asked_ahead_and_taken_once() -> None:
    """``read_ahead`` (`plan`, `validate`, `up`, while compose reads the files): the networks,
    the published ports and the engine's size are asked in threads; the next call of each
    takes that answer, a later one asks the engine again; a failure is raised to the taker."""

    class Api(FakeApi):
        def networks(self) -> Any:
            return self._answer("networks", [{"Name": "bridge", "IPAM": {"Config": []}}])

        def info(self) -> Any:
            return self._answer("info", {"NCPU": 2, "MemTotal": 8})

    api = Api()
    engine = DockerEngine(api, COMPOSE)
    engine.read_ahead()
    assert engine.networks() == {"bridge": []}
    assert engine.published_ports() == {("127.0.0.1", 15432): "shop-db-1"}
    assert engine.capacity() == (2, 8)
    assert sorted(name for name, _, _ in api.calls) == ["containers", "info", "networks"]
    engine.networks()
    assert [name for name, _, _ in api.calls].count("networks") == 2  # asked again: not kept
    failing = DockerEngine(Api(info=ConnectionError("gone")), COMPOSE)
    failing.read_ahead()
    with pytest.raises(EngineGone):
        failing.capacity()
