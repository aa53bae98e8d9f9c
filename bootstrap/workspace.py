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
from typing import TYPE_CHECKING

from bootstrap.dotenv import as_mapping, lookup_in, parse_dotenv, read_env_file, render_env_file
from bootstrap.envlayers import (
    Environment,
    EnvLayer,
    Redactor,
    context_words,
    default_env_files,
    load_environment,
    read_secret_store,
)
from bootstrap.errors import ConfigError, ConfigErrors
from bootstrap.hostpaths import OVERRIDE_NAME, host_path_override, translation_wanted
from bootstrap.identity import ProjectName, explicit_project_name, implicit_project_name
from bootstrap.locate import Locator, referenced_files, yaml_problem
from bootstrap.paths import state_dir, state_home
from bootstrap.privatefile import private_env_file
from bootstrap.reach import in_container
from bootstrap.runtime import ComposeProject, ModelLoader
from bootstrap.settings import Settings, load_settings

if TYPE_CHECKING:
    from bootstrap.model import Stack
    from bootstrap.plan import Plan

# Variables we pass as flags; left in the environment they would fight the flags.
_FLAG_VARIABLES = (
    "COMPOSE_PROFILES",
    "COMPOSE_FILE",
    "COMPOSE_PROJECT_NAME",
    "COMPOSE_ENV_FILES",
)


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
    profile_flags: tuple[str, ...] | None = None  # --profile as given; None: from COMPOSE_PROFILES
    compose_warnings: tuple[str, ...] = ()  # what compose warned about while reading the files
    locator: Locator | None = None  # model path -> file:line, parsed when first asked

    def written(self, location: str) -> str:
        """``file:line`` where the model path ``location`` is written, or ""."""
        return (self.locator.locate(location) or "") if self.locator else ""


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


def find_workspace(directory: Path, explicit_files: bool) -> Path:
    """The folder compose would take as the project's: ``directory`` itself, or, when it has
    no compose file and none is named, the nearest parent that has one (compose looks up the
    tree too). A folder that does not exist is an error naming it."""
    if not directory.is_dir():
        raise ConfigError(
            f"no such folder: {directory}",
            location=str(directory),
            hint="check the path given with -C / --project-directory",
        )
    if explicit_files or default_compose_files(directory):
        return directory
    for parent in directory.parents:
        if default_compose_files(parent):
            return parent
    return directory


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
    store = directory / settings.secrets_dir
    missing = missing_secrets(settings, environment)
    if not missing:
        return ()
    import secrets  # here: every `up` asks, few generate (its import is hashlib's and random's)

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


def git_args(directory: Path, *args: str) -> list[str]:
    """``git -C DIRECTORY ARGS`` that runs nothing a repository's own configuration names (a
    workspace that came with its .git folder, not a clone, may carry one: core.fsmonitor is
    a command git would run)."""
    return ["git", "-C", str(directory), "-c", "core.fsmonitor=false", *args]


def git_ignores(directory: Path, path: str) -> bool | None:
    """Whether git ignores ``path`` in ``directory``; None outside a repository or without
    git (nothing to say then)."""
    import subprocess

    try:
        done = subprocess.run(
            git_args(directory, "check-ignore", "-q", path),
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

    folder = state_dir(directory)
    if not os.access(directory, os.W_OK):
        folder = state_home() / project
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


def active_profiles(
    explicit: Sequence[str], environ: Mapping[str, str], dotenv: Mapping[str, str]
) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
    """(the active profiles, the ``--profile`` flags as given or None): the flags, else
    ``COMPOSE_PROFILES`` from the environment, else from the env files, as compose reads it."""
    if explicit:
        return tuple(explicit), tuple(explicit)
    raw = environ.get("COMPOSE_PROFILES") or dotenv.get("COMPOSE_PROFILES", "")
    return tuple(p.strip() for p in raw.split(",") if p.strip()), None


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


@dataclass(frozen=True)
class Prepared:
    """What a workspace gives compose before compose reads the files: the folder, settings,
    files, the layered environment and the project compose is asked about (its profiles are
    the command's, added after). Nothing of the model."""

    directory: Path
    settings: Settings
    environment: Environment
    pending: tuple[str, ...]
    redact: Redactor
    named: ProjectName | None  # None: compose chooses (the files' name:, else the folder's)
    project: ComposeProject


# The inputs of a load -> what was prepared for them before the command was parsed
# (``prepare_early``, by ``bootstrap.launch``): a load with the same inputs takes it.
_EARLY: dict[tuple[object, ...], Prepared] = {}


def _inputs(
    directory: Path,
    files: Sequence[str],
    project: str | None,
    environ: Mapping[str, str],
    env_files: Sequence[str],
) -> tuple[object, ...]:
    return (str(directory), tuple(files), project, tuple(env_files), tuple(sorted(environ.items())))


def prepare_early(
    directory: Path,
    *,
    files: Sequence[str] = (),
    project: str | None = None,
    env_files: Sequence[str] = (),
) -> Prepared:
    """``prepare``, kept for the load that follows with the same inputs (any other load
    prepares its own). Reads the workspace's files, writes nothing."""
    environ = dict(os.environ)
    ready = prepare(directory, files=files, project=project, environ=environ, env_files=env_files)
    _EARLY[_inputs(directory, files, project, environ, env_files)] = ready
    return ready


def prepare(
    directory: Path,
    *,
    files: Sequence[str],
    project: str | None,
    environ: Mapping[str, str],
    env_files: Sequence[str],
) -> Prepared:
    """Everything up to asking compose for the model. Raises ``ConfigError``; writes nothing."""
    directory = find_workspace(directory.resolve(), bool(files or environ.get("COMPOSE_FILE")))
    settings = load_settings(directory)
    early = _env_file_values(default_env_files(directory), environ)
    chosen = compose_files(
        directory,
        settings,
        files,
        environ.get("COMPOSE_FILE") or early.get("COMPOSE_FILE", ""),
        environ.get("COMPOSE_PATH_SEPARATOR") or early.get("COMPOSE_PATH_SEPARATOR") or os.pathsep,
    )
    env_paths = _env_paths((directory / chosen[0]).parent.resolve(), env_files, environ, early)
    texts = [(directory / f).read_text(encoding="utf-8") for f in chosen]
    texts += included_texts(directory, chosen, texts)
    environment = load_environment(
        directory,
        secrets_dir=settings.secrets_dir,
        compose_texts=texts,
        environ=environ,
        env_files=env_paths,
    )
    pending = missing_secrets(settings, environment)
    placeholders = {name: _placeholder() for name in pending}
    words = context_words([*texts, directory.name])
    redact = Redactor({**environment.secrets(), **placeholders}, context=words)
    # Compose runs in the user's own environment: no layer of the workspace changes it. The
    # secret store (and the placeholders of secrets `up` generates) reach compose as one more
    # env file, read after .env and .env.local; a name it sets is dropped from the process
    # environment compose sees, so the store wins over the shell, as its layer says.
    store = {**read_secret_store(directory / settings.secrets_dir, directory), **placeholders}
    process_env = {k: v for k, v in environ.items() if k not in _FLAG_VARIABLES and k not in store}
    secret_env = (private_env_file(render_env_file(store)),) if store else ()
    named = explicit_project_name(
        flag=project,
        environ=environ,
        dotenv=environment.dotenv,
        settings_project=settings.project,
        settings_source=settings.source,
    )
    # Without an explicit name compose chooses (the files' name:, else the folder's name).
    compose = ComposeProject(
        directory,
        chosen,
        named.name if named else "",
        (),
        process_env,
        tuple(str(p) for p in env_paths),
        secret_env,
    )
    return Prepared(directory, settings, environment, pending, redact, named, compose)


def load_workspace(
    directory: Path,
    *,
    files: Sequence[str] = (),
    profiles: Sequence[str] = (),
    project: str | None = None,
    environ: Mapping[str, str] | None = None,
    loader: ModelLoader,
    generate: bool = False,
    env_files: Sequence[str] = (),
) -> Workspace:
    """Everything up to the point where containers would start. Raises ``ConfigError``.

    Compose reads the env files itself (bootstrap names them with ``--env-file``: ``.env``,
    then ``.env.local``, of the project's folder, or those given), so it interpolates the files
    exactly as a plain ``docker compose`` with the same env files would; the secret store is
    added to the environment it runs in. Writes nothing unless ``generate`` (``up``): then the
    missing secrets that ``generate_secrets`` lists are created first, so compose sees them."""
    environ = dict(os.environ if environ is None else environ)

    def prepared() -> Prepared:
        return prepare(
            directory, files=files, project=project, environ=environ, env_files=env_files
        )

    ready = _EARLY.pop(_inputs(directory, files, project, environ, env_files), None)
    _EARLY.clear()  # prepared for other inputs: not this run's
    ready = ready or prepared()
    generated: tuple[str, ...] = ()
    if generate:
        generated = generate_missing_secrets(ready.directory, ready.settings, ready.environment)
        if generated:  # the store changed: read again
            ready = prepared()
    directory, settings, environment = ready.directory, ready.settings, ready.environment
    pending, redact, named = ready.pending, ready.redact, ready.named
    chosen = ready.project.files
    selected, flagged = active_profiles(profiles, environ, environment.dotenv)
    project_ref = replace(ready.project, profiles=selected)
    loader.redact_with(redact)
    locator = Locator(directory, chosen)
    try:
        document = loader.config(project_ref)  # the loader warms the imports below meanwhile
    except ConfigError as exc:
        raise _placed(exc, directory, chosen, locator) from None
    warnings = tuple(loader.warnings)
    if named is None:
        inner = project_ref.project_directory.resolve()
        named = implicit_project_name(
            str(document.get("name") or ""),
            directory.name,
            inner.name if inner != directory else "",
        )
    project_ref = replace(project_ref, name=named.name)
    settings = replace(settings, project=named.name, project_source=named.source)
    from bootstrap.plan import build_plan  # here, not at the top: see _read_model

    stack = _read_model(document, selected)
    host_root = translation_wanted(environ, in_container(), str(directory))
    override = host_path_override(stack, str(directory), host_root) if host_root else None
    settings = replace(settings, network=main_network(stack, settings))
    network = stack.networks.get(settings.network)
    if "subnet" not in settings.explicit and network is not None and network.subnets:
        # The compose file is the source of truth for the subnet unless settings pin it.
        settings = replace(settings, subnet=network.subnets[0][0])
    try:
        plan = build_plan(stack, settings)
    except ConfigError as exc:
        raise _placed(exc, directory, chosen, locator) from None
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
        flagged,
        warnings,
        locator,
    )


def _read_model(document: Mapping[str, object], selected: Sequence[str]) -> Stack:
    """The model of compose's document. The model and the plan are imported here, not at the
    top: the backend's ``warm_up`` imports them while compose reads the files, which a
    read-only command's time is mostly made of."""
    from bootstrap.model import stack_from_compose

    return stack_from_compose(document, active_profiles=selected)


def _placed(
    error: ConfigError, directory: Path, files: Sequence[str], locator: Locator
) -> ConfigError:
    """The error with the file and line where what it names is written (every one of
    several); a YAML mistake at the line YAML itself finds it, not the line compose names."""
    # compose names YAML's own mistakes ("yaml: line 4: ...", 5.x "go-yaml load error ..."):
    # only then is the file read as YAML here (PyYAML's import is 10 ms of a refusal)
    if "compose rejected the files" in error.message and "yaml" in error.message.lower():
        problem = yaml_problem(directory, files)
        if problem is not None:
            return ConfigError(
                f"not valid YAML: {problem[1]}",
                location=problem[0],
                hint="fix the YAML at that line (indentation, a missing colon or quote)",
            )
    errors = error.errors if isinstance(error, ConfigErrors) else [error]
    for each in errors:
        where = locator.locate(each.location)
        if where:
            each.location = f"{where}: {each.location}"
    if isinstance(error, ConfigErrors):
        error.location = errors[0].location
    return error


def _env_paths(
    folder: Path,
    flags: Sequence[str],
    environ: Mapping[str, str],
    early: Mapping[str, str],
) -> tuple[Path, ...]:
    """The env files compose reads, in order: ``--env-file``, else ``COMPOSE_ENV_FILES``,
    else the project folder's ``.env`` and ``.env.local`` (the first file's folder, as
    compose has it: ``-f sub/compose.yaml`` reads ``sub/.env``)."""
    variable = environ.get("COMPOSE_ENV_FILES") or early.get("COMPOSE_ENV_FILES", "")
    named = tuple(flags) or tuple(f.strip() for f in variable.split(",") if f.strip())
    if not named:
        return default_env_files(folder)
    return tuple(Path(f) if Path(f).is_absolute() else Path.cwd() / f for f in named)


def _env_file_values(paths: Sequence[Path], environ: Mapping[str, str]) -> dict[str, str]:
    """What the env files set (later wins), read as compose reads them."""
    values: dict[str, str] = {}
    for path in paths:
        entries = parse_dotenv(
            read_env_file(path), filename=path.name, lookup=lookup_in(environ, values)
        )
        values.update(as_mapping(entries))
    return values


def included_texts(directory: Path, chosen: Sequence[str], texts: Sequence[str]) -> list[str]:
    """The texts of the files the chosen ones ``include:`` or ``extends:`` from, recursively:
    their variables are the project's too (for ``env --explain`` and masking)."""
    found: list[str] = []
    seen = {(directory / f).resolve() for f in chosen}
    pending = [((directory / f).resolve(), text) for f, text in zip(chosen, texts, strict=True)]
    while pending:
        path, text = pending.pop()
        if "include" not in text and "extends" not in text:
            continue
        for other in referenced_files(text):
            target = (path.parent / other).resolve()
            if target in seen or not target.is_file():
                continue
            seen.add(target)
            other_text = target.read_text(encoding="utf-8")
            found.append(other_text)
            pending.append((target, other_text))
    return found


def _placeholder() -> str:
    import secrets

    return secrets.token_urlsafe(24)
