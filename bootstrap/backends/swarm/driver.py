"""Bringing a stack up on Swarm in the plan's order: the scheduler decides what may start,
this driver deploys it (one cumulative ``docker stack deploy`` per service: Swarm leaves what
it already runs alone) and decides when it is ready (every replica's task running, and every
replica answering its protocol probe from a helper on the stack's network)."""

from __future__ import annotations

import hashlib
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bootstrap.backends.docker import DockerEngine
from bootstrap.backends.probehelper import ProbeHelper
from bootstrap.backends.swarm import states
from bootstrap.backends.swarm.engine import NodeInfo, SwarmServices, TaskInfo
from bootstrap.backends.swarm.stackfile import (
    SwarmOptions,
    file_paths,
    render,
    stack_document,
    stack_name,
)
from bootstrap.errors import EngineError
from bootstrap.outcome import Observation, ProbeResult
from bootstrap.paths import state_dir
from bootstrap.plan import PlannedService
from bootstrap.privatefile import write_private
from bootstrap.probes import Backoff, Clock, SystemClock, kind, poll
from bootstrap.probes.spec import ProbeSpec
from bootstrap.scheduler import Event, RunEvent
from bootstrap.secretfiles import secret_file_value
from bootstrap.targets import exposed_ports
from bootstrap.workspace import Workspace

SWARM_BACKOFF = Backoff(first=0.1, factor=1.5, ceiling=0.5)  # each attempt asks the manager


def file_digests(paths: list[str]) -> dict[str, str]:
    """sha256 of each file that can be read (one that cannot is left to Swarm to report)."""
    digests = {}
    for path in paths:
        try:
            digests[path] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        except OSError:
            continue
    return digests


def deploy(stack_file: Path, stack: str, resolve_image: str, env: Mapping[str, str]) -> None:
    done = subprocess.run(
        [
            "docker",
            "stack",
            "deploy",
            "--resolve-image",
            resolve_image,
            "--compose-file",
            str(stack_file),
            stack,
        ],
        capture_output=True,
        text=True,
        env=dict(env),
        cwd=stack_file.parent,
        check=False,
    )
    if done.returncode != 0:
        raise EngineError(
            f"`docker stack deploy` failed: {done.stderr.strip()[-800:]}",
            location=str(stack_file),
            hint="the stack file bootstrap wrote is there; `docker stack deploy -c` it by "
            "hand to see the whole error",
        )


def lost_nodes(
    tasks: list[TaskInfo], nodes: Mapping[str, NodeInfo], job: bool, rerun_already: bool
) -> tuple[Observation | None, bool]:
    """(what to say, whether to run the job again) for tasks on nodes that are down. Swarm
    moves a service's tasks elsewhere by itself once it sees the node down; a job's task it
    leaves assigned there forever, so the job is run again (once). A task that no node can take
    (pinned to the lost one) fails the wait, naming the nodes that are down. Pure."""
    waiting = [t for t in tasks if t.state != states.done_state(job)]
    unplaced = states.unplaceable(waiting)
    if unplaced:
        gone = sorted(n.hostname for n in nodes.values() if n.state != states.NODE_READY)
        lost_said = f"; down: {', '.join(gone)}" if gone else ""
        return (
            Observation(
                False, f"no node can run its task: {unplaced[0].error}{lost_said}", fatal=True
            ),
            False,
        )
    down = [t for t in waiting if states.on_a_node_down(t, nodes)]
    if not down:
        return None, False
    where = ", ".join(sorted({nodes[t.node].hostname for t in down}))
    if job:
        if rerun_already:
            return None, False
        return Observation(False, f"its task was on {where}, which is down: run again"), True
    return (
        Observation(
            False, f"{len(down)} task(s) on {where}, which is down: Swarm moves them elsewhere"
        ),
        False,
    )


def rerun(service: str, env: Mapping[str, str]) -> None:
    """Run a job's task again (a job re-runs on every update)."""
    done = subprocess.run(
        ["docker", "service", "update", "--force", "--detach", service],
        capture_output=True,
        text=True,
        env=dict(env),
        check=False,
    )
    if done.returncode != 0:
        raise EngineError(
            f"could not run {service} again: {done.stderr.strip()[-400:]}",
            hint=f"`docker service update --force {service}`",
        )


class SwarmDriver:
    def __init__(
        self,
        workspace: Workspace,
        docker: DockerEngine,
        swarm: SwarmServices,
        document: Mapping[str, Any],
        options: SwarmOptions,
        timeout: float,
        report: Callable[[Event], None],
        probe_image: str,
        env: Mapping[str, str],
        clock: Clock | None = None,
    ) -> None:
        self.workspace = workspace
        self.engine = swarm
        self.document = document
        self.options = options
        self.timeout = timeout
        self.report = report
        self.probe_image = probe_image
        self.env = env
        self.clock = clock or SystemClock()
        self.stack = stack_name(workspace.plan.project)
        self.folder = state_dir(workspace.directory) / "swarm" / self.stack
        self.deployed: list[str] = []
        self._existing: set[str] | None = None  # the stack's services before this run
        self._deploy_lock = threading.Lock()
        self._rerun: set[str] = set()  # jobs run again after their node was lost
        self.held: set[str] = set()  # deployed at 0 replicas, released at their turn
        self.helper = ProbeHelper(docker, probe_image, self.stack)
        self.digests = file_digests(file_paths(document))

    def swarm_service(self, name: str) -> str:
        return f"{self.stack}_{name}"

    # --- Driver ---------------------------------------------------------------------------

    def _job(self, name: str) -> bool:
        return self.workspace.plan.services[name].is_job

    def start(self, service: PlannedService) -> str:
        """Start ``service``'s tasks. At the first start, every replicated service the stack
        does not have yet is deployed at once, held at 0 replicas (one ``docker stack
        deploy``: the CLI's conversion of the file, the stack's networks, configs, secrets and
        labels); each is then released, at its turn, to its replicas through the services
        API. A service the stack has already, a global one and a job go through a cumulative
        deploy at their turn, as before: a job (a one-shot) is in the file only when it is
        deployed itself (Swarm runs a job again on every update, and leaves a service that is
        not in the file alone); a job that exists already is not run again."""
        with self._deploy_lock:
            if self._existing is None:
                self._existing = set(self.engine.stack_services(self.stack))
                self._hold_new()
            if service.name in self.held:
                self.held.discard(service.name)
                self.deployed.append(service.name)
                self.engine.scale(self.swarm_service(service.name), self._replicas(service))
                return "deployed (its replicas set through the services API)"
            job = self._job(service.name)
            if job and service.name in self._existing:
                return "already deployed (a job runs once; `down` to run it again)"
            if service.name not in self.deployed:
                self.deployed.append(service.name)
            names = [n for n in self.deployed if not self._job(n) or n == service.name]
            self._deploy(names, "stack.json")
        return "deployed"

    def _replicas(self, service: PlannedService) -> int:
        deploy = self.document["services"][service.name].get("deploy") or {}
        replicas = deploy.get("replicas")
        return 1 if replicas is None else int(replicas)

    def _holdable(self, name: str) -> bool:
        deploy = self.document["services"][name].get("deploy") or {}
        return not self._job(name) and deploy.get("mode", "replicated") == "replicated"

    def _hold_new(self) -> None:
        """Deploy every replicated service the stack lacks, at 0 replicas (nothing runs)."""
        assert self._existing is not None
        new = [
            n for n in self.workspace.plan.order() if n not in self._existing and self._holdable(n)
        ]
        if new:
            self._deploy(new, "stack-held.json", held=frozenset(new))
            self.held = set(new)

    def _deploy(self, names: list[str], file_name: str, held: frozenset[str] = frozenset()) -> None:
        stack, files = stack_document(
            self.document, names, self.workspace.plan, self.options, self.env, self.digests
        )
        for name in held:
            stack["services"][name]["deploy"]["replicas"] = 0
        # the files and the stack file hold the env layers' secrets: private from the first
        # byte, written whole
        for name, text in files.items():
            write_private(self.folder / name, text)
        stack_file = write_private(self.folder / file_name, render(stack))
        deploy(stack_file, self.stack, self.options.resolve_image, self.env)

    def wait_ready(
        self,
        service: PlannedService,
        cancelled: Callable[[], bool],
        history: frozenset[str] = frozenset(),
    ) -> ProbeResult:
        """The one poll loop (injected clock, the service's own timeout label): every replica's
        task running, then every replica's probe, the same probe object compose runs, from the
        helper on the stack's network. A kind that needs the container itself (a healthcheck,
        exec, logs) rests on the task state, which Swarm reports as running only once the
        healthcheck passes. ``history``: tasks that had failed before the wait (the supervisor's
        re-gate, while Swarm replaces them), not a failure of this one."""
        name = self.swarm_service(service.name)
        job = service.is_job
        wanted = self.engine.replicas(name)  # the service's spec: read once
        timeout = service.probe.number("timeout", self.timeout)
        found = kind(service.probe.kind)
        on_network = found is not None and not found.needs_container

        def attempt() -> Observation:
            tasks = [t for t in states.current(self.engine.tasks(name), job) if t.id not in history]
            lost = self._on_lost_nodes(name, tasks, job)
            if lost is not None:
                return lost
            failed = states.failed(tasks)
            if failed:
                task = failed[0]
                code = f", exit code {task.exit_code}" if task.exit_code else ""
                return Observation(
                    False,
                    f"task {task.id[:12]} {task.state}{code}: {task.error or 'no error given'}",
                    fatal=True,
                )
            done_state = states.done_state(job)
            ready = states.done(tasks, job)
            want = wanted if wanted is not None else max(1, len(tasks))
            if len(ready) < want:
                return Observation(False, f"{len(ready)}/{want} tasks {done_state}")
            if job or not on_network:
                rests = "" if job else f" (the {service.probe.kind} probe rests on the task state)"
                return Observation(True, f"{len(ready)}/{want} tasks {done_state}{rests}")
            return self._probe_replicas(service, want)

        return poll(
            attempt,
            timeout=timeout,
            clock=self.clock,
            backoff=SWARM_BACKOFF,
            cancelled=cancelled,
            on_change=self._observer(service),
        )

    def _on_lost_nodes(self, name: str, tasks: list[TaskInfo], job: bool) -> Observation | None:
        """A task on a node that is down: see ``lost_nodes``; a job's is run again, once."""
        if len(states.done(tasks, job)) == len(tasks):
            return None
        nodes = {node.id: node for node in self.engine.nodes()}
        seen, run_again = lost_nodes(tasks, nodes, job, name in self._rerun)
        if run_again:
            self._rerun.add(name)
            rerun(name, self.env)
        return seen

    def _observer(self, service: PlannedService) -> Callable[[Observation], None]:
        def observed(seen: Observation) -> None:
            self.report(
                Event(service.name, RunEvent.OBSERVED, seen.detail, time.time(), service.phase)
            )

        return observed

    def log_tail(self, service: PlannedService, lines: int) -> str:
        return self.engine.service_logs(self.swarm_service(service.name), lines)

    # --- readiness --------------------------------------------------------------------------

    def _network(self, service: PlannedService) -> str:
        networks = sorted(self.document["services"][service.name].get("networks") or {})
        return f"{self.stack}_{networks[0] if networks else 'default'}"

    def _probe_replicas(self, service: PlannedService, want: int) -> Observation:
        """Every replica's probe from the stack's network: the same probe object the compose
        backend builds from the same spec (bootstrap's own probes, standard library only, in
        the helper), a ``*_FILE`` password read from the secret's own source."""
        params = dict(service.probe.params)
        if params.get("password_file") and not params.get("password"):
            secret = secret_file_value(
                self.document, service.name, str(params["password_file"]), self.env
            )
            if secret is None:
                return Observation(
                    False,
                    f"{params['password_file']} is not a secret of {service.name} that "
                    "bootstrap can read (a file or environment secret of the compose file)",
                    fatal=True,
                )
            params["password"] = secret
        return self.helper.probe(
            self._network(service),
            service.name,
            f"tasks.{service.name}",
            ProbeSpec(service.probe.kind, params),
            exposed_ports(service.service),  # as compose's probes choose the port
            want,
        )

    def close(self) -> None:
        self.helper.close()
