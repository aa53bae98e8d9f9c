"""The verbs: ``up``, ``down`` and ``supervise`` as library calls.

The click layer parses, calls one of these and renders what they emit; a test, the feature's
hook or another tool calls the same functions without click. Each takes the loaded
``Workspace`` and the chosen ``Backend`` and reports through callbacks: the scheduler's
``Event``s (``reporter``), supervision ``Action``s (``shown``), a probe's observations, and
plain notices (``say``: a cache volume made, a lock waited for). They never print and never
exit; failures are typed errors (``bootstrap.errors``) or the ``Outcome`` ``up`` returns.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bootstrap.backends import AS_IS, Backend, Creating
from bootstrap.errors import BootstrapError
from bootstrap.paths import state_dir, state_home

if TYPE_CHECKING:
    from bootstrap.discovery.client import SupervisionPoster
    from bootstrap.lock import ProjectLock
    from bootstrap.otel import ActionSpans
    from bootstrap.runrecord import Recorder
    from bootstrap.runtime import Operator
    from bootstrap.scheduler import Event, Outcome, Reporter
    from bootstrap.supervise import Action
    from bootstrap.workspace import Workspace

Say = Callable[[str], None]
Redact = Callable[[str], str]


def _never() -> bool:
    return False


def _unmasked(text: str) -> str:
    return text


# --- the project's lock -------------------------------------------------------------------


def project_lock(
    directory: Path,
    project: str,
    *,
    wait: bool,
    say: Say,
    cancelled: Callable[[], bool] = _never,
) -> ProjectLock:
    """The project's lock: in the workspace's .bootstrap/, or, where the workspace is not
    writable (a read-only or foreign-owned mount), in the user's state directory."""
    from bootstrap.lock import ProjectLock

    workspace = directory.resolve()
    folder = state_dir(workspace)
    writable = folder if folder.is_dir() else workspace
    if not os.access(writable, os.W_OK):
        import hashlib  # here: OpenSSL's load, 2-2.5 ms, only for a workspace not writable

        digest = hashlib.sha256(str(workspace).encode()).hexdigest()[:12]
        folder = state_home() / "locks" / digest
    return ProjectLock(
        folder / f"{project}.lock",
        wait=600.0 if wait else 0.0,
        on_wait=lambda holder: say(f"waiting for the project lock held by {holder}"),
        on_stale=lambda holder: say(
            f"the project lock was left by {holder}, which is no longer running: taking it over"
        ),
        cancelled=cancelled,
    )


@contextlib.contextmanager
def holding(
    directory: Path,
    project: str,
    engine: Operator,
    *,
    wait: bool,
    say: Say,
    cancelled: Callable[[], bool] = _never,
) -> Iterator[None]:
    """The project's lock; once held, the helper containers a killed run left are removed
    (none can be in use: their owner held this lock)."""
    with project_lock(directory, project, wait=wait, say=say, cancelled=cancelled):
        left = engine.remove_helpers(project)
        if left:
            say(f"removed {len(left)} helper container(s) a killed run left behind")
        yield


# --- up -----------------------------------------------------------------------------------


def before_start(workspace: Workspace, backend: Backend, say: Say) -> None:
    """The package caches (one engine's volumes; a swarm's nodes make their own), and the
    model for the stack's own supervisor."""
    from bootstrap.backends import Capability
    from bootstrap.caches import ensure_cache_volumes

    if backend.supports(Capability.CACHE):
        caches = ensure_cache_volumes(backend.engine, workspace.settings, workspace.compose.name)
        made = [c.name for c in caches if c.created]
        if made:
            say(f"created cache volumes {', '.join(made)} (owner {caches[0].owner})")
    leave_model_for_supervisor(workspace, backend, say)


def leave_model_for_supervisor(workspace: Workspace, backend: Backend, say: Say) -> None:
    """Where an active service is the stack's own supervisor (``bootstrap.role:
    supervisor``), leave it compose's model of this run (it has no compose to ask)."""
    from bootstrap.classify import ROLE_LABEL
    from bootstrap.frozen import SUPERVISOR_ROLE, freeze

    stack = workspace.stack
    document = backend.loader.last_document
    if document is None or not any(
        s.label(ROLE_LABEL) == SUPERVISOR_ROLE and stack.is_active(s)
        for s in stack.services.values()
    ):
        return
    try:
        freeze(
            workspace.directory,
            workspace.compose.name,
            workspace.compose.profiles,
            workspace.compose.files,
            document,
        )
    except OSError as exc:
        say(f"the stack's supervisor gets no model: {exc}")


def up(
    workspace: Workspace,
    backend: Backend,
    reporter: Reporter,
    *,
    cancel: threading.Event,
    say: Say,
    timeout: float | None = None,
    join_network: bool = False,
    creating: Creating = AS_IS,
    wait_lock: bool = True,
    redact: Redact = _unmasked,
) -> Outcome:
    """Bring the workspace up in order: the project's lock, the caches, the supervisor's
    model, then the backend's phased bring-up (each service gated on its probe, every event
    to ``reporter``); the run's record kept in .bootstrap/runs/. ``cancel`` (set from a signal
    handler, or a deadline) stops new starts and probes; the outcome then says so.

    The workspace must be loaded for ``up`` (``materialise``d: its generated secrets written)
    and validated; this does not validate again."""
    from bootstrap.runrecord import Recorder

    with holding(
        workspace.directory,
        workspace.compose.name,
        backend.engine,
        wait=wait_lock,
        say=say,
        cancelled=cancel.is_set,
    ):
        before_start(workspace, backend, say)
        recorder = Recorder(reporter)
        began_wall = time.time()
        outcome = backend.up(
            workspace,
            recorder,
            timeout=timeout,
            join_network=join_network,
            cancel=cancel,
            creating=creating,
        )
        keep_record(workspace, backend, outcome, recorder, began_wall, redact, say)
    return outcome


def keep_record(
    workspace: Workspace,
    backend: Backend,
    outcome: Outcome,
    recorder: Recorder,
    began_wall: float,
    redact: Redact,
    say: Say,
) -> None:
    """The run's record into .bootstrap/runs/ (``bootstrap trace`` reads it), and to
    OpenTelemetry where an endpoint is set. A record that cannot be written (a read-only
    workspace) is said, never fatal."""
    from bootstrap.envlayers import redact_document
    from bootstrap.runrecord import build_record, runs_folder, save_record

    try:
        versions = {**backend.engine.version(), **backend.versions_seen()}
        record = build_record(
            project=workspace.compose.name,
            outcome=outcome,
            events=recorder.seen,
            began_wall=began_wall,
            containers=backend.engine.project_containers(workspace.compose.name, inspect=False),
            versions=versions,
            redact=redact,
        )
        masked: dict[str, Any] = redact_document(record, redact)  # type: ignore[assignment]
        save_record(runs_folder(workspace.directory), masked)
    except (OSError, BootstrapError) as exc:
        say(f"the run's record was not kept: {exc}")
        return
    from bootstrap import otel

    if otel.wanted(os.environ):
        missing = otel.sdk_missing()
        if missing is not None:
            say(missing)
            return
        try:
            otel.export_run(masked)
        except Exception as exc:  # a receiver's failure is never the run's
            say(f"OpenTelemetry export failed: {exc}")


@contextlib.contextmanager
def run_deadline(seconds: float | None, cancel: threading.Event) -> Iterator[threading.Event]:
    """``--wait-timeout``: after ``seconds`` the run winds down as on Ctrl-C; the event says
    the time ran out (and not a signal)."""
    expired = threading.Event()
    if seconds is None:
        yield expired
        return

    def run_out() -> None:
        expired.set()
        cancel.set()

    timer = threading.Timer(seconds, run_out)
    timer.daemon = True
    timer.start()
    try:
        yield expired
    finally:
        timer.cancel()


# --- down ---------------------------------------------------------------------------------


def down(
    workspace: Workspace,
    backend: Backend,
    *,
    say: Say,
    stopping: Callable[[], bool] = _never,
    volumes: bool = False,
    wait_lock: bool = True,
) -> list[str]:
    """Stop and remove the project's containers and networks, monitoring first, databases
    last, holding the project's lock; volumes stay unless ``volumes``. The services stopped."""
    with holding(
        workspace.directory,
        workspace.compose.name,
        backend.engine,
        wait=wait_lock,
        say=say,
        cancelled=stopping,
    ):
        return backend.down(workspace, say, stopping, volumes=volumes)


# --- supervise ----------------------------------------------------------------------------


def action_spans(project: str, say: Say) -> ActionSpans | None:
    """Where OpenTelemetry's endpoint is set, every action is also a span."""
    from bootstrap import otel

    if not otel.wanted(os.environ):
        return None
    missing = otel.sdk_missing()
    if missing is not None:
        say(missing)
        return None
    try:
        return otel.ActionSpans(project)
    except (ImportError, ValueError, OSError) as exc:  # no SDK, or bad settings: said
        say(f"OpenTelemetry export is off: {exc}")
        return None


def discovery_poster(workspace: Workspace, backend: Backend) -> SupervisionPoster:
    """Every action also goes to the stack's discovery service, where it runs (its dashboard,
    WebSocket and the Prometheus counter ``bootstrap_supervision_actions_total``)."""
    from bootstrap.discovery import DISCOVERY_TOKEN
    from bootstrap.discovery.client import SupervisionPoster, discovery_base
    from bootstrap.reach import in_container

    def find() -> str | None:
        containers = backend.engine.project_containers(workspace.compose.name, inspect=False)
        return discovery_base(workspace, containers, in_container())

    return SupervisionPoster(find, workspace.environment.get(DISCOVERY_TOKEN))


def supervise(
    workspace: Workspace,
    backend: Backend,
    stop: threading.Event,
    *,
    shown: Callable[[Action], None],
    observed: Callable[[Event], None],
    say: Say,
    wait: float = 600.0,
    converge_first: bool = True,
    in_stack: bool = False,
) -> None:
    """Keep the order after ``up`` until ``stop``: every action is logged in the workspace
    (``.bootstrap/supervision.jsonl``), shown (``shown``), posted to the discovery service and
    exported as a span where those are there; ``observed`` hears what a probe it waits on sees.
    Each restart holds the project's lock."""
    from bootstrap.supervise import Supervisor, keep
    from bootstrap.supervisorfiles import announced, supervision_log

    project = workspace.compose.name
    logged = keep(supervision_log(workspace.directory), project)
    spans = action_spans(project, say)
    posted = discovery_poster(workspace, backend)

    def report(action: Action) -> None:
        logged(action)
        shown(action)
        posted(action.as_dict())
        if spans is not None:
            spans(action.as_dict())

    probing = backend.supervision(workspace, observed, in_stack=in_stack)
    supervisor = Supervisor(
        workspace,
        backend.supervision_events(workspace),
        probing,
        report,
        wait=wait,
        acting=lambda: project_lock(workspace.directory, project, wait=True, say=say),
    )
    try:
        with announced(workspace.directory, project, in_stack=in_stack):
            worker = threading.Thread(
                target=supervisor.run,
                args=(stop,),
                kwargs={"converge_first": converge_first},
                daemon=True,
                name="bootstrap-supervise",
            )
            worker.start()
            while worker.is_alive() and not stop.is_set():
                worker.join(0.2)
            supervisor.stop.set()
            worker.join(5.0)
    finally:
        probing.close()
        posted.close()
        if spans is not None:
            spans.close()


def supervise_in_stack(
    directory: Path,
    backend: Backend,
    stop: threading.Event,
    *,
    files: Sequence[str],
    on_model: Callable[[Workspace], None],
    shown: Callable[[Action], None],
    observed: Callable[[Event], None],
    say: Say,
    wait: float = 600.0,
) -> None:
    """As a service of the stack, until ``stop``: plan from the model the last ``up`` left
    (no compose in the container), converge at start (after a reboot everything started at
    once), and start over from a new model when an ``up`` writes one. ``on_model`` hears each
    workspace loaded from it."""
    from bootstrap.frozen import FrozenModel, frozen_path, stamp_of, thaw
    from bootstrap.workspace import load_workspace

    path = frozen_path(directory.resolve())
    while not path.exists() and not stop.wait(1.0):
        pass  # the first `up` writes it before it starts anything
    while not stop.is_set():
        frozen = thaw(path)
        workspace = load_workspace(
            directory,
            files=frozen.files or files,
            profiles=frozen.profiles,
            project=frozen.project,
            loader=FrozenModel(frozen),
        )
        on_model(workspace)
        reload = threading.Event()

        def notice(stamp: int = frozen.stamp, reload: threading.Event = reload) -> None:
            while not reload.wait(1.0):
                if stop.is_set() or stamp_of(path) != stamp:
                    reload.set()

        threading.Thread(target=notice, daemon=True, name="bootstrap-model").start()
        supervise(
            workspace,
            backend,
            reload,
            shown=shown,
            observed=observed,
            say=say,
            wait=wait,
            converge_first=True,
            in_stack=True,
        )
        reload.set()
