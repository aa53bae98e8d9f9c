"""Loading a workspace: settings, compose files, the layered environment, the model, the plan.

This is the one place that reads files and runs ``docker compose config`` for planning;
everything it hands on is plain data.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bootstrap.dotenv import as_mapping, lookup_in, parse_dotenv
from bootstrap.envlayers import (
    Environment,
    EnvLayer,
    Redactor,
    context_words,
    load_environment,
)
from bootstrap.errors import ConfigError
from bootstrap.hostpaths import OVERRIDE_NAME, host_path_override, translation_wanted
from bootstrap.identity import explicit_project_name, implicit_project_name
from bootstrap.model import Stack, stack_from_compose
from bootstrap.plan import Plan, build_plan
from bootstrap.reach import in_container
from bootstrap.runtime import ComposeProject, ModelLoader
from bootstrap.settings import Settings, load_settings

# Variables we pass as flags; left in the environment they would fight the flags.
_FLAG_VARIABLES = ("COMPOSE_PROFILES", "COMPOSE_FILE", "COMPOSE_PROJECT_NAME")


@dataclass(frozen=True)
class Workspace:
    directory: Path
    settings: Settings
    environment: Environment
    compose: ComposeProject
    stack: Stack
    plan: Plan
    redact: Redactor
    generated: tuple[str, ...] = ()  # secrets created in the store by this load


_COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
_SEED_EXTENSION = "docker-compose.mcp-persistent.yml"


def default_compose_files(directory: Path) -> tuple[str, ...]:
    """Compose's own default: the first of compose.yaml ... docker-compose.yml, and its
    ``.override`` file when there is one; then the seed's MCP extension when present."""
    first = next((n for n in _COMPOSE_NAMES if (directory / n).is_file()), None)
    if first is None:
        return ()
    stem, _dot, suffix = first.rpartition(".")
    files = [first]
    override = f"{stem}.override.{suffix}"
    if (directory / override).is_file():
        files.append(override)
    if (directory / _SEED_EXTENSION).is_file():
        files.append(_SEED_EXTENSION)
    return tuple(files)


def compose_files(
    directory: Path,
    settings: Settings,
    explicit: Sequence[str],
    compose_file_variable: str = "",
    separator: str = ":",
) -> tuple[str, ...]:
    """The compose files: ``-f`` flags, else ``COMPOSE_FILE`` (as compose reads it), else the
    settings, else compose's defaults (with the override file) and the seed's extension."""
    if explicit:
        files = tuple(explicit)
    elif compose_file_variable:
        files = tuple(f for f in compose_file_variable.split(separator or ":") if f)
    elif settings.compose_files:
        files = settings.compose_files
    else:
        files = default_compose_files(directory)
        if not files:
            raise ConfigError(
                f"no compose file in {directory}",
                location=str(directory),
                hint="add compose.yaml or docker-compose.yml, pass -f FILE, "
                "or run in the workspace root",
            )
    for name in files:
        if not (directory / name).is_file():
            raise ConfigError(
                "compose file not found",
                location=str(directory / name),
                hint="check the path given with -f, COMPOSE_FILE or compose_files",
            )
    return files


def generate_missing_secrets(
    directory: Path, settings: Settings, environment: Environment
) -> tuple[str, ...]:
    """Create the listed secrets that no layer sets: random, one file each, mode 0600, in the
    git-ignored secret store. A development stack then needs no committed password.

    Each file is written whole under a hidden temporary name, then linked into place, so a
    run killed at any moment leaves either no file or a complete one (an empty file, from an
    older version killed midway, counts as missing)."""
    import secrets

    store = directory / settings.secrets_dir
    missing = [
        n
        for n in settings.generate_secrets
        if n not in environment.variables
        or environment.variables[n].layer is EnvLayer.COMPOSE_DEFAULT
        or (
            environment.variables[n].layer is EnvLayer.SECRET and not environment.variables[n].value
        )
    ]
    if not missing:
        return ()
    store.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name in missing:
        temporary = store / f".{name}.{os.getpid()}.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(24) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        target = store / name
        if target.exists() and target.stat().st_size == 0:
            os.replace(temporary, target)  # a half-written file from a killed run
            continue
        try:
            os.link(temporary, target)  # never overwrites a secret another run just wrote
        except FileExistsError:
            pass
        finally:
            temporary.unlink(missing_ok=True)
    return tuple(missing)


def _write_override(directory: Path, project: str, override: dict[str, object]) -> Path:
    """The host-path override, in .bootstrap/ (or the user's state dir where the workspace is
    read-only). JSON is YAML, so no YAML writer is needed."""
    import json

    folder = directory / ".bootstrap"
    if not os.access(directory, os.W_OK):
        state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
        folder = state / "bootstrap" / project
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{project}.{OVERRIDE_NAME}"
    path.write_text(json.dumps(override, indent=2), encoding="utf-8")
    return path


def active_profiles(explicit: Sequence[str], env: Environment) -> tuple[str, ...]:
    if explicit:
        return tuple(explicit)
    raw = env.get("COMPOSE_PROFILES")
    return tuple(p.strip() for p in raw.split(",") if p.strip())


def load_workspace(
    directory: Path,
    *,
    files: Sequence[str] = (),
    profiles: Sequence[str] = (),
    project: str | None = None,
    environ: Mapping[str, str] | None = None,
    loader: ModelLoader,
) -> Workspace:
    """Everything up to the point where containers would start. Raises ``ConfigError``."""
    directory = directory.resolve()
    environ = dict(os.environ if environ is None else environ)
    settings = load_settings(directory)
    dotenv_file = directory / ".env"
    early = (
        as_mapping(parse_dotenv(dotenv_file.read_text(encoding="utf-8"), lookup=lookup_in(environ)))
        if dotenv_file.is_file()
        else {}
    )
    chosen = compose_files(
        directory,
        settings,
        files,
        environ.get("COMPOSE_FILE") or early.get("COMPOSE_FILE", ""),
        environ.get("COMPOSE_PATH_SEPARATOR") or early.get("COMPOSE_PATH_SEPARATOR") or os.pathsep,
    )
    texts = [(directory / f).read_text(encoding="utf-8") for f in chosen]

    def read_environment() -> Environment:
        return load_environment(
            directory, secrets_dir=settings.secrets_dir, compose_texts=texts, environ=environ
        )

    environment = read_environment()
    generated = generate_missing_secrets(directory, settings, environment)
    if generated:
        environment = read_environment()
    words = context_words([*texts, directory.name])
    redact = Redactor(environment.secrets(), context=words)
    process_env = {k: v for k, v in environ.items() if k not in _FLAG_VARIABLES}
    process_env.update(environment.values())
    for variable in _FLAG_VARIABLES:
        process_env.pop(variable, None)
    selected = active_profiles(profiles, environment)
    named = explicit_project_name(
        flag=project,
        environ=environ,
        dotenv=environment.dotenv,
        settings_project=settings.project,
        settings_source=settings.source,
    )
    # Without an explicit name compose chooses (the files' name:, else the folder's name).
    project_ref = ComposeProject(
        directory, chosen, named.name if named else "", selected, process_env
    )
    loader.redact_with(redact)
    document = loader.config(project_ref)
    if named is None:
        inner = project_ref.project_directory.resolve()
        named = implicit_project_name(
            str(document.get("name") or ""),
            directory.name,
            inner.name if inner != directory else "",
        )
    project_ref = replace(project_ref, name=named.name)
    settings = replace(settings, project=named.name, project_source=named.source)
    host_root = translation_wanted(environ, in_container(), str(directory))
    stack = stack_from_compose(document, active_profiles=selected)
    if host_root:
        override = host_path_override(stack, str(directory), host_root)
        if override is not None:
            path = _write_override(directory, named.name, override)
            project_ref = replace(project_ref, files=(*project_ref.files, str(path)))
    network = stack.networks.get(settings.network)
    if "subnet" not in settings.explicit and network is not None and network.subnets:
        # The compose file is the source of truth for the subnet unless settings pin it.
        settings = replace(settings, subnet=network.subnets[0][0])
    plan = build_plan(stack, settings)
    return Workspace(directory, settings, environment, project_ref, stack, plan, redact, generated)
