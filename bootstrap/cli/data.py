"""``reset``, ``restore`` and ``cache``: the project's volumes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from bootstrap.backends import Capability, refuse_unsupported
from bootstrap.cli.context import CliContext, emit_json, say, show, terminating
from bootstrap.lifecycle import holding

if TYPE_CHECKING:
    from bootstrap.runtime import Engine


@click.command()
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--caches", is_flag=True, help="Also empty the package caches (shared by every workspace)."
)
@click.option("--no-snapshot", is_flag=True, help="Do not snapshot data volumes first.")
@click.option("--dry-run", is_flag=True, help="List what would be removed; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def reset(
    ctx: CliContext, yes: bool, caches: bool, no_snapshot: bool, dry_run: bool, as_json: bool
) -> None:
    """Down, snapshot and remove the project's data volumes (label and prefix both required)."""
    from bootstrap.snapshots import reset as reset_

    workspace = ctx.workspace(("*",))
    backend = ctx.backend()
    refuse_unsupported(backend, Capability.RESET)
    engine = backend.engine
    volumes, _none = reset_(
        workspace,
        backend,
        say,
        caches=caches,
        snapshot=False,
        dry_run=True,
    )
    if dry_run:
        if as_json:
            emit_json({"dry_run": True, "would_remove": volumes})
        else:
            say("would stop the project and remove: " + (", ".join(volumes) or "no volumes"))
        return
    if not yes:
        listed = ", ".join(volumes) or "no volumes"
        snap = "" if no_snapshot else " (snapshots first)"
        if not click.confirm(f"Stop {workspace.compose.name} and remove {listed}{snap}?", err=True):
            say("nothing changed")
            return
    with holding(
        workspace.directory,
        workspace.compose.name,
        engine,
        wait=True,
        say=say,
        cancelled=terminating,
    ):
        removed, snapshot = reset_(
            workspace,
            backend,
            say,
            caches=caches,
            snapshot=not no_snapshot,
            dry_run=False,
        )
    if as_json:
        emit_json({"removed": removed, "snapshot": str(snapshot) if snapshot else None})
    else:
        say(
            f"reset: removed {len(removed)} volumes"
            + (
                f"; snapshot in {snapshot} (`bootstrap restore` brings it back)" if snapshot else ""
            ),
            fg="green",
        )


@click.command()
@click.argument("snapshot", required=False)
@click.option("--list", "list_only", is_flag=True, help="List the snapshots.")
@click.option("--replace", is_flag=True, help="Overwrite volumes that exist.")
@click.pass_obj
def restore(ctx: CliContext, snapshot: str | None, list_only: bool, replace: bool) -> None:
    """Put a snapshot (default: the latest) back into its volumes."""
    from bootstrap.snapshots import list_snapshots
    from bootstrap.snapshots import restore as restore_

    workspace = ctx.workspace(("*",))
    if list_only:
        for path in list_snapshots(workspace):
            show(path.name)
        return
    refuse_unsupported(ctx.backend(), Capability.RESTORE)
    engine = ctx.backend().engine
    with holding(
        workspace.directory,
        workspace.compose.name,
        engine,
        wait=True,
        say=say,
        cancelled=terminating,
    ):
        path = restore_(workspace, engine, say, snapshot=snapshot, replace=replace)
    say(f"restored {path.name}; run `bootstrap up` to start the stack", fg="green")


@click.group()
def cache() -> None:
    """Package cache volumes (uv, pip, npm)."""


@cache.command("setup")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def cache_setup(ctx: CliContext, as_json: bool) -> None:
    """Create the cache volumes, hand them to the dev user, print how to use them."""
    from bootstrap.caches import cache_environment, ensure_cache_volumes

    workspace = ctx.workspace(("*",))
    volumes = ensure_cache_volumes(
        _cache_engine(ctx), workspace.settings, workspace.compose.name, fix_owner=True
    )
    env = cache_environment(workspace.settings)
    if as_json:
        emit_json(
            {
                "volumes": [
                    {
                        "kind": v.kind,
                        "name": v.name,
                        "mount": v.mount,
                        "owner": v.owner,
                        "created": v.created,
                    }
                    for v in volumes
                ],
                "environment": env,
            }
        )
        return
    for v in volumes:
        show(
            f"{v.kind:<4} {v.name:<32} mount at {v.mount}  owner {v.owner}"
            + ("  (created)" if v.created else "")
        )
    show("environment for services that use them:")
    for key, value in env.items():
        show(f"  {key}={value}")


def _cache_engine(ctx: CliContext) -> Engine:
    refuse_unsupported(ctx.backend(), Capability.CACHE)
    return ctx.backend().engine
