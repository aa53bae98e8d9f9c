"""``azurite``: the Blob endpoint answers HTTP (any status: it speaks the storage API; a
request without a signature is refused, which is still an answer)."""

from __future__ import annotations

from bootstrap.probes.httphealth import register_http


def _answers(status: int, _body: str) -> tuple[bool, str]:
    return 100 <= status < 600, f"HTTP {status}: the Blob service answers"


register_http(
    "azurite",
    port=10000,
    paths=["/devstoreaccount1?comp=list"],
    accept=_answers,
    images=frozenset({"azurite"}),
    signal="the Blob endpoint (10000) answers HTTP",
    phase="databases",
)
