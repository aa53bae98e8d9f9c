"""The click layer: parse, call one library function, render. Heavy imports stay lazy."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from bootstrap import __version__

if TYPE_CHECKING:  # imported where a command runs: `bootstrap --help` does without it
    from bootstrap.cli.context import CliContext

_COMMANDS = {
    "plan": "bootstrap.cli.plan:plan",
    "validate": "bootstrap.cli.plan:validate",
    "env": "bootstrap.cli.env:env",
    "init": "bootstrap.cli.env:init",
    "up": "bootstrap.cli.lifecycle:up",
    "down": "bootstrap.cli.lifecycle:down",
    "status": "bootstrap.cli.lifecycle:status",
    "ps": "bootstrap.cli.lifecycle:ps",
    "reset": "bootstrap.cli.data:reset",
    "restore": "bootstrap.cli.data:restore",
    "cache": "bootstrap.cli.data:cache",
    "logs": "bootstrap.cli.lifecycle:logs",
    "discovery": "bootstrap.cli.discovery:discovery",
    "doctor": "bootstrap.cli.doctor:doctor",
    "trace": "bootstrap.cli.trace:trace",
    "stats": "bootstrap.cli.stats:stats",
    "supervise": "bootstrap.cli.supervise:supervise",
}
_HELP = {
    "plan": "Show the ordered waves: phase, reason, address, ports, probe per service.",
    "validate": "Check the network plan, ports, volumes and env before anything starts.",
    "env": "Show the layered environment and where each value came from.",
    "init": "Write a commented bootstrap.toml and git-ignore .env.local.",
    "up": "Bring the stack up phase by phase, each service gated on its probe.",
    "down": "Stop and remove containers and networks, monitoring first; volumes stay.",
    "status": "Every service: phase, container state, probe, ports, address.",
    "ps": "The containers as compose's ps lists them, with each one's phase; no probe.",
    "reset": "Down, snapshot and remove the project's data volumes.",
    "restore": "Put a snapshot taken by reset back into its volumes.",
    "cache": "Package cache volumes (uv, pip, npm).",
    "logs": "Show container logs (hands over to docker compose logs).",
    "discovery": "Run the discovery service (registry, health WebSocket, file_sd).",
    "doctor": "Check versions, startup, network, volumes, resources, tracked secrets.",
    "trace": "The timeline of a recorded up: text, --html page, --json, --compare.",
    "stats": "CPU and memory per service against its limits; --suggest proposes limits.",
    "supervise": "Keep the order after up: restart dependents when a dependency comes back.",
}


class LazyGroup(click.Group):
    """Imports a command's module only when that command runs, so --help stays fast."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        import importlib

        command: click.Command = getattr(importlib.import_module(module_name), attr)
        return accept_global_options(command)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, _HELP[name]) for name in _COMMANDS])


GLOBAL_AFTER = "A global option, also accepted after the command name."


def accept_global_options(command: click.Command) -> click.Command:
    """Let the options every command takes also follow the command's name, as people type
    them (`bootstrap up --backend swarm -p shop`): a value given after the name wins; profiles
    add up. The command's own options keep their names (`logs -f` follows)."""
    if getattr(command, "_takes_globals", False) or isinstance(command, click.Group):
        return command
    own = {name for param in command.params for name in param.opts}
    extra = [
        click.Option(["-p", "--project-name", "g_project"], default=None, help=GLOBAL_AFTER),
        click.Option(["--file", "g_files"], multiple=True, help=GLOBAL_AFTER),
        click.Option(["--env-file", "g_env_files"], multiple=True, help=GLOBAL_AFTER),
        click.Option(["--backend", "g_backend"], default=None, help=GLOBAL_AFTER),
        click.Option(["--context", "g_context"], default=None, help=GLOBAL_AFTER),
        click.Option(["--project-directory", "g_directory"], default=None, help=GLOBAL_AFTER),
    ]
    if "--profile" not in own:
        extra.append(click.Option(["--profile", "g_profiles"], multiple=True, help=GLOBAL_AFTER))
    if "-f" not in own:
        extra[1] = click.Option(["-f", "--file", "g_files"], multiple=True, help=GLOBAL_AFTER)
    for option in extra:
        if not set(option.opts) & own:
            option.hidden = True
            command.params.append(option)
    callback = command.callback
    assert callback is not None

    def with_globals(*args: object, **kwargs: object) -> object:
        from bootstrap.cli.context import CliContext

        obj = click.get_current_context().find_object(CliContext)
        if obj is not None:
            apply_global_options(obj, kwargs)
        else:
            for key in [k for k in kwargs if k.startswith("g_")]:
                kwargs.pop(key)
        return callback(*args, **kwargs)

    command.callback = with_globals
    command._takes_globals = True  # type: ignore[attr-defined]
    return command


def apply_global_options(obj: CliContext, values: dict[str, object]) -> None:
    """Move the global options given after the command name into the context."""
    project = values.pop("g_project", None)
    files = values.pop("g_files", ())
    env_files = values.pop("g_env_files", ())
    backend = values.pop("g_backend", None)
    docker_context = values.pop("g_context", None)
    directory = values.pop("g_directory", None)
    profiles = values.pop("g_profiles", ())
    if isinstance(project, str):
        obj.project = project
    if files:
        obj.files = (*obj.files, *files)  # type: ignore[misc]
    if env_files:
        obj.env_files = (*obj.env_files, *env_files)  # type: ignore[misc]
    if isinstance(backend, str):
        obj.backend_name = backend
    if isinstance(directory, str):
        from pathlib import Path

        obj.directory = Path(directory)
    if profiles:
        obj.profiles = (*obj.profiles, *profiles)  # type: ignore[misc]
    if isinstance(docker_context, str):
        from bootstrap.dockercontext import use_context

        use_context(docker_context)


EXIT_CODES_HELP = """\b
Exit codes: 0 ok; 1 a required service failed; 2 bad input or configuration (nothing
started); 3 engine or compose CLI unavailable; 4 another run holds the lock; 5 degraded
(optional services failed); 6 not found; 7 too little disk for a snapshot; 130
interrupted; 143 terminated."""


@click.group(
    cls=LazyGroup,
    epilog=EXIT_CODES_HELP,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="bootstrap")
@click.option(
    "-C",
    "--project-directory",
    "directory",
    type=click.Path(file_okay=False),  # a str: pathlib is imported where a command runs
    default=".",
    show_default=True,
    help="The workspace holding the compose files.",
)
@click.option("-f", "--file", "files", multiple=True, help="Compose file (repeatable).")
@click.option("-p", "--project-name", "project", default=None, help="Compose project name.")
@click.option(
    "--env-file",
    "env_files",
    multiple=True,
    help="An env file (repeatable; later wins). Default: .env, then .env.local.",
)
@click.option("--profile", "profiles", multiple=True, help="Profile to activate (repeatable).")
@click.option(
    "--backend",
    envvar="BOOTSTRAP_BACKEND",
    default=None,
    help="Where the stack runs: compose (the default) or swarm (also BOOTSTRAP_BACKEND, "
    "or backend in the settings).",
)
@click.option(
    "--context",
    "docker_context",
    default=None,
    help="The Docker context (engine) to use, for every backend (also DOCKER_CONTEXT).",
)
@click.pass_context
def cli(
    ctx: click.Context,
    directory: str,
    files: tuple[str, ...],
    project: str | None,
    env_files: tuple[str, ...],
    profiles: tuple[str, ...],
    backend: str | None,
    docker_context: str | None,
) -> None:
    """Bring up a Docker Compose development environment in order: databases, discovery,
    apps, monitoring, each phase gated on real health probes."""
    import os
    from pathlib import Path

    if docker_context or os.environ.get("DOCKER_CONTEXT"):
        from bootstrap.dockercontext import use_context

        use_context(docker_context)
    from bootstrap.cli.context import CliContext

    ctx.obj = CliContext(
        Path(directory), files, project, profiles, backend_name=backend, env_files=env_files
    )


HELP_ONLY = (["-h"], ["--help"], ["--version"])


def main() -> None:
    import sys

    if sys.argv[1:] in HELP_ONLY:  # click says it and exits 0; nothing of ours to map
        cli.main()
    from bootstrap.cli.context import run_cli

    run_cli(cli)
