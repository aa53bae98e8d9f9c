"""Swarm's side of the engine: services, tasks and networks, through the shared Docker
plumbing. The containers of this node's tasks are read as a project's with Swarm's vocabulary
(``com.docker.stack.namespace``), so status and doctor work as on compose for them."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from bootstrap.backends.docker import DockerEngine
from bootstrap.backends.swarm.labels import STACK_LABEL
from bootstrap.errors import EngineError, NoSuchObject


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
    slot: int | None = None  # a replicated service's replica number (None: global)


@dataclass(frozen=True)
class NodeInfo:
    id: str
    hostname: str
    state: str  # ready, down, unknown, disconnected
    availability: str  # active, pause, drain
    manager: bool


class SwarmServices:
    """Swarm's own API: the stack's services, tasks and networks, through the shared Docker
    plumbing (its calls and error mapping). The containers of this node's tasks are the
    engine's (``DockerEngine`` with Swarm's vocabulary)."""

    def __init__(self, docker: DockerEngine) -> None:
        self.docker = docker

    def swarm_active(self) -> bool:
        info = self.docker.call(self.docker.api.info)
        return str((info.get("Swarm") or {}).get("LocalNodeState")) == "active"

    def stack_services(self, stack: str) -> dict[str, str]:
        """service name (as in the compose file) -> Swarm service id."""
        listed = self.docker.call(
            self.docker.api.services, filters={"label": f"{STACK_LABEL}={stack}"}
        )
        return {str(s["Spec"]["Name"]).removeprefix(f"{stack}_"): str(s["ID"]) for s in listed}

    def replicas(self, service: str) -> int | None:
        """Replicas the service asks for; None for a global service (one per node)."""
        spec = self.docker.call(self.docker.api.inspect_service, service)["Spec"]
        mode = spec.get("Mode") or {}
        if "Replicated" in mode:
            return int(mode["Replicated"].get("Replicas", 1))
        if "ReplicatedJob" in mode:
            return int(mode["ReplicatedJob"].get("TotalCompletions") or 1)
        return None

    def tasks(self, service: str) -> list[TaskInfo]:
        listed = self.docker.call(self.docker.api.tasks, filters={"service": service})
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
                    slot=int(task["Slot"]) if task.get("Slot") else None,
                )
            )
        return tasks

    def nodes(self) -> list[NodeInfo]:
        """The swarm's nodes, as the manager sees them now."""
        listed = self.docker.call(self.docker.api.nodes)
        return [
            NodeInfo(
                id=str(node.get("ID", "")),
                hostname=str((node.get("Description") or {}).get("Hostname", "")),
                state=str((node.get("Status") or {}).get("State", "unknown")),
                availability=str((node.get("Spec") or {}).get("Availability", "")),
                manager=bool(node.get("ManagerStatus")),
            )
            for node in listed
        ]

    def check_images(self, images: dict[str, str]) -> None:
        """Every service's image is in its registry (the manager asks it, as ``stack deploy
        --resolve-image always`` will): one missing is an error naming each, before anything
        is deployed. An image the manager has locally is taken as there (a node without it
        fails its task, said at once)."""
        missing = {}
        for service, image in sorted(images.items()):
            try:
                self.docker.call(self.docker.api.inspect_distribution, image)
            except EngineError as exc:
                if self.docker.image_exists(image):
                    continue
                missing[service] = (image, exc.message.splitlines()[0][:160])
        if missing:
            listed = "; ".join(f"{s}: {i} ({why})" for s, (i, why) in missing.items())
            raise EngineError(
                f"images the swarm cannot pull: {listed}",
                location="services." + next(iter(missing)) + ".image",
                hint="push them to their registry (`docker push IMAGE`), or set "
                'swarm_resolve_image = "never" where every node has them already',
            )

    def push(self, local: str, target: str) -> None:
        """Tag ``local`` as ``target`` and push it (from the engine that built it)."""
        repository, _colon, tag = target.rpartition(":")
        if "/" in tag:  # a registry port, no tag
            repository, tag = target, "latest"
        self.docker.call(self.docker.api.tag, local, repository, tag)
        said = self.docker.call(self.docker.api.push, repository, tag=tag, stream=True, decode=True)
        for line in said:
            if isinstance(line, dict) and line.get("error"):
                raise EngineError(
                    f"pushing {target} failed: {line['error']}",
                    location="swarm_registry",
                    hint="check that the registry is up and that this engine may push to it "
                    "(`docker login`, or --insecure-registry for plain HTTP)",
                )

    def scale(self, service: str, replicas: int) -> None:
        """A replicated service's replicas, through the services API: the rest of its spec
        (the stack deploy's conversion, the stack's labels) as the manager has it."""
        from docker.types import ServiceMode

        current = self.docker.call(self.docker.api.inspect_service, service)
        spec = current.get("Spec") or {}
        if ((spec.get("Mode") or {}).get("Replicated") or {}).get("Replicas") == replicas:
            return
        # The spec exactly as stored, not the SDK's fetch_current_spec: that one asks for the
        # engine's defaults filled in (restart policy, grace period...), a spec the next
        # `docker stack deploy` of the same file differs from, so Swarm would replace every
        # task of the service for nothing (seen: PostgreSQL restarted by the next deploy).
        self.docker.call(
            self.docker.api.update_service,
            service,
            current["Version"]["Index"],
            task_template=spec.get("TaskTemplate"),
            name=spec.get("Name"),
            labels=spec.get("Labels"),
            mode=ServiceMode("replicated", replicas=replicas),
            update_config=spec.get("UpdateConfig"),
            rollback_config=spec.get("RollbackConfig"),
            endpoint_spec=spec.get("EndpointSpec"),
        )

    def remove_service(self, service: str) -> None:
        with contextlib.suppress(NoSuchObject):
            self.docker.call(self.docker.api.remove_service, service)

    def stack_networks(self, stack: str) -> list[str]:
        listed = self.docker.call(
            self.docker.api.networks, filters={"label": f"{STACK_LABEL}={stack}"}
        )
        return [str(n["Name"]) for n in listed]

    def remove_network(self, name: str) -> None:
        with contextlib.suppress(EngineError):
            self.docker.call(self.docker.api.remove_network, name)

    def service_logs(self, service: str, tail: int) -> str:
        try:
            output = self.docker.call(
                self.docker.api.service_logs, service, stdout=True, stderr=True, tail=tail
            )
        except EngineError:
            return ""
        return b"".join(output).decode("utf-8", "replace")
