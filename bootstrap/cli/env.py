"""``bootstrap env`` and ``bootstrap init``."""

from __future__ import annotations

from pathlib import Path

import click

from bootstrap.cli.context import CliContext, emit_json, say
from bootstrap.envlayers import EnvLayer


@click.command()
@click.option("--explain", is_flag=True, help="Show every layer that set each variable.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option("--reveal", is_flag=True, help="Show secret values instead of masking them.")
@click.pass_obj
def env(ctx: CliContext, explain: bool, as_json: bool, reveal: bool) -> None:
    """Show each variable, its value and the layer it came from (secrets masked)."""
    workspace = ctx.workspace()
    environment = workspace.environment
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
    click.echo(redact("\n".join(lines)))


_HEADER = """\
# bootstrap settings. Every key is optional; the values below are the defaults.
# Docs: README.md. Phases run in order; tiers map static-address ranges (host offsets inside
# `subnet`) to the phase they imply; port_ranges are the reserved host port ranges.
"""


@click.command()
@click.option("--force", is_flag=True, help="Overwrite an existing bootstrap.toml.")
@click.pass_obj
def init(ctx: CliContext, force: bool) -> None:
    """Write a commented bootstrap.toml and a .gitignore entry for .env.local and secrets."""
    import tomli_w

    from bootstrap.settings import Settings, settings_document

    directory: Path = ctx.directory
    target = directory / "bootstrap.toml"
    if target.exists() and not force:
        say(f"{target} exists; left as it is (use --force to overwrite)", fg="yellow")
    else:
        settings = Settings(project=ctx.project or Settings().project)
        target.write_text(_HEADER + tomli_w.dumps(settings_document(settings)), encoding="utf-8")
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
