"""``bootstrap supervise`` (and ``up --watch``): keep the order after ``up``."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import click

from bootstrap.cli.context import CliContext, SignalFlag, emit_json, say
from bootstrap.runtime import State

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from bootstrap.backends import Backend
    from bootstrap.scheduler import Event
    from bootstrap.supervise import Action
    from bootstrap.workspace import Workspace

_COLOURS = {
    "restarted": "yellow",
    "out-of-order": "yellow",
    "healed": "yellow",
    "waiting": "yellow",
    "ready": "green",
    "back": "green",
    "engine-back": "green",
    "watching": "green",
    "in-order": "green",
    "crash-loop": "red",
    "gave-up": "red",
    "engine-gone": "red",
    "stopped": "red",
}


def action_line(entry: dict[str, object]) -> str:
    """One action as a line: when, which service, what, why."""
    stamp = time.strftime("%H:%M:%S", time.localtime(float(str(entry.get("at") or 0))))
    service = str(entry.get("service") or "(engine)")
    return f"{stamp} {service:<20} {entry.get('kind')}: {entry.get('reason')}"


def printer(as_json: bool, redact: Callable[[str], str]) -> Callable[[Action], None]:
    lock = threading.Lock()

    def show(action: Action) -> None:
        with lock:
            if as_json:
                emit_json({"state": "supervision", **action.as_dict()}, redact, indent=None)
            else:
                say(
                    action_line(action.as_dict()),
                    fg=_COLOURS.get(action.kind.value),
                    redact=redact,
                )

    return show


def supervise_stack(
    ctx: CliContext,
    backend: Backend,
    workspace: Workspace,
    *,
    as_json: bool,
    wait: float,
    converge_first: bool,
) -> int:
    """Follow the project until SIGINT or SIGTERM; the containers keep running after."""
    with SignalFlag() as signalled:
        project = workspace.compose.name
        say(f"supervising {project} (Ctrl-C stops this; the containers keep running)")
        supervise_until(
            ctx,
            backend,
            workspace,
            signalled.event,
            as_json=as_json,
            wait=wait,
            converge_first=converge_first,
        )
    say("supervision stopped; the containers keep running")
    return 0


def supervise_until(
    ctx: CliContext,
    backend: Backend,
    workspace: Workspace,
    stop: threading.Event,
    *,
    as_json: bool,
    wait: float,
    converge_first: bool,
    in_stack: bool = False,
) -> None:
    """Follow the project until ``stop``, showing each action and what the probes see."""
    from bootstrap.lifecycle import supervise

    def observed(event: Event) -> None:
        """What a probe it waits on sees, as it changes (the container's log, for the stack's
        own): why a dependency is not back yet."""
        say(f"  {event.service}: {event.detail}", redact=ctx.redact)

    supervise(
        workspace,
        backend,
        stop,
        shown=printer(as_json, ctx.redact),
        observed=observed,
        say=lambda text: say(text, fg="yellow", redact=ctx.redact),
        wait=wait,
        converge_first=converge_first,
        in_stack=in_stack,
    )


def as_workspace_owner(directory: Path) -> None:
    """Started as root (the container's default), go on as the workspace's owner: its files
    (the secret store, 0600) are readable and what it writes (the log, the lock) is theirs.
    Needs SETUID and SETGID; without them it stays as it is and says so."""
    import os

    if os.geteuid() != 0:
        return
    owner = directory.stat()
    if owner.st_uid == 0:
        return
    try:
        os.setgroups([])
        os.setgid(owner.st_gid)
        os.setuid(owner.st_uid)
    except PermissionError:
        say(
            f"running as root: cannot become {directory}'s owner (uid {owner.st_uid}) without "
            "the SETUID and SETGID capabilities (cap_add)",
            fg="yellow",
        )


def refuse_a_second_supervisor(workspace: Workspace, backend: Backend) -> None:
    """Two supervisors of one project would both restart what they see go down: refuse to
    start beside one that runs (in a terminal, or as the stack's own service)."""
    from bootstrap.errors import LockedError
    from bootstrap.supervisorfiles import running_supervisor

    running = running_supervisor(workspace.directory)
    project = workspace.compose.name
    if running is None or running.get("project") != project:
        return
    where = str(running.get("container") or "")
    if where:
        containers = backend.engine.project_containers(project, inspect=False).values()
        if not any(c.id.startswith(where) and c.state == State.RUNNING for c in containers):
            return  # its container is gone: what the file says is stale
        said, fix = f"the stack's own supervisor (container {where})", "stop that service first"
    else:
        said, fix = f"pid {running.get('pid')}", "stop that process first (Ctrl-C there)"
    raise LockedError(
        f"{project} is already supervised by {said}",
        location=".bootstrap/supervisor.json",
        hint=f"one supervisor per project: {fix}, or leave it to the one that runs",
    )


def supervise_in_stack(ctx: CliContext, *, as_json: bool, wait: float) -> int:
    """As a service of the stack: plan from the model the last ``up`` left (no compose here),
    converge at start (after a reboot everything started at once), reload on a new ``up``;
    until SIGTERM (``docker stop``, ``bootstrap down``)."""
    from bootstrap.lifecycle import supervise_in_stack as supervise

    backend = ctx.backend()
    as_workspace_owner(ctx.directory.resolve())

    def on_model(workspace: Workspace) -> None:
        ctx.redact = workspace.redact
        say(f"supervising {workspace.compose.name} from inside the stack")

    def observed(event: Event) -> None:
        say(f"  {event.service}: {event.detail}", redact=ctx.redact)

    with SignalFlag() as signalled:
        supervise(
            ctx.directory,
            backend,
            signalled.event,
            files=ctx.files,
            on_model=on_model,
            # the masking of the workspace loaded last, as it is when an action is shown
            shown=printer(as_json, lambda text: ctx.redact(text)),  # noqa: PLW0108
            observed=observed,
            say=lambda text: say(text, fg="yellow", redact=ctx.redact),
            wait=wait,
        )
    say("supervision stopped; the containers keep running")
    return 0


@click.command()
@click.option("--profile", "profiles", multiple=True, help="Profile to activate (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="One JSON action per line on stdout.")
@click.option(
    "--wait",
    type=float,
    default=600.0,
    show_default=True,
    help="Seconds to wait for a service that went away to be ready again.",
)
@click.option(
    "--no-converge",
    is_flag=True,
    help="Do not first check that every running service started after what it needs.",
)
@click.option(
    "--in-stack",
    is_flag=True,
    help="Run as the stack's own supervisor service (bootstrap.role: supervisor): plan from "
    "the model `up` leaves in .bootstrap/supervisor/, no compose needed.",
)
@click.pass_obj
def supervise(
    ctx: CliContext,
    profiles: tuple[str, ...],
    as_json: bool,
    wait: float,
    no_converge: bool,
    in_stack: bool,
) -> int:
    """Keep the order after up: re-gate and restart dependents when a dependency restarts,
    put the stack back in order after an engine restart, heal services that opt in."""
    from bootstrap.backends import Capability, refuse_unsupported

    backend = ctx.backend()
    refuse_unsupported(backend, Capability.SUPERVISE)
    if in_stack:
        refuse_unsupported(backend, Capability.SUPERVISE_IN_STACK)
        return supervise_in_stack(ctx, as_json=as_json, wait=wait)
    workspace = ctx.workspace(profiles)
    refuse_a_second_supervisor(workspace, backend)
    return supervise_stack(
        ctx, backend, workspace, as_json=as_json, wait=wait, converge_first=not no_converge
    )
