"""``bootstrap discovery serve``: run the discovery service in this process."""

from __future__ import annotations

import click


@click.group()
def discovery() -> None:
    """The discovery service (label-based registry with health over WebSocket)."""


@discovery.command()
@click.option("--port", type=int, default=None, help="Listen port (default 7000).")
@click.option("--project", default=None, help="Compose project to watch.")
def serve(port: int | None, project: str | None) -> int:
    """Serve /services, /healthz, /metrics and /ws; write Prometheus file_sd targets."""
    import os

    from bootstrap.errors import needing_extra

    try:
        from bootstrap.discovery.server import serve as serve_
    except ImportError as exc:
        raise needing_extra("discovery", "the discovery service", exc) from None

    environ = dict(os.environ)
    if port is not None:
        environ["DISCOVERY_PORT"] = str(port)
    if project:
        environ["DISCOVERY_PROJECT"] = project
    return serve_(environ)
