"""``bootstrap env`` and ``bootstrap init``."""

from __future__ import annotations

import os
from pathlib import Path

import click

from bootstrap.cli.context import CliContext, emit_json, escape_controls, say, show
from bootstrap.envlayers import EnvLayer


def shell_word(value: str) -> str:
    """The value as one word of a POSIX shell (single quotes); one with a control character in
    it as ``$'...'`` (bash, zsh, ksh, busybox and POSIX.1-2024's sh) with each control character
    escaped, so the line evaluates to the same value and prints as nothing but text."""
    import shlex

    if escape_controls(value) == value:
        return shlex.quote(value)
    inner = escape_controls(value.replace("\\", "\\\\").replace("'", "\\'"))
    return f"$'{inner}'"


@click.command()
@click.option("--explain", is_flag=True, help="Show every layer that set each variable.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option("--reveal", is_flag=True, help="Show secret values instead of masking them.")
@click.option(
    "--export",
    "export",
    is_flag=True,
    help="Print `export NAME=value` lines for what plain compose does not read (.env.local "
    'and the secret store, unmasked): `eval "$(bootstrap env --export)"`.',
)
@click.pass_obj
def env(ctx: CliContext, explain: bool, as_json: bool, reveal: bool, export: bool) -> None:
    """Show each variable, its value and the layer it came from (secrets masked)."""
    ctx.backend().warm_up(engine=False)  # the planner's imports while compose reads the files
    workspace = ctx.workspace()
    environment = workspace.environment
    if export:
        from bootstrap.envlayers import program_variable

        for name, var in environment.variables.items():
            if var.layer not in (EnvLayer.DOTENV_LOCAL, EnvLayer.SECRET):
                continue
            if program_variable(name):  # eval'd, it would change the shell's programs
                say(
                    f"not exported: {name} ({var.layer.value}) says which program runs, how, "
                    "or where it connects; a workspace's file does not set it in your shell "
                    "(export it yourself if you mean it)",
                    fg="yellow",
                )
                continue
            show(f"export {name}={shell_word(var.value)}")
        return
    redact = (lambda s: s) if reveal else ctx.redact
    if as_json:
        emit_json(
            {
                "precedence": [layer.value for layer in EnvLayer],
                "variables": {
                    name: {
                        "value": var.shown(reveal),
                        "layer": var.layer.value,
                        "secret": var.secret,
                        "overrides": [layer.value for layer in var.overrides],
                    }
                    for name, var in environment.variables.items()
                },
                "unset": environment.unset(),
            },
            redact,
        )
        return
    width = max((len(n) for n in environment.variables), default=10)
    lines = []
    for name, var in environment.variables.items():
        line = f"{name:<{width}}  {var.shown(reveal):<24}  {var.layer.value}"
        if explain and var.overrides:
            line += f"  (overrides {', '.join(layer.value for layer in var.overrides)})"
        lines.append(line)
    for name in environment.unset():
        lines.append(f"{name:<{width}}  {'(unset)':<24}  referenced, set nowhere")
    if explain:
        order = " < ".join(layer.value for layer in EnvLayer)
        lines.append(f"precedence, lowest first: {order}")
    show(redact("\n".join(lines)))


_HEADER = """\
# bootstrap settings. Every key is optional; the values below are the defaults, which fit any
# workspace: compose's own files and project name, no address tiers, no reserved port ranges,
# no policy enforced. See docs/settings.md. Phases run in order; `enforce` turns advice into
# errors; `quiet` silences a warning or notice by its rule's name.
"""
_SEED_HEADER = """\
# bootstrap settings with the seed's conventions (the reference stack's): the mcp-cluster
# network, static-address tiers (host offsets inside `subnet`) and the phase each implies,
# reserved host port ranges, every policy enforced. See docs/settings.md.
"""


@click.command()
@click.option("--force", is_flag=True, help="Overwrite an existing bootstrap.toml.")
@click.option(
    "--seed",
    is_flag=True,
    help="Write the seed's conventions (network, tiers, port ranges, policies) instead of "
    "the defaults.",
)
@click.pass_obj
def init(ctx: CliContext, force: bool, seed: bool) -> None:
    """Write a commented bootstrap.toml, git-ignore .env.local, .secrets/ and .bootstrap/,
    and generate the secrets the settings list that are still unset."""
    import tomli_w

    from bootstrap.settings import Settings, seed_settings, settings_document

    directory: Path = ctx.directory
    if not directory.is_dir():
        from bootstrap.errors import ConfigError

        raise ConfigError(
            f"no such folder: {directory}", location="-C", hint="create it, or fix the path"
        )
    target = directory / "bootstrap.toml"
    if target.exists() and not force:
        say(f"{target} exists; left as it is (use --force to overwrite)", fg="yellow")
    else:
        settings = seed_settings(ctx.project or "") if seed else Settings(project=ctx.project or "")
        header = _SEED_HEADER if seed else _HEADER
        target.write_text(header + tomli_w.dumps(settings_document(settings)), encoding="utf-8")
        say(f"wrote {target}", fg="green")
    ignore = directory / ".gitignore"
    present = ignore.read_text(encoding="utf-8").splitlines() if ignore.exists() else []
    wanted = [".env.local", ".secrets/", ".bootstrap/"]
    missing = [w for w in wanted if w not in present]
    if missing:
        with ignore.open("a", encoding="utf-8") as handle:
            if present and present[-1] != "":
                handle.write("\n")
            handle.write("# bootstrap: local overrides, secrets and snapshots stay out of git\n")
            handle.write("\n".join(missing) + "\n")
        say(f"added {', '.join(missing)} to {ignore}")
    _generate_secrets(ctx)


def _generate_secrets(ctx: CliContext) -> None:
    """The secrets ``generate_secrets`` lists, where a compose file is here to say what the
    stack is (init may run before there is one)."""
    from bootstrap.cli.context import announce_generated
    from bootstrap.envlayers import load_environment
    from bootstrap.settings import load_settings
    from bootstrap.workspace import generate_missing_secrets

    settings = load_settings(ctx.directory)
    if not settings.generate_secrets:
        return
    environment = load_environment(
        ctx.directory, secrets_dir=settings.secrets_dir, compose_texts=(), environ=os.environ
    )
    made = generate_missing_secrets(ctx.directory, settings, environment)
    if made:
        announce_generated(ctx.directory, settings.secrets_dir, made)
