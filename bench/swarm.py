"""The synthetic chain on a one-node Swarm, in one run: bootstrap's ordered bring-up against
``docker stack deploy --detach=false`` (waits for every service, in no order) and against the
wait-for-it pattern people fall back to (each service's entrypoint loops, once a second, until
what it needs answers). Each variant is timed from the command's start to every service
healthy; the phases' readiness moments (the kernel's uptime, written by each container) say
whether the order held."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import stacks
from bench.common import BOOTSTRAP, REPO, Figure, log, pairwise

SWARM_SH = REPO.parent / "shared" / "testenv" / "swarm.sh"
CLUSTER_SH = REPO.parent / "shared" / "testenv" / "cluster.sh"
# This machine has no IPVS: DNS round robin and host-mode ports; images exist only here.
SETTINGS = (
    'swarm_endpoint_mode = "dnsrr"\nswarm_publish_mode = "host"\nswarm_resolve_image = "never"\n'
)
TIMEOUT = 300


@dataclass(frozen=True)
class Where:
    """A swarm to bench on: the docker CLI for its stacks and services, one per node for the
    containers, bootstrap's options, the settings, the image the chain runs."""

    name: str  # in the figures' names: swarm_..., cluster_...
    said: str  # in the figures' text
    cli: tuple[str, ...] = ("docker",)
    nodes: tuple[tuple[str, ...], ...] = (("docker",),)
    options: tuple[str, ...] = ()
    settings: str = SETTINGS
    image: str = "busybox:latest"
    resolve: str = "never"


ONE_NODE = Where("swarm", "a one-node swarm")
CLUSTER = Where(
    "cluster",
    "cluster.sh's swarm (a manager and two workers in dind, images from its registry)",
    cli=("docker", "--context", "testenv-cluster"),
    nodes=tuple(
        ("docker", "exec", f"testenv-cluster-{node}", "docker")
        for node in ("manager", "worker-1", "worker-2")
    ),
    options=("--context", "testenv-cluster"),
    settings='swarm_endpoint_mode = "dnsrr"\nswarm_publish_mode = "host"\n',
    image="127.0.0.1:5000/busybox:latest",
    resolve="always",
)


def _call(args: list[str], *, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL
    )


def _timed(args: list[str], *, cwd: Path | None = None) -> float:
    began = time.perf_counter()
    done = _call(args, cwd=cwd)
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return elapsed


def _containers(where: Where, stack: str, *extra: str) -> list[tuple[tuple[str, ...], str]]:
    """(the node's docker CLI, container id) of the stack's containers on every node."""
    label = f"label=com.docker.stack.namespace={stack}"
    return [
        (node, cid)
        for node in where.nodes
        for cid in _call([*node, "ps", "-aq", "--filter", label, *extra]).stdout.split()
    ]


def _networks(where: Where, stack: str) -> list[str]:
    label = f"label=com.docker.stack.namespace={stack}"
    return _call([*where.cli, "network", "ls", "-q", "--filter", label]).stdout.split()


def remove_stack(stack: str, where: Where = ONE_NODE) -> None:
    """``docker stack rm`` returns at once; wait until its containers and networks are gone."""
    _call([*where.cli, "stack", "rm", stack])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if not _containers(where, stack) and not _networks(where, stack):
            return
        time.sleep(0.25)
    raise RuntimeError(f"stack {stack} still has containers or networks after 120 s")


def wait_healthy(stack: str, count: int, where: Where = ONE_NODE) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if len(_containers(where, stack, "--filter", "health=healthy")) >= count:
            return
        time.sleep(0.25)
    raise RuntimeError(f"stack {stack}: not every task healthy after {TIMEOUT} s")


def order_breaks(stack: str, where: Where = ONE_NODE) -> int:
    """How many phases had a service ready before every service of the phase before it (the
    moments are the kernel's uptime, which every node of cluster.sh shares)."""
    ready: dict[int, list[float]] = {}
    for node, cid in _containers(where, stack):
        name = _call(
            [
                *node,
                "inspect",
                "--format",
                '{{index .Config.Labels "com.docker.swarm.service.name"}}',
                cid,
            ]
        ).stdout.strip()
        service = name.removeprefix(f"{stack}_")
        phase = stacks.PHASES.index(service.rsplit("-", 1)[0])
        at = _call([*node, "exec", cid, "cat", "/tmp/ready_at"]).stdout.strip()
        if at:
            ready.setdefault(phase, []).append(float(at))
    return sum(
        1
        for phase in range(1, len(stacks.PHASES))
        if ready.get(phase) and ready.get(phase - 1) and min(ready[phase]) < max(ready[phase - 1])
    )


def stack_file(chain: dict[str, Any], *, wait_for: bool) -> dict[str, Any]:
    """The chain as a stack file: ``depends_on`` dropped (Swarm refuses its long form and
    ignores the short one). ``wait_for``: each service's command first waits, wget once a
    second, for every service it depended on to serve its ready file."""
    services: dict[str, Any] = {}
    for name, spec in chain["services"].items():
        command = spec["command"][2]
        if wait_for:
            deps = " ".join(spec.get("depends_on") or {})
            loop = (
                f"for d in {deps}; do until wget -q -O /dev/null http://$$d:7000/ready; "
                "do sleep 1; done; done; "
            )
            command = loop + command.replace("exec sleep 3600", "exec httpd -f -p 7000 -h /tmp")
        services[name] = {
            "image": spec["image"],
            "command": ["sh", "-c", command],
            "healthcheck": spec["healthcheck"],
            "stop_grace_period": "1s",
            "deploy": {"endpoint_mode": "dnsrr"},
        }
    return {"version": "3.9", "services": services}


def bench_swarm(runs: int, work: Path) -> list[Figure]:
    """At most 3 pairs: `--detach=false` alone takes about a minute a run (the CLI waits for
    the services one after another, and watches each for 5 s once it has converged)."""
    runs = min(runs, 3)
    if not SWARM_SH.exists():
        log("swarm: no testenv swarm.sh here; skipped")
        return []
    before = _call(["docker", "info", "--format", "{{.Swarm.LocalNodeState}}"]).stdout.strip()
    if _call(["bash", str(SWARM_SH), "up"]).returncode != 0:
        log("swarm: this engine cannot be made a swarm; skipped")
        return []
    try:
        return _measure(runs, work, ONE_NODE)
    finally:
        if before != "active":
            _call(["bash", str(SWARM_SH), "down"])


def bench_cluster(runs: int, work: Path) -> list[Figure]:
    """The same chain on cluster.sh's multi-node swarm, through its Docker context, the
    busybox image pulled by every node from the cluster's registry."""
    runs = min(runs, 3)
    if not CLUSTER_SH.exists():
        log("cluster: no testenv cluster.sh here; skipped")
        return []
    existed = _call(["docker", "container", "inspect", "testenv-cluster-manager"]).returncode == 0
    if _call(["bash", str(CLUSTER_SH), "up"]).returncode != 0:
        log("cluster: cluster.sh up failed; skipped")
        return []
    try:
        return _measure(runs, work, CLUSTER)
    finally:
        if not existed:
            _call(["bash", str(CLUSTER_SH), "down"])


def _measure(runs: int, work: Path, where: Where) -> list[Figure]:
    log(f"{where.name}: the synthetic chain on {where.said} (dnsrr, host ports)")
    directory = work / f"{where.name}-chain"
    limit = stacks.synthetic(directory)
    compose = directory / "docker-compose.yml"
    chain = json.loads(compose.read_text())
    for spec in chain["services"].values():
        spec["image"] = where.image
    compose.write_text(json.dumps(chain, indent=1))
    settings = directory / "bootstrap.toml"
    settings.write_text(settings.read_text() + where.settings)
    files = {}
    for variant, wait_for in (("deploy", False), ("wait-for", True)):
        path = work / f"{where.name}-{variant}.json"
        path.write_text(json.dumps(stack_file(chain, wait_for=wait_for), indent=1))
        files[variant] = path
    project = f"bench{where.name[:2]}{uuid.uuid4().hex[:6]}"
    breaks: dict[str, list[int]] = {"bootstrap": [], "deploy": [], "wait-for": []}

    def with_bootstrap() -> float:
        args = [BOOTSTRAP, "-C", str(directory), "-p", project, *where.options]
        elapsed = _timed([*args, "--backend", "swarm", "up"])
        breaks["bootstrap"].append(order_breaks(project, where))
        _call([*args, "--backend", "swarm", "down"])
        remove_stack(project, where)
        shutil.rmtree(directory / ".bootstrap", ignore_errors=True)
        return elapsed

    def plain(variant: str) -> float:
        stack = f"{project}{variant.replace('-', '')}"
        deploy = [*where.cli, "stack", "deploy", "--resolve-image", where.resolve]
        if variant == "deploy":  # the CLI's own wait
            elapsed = _timed([*deploy, "--detach=false", "-c", str(files[variant]), stack])
        else:  # detached, then the moment every task is healthy (polled every 0.25 s)
            began = time.perf_counter()
            _timed([*deploy, "--detach=true", "-c", str(files[variant]), stack])
            wait_healthy(stack, len(chain["services"]), where)
            elapsed = time.perf_counter() - began
        breaks[variant].append(order_breaks(stack, where))
        remove_stack(stack, where)
        return elapsed

    figures = []
    for variant, how in (
        ("deploy", "`docker stack deploy --detach=false`: returns when every task is healthy"),
        (
            "wait-for",
            "`docker stack deploy -d`, each entrypoint a wait-for loop, polled until "
            "every task is healthy",
        ),
    ):
        boot, other = pairwise(runs, with_bootstrap, lambda v=variant: plain(v), lambda: None)
        figure = Figure(
            f"{where.name}_{variant.replace('-', '_')}",
            f"the chain (4 phases x 3 busybox services, readiness delays {stacks.DELAYS} s) on "
            f"{where.said}: `bootstrap --backend swarm up` against {how}",
        )
        figure.runs = {"bootstrap": boot, variant: other, "limit": [limit]}
        figure.ratios = {
            f"bootstrap/{variant}": [b / o for b, o in zip(boot, other, strict=True)],
            "bootstrap/limit": [b / limit for b in boot],
        }
        kept = breaks["bootstrap"][-runs:]
        broke = breaks[variant][-runs:]
        figure.notes.append(
            f"phases out of order (of 3): bootstrap {statistics.median(kept):g}, "
            f"{variant} {statistics.median(broke):g} (medians)"
        )
        if variant == "deploy":
            figure.notes.append(
                "the CLI waits for the services one after another and watches each for 5 s "
                "once converged: most of its time is that wait, not the engine"
            )
        figure.target = "the order kept (none out of order); times reported, no target"
        figure.met = max(kept, default=0) == 0
        figures.append(figure)
    return figures
