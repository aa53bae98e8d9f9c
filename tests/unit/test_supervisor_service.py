"""The stack's own supervisor, without an engine: its proxy's rule set, the model ``up``
leaves it, and what it never acts on. On the real engine: test_supervisor_service.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bootstrap.discovery.socketproxy import (
    POLICIES,
    decide,
    narrowed_filters,
    owner,
    rewritten,
)
from bootstrap.errors import ConfigError
from bootstrap.frozen import FrozenModel, freeze, frozen_path, thaw
from bootstrap.supervise import supervisor_services
from bootstrap.workspace import load_workspace
from tests.unit.fakes import workspace
from tests.unit.helpers import svc

SUPERVISOR = POLICIES["supervisor"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/_ping"),
        ("HEAD", "/_ping"),
        ("GET", "/v1.41/version"),
        ("GET", "/events"),
        ("GET", "/v1.41/containers/json"),
        ("GET", "/containers/abc123/json"),
        ("POST", "/v1.41/containers/abc123/start"),
        ("POST", "/containers/shop-app-1/stop"),
        ("POST", "/containers/abc123/restart"),
        ("POST", "/containers/abc123/kill"),
    ],
)
def test_what_a_supervisor_may_ask(method: str, path: str) -> None:
    assert decide(SUPERVISOR, method, path).allowed


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/containers/create"),
        ("POST", "/v1.41/containers/create"),
        ("POST", "/containers/abc123/exec"),
        ("POST", "/exec/xyz/start"),
        ("DELETE", "/containers/abc123"),
        ("POST", "/containers/abc123/update"),
        ("PUT", "/containers/abc123/archive"),
        ("GET", "/containers/abc123/archive"),
        ("GET", "/containers/abc123/logs"),
        ("GET", "/containers/abc123/stats"),
        ("GET", "/images/json"),
        ("POST", "/images/create"),
        ("GET", "/volumes"),
        ("POST", "/volumes/create"),
        ("GET", "/networks"),
        ("POST", "/networks/create"),
        ("POST", "/containers/abc123/json"),
        ("GET", "/containers/abc123/restart"),
        ("POST", "/events"),
        ("POST", "/services/create"),
        ("GET", "/info"),
        ("GET", "/containers/../images/json"),
    ],
)
def test_what_a_supervisor_may_not(method: str, path: str) -> None:
    decision = decide(SUPERVISOR, method, path)
    assert not decision.allowed and decision.reason


def test_a_containers_act_is_checked_against_its_project_first() -> None:
    decision = decide(SUPERVISOR, "POST", "/v1.41/containers/shop-app-1/restart", [("t", "3")])
    assert decision.container == "shop-app-1"
    # the act goes to the engine's own API (no version: start takes no HostConfig there)
    assert decision.path == "/containers/shop-app-1/restart"
    assert decision.query == (("t", "3"),)
    assert decide(SUPERVISOR, "GET", "/containers/json").narrowed
    assert decide(SUPERVISOR, "GET", "/events").narrowed
    assert not decide(SUPERVISOR, "GET", "/_ping").narrowed
    assert (
        rewritten("/containers/shop-app-1/restart", "shop-app-1", "f00d")
        == "/containers/f00d/restart"
    )
    assert owner({"Config": {"Labels": {"com.docker.compose.project": "shop"}}}) == "shop"
    assert owner({"Config": {"Labels": None}}) == ""


@pytest.mark.parametrize(
    "asked",
    [
        None,
        "",
        "not json",
        '{"label": ["com.docker.compose.project=other"]}',
        '{"label": {"com.docker.compose.project=other": true}}',
        '{"status": ["running"]}',
        '{"type": ["network", "volume"]}',
        "[1, 2]",
    ],
)
def test_every_list_and_event_stream_is_narrowed_to_the_project(asked: str | None) -> None:
    filters = json.loads(narrowed_filters(asked, "shop", events=True))
    assert "com.docker.compose.project=shop" in filters["label"]
    assert filters["type"] == ["container"]
    assert "type" not in json.loads(narrowed_filters(asked, "shop"))  # the list has no type
    # a label filter the caller added is kept, so the answer is the intersection: no wider
    if asked and "other" in asked:
        assert "com.docker.compose.project=other" in filters["label"]
    if asked and "status" in asked:
        assert filters["status"] == ["running"]


def test_up_leaves_the_model_whole_and_private_and_the_supervisor_plans_from_it(
    tmp_path: Path,
) -> None:
    document = {
        "name": "shop",
        "services": {
            "db": svc("postgres:16"),
            "app": svc(depends={"db": {"condition": "service_started", "restart": True}}),
            "proxy": svc("busybox", profiles=["ops"]),
            "sup": svc(
                "busybox",
                labels={"bootstrap.role": "supervisor"},
                profiles=["ops"],
                depends={"proxy": "service_started"},
            ),
        },
    }
    path = freeze(tmp_path, "shop", ("ops",), ("compose.yaml",), document)
    assert path == frozen_path(tmp_path)
    assert path.stat().st_mode & 0o777 == 0o600
    stamp = path.stat().st_mtime_ns
    assert (
        freeze(tmp_path, "shop", ("ops",), ("compose.yaml",), document).stat().st_mtime_ns == stamp
    )
    frozen = thaw(path)
    assert (frozen.project, frozen.profiles, frozen.files) == ("shop", ("ops",), ("compose.yaml",))
    (tmp_path / "compose.yaml").write_text("services: {}\n")
    loaded = load_workspace(
        tmp_path,
        files=frozen.files,
        profiles=frozen.profiles,
        project=frozen.project,
        loader=FrozenModel(frozen),
        environ={},
    )
    assert set(loaded.plan.services) == {"db", "app", "proxy", "sup"}
    assert loaded.plan.services["sup"].phase == loaded.settings.phases[-1]
    # the supervisor and what it stands on are never acted on
    assert supervisor_services(loaded.plan) == {"sup", "proxy"}


def test_a_supervisor_without_a_model_says_what_writes_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        thaw(frozen_path(tmp_path))
    assert "bootstrap up" in (raised.value.hint or "")
    frozen_path(tmp_path).parent.mkdir(parents=True)
    frozen_path(tmp_path).write_text("{half")
    with pytest.raises(ConfigError):
        thaw(frozen_path(tmp_path))


def test_a_role_with_a_typo_is_refused_naming_the_roles(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        workspace(tmp_path, {"sup": svc(labels={"bootstrap.role": "supervsor"})})
    assert "supervisor" in str(raised.value) + (raised.value.hint or "")


@pytest.mark.security
def test_the_model_is_private_from_its_first_byte_whatever_was_planted(tmp_path: Path) -> None:
    """A 0644 model.tmp left in the folder, or a symlink planted where the model goes, neither
    makes the model readable nor leads the write elsewhere."""
    folder = tmp_path / ".bootstrap" / "supervisor"
    folder.mkdir(parents=True)
    planted = folder / "model.tmp"
    planted.write_text("old")
    planted.chmod(0o644)
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text("theirs")
    (folder / "model.json").symlink_to(elsewhere)
    document = {"name": "shop", "services": {"db": svc("postgres:16")}}
    path = freeze(tmp_path, "shop", (), ("compose.yaml",), document)
    assert not path.is_symlink() and path.stat().st_mode & 0o077 == 0
    assert elsewhere.read_text() == "theirs"
    assert thaw(path).project == "shop"
    assert [p.name for p in folder.iterdir() if p.name.startswith(".model")] == []
