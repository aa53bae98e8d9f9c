"""bootstrap: ordered, probe-gated bring-up of Docker Compose development environments."""

from __future__ import annotations

__version__ = "0.2.0"
PLAN_SCHEMA_VERSION = 2  # `plan --json`; 2: waves numbered from 1, as the text output numbers them
