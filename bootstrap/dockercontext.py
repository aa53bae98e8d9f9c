"""``--context NAME`` / ``DOCKER_CONTEXT``: one engine for everything a run talks to.

The docker CLI (compose, ``stack deploy``) reads contexts; the Docker SDK does not. So the
context's endpoint is resolved once, with the CLI, and handed to both as ``DOCKER_HOST`` (and
its TLS files as ``DOCKER_CERT_PATH``). An explicit ``DOCKER_HOST`` wins, as it does for the CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import MutableMapping
from pathlib import Path

from bootstrap.errors import EngineError

_CHOSEN: list[str] = []  # the context this run's engine came from, if any


def chosen_engine(environ: MutableMapping[str, str] | None = None) -> tuple[str, str]:
    """(the context named by --context or DOCKER_CONTEXT, or "", the engine's host, or "")."""
    env = os.environ if environ is None else environ
    return (_CHOSEN[0] if _CHOSEN else "", env.get("DOCKER_HOST", ""))


def use_context(name: str | None, environ: MutableMapping[str, str] | None = None) -> str | None:
    """Point this process (and what it starts) at the context's engine; returns its host."""
    env = os.environ if environ is None else environ
    name = name or env.get("DOCKER_CONTEXT")
    if not name or env.get("DOCKER_HOST"):
        return None
    done = subprocess.run(
        ["docker", "context", "inspect", name, "--format", "{{json .}}"],
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in env.items() if k != "DOCKER_CONTEXT"},
    )
    if done.returncode != 0:
        raise EngineError(
            f"no Docker context {name!r}: {done.stderr.strip() or 'docker context inspect failed'}",
            location="--context" if "DOCKER_CONTEXT" not in env else "DOCKER_CONTEXT",
            hint="`docker context ls` lists the contexts; `docker context create` makes one",
        )
    context = json.loads(done.stdout)
    endpoint = (context.get("Endpoints") or {}).get("docker") or {}
    host = str(endpoint.get("Host") or "")
    if not host:
        raise EngineError(f"Docker context {name!r} has no engine endpoint", location="--context")
    env.pop("DOCKER_CONTEXT", None)  # the CLI refuses a context and a host together
    env["DOCKER_HOST"] = host
    _CHOSEN[:] = [name]
    tls = Path(str((context.get("Storage") or {}).get("TLSPath") or "")) / "docker"
    if (tls / "ca.pem").is_file() or (tls / "cert.pem").is_file():
        env["DOCKER_CERT_PATH"] = str(tls)
        if not endpoint.get("SkipTLSVerify"):
            env["DOCKER_TLS_VERIFY"] = "1"
    return host
