"""``bootstrap plan`` and ``bootstrap validate``."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import click

from bootstrap.cli.context import CliContext, emit_json, say
from bootstrap.errors import ConfigError, EngineError, EngineGone
from bootstrap.plan import PLAN_SCHEMA_VERSION, Plan
from bootstrap.validate import (
    RULES,
    Finding,
    Severity,
    check_injected_variables,
    check_secrets,
    compose_findings,
    env_file_program_variables,
    errors_in,
    silence,
)
from bootstrap.validate import validate as validate_rules
from bootstrap.workspace import Workspace, weak_secrets

if TYPE_CHECKING:
    from bootstrap.backends import Backend

SAID_IN_FULL = ("engine-skipped", "mounts-unchecked")  # notices about the run, not advice
WARNINGS_IN_FULL = 3  # per rule; the rest of the rule on one line
CHECK_MOUNTS_HELP = (
    "Inside a container: start a helper container to check that the engine sees the "
    "workspace's bind mounts (up always checks)."
)
_COLOURS = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.NOTICE: "cyan"}


def collect_findings(
    workspace: Workspace, backend: Backend, *, engine_checks: bool = True, helpers: bool = False
) -> list[Finding]:
    """Every finding; the engine's checks are skipped with a notice when no engine answers.
    Nothing is started unless ``helpers``: a check that needs a container says so instead."""
    findings = compose_findings(workspace.compose_warnings)
    findings += validate_rules(
        workspace.stack, workspace.plan, workspace.settings, workspace.profile_flags
    )
    findings += check_secrets(weak_secrets(workspace))
    findings += env_file_program_variables(workspace.environment.dotenv)
    if not _includes(workspace):  # an included file's env_file sets variables for it alone
        findings += check_injected_variables(
            workspace.stack, {*workspace.compose.env, *workspace.environment.variables}
        )
    findings += backend.findings(workspace)
    if engine_checks:
        try:
            from bootstrap.preflight import engine_findings

            findings += engine_findings(workspace, backend.engine, helpers=helpers)
            findings += backend.engine_findings(workspace)
        except EngineError as exc:
            findings.append(
                Finding(
                    Severity.NOTICE,
                    "docker",
                    f"engine checks skipped: {exc.message}",
                    "subnet overlap and ports in use were not checked",
                    "engine-skipped",
                )
            )
    return [
        replace(f, written=workspace.written(f.location))
        for f in silence(findings, workspace.settings)
    ]


def _includes(workspace: Workspace) -> bool:
    """Whether a compose file of the workspace includes others (``include:``)."""
    for name in workspace.compose.files:
        try:
            text = (workspace.directory / name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return True  # unknown: assume the include's rules apply
        if "include" in text:
            return True
    return False


def render_findings(findings: list[Finding], ctx: CliContext) -> None:
    """Errors in full; warnings in full up to three per rule, the rest of a rule on one line;
    notices (advice) one line per rule; then how to silence the warnings' rules."""
    notices: dict[str, list[Finding]] = {}
    more: dict[str, list[Finding]] = {}
    warned: dict[str, int] = {}
    for finding in findings:
        if finding.severity is Severity.NOTICE and finding.rule not in SAID_IN_FULL:
            notices.setdefault(finding.rule, []).append(finding)
            continue
        if finding.severity is Severity.WARNING and finding.rule:
            warned[finding.rule] = warned.get(finding.rule, 0) + 1
            if warned[finding.rule] > WARNINGS_IN_FULL:
                more.setdefault(finding.rule, []).append(finding)
                continue
        say(
            f"{finding.severity.value}: {finding.place}: {finding.message}",
            fg=_COLOURS[finding.severity],
            redact=ctx.redact,
        )
        if finding.hint:
            say(f"  fix: {finding.hint}", redact=ctx.redact)
    for rule, group in more.items():
        where = ", ".join(f.place for f in group[:3]) + (", ..." if len(group) > 3 else "")
        say(
            f"warning: {rule} x{len(group)} more ({where}): the same, each with its fix in "
            "`bootstrap validate --json`",
            fg=_COLOURS[Severity.WARNING],
            redact=ctx.redact,
        )
    quietable = [rule for rule in warned if rule in RULES]
    if quietable:
        listed = ", ".join(f'"{rule}"' for rule in quietable)
        say(f"  silence these warnings with quiet = [{listed}] in bootstrap.toml")
    for rule, group in notices.items():
        where = ", ".join(f.place for f in group[:3]) + (", ..." if len(group) > 3 else "")
        adopt = group[0].hint.rpartition("(")[2].rstrip(")")
        say(
            f"notice: {rule} x{len(group)} ({where}): advice, "
            f"`bootstrap validate --json` lists them; {adopt}",
            fg=_COLOURS[Severity.NOTICE],
            redact=ctx.redact,
        )


def stop_on_errors(findings: list[Finding]) -> None:
    errors = errors_in(findings)
    if errors:
        first = errors[0]
        raise ConfigError(
            f"{len(errors)} validation error(s); nothing was started",
            location=first.location,
            hint="fix the errors above and run again",
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
    from bootstrap.plan import plan_document

    ctx.backend().warm_up(engine=not offline)
    workspace = ctx.workspace(profiles)
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
    click.echo(ctx.redact("\n".join(lines)))


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
    ctx.backend().warm_up(engine=not offline)
    workspace = ctx.workspace(profiles)
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
