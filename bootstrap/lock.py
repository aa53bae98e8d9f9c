"""One bootstrap run per project at a time: an advisory lock file that says who holds it."""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from bootstrap.errors import LockedError


class ProjectLock:
    """``with ProjectLock(path): ...``; waits up to ``wait`` seconds, then raises LockedError."""

    def __init__(
        self,
        path: Path,
        *,
        wait: float = 600.0,
        on_wait: Callable[[str], None] = lambda _holder: None,
        cancelled: Callable[[], bool] = lambda: False,
        on_stale: Callable[[str], None] = lambda _holder: None,
    ) -> None:
        self.path = path
        self.wait = wait
        self.on_wait = on_wait
        self.cancelled = cancelled
        self.on_stale = on_stale
        self._handle: int | None = None

    def _stale_holder(self) -> str | None:
        """The record a killed holder left: the kernel freed its lock, the file still names
        it. None when the file is empty (released cleanly) or names a live process."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return None
        pid = data.get("pid")
        if not isinstance(pid, int) or pid == os.getpid():
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return f"pid {pid} (`{data.get('command')}` since {data.get('since')})"
        except PermissionError:
            return None
        return None

    def holder(self) -> str:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return "another bootstrap process"
        return f"pid {data.get('pid')} (`{data.get('command')}` since {data.get('since')})"

    def __enter__(self) -> ProjectLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.wait
        told = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline or self.cancelled():
                    holder = self.holder()
                    os.close(handle)
                    raise LockedError(
                        f"another bootstrap run holds the project lock: {holder}",
                        location=str(self.path),
                        hint="wait for it to finish, or stop that process",
                    ) from None
                if not told:
                    self.on_wait(self.holder())
                    told = True
                time.sleep(0.1)
        stale = self._stale_holder()
        if stale:
            self.on_stale(stale)
        record = {
            "pid": os.getpid(),
            "command": " ".join(["bootstrap", *sys.argv[1:]])[:200],
            "since": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        os.ftruncate(handle, 0)
        os.write(handle, json.dumps(record).encode())
        self._handle = handle
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._handle is not None:
            os.ftruncate(self._handle, 0)
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            os.close(self._handle)
            self._handle = None
