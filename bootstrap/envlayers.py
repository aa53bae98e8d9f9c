"""The layered environment: compose defaults < .env < .env.local < process env < secrets.

Each resolved value remembers the layer it came from, so ``bootstrap env --explain`` can say
where it came from, and whether it is secret (masked everywhere unless revealed).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from bootstrap.dotenv import as_mapping, lookup_in, parse_dotenv
from bootstrap.errors import ConfigError

MASK = "********"
_SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|KEY|CREDENTIAL", re.IGNORECASE)
_DEFAULT_REF = re.compile(
    r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
)


class EnvLayer(Enum):
    """Where a value came from, lowest precedence first."""

    COMPOSE_DEFAULT = "compose default"
    DOTENV = ".env"
    DOTENV_LOCAL = ".env.local"
    PROCESS = "process environment"
    SECRET = "secret store"  # noqa: S105 - a layer name, not a password

    @property
    def rank(self) -> int:
        return list(EnvLayer).index(self)


@dataclass(frozen=True)
class ResolvedVar:
    name: str
    value: str
    layer: EnvLayer
    secret: bool
    overrides: tuple[EnvLayer, ...] = ()  # lower layers that also set it

    def shown(self, reveal: bool = False) -> str:
        return self.value if reveal or not self.secret else MASK


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def compose_defaults(texts: Iterable[str]) -> tuple[dict[str, str], set[str]]:
    """Scan raw compose text for ``${NAME:-default}`` defaults and every referenced name."""
    defaults: dict[str, str] = {}
    referenced: set[str] = set()
    for text in texts:
        for match in _DEFAULT_REF.finditer(text):
            name = match.group("name")
            referenced.add(name)
            if match.group("op") in (":-", "-"):
                defaults.setdefault(name, match.group("arg") or "")
    return defaults, referenced


def resolve(
    layers: Mapping[EnvLayer, Mapping[str, str]], *, names: Iterable[str] = ()
) -> dict[str, ResolvedVar]:
    """Resolve every name set in a file layer or the secret store, or listed in ``names``.

    The process environment only contributes names that are also known some other way, so the
    result is the project's environment, not the whole shell's. Pure.
    """
    process = layers.get(EnvLayer.PROCESS, {})
    wanted = set(names)
    for layer, values in layers.items():
        if layer is not EnvLayer.PROCESS:
            wanted.update(values)
    result: dict[str, ResolvedVar] = {}
    for name in sorted(wanted):
        setters = [layer for layer in EnvLayer if name in layers.get(layer, {})]
        if not setters:
            continue
        top = setters[-1]
        value = (process if top is EnvLayer.PROCESS else layers[top])[name]
        secret = EnvLayer.SECRET in setters or is_secret_name(name)
        result[name] = ResolvedVar(name, value, top, secret, tuple(setters[:-1]))
    return result


@dataclass(frozen=True)
class Environment:
    """The project's resolved environment."""

    variables: Mapping[str, ResolvedVar]
    referenced: frozenset[str] = frozenset()
    dotenv: Mapping[str, str] = field(
        default_factory=dict
    )  # the .env file alone, as compose reads it

    def values(self) -> dict[str, str]:
        """What compose interpolates with (the project's layers only)."""
        return {
            n: v.value for n, v in self.variables.items() if v.layer is not EnvLayer.COMPOSE_DEFAULT
        }

    def secret_values(self) -> list[str]:
        """Values that must never be printed (longest first, for redaction)."""
        found = {v.value for v in self.variables.values() if v.secret and len(v.value) >= 3}
        return sorted(found, key=len, reverse=True)

    def get(self, name: str, default: str = "") -> str:
        var = self.variables.get(name)
        return var.value if var else default

    def unset(self) -> list[str]:
        return sorted(n for n in self.referenced if n not in self.variables)


def read_secret_store(directory: Path) -> dict[str, str]:
    """One file per variable: the file name is the name, its content the value."""
    if not directory.is_dir():
        return {}
    secrets: dict[str, str] = {}
    for path in sorted(directory.iterdir()):
        if path.is_file() and not path.name.startswith("."):
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", path.name):
                raise ConfigError(
                    f"{path.name!r} is not a variable name",
                    location=str(path),
                    hint="name each secret file after its variable, e.g. POSTGRES_PASSWORD",
                )
            secrets[path.name] = path.read_text(encoding="utf-8").rstrip("\r\n")
    return secrets


def load_environment(
    directory: Path,
    *,
    secrets_dir: str,
    compose_texts: Iterable[str],
    environ: Mapping[str, str],
) -> Environment:
    """Read the layers from ``directory`` and resolve them."""
    defaults, referenced = compose_defaults(compose_texts)
    layers: dict[EnvLayer, Mapping[str, str]] = {
        EnvLayer.COMPOSE_DEFAULT: defaults,
        EnvLayer.PROCESS: environ,
        EnvLayer.SECRET: read_secret_store(directory / secrets_dir),
    }
    # A later file may refer to names of an earlier one; the process env and secrets win.
    dotenv: dict[str, str] = {}
    for layer, name in ((EnvLayer.DOTENV, ".env"), (EnvLayer.DOTENV_LOCAL, ".env.local")):
        path = directory / name
        if path.is_file():
            lookup = lookup_in(layers[EnvLayer.SECRET], environ, dotenv)
            entries = parse_dotenv(path.read_text(encoding="utf-8"), filename=name, lookup=lookup)
            layers[layer] = as_mapping(entries)
            dotenv.update(layers[layer])
    return Environment(
        resolve(layers, names=referenced),
        frozenset(referenced),
        dict(layers.get(EnvLayer.DOTENV, {})),
    )


class Redactor:
    """Replaces every secret value in text with the mask."""

    def __init__(self, secrets: Iterable[str]) -> None:
        values = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, values))) if values else None

    def __call__(self, text: str) -> str:
        return self._pattern.sub(MASK, text) if self._pattern else text
