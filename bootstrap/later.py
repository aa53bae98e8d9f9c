"""A value made in a thread while the caller goes on (``Later``): the engine's client and
its first answers, compose's config hashes, made while compose reads the files."""

from __future__ import annotations

import threading
from collections.abc import Callable
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
