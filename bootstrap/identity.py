"""Which compose project a workspace is: compose's precedence, with the settings in their place.

``-p``, then ``COMPOSE_PROJECT_NAME`` (the process environment, then ``.env``, as compose reads
it), then ``project`` set in the settings, then the compose file's top-level ``name:``, then the
folder's name, normalised as compose does. Pure: the caller passes what it read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bootstrap.errors import ConfigError

_VALID = re.compile(r"[a-z0-9][a-z0-9_-]*")
_KEEP = re.compile(r"[a-z0-9_-]")


@dataclass(frozen=True)
class ProjectName:
    """A project name and where it came from (for ``plan --explain`` and errors)."""

    name: str
    source: str


def normalize(text: str) -> str:
    """Compose's normalisation of a folder name: lower case, only ``[a-z0-9_-]``, no leading
    ``_`` or ``-`` (compose-go ``NormalizeProjectName``)."""
    kept = "".join(_KEEP.findall(text.lower()))
    return kept.lstrip("_-")


def valid(name: str) -> bool:
    """Whether compose takes the name as it is."""
    return bool(_VALID.fullmatch(name))


def checked(name: str, source: str) -> ProjectName:
    """A name given explicitly must already be valid: compose refuses to rewrite it."""
    if not _VALID.fullmatch(name):
        suggestion = normalize(name)
        raise ConfigError(
            f"{name!r} is not a valid compose project name",
            location=source,
            hint="use lower-case letters, digits, '-' and '_', starting with a letter or digit"
            + (f", e.g. {suggestion!r}" if suggestion else ""),
        )
    return ProjectName(name, source)


def explicit_project_name(
    *,
    flag: str | None,
    environ: Mapping[str, str],
    dotenv: Mapping[str, str],
    settings_project: str,
    settings_source: str,
) -> ProjectName | None:
    """The name when something names it before the compose files do; else None."""
    if flag:
        return checked(flag, "-p/--project-name")
    if environ.get("COMPOSE_PROJECT_NAME"):
        return checked(environ["COMPOSE_PROJECT_NAME"], "COMPOSE_PROJECT_NAME (environment)")
    if dotenv.get("COMPOSE_PROJECT_NAME"):
        return checked(dotenv["COMPOSE_PROJECT_NAME"], "COMPOSE_PROJECT_NAME (.env)")
    if settings_project:
        return checked(settings_project, f"{settings_source}: project")
    return None


def implicit_project_name(compose_name: str, folder: str, subfolder: str = "") -> ProjectName:
    """What compose chose from the files: their ``name:``, else the normalised folder name.

    When the files sit in a subfolder of the workspace (``.devcontainer/``), compose would
    name every such workspace after the subfolder; the Dev Containers CLI's
    ``<workspace>_<subfolder>`` keeps them apart, and bootstrap uses it too."""
    if subfolder and compose_name == normalize(subfolder):
        return ProjectName(normalize(f"{folder}_{subfolder}"), "the folder's name")
    fallback = normalize(folder)
    if compose_name and compose_name != fallback:
        return ProjectName(compose_name, "the compose file's name:")
    if not fallback:
        raise ConfigError(
            f"the folder name {folder!r} gives no valid project name",
            location=folder,
            hint="set `name:` in the compose file, pass -p NAME, or set project in bootstrap.toml",
        )
    return ProjectName(fallback, "the folder's name")
