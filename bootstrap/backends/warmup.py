"""Imports a command will need once compose has read the files, made while it reads them
(both backends): a read-only command's time is mostly compose's ``config`` and what follows."""

from __future__ import annotations

import importlib
from collections.abc import Sequence


def import_what_follows(
    *, engine: bool = True, also: Sequence[str] = (), rules: bool = True
) -> None:
    """Import what follows the model (the model and the plan, the probe registry; the rules
    where ``rules``; the engine client where ``engine``; the modules ``also`` names): run in a
    thread while the caller waits on compose's ``config``, a subprocess, so neither waits for
    the other. Not PyYAML (only a finding's file:line needs it) nor the probe kinds' modules
    (the registry imports a kind's when the stack uses it)."""
    import bootstrap.plan  # the model and the registry with it

    if rules:
        import bootstrap.validate
    if engine:
        import bootstrap.backends.docker  # noqa: F401
    for module in also:  # what the command itself imports next (`up`: the library's verbs)
        importlib.import_module(module)
