"""The findings of `plan`, `validate` and `up`: collected from every rule and the engine, and
rendered. Imported by those commands once compose is reading the files (``cli/plan.py``)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from bootstrap.cli.context import CliContext, say
from bootstrap.errors import ConfigError, EngineError
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
