"""``doctor``: the seed's troubleshooting list, checked, each with what to do."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bootstrap.caches import helper_image
from bootstrap.runtime import Engine, Inspector, Operator, State

if TYPE_CHECKING:
    from bootstrap.backends import Backend
from bootstrap.errors import COMPOSE_UPGRADE, BootstrapError
from bootstrap.workspace import Workspace, git_args, weak_secrets

MEMORY_WARNING = 0.9
DISK_WARNING_BYTES = 2 * 1024**3


class Verdict(Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    area: str
    verdict: Verdict
    message: str
    hint: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "area": self.area,
            "verdict": self.verdict.value,
            "message": self.message,
            "hint": self.hint,
        }


def ok(area: str, message: str) -> Check:
    return Check(area, Verdict.OK, message)


def versions(workspace: Workspace, backend: Backend) -> list[Check]:
    engine_version = backend.engine.version()
    checks = [ok("versions", f"engine {engine_version['engine']} (API {engine_version['api']})")]
    found, minimum = backend.tool_version(workspace)
    text = ".".join(map(str, found))
    if found < minimum:
        checks.append(
            Check(
                "versions",
                Verdict.FAIL,
                f"compose {text} is too old",
                COMPOSE_UPGRADE,
            )
        )
    else:
        checks.append(ok("versions", f"compose {text}"))
    return checks


def startup(workspace: Workspace, engine: Inspector) -> list[Check]:
    checks = []
    containers = engine.project_containers(workspace.compose.name)
    running = {n for n, c in containers.items() if c.state == State.RUNNING}
    for name in workspace.plan.order():
        info = containers.get(name)
        if info is None:
            checks.append(
                Check("startup", Verdict.WARN, f"{name}: no container", "run `bootstrap up`")
            )
            continue
        if info.state != State.RUNNING:
            tail = engine.logs(info.id, 5).strip().splitlines()
            last = f"; last log: {tail[-1][:160]}" if tail else ""
            oom = " (killed: out of memory)" if info.oom_killed else ""
            checks.append(
                Check(
                    "startup",
                    Verdict.FAIL,
                    f"{name}: {info.state}, exit code {info.exit_code}{oom}{last}",
                    f"`bootstrap logs {name}`; fix the cause, then `bootstrap up`",
                )
            )
            continue
        unmet = [
            d.name
            for d in workspace.plan.services[name].depends_on
            if d.required and d.name not in running
        ]
        if unmet:
            checks.append(
                Check(
                    "startup",
                    Verdict.FAIL,
                    f"{name} runs but depends on {', '.join(unmet)}, which do not",
                    "`bootstrap up` starts them in order",
                )
            )
        elif info.restart_count:
            checks.append(
                Check(
                    "startup",
                    Verdict.WARN,
                    f"{name}: restarted {info.restart_count} times",
                    f"`bootstrap logs {name}`",
                )
            )
    if not checks:
        checks.append(ok("startup", f"{len(running)} containers running"))
    return checks


def _resolves(engine: Operator, container_id: str, name: str) -> bool:
    for command in (["getent", "hosts", name], ["nslookup", name]):
        result = engine.exec(container_id, command)
        if result.exit_code == 0:
            return True
        if not result.not_found:
            return False
    return False


def network(workspace: Workspace, engine: Engine) -> list[Check]:
    settings = workspace.settings
    declared = workspace.stack.networks.get(settings.network)
    if declared is None:
        return [ok("network", f"no {settings.network} network in the compose files")]
    existing = engine.networks()
    if declared.name not in existing:
        return [
            Check(
                "network",
                Verdict.WARN,
                f"network {declared.name} does not exist",
                "`bootstrap up` creates it",
            )
        ]
    checks = []
    planned = declared.subnets[0][0] if declared.subnets else None
    if planned and planned not in existing[declared.name]:
        checks.append(
            Check(
                "network",
                Verdict.FAIL,
                f"{declared.name} has subnet {existing[declared.name]}, planned {planned}",
                "`bootstrap down` then `bootstrap up` recreates it",
            )
        )
    containers = engine.project_containers(workspace.compose.name)
    running = [
        n
        for n in workspace.plan.order()
        if n in containers and containers[n].state == State.RUNNING
    ]
    for name in running:
        want = workspace.plan.services[name].address
        have = containers[name].addresses.get(declared.name)
        if want and have != want:
            checks.append(
                Check(
                    "network",
                    Verdict.FAIL,
                    f"{name} has address {have}, planned {want}",
                    "recreate it: `bootstrap down` then `bootstrap up`",
                )
            )
    if len(running) >= 2:
        source, target = running[-1], running[0]
        if _resolves(engine, containers[source].id, target):
            checks.append(ok("network", f"DNS: {source} resolves {target}"))
        else:
            checks.append(
                Check(
                    "network",
                    Verdict.FAIL,
                    f"DNS: {source} cannot resolve {target}",
                    "both must be on the same user-defined network",
                )
            )
    if not checks:
        checks.append(ok("network", f"{declared.name} as planned"))
    return checks


def volumes(workspace: Workspace, engine: Engine) -> list[Check]:
    settings = workspace.settings
    existing = {v.name for v in engine.volumes()}
    want = f"{settings.cache_uid}:{settings.cache_gid}"
    checks = []
    image = ""
    for kind in settings.caches:
        name = settings.cache_volume(kind)
        if name not in existing:
            checks.append(
                Check(
                    "volumes",
                    Verdict.WARN,
                    f"cache volume {name} is missing",
                    "`bootstrap cache setup` creates it",
                )
            )
            continue
        image = image or helper_image(engine)
        owner = engine.run_helper(
            image, ["stat", "-c", "%u:%g", "/v"], {name: "/v"}, project=workspace.compose.name
        ).output.strip()
        seen = f" (read by a helper container of {image}, removed)"
        if owner != want:
            checks.append(
                Check(
                    "volumes",
                    Verdict.FAIL,
                    f"cache volume {name} is owned by {owner}, not {want}{seen}",
                    "`bootstrap cache setup` hands it to the dev user",
                )
            )
        else:
            checks.append(ok("volumes", f"{name} owned by {owner}{seen}"))
    return checks


def resources(workspace: Workspace, engine: Inspector) -> list[Check]:
    from bootstrap.sizes import memory

    checks = []
    for name, info in engine.project_containers(workspace.compose.name).items():
        if info.oom_killed:
            limit = f" (limit {memory(info.memory_limit)})" if info.memory_limit else ""
            checks.append(
                Check(
                    "resources",
                    Verdict.FAIL,
                    f"{name} was killed for want of memory{limit}; it is {info.state} now",
                    "raise deploy.resources.limits.memory (`bootstrap stats` shows its peak), "
                    "or find the leak; then `bootstrap up`",
                )
            )
        if info.state != State.RUNNING or not info.memory_limit:
            continue
        usage, limit_bytes = engine.memory(info.id), info.memory_limit
        if usage / limit_bytes >= MEMORY_WARNING:
            checks.append(
                Check(
                    "resources",
                    Verdict.WARN,
                    f"{name} uses {usage * 100 // limit_bytes}% of its memory limit "
                    f"({memory(usage)} of {memory(limit_bytes)})",
                    "raise deploy.resources.limits.memory (`bootstrap stats --suggest`), "
                    "or find the leak",
                )
            )
    root = engine.root_dir()
    if os.path.isdir(root):
        free = shutil.disk_usage(root).free
        verdict = Verdict.WARN if free < DISK_WARNING_BYTES else Verdict.OK
        checks.append(
            Check(
                "resources",
                verdict,
                f"{free / 1024**3:.1f} GiB free for Docker ({root})",
                "`docker system prune` frees space" if verdict is Verdict.WARN else "",
            )
        )
    else:
        checks.append(
            ok("resources", f"Docker's data ({root}) is not on this machine; disk not checked")
        )
    if not any(c.verdict is not Verdict.OK for c in checks):
        checks.append(ok("resources", "no container near its memory limit"))
    return checks


def privileges(workspace: Workspace) -> list[Check]:
    """The same rules as ``validate``: the socket, privileged mode, SYS_ADMIN."""
    from bootstrap.validate import check_privileges

    found = check_privileges(workspace.plan)
    if not found:
        return [
            ok("security", "no service mounts the Docker socket, runs privileged or adds SYS_ADMIN")
        ]
    return [Check("security", Verdict.WARN, f.message, f.hint) for f in found]


def weak_secret_checks(workspace: Workspace) -> list[Check]:
    """Secrets too short or common to be masked in free text (see Redactor)."""
    return [
        Check(
            "secrets",
            Verdict.WARN,
            f"{name} is {why}: masked where it stands as a value, not in free text",
            f"replace it with a long random value in {workspace.settings.secrets_dir}/{name}",
        )
        for name, why in weak_secrets(workspace).items()
    ]


def tracked_secrets(workspace: Workspace) -> list[Check]:
    directory = workspace.directory
    git = shutil.which("git")
    if git is None:
        return [ok("secrets", "git not installed; tracking not checked")]
    paths = [".env.local", workspace.settings.secrets_dir]
    done = subprocess.run(
        [git, *git_args(directory, "ls-files", "--", *paths)[1:]],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return [ok("secrets", "not a git repository; tracking not checked")]
    tracked = done.stdout.split()
    if tracked:
        return [
            Check(
                "secrets",
                Verdict.FAIL,
                f"tracked by git: {', '.join(tracked)}",
                f"`git rm --cached {' '.join(tracked)}`, add them to .gitignore "
                "(`bootstrap init`), and rotate the secrets",
            )
        ]
    return [ok("secrets", ".env.local and the secret store are not tracked")]


def compose_parity(workspace: Workspace) -> list[Check]:
    """Whether a plain ``docker compose`` in this folder sees what bootstrap sees. It reads
    ``.env`` only: values from ``.env.local`` or the secret store that the files use would
    differ for it (other config hashes: its ``up`` would recreate those services)."""
    from bootstrap.envlayers import EnvLayer

    unseen = sorted(
        name
        for name, var in workspace.environment.variables.items()
        if name in workspace.environment.referenced
        and var.layer in (EnvLayer.DOTENV_LOCAL, EnvLayer.SECRET)
    )
    if not unseen:
        return [ok("compose", "a plain `docker compose` here sees the same variables")]
    files = " ".join(f"--env-file {Path(f).name}" for f in workspace.compose.env_files)
    return [
        Check(
            "compose",
            Verdict.WARN,
            f"a plain `docker compose` does not see {', '.join(unseen)} (set in .env.local or "
            "the secret store): its config hashes differ, so its `up` would recreate those "
            "services",
            f'run it with the same layers: `eval "$(bootstrap env --export)"` then '
            f"`docker compose {files} ...`",
        )
    ]


def diagnose(workspace: Workspace, backend: Backend) -> list[Check]:
    """Every check; one that breaks becomes a failed check, not a crash."""
    engine = backend.engine
    steps: list[tuple[str, Callable[[], list[Check]]]] = [
        ("versions", lambda: versions(workspace, backend)),
        ("startup", lambda: startup(workspace, engine)),
        ("network", lambda: network(workspace, engine)),
        ("volumes", lambda: volumes(workspace, engine)),
        ("resources", lambda: resources(workspace, engine)),
        ("secrets", lambda: tracked_secrets(workspace)),
        ("secrets", lambda: weak_secret_checks(workspace)),
        ("security", lambda: privileges(workspace)),
        ("compose", lambda: compose_parity(workspace)),
    ]
    checks: list[Check] = []
    for area, step in steps:
        try:
            checks += step()
        except BootstrapError as exc:
            checks.append(Check(area, Verdict.FAIL, str(exc), exc.hint))
    return checks


def document(checks: list[Check]) -> dict[str, Any]:
    return {
        "ok": all(c.verdict is not Verdict.FAIL for c in checks),
        "checks": [c.as_dict() for c in checks],
    }
