"""Two workspaces on one machine, neither with bootstrap settings: each is its own compose
project (the files' ``name:``, else the folder's name), and nothing one does touches the other."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, SHARED_CACHES, Project, cache_volumes

pytestmark = [pytest.mark.docker, pytest.mark.data]


def bootstrap(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """bootstrap as a user runs it in the folder: no -p, no settings, no COMPOSE_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    return subprocess.run(
        [sys.executable, "-m", "bootstrap", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def rows(project: Project) -> str:
    done = project.exec("db", "psql", "-U", "postgres", "-tAc", "SELECT name FROM dives")
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Project, Project]]:
    tag = uuid.uuid4().hex[:8]
    shop_dir, blog_dir = tmp_path / f"shop{tag}", tmp_path / f"Blog.{tag}"
    for folder in (shop_dir, blog_dir):
        shutil.copytree(FIXTURES / "plain", folder)
        (folder / ".env").write_text(f"POSTGRES_PASSWORD=pw-{uuid.uuid4().hex}\n")
    compose = shop_dir / "docker-compose.yml"
    compose.write_text(f"name: shop-{tag}\n" + compose.read_text())
    # The files' name: for one; the folder's name, normalised as compose does, for the other.
    shop, blog = Project(f"shop-{tag}", shop_dir), Project(f"blog{tag}", blog_dir)
    try:
        yield shop, blog
    finally:
        shop.cleanup()
        blog.cleanup()


def test_two_workspaces_without_settings_reset_one_keeps_the_other(
    pair: tuple[Project, Project],
) -> None:
    shop, blog = pair
    for project in (shop, blog):
        plan = json.loads(bootstrap(project.directory, "plan", "--json", "--offline").stdout)
        assert plan["project"] == project.name
        done = bootstrap(project.directory, "up", "--timeout", "90")
        assert done.returncode == 0, done.stderr
        project.exec("db", "psql", "-U", "postgres", "-c", "CREATE TABLE dives (name text)")
        project.exec(
            "db", "psql", "-U", "postgres", "-c", f"INSERT INTO dives VALUES ('{project.name}')"
        )
    shop_before = {str(c["Id"]) for c in shop.containers()}
    assert len(shop_before) == 2
    assert f"{shop.name}_dbdata" in shop.leftovers()["volumes"]

    dry = json.loads(bootstrap(blog.directory, "reset", "--dry-run", "--json").stdout)
    assert dry["would_remove"] == [f"{blog.name}_dbdata"]
    reset = bootstrap(blog.directory, "reset", "--yes", "--json")
    assert reset.returncode == 0, reset.stderr
    assert json.loads(reset.stdout)["removed"] == [f"{blog.name}_dbdata"]

    # The other workspace: same containers, still running, its volume and its rows.
    assert {str(c["Id"]) for c in shop.containers()} == shop_before
    assert all(c["State"]["Running"] for c in shop.containers())
    assert f"{shop.name}_dbdata" in shop.leftovers()["volumes"]
    assert rows(shop) == shop.name
    # The snapshot holds the blog's volume only, in the blog's folder.
    manifests = list((blog.directory / ".bootstrap" / "snapshots").glob("*/manifest.json"))
    assert len(manifests) == 1
    saved = [v["name"] for v in json.loads(manifests[0].read_text())["volumes"]]
    assert saved == [f"{blog.name}_dbdata"]
    assert not (shop.directory / ".bootstrap" / "snapshots").exists()
    # The shared package caches are nobody's data: both resets leave them.
    assert set(cache_volumes()) >= SHARED_CACHES

    # down in the blog stops only the blog.
    assert bootstrap(blog.directory, "down").returncode == 0
    assert {str(c["Id"]) for c in shop.containers()} == shop_before
