from __future__ import annotations

import json

import pytest

from bootstrap.mcp_client import McpError, _parse_body


def envelope(**extra: object) -> dict[str, object]:
    return {"jsonrpc": "2.0", "id": 1, "result": {"protocolVersion": "2025-06-18"}, **extra}


def test_event_stream_and_json_bodies() -> None:
    sse = f"event: message\r\ndata: {json.dumps(envelope())}\r\n\r\n".encode()
    assert _parse_body("text/event-stream", sse, 1)["result"]["protocolVersion"] == "2025-06-18"
    batch = json.dumps([{"jsonrpc": "2.0", "id": 9, "result": {}}, envelope()]).encode()
    assert _parse_body("application/json; charset=utf-8", batch, 1)["id"] == 1


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        ("text/html", b"<html>", "unexpected Content-Type"),
        (
            "application/json",
            json.dumps({**envelope(), "jsonrpc": "1.0"}).encode(),
            "not JSON-RPC 2.0",
        ),
        (
            "application/json",
            json.dumps(
                {"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "nope"}}
            ).encode(),
            "JSON-RPC error -32601: nope",
        ),
        (
            "application/json",
            json.dumps({"jsonrpc": "2.0", "id": 1, "result": 3}).encode(),
            "no result object",
        ),
        (
            "application/json",
            json.dumps({**envelope(), "id": 2}).encode(),
            "no JSON-RPC response with id 1",
        ),
    ],
)
def test_contract_breaks_say_how(content_type: str, body: bytes, message: str) -> None:
    with pytest.raises(McpError, match=message):
        _parse_body(content_type, body, 1)
