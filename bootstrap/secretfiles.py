"""A ``*_FILE`` variable's value from the secret's own source. Pure but for reading the file.

Images read ``POSTGRES_PASSWORD_FILE=/run/secrets/db_password`` inside the container; a probe
that cannot read the container (a Swarm replica on another node) reads the same secret where
the compose file says it comes from: its ``file:``, or its ``environment:`` variable."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


def secret_file_value(
    document: Mapping[str, Any], service: str, path: str, env: Mapping[str, str]
) -> str | None:
    """The content behind ``path`` in ``service``'s container, when ``path`` is where one of
    its secrets is mounted and that secret is a file or an environment variable; else None."""
    spec = (document.get("services") or {}).get(service) or {}
    for entry in spec.get("secrets") or []:
        ref = {"source": entry} if isinstance(entry, str) else dict(entry)
        source = str(ref.get("source", ""))
        target = str(ref.get("target") or source)
        if not target.startswith("/"):
            target = f"/run/secrets/{target}"
        if target != path:
            continue
        definition = (document.get("secrets") or {}).get(source) or {}
        if definition.get("file"):
            try:
                return Path(str(definition["file"])).read_text(encoding="utf-8").strip()
            except OSError:
                return None
        if definition.get("environment"):
            value = env.get(str(definition["environment"]))
            return None if value is None else value.strip()
        return None
    return None
