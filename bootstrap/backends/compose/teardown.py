"""``down`` on compose: the project's containers stopped in reverse phase order (monitoring
first, databases last), before compose removes them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from bootstrap.backends.compose import states
from bootstrap.runtime import ContainerInfo, Engine
from bootstrap.workspace import Workspace

Say = Callable[[str], None]


def stop_in_reverse_order(
    workspace: Workspace,
    engine: Engine,
    say: Say,
    stopping: Callable[[], bool] = lambda: False,
    *,
    by_compose: Callable[[Sequence[str]], None] | None = None,
) -> list[str]:
    """Stop the project's containers phase by phase, monitoring first, databases last;
    ``stopping`` (SIGTERM) ends it between two phases, the earlier ones still running. A
    service with ``pre_stop`` hooks is stopped by compose itself (``by_compose``), which runs
    them first, as ``docker compose down`` would."""
    containers: dict[str, list[ContainerInfo]] = {}
    for info in engine.containers(workspace.compose.name):  # every replica of each service
        containers.setdefault(info.service, []).append(info)
    stopped: list[str] = []
    phases = [p.services for p in reversed(workspace.plan.phases)]
    known = {n for names in phases for n in names}
    strays = [n for n in containers if n not in known]  # other profiles: stop them first
    with ThreadPoolExecutor(max_workers=8) as pool:
        for names in [tuple(strays), *phases]:
            if stopping():
                break
            running = [c for n in names for c in containers.get(n, ()) if states.up(c.state)]
            if running:
                say("stopping " + ", ".join(dict.fromkeys(c.service for c in running)))
            hooked = [s for s in dict.fromkeys(c.service for c in running) if _hooked(workspace, s)]
            if hooked and by_compose is not None:
                by_compose(hooked)
            plain = [c for c in running if by_compose is None or c.service not in hooked]
            list(pool.map(lambda c: engine.stop(c.id, _grace(workspace, c.service)), plain))
            stopped += list(dict.fromkeys(c.service for c in running))
    return stopped


def _hooked(workspace: Workspace, service: str) -> bool:
    declared = workspace.stack.services.get(service)
    return declared is not None and declared.stopped_by_compose


def _grace(workspace: Workspace, service: str) -> int:
    """Seconds to wait before SIGKILL: the service's stop_grace_period (10 s by default)."""
    declared = workspace.stack.services.get(service)
    return max(0, round(declared.stop_grace)) if declared else 10
