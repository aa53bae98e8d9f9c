"""``down`` on Swarm: the services removed in reverse phase order (monitoring first), each
phase's tasks gone before the next, then the stack's networks, configs and secrets."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

from bootstrap.backends.docker import DockerEngine
from bootstrap.backends.swarm.engine import SwarmServices
from bootstrap.backends.swarm.stackfile import stack_name
from bootstrap.errors import EngineError
from bootstrap.runtime import State
from bootstrap.workspace import Workspace

GONE_WAIT = 60.0


def remove_in_reverse_order(
    workspace: Workspace,
    docker: DockerEngine,
    engine: SwarmServices,
    say: Callable[[str], None],
    stopping: Callable[[], bool] = lambda: False,
) -> list[str]:
    stack = stack_name(workspace.plan.project)
    running = engine.stack_services(stack)
    removed: list[str] = []
    for phase in reversed(workspace.plan.phases):
        if stopping():
            return removed
        names = [n for n in phase.services if n in running]
        if not names:
            continue
        say(f"removing {phase.name}: {', '.join(names)}")
        for name in names:
            engine.remove_service(running[name])
        _wait_gone(docker, stack, names)
        removed += names
    leftover = [n for n in engine.stack_services(stack) if n not in removed]
    if leftover:  # services of other profiles, or no longer in the files: after the rest
        say(f"removing {', '.join(sorted(leftover))}")
        for name in leftover:
            engine.remove_service(f"{stack}_{name}")
        _wait_gone(docker, stack, leftover)
        removed += sorted(leftover)
    _wait_gone(docker, stack, sorted({c.service for c in docker.containers(stack, inspect=False)}))
    # The stack's networks, configs and secrets (no services are left to stop).
    stack_rm = subprocess.run(
        ["docker", "stack", "rm", stack], capture_output=True, text=True, check=False
    )
    # A network stays "in use" by the tasks of removed services until Swarm reaps them (a
    # failed job's, seconds later): ask again until it goes.
    deadline = time.monotonic() + GONE_WAIT
    while time.monotonic() < deadline:
        networks = engine.stack_networks(stack)
        if not networks:
            break
        for network in networks:
            engine.remove_network(network)
        time.sleep(0.5)
    left = {
        "services": sorted(engine.stack_services(stack)),
        "networks": sorted(engine.stack_networks(stack)),
        "containers": sorted(c.name for c in docker.containers(stack, inspect=False)),
    }
    if any(left.values()):
        said = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in left.items() if names)
        why = stack_rm.stderr.strip().splitlines()[-1:] if stack_rm.returncode else []
        raise EngineError(
            f"down left part of stack {stack} behind ({said})"
            + (f"; docker stack rm said: {why[0]}" if why else ""),
            location=f"stack {stack}",
            hint="run `bootstrap --backend swarm down` again once its tasks have stopped, or "
            "remove what is named with docker service rm / docker network rm",
        )
    return removed


def _wait_gone(docker: DockerEngine, stack: str, names: list[str]) -> None:
    """Until no container of these services runs on this node; then the stopped ones their
    tasks left (a job's completed tasks outlive their service) are removed too."""
    deadline = time.monotonic() + GONE_WAIT
    while time.monotonic() < deadline:
        mine = [c for c in docker.containers(stack, inspect=False) if c.service in names]
        if not [c for c in mine if c.state in (State.RUNNING, State.RESTARTING, State.REMOVING)]:
            for container in mine:
                docker.remove_container(container.id)
            return
        time.sleep(0.25)
