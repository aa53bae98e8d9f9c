"""``bootstrap plan`` and ``bootstrap validate``. What they need beyond click is imported in
the command, once compose is reading the files: a read-only command's time is compose's
``config`` and what follows it (docs/performance.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from bootstrap import PLAN_SCHEMA_VERSION
from bootstrap.cli.context import CliContext, emit_json, say, show

if TYPE_CHECKING:
    from bootstrap.plan import Plan
    from bootstrap.workspace import Workspace

CHECK_MOUNTS_HELP = (
    "Inside a container: start a helper container to check that the engine sees the "
    "workspace's bind mounts (up always checks)."
)


@click.command()
@click.option("--profile", "profiles", multiple=True, help="Profile to activate (repeatable).")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help=f"Print the plan as JSON (schema {PLAN_SCHEMA_VERSION}).",
)
@click.option("--explain", is_flag=True, help="Say why each service is in its phase.")
@click.option("--offline", is_flag=True, help="Skip the checks that need the engine.")
@click.option("--check-mounts", is_flag=True, help=CHECK_MOUNTS_HELP)
@click.pass_obj
def plan(
    ctx: CliContext,
    profiles: tuple[str, ...],
    as_json: bool,
    explain: bool,
    offline: bool,
    check_mounts: bool,
) -> None:
    """Show the ordered waves: phase, reason, address, ports, probe, env layers per service.
    Read-only: writes no file and starts no container."""
    ctx.backend().warm_up(engine=not offline and ctx.connect_ahead(), checks=True)
    workspace = ctx.workspace(profiles)
    from bootstrap.cli.findings import collect_findings, render_findings, stop_on_errors
    from bootstrap.plan import plan_document

    findings = collect_findings(
        workspace, ctx.backend(), engine_checks=not offline, helpers=check_mounts
    )
    render_findings(findings, ctx)
    layers = {n: v.layer.value for n, v in workspace.environment.variables.items()}
    plan_ = workspace.plan if offline else _with_local_images(workspace.plan, ctx)
    if as_json:
        document = plan_document(plan_, env_layers=layers)
        document["findings"] = [f.as_dict() for f in findings]
        emit_json(document, ctx.redact)
    else:
        _render_plan(workspace, plan_, explain, ctx)
    stop_on_errors(findings)


def _with_local_images(plan_: Plan, ctx: CliContext) -> Plan:
    """What local images say (their HEALTHCHECK, EXPOSE) where the file says nothing; the
    plan as it is when the engine cannot be asked (the findings say so)."""
    from bootstrap.errors import EngineError, EngineGone
    from bootstrap.targets import with_image_configs

    try:
        return with_image_configs(plan_, ctx.backend().engine.image_config)
    except (EngineError, EngineGone):
        return plan_


def _render_plan(workspace: Workspace, plan_: Plan, explain: bool, ctx: CliContext) -> None:
    from bootstrap.sizes import describe

    profiles = ", ".join(plan_.profiles) or "none"
    lines = [
        f"project {plan_.project}  profiles: {profiles}  files: "
        f"{', '.join(workspace.compose.files)}"
    ]
    for phase in plan_.phases:
        if not phase.waves:
            lines.append(f"{phase.name}: (no services)")
            continue
        lines.append(f"{phase.name}:")
        for index, wave in enumerate(phase.waves, 1):
            lines.append(f"  wave {index}:")
            for name in wave:
                s = plan_.services[name]
                ports = ",".join(str(p) for p in s.service.ports) or "-"
                volumes = ",".join(m.source for m in s.service.mounts if m.type == "volume") or "-"
                optional = " (optional)" if s.optional else ""
                if s.service.replicas != 1:
                    optional += f"  x{s.service.replicas} replicas"
                lines.append(
                    f"    {name:<20} {s.address or '-':<14} probe {s.probe.describe():<28} "
                    f"ports {ports}  volumes {volumes}  {describe(s.service.resources)}{optional}"
                )
                if explain:
                    lines.append(f"      phase: {s.reason}")
                    lines.append(f"      probe ({s.probe.source}): {s.probe.reason}")
                    for dep in s.depends_on:
                        need = "" if dep.required else ", not required"
                        lines.append(f"      after {dep.name} ({dep.condition}{need})")
    used = sorted({v.layer.value for v in workspace.environment.variables.values()})
    lines.append(f"env layers used: {', '.join(used) or 'none'}")
    show(ctx.redact("\n".join(lines)))


@click.command()
@click.option("--profile", "profiles", multiple=True, help="Profile to activate (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.option("--offline", is_flag=True, help="Skip the checks that need the engine.")
@click.option("--check-mounts", is_flag=True, help=CHECK_MOUNTS_HELP)
@click.pass_obj
def validate(
    ctx: CliContext, profiles: tuple[str, ...], as_json: bool, offline: bool, check_mounts: bool
) -> None:
    """Check networks, addresses, ports, volumes and env; exit 2 on any error. Read-only:
    writes no file and starts no container (unless --check-mounts)."""
    ctx.backend().warm_up(engine=not offline and ctx.connect_ahead(), checks=True)
    workspace = ctx.workspace(profiles)
    from bootstrap.cli.findings import collect_findings, render_findings, stop_on_errors
    from bootstrap.validate import errors_in

    findings = collect_findings(
        workspace, ctx.backend(), engine_checks=not offline, helpers=check_mounts
    )
    if as_json:
        emit_json(
            {"findings": [f.as_dict() for f in findings], "ok": not errors_in(findings)}, ctx.redact
        )
    render_findings(findings, ctx)
    stop_on_errors(findings)
    say(f"ok: {len(workspace.plan.services)} services, no errors", fg="green")
