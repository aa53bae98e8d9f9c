"""``localstack``: ``GET /_localstack/health`` answers with its services, none of them in
error."""

from __future__ import annotations

from bootstrap.probes.httphealth import json_of, register_http


def _services(status: int, body: str) -> tuple[bool, str]:
    document = json_of(body)
    services = document.get("services") if isinstance(document, dict) else None
    if status != 200 or not isinstance(services, dict):
        return False, f"HTTP {status}, no services listed yet"
    broken = sorted(n for n, state in services.items() if state == "error")
    if broken:
        return False, f"services in error: {', '.join(broken)}"
    return True, f"{len(services)} services available"


register_http(
    "localstack",
    port=4566,
    paths=["/_localstack/health"],
    accept=_services,
    images=frozenset({"localstack"}),
    signal="`GET /_localstack/health` lists its services, none in error",
    phase="databases",
)
