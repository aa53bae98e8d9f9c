"""bootstrap: ordered, probe-gated bring-up of Docker Compose development environments."""

from __future__ import annotations

__version__ = "0.2.0"
