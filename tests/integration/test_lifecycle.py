"""The main job on the real engine: ordered bring-up with real SQL probes, status, the
idempotent re-run, down/up keeping data, reset + restore, cache volumes."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bootstrap.backends.compose.driver import EARLY_NOTE
from tests.conftest import SHARED_CACHES, Project, cache_volumes, free_port
from tests.integration.test_reference_stack import eventually

pytestmark = pytest.mark.docker

SECRET = "s3cret-Pg-pw-4711"
PHASES = ["databases", "discovery", "apps", "monitoring"]


def events(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def psql(project: Project, sql: str) -> str:
    done = project.exec(
        "postgres", "psql", "-h", "127.0.0.1", "-U", "app", "-d", "app", "-tAc", sql
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def maria(project: Project, sql: str) -> str:
    done = project.exec("mariadb", "mariadb", "-uroot", "-prootpw", "legacy", "-N", "-e", sql)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def assert_phase_order(ready: list[dict[str, object]], phase_of: dict[str, str]) -> None:
    """Each service's verdict comes after every verdict of the phases before its own."""
    ranks = [PHASES.index(phase_of[str(e["service"])]) for e in ready]
    assert ranks == sorted(ranks), [(e["service"], e["timestamp"]) for e in ready]


@pytest.fixture
def ordered(make_project: Callable[..., Project]) -> Project:
    return make_project("ordered", POSTGRES_PASSWORD=SECRET, APP_PORT=str(free_port()))


@pytest.mark.data
def test_up_in_phase_order_then_status_rerun_down_up_reset_restore(ordered: Project) -> None:
    p = ordered
    first = p.run("up", "--json", "--timeout", "90")
    assert first.returncode == 0, first.stderr
    stream = events(first.stdout)
    summary = stream[-1]
    assert summary["state"] == "summary" and summary["ok"] is True

    # Phase order, seen from the engine: each phase starts after the previous one started.
    started = {
        c["Config"]["Labels"]["com.docker.compose.service"]: c["State"]["StartedAt"]
        for c in p.containers()
    }
    plan = json.loads(p.run("plan", "--json", "--offline", check=0).stdout)
    phase_of = {name: s["phase"] for name, s in plan["services"].items()}
    for earlier, later in itertools.pairwise(PHASES):
        latest_earlier = max(t for n, t in started.items() if phase_of[n] == earlier)
        earliest_later = min(t for n, t in started.items() if phase_of[n] == later)
        assert latest_earlier < earliest_later, (earlier, later, started)

    # The app starts only after PostgreSQL answered SELECT 1 (its depends_on is healthy).
    pg_ready = next(e for e in stream if e["service"] == "postgres" and e["state"] == "ready")
    app_start = next(e for e in stream if e["service"] == "app" and e["state"] == "starting")
    assert "SELECT 1" in str(pg_ready["detail"])
    assert float(app_start["timestamp"]) >= float(pg_ready["timestamp"])  # type: ignore[arg-type]
    maria_ready = next(e for e in stream if e["service"] == "mariadb" and e["state"] == "ready")
    assert "SELECT 1" in str(maria_ready["detail"])
    assert summary["critical_chain"][-1] == "prometheus"  # type: ignore[index]

    # The run was recorded; trace renders it (text, a self-contained page, JSON).
    timeline = p.run("trace", check=0).stdout
    assert all(name in timeline for name in phase_of) and "critical chain" in timeline
    page = p.directory / "up.html"
    p.run("trace", "--html", str(page), check=0)
    assert page.read_text().count("data-service=") == len(phase_of)
    record = json.loads(p.run("trace", "--json", check=0).stdout)
    assert record["versions"]["compose"] and record["versions"]["engine"]
    # Each change of a probe's outcome is kept, the last being what made it ready.
    assert all(entry["observed"] for entry in record["services"].values())
    assert "SELECT 1" in record["services"]["postgres"]["observed"][-1]["saw"]
    assert SECRET not in page.read_text()

    # status: all healthy.
    status = json.loads(p.run("status", "--json", check=0).stdout)
    assert status["healthy"] is True
    assert {s["service"]: s["ready"] for s in status["services"]} == dict.fromkeys(phase_of, True)

    # Re-running up recreates and restarts nothing; what runs is asked at once (not phase
    # after phase), and the verdicts still come phase by phase.
    before = {c["Id"]: c["State"]["StartedAt"] for c in p.containers()}
    again = p.run("up", "--json", "--timeout", "60")
    assert again.returncode == 0, again.stderr
    assert {c["Id"]: c["State"]["StartedAt"] for c in p.containers()} == before
    rerun = {e["service"]: e for e in events(again.stdout) if e["state"] == "ready"}
    asked_at_once = {n for n, e in rerun.items() if EARLY_NOTE in str(e["detail"])}
    # each asked from here or inside its container (wget, psql): none needs the helper
    assert asked_at_once == set(phase_of), {n: e["detail"] for n, e in rerun.items()}
    assert_phase_order([e for e in events(again.stdout) if e["state"] == "ready"], phase_of)
    # A container that was stopped is started in its phase, after what it waits for.
    subprocess.run(
        ["docker", "stop", "-t", "1", p.container("app")["Id"]], check=True, capture_output=True
    )
    third = p.run("up", "--json", "--timeout", "60")
    assert third.returncode == 0, third.stderr
    stream = events(third.stdout)
    probing = next(e for e in stream if e["service"] == "app" and e["state"] == "probing")
    assert str(probing["detail"]).startswith("started"), probing
    app_ready = next(e for e in stream if e["service"] == "app" and e["state"] == "ready")
    assert EARLY_NOTE not in str(app_ready["detail"])
    assert_phase_order([e for e in stream if e["state"] == "ready"], phase_of)

    # Rows survive down + up.
    psql(p, "CREATE TABLE dives (site text); INSERT INTO dives VALUES ('Blue Hole')")
    maria(p, "CREATE TABLE logs (site varchar(40)); INSERT INTO logs VALUES ('Thistlegorm')")
    p.run("down", check=0)
    assert p.leftovers()["containers"] == []
    assert p.run("up", "--timeout", "90").returncode == 0
    assert psql(p, "SELECT site FROM dives") == "Blue Hole"
    assert maria(p, "SELECT site FROM logs") == "Thistlegorm"

    # reset keeps a decoy volume (prefix, no label) and the caches; restore brings rows back.
    decoy = f"{p.name}_pgdata_backup"
    subprocess.run(["docker", "volume", "create", decoy], check=True, capture_output=True)
    try:
        dry = p.run("reset", "--dry-run", "--json", check=0)
        would = json.loads(dry.stdout)["would_remove"]
        assert f"{p.name}_pgdata" in would and decoy not in would
        assert not any(v.endswith("_cache") for v in would)
        assert p.leftovers()["containers"]  # dry run changed nothing

        reset = p.run("reset", "--yes", "--json", check=0)
        snapshot = json.loads(reset.stdout)["snapshot"]
        volumes = p.leftovers()["volumes"]
        assert decoy in volumes
        assert set(cache_volumes()) >= SHARED_CACHES
        assert f"{p.name}_pgdata" not in volumes
        assert p.leftovers()["containers"] == []

        p.run("restore", check=0)
        assert snapshot
        assert p.run("up", "--timeout", "90").returncode == 0
        assert psql(p, "SELECT site FROM dives") == "Blue Hole"
        assert maria(p, "SELECT site FROM logs") == "Thistlegorm"
    finally:
        subprocess.run(["docker", "volume", "rm", "-f", decoy], capture_output=True)


def test_cache_volume_belongs_to_the_dev_user(make_project: Callable[..., Project]) -> None:
    p = make_project("ordered", POSTGRES_PASSWORD=SECRET, APP_PORT=str(free_port()))
    setup = json.loads(p.run("cache", "setup", "--json", check=0).stdout)
    assert setup["environment"]["UV_LINK_MODE"] == "copy"
    uv = next(v for v in setup["volumes"] if v["kind"] == "uv")
    owner = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "-u",
            "1000:1000",
            "-v",
            f"{uv['name']}:/cache",
            "busybox",
            "sh",
            "-c",
            "touch /cache/probe && stat -c %u:%g /cache",
        ],
        capture_output=True,
        text=True,
    )
    assert owner.returncode == 0, owner.stderr
    assert owner.stdout.strip() == "1000:1000"


@pytest.mark.security
def test_secret_never_printed(ordered: Project) -> None:
    outputs = [
        ordered.run("plan", "--json", "--explain"),
        ordered.run("plan", "--explain"),
        ordered.run("env", "--json"),
        ordered.run("env", "--explain"),
        ordered.run("validate", "--json"),
    ]
    for done in outputs:
        assert done.returncode == 0, done.stderr
        assert SECRET not in done.stdout + done.stderr
    env = json.loads(ordered.run("env", "--json", check=0).stdout)
    assert env["variables"]["POSTGRES_PASSWORD"]["value"] == "********"
    assert env["variables"]["POSTGRES_PASSWORD"]["layer"] == "process environment"
    revealed = json.loads(ordered.run("env", "--json", "--reveal", check=0).stdout)
    assert revealed["variables"]["POSTGRES_PASSWORD"]["value"] == SECRET


def compose_ps(project: Project, *flags: str) -> dict[str, str]:
    """``docker compose ps``'s containers (name -> state), as compose prints them as JSON
    (one object per line, or one list on older releases)."""
    done = project.compose("ps", "--format", "json", *flags)
    assert done.returncode == 0, done.stderr
    text = done.stdout.strip()
    rows = json.loads(text) if text.startswith("[") else [json.loads(x) for x in text.splitlines()]
    return {str(r["Name"]): str(r["State"]) for r in rows}


def exec_events(project: Project, since: str, until: str) -> list[str]:
    """The engine's exec events in the project's containers between two times."""
    done = subprocess.run(
        [
            "docker",
            "events",
            "--since",
            since,
            "--until",
            until,
            "--filter",
            "type=container",
            "--filter",
            f"label=com.docker.compose.project={project.name}",
            "--format",
            "{{.Action}}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return [a for a in done.stdout.split() if a.startswith("exec")]


def assert_ps_lists_what_compose_ps_lists(project: Project, phases: dict[str, str]) -> None:
    """``bootstrap ps`` (and ``-a``) lists the containers ``docker compose ps`` (and ``-a``)
    does, a one-off ``run`` container only with ``-a`` as compose has it, each with the phase of
    the recorded ``up`` (``status`` says the same); it runs nothing in any container."""
    one_off = project.compose("run", "-d", "--no-deps", "db", "sleep", "60")
    assert one_off.returncode == 0, one_off.stderr
    since = subprocess.run(["date", "+%s.%N"], capture_output=True, text=True).stdout.strip()
    for flags in ((), ("-a",), ("--all",)):
        listed = json.loads(project.run("ps", "--json", *flags, check=0).stdout)
        ours = {c["container"]: c["state"] for c in listed["containers"]}
        assert ours == compose_ps(project, *(["-a"] if flags else [])), flags
        assert listed["project"] == project.name
        for row in listed["containers"]:
            assert row["phase"] == phases[row["service"]], row  # as status has it
    for flag in ("-q", "--services"):  # compose's habits, answered as compose does
        for more in ((), ("-a",)):
            said = project.run("ps", flag, *more, check=0).stdout.split()
            printed = project.compose("ps", flag, *more).stdout.split()
            assert sorted(said) == sorted(printed), (flag, more)
    table = project.run("ps", check=0).stdout
    assert table.splitlines()[0].split()[:4] == ["service", "phase", "state", "health"]
    assert "oneshot" not in table  # exited: compose's ps leaves it out without -a
    assert "oneshot" in project.run("ps", "-a", check=0).stdout
    until = subprocess.run(["date", "+%s.%N"], capture_output=True, text=True).stdout.strip()
    assert exec_events(project, since, until) == []  # status asks probes; ps asks nothing


def test_status_and_down_cover_every_container_of_the_project(
    make_project: Callable[..., Project],
) -> None:
    p = make_project("faults", WEB_PORT=str(free_port()))
    up = p.run(
        "--profile",
        "slow",
        "--profile",
        "oneshot",
        "up",
        "--timeout",
        "60",
        env={"SLOW_DELAY": "1"},
    )
    assert up.returncode == 0, up.stderr
    rows = {r["service"]: r for r in json.loads(p.run("status", "--json").stdout)["services"]}
    # Like `docker compose ps`: the running profile services are listed, marked not selected.
    assert rows["db"]["selected"] is True
    assert rows["slow"]["selected"] is False and rows["slow"]["ready"] is True
    # A job that exited 0 is ready to both up (above) and status.
    assert rows["oneshot"]["state"] == "exited" and rows["oneshot"]["ready"] is True
    assert "looper" not in rows  # no container, not asked for: not listed
    plain = p.run("status").stdout
    assert "slow" in plain and "(profile not selected)" in plain
    assert_ps_lists_what_compose_ps_lists(p, {n: str(r["phase"]) for n, r in rows.items()})
    p.run("down", check=0)
    assert p.leftovers()["containers"] == []


def logging_compose(tmp_path: Path) -> tuple[Path, Path]:
    """A DOCKER_CONFIG (``tmp_path/docker``) whose compose plugin logs each call, then runs
    the real one: (the log, the plugins folder)."""
    real = shutil.which("docker-compose") or "/usr/local/lib/docker/cli-plugins/docker-compose"
    log = tmp_path / "calls.log"
    plugins = tmp_path / "docker" / "cli-plugins"
    plugins.mkdir(parents=True)
    (plugins / "docker-compose").write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {real} "$@"\n')
    (plugins / "docker-compose").chmod(0o755)
    return log, plugins


def execs_in(container: str, since: float) -> int:
    """How many execs the engine created in ``container`` from ``since`` (epoch) to now."""
    done = subprocess.run(
        [
            "docker",
            "events",
            "--since",
            f"{since:.3f}",
            "--until",
            f"{time.time():.3f}",
            "--filter",
            f"container={container}",
            "--filter",
            "event=exec_create",
            "--format",
            "{{.Action}}",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return len(done.stdout.splitlines())


def test_status_takes_the_pass_up_saw_until_the_container_restarts(
    make_project: Callable[..., Project],
) -> None:
    """After `up`, status asks no probe of a container up saw ready that has run since
    (PostgreSQL: no exec of psql); `--probe` asks it now; a restart makes status ask again."""
    p = make_project("plain", POSTGRES_PASSWORD="status-pw-1")
    p.run("up", "--timeout", "120", check=0)
    db = str(p.container("db")["Id"])

    before = time.time()
    rows = {r["service"]: r for r in json.loads(p.run("status", "--json").stdout)["services"]}
    assert rows["db"]["ready"] is True and rows["db"]["probed_at"] is not None, rows["db"]
    assert rows["db"]["probed_at"] <= before
    assert "not restarted since" in rows["db"]["detail"]
    assert "SELECT 1" in rows["db"]["detail"]  # what up's probe saw when it passed
    assert execs_in(db, before) == 0

    before = time.time()
    probed = json.loads(p.run("status", "--probe", "--json", check=0).stdout)["services"]
    row = next(r for r in probed if r["service"] == "db")
    assert row["probed_at"] is None and "SELECT 1" in row["detail"], row
    assert execs_in(db, before) >= 1  # psql, in the container

    subprocess.run(["docker", "restart", "-t", "5", db], check=True, capture_output=True)
    asked: list[dict[str, object]] = []

    def asked_now_and_ready() -> bool:
        done = p.run("status", "--json")
        asked.append(next(r for r in json.loads(done.stdout)["services"] if r["service"] == "db"))
        return bool(asked[-1]["ready"])

    eventually(asked_now_and_ready, "PostgreSQL ready again after its restart", timeout=60)
    assert all(row["probed_at"] is None for row in asked), asked  # never the old pass
    p.run("down", check=0)
    assert p.leftovers()["containers"] == []


def test_after_up_a_command_on_the_same_files_takes_the_model_compose_printed(
    tmp_path: Path,
) -> None:
    """`up` keeps compose's `config` answer for its question (binary, arguments, environment,
    the bytes of every file read): `plan`, `env`, `validate`, `status` and the next `up` ask
    compose no `config` while nothing changed, and print what compose's answer gives; a
    changed label_file, env_file or variable is asked again, and read. Only `up` marks the
    answer it took as used (the pruning keeps the answers written or used last)."""
    import uuid

    log, _plugins = logging_compose(tmp_path)
    directory = tmp_path / "ws"
    directory.mkdir()
    (directory / "compose.yaml").write_text(
        "services:\n  app:\n    image: busybox\n    command: [sleep, infinity]\n"
        "    stop_grace_period: 1s\n    environment:\n      TAG: ${TAG:-none}\n"
        "    env_file: app.env\n    label_file: labels.txt\n"
    )
    (directory / "app.env").write_text("GREETING=hello\n")
    (directory / "labels.txt").write_text("bootstrap.phase=databases\n")
    state = tmp_path / "state"
    env = {"DOCKER_CONFIG": str(tmp_path / "docker"), "XDG_STATE_HOME": str(state)}
    p = Project(f"bt{uuid.uuid4().hex[:8]}", directory, env)

    def asked(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
        """How many times compose was asked for the model, and the command's output."""
        log.write_text("")
        done = p.run(*args, env=env, check=0)
        return sum("config --format json" in c for c in log.read_text().splitlines()), done.stdout

    def phase_of_app(plan: str) -> str:
        return str(next(f["name"] for f in json.loads(plan)["phases"] if ["app"] in f["waves"]))

    try:
        assert asked("plan", "--json")[0] == 1
        assert not (state / "bootstrap" / "models").exists()  # a read-only command keeps none
        assert asked("up", "--timeout", "60")[0] == 1
        (answer,) = (state / "bootstrap" / "models").glob("*.json")
        os.utime(answer, ns=(1, 1))
        for command in (("plan", "--json"), ("env",), ("validate",), ("status",), ("up",)):
            assert asked(*command)[0] == 0, command
            # a read-only command leaves the state folder as is; `up` marks the answer used
            assert (answer.stat().st_mtime_ns == 1) == (command != ("up",)), command
        kept, plan = asked("plan", "--json")
        assert kept == 0 and phase_of_app(plan) == "databases"
        elsewhere = {"XDG_STATE_HOME": str(tmp_path / "other-state")}
        assert asked("plan", "--json", env=elsewhere) == (1, plan)  # compose's own answer
        (directory / "labels.txt").write_text("bootstrap.phase=monitoring\n")
        count, plan = asked("plan", "--json")
        assert count == 1 and phase_of_app(plan) == "monitoring"
        (directory / "app.env").write_text("GREETING=changed\n")
        assert asked("up", "--timeout", "60")[0] == 1
        assert "GREETING=changed" in p.exec("app", "env").stdout
        assert asked("plan", "--json")[0] == 0  # what that `up` kept
        assert asked("up", "--timeout", "60", env={"TAG": "v2"})[0] == 1  # another variable
        assert "TAG=v2" in p.exec("app", "env").stdout
    finally:
        p.cleanup()


def test_a_rerun_of_the_same_model_takes_the_hashes_compose_gave_last_time(
    make_project: Callable[..., Project], tmp_path: Path
) -> None:
    """`up` keeps compose's config hashes with the model they are of (and the binary): a
    re-run of the same model asks compose `config` alone and recreates nothing; a changed
    service is recreated, as compose would; another compose binary is asked again."""
    log, plugins = logging_compose(tmp_path)
    env = {"DOCKER_CONFIG": str(tmp_path / "docker"), "XDG_STATE_HOME": str(tmp_path / "state")}
    p = make_project("plain", POSTGRES_PASSWORD="hashes-pw", **env)

    def up() -> list[str]:
        log.write_text("")
        done = p.run("up", "--timeout", "120")
        assert done.returncode == 0, done.stderr
        return [line for line in log.read_text().splitlines() if "--hash" in line]

    def started() -> dict[str, str]:
        return {c["Name"].lstrip("/"): c["State"]["StartedAt"] for c in p.containers()}

    assert up() == []  # nothing to compare with yet: no hashes asked
    assert len(up()) == 1  # a re-run: compose asked, its answer kept
    kept = json.loads((tmp_path / "state" / "bootstrap" / "config-hashes.json").read_text())
    (entry,) = kept.values()
    theirs = p.compose("config", "--hash", "*", env=env).stdout.split()
    assert entry["hashes"] == dict(zip(theirs[::2], theirs[1::2], strict=True))
    before = started()
    assert up() == []  # the same model: the kept hashes, no second compose process
    assert started() == before  # and nothing recreated or restarted
    compose_file = p.directory / "docker-compose.yml"
    compose_file.write_text(
        compose_file.read_text().replace("stop_grace_period: 1s", "stop_grace_period: 2s")
    )
    assert len(up()) == 1  # another model: compose asked again
    after = started()
    changed = {name for name in after if after[name] != before.get(name)}
    assert changed == {f"{p.name}-web-1"}, changed  # web's config changed; db's did not
    (plugins / "docker-compose").write_text(
        (plugins / "docker-compose").read_text() + "# another binary\n"
    )
    assert len(up()) == 1  # another binary's hash rule: asked again
