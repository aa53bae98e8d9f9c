"""``up``, ``down``, ``status``, ``ps`` and ``logs``."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

import click

from bootstrap.cli.context import (
    TERMINATION,
    CliContext,
    SignalFlag,
    emit_json,
    say,
    show,
    terminating,
)
from bootstrap.errors import ExitCode

if TYPE_CHECKING:
    from bootstrap.runtime import Inspector
    from bootstrap.scheduler import Outcome
    from bootstrap.workspace import Workspace


# what `up` and `status` import once compose has read the files (warm_up imports them while
# it reads them)
UP_IMPORTS = ("bootstrap.lifecycle", "bootstrap.cli.findings", "bootstrap.cli.render")
STATUS_IMPORTS = ("bootstrap.backends.compose.status", "bootstrap.supervisorfiles")


@click.command()
@click.option("--profile", "profiles", multiple=True, help="Profile to activate (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="One JSON event per line on stdout.")
@click.option("--timeout", type=float, default=None, help="Seconds each probe may take.")
@click.option("--dry-run", is_flag=True, help="Validate and print the plan; start nothing.")
@click.option("--no-wait-lock", is_flag=True, help="Fail at once if another run holds the lock.")
@click.option(
    "--join-network",
    is_flag=True,
    help="Inside a dev container: join the stack's network and probe services by name.",
)
@click.option(
    "--watch",
    is_flag=True,
    help="Once up, keep supervising in the foreground (as `bootstrap supervise`).",
)
@click.option("--no-deps", is_flag=True, help="Only the SERVICEs named, not what they need.")
@click.option("--build", is_flag=True, help="Build images before creating (compose's --build).")
@click.option("--force-recreate", is_flag=True, help="Recreate containers even if unchanged.")
@click.option("--remove-orphans", is_flag=True, help="Remove containers of services not defined.")
@click.option(
    "-d",
    "--detach",
    "--wait",
    "compose_habit",
    is_flag=True,
    help="Accepted as compose has them: up always waits, then leaves the stack running.",
)
@click.option(
    "--wait-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Seconds for the whole run (compose's --wait-timeout): what is not ready by then "
    "fails, exit 1.",
)
@click.argument("services", nargs=-1)
@click.pass_obj
def up(
    ctx: CliContext,
    profiles: tuple[str, ...],
    as_json: bool,
    timeout: float | None,
    dry_run: bool,
    no_wait_lock: bool,
    join_network: bool,
    watch: bool,
    no_deps: bool,
    build: bool,
    force_recreate: bool,
    remove_orphans: bool,
    compose_habit: bool,
    wait_timeout: float | None,
    services: tuple[str, ...],
) -> int:
    """Bring the stack up (or the SERVICEs named and what they need): databases, discovery,
    apps, monitoring, each gated on its probe."""
    from bootstrap.backends import Capability, Creating, refuse_unsupported

    backend = ctx.backend()
    if watch:
        refuse_unsupported(backend, Capability.SUPERVISE)
    if force_recreate:
        refuse_unsupported(backend, Capability.FORCE_RECREATE)
    creating = Creating(build, force_recreate, remove_orphans, targets=services)
    backend.warm_up(also=UP_IMPORTS, checks=True)
    workspace = ctx.workspace(profiles, generate=not dry_run)
    # Imported once compose has read the files (warm_up made them meanwhile): a refusal of
    # the files comes at compose's pace.
    from bootstrap import lifecycle
    from bootstrap.cli.findings import collect_findings, render_findings, stop_on_errors
    from bootstrap.cli.render import JsonReporter, LiveReporter, PlainReporter
    from bootstrap.workspace import materialise

    if services:
        workspace = ctx.targeted(
            workspace, services, profiles, dependencies=not no_deps, generate=not dry_run
        )
    backend.prepare(workspace)
    if watch:
        from bootstrap.cli.supervise import refuse_a_second_supervisor

        refuse_a_second_supervisor(workspace, backend)
    findings = collect_findings(workspace, backend, helpers=True)
    render_findings(findings, ctx)
    stop_on_errors(findings)
    if dry_run:
        from bootstrap.plan import plan_document

        emit_json(plan_document(workspace.plan), ctx.redact)
        return 0
    workspace = materialise(workspace)
    if as_json:
        reporter: JsonReporter | LiveReporter | PlainReporter = JsonReporter(ctx.redact)
    elif sys.stderr.isatty():
        rows = [(n, workspace.plan.services[n].phase) for n in workspace.plan.order()]
        reporter = LiveReporter(ctx.redact, rows)
    else:
        reporter = PlainReporter(ctx.redact)
    with (
        SignalFlag() as signalled,
        lifecycle.run_deadline(wait_timeout, signalled.event) as expired,
    ):
        try:
            outcome = lifecycle.up(
                workspace,
                backend,
                reporter,
                cancel=signalled.event,
                say=say,
                timeout=timeout,
                join_network=join_network,
                creating=creating,
                wait_lock=not no_wait_lock,
                redact=ctx.redact,
            )
        finally:
            reporter.close()
    code = conclude(
        ctx, outcome, as_json, signalled.exit_code, wait_timeout if expired.is_set() else None
    )
    if watch and code in (0, int(ExitCode.DEGRADED)) and not signalled.event.is_set():
        from bootstrap.cli.supervise import supervise_stack

        supervise_stack(ctx, backend, workspace, as_json=as_json, wait=600.0, converge_first=False)
    return code


def conclude(
    ctx: CliContext,
    outcome: Outcome,
    as_json: bool,
    signal_exit: int,
    expired: float | None = None,
) -> int:
    """The run's summary, and its exit code (``expired``: the --wait-timeout that ran out)."""
    from bootstrap.cli.render import outcome_document, summary_lines

    if as_json:
        emit_json({"state": "summary", **outcome_document(outcome)}, ctx.redact, indent=None)
    else:
        say("\n".join(summary_lines(outcome)), redact=ctx.redact)
    if outcome.engine_gone is not None:
        raise outcome.engine_gone  # exit 3: the engine, not a service
    if outcome.cancelled and expired is not None:
        late = [r.service for r in outcome.results.values() if not r.status.usable]
        say(
            f"error: not ready within {expired:g}s (--wait-timeout): {', '.join(late)}",
            fg="red",
        )
        say(
            "  fix: give it more time, or see why with `bootstrap logs SERVICE`; what started "
            "stays running (`bootstrap up` again finishes it)"
        )
        return int(ExitCode.FAILED)
    if outcome.cancelled:
        say(
            "interrupted: containers already started keep running; "
            "run `bootstrap up` again to finish",
            fg="yellow",
        )
        return signal_exit
    if not outcome.ok:
        failed = outcome.failed_required[0]
        say(
            f"error: required service {failed.service} {failed.status.value}: "
            f"{failed.reason.splitlines()[0]}",
            fg="red",
            redact=ctx.redact,
        )
        say(
            "  fix: read the log lines above, `bootstrap logs "
            + failed.service
            + "`, then run `bootstrap up` again (what runs stays running)",
            redact=ctx.redact,
        )
        return int(ExitCode.FAILED)
    if outcome.degraded:
        names = ", ".join(r.service for r in outcome.degraded)
        say(f"degraded: optional services unavailable: {names}", fg="yellow")
        return int(ExitCode.DEGRADED)
    say(
        f"ready: {len(outcome.results)} service{'s' if len(outcome.results) != 1 else ''} in "
        f"{outcome.ended - outcome.began:.2f}s",
        fg="green",
    )
    return 0


@click.command()
@click.option("--no-wait-lock", is_flag=True, help="Fail at once if another run holds the lock.")
@click.option(
    "-v",
    "--volumes",
    is_flag=True,
    help="Also remove the named volumes the files declare, and anonymous ones (as compose's "
    "down -v: no snapshot; `bootstrap reset` snapshots first).",
)
@click.option(
    "--remove-orphans", is_flag=True, help="Accepted as compose has it: down always removes them."
)
@click.pass_obj
def down(ctx: CliContext, no_wait_lock: bool, volumes: bool, remove_orphans: bool) -> None:
    """Stop and remove the project's containers and networks (monitoring first); volumes stay
    unless -v."""
    from bootstrap import lifecycle
    from bootstrap.backends import Capability, refuse_unsupported

    workspace = ctx.workspace(("*",))
    backend = ctx.backend()
    if volumes:
        refuse_unsupported(backend, Capability.DOWN_VOLUMES)
    stopped = lifecycle.down(
        workspace,
        backend,
        say=say,
        stopping=terminating,
        volumes=volumes,
        wait_lock=not no_wait_lock,
    )
    kept = "volumes removed" if volumes else "volumes kept"
    say(f"down: stopped {len(stopped)} containers; {kept}", fg="green")


@click.command()
@click.option("--profile", "profiles", multiple=True, help="Profile to activate (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option(
    "--watch", "follow", is_flag=True, help="Refresh until interrupted (probes asked now)."
)
@click.option("--interval", type=float, default=2.0, show_default=True)
@click.option(
    "--probe",
    "live",
    is_flag=True,
    help="Ask every probe now, also of a container seen ready since it started.",
)
@click.pass_obj
def status(
    ctx: CliContext,
    profiles: tuple[str, ...],
    as_json: bool,
    follow: bool,
    interval: float,
    live: bool,
) -> int:
    """Every service: phase, container state, probe result, ports, address.

    A container bootstrap started and saw ready is ready as of then while it runs without a
    restart and the engine has no unhealthy verdict of it; every other one has its probe
    asked now (every one with --probe or --watch)."""
    from bootstrap.workspace import active_profiles

    # status runs no rule
    ctx.backend().warm_up(engine=ctx.connect_ahead(), also=STATUS_IMPORTS, rules=False)
    workspace = ctx.workspace(("*",))  # every service of the project, as `compose ps` shows
    import os

    asked, _flags = active_profiles(
        profiles or ctx.profiles, os.environ, workspace.environment.dotenv
    )
    selected = frozenset(
        n
        for n, s in workspace.stack.services.items()
        if workspace.stack.with_profiles(asked).is_active(s)
    )
    backend = ctx.backend()
    engine = backend.engine
    if follow:
        _follow_discovery(ctx, workspace, engine, as_json)
    while True:
        rows = backend.status(workspace, selected, live=live or follow)
        healthy = all(r.ready for r in rows if r.counts)
        alerts = _alerts(workspace, engine)
        supervisor, actions = _supervision(workspace)
        if as_json:
            emit_json(
                {
                    "project": workspace.compose.name,
                    "healthy": healthy,
                    "services": [r.as_dict() for r in rows],
                    "alerts": alerts,
                    "supervisor": supervisor,
                    "supervision": actions,
                },
                ctx.redact,
            )
        else:
            lines = [
                f"{'service':<22} {'phase':<11} {'state':<10} {'probe':<10} {'ready':<6} "
                f"{'address':<14} ports"
            ]
            for r in rows:
                ports = ",".join(f"{h}->{c}" for c, h in r.ports.items()) or "-"
                note = "" if r.selected else "  (profile not selected)"
                lines.append(
                    f"{r.service:<22} {r.phase:<11} {r.state:<10} {r.probe:<10} "
                    f"{'yes' if r.ready else 'no':<6} {r.address or '-':<14} {ports}  "
                    f"{r.detail[:100]}{note}"
                )
            if alerts:
                lines.append(f"alerts firing: {len(alerts)}")
                lines += [f"  {a['name']} ({a['severity']}): {a['summary']}" for a in alerts]
            lines += _supervision_lines(supervisor, actions)
            show(ctx.redact("\n".join(lines)))
        if not follow or terminating():
            return 0 if healthy else int(ExitCode.FAILED)
        try:
            TERMINATION.wait(interval)  # SIGTERM wakes it at once
        except KeyboardInterrupt:
            return 0


@click.command()
@click.option("-a", "--all", "everything", is_flag=True, help="Stopped containers too.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="Only the containers' IDs.")
@click.option("--services", "only_services", is_flag=True, help="Only the services' names.")
@click.pass_obj
def ps(ctx: CliContext, everything: bool, as_json: bool, quiet: bool, only_services: bool) -> int:
    """The project's containers as `docker compose ps` lists them, with each one's phase.

    Asks the engine once and runs no probe (`bootstrap status` asks them)."""
    import os

    from bootstrap.listing import list_containers, project_name
    from bootstrap.workspace import prepare

    backend = ctx.backend()
    if backend.name != "compose":  # a swarm's tasks run on other nodes too: status asks it
        return int(click.get_current_context().invoke(status, as_json=as_json))
    ready = prepare(
        ctx.directory,
        files=ctx.files,
        project=ctx.project,
        environ=os.environ,
        env_files=ctx.env_files,
    )
    ctx.redact = ready.redact
    name = project_name(ready) or ctx.workspace(("*",)).compose.name
    rows = list_containers(backend.engine, name, ready.directory, everything=everything)
    if as_json:
        emit_json({"project": name, "containers": [r.as_dict() for r in rows]}, ctx.redact)
        return 0
    if quiet or only_services:  # as compose prints them: one per line, nothing else
        words = [r.id for r in rows] if quiet else list(dict.fromkeys(r.service for r in rows))
        if words:
            show(ctx.redact("\n".join(words)))
        return 0
    lines = [f"{'service':<22} {'phase':<11} {'state':<10} {'health':<10} {'container':<30} ports"]
    lines += [
        f"{r.service:<22} {r.phase:<11} {r.state:<10} {r.health or '-':<10} {r.container:<30} "
        + (",".join(f"127.0.0.1:{h}->{c}" for c, h in r.ports.items()) or "-")
        for r in rows
    ]
    show(ctx.redact("\n".join(lines)))
    return 0


def _supervision(
    workspace: Workspace,
) -> tuple[dict[str, object] | None, list[dict[str, object]]]:
    """The supervisor running for this workspace (or None) and its last actions."""
    from bootstrap.supervisorfiles import logged_actions, running_supervisor, supervision_log

    running = running_supervisor(workspace.directory)
    if running is not None and running.get("project") != workspace.compose.name:
        running = None
    log = supervision_log(workspace.directory)
    project = workspace.compose.name
    actions = [a for a in logged_actions(log) if a.get("project", project) == project]
    return running, actions[-5:]


def _supervision_lines(
    supervisor: dict[str, object] | None, actions: list[dict[str, object]]
) -> list[str]:
    if supervisor is None and not actions:
        return []
    from bootstrap.cli.supervise import action_line

    if supervisor is None:
        line = "supervisor: not running (`bootstrap supervise`, or `bootstrap up --watch`)"
    elif supervisor.get("container"):
        line = f"supervisor: running in the stack (container {supervisor['container']})"
    else:
        line = f"supervisor: running (pid {supervisor['pid']})"
    lines = [line]
    if actions:
        lines.append("last supervision actions:")
        lines += ["  " + action_line(a) for a in actions]
    return lines


def _alerts(workspace: Workspace, engine: Inspector) -> list[dict[str, str]] | None:
    """What Alertmanager reported to the discovery service; None without one to ask."""
    if not any(p.phase == "discovery" for p in workspace.plan.services.values()):
        return None  # no discovery service: nothing to ask, and no container to inspect
    from bootstrap.discovery.client import active_alerts, discovery_base
    from bootstrap.reach import in_container

    base = discovery_base(
        workspace, engine.project_containers(workspace.compose.name), in_container()
    )
    return None if base is None else active_alerts(base)


def _follow_discovery(
    ctx: CliContext, workspace: Workspace, engine: Inspector, as_json: bool
) -> None:
    """Stream the discovery service's WebSocket; return (to poll instead) when it is not
    there or the stream ends."""
    from bootstrap.discovery.client import discovery_url, follow
    from bootstrap.reach import in_container

    url = discovery_url(
        workspace, engine.project_containers(workspace.compose.name), in_container()
    )
    if url is None:
        say("no discovery service reachable: polling instead")
        return

    def display(message: dict[str, object]) -> None:
        if as_json:
            emit_json(message, ctx.redact, indent=None)
        elif message.get("type") == "snapshot":
            for entry in message.get("services") or []:  # type: ignore[attr-defined]
                show(
                    ctx.redact(
                        f"{entry['service']:<22} {entry['status']:<8} {entry.get('detail', '')}"
                    )
                )
        else:
            stamp = time.strftime("%H:%M:%S", time.localtime(float(message["timestamp"])))  # type: ignore[arg-type]
            if message.get("type") == "alert":
                line = f"{stamp} alert {message['name']} {message['status']}: {message['summary']}"
                show(ctx.redact(line))
                return
            show(
                ctx.redact(
                    f"{stamp} {message['service']:<22} {message['status']:<8} "
                    f"{message.get('detail', '')}"
                )
            )

    say(f"following {url} (Ctrl-C to stop)")
    try:
        follow(url, display)
    except OSError as exc:
        say(f"discovery stream unavailable ({exc}): polling instead")
        return
    except KeyboardInterrupt:
        raise SystemExit(0) from None
    say("discovery stream ended: polling instead")


@click.command()
@click.option("--follow", "-f", "-F", is_flag=True, help="Follow the log output.")
@click.option("--tail", "-n", default="100", show_default=True, help="Lines from the end.")
@click.argument("services", nargs=-1)
@click.pass_obj
def logs(ctx: CliContext, follow: bool, tail: str, services: tuple[str, ...]) -> int:
    """Hand over to `docker compose logs` for the project."""
    from bootstrap.errors import NotFoundError

    workspace = ctx.workspace(("*",))
    unknown = [s for s in services if s not in workspace.stack.services]
    if unknown:
        raise NotFoundError(
            f"no service {unknown[0]!r}",
            location="logs",
            hint=f"services: {', '.join(workspace.stack.services)}",
        )
    return ctx.backend().logs(workspace, services, follow, tail)
