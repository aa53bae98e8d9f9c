"""Generated stacks for the benchmarks (compose accepts JSON, so no YAML writer is needed)."""

from __future__ import annotations

import json
from pathlib import Path

PHASES = ("databases", "discovery", "apps", "monitoring")
DELAYS = (2.0, 0.5, 1.0, 0.5)


def synthetic(
    directory: Path, *, per_phase: int = 3, delays: tuple[float, ...] = DELAYS, interval: str = "1s"
) -> float:
    """A busybox chain: each service becomes ready (a file appears) after a known delay and
    writes the moment it did (the shared kernel's uptime). Compose gets healthchecks and
    ``service_healthy`` chains as a user writes them; bootstrap reads the same file.
    Returns the limit by construction: the sum over phases of the slowest readiness."""
    services: dict[str, object] = {}
    previous: list[str] = []
    for phase, delay in zip(PHASES, delays, strict=True):
        names = []
        for index in range(per_phase):
            own = round(delay * (index + 1) / per_phase, 3)
            name = f"{phase}-{index}"
            services[name] = {
                "image": "busybox:latest",
                "command": [
                    "sh",
                    "-c",
                    f"sleep {own}; cut -d' ' -f1 /proc/uptime > "
                    "/tmp/ready_at; touch /tmp/ready; exec sleep 3600",
                ],
                "labels": {"bootstrap.phase": phase},
                "healthcheck": {
                    "test": ["CMD", "test", "-f", "/tmp/ready"],
                    "interval": interval,
                    "timeout": "1s",
                    "retries": 120,
                },
                "depends_on": {p: {"condition": "service_healthy"} for p in previous},
                "stop_grace_period": "1s",
            }
            names.append(name)
        previous = names
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "docker-compose.yml").write_text(json.dumps({"services": services}, indent=1))
    (directory / "bootstrap.toml").write_text("probe_timeout = 60.0\n")
    return sum(delays)


def large(directory: Path, count: int = 1000) -> None:
    """``count`` services over the four phases with dependencies, for planning speed."""
    services: dict[str, object] = {}
    per_phase = count // len(PHASES)
    for p, phase in enumerate(PHASES):
        for index in range(per_phase):
            spec: dict[str, object] = {
                "image": "busybox:latest",
                "labels": {"bootstrap.phase": phase},
            }
            if index:
                spec["depends_on"] = [f"{phase}-{index - 1}"] if index % 3 else []
            if p:
                spec.setdefault("depends_on", [])
                spec["depends_on"] = [*spec["depends_on"], f"{PHASES[p - 1]}-{index}"]  # type: ignore[misc]
            services[f"{phase}-{index}"] = spec
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "docker-compose.yml").write_text(json.dumps({"services": services}))


def data_stack(directory: Path) -> None:
    """PostgreSQL with its data volume and two busybox volumes with files, for reset."""
    services = {
        "postgres": {
            "image": "postgres:17",
            "environment": {"POSTGRES_PASSWORD": "bench"},
            "volumes": ["pgdata:/var/lib/postgresql/data"],
        },
        "files": {
            "image": "busybox:latest",
            "stop_grace_period": "1s",
            "command": [
                "sh",
                "-c",
                "[ -f /a/blob ] || dd if=/dev/urandom of=/a/blob "
                "bs=1M count=32 2>/dev/null; exec sleep 3600",
            ],
            "volumes": ["filesa:/a", "filesb:/b"],
        },
    }
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "docker-compose.yml").write_text(
        json.dumps({"services": services, "volumes": {"pgdata": {}, "filesa": {}, "filesb": {}}})
    )


def six(directory: Path) -> None:
    """Six busybox services over the four phases, with dependencies: the size `bootstrap plan`
    sees in a small workspace."""
    spec = {"image": "busybox:latest", "command": ["sleep", "3600"]}
    services = {
        "db": {**spec, "labels": {"bootstrap.phase": "databases"}},
        "cache": {**spec, "labels": {"bootstrap.phase": "databases"}},
        "registry": {**spec, "labels": {"bootstrap.phase": "discovery"}},
        "api": {**spec, "depends_on": ["db", "cache"]},
        "web": {**spec, "depends_on": ["api"]},
        "metrics": {**spec, "labels": {"bootstrap.phase": "monitoring"}},
    }
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "docker-compose.yml").write_text(json.dumps({"services": services}))
