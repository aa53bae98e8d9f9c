from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bootstrap.backends.compose.driver import Creation
from bootstrap.backends.compose.status import collect_status
from bootstrap.errors import NoSpaceError
from bootstrap.runtime import ContainerInfo, VolumeInfo
from bootstrap.snapshots import cache_volumes, data_volumes, ensure_room

from .fakes import FakeEngine, workspace

SERVICES: dict[str, Any] = {
    "db": {"image": "postgres:16", "environment": {"POSTGRES_PASSWORD": "x"}},
    "web": {"image": "busybox", "depends_on": {"db": {"condition": "service_started"}}},
    "extra": {"image": "busybox", "profiles": ["tools"]},
}


def test_reset_takes_only_the_projects_prefixed_volumes_never_a_cache(tmp_path: Path) -> None:
    ws = workspace(tmp_path, SERVICES)
    engine = FakeEngine(
        volume_list=[
            VolumeInfo("shop_dbdata", {}, project="shop"),
            VolumeInfo("shop_backup", {}),  # the prefix, not the label: someone else's
            VolumeInfo("blog_dbdata", {}, project="blog"),  # another workspace
            VolumeInfo("data", {}, project="shop"),  # the label, not the prefix
            VolumeInfo("shop_uv", {}, project="shop", cache_kind="uv"),
            VolumeInfo("bootstrap-uv-cache", {}, cache_kind="uv"),
        ]
    )
    assert [v.name for v in data_volumes(ws, engine)] == ["shop_dbdata"]
    assert [v.name for v in cache_volumes(ws, engine)] == ["bootstrap-uv-cache"]


def test_a_snapshot_that_would_not_fit_is_refused_first(tmp_path: Path) -> None:
    with pytest.raises(NoSpaceError) as caught:
        ensure_room(tmp_path / "snaps", {"v"}, {"v": 10**15})
    assert "nothing was stopped or removed" in caught.value.message
    ensure_room(tmp_path / "snaps", {"v"}, {"v": 1024})  # fits: no error


def info(service: str, state: str = "running", **kw: Any) -> ContainerInfo:
    return ContainerInfo(f"id-{service}", f"shop-{service}-1", service, state, project="shop", **kw)


def test_status_lists_asked_services_and_other_containers_marked(tmp_path: Path) -> None:
    ws = workspace(tmp_path, SERVICES)
    ws_all = workspace(tmp_path, SERVICES)  # the plan of every profile, as status loads it
    ws_all = type(ws)(
        **{
            **ws_all.__dict__,
            "plan": __import__("bootstrap.plan", fromlist=["x"]).build_plan(
                ws.stack.with_profiles(["*"]), ws.settings
            ),
        }
    )
    engine = FakeEngine(infos=[info("db"), info("extra", state="exited")])
    rows = {r.service: r for r in collect_status(ws_all, engine, frozenset({"db", "web"}))}
    assert set(rows) == {"db", "web", "extra"}
    assert rows["web"].state == "absent" and not rows["web"].ready
    assert rows["extra"].selected is False and rows["extra"].ready  # a job that exited 0
    assert not rows["extra"].counts  # not asked for and not running: health is not its


class Hashes:
    def __init__(self, hashes: dict[str, str]) -> None:
        self.hashes = hashes

    def config_hashes(self, project: object) -> dict[str, str]:
        return self.hashes


def test_no_op_rerun_only_when_every_hash_and_image_matches(tmp_path: Path) -> None:
    ws = workspace(tmp_path, {k: v for k, v in SERVICES.items() if k != "extra"})
    engine = FakeEngine(images={"postgres:16": "sha-pg", "busybox": "sha-bb"})
    containers = {
        "db": info("db", config_hash="h-db", image_id="sha-pg"),
        "web": info("web", config_hash="h-web", image_id="sha-bb"),
    }
    creation = Creation(ws, Hashes({"db": "h-db", "web": "h-web"}), engine)  # type: ignore[arg-type]
    assert creation._unchanged(containers)
    changed = Creation(ws, Hashes({"db": "h-db", "web": "other"}), engine)  # type: ignore[arg-type]
    assert not changed._unchanged(containers)
    engine.images["busybox"] = "sha-new"  # the image was rebuilt
    assert not creation._unchanged(containers)
    assert not creation._unchanged({"db": containers["db"]})  # a container is missing


def test_status_of_a_replicated_service_is_every_replicas(tmp_path: Path) -> None:
    """Three replicas, one exited: the service is not ready, and the row says which."""
    web = {"image": "busybox", "deploy": {"replicas": 3}, "labels": {"bootstrap.probe.settle": "0"}}
    ws = workspace(tmp_path, {"web": web})
    replicas = [
        ContainerInfo(f"id-{n}", f"shop-web-{n}", "web", state, project="shop", exit_code=code)
        for n, state, code in ((1, "running", 0), (2, "exited", 1), (3, "running", 0))
    ]
    rows = collect_status(ws, FakeEngine(infos=replicas))
    assert len(rows) == 1 and not rows[0].ready
    assert rows[0].detail.startswith("2/3 replicas ready") and rows[0].state == "exited"
    rows = collect_status(ws, FakeEngine(infos=[replicas[0], replicas[2]]))
    assert rows[0].ready and rows[0].detail.startswith("2/2 replicas ready")


class NoClients(FakeEngine):
    """An image without redis-cli (or any client): every exec is "not found"."""

    def exec(self, container_id: str, command: Any, *, user: str = "", env: Any = None) -> Any:
        from bootstrap.runtime import ExecResult

        return ExecResult(127, "executable file not found")


def test_status_says_what_it_cannot_ask_without_a_helper_instead_of_not_ready(
    tmp_path: Path,
) -> None:
    ws = workspace(tmp_path, {"cache": {"image": "redis:7"}})
    engine = NoClients(infos=[info("cache", addresses={"shop_default": "172.30.0.2"})])
    row = collect_status(ws, engine)[0]
    assert row.ready and row.probe == "redis"
    assert "port 6379, not reachable from here" in row.detail and "helper" in row.detail
    assert engine.helpers_started == []  # status starts nothing
    sick = NoClients(infos=[info("cache", health="unhealthy")])
    assert not collect_status(ws, sick)[0].ready  # the engine's own verdict still counts


def test_status_runs_only_the_probe_a_container_was_created_with(tmp_path: Path) -> None:
    from bootstrap.backends.compose.status import not_applied

    query = {"bootstrap.probe": "postgres", "bootstrap.probe.query": "SELECT 1"}
    ws = workspace(
        tmp_path,
        {
            "db": {"image": "postgres", "labels": query},
            "web": {"image": "nginx", "healthcheck": {"test": ["CMD", "true"], "interval": "5s"}},
            "api": {"image": "python", "healthcheck": {"interval": "5s"}},  # the image's test
        },
    )
    plan = ws.plan.services

    def created(service: str, labels: dict[str, str], test: tuple[str, ...] = ()) -> Any:
        return ContainerInfo("c", f"shop-{service}-1", service, "running", labels=labels,
                             healthcheck_test=test)  # fmt: skip

    image_label = {"bootstrap.probe.port": "5432"}  # the image's own label: not the file's
    assert not_applied(plan["db"], created("db", {**query, **image_label})) == ""
    changed = not_applied(plan["db"], created("db", {**query, "bootstrap.probe.query": "x"}))
    assert changed.startswith("bootstrap.probe.query changed since `up`")
    assert "bootstrap.probe" in not_applied(plan["db"], created("db", {}))
    assert not_applied(plan["web"], created("web", {}, ("CMD", "true"))) == ""
    assert "healthcheck.test" in not_applied(plan["web"], created("web", {}, ("CMD", "false")))
    assert not_applied(plan["api"], created("api", {}, ("CMD-SHELL", "curl -f x"))) == ""


class Creates:
    """A compose CLI that notes each create."""

    seen_version = (5, 6, 1)

    def __init__(self) -> None:
        self.created: list[list[str]] = []

    def create(self, project: object, services: list[str], **_options: object) -> None:
        self.created.append(list(services))


def test_a_service_compose_starts_alone_in_its_phase_is_created_at_its_start(
    tmp_path: Path,
) -> None:
    """One compose process, not two, for a service with a hook alone in its phase that no
    other service needs; kept in the create step where it shares its phase (a refusal at
    create time then stops the phase before anything starts), where another needs it, or
    where its container exists."""
    hook = [{"command": ["true"]}]
    services: dict[str, Any] = {
        "db": {"image": "busybox", "labels": {"bootstrap.phase": "databases"}, "post_start": hook},
        "cache": {"image": "busybox", "labels": {"bootstrap.phase": "databases"}},
        "app": {"image": "busybox", "post_start": hook},
        "registry": {
            "image": "busybox",
            "labels": {"bootstrap.phase": "discovery"},
            "post_start": hook,
        },
        "metrics": {
            "image": "busybox",
            "labels": {"bootstrap.phase": "monitoring"},
            "post_start": hook,
            "depends_on": {"registry": {"condition": "service_started"}},
        },
    }
    ws = workspace(tmp_path, services)
    compose = Creates()
    creation = Creation(ws, compose, FakeEngine(images={"busybox": "sha"}))  # type: ignore[arg-type]
    creation.start()
    creation.wait()
    assert creation.deferred == {"app", "metrics"}  # registry: metrics needs it; db: shares
    assert sorted(n for c in compose.created for n in c) == ["cache", "db", "registry"]
    existing = FakeEngine(images={"busybox": "sha"}, infos=[info("metrics", state="exited")])
    again = Creation(ws, Creates(), existing)  # type: ignore[arg-type]
    again.start()
    assert again.deferred == {"app"}


class CountingExecs(FakeEngine):
    """Every exec counted, and failing as psql does when nothing listens."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.execs: list[str] = []

    def exec(self, container_id: str, command: Any, *, user: str = "", env: Any = None) -> Any:
        from bootstrap.runtime import ExecResult

        self.execs.append(container_id)
        return ExecResult(2, "psql: error: connection to server failed: No such file")


def test_status_takes_a_pass_seen_since_the_container_started_and_asks_every_other(
    tmp_path: Path,
) -> None:
    """A container ``up`` started and saw ready (its id and StartedAt noted) is ready as of
    then, its probe not asked; a restart since, an unhealthy verdict, no note or ``live``
    (``status --probe``) ask it, or take the engine's word, now."""
    from bootstrap.frozen import Gated, GateNotes

    ws = workspace(tmp_path, {"db": {"image": "postgres:16", "environment": {"A": "1"}}})
    started = "2026-12-07T08:00:00.123456789Z"
    seen = "SELECT 1 answered (psql in the container)"
    GateNotes(ws.directory, ws.compose.name)("db", [Gated("id-db", started, 1796630400.5, seen)])

    engine = CountingExecs(infos=[info("db", started_at=started)])
    row = collect_status(ws, engine)[0]
    assert row.ready and row.probed_at == 1796630400.5 and engine.execs == []
    assert row.detail.startswith(seen) and "not restarted since" in row.detail  # what it saw
    assert "--probe" in row.detail
    assert row.as_dict()["probed_at"] == 1796630400.5

    asked = collect_status(ws, engine, live=True)[0]  # status --probe: asked now
    assert not asked.ready and asked.probed_at is None and engine.execs == ["id-db"]

    restarted = CountingExecs(infos=[info("db", started_at="2026-12-07T09:00:00Z")])
    row = collect_status(ws, restarted)[0]
    assert not row.ready and row.probed_at is None and restarted.execs == ["id-db"]

    other = CountingExecs(infos=[info("db", started_at=started)])
    other.infos = [replace(other.infos[0], id="id-db-2")]  # recreated: another container
    assert not collect_status(ws, other)[0].ready and other.execs == ["id-db-2"]

    sick = CountingExecs(infos=[info("db", started_at=started, health="unhealthy")])
    row = collect_status(ws, sick)[0]
    assert not row.ready and "unhealthy" in row.detail  # the engine's verdict wins

    stopped = CountingExecs(infos=[info("db", "exited", started_at=started, exit_code=0)])
    assert not collect_status(ws, stopped)[0].ready and stopped.execs == []

    notes = ws.directory / ".bootstrap" / "supervisor" / "gated.json"
    older = {"project": "shop", "services": {"db": [["id-db", started, 1796630400.5]]}}
    notes.write_text(json.dumps(older))  # as the version before wrote it: no detail
    row = collect_status(ws, CountingExecs(infos=[info("db", started_at=started)]))[0]
    assert row.ready and row.detail.startswith("passed at")

    notes.write_text("{not json")
    damaged = CountingExecs(infos=[info("db", started_at=started)])
    assert not collect_status(ws, damaged)[0].ready and damaged.execs == ["id-db"]
