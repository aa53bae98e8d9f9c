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
from pathlib import Path
from typing import Any

from bench import stacks
from bench.common import BOOTSTRAP, REPO, Figure, log, pairwise

SWARM_SH = REPO.parent / "shared" / "testenv" / "swarm.sh"
# This machine has no IPVS: DNS round robin and host-mode ports; images exist only here.
SETTINGS = (
    'swarm_endpoint_mode = "dnsrr"\nswarm_publish_mode = "host"\nswarm_resolve_image = "never"\n'
)
TIMEOUT = 300


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


def _of_stack(kind: str, stack: str) -> list[str]:
    listing = ["docker", "ps", "-aq"] if kind == "container" else ["docker", kind, "ls", "-q"]
    label = f"label=com.docker.stack.namespace={stack}"
    return _call([*listing, "--filter", label]).stdout.split()


def remove_stack(stack: str) -> None:
    """``docker stack rm`` returns at once; wait until its containers and networks are gone."""
    _call(["docker", "stack", "rm", stack])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if not _of_stack("container", stack) and not _of_stack("network", stack):
            return
        time.sleep(0.25)
    raise RuntimeError(f"stack {stack} still has containers or networks after 120 s")


def wait_healthy(stack: str, count: int) -> None:
    deadline = time.monotonic() + TIMEOUT
    label = f"label=com.docker.stack.namespace={stack}"
    while time.monotonic() < deadline:
        healthy = _call(["docker", "ps", "-q", "--filter", label, "--filter", "health=healthy"])
        if len(healthy.stdout.split()) >= count:
            return
        time.sleep(0.25)
    raise RuntimeError(f"stack {stack}: not every task healthy after {TIMEOUT} s")


def order_breaks(stack: str) -> int:
    """How many phases had a service ready before every service of the phase before it."""
    ready: dict[int, list[float]] = {}
    for cid in _of_stack("container", stack):
        name = _call(
            [
                "docker",
                "inspect",
                "--format",
                '{{index .Config.Labels "com.docker.swarm.service.name"}}',
                cid,
            ]
        ).stdout.strip()
        service = name.removeprefix(f"{stack}_")
        phase = stacks.PHASES.index(service.rsplit("-", 1)[0])
        at = _call(["docker", "exec", cid, "cat", "/tmp/ready_at"]).stdout.strip()
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
        return _measure(runs, work)
    finally:
        if before != "active":
            _call(["bash", str(SWARM_SH), "down"])


def _measure(runs: int, work: Path) -> list[Figure]:
    log("swarm: the synthetic chain on a one-node swarm (dnsrr, host ports)")
    directory = work / "swarm-chain"
    limit = stacks.synthetic(directory)
    (directory / "bootstrap.toml").write_text((directory / "bootstrap.toml").read_text() + SETTINGS)
    chain = json.loads((directory / "docker-compose.yml").read_text())
    files = {}
    for variant, wait_for in (("deploy", False), ("wait-for", True)):
        path = work / f"swarm-{variant}.json"
        path.write_text(json.dumps(stack_file(chain, wait_for=wait_for), indent=1))
        files[variant] = path
    project = f"benchsw{uuid.uuid4().hex[:6]}"
    breaks: dict[str, list[int]] = {"bootstrap": [], "deploy": [], "wait-for": []}

    def with_bootstrap() -> float:
        args = [BOOTSTRAP, "-C", str(directory), "-p", project, "--backend", "swarm"]
        elapsed = _timed([*args, "up"])
        breaks["bootstrap"].append(order_breaks(project))
        _call([*args, "down"])
        remove_stack(project)
        shutil.rmtree(directory / ".bootstrap", ignore_errors=True)
        return elapsed

    def plain(variant: str) -> float:
        stack = f"{project}{variant.replace('-', '')}"
        deploy = ["docker", "stack", "deploy", "--resolve-image", "never"]
        if variant == "deploy":  # the CLI's own wait
            elapsed = _timed([*deploy, "--detach=false", "-c", str(files[variant]), stack])
        else:  # detached, then the moment every task is healthy (polled every 0.25 s)
            began = time.perf_counter()
            _timed([*deploy, "--detach=true", "-c", str(files[variant]), stack])
            wait_healthy(stack, len(chain["services"]))
            elapsed = time.perf_counter() - began
        breaks[variant].append(order_breaks(stack))
        remove_stack(stack)
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
            f"swarm_{variant.replace('-', '_')}",
            f"the chain (4 phases x 3 busybox services, readiness delays {stacks.DELAYS} s) on "
            f"a one-node swarm: `bootstrap --backend swarm up` against {how}",
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
