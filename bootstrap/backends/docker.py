"""The Docker plumbing both backends share: the Docker SDK adapter that answers
``runtime.Engine``. Which labels name a container's project and service is the backend's
vocabulary (``Vocabulary``: compose's in ``backends/compose/labels.py``, Swarm's in
``backends/swarm/labels.py``); callers see ``ContainerInfo.service`` / ``.project``. The SDK's
errors are mapped here, once (``call``).
"""

from __future__ import annotations

import contextlib
import io
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, TypeVar

from bootstrap.errors import EngineError, EngineGone, NoSuchObject
from bootstrap.runtime import (
    ContainerInfo,
    EngineEvent,
    ExecResult,
    ImageConfig,
    ResourceSample,
    State,
    VolumeInfo,
    tcp_ports,
)

HELPER_LABEL = "io.bootstrap.helper"  # bootstrap's own helper containers
HELPER_OF = "com.docker.compose.project.helper-of"  # whose helper it is (kept: older runs')
CACHE_LABEL = "io.bootstrap.cache"
CACHE_ID_LABEL = "io.bootstrap.cache-id"
T = TypeVar("T")

if TYPE_CHECKING:
    from bootstrap.later import Later


@dataclass(frozen=True)
class Vocabulary:
    """A backend's labels: which one selects a project's containers, how a container's
    (project, service) is read, which one holds compose's config hash."""

    project_label: str
    identity: Callable[[Mapping[str, str]], tuple[str, str]]
    hash_label: str = ""
    service_label: str = ""  # on the events stream: the service of an event's container


def _engine_gone(exc: Exception) -> EngineGone:
    return EngineGone(
        f"the Docker engine went away: {exc}",
        location="docker",
        hint="start the engine again (dockerd, or Docker Desktop); then run the same command: "
        "what was started keeps its state",
    )


def _no_answer(exc: Exception) -> EngineError:
    return EngineError(
        f"the Docker engine did not answer in time: {exc}",
        location="docker",
        hint="the engine is overloaded or stuck: `docker info` shows whether it "
        "answers; restart it if not",
    )


def _sdk_error(exc: Exception) -> EngineError | None:
    """The typed error for one the Docker SDK (or requests under it) raised; None for any
    other exception (a bug: raised as it is)."""
    module = type(exc).__module__
    if not module.startswith(("docker", "requests", "urllib3")):
        return None
    import docker.errors
    import requests

    if isinstance(exc, docker.errors.NotFound):
        return NoSuchObject(str(exc.explanation or exc), location="docker")
    if isinstance(exc, docker.errors.APIError):
        return EngineError(str(exc.explanation or exc), location="docker")
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return _no_answer(exc)
    if isinstance(exc, requests.exceptions.ConnectionError):
        return _engine_gone(exc)
    return None


def _engine_error(exc: Exception) -> EngineError:
    from bootstrap.dockercontext import chosen_engine

    context, host = chosen_engine()
    if context:
        return EngineError(
            f"the engine of Docker context {context!r} ({host}) does not answer: {exc}",
            location="--context",
            hint=f"check that it is up and reachable (`docker --context {context} info`), or "
            "choose another context (`docker context ls`)",
        )
    if host:
        return EngineError(
            f"the Docker engine at DOCKER_HOST={host} does not answer: {exc}",
            location="DOCKER_HOST",
            hint="check that it is up and reachable, or unset DOCKER_HOST for the local engine",
        )
    return EngineError(
        f"the Docker engine does not answer: {exc}",
        location="docker",
        hint="start the engine (dockerd), or check that your user can read /var/run/docker.sock",
    )


DF_PATIENCE = 60.0  # seconds to wait for another disk-usage report to finish


def resource_sample(stats: dict[str, Any]) -> ResourceSample:
    """The engine's stats document, read the way `docker stats` reads it (page cache out of
    the memory figure; CPU as the share of the host's time, in cores)."""
    memory = stats.get("memory_stats") or {}
    detail = memory.get("stats") or {}
    cache = int(detail.get("total_inactive_file") or detail.get("inactive_file") or 0)
    used = max(0, int(memory.get("usage") or 0) - cache)
    cpu, previous = stats.get("cpu_stats") or {}, stats.get("precpu_stats") or {}
    spent = int((cpu.get("cpu_usage") or {}).get("total_usage") or 0) - int(
        (previous.get("cpu_usage") or {}).get("total_usage") or 0
    )
    elapsed = int(cpu.get("system_cpu_usage") or 0) - int(previous.get("system_cpu_usage") or 0)
    online = int(cpu.get("online_cpus") or 0) or len(
        (cpu.get("cpu_usage") or {}).get("percpu_usage") or ()
    )
    cores = spent / elapsed * online if spent > 0 and elapsed > 0 and online else 0.0
    return ResourceSample(
        memory=used,
        memory_peak=int(memory.get("max_usage") or 0),
        memory_limit=int(memory.get("limit") or 0),
        cpu=cores,
        at=time.time(),
    )


def _container_info(attrs: Mapping[str, Any], vocabulary: Vocabulary) -> ContainerInfo:
    config = attrs.get("Config") or {}
    labels = config.get("Labels") or {}
    state = attrs.get("State") or {}
    health = (state.get("Health") or {}).get("Status")
    checks = (state.get("Health") or {}).get("Log") or []
    last_check = checks[-1] if checks else {}
    health_log = (
        f"exit {last_check.get('ExitCode')}: {str(last_check.get('Output') or '').strip()[-200:]}"
        if last_check
        else ""
    )
    ports: dict[int, int] = {}
    for spec, bindings in ((attrs.get("NetworkSettings") or {}).get("Ports") or {}).items():
        for binding in bindings or []:
            if binding.get("HostIp") in ("127.0.0.1", "0.0.0.0", "") and binding.get("HostPort"):  # noqa: S104
                ports.setdefault(int(spec.split("/")[0]), int(binding["HostPort"]))
    networks = (attrs.get("NetworkSettings") or {}).get("Networks") or {}
    project, service = vocabulary.identity(labels)
    return ContainerInfo(
        id=str(attrs.get("Id", "")),
        name=str(attrs.get("Name", "")).lstrip("/"),
        service=service,
        state=str(state.get("Status", "")),
        project=project,
        health=health,
        exit_code=int(state.get("ExitCode") or 0),
        restart_count=int(attrs.get("RestartCount") or 0),
        config_hash=str(labels.get(vocabulary.hash_label, "")) if vocabulary.hash_label else "",
        started_at=str(state.get("StartedAt", "")),
        ports=ports,
        addresses={n: str(v.get("IPAddress") or "") for n, v in networks.items()},
        oom_killed=bool(state.get("OOMKilled")),
        error=str(state.get("Error") or ""),
        labels=dict(labels),
        env=dict(item.split("=", 1) for item in config.get("Env") or [] if "=" in item),
        healthcheck_test=tuple((config.get("Healthcheck") or {}).get("Test") or ()),
        exposed=tcp_ports(config.get("ExposedPorts")),
        memory_limit=int((attrs.get("HostConfig") or {}).get("Memory") or 0),
        image_id=str(attrs.get("Image") or ""),
        created_at=str(attrs.get("Created") or ""),
        image=str(config.get("Image") or ""),
        health_log=health_log.rstrip(": "),
    )


def _summary_info(item: Mapping[str, Any], vocabulary: Vocabulary) -> ContainerInfo:
    """A ContainerInfo from the list endpoint's summary of a container."""
    labels = item.get("Labels") or {}
    status = str(item.get("Status") or "")
    health = None
    for word in ("healthy", "unhealthy", "health: starting"):
        if f"({word})" in status:
            health = word.replace("health: ", "")
    ports = {
        int(p["PrivatePort"]): int(p["PublicPort"])
        for p in item.get("Ports") or []
        if p.get("PublicPort") and p.get("IP") in ("127.0.0.1", "0.0.0.0", "")  # noqa: S104
    }
    networks = (item.get("NetworkSettings") or {}).get("Networks") or {}
    project, service = vocabulary.identity(labels)
    return ContainerInfo(
        id=str(item.get("Id", "")),
        name=str((item.get("Names") or ["?"])[0]).lstrip("/"),
        service=service,
        state=str(item.get("State") or ""),
        project=project,
        health=health,
        config_hash=str(labels.get(vocabulary.hash_label, "")) if vocabulary.hash_label else "",
        ports=ports,
        addresses={n: str(v.get("IPAddress") or "") for n, v in networks.items()},
        labels=dict(labels),
        image_id=str(item.get("ImageID") or ""),
        image=str(item.get("Image") or ""),
        created_at=_rfc3339(item.get("Created")),
    )


def _rfc3339(epoch: object) -> str:
    """The list endpoint's ``Created`` (epoch seconds) in the inspect endpoint's form."""
    if not isinstance(epoch, int | float) or epoch <= 0:
        return ""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class DockerEngine:
    """The Docker SDK implementation. ``docker`` is imported here, not at start-up."""

    def __init__(self, api: Any, vocabulary: Vocabulary) -> None:
        """Over an API client: ``engineapi.SocketAPI`` on a unix socket or the SDK's
        ``APIClient`` (``from_env``), or a fake one that answers with recorded engine JSON in
        unit tests; ``vocabulary``: the backend's labels."""
        self.api = api
        self.vocabulary = vocabulary
        self.project_label = vocabulary.project_label
        self._ahead: dict[str, Later[Any]] = {}  # read_ahead's answers, each taken once

    @classmethod
    def from_env(cls, vocabulary: Vocabulary, timeout: float = 120.0) -> Self:
        """The engine the environment names (DOCKER_HOST, the context), answering now: over
        its unix socket with the standard library where it has one (no TLS), else with the
        Docker SDK."""
        import os

        from bootstrap.backends.engineapi import SocketAPI, socket_path

        path = socket_path(os.environ.get("DOCKER_HOST", ""))
        try:
            if path is not None and not os.environ.get("DOCKER_TLS_VERIFY"):
                return cls(SocketAPI.connect(path, timeout), vocabulary)
            import docker

            client = docker.from_env(timeout=int(timeout))
            client.api.ping()
        except Exception as exc:  # the SDK raises several unrelated types here
            raise _engine_error(exc) from None
        return cls(client.api, vocabulary)

    def call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Every engine call: the clients' errors mapped here, once, to typed ones (the SDK's
        types are looked at only when the SDK raised: importing them costs ~70 ms)."""
        try:
            return fn(*args, **kwargs)
        except (NoSuchObject, EngineError):  # engineapi's, typed already
            raise
        except TimeoutError as exc:
            raise _no_answer(exc) from None
        except (ConnectionError, FileNotFoundError) as exc:
            raise _engine_gone(exc) from None
        except Exception as exc:
            mapped = _sdk_error(exc)
            if mapped is None:
                raise
            raise mapped from None

    def containers(self, project: str, *, inspect: bool = True) -> list[ContainerInfo]:
        """The project's containers. ``inspect=False``: from one list call (no exit code,
        env or healthcheck test): enough for names, state, health, hashes and addresses."""
        listed = self.call(
            self.api.containers, all=True, filters={"label": f"{self.project_label}={project}"}
        )
        result = []
        for item in listed:
            if HELPER_LABEL in (item.get("Labels") or {}):
                continue
            if not inspect:
                result.append(_summary_info(item, self.vocabulary))
                continue
            try:
                result.append(self.container(item["Id"]))
            except NoSuchObject:
                continue
        return result

    def project_containers(self, project: str, *, inspect: bool = True) -> dict[str, ContainerInfo]:
        """The project's containers by service: a running one where a service has several
        (replicas, a Swarm service's old tasks), else the first by name."""
        by_service: dict[str, ContainerInfo] = {}
        for info in sorted(self.containers(project, inspect=inspect), key=lambda c: c.name):
            known = by_service.get(info.service)
            if known is None or (known.state != State.RUNNING and info.state == State.RUNNING):
                by_service[info.service] = info
        return by_service

    def container(self, container_id: str) -> ContainerInfo:
        return _container_info(self.call(self.api.inspect_container, container_id), self.vocabulary)

    def start(self, container_id: str) -> None:
        self.call(self.api.start, container_id)

    def stop(self, container_id: str, timeout: int = 10) -> None:
        with contextlib.suppress(NoSuchObject):
            self.call(self.api.stop, container_id, timeout=timeout)

    def exec(
        self,
        container_id: str,
        command: Sequence[str],
        *,
        user: str = "",
        env: Mapping[str, str] | None = None,
    ) -> ExecResult:
        created = self.call(
            self.api.exec_create,
            container_id,
            list(command),
            user=user,
            stdout=True,
            stderr=True,
            environment=dict(env or {}) or None,
        )
        output = self.call(self.api.exec_start, created["Id"])
        code = self.call(self.api.exec_inspect, created["Id"]).get("ExitCode")
        text = output.decode("utf-8", "replace") if isinstance(output, bytes) else str(output)
        return ExecResult(int(code if code is not None else -1), text)

    def logs(self, container_id: str, tail: int) -> str:
        try:
            raw = self.call(self.api.logs, container_id, tail=tail, stdout=True, stderr=True)
        except NoSuchObject:
            return ""
        return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)

    def events(self, project: str, stop: threading.Event) -> Iterator[EngineEvent]:
        """Subscribe now (before returning), so no event after this call is missed."""
        stream = self.call(
            self.api.events,
            decode=True,
            filters={"type": "container", "label": f"{self.project_label}={project}"},
        )
        closer = threading.Thread(target=lambda: (stop.wait(), stream.close()), daemon=True)
        closer.start()
        return self._event_items(stream, stop)

    def _event_items(self, stream: Any, stop: threading.Event) -> Iterator[EngineEvent]:
        try:
            for event in stream:
                if stop.is_set():
                    return
                attributes = (event.get("Actor") or {}).get("Attributes") or {}
                yield EngineEvent(
                    container_id=str(event.get("id", "")),
                    service=str(attributes.get(self.vocabulary.service_label, "")),
                    action=str(event.get("Action") or event.get("status") or ""),
                    time=float(event.get("timeNano", 0)) / 1e9,
                    attributes=dict(attributes),
                )
        except Exception as exc:  # the stream broke: the engine went away, or its socket closed
            if not stop.is_set():
                raise _engine_gone(exc) from None

    def read_ahead(self) -> None:
        """Ask now, each in a thread of its own, what the engine's checks ask whatever the
        model says (the networks, the ports containers publish, the CPUs and memory):
        called by the commands whose checks follow the model (`plan`, `validate`, `up`)
        while compose reads the files; the next call of each takes that answer, once."""
        from bootstrap.later import Later

        self._ahead = {
            "networks": Later(self._networks),
            "published_ports": Later(self._published_ports),
            "capacity": Later(self._capacity),
        }

    def _take(self, name: str, ask: Callable[[], T]) -> T:
        ahead = self._ahead.pop(name, None)
        return ahead.result() if ahead is not None else ask()

    def networks(self) -> dict[str, list[str]]:
        return self._take("networks", self._networks)

    def _networks(self) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {}
        for net in self.call(self.api.networks):
            config = ((net.get("IPAM") or {}).get("Config")) or []
            result[str(net.get("Name"))] = [str(c["Subnet"]) for c in config if c.get("Subnet")]
        return result

    def published_ports(self) -> dict[tuple[str, int], str]:
        return self._take("published_ports", self._published_ports)

    def _published_ports(self) -> dict[tuple[str, int], str]:
        taken: dict[tuple[str, int], str] = {}
        for item in self.call(self.api.containers):
            name = (item.get("Names") or ["?"])[0].lstrip("/")
            for port in item.get("Ports") or []:
                if port.get("PublicPort"):
                    taken[(str(port.get("IP") or "0.0.0.0"), int(port["PublicPort"]))] = name  # noqa: S104
        return taken

    def volumes(self) -> list[VolumeInfo]:
        listed = self.call(self.api.volumes).get("Volumes") or []
        return [
            VolumeInfo(
                str(v["Name"]),
                dict(v.get("Labels") or {}),
                str(v.get("CreatedAt", "")),
                project=str((v.get("Labels") or {}).get(self.project_label, "")),
                cache_kind=str((v.get("Labels") or {}).get(CACHE_LABEL, "")),
                identity=str((v.get("Labels") or {}).get(CACHE_ID_LABEL, "")),
            )
            for v in listed
        ]

    def create_cache_volume(self, name: str, kind: str) -> None:
        """A shared package cache: bootstrap's labels (its kind, an id for its lifetime), no
        project's."""
        import uuid

        self.create_volume(name, {CACHE_LABEL: kind, CACHE_ID_LABEL: uuid.uuid4().hex})

    def create_volume(self, name: str, labels: Mapping[str, str]) -> None:
        self.call(self.api.create_volume, name=name, labels=dict(labels))

    def remove_volume(self, name: str) -> None:
        self.call(self.api.remove_volume, name)

    def read_file(self, container_id: str, path: str) -> bytes:
        """One regular file out of a container, through the archive API."""
        stream, _stat = self.call(self.api.get_archive, container_id, path)
        import tarfile  # for these two calls only (20 ms to import)

        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
            member = next((m for m in archive.getmembers() if m.isfile()), None)
            handle = archive.extractfile(member) if member else None
            if handle is None:
                raise EngineError(
                    f"{path} is not a file", location=f"container {container_id[:12]}"
                )
            return handle.read()

    def image_exists(self, image: str) -> bool:
        return self.image_id(image) is not None

    def image_config(self, image: str) -> ImageConfig | None:
        """A local image's HEALTHCHECK and EXPOSEd TCP ports; None when it is not here
        (nothing is pulled)."""
        try:
            config = self.call(self.api.inspect_image, image).get("Config") or {}
        except NoSuchObject:
            return None
        test = tuple((config.get("Healthcheck") or {}).get("Test") or ())
        return ImageConfig(
            healthcheck=bool(test) and test[0] != "NONE",
            exposed=tcp_ports(config.get("ExposedPorts")),
        )

    def image_id(self, image: str) -> str | None:
        try:
            return str(self.call(self.api.inspect_image, image).get("Id") or "")
        except NoSuchObject:
            return None

    def run_helper(
        self, image: str, command: Sequence[str], mounts: Mapping[str, str], *, project: str
    ) -> ExecResult:
        """Run a short-lived helper container, wait for it, and always remove it."""
        binds: dict[str, Mapping[str, str]] = {
            source: {"bind": target, "mode": "rw"} for source, target in mounts.items()
        }
        host_config = self.api.create_host_config(binds=binds, network_mode="none")
        created = self.call(
            self.api.create_container,
            image,
            command=list(command),
            host_config=host_config,
            labels={HELPER_LABEL: "1", HELPER_OF: project},
        )
        try:
            self.call(self.api.start, created["Id"])
            status = self.call(self.api.wait, created["Id"])
            output = self.call(self.api.logs, created["Id"], stdout=True, stderr=True)
            text = output.decode("utf-8", "replace") if isinstance(output, bytes) else str(output)
            return ExecResult(int(status.get("StatusCode", -1)), text)
        finally:
            with contextlib.suppress(Exception):  # best effort: it may be gone already
                self.api.remove_container(created["Id"], force=True)

    def _volume_helper(self, volume: str, image: str, project: str) -> str:
        host_config = self.api.create_host_config(
            binds={volume: {"bind": "/v", "mode": "rw"}}, network_mode="none"
        )
        created = self.call(
            self.api.create_container,
            image,
            command=["true"],
            host_config=host_config,
            labels={HELPER_LABEL: "1", HELPER_OF: project},
        )
        return str(created["Id"])

    def export_volume(self, volume: str, destination: str, *, image: str, project: str) -> None:
        """Stream the volume's files (owners and modes kept) into a tar file on this host.

        Goes through the API, not a bind mount, so it works from inside a dev container
        that talks to the host's engine.
        """
        helper = self._volume_helper(volume, image, project)
        try:
            stream, _stat = self.call(self.api.get_archive, helper, "/v/.")
            with open(destination, "wb") as handle:
                for chunk in stream:
                    handle.write(chunk)
        finally:
            self.api.remove_container(helper, force=True)

    def import_volume(self, volume: str, source: str, *, image: str, project: str) -> None:
        helper = self._volume_helper(volume, image, project)
        try:
            # The SDK's put_archive cannot ask for copyUIDGID; without it a restored database
            # directory would belong to root and the server would refuse to start.
            api: Any = self.api
            with open(source, "rb") as handle:
                response = api._put(
                    api._url("/containers/{0}/archive", helper),
                    params={"path": "/v", "copyUIDGID": "true"},
                    data=handle,
                )
            api._raise_for_status(response)
        finally:
            self.api.remove_container(helper, force=True)

    def volume_users(self, volume: str) -> list[str]:
        listed = self.call(self.api.containers, all=True, filters={"volume": volume})
        return [
            str((c.get("Names") or ["?"])[0]).lstrip("/")
            for c in listed
            if HELPER_LABEL not in (c.get("Labels") or {})
        ]

    def memory(self, container_id: str) -> int:
        """Memory in use, in bytes (one quick reading, without the CPU rate)."""
        return self.usage(container_id, cpu=False).memory

    def usage(self, container_id: str, *, cpu: bool = True) -> ResourceSample:
        """One stats reading. With ``cpu`` the engine takes about a second (it measures the
        CPU rate over it); without, it answers at once and ``cpu`` is 0."""
        stats = self.call(self.api.stats, container_id, stream=False, one_shot=not cpu)
        return resource_sample(stats)

    def capacity(self) -> tuple[int, int]:
        return self._take("capacity", self._capacity)

    def _capacity(self) -> tuple[int, int]:
        info = self.call(self.api.info)
        return int(info.get("NCPU") or 0), int(info.get("MemTotal") or 0)

    def remove_helpers(self, project: str) -> list[str]:
        """Helper containers a killed run of this project left behind (the caller holds the
        project's lock, so none of them is in use)."""
        listed = self.call(
            self.api.containers,
            all=True,
            filters={"label": f"{HELPER_OF}={project}"},
        )
        for item in listed:
            with contextlib.suppress(NoSuchObject):
                self.call(self.api.remove_container, item["Id"], force=True, v=True)
        return [str(item["Id"])[:12] for item in listed]

    def volume_sizes(self) -> dict[str, int]:
        """Bytes each volume holds (the engine's disk-usage report; -1 when unknown). The
        engine runs one such report at a time and refuses a second ("a disk usage operation
        is already running": another workspace's reset, or `docker system df`): wait for it."""
        pause, waited = 0.2, 0.0
        while True:
            try:
                report = self.call(self.api.df)
                break
            except EngineError as exc:
                if "already running" not in exc.message or waited >= DF_PATIENCE:
                    raise
                time.sleep(pause)
                waited += pause
                pause = min(pause * 2, 2.0)
        return {
            str(v["Name"]): int((v.get("UsageData") or {}).get("Size", -1))
            for v in report.get("Volumes") or []
        }

    def connect_network(self, network: str, container_id: str) -> None:
        self.call(self.api.connect_container_to_network, container_id, network)

    def root_dir(self) -> str:
        return str(self.call(self.api.info).get("DockerRootDir") or "/var/lib/docker")

    def ping(self) -> None:
        """Raises unless the engine answers now (``version`` is asked once and remembered):
        its ping's answer is ``OK``; anything else on the socket (a proxy's page, a daemon
        that is not the engine) is no engine."""
        if not self.call(self.api.ping):
            raise EngineError(
                "the Docker engine's socket answered its ping with something else than OK",
                location="docker",
                hint="`docker info` shows what answers there; DOCKER_HOST names the engine",
            )

    def version(self) -> dict[str, str]:
        info = self.call(self.api.version)
        return {"engine": str(info.get("Version")), "api": str(info.get("ApiVersion"))}

    # --- the probe helper -------------------------------------------------------------------

    def start_probe_helper(self, image: str, network: str, project: str, package: Path) -> str:
        """A helper on the stack's network, with this package copied in,
        so it can probe every replica by its address there."""
        created = self.call(
            self.api.create_container,
            image,
            command=["sleep", "infinity"],
            environment={"PYTHONPATH": "/opt/bootstrap-probe", "PYTHONDONTWRITEBYTECODE": "1"},
            host_config=self.api.create_host_config(network_mode=network),
            labels={HELPER_LABEL: "1", HELPER_OF: project},
        )
        helper = str(created["Id"])
        buffer = io.BytesIO()
        import tarfile

        with tarfile.open(fileobj=buffer, mode="w") as archive:
            archive.add(
                str(package),
                arcname="opt/bootstrap-probe/bootstrap",
                filter=lambda info: None if "__pycache__" in info.name else info,
            )
        self.call(self.api.put_archive, helper, "/", buffer.getvalue())
        self.call(self.api.start, helper)
        return helper

    def remove_container(self, container_id: str) -> None:
        """Best effort, with its anonymous volumes: it may be gone already."""
        with contextlib.suppress(EngineError):
            self.call(self.api.remove_container, container_id, force=True, v=True)

    def ensure_image(self, image: str) -> None:
        """Pull ``image`` where the engine does not have it (a helper's image)."""
        if not self.image_exists(image):
            repository, tag = image, "latest"
            if ":" in image.rsplit("/", 1)[-1]:
                repository, _sep, tag = image.rpartition(":")
            self.call(self.api.pull, repository, tag=tag)
