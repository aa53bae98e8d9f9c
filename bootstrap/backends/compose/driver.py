"""The compose backend's ``up``: compose creates, the scheduler starts and probes, phase by
phase, through the Docker SDK."""

from __future__ import annotations

import functools
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from bootstrap.backends import AS_IS, Creating
from bootstrap.backends.compose import states
from bootstrap.backends.composecli import NO_DEPS_RESOLVES, ComposeCLI
from bootstrap.backends.probehelper import OverTheNetwork, ProbeHelper
from bootstrap.errors import EngineError
from bootstrap.frozen import Gated, GateNotes
from bootstrap.later import Later
from bootstrap.outcome import Observation, ProbeResult
from bootstrap.plan import PlannedService
from bootstrap.probes import Probe, SystemClock, Target, run_probe
from bootstrap.probes import kind as kind_of
from bootstrap.probes.docker import WithHealthcheck
from bootstrap.probes.registry import Rests, rests_on
from bootstrap.probes.running import RunningProbe
from bootstrap.reach import in_container
from bootstrap.runtime import ContainerInfo, Engine, State
from bootstrap.scheduler import Event, Outcome, Reporter, RunEvent, Scheduler
from bootstrap.targets import (
    effective_healthcheck,
    exposed_ports,
    network_only_port,
    target_and_probe,
)
from bootstrap.watch import ContainerWatch
from bootstrap.workspace import Workspace

# How long an early attempt's "ready" stands in for the wait in the service's phase (its
# container must still run then, as the engine's events say).
EARLY_FRESH = 2.0
EARLY_NOTE = "already running: asked at once with the others"


@dataclass(frozen=True)
class EarlyAnswer:
    result: ProbeResult
    at: float  # time.monotonic() when it was answered
    info: ContainerInfo


@dataclass
class DockerDriver:
    """Starts containers compose created and gates each on its probe."""

    workspace: Workspace
    engine: Engine
    watch: ContainerWatch
    containers: dict[str, ContainerInfo]
    timeout: float
    on_network: bool = False
    creation: Creation | None = None
    compose: ComposeCLI | None = None  # starts what needs compose itself (hooks, inline files)
    helper: ProbeHelper | None = None  # probes from the stack's network where ports are not
    report: Reporter = lambda _event: None  # each change of a probe's outcome, as it happens
    # told of each container this driver started and then saw ready (for a supervisor that
    # starts later: frozen.GateNotes)
    gates: Callable[[str, Sequence[Gated]], None] | None = None
    _started_here: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _refreshed: bool = False
    # services gated on `running` and ready once running: their settle is checked once, at
    # the end of the run (``settle``), instead of holding every wave behind them
    _settle_later: dict[str, float] = field(default_factory=dict)
    _clients: dict[str, bool] = field(default_factory=dict)  # container id -> has a client
    _passes: dict[str, str] = field(default_factory=dict)  # container id -> what its pass saw
    # a re-run with nothing to create: one attempt of each running container's probe, made at
    # once (``ask_early``), taken by its wait in its phase while fresh (``wait_ready``)
    _early: dict[str, Future[EarlyAnswer | None]] = field(default_factory=dict)

    def ask_early(self, pool: ThreadPoolExecutor) -> None:
        """Nothing to create and, where every container runs, nothing to start: ask every
        running container's probe once now, all at once, instead of phase after phase. The
        phases still order every start and every verdict; only the asking overlaps."""
        for name in self.workspace.plan.order():
            service, listed = self.workspace.plan.services[name], self.containers.get(name)
            running = listed is not None and listed.state == State.RUNNING
            if running and listed is not None and service.service.replicas == 1:
                self._early[name] = pool.submit(self._attempt, service, listed)

    def _attempt(self, service: PlannedService, listed: ContainerInfo) -> EarlyAnswer | None:
        """One attempt of the service's own probe, where it is asked from here (not through
        a helper, not ``running``'s settle); None where it is not ready or not asked."""
        info = self.engine.container(listed.id)
        self.watch.seed(info)
        if info.state != State.RUNNING or healthy_without_healthcheck(service, info) is not None:
            return None
        target, probe = target_and_probe(service, info, self.engine, self.watch, self.on_network)
        found = kind_of(service.probe.kind)
        # A kind with clients asks through the image's client where it has one: tried at once
        # (one exec, not a look for the client first); without one, the wait decides.
        via_client = found is not None and bool(found.clients)
        if isinstance(probe, RunningProbe) or (
            not via_client and self._over_the_network(service, info, probe, target, 1)
        ):
            return None
        target.window = 2.0
        began = time.monotonic()
        try:
            seen = probe.check(target)
        except Exception:  # the wait in the phase asks again, and says what breaks
            return None
        if not seen.ready:
            return None
        now = time.monotonic()
        said = f"{seen.detail} ({EARLY_NOTE})"
        return EarlyAnswer(ProbeResult(True, said, 1, now - began), now, info)

    def _early_answer(self, service: PlannedService) -> ProbeResult | None:
        """The early attempt's ready answer, while fresh and its container still runs."""
        early = self._early.pop(service.name, None)
        if early is None:
            return None
        try:
            answer = early.result()
        except Exception:
            return None
        if answer is None or time.monotonic() - answer.at > EARLY_FRESH:
            return None
        if not self._still_running([answer.info]):
            return None
        self.containers[service.name] = answer.info
        self._observer(service, "")(Observation(True, answer.result.detail))
        return answer.result

    def _container(self, service: PlannedService) -> ContainerInfo:
        if self.creation is not None and service.name not in (
            self.creation.first | self.creation.deferred
        ):
            with self._lock:  # every later-phase worker waits here until the map is fresh
                if not self._refreshed:
                    self.creation.wait()
                    fresh = self.engine.project_containers(
                        self.workspace.compose.name, inspect=False
                    )
                    self.containers.update(fresh)
                    self._refreshed = True
        info = self.containers.get(service.name)
        if info is None:
            raise EngineError(
                f"compose created no container for {service.name}",
                location=f"services.{service.name}",
            )
        return info

    def replicas_of(self, service: PlannedService) -> list[ContainerInfo]:
        """Every container of the service: one, or ``deploy.replicas`` of them."""
        first = self._container(service)
        if service.service.replicas <= 1:
            return [first]
        listed = self.engine.containers(self.workspace.compose.name, inspect=False)
        return sorted((c for c in listed if c.service == service.name), key=lambda c: c.name)

    def start(self, service: PlannedService) -> str:
        if service.service.replicas == 0:
            return "deploy.replicas is 0: no container, as compose has it"
        if self.creation is not None and service.name in self.creation.deferred:
            self._started_here.add(service.name)
            self._starting(service, lambda: self.compose_start(service))
            with self._lock:  # its container(s) exist now: every later look finds them
                fresh = self.engine.project_containers(self.workspace.compose.name, inspect=False)
                if service.name in fresh:
                    self.containers[service.name] = fresh[service.name]
            return "created and started by compose (its hooks, configs and secrets)"
        replicas = self.replicas_of(service)
        waiting = [info for info in replicas if not states.started(info.state)]
        if not waiting:
            return "already running"
        self._started_here.add(service.name)
        if service.service.started_by_compose and self.compose is not None:
            # Compose runs pre_start hooks before the start (once per container: retained on
            # failure, not again on an unchanged up), copies inline/environment configs and
            # secrets in just before it and runs post_start hooks after: only compose itself
            # does these as the compose version in use does.
            self._starting(service, lambda: self.compose_start(service))
            note = "started by compose (its hooks, configs and secrets)"
        else:
            starts = [functools.partial(self.engine.start, info.id) for info in waiting]
            if len(starts) == 1:
                self._starting(service, starts[0])
            else:  # the replicas at once, as compose starts them
                with ThreadPoolExecutor(max_workers=min(len(starts), 8)) as pool:
                    for future in [pool.submit(self._starting, service, s) for s in starts]:
                        future.result()
            note = "started"
        if len(replicas) > 1:
            return f"{note}: {len(waiting)} of {len(replicas)} replicas"
        return note

    def compose_start(self, service: PlannedService) -> None:
        assert self.compose is not None
        self.compose.start(self.workspace.compose, [service.name])

    def _starting(self, service: PlannedService, start: Callable[[], None]) -> None:
        try:
            start()
        except EngineError as exc:
            if "already in use" in exc.message or "already allocated" in exc.message:
                raise EngineError(
                    f"a host port of {service.name} was taken after validation: {exc.message}",
                    location=f"services.{service.name}.ports",
                    hint="stop whatever took it, or publish another port; then run up again",
                ) from None
            raise

    def wait_ready(self, service: PlannedService, cancelled: Callable[[], bool]) -> ProbeResult:
        """Ready when every replica passes the service's probe (one container: its probe)."""
        early = self._early_answer(service)
        if early is not None:
            return early
        inspected: list[ContainerInfo] = []
        result = self._wait_ready(service, cancelled, inspected)
        guess = service.probe.recognised or service.probe.guessed  # not a label's order
        if result.timed_out and guess and self._still_running(inspected):
            # bootstrap's guess of a protocol never fails what compose would call ready
            result = replace(
                result,
                ready=True,
                timed_out=False,
                detail=f"{result.detail}; bootstrap guessed a {service.probe.kind} server from "
                "its image, which did not answer as one: ready as compose counts it (running); "
                "say how to wait for it with the label bootstrap.probe (tcp, http, ...)",
            )
        said = {i.id: self._passes.pop(i.id, result.detail) for i in inspected}
        if result.ready and self.gates is not None and service.name in self._started_here:
            self._started_here.discard(service.name)
            now = time.time()
            self.gates(
                service.name, [Gated(i.id, i.started_at, now, said[i.id]) for i in inspected]
            )
        return result

    def _still_running(self, inspected: list[ContainerInfo]) -> bool:
        states = [self.watch.state(info.id) for info in inspected]
        return bool(states) and all(st is not None and st.status == State.RUNNING for st in states)

    def _wait_ready(
        self,
        service: PlannedService,
        cancelled: Callable[[], bool],
        inspected: list[ContainerInfo],
    ) -> ProbeResult:
        if service.service.replicas == 0:
            return ProbeResult(True, "deploy.replicas is 0: no container to wait for", 0, 0.0)
        replicas = self.replicas_of(service)
        timeout = service.probe.number("timeout", self.timeout)
        began, attempts, details = time.monotonic(), 0, []
        for index, listed in enumerate(replicas):
            info = self.engine.container(listed.id)  # ports are bound at start
            self.watch.seed(info)
            inspected.append(info)
            if index == 0:
                self.containers[service.name] = info
                refused = healthy_without_healthcheck(service, info)
                if refused is not None:
                    return ProbeResult(False, refused, 0, 0.0, fatal=True)
            target, probe = target_and_probe(
                service, info, self.engine, self.watch, self.on_network
            )
            if isinstance(probe, RunningProbe) and probe.settle > 0:
                self._settle_later[service.name] = probe.settle
                probe = RunningProbe(settle=0.0)
            target.window = 2.0
            remote = self._over_the_network(service, info, probe, target, len(replicas))
            if remote is not None:  # one helper attempt probes every replica
                inspected += [self.engine.container(r.id) for r in replicas[1:]]
                return run_probe(
                    remote,
                    target,
                    timeout=timeout,
                    clock=SystemClock(),
                    cancelled=cancelled,
                    on_change=self._observer(service, ""),
                    long_running=service.long_running,
                    between=self.watch.wait,
                )
            left = max(0.0, timeout - (time.monotonic() - began))
            result = run_probe(
                probe,
                target,
                timeout=left,
                clock=SystemClock(),
                cancelled=cancelled,
                on_change=self._observer(service, info.name if len(replicas) > 1 else ""),
                long_running=service.long_running,
                between=self.watch.wait,  # a container that dies wakes the probe at once
            )
            attempts += result.attempts
            if result.ready:
                self._passes[info.id] = result.detail  # each replica's own, for its gate note
            if len(replicas) == 1:
                return result
            if not result.ready:
                return replace(
                    result,
                    detail=f"replica {info.name} ({index + 1}/{len(replicas)}): {result.detail}",
                    attempts=attempts,
                    elapsed=time.monotonic() - began,
                )
            details.append(result.detail)
        return ProbeResult(
            True,
            f"{len(replicas)} replicas ready: {details[0]}",
            attempts,
            time.monotonic() - began,
        )

    def settle(self, service: PlannedService, cancelled: Callable[[], bool]) -> ProbeResult:
        """Once every phase is up: a service that was ready once running has stayed up for
        its settle time since it started (it did not crash at once). Usually long past."""
        settle = self._settle_later.get(service.name)
        if settle is None:
            return ProbeResult(True, "not settled later", 0, 0.0)
        began, attempts = time.monotonic(), 0
        for listed in self.replicas_of(service):
            info = self.engine.container(listed.id)
            self.watch.seed(info)
            target, _probe = target_and_probe(
                service, info, self.engine, self.watch, self.on_network
            )
            result = run_probe(
                RunningProbe(settle=settle),
                target,
                timeout=max(settle * 4, 2.0),
                clock=SystemClock(),
                cancelled=cancelled,
                long_running=service.long_running,
                between=self.watch.wait,
            )
            attempts += result.attempts
            if not result.ready:
                return replace(result, attempts=attempts, elapsed=time.monotonic() - began)
        return ProbeResult(True, "stayed up", attempts, time.monotonic() - began)

    def _has_client(self, service: PlannedService, info: ContainerInfo) -> bool:
        """Whether the container has one of the kind's clients (one exec, remembered)."""
        found = kind_of(service.probe.kind)
        if found is None or not found.clients:
            return False
        if info.id not in self._clients:
            test = " || ".join(f"command -v {c} >/dev/null 2>&1" for c in found.clients)
            try:
                self._clients[info.id] = (
                    self.engine.exec(info.id, ["sh", "-c", test]).exit_code == 0
                )
            except EngineError:
                self._clients[info.id] = False
        return self._clients[info.id]

    def _over_the_network(
        self,
        service: PlannedService,
        info: ContainerInfo,
        probe: Probe,
        target: Target,
        want: int,
    ) -> Probe | None:
        """The probe from a helper on the stack's network, where it needs only the network
        and its port is not reachable from here (not published on 127.0.0.1, not by name)."""
        if (
            self.helper is None
            or network_only_port(service, probe, target) is None
            or not info.addresses
            or self._has_client(service, info)  # it asks through the image's own client
        ):
            return None
        main = self.workspace.stack.networks.get(self.workspace.settings.network)
        network = main.name if main and main.name in info.addresses else sorted(info.addresses)[0]
        remote: Probe = OverTheNetwork(
            self.helper,
            network,
            service.name,
            service.probe,
            exposed_ports(service.service),
            want,
        )
        return WithHealthcheck(remote) if isinstance(probe, WithHealthcheck) else remote

    def _observer(self, service: PlannedService, replica: str) -> Callable[[Observation], None]:
        def observed(seen: Observation) -> None:
            detail = f"{replica}: {seen.detail}" if replica else seen.detail
            self.report(Event(service.name, RunEvent.OBSERVED, detail, time.time(), service.phase))

        return observed

    def log_tail(self, service: PlannedService, lines: int) -> str:
        info = self.containers.get(service.name)
        return self.engine.logs(info.id, lines) if info else ""


def healthy_without_healthcheck(service: PlannedService, info: ContainerInfo) -> str | None:
    """Compose refuses to wait for ``service_healthy`` on a container with no healthcheck
    ("has no healthcheck configured"). So does bootstrap where it has no health signal of its
    own either ("running" is not healthy); where it has one (SQL on a database, the MCP
    handshake), that is the health it waits for, and `validate` warns that compose would
    refuse the file (docs/compose-differences.md)."""
    if not service.healthy_for or effective_healthcheck(service, info) is not None:
        return None
    if rests_on(service.probe.kind) is not Rests.LIFE:
        return None
    who = ", ".join(service.healthy_for)
    return (
        f"{who} depends on {service.name} with condition: service_healthy, but "
        f"{service.name} has no healthcheck (compose refuses this too); fix: give "
        f"{service.name} a healthcheck, or make the condition service_started"
    )


class Creation:
    """Compose creates networks, volumes, images and containers; a changed config hash
    recreates, as ``docker compose up`` does. Nothing is asked of compose when every
    container already matches its config hash and image (the no-op re-run). When every image
    is here, the first phase is created at once and the rest in the background while the
    first phase comes up."""

    def __init__(
        self,
        workspace: Workspace,
        compose: ComposeCLI,
        engine: Engine,
        hashes: Later[dict[str, str]] | None = None,
        creating: Creating = AS_IS,
    ) -> None:
        self.workspace = workspace
        self.compose = compose
        self.engine = engine
        self.hashes = hashes
        self.flags = creating.compose_flags()
        # compose decides what --build and --force-recreate change: never "nothing to do"
        self.always_create = creating.build or creating.force_recreate
        self.targets = creating.targets
        self.first: set[str] = set()
        # services compose itself starts that have no container yet, no other service needs
        # and no other shares a phase with: left out of the create step, their start
        # (`up --detach`) creates them too (one compose process, not two)
        self.deferred: frozenset[str] = frozenset()
        self.unchanged = False  # every container matched its configuration: none created
        self._background: threading.Thread | None = None
        self._failure: BaseException | None = None

    def _unchanged(self, containers: dict[str, ContainerInfo]) -> bool:
        if self.always_create:
            return False
        order = self.workspace.plan.order()
        if any(name not in containers for name in order):
            return False
        if self.hashes is not None:
            hashes = self.hashes.result()
        else:
            hashes = self.compose.config_hashes(self.workspace.compose)
        image_ids: dict[str, str | None] = {}
        for name in order:
            info, image = containers[name], self.workspace.plan.services[name].service.image
            if hashes.get(name) != info.config_hash:
                return False
            if image and image not in image_ids:
                image_ids[image] = self.engine.image_id(image)
            if image and image_ids[image] != info.image_id:
                return False
        return True

    def _missing_images(self) -> list[str]:
        return sorted(
            {
                s.service.image or s.name
                for s in self.workspace.plan.services.values()
                if s.service.image and not self.engine.image_exists(s.service.image)
            }
        )

    def start(self) -> str:
        """Create what the first phase needs; returns what was done, for the record."""
        project, order = self.workspace.compose, self.workspace.plan.order()
        existing = self.engine.project_containers(project.name, inspect=False)
        if self._unchanged(existing):
            self.first, self.unchanged = set(order), True
            return "every container matches its configuration: nothing to create"
        missing = self._missing_images()
        builds = any(s.service.build for s in self.workspace.plan.services.values())
        # pulls, builds and what --build/--force-recreate ask can fail: all before any start
        if missing or builds or self.always_create:
            self._create_all(missing)
            self.first = set(order)
            return "created all containers"
        services = self.workspace.plan.services
        # Never one another service needs (a `network_mode`/`volumes_from` of it takes its
        # container at create time), and only alone in its phase: what compose refuses at
        # create time (a secret from an unset variable) then fails it before anything of its
        # phase starts, as the create step would.
        needed = {d.name for s in services.values() for d in s.service.depends_on}
        self.deferred = frozenset(
            p.services[0]
            for p in self.workspace.plan.phases
            if len(p.services) == 1
            and services[p.services[0]].service.started_by_compose
            and p.services[0] not in existing
            and p.services[0] not in needed
        )
        phases = [
            [n for n in p.services if n not in self.deferred] for p in self.workspace.plan.phases
        ]
        phases = [p for p in phases if p] or [[]]
        first, rest = phases[0], [n for p in phases[1:] for n in p]
        # the phase's own services (what they need is in it or before it, created already)
        alone = not self.compose.seen_version or self.compose.seen_version >= NO_DEPS_RESOLVES
        if first:
            self.compose.create(project, first, no_deps=alone, flags=self.flags)
        self.first = set(first)
        if rest:

            def create_rest() -> None:
                try:
                    self.compose.create(project, rest, no_deps=alone, flags=self.flags)
                except BaseException as exc:  # handed to whoever needs those containers
                    self._failure = exc

            self._background = threading.Thread(target=create_rest, daemon=True)
            self._background.start()
        later = f"; {len(self.deferred)} at their start, by compose" if self.deferred else ""
        return f"created {len(first)} containers; {len(rest)} more in the background{later}"

    def _create_all(self, missing: list[str]) -> None:
        try:
            order = self.workspace.plan.order()
            named = list(self.targets) or order
            # compose creates what the named services need, with its own recreate rule
            alone = set(named) == set(order)
            self.compose.create(self.workspace.compose, named, no_deps=alone, flags=self.flags)
        except EngineError as exc:
            if missing:
                raise EngineError(
                    f"image {', '.join(missing)} is not on this machine and could not be "
                    f"pulled: {exc.message}",
                    location="images",
                    hint="build or load the image (docker build / docker load), or fix its name",
                ) from None
            raise

    def wait(self) -> None:
        """Block until the background creation is done; re-raise what it raised."""
        if self._background is not None:
            self._background.join()
            self._background = None
        if self._failure is not None:
            raise self._failure


def join_stack_network(workspace: Workspace, engine: Engine) -> str | None:
    """Attach the container bootstrap runs in (a dev container) to the stack's network, so
    probes reach services by name. Returns the network joined, or None when not applicable."""
    network = workspace.stack.networks.get(workspace.settings.network)
    if network is None or not in_container():
        return None
    try:
        own = engine.container(socket.gethostname())
    except EngineError:  # not a container of this engine (a VM, or another engine)
        return None
    if network.name in own.addresses:
        return network.name
    engine.connect_network(network.name, own.id)
    return network.name


def hashes_in_background(workspace: Workspace, compose: ComposeCLI) -> Later[dict[str, str]]:
    """Start asking compose for its config hashes now; the answer is needed only later, to
    tell a no-op re-run, and the question is the slowest part of one."""
    return Later(lambda: compose.config_hashes(workspace.compose))


def bring_up(
    workspace: Workspace,
    engine: Engine,
    compose: ComposeCLI,
    reporter: Reporter,
    *,
    timeout: float | None = None,
    join_network: bool = False,
    hashes: Later[dict[str, str]] | None = None,
    cancel: threading.Event | None = None,
    creating: Creating = AS_IS,
) -> Outcome:
    """Create what is missing, then start and probe phase by phase. Returns the outcome.

    ``cancel`` (set from a signal handler, which only sets it) stops new starts and probes;
    the outcome then says ``cancelled``. Nothing is raised into the threads."""
    began = time.monotonic()
    cancel = cancel or threading.Event()
    creation = Creation(workspace, compose, engine, hashes, creating)
    created = creation.start()
    reporter(Event("", RunEvent.NOTE, created, time.time()))
    if join_network:
        joined = join_stack_network(workspace, engine)
        if joined:
            reporter(Event("", RunEvent.NOTE, f"joined network {joined}", time.time()))
    project = workspace.compose.name
    watch = ContainerWatch()
    stop = threading.Event()
    watch.follow(
        engine,
        project,
        stop,
        on_broken=lambda why: reporter(Event("", RunEvent.NOTE, why, time.time())),
    )
    containers = engine.project_containers(project, inspect=False)
    # Each container's state is seeded from a full inspect when its probe begins.
    driver = DockerDriver(
        workspace,
        engine,
        watch,
        containers,
        timeout if timeout is not None else workspace.settings.probe_timeout,
        on_network=in_container(),
        creation=creation,
        compose=compose,
        helper=ProbeHelper(engine, workspace.settings.helper_image, project),
        report=reporter,
        gates=GateNotes(workspace.directory, project),
    )
    scheduler = Scheduler(workspace.plan, driver, reporter, began=began, cancel=cancel)
    early = ThreadPoolExecutor(max_workers=4, thread_name_prefix="bootstrap-early")
    try:
        if creation.unchanged:
            driver.ask_early(early)
        return scheduler.run()
    finally:
        early.shutdown(wait=True, cancel_futures=True)
        stop.set()
        if driver.helper is not None:
            driver.helper.close()
