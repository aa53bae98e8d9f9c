"""The Swarm side of the engine: services, tasks and the probe helper, through the Docker SDK.

Containers of a stack's tasks are read as a project's (``com.docker.stack.namespace``), so
status and doctor work as on compose for the tasks on this node."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from bootstrap.backends.compose.engine import STACK_LABEL, DockerEngine
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
