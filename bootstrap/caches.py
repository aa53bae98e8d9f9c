"""Package cache volumes (uv, pip, npm): created, labelled and owned by the dev user."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from bootstrap.errors import EngineError
from bootstrap.paths import state_home
from bootstrap.runtime import Engine, Inspector
from bootstrap.settings import Settings

MOUNT_POINTS = {"uv": "/cache/uv", "pip": "/cache/pip", "npm": "/cache/npm"}
HELPER_IMAGES = ("busybox:latest", "busybox", "debian:bookworm-slim", "python:3.11-slim")


@dataclass(frozen=True)
class CacheVolume:
    kind: str
    name: str
    mount: str
    created: bool
    owner: str


def cache_environment(settings: Settings) -> dict[str, str]:
    """What a service needs to use the caches. uv's cache and venvs sit on different
    filesystems, so hard links cannot work: UV_LINK_MODE=copy."""
    env: dict[str, str] = {}
    kinds = set(settings.caches)
    if "uv" in kinds:
        env.update({"UV_CACHE_DIR": MOUNT_POINTS["uv"], "UV_LINK_MODE": "copy"})
    if "pip" in kinds:
        env["PIP_CACHE_DIR"] = MOUNT_POINTS["pip"]
    if "npm" in kinds:
        env["npm_config_cache"] = MOUNT_POINTS["npm"]
    return env


def helper_image(engine: Inspector, extra: tuple[str, ...] = ()) -> str:
    for image in (*HELPER_IMAGES, *extra):
        if engine.image_exists(image):
            return image
    raise EngineError(
        "no local image to run the volume helper (busybox, debian or python)",
        location="images",
        hint="pull or build busybox:latest",
    )


def _record_file() -> Path:
    return state_home() / "caches.json"


def _handed_over() -> dict[str, str]:
    """volume -> "<id> <uid:gid>" for every cache handed to its owner on this machine."""
    try:
        data = json.loads(_record_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _record_handed_over(handed: dict[str, str]) -> None:
    path = _record_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(handed, indent=1), encoding="utf-8")
        temporary.replace(path)
    except OSError:  # no writable state dir: the next run hands them over again, harmlessly
        pass


def ensure_cache_volumes(
    engine: Engine, settings: Settings, project: str, *, fix_owner: bool = False
) -> list[CacheVolume]:
    """Create missing cache volumes and hand them to ``cache_uid:cache_gid``.

    The caches are shared by every workspace, so they carry no project label: no project's
    ``down -v`` or ``reset`` takes them. A new named volume is owned by root, which breaks uv
    as a non-root user. Existing volumes are only re-owned when ``fix_owner`` (``bootstrap
    cache setup``) asks for it. ``project`` only names the helper container's owner.
    """
    existing = {v.name: v for v in engine.volumes()}
    owner = f"{settings.cache_uid}:{settings.cache_gid}"
    handed = _handed_over()
    result = []
    image = ""
    for kind in settings.caches:
        name = settings.cache_volume(kind)
        created = name not in existing
        if created:
            engine.create_cache_volume(name, kind)
            identity = next((v.identity for v in engine.volumes() if v.name == name), "")
        else:
            identity = existing[name].identity
        # A run killed between creating the volume and handing it over left it root-owned:
        # the record of hand-overs (volume -> its id at creation), written only after the
        # chown, tells. Not the creation time: the engine reports the folder's, which a chown
        # changes.
        stamp = f"{identity or 'unlabelled'} {owner}"
        if created or fix_owner or handed.get(name) != stamp:
            image = image or helper_image(engine)
            done = engine.run_helper(
                image,
                ["sh", "-c", f"chown -R {owner} /v && chmod 2775 /v"],
                {name: "/v"},
                project=project,
            )
            if done.exit_code != 0:
                raise EngineError(
                    f"could not hand {name} to {owner}: {done.output.strip()}",
                    location=f"volume {name}",
                )
            handed[name] = stamp
            _record_handed_over(handed)
        result.append(
            CacheVolume(kind, name, MOUNT_POINTS.get(kind, f"/cache/{kind}"), created, owner)
        )
    return result
