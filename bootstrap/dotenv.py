"""A parser for ``.env`` files, following the dotenv syntax that Docker Compose accepts.

Compose itself reads the env files for interpolating the compose files (bootstrap hands them to
it with ``--env-file``); this parser serves what bootstrap says about them (``env --explain``,
masking, the ``COMPOSE_*`` variables), so it follows compose-go's rules: ``KEY=value``,
``KEY: value``, ``export KEY=value``, ``# comments``, inline `` # comments`` after unquoted
values, single quotes (literal, may span lines), double quotes (escapes and ``${VAR}``
references, may span lines), unquoted values with ``$VAR``/``${VAR}``/``${VAR:-default}``
references, a bare ``KEY`` (its value from the environment, when set there), a UTF-8 byte
order mark, and a file that is not UTF-8 (read as Latin-1, as bytes pass through compose).
A reference resolves as compose resolves it: the environment first, then the earlier env
files, then the same file's earlier lines.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bootstrap.errors import ConfigError

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_REF = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<plain>[A-Za-z_][A-Za-z0-9_]*)|(?P<dollar>\$))"
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


@dataclass(frozen=True)
class Entry:
    """One assignment: its key, value and the 1-based line where it starts."""

    key: str
    value: str
    line: int


def parse_dotenv(
    text: str,
    *,
    filename: str = ".env",
    lookup: Callable[[str], str | None] = lambda _name: None,
) -> list[Entry]:
    """Parse ``text`` into entries. ``lookup`` resolves references to names not set earlier.

    A malformed line raises ``ConfigError`` naming the file and line.
    """
    entries: list[Entry] = []
    seen: dict[str, str] = {}

    def resolve(name: str) -> str | None:
        found = lookup(name)
        return found if found is not None else seen.get(name)

    lines = text.removeprefix("\ufeff").splitlines()
    index = 0
    while index < len(lines):
        number = index + 1
        raw = lines[index]
        index += 1
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("export ") or stripped.startswith("export\t"):
            stripped = stripped[len("export") :].lstrip()
        match = _KEY.match(stripped)
        if not match:
            raise _bad(filename, number, "the line does not start with a variable name")
        key = match.group(0)
        rest = stripped[match.end() :].lstrip()
        if not rest:
            inherited = lookup(key)
            if inherited is not None:
                entries.append(Entry(key, inherited, number))
                seen[key] = inherited
            continue
        if not rest.startswith(("=", ":")):  # compose-go also takes YAML's `KEY: value`
            raise _bad(filename, number, f"expected '=' after {key!r}")
        rest = rest[1:].lstrip()
        if rest.startswith("'"):
            body, tail, consumed = _quoted(rest[1:], lines, index, "'")
            if body is None:
                raise _bad(filename, number, "single quote is never closed")
            index += consumed
            value = body  # literal: compose-go keeps a backslash before a quote as it is
            _check_tail(tail, filename, number)
        elif rest.startswith('"'):
            body, tail, consumed = _quoted(rest[1:], lines, index, '"')
            if body is None:
                raise _bad(filename, number, "double quote is never closed")
            index += consumed
            _check_tail(tail, filename, number)
            value = _double_quoted(body, resolve, f"{filename}:{number}")
        else:
            value = re.split(r"\s+#", rest, maxsplit=1)[0].rstrip()
            value = interpolate(value, resolve, location=f"{filename}:{number}")
        entries.append(Entry(key, value, number))
        seen[key] = value
    return entries


def _quoted(first: str, lines: list[str], index: int, quote: str) -> tuple[str | None, str, int]:
    """Find the closing quote (one a backslash escapes does not count), possibly on a later
    line. Returns body, tail, lines consumed."""
    parts: list[str] = []
    text, consumed = first, 0
    while True:
        position, escaped = 0, False
        while position < len(text):
            char = text[position]
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                parts.append(text[:position])
                return "\n".join(parts), text[position + 1 :], consumed
            position += 1
        parts.append(text)
        if index + consumed >= len(lines):
            return None, "", consumed
        text = lines[index + consumed]
        consumed += 1


_LITERAL_DOLLAR = "\x00"  # stands for an escaped "$" while references are expanded


def _double_quoted(body: str, resolve: Callable[[str], str | None], location: str) -> str:
    """A double-quoted value: escapes, then references; an escaped dollar is a literal one,
    never the start of a reference (as compose-go reads it)."""
    unescaped = _unescape(body, dollar=_LITERAL_DOLLAR)
    return interpolate(unescaped, resolve, location=location).replace(_LITERAL_DOLLAR, "$")


def _unescape(body: str, *, dollar: str = "$") -> str:
    escapes = {**_ESCAPES, "$": dollar}
    return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), "\\" + m.group(1)), body)


def _check_tail(tail: str, filename: str, number: int) -> None:
    tail = tail.strip()
    if tail and not tail.startswith("#"):
        raise _bad(filename, number, "unexpected text after the closing quote")


def interpolate(value: str, resolve: Callable[[str], str | None], *, location: str = "") -> str:
    """Expand ``$VAR``, ``${VAR}``, ``${VAR:-d}``, ``${VAR-d}``, ``${VAR:?msg}``, ``${VAR:+x}``."""

    def replace(match: re.Match[str]) -> str:
        if match.group("dollar"):
            return "$"
        name = match.group("braced") or match.group("plain")
        current = resolve(name)
        op, arg = match.group("op"), match.group("arg") or ""
        if op is None:
            return current or ""
        empty_counts = op.startswith(":")
        missing = current is None or (empty_counts and current == "")
        kind = op[-1]
        if kind == "-":
            return interpolate(arg, resolve, location=location) if missing else current or ""
        if kind == "+":
            return "" if missing else interpolate(arg, resolve, location=location)
        if missing:
            raise ConfigError(
                f"required variable {name} is not set: {arg or 'no message'}",
                location=location,
                hint=f"set {name} in .env.local, the environment or the secret store",
            )
        return current or ""

    return _REF.sub(replace, value)


def read_env_file(path: Path) -> str:
    """An env file's text: UTF-8 (a byte order mark dropped), else Latin-1, which maps every
    byte, so a file compose reads is never refused for its encoding."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def as_mapping(entries: list[Entry]) -> dict[str, str]:
    return {e.key: e.value for e in entries}


def _bad(filename: str, number: int, what: str) -> ConfigError:
    return ConfigError(
        f"malformed line: {what}",
        location=f"{filename}:{number}",
        hint="write it as NAME=value (quote values that contain spaces or '#')",
    )


def lookup_in(*layers: Mapping[str, str]) -> Callable[[str], str | None]:
    """A lookup that tries each mapping in turn, the first first."""

    def lookup(name: str) -> str | None:
        for layer in layers:
            if name in layer:
                return layer[name]
        return None

    return lookup


def render_env_file(values: Mapping[str, str]) -> str:
    """``values`` as an env file that compose reads back exactly: double quotes, with the
    backslash, the quote, ``$`` and line breaks escaped (so nothing is interpolated)."""

    def quoted(value: str) -> str:
        escaped = (
            value.replace("\\", "\\\\")
            .replace('"', '\\"')
            .replace("$", "\\$")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
            .replace("\t", "\\t")
        )
        return f'"{escaped}"'

    return "".join(f"{name}={quoted(value)}\n" for name, value in values.items())
