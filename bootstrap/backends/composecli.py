"""The compose CLI adapter: argument lists built by pure functions, one ``_run``.

``_run`` turns compose's stderr into typed errors: a config problem is a ``ConfigError``
(exit 2, nothing started), a missing/old CLI or a silent daemon an ``EngineError``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from bootstrap.errors import COMPOSE_UPGRADE, ConfigError, EngineError
from bootstrap.runtime import ComposeProject

MINIMUM_VERSION = (2, 20, 0)
NEWEST_TESTED = (5, 6)  # the newest Compose release (major, minor) the test suite runs on
# Before 2.22, `up --no-start --no-deps` left `network_mode: service:X` unresolved (the engine
# then refuses the start: "network service:X not found"); `create` resolves it.
NO_DEPS_RESOLVES = (2, 22)
# Where the docker CLI looks for its plugins on Linux, after $DOCKER_CONFIG/cli-plugins.
PLUGIN_DIRS = (
    "/usr/local/lib/docker/cli-plugins",
    "/usr/local/libexec/docker/cli-plugins",
    "/usr/lib/docker/cli-plugins",
    "/usr/libexec/docker/cli-plugins",
)


@functools.lru_cache(maxsize=1)
def compose_command() -> tuple[str, ...]:
    """How to run compose: its plugin binary itself, where the docker CLI would find it (about
    35 ms less per call: no docker CLI starting in front of it; compose reads the same
    contexts and configuration standalone), else ``docker compose``. Without a docker CLI on
    the PATH, or with plugin folders of the user's own (``cliPluginsExtraDirs``), the docker
    CLI decides."""
    if shutil.which("docker") is None:
        return ("docker", "compose")
    config = Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker")
    try:
        extra = json.loads((config / "config.json").read_text()).get("cliPluginsExtraDirs")
    except (OSError, ValueError, AttributeError):
        extra = None
    if extra:
        return ("docker", "compose")
    for folder in (config / "cli-plugins", *map(Path, PLUGIN_DIRS)):
        candidate = folder / "docker-compose"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return (str(candidate),)
    return ("docker", "compose")


VERSIONS_FILE = "compose-versions.json"  # in the user's state folder


def _binary() -> tuple[str, list[int]] | None:
    """The compose binary run, and what tells that file apart from another (inode, size,
    change time): None where the docker CLI chooses it."""
    command = compose_command()
    if len(command) != 1:
        return None
    try:
        found = os.stat(command[0])
    except OSError:
        return None
    return command[0], [found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns]


def remembered_version() -> tuple[int, ...]:
    """The version the compose binary said last time, where it is the same file; else ()."""
    binary = _binary()
    if binary is None:
        return ()
    from bootstrap.paths import state_home

    try:
        known = json.loads((state_home() / VERSIONS_FILE).read_text(encoding="utf-8"))
        entry = known[binary[0]]
        if entry["file"] == binary[1]:
            return parse_version(str(entry["version"]))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return ()


def remember_version(found: tuple[int, ...]) -> None:
    """Keep what the compose binary said of its version (one binary, the last one asked):
    a later command of any workspace asks it again only once that file changes. Written by
    ``up`` only (``ComposeCLI.keep_answers``): a read-only command writes nothing, here too."""
    binary = _binary()
    if binary is None or not found:
        return
    from bootstrap.paths import state_home
    from bootstrap.privatefile import write_private

    entry = {"file": binary[1], "version": ".".join(map(str, found))}
    with contextlib.suppress(OSError):  # a read-only home: asked again next time
        write_private(state_home() / VERSIONS_FILE, json.dumps({binary[0]: entry}))


HASHES_FILE = "config-hashes.json"  # in the user's state folder
HASHES_KEPT = 32  # projects


def _hashes_key(project: ComposeProject) -> str:
    return json.dumps([str(project.project_directory), project.name, sorted(project.profiles)])


def model_digest(model: str) -> str | None:
    """What compose's config hashes are a function of: the model `config` printed, read by
    this compose binary (its hash rule is its own); None where the docker CLI chooses it."""
    binary = _binary()
    if binary is None:
        return None
    from bootstrap.digest import digest as new_digest

    digest = new_digest(json.dumps(binary).encode())
    digest.update(model.encode())
    return digest.hexdigest()


def _known_hashes() -> dict[str, Any]:
    from bootstrap.paths import state_home

    try:
        known = json.loads((state_home() / HASHES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return known if isinstance(known, dict) else {}


def remembered_hashes(project: ComposeProject, digest: str | None) -> dict[str, str] | None:
    """The config hashes compose gave ``up`` for this project, its profiles and the model
    with ``digest`` (None: none kept, or kept for another model: ask compose)."""
    entry = _known_hashes().get(_hashes_key(project))
    if digest is None or not isinstance(entry, dict) or entry.get("model") != digest:
        return None
    hashes = entry.get("hashes")
    if not isinstance(hashes, dict) or not all(isinstance(v, str) for v in hashes.values()):
        return None
    return {str(k): v for k, v in hashes.items()}


def hashes_kept_for(project: ComposeProject) -> bool:
    """Whether hashes are kept for this project and its profiles, whatever the model."""
    return _hashes_key(project) in _known_hashes()


def remember_hashes(project: ComposeProject, digest: str, hashes: Mapping[str, str]) -> None:
    """Keep compose's config hashes of the model with ``digest`` (the last ``HASHES_KEPT``
    projects): a re-run of the same model takes them instead of asking compose again.
    Written by ``up`` only, in the user's state folder (never the workspace's: a clone
    cannot tell ``up`` that its containers match)."""
    from bootstrap.paths import state_home
    from bootstrap.privatefile import write_private

    known = _known_hashes()
    key = _hashes_key(project)
    known.pop(key, None)
    known[key] = {"model": digest, "hashes": dict(hashes)}
    kept = dict(list(known.items())[-HASHES_KEPT:])
    with contextlib.suppress(OSError):  # a read-only home: asked again next time
        write_private(state_home() / HASHES_FILE, json.dumps(kept))


def runnable(args: Sequence[str]) -> list[str]:
    """``args`` as written (``docker compose ...``), with compose found as above."""
    if list(args[:2]) == ["docker", "compose"]:
        return [*compose_command(), *args[2:]]
    return list(args)


def base_args(project: ComposeProject, *, all_profiles: bool = False) -> list[str]:
    args = ["docker", "compose", "--project-directory", str(project.project_directory)]
    for env_file in (*project.env_files, *project.secret_env_files):
        args += ["--env-file", env_file]
    if project.name:  # empty only while compose is asked which name the files give
        args += ["-p", project.name]
    for file in project.files:
        args += ["-f", str(project.directory / file)]
    for profile in ("*",) if all_profiles else project.profiles:
        args += ["--profile", profile]
    return args


def config_args(project: ComposeProject, *, every_profile: bool = True) -> list[str]:
    return [*base_args(project, all_profiles=every_profile), "config", "--format", "json"]


# Compose checks container_name across every enabled service: two services of different
# profiles that share one (the "cpu"/"gpu" variants of a service) are refused together, never
# apart, so the model of every profile at once cannot be read.
_SHARED_NAME = re.compile(r'container name "([^"]+)" is already in use')


def active_only(project: ComposeProject) -> ComposeProject:
    """The project with its active profiles and without the ``*`` of every profile."""
    return replace(project, profiles=tuple(p for p in project.profiles if p != "*"))


def create_args(
    project: ComposeProject,
    services: Sequence[str],
    *,
    no_deps: bool = False,
    flags: Sequence[str] = (),
) -> list[str]:
    # --no-recreate is *not* used: a changed config hash must recreate, as compose does.
    # `up --no-start` is `create` that can also leave dependencies alone (--no-deps).
    # ``flags``: what the user gave `up` (--build, --force-recreate, --remove-orphans).
    # `up --no-start`, not `create`: Compose 2.20's create has no --quiet-pull.
    verb = ["up", "--no-start", "--no-deps"] if no_deps else ["up", "--no-start"]
    return [*base_args(project), *verb, "--quiet-pull", *flags, *services]


def start_args(project: ComposeProject, services: Sequence[str]) -> list[str]:
    """Start created containers through compose itself, leaving dependencies alone: compose
    copies inline and environment configs and secrets in, and runs ``post_start`` hooks."""
    return [*base_args(project), "up", "--detach", "--no-deps", "--no-recreate", *services]


def stop_args(project: ComposeProject, services: Sequence[str]) -> list[str]:
    """Stop through compose itself: it runs ``pre_stop`` hooks first."""
    return [*base_args(project), "stop", *services]


def hash_args(project: ComposeProject) -> list[str]:
    """Compose's config hash of every service of the active profiles (``*``: since 2.20)."""
    return [*base_args(project), "config", "--hash", "*"]


def down_args(
    project: ComposeProject, *, volumes: bool = False, every_profile: bool = True
) -> list[str]:
    args = [*base_args(project, all_profiles=every_profile), "down", "--remove-orphans"]
    return [*args, "--volumes"] if volumes else args


def logs_args(
    project: ComposeProject,
    services: Sequence[str],
    follow: bool,
    tail: str,
    *,
    every_profile: bool = True,
) -> list[str]:
    args = [*base_args(project, all_profiles=every_profile), "logs", "--tail", tail]
    return [*args, "--follow", *services] if follow else [*args, *services]


_ENGINE_PATTERNS = (
    "Cannot connect to the Docker daemon",
    "permission denied while trying to connect",
    "error during connect",
)
_OLD_CLI = ("is not a docker command", "unknown flag", "unknown shorthand flag")


def classify_failure(  # noqa: PLR0911 - one return per kind of failure compose reports
    stderr: str, args: Sequence[str], redact: Callable[[str], str]
) -> Exception:
    """Map compose's stderr to a typed error. Pure."""
    text = redact(stderr.strip())
    first = text.splitlines()[-1] if text else "compose failed with no message"
    if any(p in text for p in _ENGINE_PATTERNS):
        return EngineError(
            f"the Docker engine does not answer: {first}",
            location="docker",
            hint="start the engine (dockerd) and check that your user can read "
            "/var/run/docker.sock",
        )
    if any(p in text for p in _OLD_CLI):
        return EngineError(
            f"the Docker Compose v2 plugin is missing or too old: {first}",
            location="docker compose",
            hint=COMPOSE_UPGRADE,
        )
    if "pull access denied" in text or "manifest unknown" in text or "failed to resolve" in text:
        return EngineError(
            f"an image is missing and cannot be pulled: {first}",
            location="images",
            hint="build or load the image locally, or check its name and tag",
        )
    required = re.search(r"required variable (\w+) is missing a value(?::\s*(.*))?", text)
    if required:
        name, message = required.group(1), (required.group(2) or "").strip()
        return ConfigError(
            f"required variable {name} is not set" + (f": {message}" if message else ""),
            location=f"${{{name}}}",
            hint=f"set {name} in .env.local, the process environment or the secret store",
        )
    external = re.search(r"network (\S+) declared as external, but could not be found", text)
    if external:
        name = external.group(1)
        return ConfigError(
            f"the external network {name} does not exist",
            location=f"networks (name: {name})",
            hint=f"create it first (`docker network create {name}`), or drop `external: true` "
            "so compose creates it",
        )
    if "config" in args:  # config needs no daemon: whatever else fails is the files' fault
        return _config_error(text, first, args)
    said = [line for line in text.splitlines() if line.strip() and "level=warn" not in line]
    return EngineError(
        f"`docker compose {_verb(args)}` failed: " + " | ".join(said[-3:] or [first]),
        location="docker compose",
        hint=f"`docker compose {_verb(args)}` with the same files shows compose's whole "
        "message; fix what it names and run again",
    )


def _config_error(text: str, first: str, args: Sequence[str]) -> ConfigError:
    files = " ".join(a for a in args if a.endswith((".yml", ".yaml"))) or "compose files"
    undefined = re.search(r'service "([^"]+)" depends on undefined service "?([^":\s]+)', text)
    if undefined:
        service, missing = undefined.groups()
        return ConfigError(
            f"depends on {missing!r}, which is not defined",
            location=f"services.{service}.depends_on.{missing}",
            hint=f"define {missing!r}, or remove it from depends_on",
        )
    cycle = re.search(r"dependency cycle detected: (.*)", text)
    if cycle:
        path = cycle.group(1).strip()
        return ConfigError(
            f"dependency cycle: {path}",
            location=f"services.{path.split(' ')[0]}.depends_on",
            hint="remove one of these depends_on entries",
        )
    return ConfigError(
        f"compose rejected the files: {first}",
        location=files,
        hint="fix the compose file at the place compose names; "
        "`docker compose config` shows the same",
    )


def missing_cli() -> EngineError:
    return EngineError(
        "the docker CLI is not installed",
        location="docker",
        hint="install Docker with the Compose v2 plugin",
    )


def _spawn(
    args: Sequence[str], env: Mapping[str, str], *, capture: bool = True
) -> subprocess.Popen[str]:
    pipe = subprocess.PIPE if capture else None
    try:
        return subprocess.Popen(
            runnable(args),
            env=dict(env),
            stdout=pipe,
            stderr=pipe,
            text=True,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise missing_cli() from None


class _Early:
    """Compose's `config` (and `version`) spawned before the command was parsed, for the
    project the command line names (``spawn_early``); taken by a ``config`` call with the same
    arguments and environment, killed otherwise (at the latest when this process exits)."""

    def __init__(self) -> None:
        # (arguments, environment, the process, whether it asks for the model)
        self.started: list[tuple[list[str], dict[str, str], subprocess.Popen[str], bool]] = []

    def spawn(self, args: Sequence[str], env: Mapping[str, str], *, model: bool = True) -> None:
        if not self.started:
            import atexit

            atexit.register(self.discard)
        self.started.append((list(args), dict(env), _spawn(args, env), model))

    def take(self, args: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen[str] | None:
        """The process spawned with ``args`` and ``env``, if one was, handed over (no longer
        this object's to kill); the others stay until ``discard``."""
        found = None
        for index, (spawned, spawned_env, _process, _model) in enumerate(self.started):
            if spawned == list(args) and spawned_env == dict(env):
                found = self.started.pop(index)[2]
                break
        return found

    def discard(self, *, model_only: bool = False) -> None:
        """Kill what was not taken (``model_only``: the model's questions, once the model is
        read; the config hashes stay for ``up`` to take)."""
        for entry in list(self.started):
            if entry[3] or not model_only:
                entry[2].kill()
                entry[2].communicate()
                self.started.remove(entry)


_EARLY = _Early()


def spawn_early(project: ComposeProject) -> None:
    """Ask compose for ``project``'s model (and its version) now, ahead of the command: a
    ``ComposeCLI.config`` of the same project takes the answer. `config` reads the files and
    writes nothing, the same call the command makes first."""
    if not remembered_version():
        _EARLY.spawn(["docker", "compose", "version", "--short"], project.env)
    args = config_args(project)
    if kept_model(model_question(project, args)) is None:
        _EARLY.spawn(args, project.env)


# question -> compose's answer kept for it (modelcache), read once per process
_KEPT: dict[str, tuple[str, str] | None] = {}


def model_question(project: ComposeProject, args: list[str]) -> str | None:
    from bootstrap.backends import modelcache

    return modelcache.question(project, args, _binary())


def model_kept_early() -> bool:
    """Whether this process found compose's answer kept for the question it asked early
    (``spawn_early``): then no compose process reads the files for the command."""
    return any(answer is not None for answer in _KEPT.values())


def kept_model(asked: str | None) -> tuple[str, str] | None:
    """The model and warnings compose printed for the question ``asked`` before."""
    if asked is None:
        return None
    if asked not in _KEPT:
        from bootstrap.backends import modelcache

        _KEPT[asked] = modelcache.answer(asked)
    return _KEPT[asked]


def spawn_hashes_early(project: ComposeProject) -> None:
    """Ask compose for ``project``'s config hashes now (`up` of a project that has
    containers compares them; ``hashes_in_background`` takes the answer where it asks the
    same)."""
    _EARLY.spawn(hash_args(project), project.env, model=False)


def _verb(args: Sequence[str]) -> str:
    verbs = ("config", "create", "build", "down", "logs", "version", "up", "ps")
    return next((a for a in args if a in verbs), "")


class ComposeCLI:
    """Runs the compose CLI. Every call goes through ``_run``."""

    def __init__(self, redact: Callable[[str], str] = lambda s: s) -> None:
        self._redact = redact
        self.seen_version: tuple[int, ...] = ()  # learnt beside `config`, at no cost
        self._version_asked = False  # the binary itself said it (not remembered_version)
        self.warnings: tuple[str, ...] = ()  # what compose warned about while reading the files
        # False once compose refused every profile at once (a container_name shared across
        # profiles): the model, down and logs are then the active profiles'
        self.every_profile = True
        self.last_document: dict[str, Any] | None = None
        self._model = ""  # the model `config` printed, as printed ("": none to trust)
        self._answer: tuple[str, str, str] | None = None  # (question, model, warnings)
        self._taken: str | None = None  # the question whose kept answer this run took
        # Run once, in a thread, as soon as compose's `config` is spawned (the backend's
        # warm_up: the imports that follow the model, made while compose reads the files);
        # at once where the model was kept (no compose process to overlap).
        self.meanwhile: Callable[[], None] | None = None

    def redact_with(self, redact: Callable[[str], str]) -> None:
        """Mask the workspace's secrets in compose's messages from now on."""
        self._redact = redact

    def _run(self, args: Sequence[str], env: Mapping[str, str], *, capture: bool = True) -> str:
        return self._complete(args, env, capture=capture).stdout or ""

    def _complete(
        self,
        args: Sequence[str],
        env: Mapping[str, str],
        *,
        capture: bool = True,
        meanwhile: Callable[[], None] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """``subprocess.run``, with ``meanwhile`` started in a thread once compose is spawned
        (the process spawned early with these arguments, where there is one)."""
        process = _EARLY.take(args, env) if capture else None
        process = process or _spawn(args, env, capture=capture)
        with process:
            if meanwhile is not None:
                threading.Thread(target=meanwhile, daemon=True).start()
            try:
                stdout, stderr = process.communicate()
            except BaseException:  # an interrupt: compose does not outlive us
                process.kill()
                raise
        done = subprocess.CompletedProcess(process.args, process.wait(), stdout, stderr)
        if done.returncode != 0:
            raise classify_failure(done.stderr or "", args, self._redact)
        return done

    def _model_of(
        self, project: ComposeProject, meanwhile: Callable[[], None] | None
    ) -> tuple[str, str]:
        """What `config` prints of every profile, and its warnings: kept from the same
        question before (modelcache), else compose's answer, then kept."""
        args = config_args(project)
        asked = model_question(project, args)
        kept = kept_model(asked)
        if kept is not None:
            self._taken = asked
            if meanwhile is not None:  # no compose process to overlap: the imports, here
                meanwhile()
            return kept
        done = self._complete(args, project.env, meanwhile=meanwhile)
        out, said = done.stdout or "", done.stderr or ""
        if asked is not None and model_question(project, args) == asked:  # no file changed
            self._answer = (asked, out, said)  # while compose read them: `up` keeps it
        return out, said

    def config(self, project: ComposeProject) -> dict[str, Any]:
        """The normalised model of every service (all profiles; selection is ours).

        The version check runs beside it, in parallel (where the binary has not said its
        version before: ``remembered_version``).
        """
        known = remembered_version()
        asked = ["docker", "compose", "version", "--short"]
        version = None if known else _EARLY.take(asked, project.env) or _spawn(asked, project.env)
        failure: Exception | None = None
        declared: list[str] = []
        try:
            meanwhile, self.meanwhile = self.meanwhile, None
            out, said = self._model_of(project, meanwhile)
            _EARLY.discard(model_only=True)  # spawned for another project: not this one's
            self.warnings = compose_warnings(self._redact(said))
        except (ConfigError, EngineError) as exc:
            failure, out = exc, ""
            shared = _SHARED_NAME.search(exc.message)
            active = active_only(project)
            if shared is not None:
                try:
                    done = self._complete(config_args(active, every_profile=False), project.env)
                except (ConfigError, EngineError):
                    pass  # refused with the active profiles too: compose's own first error
                else:
                    failure, out, self.every_profile = None, done.stdout or "", False
                    listed = self._run([*base_args(active), "config", "--profiles"], project.env)
                    declared = [line.strip() for line in listed.splitlines() if line.strip()]
                    self.warnings = (
                        *compose_warnings(self._redact(done.stderr or "")),
                        f"services of different profiles share container_name "
                        f"{shared.group(1)!r}: compose cannot read every profile at once, so "
                        f"only the active profiles' services are known to this run",
                    )
        found = known or parse_version(version.communicate()[0] if version else "")
        self._version_asked = not known
        self.seen_version = found
        if found and found < MINIMUM_VERSION:  # an old CLI explains any failure best
            raise EngineError(
                f"Docker Compose {'.'.join(map(str, found))} is too old",
                location="docker compose",
                hint=COMPOSE_UPGRADE,
            )
        if failure is not None:
            raise failure
        try:
            document: dict[str, Any] = json.loads(out)
        except json.JSONDecodeError:
            raise EngineError(
                "`docker compose config --format json` did not print JSON",
                location="docker compose",
                hint=COMPOSE_UPGRADE,
            ) from None
        self._model = out if self.every_profile else ""
        if not self.every_profile:
            from bootstrap.model import DECLARED_PROFILES  # not at the top: see warmup

            document[DECLARED_PROFILES] = declared
        self.last_document = document  # what `up` leaves a stack's own supervisor
        return document

    def keep_answers(self) -> None:
        """Remember the version the binary said this run and the model it printed, for the
        commands after (``up`` calls it: the verb that writes; a read-only command leaves the
        state folder as is, and a clone hands no model to a command before ``up``)."""
        if self._version_asked and self.seen_version:
            remember_version(self.seen_version)
        if self._answer is not None or self._taken is not None:
            from bootstrap.backends import modelcache

            if self._answer is not None:
                modelcache.keep(*self._answer)
            if self._taken is not None:
                modelcache.used(self._taken)

    def create(
        self,
        project: ComposeProject,
        services: Sequence[str],
        *,
        no_deps: bool = False,
        flags: Sequence[str] = (),
    ) -> None:
        self._run(create_args(project, services, no_deps=no_deps, flags=flags), project.env)

    def start(self, project: ComposeProject, services: Sequence[str]) -> None:
        self._run(start_args(project, services), project.env)

    def build(self, project: ComposeProject, services: Sequence[str]) -> None:
        """``compose build`` of the services, on the engine the run talks to."""
        self._run([*base_args(project), "build", *services], project.env)

    def config_hashes(self, project: ComposeProject) -> dict[str, str]:
        """Compose's own config hash per service: what it compares to decide to recreate.
        Taken from what compose said for the same model last time, where it is kept (the
        hashes are a function of the model and the binary); else asked, and kept (only
        ``up`` asks them)."""
        digest = model_digest(self._model) if self._model else None
        kept = remembered_hashes(project, digest)
        if kept is not None:
            early = _EARLY.take(hash_args(project), project.env)
            if early is not None:  # spawned before the model was read: not needed
                early.kill()
                early.communicate()
            return kept
        out = self._run(hash_args(project), project.env)
        hashes = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
        if digest is not None:
            remember_hashes(project, digest, hashes)
        return hashes

    def down(self, project: ComposeProject, *, volumes: bool = False) -> None:
        if not self.every_profile:  # compose refuses every profile at once: the active ones
            project = active_only(project)
        self._run(
            down_args(project, volumes=volumes, every_profile=self.every_profile), project.env
        )

    def stop(self, project: ComposeProject, services: Sequence[str]) -> None:
        self._run(stop_args(project, services), project.env)

    def version(self, env: Mapping[str, str]) -> tuple[int, ...]:
        out = self._run(["docker", "compose", "version", "--short"], env).strip()
        return parse_version(out)

    def logs(
        self, project: ComposeProject, services: Sequence[str], follow: bool, tail: str
    ) -> int:
        if not self.every_profile:
            project = active_only(project)
        try:
            return subprocess.call(
                runnable(
                    logs_args(project, services, follow, tail, every_profile=self.every_profile)
                ),
                env=dict(project.env),
            )
        except FileNotFoundError:
            raise missing_cli() from None


_WARNING = re.compile(r'level=warn(?:ing)?\s+msg="((?:[^"\\]|\\.)*)"|^WARN\[\d+\]\s*(.*)$')


def compose_warnings(stderr: str) -> tuple[str, ...]:
    """The warnings compose printed (``level=warning msg="..."``), unescaped, once each. Pure."""
    found: list[str] = []
    for line in stderr.splitlines():
        match = _WARNING.search(line.strip())
        if not match:
            continue
        text = match.group(1) if match.group(1) is not None else match.group(2)
        text = text.replace('\\"', '"').replace("\\\\", "\\").strip()
        if text and text not in found:
            found.append(text)
    return tuple(found)


def parse_version(text: str) -> tuple[int, ...]:
    numbers = re.findall(r"\d+", text.lstrip("v"))[:3]
    return tuple(int(n) for n in numbers)
