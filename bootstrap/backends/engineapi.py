"""The Docker Engine API over its unix socket, with the standard library, for the calls every
command makes (ping, version, info, listing and inspecting containers, images, networks and
volumes, start, stop, remove, exec, the events stream).

The Docker SDK brings requests and urllib3: about 70 ms to import on an idle interpreter, and
0.2 s measured inside ``bootstrap plan``, where it competes with the command's own work; that
was the larger part of a plan's time. This client answers the same methods with the same
shapes as the SDK's ``APIClient``, at the API version the engine speaks (as the SDK negotiates
it), and hands any other call (archives, logs, builds, pulls, Swarm's services) to an
``APIClient`` made on first use. Engines behind TCP, TLS or SSH use the SDK throughout.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlencode

from bootstrap.errors import EngineError, NoSuchObject

DEFAULT_SOCKET = "/var/run/docker.sock"


def socket_path(docker_host: str) -> str | None:
    """The unix socket ``DOCKER_HOST`` names (the default one when unset), else None (an
    engine this client does not speak to: tcp://, ssh://, npipe://)."""
    if not docker_host:
        return DEFAULT_SOCKET
    if docker_host.startswith("unix://"):
        return docker_host[len("unix://") :] or DEFAULT_SOCKET
    return None


class Response:
    """An HTTP/1.1 response read off the socket: status, headers, and a body read whole, to
    the connection's end, or line by line (the events stream), chunked or not."""

    def __init__(self, sock: socket.socket, method: str) -> None:
        self.sock = sock
        self._file = sock.makefile("rb")
        status_line = self._file.readline().decode("latin-1")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise ConnectionError(f"not an HTTP answer from the engine: {status_line[:60]!r}")
        self.status, self.reason = int(parts[1]), (parts[2].strip() if len(parts) > 2 else "")
        self.headers: dict[str, str] = {}
        while True:
            line = self._file.readline().decode("latin-1")
            if line in ("\r\n", "\n", ""):
                break
            key, _, value = line.partition(":")
            self.headers[key.strip().lower()] = value.strip()
        self.chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        length = self.headers.get("content-length")
        self._left = int(length) if length is not None and not self.chunked else None
        if method == "HEAD" or self.status in (204, 304) or 100 <= self.status < 200:
            self._left = 0
        self._buffer = b""
        self._done = False

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def _next(self) -> bytes:
        """The next piece of the body, b"" at its end."""
        if self._done:
            return b""
        if self.chunked:
            size_line = self._file.readline()
            if not size_line:
                raise ConnectionError("the engine closed the stream mid-answer")
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                self._done = True
                return b""
            data = self._file.read(size)
            self._file.readline()  # the CRLF after the chunk
            return data
        if self._left is not None:
            if self._left == 0:
                self._done = True
                return b""
            data = self._file.read1(min(self._left, 65536))
            if not data:
                raise ConnectionError("the engine closed the connection mid-answer")
            self._left -= len(data)
            return data
        data = self._file.read1(65536)  # to the connection's end
        if not data:
            self._done = True
        return data

    def read(self) -> bytes:
        parts = [self._buffer]
        self._buffer = b""
        while piece := self._next():
            parts.append(piece)
        return b"".join(parts)

    def readline(self) -> bytes:
        while b"\n" not in self._buffer:
            piece = self._next()
            if not piece:
                line, self._buffer = self._buffer, b""
                return line
            self._buffer += piece
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line + b"\n"

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()
        with contextlib.suppress(OSError):
            self.sock.close()


def _filters(filters: Mapping[str, Any] | None) -> dict[str, str]:
    """The SDK's encoding: each value a list of strings, the whole as JSON."""
    if not filters:
        return {}
    listed = {k: v if isinstance(v, list) else [v] for k, v in filters.items()}
    return {"filters": json.dumps(listed)}


def _flag(value: bool) -> str:
    return "1" if value else "0"


# What the engine says a stream is (API 1.42 and later; before, raw for both)
MULTIPLEXED = "application/vnd.docker.multiplexed-stream"
RAW = "application/vnd.docker.raw-stream"


def _unframed(raw: bytes) -> bytes:
    """An output without a TTY, as the engine frames each write: a header of 8 bytes (the
    stream, 3 zero bytes, the size) before it; the writes joined."""
    output, at = bytearray(), 0
    while at + 8 <= len(raw):
        (size,) = struct.unpack(">I", raw[at + 4 : at + 8])
        output += raw[at + 8 : at + 8 + size]
        at += 8 + size
    return bytes(output)


def _version_tuple(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return ()


class EventStream:
    """The events stream: an iterator of decoded events; ``close`` (from another thread)
    ends it, as the SDK's stream's does."""

    def __init__(self, response: Response) -> None:
        self._response = response
        self._closed = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        while True:
            try:
                line = self._response.readline()
            except (OSError, ValueError):
                if self._closed:
                    return  # closed under the reader: the end asked for
                raise
            if not line:
                return
            if line.strip():
                yield json.loads(line)

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._response.sock.shutdown(socket.SHUT_RDWR)
        self._response.close()


class SocketAPI:
    """What bootstrap asks of the SDK's ``APIClient``, over the engine's unix socket."""

    def __init__(self, path: str, timeout: float, version: str) -> None:
        self.path, self.timeout, self.api_version = path, timeout, version
        self._sdk: Any = None
        self._version: dict[str, Any] | None = None  # the engine's /version, asked once

    @classmethod
    def connect(cls, path: str, timeout: float) -> SocketAPI:
        """Ping the engine and take the API version it speaks from the answer's
        ``API-Version`` header, and its own version from ``Server`` (one question; the SDK's
        "auto" asks ``/version`` after the ping, 10-20 ms more); an engine whose ping does not
        say is asked ``/version``."""
        api = cls(path, timeout, "")
        response = api._open("GET", "/_ping", versioned=False)
        try:
            response.read()
        finally:
            response.close()
        api.api_version = response.header("API-Version")
        server = response.header("Server")  # "Docker/28.5.2 (linux)": the engine's version
        if api.api_version and server.startswith("Docker/"):
            api._version = {"Version": server[7:].split(" ")[0], "ApiVersion": api.api_version}
        if not api.api_version:
            api._version = dict(api._call("GET", "/version", versioned=False))
            api.api_version = str(api._version["ApiVersion"])
        return api

    def __getattr__(self, name: str) -> Any:
        """Any other call of the SDK's client, made by the SDK (imported on first use)."""
        if self._sdk is None:
            import docker

            self._sdk = docker.APIClient(
                base_url=f"unix://{self.path}", version=self.api_version, timeout=int(self.timeout)
            )
        return getattr(self._sdk, name)

    # --- the wire -------------------------------------------------------------------------

    def _path_of(self, path: str, params: Mapping[str, str] | None, versioned: bool) -> str:
        prefix = f"/v{self.api_version}" if versioned and self.api_version else ""
        query = f"?{urlencode(params)}" if params else ""
        return prefix + path + query

    def _open(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        *,
        timeout: float | None = -1.0,
        versioned: bool = True,
    ) -> Response:
        """One request on its own connection (closed after the answer: nothing is shared
        between threads); an answer of 400 and above raised as a typed error."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout if timeout == -1.0 else timeout)
        data = b"" if body is None else json.dumps(body).encode()
        head = [
            f"{method} {self._path_of(path, params, versioned)} HTTP/1.1",
            "Host: docker",
            "Connection: close",
        ]
        if body is not None:
            head += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
        elif method in ("POST", "PUT"):
            head.append("Content-Length: 0")
        try:
            sock.connect(self.path)
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + data)
            response = Response(sock, method)
        except BaseException:
            sock.close()
            raise
        if response.status >= 400:
            try:
                raw = response.read()
            finally:
                response.close()
            try:
                message = str(json.loads(raw).get("message") or raw.decode())
            except ValueError:
                message = raw.decode("utf-8", "replace").strip()
            if response.status == 404:
                raise NoSuchObject(message, location="docker")
            raise EngineError(f"{response.status} {response.reason}: {message}", location="docker")
        return response

    def _call(
        self, method: str, path: str, params: Mapping[str, str] | None = None, **options: Any
    ) -> Any:
        """``_open``'s answer read whole: JSON decoded, text as text, nothing as None."""
        response = self._open(method, path, params, **options)
        try:
            raw = response.read()
        finally:
            response.close()
        if not raw or response.status in (204, 304):
            return None
        if response.header("Content-Type").startswith("application/json"):
            return json.loads(raw)
        return raw.decode("utf-8", "replace")

    # --- the calls ------------------------------------------------------------------------

    def ping(self) -> bool:
        return bool(self._call("GET", "/_ping", versioned=False) == "OK")

    def version(self) -> dict[str, Any]:
        """The engine's versions: asked once per connection (an engine's answer takes 10-20 ms
        and does not change while it runs)."""
        if self._version is None:
            self._version = dict(self._call("GET", "/version"))
        return dict(self._version)

    def info(self) -> dict[str, Any]:
        return dict(self._call("GET", "/info"))

    def containers(
        self, all: bool = False, filters: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        params = {"all": _flag(all), **_filters(filters)}
        return list(self._call("GET", "/containers/json", params))

    def inspect_container(self, container: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/containers/{quote(container)}/json"))

    def inspect_image(self, image: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/images/{quote(image, safe='/:')}/json"))

    def networks(self, filters: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return list(self._call("GET", "/networks", _filters(filters)))

    def volumes(self, filters: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return dict(self._call("GET", "/volumes", _filters(filters)))

    def start(self, container: str) -> None:
        self._call("POST", f"/containers/{quote(container)}/start")

    def stop(self, container: str, timeout: int = 10) -> None:
        self._call(
            "POST",
            f"/containers/{quote(container)}/stop",
            {"t": str(timeout)},
            timeout=self.timeout + timeout,
        )

    def remove_container(self, container: str, v: bool = False, force: bool = False) -> None:
        self._call(
            "DELETE", f"/containers/{quote(container)}", {"v": _flag(v), "force": _flag(force)}
        )

    def exec_create(
        self,
        container: str,
        cmd: list[str],
        stdout: bool = True,
        stderr: bool = True,
        user: str = "",
        environment: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "AttachStdout": stdout,
            "AttachStderr": stderr,
            "AttachStdin": False,
            "Tty": False,
            "Cmd": list(cmd),
            "User": user,
        }
        if environment:
            body["Env"] = [f"{k}={v}" for k, v in environment.items()]
        return dict(self._call("POST", f"/containers/{quote(container)}/exec", body=body))

    def exec_start(self, exec_id: str) -> bytes:
        """The command's stdout and stderr, as the SDK returns them (frames joined)."""
        response = self._open(
            "POST", f"/exec/{quote(exec_id)}/start", body={"Detach": False, "Tty": False}
        )
        try:
            raw = response.read()
        finally:
            response.close()
        return _unframed(raw)  # without a TTY (never asked for here): framed

    def logs(
        self, container: str, stdout: bool = True, stderr: bool = True, tail: int | str = "all"
    ) -> bytes:
        """The container's log as the SDK's ``logs`` gives it without ``stream`` (stdout and
        stderr in the order written): a container without a TTY has its writes framed."""
        response = self._open(
            "GET",
            f"/containers/{quote(container)}/logs",
            {"stdout": _flag(stdout), "stderr": _flag(stderr), "tail": str(tail)},
        )
        try:
            raw = response.read()
        finally:
            response.close()
        said = response.header("Content-Type")
        if said == MULTIPLEXED:
            return _unframed(raw)
        if said == RAW and _version_tuple(self.api_version) >= (1, 42):
            return raw  # from API 1.42 the engine says which: raw is a TTY's
        tty = bool(self.inspect_container(container).get("Config", {}).get("Tty"))
        return raw if tty else _unframed(raw)  # an older engine says raw for both

    def exec_inspect(self, exec_id: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/exec/{quote(exec_id)}/json"))

    def events(self, decode: bool = True, filters: Mapping[str, Any] | None = None) -> EventStream:
        """Subscribed when this returns (the engine has answered the request)."""
        return EventStream(self._open("GET", "/events", _filters(filters), timeout=None))
