"""Runs inside the probe helper, a container on the stack's overlay network: resolves
``tasks.SERVICE`` to every replica and probes each with the probe the registry builds for the
spec, the very object the compose backend runs (every kind that needs no container: HTTP,
TCP, MCP, the SQL servers with bootstrap's own clients...). Standard library only (the helper
is any image with python3 and this package; a test checks it).

``python -m bootstrap.backends.helper '{"service": ..., "kind": ..., "params": ...}'``
prints one JSON line: ``{"replicas": [{"address", "ready", "detail"}], "error": ...}``.
"""

from __future__ import annotations

import json
import socket
import sys
from typing import Any


def replicas(name: str) -> list[str]:
    """Every address ``name`` has on this network: ``tasks.NAME`` lists a Swarm service's
    tasks, a compose service's name every replica."""
    try:
        found = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        return []
    return sorted({str(entry[4][0]) for entry in found})


def probe_all(spec: dict[str, Any]) -> dict[str, Any]:
    from bootstrap.probes import Target, make_probe
    from bootstrap.probes.spec import ProbeSpec

    probe = make_probe(
        ProbeSpec(spec["kind"], dict(spec.get("params") or {})),
        exposed=[int(p) for p in spec.get("exposed") or ()],
    )
    addresses = replicas(spec.get("resolve") or f"tasks.{spec['service']}")
    results = []
    for address in addresses:
        target = Target(spec["service"], dns_name=address)
        try:
            seen = probe.check(target)
        except Exception as exc:  # a probe that breaks is a replica not ready, said
            results.append({"address": address, "ready": False, "detail": repr(exc)})
            continue
        results.append({"address": address, "ready": seen.ready, "detail": seen.detail})
    return {"replicas": results}


def main(argv: list[str]) -> int:
    print(json.dumps(probe_all(json.loads(argv[1]))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
