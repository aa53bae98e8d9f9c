"""``dynamodb`` (DynamoDB Local): the endpoint answers HTTP (any status: an unsigned request is
refused, which is still the service answering)."""

from __future__ import annotations

from bootstrap.probes.httphealth import register_http


def _answers(status: int, _body: str) -> tuple[bool, str]:
    return 100 <= status < 600, f"HTTP {status}: DynamoDB Local answers"


register_http(
    "dynamodb",
    port=8000,
    paths=["/"],
    accept=_answers,
    images=frozenset({"dynamodb"}),
    signal="the endpoint (8000) answers HTTP",
    phase="databases",
)
