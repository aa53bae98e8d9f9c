"""Files that may hold secrets, written private from their first byte and whole.

A fixed temporary name opened without ``O_EXCL`` inherits whatever an earlier file of that
name was (a 0644 ``model.tmp`` left in the folder makes the result 0644; a symlink planted
there is followed), and ``write`` then ``chmod`` leaves the content readable in between. Here
the temporary file is created by ``tempfile.mkstemp`` (``O_CREAT|O_EXCL|O_NOFOLLOW``, mode
0600, a random name in the target's own folder), written, then renamed over the target: a
reader sees the old file or the new one, never a part, and never a readable one.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def write_private(path: Path, text: str, *, folder_mode: int = 0o700) -> Path:
    """Write ``text`` to ``path`` (mode 0600), whole; the folder is made ``folder_mode`` if it
    is missing. A symlink at ``path`` is replaced, not followed."""
    import tempfile  # here: every command imports this module before compose is asked

    path.parent.mkdir(mode=folder_mode, parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return path


def private_env_file(text: str) -> str:
    """A path a child process can read ``text`` from, never on disk where the platform
    allows: a memory file (Linux: ``memfd_create``, read back through ``/proc/PID/fd``, by
    this user's processes only, gone with this process); elsewhere a 0600 file in a private
    temporary folder, removed when this process exits."""
    memfd = getattr(os, "memfd_create", None)
    if memfd is not None and os.path.isdir(f"/proc/{os.getpid()}/fd"):
        try:
            descriptor = memfd("bootstrap-env", getattr(os, "MFD_CLOEXEC", 0))
        except OSError:
            pass
        else:
            os.write(descriptor, text.encode("utf-8"))
            _KEPT.append(descriptor)  # open for as long as this process runs
            return f"/proc/{os.getpid()}/fd/{descriptor}"
    import atexit
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="bootstrap-env-")
    atexit.register(shutil.rmtree, folder, True)
    return str(write_private(Path(folder) / "secrets.env", text))


_KEPT: list[int] = []
