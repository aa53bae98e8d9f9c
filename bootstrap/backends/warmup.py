"""Imports a command will need once compose has read the files, made while it reads them
(both backends): a read-only command's time is mostly compose's ``config`` and what follows."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Sequence


def import_what_follows(*, engine: bool = True, also: Sequence[str] = ()) -> None:
    """Import what follows the model (the model and the plan, the probe registry with every
    kind, the rules, PyYAML for the findings' file:line; the engine client where ``engine``;
    the modules ``also`` names): run in a thread while the caller waits on compose's
    ``config``, a subprocess, so neither waits for the other."""
    with contextlib.suppress(ImportError):  # first: a refusal of the files places it with it
        import yaml  # noqa: F401
    import bootstrap.plan  # the model with it
    import bootstrap.validate
    from bootstrap.probes.registry import recognised

    recognised(())  # every kind's module, and the index of image words
    if engine:
        import bootstrap.backends.docker  # noqa: F401
    for module in also:  # what the command itself imports next (`up`: the library's verbs)
        importlib.import_module(module)
