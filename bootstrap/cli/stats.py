"""``bootstrap stats``: CPU and memory per service against its limits; ``--suggest`` limits."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bootstrap.cli.context import CliContext, SignalFlag, emit_json, say, show
from bootstrap.errors import ConfigError, NotFoundError
from bootstrap.runtime import Inspector, State

if TYPE_CHECKING:
    from bootstrap.rightsize import Usage
    from bootstrap.workspace import Workspace


def _read(engine: Inspector, workspace: Workspace, usages: dict[str, Usage]) -> dict[str, Usage]:
    """One reading of every running container of the project, taken together (the engine
    spends about a second on each, measuring the CPU rate)."""
    from bootstrap.model import Resources
    from bootstrap.rightsize import usage_from

    running = {
        name: info
        for name, info in engine.project_containers(workspace.compose.name).items()
        if info.state == State.RUNNING
    }
    if not running:
        raise NotFoundError(
            f"no running container in project {workspace.compose.name}",
            location=str(workspace.directory),
            hint="`bootstrap up` first; stats reads what running services use",
        )
    with ThreadPoolExecutor(max_workers=min(8, len(running))) as pool:
        samples = dict(
            zip(running, pool.map(lambda i: engine.usage(i.id), running.values()), strict=True)
        )
    declared = workspace.stack.services
    return {
        name: usages[name].merged(sample)
        if name in usages
        else usage_from(name, sample, declared[name].resources if name in declared else Resources())
        for name, sample in sorted(samples.items())
    }


@click.command()
@click.option("--profile", "profiles", multiple=True, help="Profile to activate (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON (one line per reading).")
@click.option("--watch", is_flag=True, help="Read again every --interval seconds until Ctrl-C.")
@click.option("--interval", type=click.FloatRange(0.5, 3600), default=2.0, show_default=True)
@click.option("--suggest", is_flag=True, help="Propose limits from the peaks, as an override.")
@click.option("--headroom", type=click.FloatRange(1.0, 10.0), default=1.5, show_default=True)
@click.option(
    "--readings",
    type=click.IntRange(1, 1000),
    default=3,
    show_default=True,
    help="Readings --suggest takes for the CPU peak (about a second each).",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the suggestion to this file (in the workspace) instead of printing it.",
)
@click.option("--force", is_flag=True, help="Let --output replace an existing file.")
@click.pass_obj
def stats(
    ctx: CliContext,
    profiles: tuple[str, ...],
    as_json: bool,
    watch: bool,
    interval: float,
    suggest: bool,
    headroom: float,
    readings: int,
    output: Path | None,
    force: bool,
) -> int:
    """Each service's CPU and memory now, its peak, and its limit; --suggest proposes limits
    from the peaks with --headroom, as a compose override file it never writes unasked."""
    from bootstrap.rightsize import table

    workspace = ctx.workspace(profiles)
    from bootstrap.backends import Capability, refuse_unsupported

    refuse_unsupported(ctx.backend(), Capability.STATS)
    engine = ctx.backend().engine
    target = _output_path(workspace, output, force) if output else None
    usages: dict[str, Usage] = {}
    with SignalFlag() as flag:
        rounds = 0
        while not flag.event.is_set():
            usages = _read(engine, workspace, usages)
            rounds += 1
            if not suggest:
                if as_json:
                    show(json.dumps({"services": [u.as_dict() for u in usages.values()]}))
                else:
                    stamp = time.strftime("%H:%M:%S")
                    show(f"{workspace.compose.name} at {stamp}\n{table(usages.values())}")
            if (suggest and rounds >= readings) or (not suggest and not watch):
                break
            flag.event.wait(interval if watch else 0)
        if flag.signum is not None:
            return flag.exit_code
    if suggest:
        _suggest(ctx, workspace, engine, usages, headroom, target, as_json)
    return 0


def _output_path(workspace: Workspace, output: Path, force: bool) -> Path:
    target = output if output.is_absolute() else workspace.directory / output
    if target.exists() and not force:
        raise ConfigError(
            f"{target} exists: bootstrap does not rewrite your files unasked",
            location=str(target),
            hint="review and merge it by hand, choose another name with --output, "
            "or replace it with --force",
        )
    return target


def _suggest(
    ctx: CliContext,
    workspace: Workspace,
    engine: Inspector,
    usages: dict[str, Usage],
    headroom: float,
    target: Path | None,
    as_json: bool,
) -> None:
    from bootstrap.rightsize import override_yaml, suggest

    machine_cpus, _memory = engine.capacity()
    proposed = suggest(usages.values(), headroom=headroom, machine_cpus=machine_cpus)
    text = override_yaml(proposed, headroom=headroom, usages=usages)
    if as_json:
        emit_json(
            {
                "headroom": headroom,
                "services": {n: r.as_dict() for n, r in proposed.items()},
                "usage": [u.as_dict() for u in usages.values()],
                "written": str(target) if target else None,
            },
            ctx.redact,
        )
    if target is None:
        if not as_json:
            show(text, nl=False)
        return
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(target)
    say(
        f"wrote {target}: review it; compose reads docker-compose.override.yml by itself, "
        "another name must be added to the files bootstrap reads",
        redact=ctx.redact,
    )
