"""Loading a workspace: settings, compose files, the layered environment, the model, the plan.

This is the one place that reads files and asks the backend's loader for the compose model;
everything it hands on is plain data. Loading writes nothing: the secrets ``generate_secrets``
lists and the host-path override are written by ``materialise``, which only ``up`` (and
``init``, for the secrets) call; until then a missing secret is a placeholder that never
leaves this process, so ``plan``, ``validate``, ``env`` and ``status`` stay read-only.
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
    generated: tuple[str, ...] = ()  # secrets created in the store by ``materialise``
    pending_secrets: tuple[str, ...] = ()  # to generate: unset, placeholders until ``up``
    host_root: str | None = None  # the host's path of the workspace, where paths translate
    host_override: Mapping[str, object] | None = None  # host paths for compose (``up`` writes)


_COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


def default_compose_files(directory: Path) -> tuple[str, ...]:
    """Compose's own default: the first of compose.yaml ... docker-compose.yml, and its
    ``.override`` file when there is one."""
    first = next((n for n in _COMPOSE_NAMES if (directory / n).is_file()), None)
    if first is None:
        return ()
    stem, _dot, suffix = first.rpartition(".")
    files = [first]
    override = f"{stem}.override.{suffix}"
    if (directory / override).is_file():
        files.append(override)
    return tuple(files)


def compose_files(
    directory: Path,
    settings: Settings,
    explicit: Sequence[str],
    compose_file_variable: str = "",
    separator: str = ":",
) -> tuple[str, ...]:
    """The compose files: ``-f`` flags, else ``COMPOSE_FILE`` (as compose reads it), else the
    settings, else compose's defaults (with the override file)."""
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


def weak_secrets(workspace: Workspace) -> dict[str, str]:
    """Secret variables too short or common to mask in free text, and why; a compose file's
    own default is left out (it is written in the file for everyone to read anyway)."""
    variables = workspace.environment.variables
    return {
        name: why
        for name, why in workspace.redact.weak_variables.items()
        if name in variables and variables[name].layer is not EnvLayer.COMPOSE_DEFAULT
    }


def missing_secrets(settings: Settings, environment: Environment) -> tuple[str, ...]:
    """The secrets ``generate_secrets`` lists that no layer sets (an empty file in the store,
    left by an older version killed midway, counts as unset)."""
    return tuple(
        n
        for n in settings.generate_secrets
        if n not in environment.variables
        or environment.variables[n].layer is EnvLayer.COMPOSE_DEFAULT
        or (
            environment.variables[n].layer is EnvLayer.SECRET and not environment.variables[n].value
        )
    )


def generate_missing_secrets(
    directory: Path, settings: Settings, environment: Environment
) -> tuple[str, ...]:
    """Create the listed secrets that no layer sets: random, one file each, mode 0600, in the
    secret store. A development stack then needs no committed password.

    Each file is written whole under a hidden temporary name, then linked into place, so a
    run killed at any moment leaves either no file or a complete one."""
    import secrets

    store = directory / settings.secrets_dir
    missing = missing_secrets(settings, environment)
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
    return missing


def git_ignores(directory: Path, path: str) -> bool | None:
    """Whether git ignores ``path`` in ``directory``; None outside a repository or without
    git (nothing to say then)."""
    import subprocess

    try:
        done = subprocess.run(
            ["git", "-C", str(directory), "check-ignore", "-q", path],
            capture_output=True,
            check=False,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return {0: True, 1: False}.get(done.returncode)


def _write_override(directory: Path, project: str, override: Mapping[str, object]) -> Path:
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


def materialise(workspace: Workspace) -> Workspace:
    """What ``up`` needs on disk before compose creates anything: the host-path override
    (a dev container on the host's engine). Returns the workspace with it among the files."""
    if workspace.host_override is None:
        return workspace
    path = _write_override(workspace.directory, workspace.compose.name, workspace.host_override)
    compose = replace(workspace.compose, files=(*workspace.compose.files, str(path)))
    return replace(workspace, compose=compose)


def active_profiles(explicit: Sequence[str], env: Environment) -> tuple[str, ...]:
    if explicit:
        return tuple(explicit)
    raw = env.get("COMPOSE_PROFILES")
    return tuple(p.strip() for p in raw.split(",") if p.strip())


def main_network(stack: Stack, settings: Settings) -> str:
    """The stack's main network (its key): the settings' ``network`` where the files define
    it, else the one most selected services attach to (``default`` on a tie, then by name);
    "" when no service attaches to any."""
    if settings.network:
        return settings.network
    counts: dict[str, int] = {}
    for service in stack.selected.values():
        for attachment in service.networks:
            if attachment.network in stack.networks:
                counts[attachment.network] = counts.get(attachment.network, 0) + 1
    if not counts:
        return ""
    return min(counts, key=lambda key: (-counts[key], key != "default", key))


def load_workspace(
    directory: Path,
    *,
    files: Sequence[str] = (),
    profiles: Sequence[str] = (),
    project: str | None = None,
    environ: Mapping[str, str] | None = None,
    loader: ModelLoader,
    generate: bool = False,
) -> Workspace:
    """Everything up to the point where containers would start. Raises ``ConfigError``.

    Writes nothing unless ``generate`` (``up``): then the missing secrets that
    ``generate_secrets`` lists are created first, so compose sees them."""
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
    generated: tuple[str, ...] = ()
    if generate:
        generated = generate_missing_secrets(directory, settings, environment)
        if generated:
            environment = read_environment()
    pending = missing_secrets(settings, environment)
    placeholders = {name: _placeholder() for name in pending}
    words = context_words([*texts, directory.name])
    redact = Redactor({**environment.secrets(), **placeholders}, context=words)
    process_env = {k: v for k, v in environ.items() if k not in _FLAG_VARIABLES}
    process_env.update(environment.values())
    process_env.update(placeholders)  # never written, never started with: `up` generates them
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
    stack = stack_from_compose(document, active_profiles=selected)
    host_root = translation_wanted(environ, in_container(), str(directory))
    override = host_path_override(stack, str(directory), host_root) if host_root else None
    settings = replace(settings, network=main_network(stack, settings))
    network = stack.networks.get(settings.network)
    if "subnet" not in settings.explicit and network is not None and network.subnets:
        # The compose file is the source of truth for the subnet unless settings pin it.
        settings = replace(settings, subnet=network.subnets[0][0])
    plan = build_plan(stack, settings)
    return Workspace(
        directory,
        settings,
        environment,
        project_ref,
        stack,
        plan,
        redact,
        generated,
        pending,
        host_root,
        override,
    )


def _placeholder() -> str:
    import secrets

    return secrets.token_urlsafe(24)
