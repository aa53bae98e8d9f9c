"""The Swarm side of the engine: services, tasks and the probe helper, through the Docker SDK.

Containers of a stack's tasks are read as a project's (``com.docker.stack.namespace``), so
status and doctor work as on compose for the tasks on this node."""

from __future__ import annotations

import contextlib
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

from bootstrap.backends.compose.engine import HELPER_LABEL, PROJECT_LABEL, STACK_LABEL, DockerEngine
from bootstrap.errors import EngineError, NoSuchObject
from bootstrap.runtime import ContainerInfo

FAILED_STATES = ("failed", "rejected")


@dataclass(frozen=True)
class TaskInfo:
    id: str
    state: str  # new ... preparing, starting, running, complete, failed, rejected, shutdown
    desired: str
    error: str
    node: str
    container_id: str
    exit_code: int | None
    timestamp: str


class SwarmEngine(DockerEngine):
    project_label = STACK_LABEL

    def project_containers(self, project: str, *, inspect: bool = True) -> dict[str, ContainerInfo]:
        """A running task's container per service, where this node has one."""
        by_service: dict[str, ContainerInfo] = {}
        for info in self.containers(project, inspect=inspect):
            known = by_service.get(info.service)
            if known is None or (known.state != "running" and info.state == "running"):
                by_service[info.service] = info
        return by_service

    def swarm_active(self) -> bool:
        info = self._call(self._api.info)
        return str((info.get("Swarm") or {}).get("LocalNodeState")) == "active"

    def stack_services(self, stack: str) -> dict[str, str]:
        """service name (as in the compose file) -> Swarm service id."""
        listed = self._call(self._api.services, filters={"label": f"{STACK_LABEL}={stack}"})
        return {str(s["Spec"]["Name"]).removeprefix(f"{stack}_"): str(s["ID"]) for s in listed}

    def replicas(self, service: str) -> int | None:
        """Replicas the service asks for; None for a global service (one per node)."""
        spec = self._call(self._api.inspect_service, service)["Spec"]
        mode = spec.get("Mode") or {}
        if "Replicated" in mode:
            return int(mode["Replicated"].get("Replicas", 1))
        if "ReplicatedJob" in mode:
            return int(mode["ReplicatedJob"].get("TotalCompletions") or 1)
        return None

    def tasks(self, service: str) -> list[TaskInfo]:
        listed = self._call(self._api.tasks, filters={"service": service})
        tasks = []
        for task in listed:
            status = task.get("Status") or {}
            container = status.get("ContainerStatus") or {}
            tasks.append(
                TaskInfo(
                    id=str(task.get("ID", "")),
                    state=str(status.get("State", "")),
                    desired=str(task.get("DesiredState", "")),
                    error=str(status.get("Err") or status.get("Message") or ""),
                    node=str(task.get("NodeID", "")),
                    container_id=str(container.get("ContainerID") or ""),
                    exit_code=container.get("ExitCode"),
                    timestamp=str(status.get("Timestamp", "")),
                )
            )
        return tasks

    def remove_service(self, service: str) -> None:
        with contextlib.suppress(NoSuchObject):
            self._call(self._api.remove_service, service)

    def stack_networks(self, stack: str) -> list[str]:
        listed = self._call(self._api.networks, filters={"label": f"{STACK_LABEL}={stack}"})
        return [str(n["Name"]) for n in listed]

    def remove_network(self, name: str) -> None:
        with contextlib.suppress(EngineError):
            self._call(self._api.remove_network, name)

    def service_logs(self, service: str, tail: int) -> str:
        try:
            output = self._call(
                self._api.service_logs, service, stdout=True, stderr=True, tail=tail
            )
        except EngineError:
            return ""
        return b"".join(output).decode("utf-8", "replace")

    # --- the probe helper -------------------------------------------------------------------

    def start_probe_helper(self, image: str, network: str, stack: str, package: Path) -> str:
        """A helper on the stack's (attachable) overlay network, with this package copied in,
        so it can probe every replica by its address there."""
        created = self._call(
            self._api.create_container,
            image,
            command=["sleep", "infinity"],
            environment={"PYTHONPATH": "/opt/bootstrap-probe", "PYTHONDONTWRITEBYTECODE": "1"},
            host_config=self._api.create_host_config(network_mode=network),
            labels={HELPER_LABEL: "1", PROJECT_LABEL + ".helper-of": stack},
        )
        helper = str(created["Id"])
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            archive.add(
                str(package),
                arcname="opt/bootstrap-probe/bootstrap",
                filter=lambda info: None if "__pycache__" in info.name else info,
            )
        self._call(self._api.put_archive, helper, "/", buffer.getvalue())
        self._call(self._api.start, helper)
        return helper

    def remove_container(self, container_id: str) -> None:
        with contextlib.suppress(Exception):
            self._api.remove_container(container_id, force=True, v=True)
