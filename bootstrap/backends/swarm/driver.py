"""Bringing a stack up on Swarm in the plan's order: the scheduler decides what may start,
this driver deploys it (one cumulative ``docker stack deploy`` per service: Swarm leaves what
it already runs alone) and decides when it is ready (every replica's task running, and every
replica answering its protocol probe from a helper on the stack's network)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import bootstrap
from bootstrap.backends.swarm.engine import FAILED_STATES, SwarmEngine, TaskInfo
from bootstrap.backends.swarm.stackfile import (
    SwarmOptions,
    file_paths,
    render,
    stack_document,
    stack_name,
)
from bootstrap.errors import EngineError
from bootstrap.outcome import ProbeResult
from bootstrap.plan import PlannedService
from bootstrap.probes import truthy
from bootstrap.probespec import DEFAULT_QUERY
from bootstrap.scheduler import Event
from bootstrap.targets import exposed_ports
from bootstrap.workspace import Workspace

PROTOCOL_PROBES = ("http", "tcp", "mcp")
SQL_CLIENTS = {"postgres": "psql", "mariadb": "mariadb", "mysql": "mariadb"}
POLL = 0.25


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


class SwarmDriver:
    def __init__(
        self,
        workspace: Workspace,
        engine: SwarmEngine,
        document: Mapping[str, Any],
        options: SwarmOptions,
        timeout: float,
        report: Callable[[Event], None],
        probe_image: str,
        env: Mapping[str, str],
    ) -> None:
        self.workspace = workspace
        self.engine = engine
        self.document = document
        self.options = options
        self.timeout = timeout
        self.report = report
        self.probe_image = probe_image
        self.env = env
        self.stack = stack_name(workspace.plan.project)
        self.folder = workspace.directory / ".bootstrap" / "swarm" / self.stack
        self.deployed: list[str] = []
        self._existing: set[str] | None = None  # the stack's services before this run
        self._deploy_lock = threading.Lock()
        self._helpers: dict[str, str] = {}  # network -> helper container
        self.digests = file_digests(file_paths(document))
        self._helper_lock = threading.Lock()

    def swarm_service(self, name: str) -> str:
        return f"{self.stack}_{name}"

    # --- Driver ---------------------------------------------------------------------------

    def _job(self, name: str) -> bool:
        return self.workspace.plan.services[name].probe.kind == "completed"

    def start(self, service: PlannedService) -> str:
        """Deploy the services started so far. A job (a one-shot) is in the file only when it
        is deployed itself: Swarm runs a job again on every update, and leaves a service that
        is not in the file alone. A job that exists already is not run again."""
        with self._deploy_lock:
            if self._existing is None:
                self._existing = set(self.engine.stack_services(self.stack))
            job = self._job(service.name)
            if job and service.name in self._existing:
                return "already deployed (a job runs once; `down` to run it again)"
            if service.name not in self.deployed:
                self.deployed.append(service.name)
            names = [n for n in self.deployed if not self._job(n) or n == service.name]
            stack, files = stack_document(
                self.document, names, self.workspace.plan, self.options, self.env, self.digests
            )
            self.folder.mkdir(parents=True, exist_ok=True)
            for name, text in files.items():
                (self.folder / name).write_text(text, encoding="utf-8")
                (self.folder / name).chmod(0o600)
            stack_file = self.folder / "stack.json"  # holds the env layers' secrets: 0600
            stack_file.touch(mode=0o600)
            stack_file.chmod(0o600)
            stack_file.write_text(render(stack), encoding="utf-8")
            deploy(stack_file, self.stack, self.options.resolve_image, self.env)
        return "deployed"

    def wait_ready(self, service: PlannedService, cancelled: Callable[[], bool]) -> ProbeResult:
        began, attempts = time.monotonic(), 0
        name = self.swarm_service(service.name)
        job = service.probe.kind == "completed"
        last = "no task yet"
        wanted = self.engine.replicas(name)  # the service's spec: read once
        while not cancelled():
            attempts += 1
            elapsed = time.monotonic() - began
            if elapsed > self.timeout:
                return ProbeResult(False, f"timed out: {last}", attempts, elapsed, timed_out=True)
            tasks = self._current(self.engine.tasks(name), job)
            failed = [t for t in tasks if t.state in FAILED_STATES]
            if failed:
                task = failed[0]
                code = f", exit code {task.exit_code}" if task.exit_code else ""
                return ProbeResult(
                    False,
                    f"task {task.id[:12]} {task.state}{code}: {task.error or 'no error given'}",
                    attempts,
                    elapsed,
                    fatal=True,
                )
            done_state = "complete" if job else "running"
            ready = [t for t in tasks if t.state == done_state]
            want = wanted if wanted is not None else max(1, len(tasks))
            last = f"{len(ready)}/{want} tasks {done_state}"
            if len(ready) >= want:
                if job:
                    return ProbeResult(True, f"{last}", attempts, elapsed)
                answered, detail = self._probe_replicas(service, want)
                last = detail
                if answered:
                    return ProbeResult(True, detail, attempts, time.monotonic() - began)
            time.sleep(POLL)
        return ProbeResult(False, "cancelled", attempts, time.monotonic() - began)

    def log_tail(self, service: PlannedService, lines: int) -> str:
        return self.engine.service_logs(self.swarm_service(service.name), lines)

    # --- readiness --------------------------------------------------------------------------

    @staticmethod
    def _current(tasks: list[TaskInfo], job: bool) -> list[TaskInfo]:
        """The tasks of the service's current run: a replaced task (desired shutdown) is
        history, unless it failed on its own."""
        wanted = ("complete", "running") if job else ("running",)
        return [t for t in tasks if t.desired in wanted or t.state in FAILED_STATES]

    def _network(self, service: PlannedService) -> str:
        networks = sorted(self.document["services"][service.name].get("networks") or {})
        return f"{self.stack}_{networks[0] if networks else 'default'}"

    def _helper(self, network: str) -> str:
        with self._helper_lock:
            if network not in self._helpers:
                package = Path(bootstrap.__file__).parent
                self._helpers[network] = self.engine.start_probe_helper(
                    self.probe_image, network, self.stack, package
                )
            return self._helpers[network]

    def _probe_replicas(self, service: PlannedService, want: int) -> tuple[bool, str]:
        """Every replica's protocol probe from the stack's network; kinds that need the
        container itself (a healthcheck, exec, logs) rest on the task state, which Swarm
        reports as running only once the healthcheck passes."""
        kind = service.probe.kind
        if kind in SQL_CLIENTS:
            return self._probe_sql(service, want)
        if kind not in PROTOCOL_PROBES:
            return True, f"{want} task(s) running (the {kind} probe rests on the task state)"
        network = self._network(service)
        spec = {
            "service": service.name,
            "kind": kind,
            "params": dict(service.probe.params),
            "exposed": exposed_ports(service.service),  # as compose's probes choose the port
        }
        done = self.engine.exec(
            self._helper(network),
            ["python3", "-m", "bootstrap.backends.swarm.helper", json.dumps(spec)],
        )
        try:
            replicas = json.loads(done.output.strip().splitlines()[-1])["replicas"]
        except (IndexError, ValueError, KeyError):
            return False, f"probe helper: {done.output.strip()[-200:] or done.exit_code}"
        return _verdict(replicas, want)

    def _probe_sql(self, service: PlannedService, want: int) -> tuple[bool, str]:
        """SELECT 1 (or the ``query`` label's) on every replica, with the service's own
        image's client (it has one)."""
        params = service.probe.params
        network = self._network(service)
        addresses = self._addresses(network, service.name)
        image = str(self.document["services"][service.name].get("image") or "")
        client = SQL_CLIENTS[service.probe.kind]
        query = str(params.get("query") or DEFAULT_QUERY)
        replicas = []
        for address in addresses:
            port = str(params.get("port") or "")
            if client == "psql":
                args = ["-h", address, "-p", port or "5432", "-U", str(params.get("user"))]
                args += ["-d", str(params.get("database") or "postgres"), "-tAc", query]
                env = {"PGPASSWORD": str(params.get("password") or ""), "PGCONNECT_TIMEOUT": "2"}
            else:
                args = ["-h", address, "-P", port or "3306", "-u", str(params.get("user"))]
                args += ["-N", "-e", query]
                env = {"MYSQL_PWD": str(params.get("password") or "")}
            done = self.engine.run_on_network(
                image, args, network=network, stack=self.stack, env=env, entrypoint=client
            )
            lines = done.output.strip().splitlines()
            ok = done.exit_code == 0 and bool(lines) and truthy(lines[-1])
            detail = f"`{query}` answered" if ok else (done.output.strip()[-160:] or "no answer")
            replicas.append({"address": address, "ready": ok, "detail": detail})
        return _verdict(replicas, want)

    def _addresses(self, network: str, service: str) -> list[str]:
        done = self.engine.exec(
            self._helper(network),
            [
                "python3",
                "-c",
                "import sys; from bootstrap.backends.swarm.helper import replicas; "
                "print(' '.join(replicas(sys.argv[1])))",
                service,
            ],
        )
        return done.output.split() if done.exit_code == 0 else []

    def close(self) -> None:
        for helper in self._helpers.values():
            self.engine.remove_container(helper)
        self._helpers.clear()


def _verdict(replicas: list[dict[str, Any]], want: int) -> tuple[bool, str]:
    ready = [r for r in replicas if r["ready"]]
    if len(replicas) < want:
        return False, f"{len(replicas)}/{want} replicas resolvable on the stack's network"
    if len(ready) < len(replicas):
        bad = next(r for r in replicas if not r["ready"])
        return (
            False,
            f"{len(ready)}/{len(replicas)} replicas answer; {bad['address']}: {bad['detail']}",
        )
    first = replicas[0]["detail"] if replicas else ""
    return True, f"{len(ready)} replica(s) answer: {first}"
