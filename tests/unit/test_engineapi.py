"""The Engine API client over a unix socket, against a small server that answers as the engine
does: a body by Content-Length, chunked (the events stream), or to the connection's end (an
exec's output, framed); errors as the engine sends them."""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bootstrap.backends.compose.labels import COMPOSE
from bootstrap.backends.docker import DockerEngine
from bootstrap.backends.engineapi import SocketAPI, socket_path
from bootstrap.errors import EngineError, EngineGone, NoSuchObject

Answer = Callable[[str], bytes]


def json_answer(status: int, body: object) -> bytes:
    data = json.dumps(body).encode()
    return (
        f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    ).encode() + data


def chunked(lines: list[bytes]) -> bytes:
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    body = b"".join(f"{len(line):x}\r\n".encode() + line + b"\r\n" for line in lines)
    return head + body + b"0\r\n\r\n"


def framed(parts: list[tuple[int, bytes]]) -> bytes:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n"
    return head + b"".join(struct.pack(">BxxxI", kind, len(data)) + data for kind, data in parts)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[tuple[str, list[str], dict[str, Answer]]]:
    """A socket, the request lines it saw, and the answers by "METHOD path-prefix"."""
    path = str(tmp_path / "engine.sock")
    seen: list[str] = []
    answers: dict[str, Answer] = {}
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(8)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += conn.recv(4096)
                line = request.split(b"\r\n", 1)[0].decode()
                seen.append(line)
                method, target = line.split(" ")[:2]
                key = next((k for k in answers if f"{method} {target}".startswith(k)), None)
                conn.sendall(answers[key](line) if key else json_answer(404, {"message": "no"}))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    answers["GET /_ping"] = lambda _l: (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nOK"
    )
    answers["GET /version"] = lambda _l: json_answer(200, {"ApiVersion": "1.41", "Version": "x"})
    yield path, seen, answers
    stop.set()
    server.close()


def test_it_speaks_the_version_the_engine_does_and_reads_json(
    engine: tuple[str, list[str], dict[str, Answer]],
) -> None:
    path, seen, answers = engine
    answers["GET /v1.41/containers/json"] = lambda _l: json_answer(200, [{"Id": "a"}])
    api = SocketAPI.connect(path, 5)
    assert api.api_version == "1.41"
    assert api.containers(all=True, filters={"label": "p=x"}) == [{"Id": "a"}]
    assert seen[-1].startswith("GET /v1.41/containers/json?all=1&filters=")
    assert "%5B%22p%3Dx%22%5D" in seen[-1]  # the SDK's encoding: each filter a list


def test_the_version_comes_with_the_ping_where_the_engine_says_it_there(
    engine: tuple[str, list[str], dict[str, Answer]],
) -> None:
    """An engine's ping answer names its API version and its own: no second question."""
    path, seen, answers = engine
    answers["GET /_ping"] = lambda _l: (
        b"HTTP/1.1 200 OK\r\nApi-Version: 1.44\r\nServer: Docker/25.0.3 (linux)\r\n"
        b"Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nOK"
    )
    answers["GET /v1.44/containers/json"] = lambda _l: json_answer(200, [])
    api = SocketAPI.connect(path, 5)
    assert api.api_version == "1.44"
    assert api.version() == {"Version": "25.0.3", "ApiVersion": "1.44"}  # from the ping too
    assert api.containers(all=True) == []
    assert [line.split("?")[0] for line in seen] == [
        "GET /_ping HTTP/1.1",
        "GET /v1.44/containers/json",
    ]


def test_errors_are_typed_as_the_engine_says_them(
    engine: tuple[str, list[str], dict[str, Answer]],
) -> None:
    path, _seen, answers = engine
    answers["POST /v1.41/containers/busy/start"] = lambda _l: json_answer(
        500, {"message": "port is already allocated"}
    )
    api = SocketAPI.connect(path, 5)
    with pytest.raises(NoSuchObject, match="no"):
        api.inspect_container("gone")
    with pytest.raises(EngineError, match="already allocated"):
        api.start("busy")


def test_the_events_stream_is_read_line_by_line_and_ends_when_closed(
    engine: tuple[str, list[str], dict[str, Answer]],
) -> None:
    path, _seen, answers = engine
    events = [json.dumps({"Action": a}).encode() + b"\n" for a in ("start", "die")]
    answers["GET /v1.41/events"] = lambda _l: chunked([events[0] + events[1][:5], events[1][5:]])
    api = SocketAPI.connect(path, 5)
    stream = api.events(decode=True, filters={"type": "container"})
    assert [e["Action"] for e in stream] == ["start", "die"]
    stream.close()


def test_an_exec_output_is_unframed_and_read_to_the_end(
    engine: tuple[str, list[str], dict[str, Answer]],
) -> None:
    path, _seen, answers = engine
    answers["POST /v1.41/exec/e1/start"] = lambda _l: framed([(1, b"out\n"), (2, b"err\n")])
    api = SocketAPI.connect(path, 5)
    assert api.exec_start("e1") == b"out\nerr\n"


def test_a_log_is_unframed_where_the_container_has_no_tty_and_raw_where_it_has(
    engine: tuple[str, list[str], dict[str, Answer]],
) -> None:
    """From API 1.42 the engine says which stream it sends; before, it says raw for both, and
    the container's TTY says."""
    path, seen, answers = engine
    lines = [(1, b"listening\n"), (2, b"warning: x\n"), (1, b"ready\n")]
    answers["GET /v1.41/containers/plain/logs"] = lambda _l: framed(lines)
    answers["GET /v1.41/containers/plain/json"] = lambda _l: json_answer(200, {"Config": {}})
    tty_log = b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n"
    answers["GET /v1.41/containers/tty/logs"] = lambda _l: tty_log + b"\x01\x00\x00\x00 a tty"
    answers["GET /v1.41/containers/tty/json"] = lambda _l: json_answer(
        200, {"Config": {"Tty": True}}
    )
    api = SocketAPI.connect(path, 5)
    assert api.logs("plain", tail=2, stdout=True, stderr=True) == b"listening\nwarning: x\nready\n"
    assert seen[-2].startswith("GET /v1.41/containers/plain/logs?stdout=1&stderr=1&tail=2 ")
    assert api.logs("tty", tail="all") == b"\x01\x00\x00\x00 a tty"

    api.api_version = "1.51"  # it says: no inspect
    multiplexed = framed(lines).replace(b"raw-stream", b"multiplexed-stream")
    answers["GET /v1.51/containers/plain/logs"] = lambda _l: multiplexed
    answers["GET /v1.51/containers/tty/logs"] = lambda _l: tty_log + b"plain text"
    asked = len(seen)
    assert api.logs("plain", tail=5) == b"listening\nwarning: x\nready\n"
    assert api.logs("tty", tail=5) == b"plain text"
    assert [line.split("?")[0] for line in seen[asked:]] == [
        "GET /v1.51/containers/plain/logs",
        "GET /v1.51/containers/tty/logs",
    ]


def test_an_engine_that_is_not_there_is_an_engine_gone(tmp_path: Path) -> None:
    api = SocketAPI(str(tmp_path / "none.sock"), 5, "1.41")
    with pytest.raises(EngineGone):
        DockerEngine(api, COMPOSE).call(api.info)


def test_a_ping_asks_the_engine_now_where_the_version_is_remembered(
    engine: tuple[str, list[str], dict[str, Answer]],
) -> None:
    """The supervisor waits for a restarted engine with ``ping``: the version, asked once per
    connection, would answer from memory while the engine is gone."""
    path, _seen, _answers = engine
    docker = DockerEngine(SocketAPI.connect(path, 5), COMPOSE)
    assert docker.version()["api"] == "1.41"
    docker.ping()
    Path(path).unlink()  # the engine went away
    assert docker.version()["api"] == "1.41"
    with pytest.raises(EngineGone):
        docker.ping()


def test_a_ping_answered_with_something_else_than_ok_is_no_engine(
    engine: tuple[str, list[str], dict[str, Answer]],
) -> None:
    """What answers 200 on the socket without the engine's ``OK`` (a proxy's page) does not
    end the supervisor's wait for the engine."""
    path, _seen, answers = engine
    docker = DockerEngine(SocketAPI.connect(path, 5), COMPOSE)
    docker.ping()
    answers["GET /_ping"] = lambda _l: (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 6\r\n\r\n<html>"
    )
    with pytest.raises(EngineError, match="something else than OK"):
        docker.ping()


def test_only_a_unix_socket_is_spoken_to_directly() -> None:
    assert socket_path("") == "/var/run/docker.sock"
    assert socket_path("unix:///run/user/1000/docker.sock") == "/run/user/1000/docker.sock"
    assert socket_path("tcp://10.0.0.2:2376") is None
    assert socket_path("ssh://me@host") is None
