from __future__ import annotations

import pytest

from bootstrap.errors import ConfigError
from bootstrap.identity import (
    ProjectName,
    explicit_project_name,
    implicit_project_name,
    normalize,
)


def named(**kw: object) -> ProjectName | None:
    args: dict[str, object] = {
        "flag": None,
        "environ": {},
        "dotenv": {},
        "settings_project": "",
        "settings_source": "bootstrap.toml",
    }
    args.update(kw)
    return explicit_project_name(**args)  # type: ignore[arg-type]


def test_precedence_flag_then_environment_then_dotenv_then_settings() -> None:
    full = {
        "flag": "flag",
        "environ": {"COMPOSE_PROJECT_NAME": "env"},
        "dotenv": {"COMPOSE_PROJECT_NAME": "dotenv"},
        "settings_project": "settings",
    }
    assert named(**full) == ProjectName("flag", "-p/--project-name")
    assert named(**{**full, "flag": None}).name == "env"  # type: ignore[union-attr]
    assert named(**{**full, "flag": None, "environ": {}}).name == "dotenv"  # type: ignore[union-attr]
    only_settings = named(settings_project="settings")
    assert only_settings == ProjectName("settings", "bootstrap.toml: project")
    assert named() is None  # then the compose files decide


def test_files_name_then_folder_normalised_as_compose_does() -> None:
    assert implicit_project_name("shop", "Shop Folder").source == "the compose file's name:"
    folder = implicit_project_name("blog_2", "Blog_2")
    assert folder == ProjectName("blog_2", "the folder's name")
    assert normalize("-My.Project Dir!") == "myprojectdir"
    assert normalize("__x") == "x"


def test_an_explicit_invalid_name_is_refused_with_a_suggestion() -> None:
    with pytest.raises(ConfigError) as caught:
        named(flag="My Shop")
    assert caught.value.location == "-p/--project-name"
    assert "'myshop'" in caught.value.hint
    with pytest.raises(ConfigError):
        implicit_project_name("", "...")


def test_files_in_a_subfolder_take_the_dev_containers_cli_name() -> None:
    named = implicit_project_name("devcontainer", "My Shop", ".devcontainer")
    assert named.name == "myshop_devcontainer"
    assert implicit_project_name("shop", "x", ".devcontainer").name == "shop"  # name: wins
