"""The stack file Swarm gets, from compose's normalised model, and what Swarm cannot do. Pure.

``docker stack deploy`` takes the compose format but not all of it: it has no ordering
(``depends_on`` is refused in its long form), no build, no static addresses, no
``container_name``/``network_mode``, no inline ``content`` configs. bootstrap deploys one
cumulative file per step (the services started so far), so the order is its own.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bootstrap.plan import Plan
from bootstrap.validate import Finding, Severity, error, warning

STACK_LABEL = "com.docker.stack.namespace"
SERVICE_LABEL = "com.docker.swarm.service.name"

# Service keys `docker stack deploy` accepts (compose file format 3.x plus what 20.10 added).
KEPT = frozenset(
    {
        "image", "command", "entrypoint", "environment", "labels", "healthcheck", "volumes",
        "ports", "networks", "deploy", "configs", "secrets", "user", "working_dir",
        "read_only", "cap_add", "cap_drop", "stop_grace_period", "stop_signal",
        "init", "hostname", "extra_hosts", "dns", "logging", "ulimits", "sysctls", "tty",
        "stdin_open", "isolation", "domainname", "dns_search",
    }
)  # fmt: skip
IGNORED = {
    "container_name": "Swarm names its tasks itself",
    "network_mode": "a task is on the stack's networks",
    "privileged": "Swarm services cannot run privileged",
    "security_opt": "Swarm services take no security options",
    "devices": "Swarm services take no devices",
    "pid": "Swarm services share no PID namespace",
}


@dataclass(frozen=True)
class SwarmOptions:
    endpoint_mode: str = "vip"  # dnsrr where the kernel has no IPVS
    publish_mode: str = "ingress"  # host: published on the node that runs the task
    resolve_image: str = "always"  # never: local images only (no registry)


def stack_name(project: str) -> str:
    """Swarm's names (stack, services, networks) allow no dots; compose's project names do."""
    return project.replace(".", "-")


def _ports(ports: Iterable[Mapping[str, Any]], mode: str) -> list[dict[str, Any]]:
    """Published ports only: a port compose publishes on an ephemeral host port (so each
    replica can be probed from the host) is not published on Swarm, where Swarm would open
    a random port on every address of every node; probes reach the tasks over the network."""
    kept = []
    for port in ports:
        if not port.get("published"):
            continue
        entry = {"target": int(port["target"]), "protocol": port.get("protocol") or "tcp"}
        entry["published"] = int(str(port["published"]).split("-")[0])
        entry["mode"] = mode
        kept.append(entry)
    return kept


def _mount(mount: Mapping[str, Any]) -> dict[str, Any]:
    """A long-syntax mount in the keys the 3.9 schema knows."""
    kept: dict[str, Any] = {k: mount[k] for k in ("type", "source", "target") if mount.get(k)}
    if mount.get("read_only"):
        kept["read_only"] = True
    if (mount.get("volume") or {}).get("nocopy"):
        kept["volume"] = {"nocopy": True}
    if (mount.get("bind") or {}).get("propagation"):
        kept["bind"] = {"propagation": mount["bind"]["propagation"]}
    if (mount.get("tmpfs") or {}).get("size"):
        kept["tmpfs"] = {"size": int(mount["tmpfs"]["size"])}
    return kept


def _listed(value: Any) -> list[str]:
    return [str(value)] if isinstance(value, str) else [str(v) for v in value or []]


def _tmpfs(entry: str) -> dict[str, Any]:
    """``/tmp`` or ``/tmp:size=64m,mode=1777`` as a long-syntax tmpfs mount."""
    target, _, options = entry.partition(":")
    mount: dict[str, Any] = {"type": "tmpfs", "target": target}
    for option in filter(None, options.split(",")):
        key, _, value = option.partition("=")
        if key == "size" and value:
            mount["tmpfs"] = {"size": _bytes(value)}
    return mount


def _bytes(text: str) -> int:
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    unit = text[-1].lower()
    return int(text[:-1]) * units[unit] if unit in units else int(text)


def _deploy(deploy: Mapping[str, Any]) -> dict[str, Any]:
    """``deploy`` with CPU figures as strings (the 3.9 schema's type) and no empty keys."""
    kept = {k: v for k, v in deploy.items() if v not in (None, {}, [])}
    resources = {}
    for part, given in (kept.get("resources") or {}).items():
        values = {k: v for k, v in (given or {}).items() if v not in (None, "", 0)}
        if "cpus" in values:
            values["cpus"] = f"{float(values['cpus']):g}"
        if values:
            resources[part] = values
    if resources:
        kept["resources"] = resources
    else:
        kept.pop("resources", None)
    return kept


def _file_sources(
    document: Mapping[str, Any],
    stack: str,
    environ: Mapping[str, str],
    digests: Mapping[str, str],
) -> tuple[dict[str, Any], dict[str, str]]:
    """Top-level configs and secrets for Swarm, and the files to write for inline ones
    (``content``, ``environment``): name -> text. Swarm's configs are immutable, so each
    one is named after its content (a ``file:`` one after ``digests[path]``, when given)."""
    top: dict[str, Any] = {}
    files: dict[str, str] = {}
    for kind in ("configs", "secrets"):
        for key, given in (document.get(kind) or {}).items():
            spec = dict(given or {})
            if "content" in spec or "environment" in spec:
                text = (
                    str(spec["content"])
                    if "content" in spec
                    else environ.get(str(spec["environment"]), "")
                )
                digest = hashlib.sha256(text.encode()).hexdigest()[:10]
                filename = f"{kind}-{key}"
                files[filename] = text
                top.setdefault(kind, {})[key] = {
                    "file": f"./{filename}",
                    "name": f"{stack}_{key}_{digest}",
                }
            elif spec.get("external"):
                top.setdefault(kind, {})[key] = {"external": True, "name": spec.get("name", key)}
            elif spec.get("file"):
                entry = {"file": spec["file"]}
                known = digests.get(str(spec["file"]))
                if known:  # named after its content: an edited file is a new config
                    entry["name"] = f"{stack}_{key}_{known[:10]}"
                top.setdefault(kind, {})[key] = entry
    return top, files


def stack_document(
    document: Mapping[str, Any],
    services: Iterable[str],
    plan: Plan,
    options: SwarmOptions,
    environ: Mapping[str, str],
    digests: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The stack file for ``services`` (and the files its inline configs need).
    ``digests``: the content digest of each ``file:`` config or secret, by path."""
    stack = stack_name(plan.project)
    wanted = list(services)
    out: dict[str, Any] = {"version": "3.9", "services": {}}
    used_networks: set[str] = set()
    used_volumes: set[str] = set()
    for name in wanted:
        spec = document["services"][name]
        service = {k: v for k, v in spec.items() if k in KEPT and v is not None}
        networks = spec.get("networks") or {"default": None}
        service["networks"] = sorted(networks)
        used_networks |= set(networks)
        service["ports"] = _ports(spec.get("ports") or [], options.publish_mode)
        deploy = _deploy(spec.get("deploy") or {})
        deploy["endpoint_mode"] = options.endpoint_mode
        if plan.services[name].is_job:
            deploy["mode"] = "replicated-job"  # a one-shot: gated on completion
            deploy.setdefault("restart_policy", {"condition": "on-failure", "max_attempts": 1})
        elif spec.get("restart") in ("no", "") and "restart_policy" not in deploy:
            deploy["restart_policy"] = {"condition": "on-failure"}
        service["deploy"] = deploy
        service["volumes"] = [_mount(m) for m in spec.get("volumes") or []]
        # Swarm ignores the service-level `tmpfs` key: a tmpfs mount does the same.
        service["volumes"] += [_tmpfs(t) for t in _listed(spec.get("tmpfs"))]
        used_volumes |= {
            str(m["source"])
            for m in service["volumes"]
            if m["type"] == "volume" and m.get("source")
        }
        if "environment" in service:
            service["environment"] = {
                k: v for k, v in service["environment"].items() if v is not None
            }
        out["services"][name] = service
    out["networks"] = {}
    for key in sorted(used_networks):
        declared = dict((document.get("networks") or {}).get(key) or {})
        if declared.get("external"):
            out["networks"][key] = {"external": True, "name": declared.get("name", key)}
            continue
        network: dict[str, Any] = {"driver": "overlay", "attachable": True}
        subnets = [c for c in ((declared.get("ipam") or {}).get("config") or []) if c]
        if subnets:
            network["ipam"] = {"config": [{"subnet": c["subnet"]} for c in subnets]}
        out["networks"][key] = network
    volumes = document.get("volumes") or {}
    out["volumes"] = {
        key: (
            {"external": True, "name": volumes[key].get("name", key)}
            if (volumes.get(key) or {}).get("external")
            else {}
        )
        for key in sorted(used_volumes)
    }
    top, files = _file_sources(document, stack, environ, digests or {})
    referenced = {
        kind: {
            (ref if isinstance(ref, str) else ref.get("source"))
            for name in wanted
            for ref in document["services"][name].get(kind) or []
        }
        for kind in ("configs", "secrets")
    }
    for kind, entries in top.items():
        kept = {k: v for k, v in entries.items() if k in referenced[kind]}
        if kept:
            out[kind] = kept
    needed = {f"{kind}-{key}" for kind in out if kind in top for key in out[kind]}
    return out, {k: v for k, v in files.items() if k in needed}


def swarm_findings(document: Mapping[str, Any], plan: Plan, registry: str = "") -> list[Finding]:
    """What Swarm cannot do, found before anything is deployed (``registry``: where built
    services are pushed, so they can be built)."""
    findings: list[Finding] = []
    for name in plan.order():
        spec = document["services"][name]
        where = f"services.{name}"
        if spec.get("build") and not spec.get("image") and not registry:
            findings.append(
                error(
                    "swarm-build",
                    f"{where}.build",
                    f"{name} is built, and Swarm does not build: every node pulls an image",
                    "set swarm_registry (bootstrap builds and pushes it there), or name an "
                    "image (`image:`) you build and push first",
                )
            )
        for key, why in IGNORED.items():
            if spec.get(key):
                findings.append(
                    Finding(
                        Severity.NOTICE,
                        f"{where}.{key}",
                        f"ignored on Swarm: {why}",
                        "",
                        "swarm-ignored",
                    )
                )
        for net, attachment in (spec.get("networks") or {}).items():
            if (attachment or {}).get("ipv4_address"):
                findings.append(
                    Finding(
                        Severity.NOTICE,
                        f"{where}.networks.{net}.ipv4_address",
                        "ignored on Swarm: tasks get addresses from the overlay network",
                        "reach services by name (tasks.NAME lists every replica)",
                        "swarm-ignored",
                    )
                )
        planned = plan.services[name]
        password_file = planned.probe.text("password_file")
        if password_file and not planned.probe.text("password"):
            from bootstrap.secretfiles import secret_file_value

            if secret_file_value(document, name, password_file, os.environ) is None:
                findings.append(
                    error(
                        "swarm-probe",
                        f"{where}.environment",
                        f"{name}'s probe reads its password from {password_file}, which is "
                        "not one of its secrets with a file or environment source: the probe "
                        "helper cannot read another node's container",
                        f"mount the password as a secret of {name} (secrets: with file: or "
                        "environment:), or set bootstrap.probe: docker with a healthcheck",
                    )
                )
        for dep in planned.depends_on:
            if dep.name not in plan.services:
                continue
            same_phase = plan.services[dep.name].phase == planned.phase
            if same_phase and planned.wave <= plan.services[dep.name].wave:
                findings.append(
                    warning(
                        "swarm-order",
                        f"{where}.depends_on.{dep.name}",
                        f"{name} depends on {dep.name}, which the plan does not put first",
                        "give them different phases (`bootstrap.phase`)",
                    )
                )
    return findings


def stateful_volumes(document: Mapping[str, Any], name: str) -> list[str]:
    """The named volumes of the service whose data stays on a node (not external ones, not
    a volume driver's other than local)."""
    volumes = document.get("volumes") or {}
    found = []
    for mount in document["services"][name].get("volumes") or []:
        if not isinstance(mount, Mapping) or mount.get("type") != "volume":
            continue
        source = str(mount.get("source") or "")
        spec = volumes.get(source) or {}
        if source and not spec.get("external") and spec.get("driver", "local") == "local":
            found.append(source)
    return found


def placement_findings(document: Mapping[str, Any], plan: Plan, nodes: int) -> list[Finding]:
    """On a swarm of more than one node: a service that keeps data in a local named volume
    and has no placement constraint may run on another node next time, with an empty one."""
    if nodes < 2:
        return []
    findings = []
    for name in plan.order():
        spec = document["services"][name]
        constraints = ((spec.get("deploy") or {}).get("placement") or {}).get("constraints")
        volumes = stateful_volumes(document, name)
        if constraints or not volumes:
            continue
        findings.append(
            warning(
                "swarm-placement",
                f"services.{name}.deploy.placement",
                f"{name} keeps its data in the volume {volumes[0]}, which lives on the node "
                f"that runs its task; this swarm has {nodes} nodes, and a task moved to "
                "another (a node lost, an update) starts there with an empty volume",
                f"pin {name} to one node: deploy.placement.constraints: "
                '["node.hostname == NODE"] (or a node label), or use a volume driver every '
                "node mounts",
            )
        )
    return findings


def service_images(
    document: Mapping[str, Any], plan: Plan, *, built_too: bool = True
) -> dict[str, str]:
    """service -> the image its tasks run, for the plan's services (``built_too``: also the
    services compose builds)."""
    return {
        name: str(spec["image"])
        for name in plan.order()
        if (spec := document["services"][name]).get("image")
        and (built_too or not spec.get("build"))
    }


def built_services(document: Mapping[str, Any], plan: Plan) -> list[str]:
    return [n for n in plan.order() if document["services"][n].get("build")]


def registry_image(registry: str, image: str) -> str:
    """``image`` as the registry names it: REGISTRY/PATH:TAG (a registry host it had is
    replaced; a tag it lacked is latest)."""
    first, _slash, rest = image.partition("/")
    path = rest if rest and ("." in first or ":" in first or first == "localhost") else image
    if ":" not in path.rsplit("/", 1)[-1] and "@" not in path:
        path += ":latest"
    return f"{registry.rstrip('/')}/{path}"


def file_paths(document: Mapping[str, Any]) -> list[str]:
    """The ``file:`` sources of the top-level configs and secrets."""
    return [
        str(spec["file"])
        for kind in ("configs", "secrets")
        for spec in (document.get(kind) or {}).values()
        if isinstance(spec, Mapping) and spec.get("file")
    ]


def render(document: Mapping[str, Any]) -> str:
    """Compose reads JSON as YAML: the stack file is written as JSON."""
    return json.dumps(document, indent=1, sort_keys=True)
