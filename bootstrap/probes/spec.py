"""A probe kind's parameters: their parsers, and the parsed ``ProbeSpec``. Pure, standard
library only (the Swarm probe helper imports it)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

ParamValue = int | float | str
SECRET_PARAMS = frozenset({"password"})
DEFAULT_QUERY = "SELECT 1"  # a SQL probe's question; the `query` label asks another


def port(text: str) -> int:
    if not text.strip().isdigit() or not 0 < int(text) < 65536:
        raise ValueError("a port number (1-65535)")
    return int(text)


def duration(text: str) -> float:
    """``30``, ``30s``, ``1m30s``, ``500ms``: seconds. Raises ``ValueError`` otherwise."""
    raw = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", raw):
        return float(raw)
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", raw)
    if not parts or "".join(n + u for n, u in parts) != raw:
        raise ValueError("a duration such as 30s, 1m30s or 500ms")
    return sum(float(n) * units[u] for n, u in parts)


def status(text: str) -> int:
    if not text.strip().isdigit() or not 100 <= int(text) <= 599:
        raise ValueError("an HTTP status code (100-599)")
    return int(text)


def path(text: str) -> str:
    if not text.startswith("/"):
        raise ValueError("a path starting with /")
    return text


def regex(text: str) -> str:
    try:
        re.compile(text)
    except re.error as exc:
        raise ValueError(f"a regular expression ({exc})") from None
    return text


def text(value: str) -> str:
    if not value.strip():
        raise ValueError("a non-empty value")
    return value


@dataclass(frozen=True)
class Param:
    """One label parameter: its parser (``ValueError`` with what it wants)."""

    parse: Callable[[str], ParamValue]


PORT, TIMEOUT, TEXT = Param(port), Param(duration), Param(text)
SQL_PARAMS: Mapping[str, Param] = {
    "port": PORT,
    "user": TEXT,
    "database": TEXT,
    "query": TEXT,
    "password_file": Param(path),
}


@dataclass(frozen=True)
class ProbeSpec:
    """A probe kind and its parsed parameters (``port``, ``path``, ``status``, ``user``...)."""

    kind: str
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    reason: str = ""
    # chosen by bootstrap as a better guess than "running" (a port the service listens on):
    # where it cannot be tried at all, "running" is what compose would wait for
    guessed: bool = False
    # the kind came from the image (or the name), not from a label: a guess, which may never
    # fail a service compose would call ready (a server answering another protocol, or none)
    recognised: bool = False
    ordered: bool = False  # a label asked for it: an order, never replaced by a guess
    # the image's own config chose it (its HEALTHCHECK, or a port it EXPOSEs), where the file
    # says nothing: known once the image is here (at `up` always, at `plan` when it is local)
    from_image: bool = False

    @property
    def source(self) -> str:
        """Where the probe came from: a label (an order), the image (a guess of bootstrap's),
        a guess from a port, or the compose file (its healthcheck, a dependent's condition)."""
        if self.ordered:
            return "label"
        if self.from_image:
            return "image config (a guess)" if self.guessed else "image config"
        if self.recognised:
            return "image (a guess)"
        if self.guessed:
            return "a port (a guess)"
        return "compose file"

    def public(self) -> dict[str, str]:
        """Parameters safe to print (no passwords); an empty one is said as ``none``."""
        return {
            k: str(v) if v != "" else "none"
            for k, v in sorted(self.params.items())
            if k not in SECRET_PARAMS
        }

    def describe(self) -> str:
        shown = " ".join(f"{k}={v}" for k, v in self.public().items())
        return f"{self.kind} {shown}".strip()

    def text(self, key: str, default: str = "") -> str:
        return str(self.params.get(key, default))

    def number(self, key: str, default: float) -> float:
        value = self.params.get(key, default)
        return float(value) if isinstance(value, int | float) else default
