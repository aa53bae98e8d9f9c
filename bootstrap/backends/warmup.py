"""Imports a command will need once compose has read the files, made while it reads them
(both backends): a read-only command's time is mostly compose's ``config`` and what follows."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class Later(Generic[T]):
    """A value made in a daemon thread from now; ``result()`` waits for it and raises what
    making it raised. concurrent.futures' ``Future`` without its import (logging and
    traceback with it: about 4 ms of every command that connects while compose reads)."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._done = threading.Event()
        self._value: T | None = None
        self._error: BaseException | None = None
        threading.Thread(target=self._make, args=(make,), daemon=True).start()

    def _make(self, make: Callable[[], T]) -> None:
        try:
            self._value = make()
        except BaseException as exc:  # handed to whoever asks for the value
            self._error = exc
        finally:
            self._done.set()

    def result(self) -> T:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set: no error was raised


def import_what_follows(*, engine: bool = True, also: Sequence[str] = ()) -> None:
    """Import what follows the model (the model and the plan, the probe registry, the rules;
    the engine client where ``engine``; the modules ``also`` names): run in a thread while the
    caller waits on compose's ``config``, a subprocess, so neither waits for the other. Not
    PyYAML (only a finding's file:line needs it) nor the probe kinds' modules (the registry
    imports a kind's when the stack uses it)."""
    import bootstrap.plan  # the model and the registry with it
    import bootstrap.validate

    if engine:
        import bootstrap.backends.docker  # noqa: F401
    for module in also:  # what the command itself imports next (`up`: the library's verbs)
        importlib.import_module(module)
