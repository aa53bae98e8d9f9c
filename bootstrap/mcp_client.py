"""A minimal MCP client for the streamable HTTP transport: the compliance handshake.

``initialize`` -> ``notifications/initialized`` -> ``tools/list``, checking the JSON-RPC 2.0
envelope, the negotiated protocol version, the capabilities and the server info. Standard
library only: it runs in probes many times a second and in the discovery service.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bootstrap import __version__

DEFAULT_PATH = "/mcp"  # the streamable HTTP transport's usual endpoint
PROTOCOL_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
# What the handshake offers: the SDKs in use answer it; a server may answer another of the
# versions above (the newest, 2025-11-25, included), and the probe accepts it.
OFFERED_VERSION = "2025-06-18"


class McpError(Exception):
    """The server broke the contract; the message says how."""


@dataclass(frozen=True)
class McpReport:
    protocol_version: str
    server_name: str
    server_version: str
    tools: tuple[str, ...]
    capabilities: tuple[str, ...]

    def summary(self) -> str:
        server = f"{self.server_name} {self.server_version}".strip()
        return f"MCP {self.protocol_version}, server {server}, {len(self.tools)} tools"


def _parse_body(content_type: str, body: bytes, request_id: int) -> dict[str, Any]:
    text = body.decode("utf-8", "replace")
    messages: list[Any] = []
    if "text/event-stream" in content_type:
        for block in text.replace("\r\n", "\n").split("\n\n"):
            data = "\n".join(
                line[5:].lstrip() for line in block.split("\n") if line.startswith("data:")
            )
            if data:
                messages.append(json.loads(data))
    elif "application/json" in content_type:
        loaded = json.loads(text)
        messages.extend(loaded if isinstance(loaded, list) else [loaded])
    else:
        raise McpError(f"unexpected Content-Type {content_type or '(none)'!r}")
    for message in messages:
        if isinstance(message, dict) and message.get("id") == request_id:
            if message.get("jsonrpc") != "2.0":
                raise McpError(f"response is not JSON-RPC 2.0: jsonrpc={message.get('jsonrpc')!r}")
            if "error" in message:
                error = message["error"] or {}
                raise McpError(f"JSON-RPC error {error.get('code')}: {error.get('message')}")
            if not isinstance(message.get("result"), dict):
                raise McpError("response has no result object")
            return dict(message)
    raise McpError(f"no JSON-RPC response with id {request_id}")


class _Session:
    def __init__(self, host: str, port: int, path: str, timeout: float) -> None:
        import http.client  # only when it asks: planning loads every kind

        self.connection = http.client.HTTPConnection(host, port, timeout=timeout)
        self.path = path
        self.session_id: str | None = None
        self.protocol: str | None = None

    def post(self, payload: dict[str, Any]) -> tuple[int, str, bytes]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        }
        if self.session_id:
            headers["Mcp-Session-Id"] = self.session_id
        if self.protocol:
            headers["MCP-Protocol-Version"] = self.protocol
        self.connection.request("POST", self.path, json.dumps(payload), headers)
        response = self.connection.getresponse()
        body = response.read()
        session = response.getheader("Mcp-Session-Id")
        if session:
            self.session_id = session
        return response.status, response.getheader("Content-Type") or "", body

    def call(self, request_id: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
        status, content_type, body = self.post(
            {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        )
        if status != 200:
            raise McpError(f"{method}: HTTP {status}")
        try:
            return _parse_body(content_type, body, request_id)["result"]  # type: ignore[no-any-return]
        except json.JSONDecodeError as exc:
            raise McpError(f"{method}: body is not JSON ({exc.msg})") from None

    def initialize(self) -> dict[str, Any]:
        """The ``initialize`` request: our latest protocol version, no capabilities."""
        return self.call(
            1,
            "initialize",
            {
                "protocolVersion": OFFERED_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "bootstrap", "version": __version__},
            },
        )

    def close(self) -> None:
        import http.client  # only when it asks: planning loads every kind

        if self.session_id:
            try:
                self.connection.request(
                    "DELETE", self.path, headers={"Mcp-Session-Id": self.session_id}
                )
                self.connection.getresponse().read()
            except (OSError, http.client.HTTPException):
                pass
        self.connection.close()


def handshake(host: str, port: int, path: str = DEFAULT_PATH, timeout: float = 2.0) -> McpReport:
    """Run the compliance handshake. Raises ``McpError`` (contract) or ``OSError`` (network)."""
    import http.client  # only when it asks: planning loads every kind

    session = _Session(host, port, path, timeout)
    try:
        result = session.initialize()
        version = result.get("protocolVersion")
        if version not in PROTOCOL_VERSIONS:
            raise McpError(f"unsupported protocolVersion {version!r}")
        capabilities = result.get("capabilities")
        if not isinstance(capabilities, dict):
            raise McpError("initialize result has no capabilities object")
        info = result.get("serverInfo")
        if not isinstance(info, dict) or not info.get("name"):
            raise McpError("initialize result has no serverInfo.name")
        session.protocol = str(version)
        status, _type, _body = session.post(
            {"jsonrpc": "2.0", "method": "notifications/initialized"}
        )
        if status not in (200, 202, 204):
            raise McpError(f"notifications/initialized: HTTP {status}")
        tools: tuple[str, ...] = ()
        if "tools" in capabilities:
            listed = session.call(2, "tools/list", {}).get("tools")
            if not isinstance(listed, list):
                raise McpError("tools/list result has no tools list")
            tools = tuple(str(t.get("name")) for t in listed if isinstance(t, dict))
        return McpReport(
            protocol_version=str(version),
            server_name=str(info.get("name")),
            server_version=str(info.get("version") or ""),
            tools=tools,
            capabilities=tuple(sorted(capabilities)),
        )
    except http.client.HTTPException as exc:
        raise McpError(f"HTTP protocol error: {exc!r}") from None
    finally:
        session.close()


def call_tool(
    host: str,
    port: int,
    tool: str,
    arguments: dict[str, Any],
    path: str = DEFAULT_PATH,
    timeout: float = 5.0,
) -> dict[str, Any]:
    """Initialize a session and call one tool; returns the tool result."""
    session = _Session(host, port, path, timeout)
    try:
        result = session.initialize()
        session.protocol = str(result.get("protocolVersion"))
        session.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return session.call(2, "tools/call", {"name": tool, "arguments": arguments})
    finally:
        session.close()
