"""The layered environment: compose defaults < .env < .env.local < process env < secrets.

Each resolved value remembers the layer it came from, so ``bootstrap env --explain`` can say
where it came from, and whether it is secret (masked everywhere unless revealed).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from bootstrap.dotenv import as_mapping, lookup_in, parse_dotenv, read_env_file
from bootstrap.errors import ConfigError

MASK = "********"
# A secret's name says so in one of its words (split on _, - and .), never inside another
# word: VALKEY_IMAGE is not a key, SANDBOX_API_KEY is. A last word that says what else the
# value is (a prefix, a file, a URL...) makes it no secret: API_KEY_PREFIX, SECRET_FILE.
SECRET_WORDS = frozenset(
    {
        "PASSWORD", "PASSWD", "PASS", "PWD", "SECRET", "SECRETS", "TOKEN", "TOKENS", "KEY",
        "APIKEY", "CREDENTIAL", "CREDENTIALS", "PRIVATE", "SALT", "DSN",
    }
)  # fmt: skip
NOT_THE_SECRET = frozenset(
    {
        "PREFIX", "SUFFIX", "NAME", "ID", "FILE", "PATH", "DIR", "URL", "HOST", "PORT",
        "IMAGE", "TYPE", "LENGTH", "HEADER", "ENABLED", "ENABLE", "MODE", "VERSION", "USER",
        "USERNAME", "ALGORITHM", "EXPIRY", "EXPIRES", "TTL", "FORMAT", "FIELD",
    }
)  # fmt: skip
_NAME_WORDS = re.compile(r"[_.\-]+")
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
    words = [w for w in _NAME_WORDS.split(name.upper()) if w]
    if not words or words[-1] in NOT_THE_SECRET:
        return False
    return any(word in SECRET_WORDS for word in words)


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
    dotenv: Mapping[str, str] = field(default_factory=dict)  # every env file's, later wins

    def values(self) -> dict[str, str]:
        """What compose interpolates with (the project's layers only)."""
        return {
            n: v.value for n, v in self.variables.items() if v.layer is not EnvLayer.COMPOSE_DEFAULT
        }

    def secrets(self) -> dict[str, str]:
        """Secret variables by name (what the redactor masks where they stand as values)."""
        return {n: v.value for n, v in self.variables.items() if v.secret and v.value}

    def get(self, name: str, default: str = "") -> str:
        var = self.variables.get(name)
        return var.value if var else default

    def unset(self) -> list[str]:
        return sorted(n for n in self.referenced if n not in self.variables)


# Variables that say which program runs, how, or where it connects (the loader, the
# interpreter, the shell, the engine endpoint and its credentials, proxies, certificates): no
# layer of a workspace sets them for a program bootstrap starts. A cloned repository is
# untrusted until `up`; compose reads its env files for interpolation only, and so does
# bootstrap.
PROGRAM_NAMES = frozenset(
    {
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TMPDIR", "TMP", "TEMP", "PWD", "IFS",
        "ENV", "BASH_ENV", "CDPATH", "PS4", "PROMPT_COMMAND", "NODE_OPTIONS", "NODE_PATH",
        "PERL5LIB", "PERL5OPT", "PERLLIB", "RUBYOPT", "RUBYLIB", "GCONV_PATH", "LOCPATH",
        "NLSPATH", "HOSTALIASES", "RESOLV_HOST_CONF", "LOCALDOMAIN", "SSL_CERT_FILE",
        "SSL_CERT_DIR", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "KUBECONFIG", "GNUPGHOME",
        "EDITOR", "VISUAL", "PAGER", "BROWSER", "GODEBUG", "GOTRACEBACK", "GOMAXPROCS",
        "GOGC", "GOMEMLIMIT", "GOFLAGS", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
        "NO_PROXY", "FTP_PROXY", "TERMINFO", "TERMINFO_DIRS",
    }
)  # fmt: skip
PROGRAM_PREFIXES = (
    "LD_", "DYLD_", "PYTHON", "DOCKER_", "COMPOSE_", "BUILDKIT_", "BUILDX_", "SSH_", "GIT_",
    "XDG_", "UV_", "PIP_", "VIRTUAL_ENV", "BOOTSTRAP_", "OTEL_", "NPM_CONFIG_",
)  # fmt: skip


def program_variable(name: str) -> bool:
    """Whether ``name`` changes which program runs, how, or where it connects."""
    upper = name.upper()
    return upper in PROGRAM_NAMES or upper.startswith(PROGRAM_PREFIXES)


def inside(root: Path, path: Path) -> bool:
    """Whether ``path`` (its symlinks followed) is ``root`` or under it."""
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def read_secret_store(directory: Path, workspace: Path | None = None) -> dict[str, str]:
    """One file per variable: the file name is the name, its content the value. A file whose
    link leaves ``workspace``, or named after a variable that changes how programs run, is
    refused: the store is the workspace's, and a cloned one is not trusted yet."""
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
            if program_variable(path.name):
                raise ConfigError(
                    f"a secret may not be named {path.name}: that variable changes which "
                    "program runs or where it connects, and no workspace sets it",
                    location=str(path),
                    hint=f"rename it (and the ${{{path.name}}} that uses it), or remove it; "
                    "set such a variable in your own shell",
                )
            if workspace is not None and not inside(workspace, path):
                raise ConfigError(
                    f"{path.name} links to {path.resolve()}, outside the workspace",
                    location=str(path),
                    hint="put the secret's value in the file itself; a secret store names "
                    "nothing outside its workspace",
                )
            secrets[path.name] = path.read_text(encoding="utf-8").rstrip("\r\n")
    return secrets


def default_env_files(folder: Path) -> tuple[Path, ...]:
    """The env files of a project folder, lowest first: ``.env``, then ``.env.local``."""
    return tuple(folder / name for name in (".env", ".env.local") if (folder / name).is_file())


def load_environment(
    directory: Path,
    *,
    secrets_dir: str,
    compose_texts: Iterable[str],
    environ: Mapping[str, str],
    env_files: Iterable[Path] | None = None,
) -> Environment:
    """Read the layers and resolve them. ``env_files`` (``--env-file``), else the
    ``directory``'s ``.env`` and ``.env.local``; a file named ``.env.local`` is that layer, any
    other the ``.env`` layer. The secret store is under ``directory``."""
    defaults, referenced = compose_defaults(compose_texts)
    layers: dict[EnvLayer, Mapping[str, str]] = {
        EnvLayer.COMPOSE_DEFAULT: defaults,
        EnvLayer.PROCESS: environ,
        EnvLayer.SECRET: read_secret_store(directory / secrets_dir, directory),
    }
    files = default_env_files(directory) if env_files is None else tuple(env_files)
    # As compose reads them: a reference resolves against the environment (where bootstrap
    # also puts the secrets), then the earlier files, then the file's own earlier lines.
    dotenv: dict[str, str] = {}
    by_layer: dict[EnvLayer, dict[str, str]] = {}
    for path in files:
        layer = EnvLayer.DOTENV_LOCAL if path.name == ".env.local" else EnvLayer.DOTENV
        lookup = lookup_in(layers[EnvLayer.SECRET], environ, dotenv)
        try:
            text = read_env_file(path)
        except OSError as exc:
            raise ConfigError(
                f"cannot read the env file: {exc.strerror or exc}",
                location=str(path),
                hint="check the path given with --env-file, and its permissions",
            ) from None
        entries = parse_dotenv(text, filename=path.name, lookup=lookup)
        values = as_mapping(entries)
        by_layer.setdefault(layer, {}).update(values)
        dotenv.update(values)
    layers.update(by_layer)
    return Environment(resolve(layers, names=referenced), frozenset(referenced), dotenv)


# Passwords people use in development: masking them as free text would rewrite ordinary words.
COMMON_PASSWORDS = frozenset(
    {
        "password", "passw0rd", "postgres", "mysql", "mariadb", "root", "admin", "secret",
        "changeme", "example", "test", "testing", "development", "default", "guest", "user",
        "letmein", "qwerty", "12345678", "123456789", "1234567890", "temporal", "supabase",
    }
)  # fmt: skip
MIN_STRONG_LENGTH = 8
_WORD = re.compile(r"[A-Za-z0-9_]+")
_TOKEN = re.compile(r"[A-Za-z0-9_.\-]+")  # a name with its dashes and dots: dify-sandbox


def context_words(texts: Iterable[str]) -> frozenset[str]:
    """The words of the compose files and names around the secrets: a secret equal to one of
    them cannot be masked as free text without rewriting a name."""
    listed = list(texts)
    words = {w.lower() for text in listed for w in _WORD.findall(text)}
    return frozenset(words | {t.lower() for text in listed for t in _TOKEN.findall(text)})


def weakness(value: str, context: frozenset[str] = frozenset()) -> str | None:
    """Why ``value`` is too short or common to mask safely in free text, or None."""
    if len(value) < MIN_STRONG_LENGTH:
        return f"shorter than {MIN_STRONG_LENGTH} characters"
    lowered = value.lower()
    if lowered in COMMON_PASSWORDS:
        return "a common password"
    if lowered in context or any(lowered in w for w in context if len(w) > len(lowered)):
        return "also a word of the compose files (a name, an image, a default)"
    return None


class Redactor:
    """Masks secrets in text.

    A strong secret is masked wherever it appears. A weak one (short, common, or also a word
    of the compose files, such as POSTGRES_PASSWORD=postgres) is masked only where it stands
    as a value: after ``NAME=`` or ``"NAME": "`` of a secret variable, and as the password of a
    URL; never inside names, images or paths. Any URL's password is masked. JSON documents are
    masked before they are serialised (``document``), so they stay valid.
    """

    def __init__(
        self,
        secrets: Mapping[str, str] | Iterable[str],
        *,
        context: frozenset[str] = frozenset(),
    ) -> None:
        if isinstance(secrets, Mapping):
            named = dict(secrets)
        else:  # bare values: no names to anchor them
            named = {f"_{i}": v for i, v in enumerate(secrets)}
        values = {v for v in named.values() if v}
        self.weak = {v: w for v in values if (w := weakness(v, context))}
        self.weak_variables = {  # for validate and doctor: which secrets to replace
            n: self.weak[v] for n, v in sorted(named.items()) if v in self.weak and n[:1] != "_"
        }
        strong = sorted(values - set(self.weak), key=len, reverse=True)
        self._strong = re.compile("|".join(map(re.escape, strong))) if strong else None
        names = sorted(n for n in named if n and not n.startswith("_"))
        # NAME=value (env files, command lines, logs) and "NAME": "value" (JSON logs).
        self._assigned = (
            re.compile(
                r"(?P<key>\b(?:" + "|".join(map(re.escape, names)) + r")(?:=|[\"']\s*:\s*[\"']))"
                r"(?P<value>[^\s\"',;&]+)"
            )
            if names
            else None
        )

    def __call__(self, text: str) -> str:
        if self._strong is not None:
            text = self._strong.sub(MASK, text)
        if self._assigned is not None:
            text = self._assigned.sub(lambda m: m.group("key") + MASK, text)
        return _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + "@", text)

    def document(self, value: object) -> object:
        """A JSON-ready structure with every string value masked; keys and the structure stay."""
        return redact_document(value, self)


_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]+:)(?!\*{8}@)[^@\s/]+@")


def redact_document(value: object, redact: Callable[[str], str]) -> object:
    """Apply ``redact`` to every string value of a JSON-ready structure, never to a key."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {k: redact_document(v, redact) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_document(v, redact) for v in value]
    return value
