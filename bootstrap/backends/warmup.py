"""Imports a command will need, made while compose reads the files (both backends)."""

from __future__ import annotations

import contextlib
import threading


def warm_engine_import(*, engine: bool = True) -> None:
    """Import what the command will need next (the Docker SDK, about 80 ms; PyYAML for the
    findings' file:line; the rules) in a thread, while the caller waits on compose's
    ``config``: a subprocess, so the import does not wait for it."""

    def load() -> None:
        import bootstrap.validate

        if engine:
            import bootstrap.backends.docker  # noqa: F401
        with contextlib.suppress(ImportError):
            import yaml  # noqa: F401

    threading.Thread(target=load, daemon=True).start()
