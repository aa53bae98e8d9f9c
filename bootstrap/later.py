"""A value made in a thread while the caller goes on (``Later``): the engine's client and
its first answers, compose's config hashes, made while compose reads the files."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")
A = TypeVar("A")


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


def in_threads(make: Callable[[A], T], items: Sequence[A], *, workers: int = 8) -> list[T]:
    """``[make(item) for item in items]``, made by up to ``workers`` threads at once, in the
    items' order; raises the error of the first item whose making raised. ThreadPoolExecutor's
    ``map`` without concurrent.futures' import (see ``Later``)."""
    made: list[tuple[bool, Any]] = [(False, None)] * len(items)
    claimed = iter(range(len(items)))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                index = next(claimed, None)
            if index is None:
                return
            try:
                made[index] = (True, make(items[index]))
            except BaseException as exc:  # handed to the caller, in the items' order
                made[index] = (False, exc)

    for thread in [Later(work) for _ in range(min(workers, len(items)))]:
        thread.result()
    for ok, value in made:
        if not ok:
            raise value
    return [value for _ok, value in made]
