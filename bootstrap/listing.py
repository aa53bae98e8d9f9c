"""``ps``: the project's containers as ``docker compose ps`` lists them (its running service
containers; with ``--all`` every one, ``run``'s one-offs too; never a helper of bootstrap's),
each with the phase its last ``up`` started it in. One question to the engine; no compose
process where the project's name is plain to read, no probe, nothing run in a container
(``status`` asks the probes). Reads the workspace's files; writes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bootstrap.errors import BootstrapError
from bootstrap.identity import implicit_project_name, normalize, valid
from bootstrap.outline import Leaf, Map, outline
from bootstrap.runtime import ContainerInfo, Engine, State

if TYPE_CHECKING:
    from bootstrap.workspace import Prepared

ONE_OFF = "com.docker.compose.oneoff"
UNKNOWN_PHASE = "-"


@dataclass(frozen=True)
class Listed:
    service: str
    container: str
    id: str
    phase: str  # the phase of the last recorded `up`, or "-" where no record names it
    state: str
    health: str | None
    ports: dict[int, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "container": self.container,
            "id": self.id,
            "phase": self.phase,
            "state": self.state,
            "health": self.health,
            "ports": {str(k): v for k, v in self.ports.items()},
        }


def project_name(ready: Prepared) -> str | None:
    """The project's name as compose would choose it, read without compose: the name given
    (``-p``, ``COMPOSE_PROJECT_NAME``, bootstrap.toml), else the files' ``name:`` (the last file
    that sets one), else the folder's. None where only compose can tell (an interpolated or
    invalid ``name:``, a file the outline does not read): the caller asks compose then."""
    if ready.named is not None:
        return ready.named.name
    declared = _declared_name(ready)
    if declared is None or (declared and not valid(declared)):
        return None  # compose's to read, or to refuse (with its message)
    inner = ready.project.project_directory.resolve()
    try:
        return implicit_project_name(
            declared or normalize(inner.name),
            ready.directory.name,
            inner.name if inner != ready.directory else "",
        ).name
    except BootstrapError:
        return None


def _declared_name(ready: Prepared) -> str | None:
    """The last ``name:`` the files set as plain text ("" where none sets one), or None."""
    declared = ""
    for file in ready.project.files:
        try:
            tree = outline((ready.directory / file).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            return None
        if not isinstance(tree, Map):
            return None
        for key, _line, node in tree.pairs:
            if key == "name":
                if not isinstance(node, Leaf) or node.text is None or "$" in node.text:
                    return None
                declared = node.text
    return declared


def recorded_phases(workspace_directory: Path, project: str) -> dict[str, str]:
    """Each service's phase in the project's last run record; empty without one (a record
    that cannot be read names no phase: ``trace`` says what is wrong with it)."""
    from bootstrap.runrecord import list_records, load_record, runs_folder

    records = list_records(runs_folder(workspace_directory), project)
    if not records:
        return {}
    try:
        record = load_record(records[-1])
    except BootstrapError:
        return {}
    return {
        str(service): str(phase["name"])
        for phase in record["phases"]
        for service in phase["services"]
    }


def list_containers(
    engine: Engine, project: str, workspace_directory: Path, *, everything: bool = False
) -> list[Listed]:
    """The project's containers by name, as compose sorts them: its running service containers
    (no one-off of ``run``), or every one."""
    phases = recorded_phases(workspace_directory, project)
    listed = [
        info
        for info in engine.containers(project, inspect=False)
        if everything or (info.state == State.RUNNING and info.labels.get(ONE_OFF) != "True")
    ]
    return [_row(info, phases) for info in sorted(listed, key=lambda c: c.name)]


def _row(info: ContainerInfo, phases: dict[str, str]) -> Listed:
    return Listed(
        info.service,
        info.name,
        info.id,
        phases.get(info.service, UNKNOWN_PHASE),
        info.state,
        info.health,
        dict(info.ports),
    )
