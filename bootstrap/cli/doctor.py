"""``bootstrap doctor``."""

from __future__ import annotations

import click

from bootstrap.cli.context import CliContext, emit_json, say
from bootstrap.errors import ExitCode

_COLOURS = {"ok": "green", "warn": "yellow", "fail": "red"}


@click.command()
@click.option("--profile", "profiles", multiple=True, help="Profile to activate (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def doctor(ctx: CliContext, profiles: tuple[str, ...], as_json: bool) -> int:
    """Check versions, startup, network, volumes, resources and tracked secrets.

    Writes nothing. It starts one short-lived helper container per package cache volume
    (busybox, removed at once) to read the volume's owner, and says so in that check."""
    from bootstrap.doctor import Verdict, diagnose, document

    workspace = ctx.workspace(profiles)
    checks = diagnose(workspace, ctx.backend())
    if as_json:
        emit_json(document(checks), ctx.redact)
    else:
        for check in checks:
            say(
                f"{check.verdict.value:<4} {check.area:<9} {check.message}",
                fg=_COLOURS[check.verdict.value],
                redact=ctx.redact,
            )
            if check.hint:
                say(f"     fix: {check.hint}", redact=ctx.redact)
    failed = any(c.verdict is Verdict.FAIL for c in checks)
    return int(ExitCode.FAILED) if failed else 0
