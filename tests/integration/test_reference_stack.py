"""The README's main command on the repository's own compose files: `bootstrap up --profile
mcp` brings the seed's infrastructure to all-healthy, and every part answers for real."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bootstrap.mcp_client import call_tool, handshake
from tests.conftest import Project, free_port, free_subnet_base

pytestmark = pytest.mark.docker
REPO = Path(__file__).resolve().parents[2]
STACK_FILES = (
    "docker-compose.yml",
    "docker-compose.mcp-persistent.yml",
    ".env",
    "pyproject.toml",
    "README.md",
)
STACK_DIRS = ("bootstrap", "docker", "services")


@pytest.fixture
def reference(tmp_path: Path) -> Iterator[Project]:
    directory = tmp_path / "react_scuba"
    directory.mkdir()
    for name in STACK_FILES:
        shutil.copy2(REPO / name, directory / name)
    for name in STACK_DIRS:
        shutil.copytree(
            REPO / name, directory / name, ignore=shutil.ignore_patterns("__pycache__", ".venv")
        )
    project = Project(
        f"rs{uuid.uuid4().hex[:8]}",
        directory,
        {
            "NET_PREFIX": free_subnet_base(),
            "DISCOVERY_HOST_PORT": str(free_port(7000, 7099)),
            "MCP_HOST_PORT": str(free_port(3100, 3199)),
            "PROMETHEUS_HOST_PORT": str(free_port(9000, 9099)),
            "ALERTMANAGER_HOST_PORT": str(free_port(9100, 9199)),
        },
    )
    files = ["-f", "docker-compose.yml", "-f", "docker-compose.mcp-persistent.yml"]
    dummy = {
        "POSTGRES_PASSWORD": "x",
        "MARIADB_ROOT_PASSWORD": "x",
        "DISCOVERY_TOKEN": "x",
    }  # build interpolates too
    built = project.compose(*files, "--profile", "mcp", "build", env=dummy)  # as they are now
    assert built.returncode == 0, built.stderr
    try:
        yield project
    finally:
        project.cleanup()


def get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def eventually(check: Callable[[], bool], what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, KeyError, ValueError) as exc:
            last = exc
        time.sleep(1)
    raise AssertionError(f"gave up waiting for {what}: {last}")


def test_reference_stack_up_answers_for_real_and_keeps_data(reference: Project) -> None:
    p = reference
    up = p.run("--profile", "mcp", "up", "--timeout", "300", timeout=1200)
    assert up.returncode == 0, up.stderr
    assert "generated secret POSTGRES_PASSWORD" in up.stderr
    assert (p.directory / ".secrets" / "POSTGRES_PASSWORD").stat().st_mode & 0o077 == 0

    # bootstrap's own probes: SQL on both databases, all healthy.
    status = json.loads(p.run("--profile", "mcp", "status", "--json", check=0).stdout)
    assert status["healthy"] is True
    by_name = {s["service"]: s for s in status["services"]}
    assert "SELECT 1" in by_name["postgres"]["detail"]
    assert "SELECT 1" in by_name["mariadb"]["detail"]
    assert {s["phase"] for s in status["services"]} == {
        "databases",
        "discovery",
        "apps",
        "monitoring",
    }

    # Least privilege: only the proxy mounts the socket; the images we build run unprivileged.
    # (--profile mcp: the supervisor's proxy is not there)
    sockets = [
        str(c["Config"]["Labels"]["com.docker.compose.service"])
        for c in p.containers()
        if any("docker.sock" in str(m.get("Source")) for m in c["Mounts"])
    ]
    assert sockets == ["docker-proxy"]
    for service in ("discovery", "scuba-mcp"):
        inspected = p.container(service)
        user = str(inspected["Config"]["User"])
        host = inspected["HostConfig"]
        assert user and not user.startswith(("0", "root")), (service, user)
        assert host["ReadonlyRootfs"] is True
        assert host["CapDrop"] == ["ALL"]
        assert "no-new-privileges:true" in host["SecurityOpt"]
    # From inside discovery: reads pass, a write is refused by the proxy.
    api = "http://docker-proxy:2375/v1.41"
    script = (
        "import urllib.request as u, urllib.error as e\n"
        f"print(u.urlopen('{api}/containers/json', timeout=5).status)\n"
        "try:\n"
        f"    u.urlopen(u.Request('{api}/containers/create', data=b'{{}}', "
        "headers={'Content-Type': 'application/json'}), timeout=5)\n"
        "except e.HTTPError as x:\n"
        "    print(x.code)\n"
        "try:\n"
        f"    u.urlopen('{api}/images/json', timeout=5)\n"
        "except e.HTTPError as x:\n"
        "    print(x.code)\n"
    )
    answered = p.exec("discovery", "python", "-c", script)
    assert answered.stdout.split() == ["200", "403", "403"], answered.stderr

    # The MCP server: handshake, tools/list, and a tool that reads PostgreSQL.
    mcp_port = int(p.env["MCP_HOST_PORT"])
    report = handshake("127.0.0.1", mcp_port)
    assert report.server_name == "react-scuba-dives"
    assert {"list_dive_sites", "add_dive_site", "search_dive_sites"} <= set(report.tools)
    found = call_tool("127.0.0.1", mcp_port, "search_dive_sites", {"query": "belize"})
    assert found["structuredContent"]["result"][0]["name"] == "Blue Hole"

    # The discovery service lists every labelled service, all up.
    discovery = f"http://127.0.0.1:{p.env['DISCOVERY_HOST_PORT']}"
    labelled = {
        "postgres",
        "mariadb",
        "discovery",
        "scuba-mcp",
        "prometheus",
        "node-exporter",
        "postgres-exporter",
        "mysqld-exporter",
        "alertmanager",
    }

    def all_registered_up() -> bool:
        listed = {s["service"]: s["status"] for s in get_json(f"{discovery}/services")["services"]}
        return set(listed) == labelled and set(listed.values()) == {"up"}

    eventually(all_registered_up, "discovery to list every labelled service as up")

    # Prometheus scrapes what discovery registered (file_sd), plus itself; all up.
    prometheus = f"http://127.0.0.1:{p.env['PROMETHEUS_HOST_PORT']}"
    wanted = {
        "prometheus",
        "discovery",
        "node-exporter",
        "postgres-exporter",
        "mysqld-exporter",
        "alertmanager",
    }

    def targets_up() -> bool:
        active = get_json(f"{prometheus}/api/v1/targets")["data"]["activeTargets"]
        health = {t["labels"]["job"]: t["health"] for t in active}
        return wanted <= set(health) and all(health[j] == "up" for j in wanted)

    eventually(targets_up, "Prometheus targets up")

    # Limits as declared, measured by the engine.
    assert p.container("postgres")["HostConfig"]["Memory"] == 256 * 1024**2
    # Every capacity rule's expression has data to work on (no rule watches nothing).
    for expression in (
        "bootstrap_container_memory_bytes / on(exported_service) "
        "bootstrap_container_memory_limit_bytes",
        "sum by (job) (pg_stat_database_numbackends) / on(job) "
        "max by (job) (pg_settings_max_connections)",
        "mysql_global_status_threads_connected / on(job) mysql_global_variables_max_connections",
        "node_filesystem_avail_bytes / node_filesystem_size_bytes",
    ):
        query = urllib.parse.urlencode({"query": expression})
        found = get_json(f"{prometheus}/api/v1/query?{query}")["data"]["result"]
        assert found, expression
    alerts_fire_and_resolve(p, discovery)

    # A row written before survives down + up.
    call_tool(
        "127.0.0.1",
        mcp_port,
        "add_dive_site",
        {"name": "Richelieu Rock", "country": "Thailand", "max_depth_m": 35},
    )
    assert p.run("down", check=0).returncode == 0
    again = p.run("--profile", "mcp", "up", "--timeout", "300", timeout=900)
    assert again.returncode == 0, again.stderr
    sites = call_tool("127.0.0.1", mcp_port, "list_dive_sites", {})
    assert "Richelieu Rock" in {s["name"] for s in sites["structuredContent"]["result"]}


def test_the_reference_stacks_own_supervisor_restarts_the_mcp_server_after_postgres(
    reference: Project,
) -> None:
    """--profile supervise: the supervisor as a service of the stack, behind its own proxy;
    `docker restart` of PostgreSQL gets scuba-mcp (depends_on.restart) restarted once
    PostgreSQL answers again, and the MCP server answers after."""
    p = reference
    (p.directory / ".bootstrap").mkdir(exist_ok=True)
    profiles = ("--profile", "mcp", "--profile", "supervise")
    up = p.run(*profiles, "up", "--timeout", "300", timeout=1200)
    assert up.returncode == 0, up.stderr
    log = p.directory / ".bootstrap" / "supervision.jsonl"

    def actions() -> list[dict[str, Any]]:
        text = log.read_text() if log.exists() else ""
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def seen(service: str, kind: str) -> bool:
        return any(a["service"] == service and a["kind"] == kind for a in actions())

    eventually(lambda: seen("", "watching"), "the supervisor watching", timeout=60)
    before = p.container("scuba-mcp")["State"]["StartedAt"]
    subprocess.run(["docker", "restart", str(p.container("postgres")["Id"])], check=True)
    eventually(lambda: seen("scuba-mcp", "ready"), "scuba-mcp restarted and re-gated", 120)
    kinds = [(a["service"], a["kind"]) for a in actions()]
    assert kinds.index(("postgres", "back")) < kinds.index(("scuba-mcp", "restarted"))
    assert p.container("scuba-mcp")["State"]["StartedAt"] != before
    mcp_port = int(p.env["MCP_HOST_PORT"])
    assert "structuredContent" in call_tool("127.0.0.1", mcp_port, "list_dive_sites", {})
    shown = p.run(*profiles, "status", check=0).stdout
    assert "supervisor: running in the stack" in shown, shown
    assert p.run("down", check=0).returncode == 0
    assert not p.containers()


def alerts_fire_and_resolve(p: Project, discovery: str) -> None:
    """A stopped exporter: Prometheus's rules fire, Alertmanager calls discovery's webhook,
    `bootstrap status` shows the alerts; started again, they resolve."""
    alertmanager = f"http://127.0.0.1:{p.env['ALERTMANAGER_HOST_PORT']}"
    wanted = {("ServiceDown", "mysqld-exporter"), ("ScrapeTargetDown", "mysqld-exporter")}
    exporter = str(p.container("mysqld-exporter")["Id"])

    def in_alertmanager() -> set[tuple[str, str]]:
        with urllib.request.urlopen(f"{alertmanager}/api/v2/alerts?active=true", timeout=5) as r:
            listed = json.loads(r.read())
        return {(a["labels"]["alertname"], a["labels"].get("service", "")) for a in listed}

    def in_discovery() -> set[tuple[str, str]]:
        listed = get_json(f"{discovery}/alerts")["alerts"]
        return {(a["name"], a["service"]) for a in listed}

    stopped = time.monotonic()
    assert subprocess.run(["docker", "stop", exporter], capture_output=True).returncode == 0
    # The rules' `for: 15s`, a 5 s scrape and evaluation, Alertmanager's 2 s group wait.
    eventually(lambda: wanted <= in_alertmanager(), "the alerts in Alertmanager", timeout=90)
    eventually(lambda: wanted <= in_discovery(), "the alerts at the discovery webhook", 30)
    fired = time.monotonic() - stopped
    status = json.loads(p.run("--profile", "mcp", "status", "--json", check=1).stdout)
    assert wanted <= {(a["name"], a["service"]) for a in status["alerts"]}
    shown = p.run("--profile", "mcp", "status", check=1).stdout
    assert "alerts firing:" in shown and "ScrapeTargetDown" in shown

    assert subprocess.run(["docker", "start", exporter], capture_output=True).returncode == 0
    eventually(lambda: not (wanted & in_discovery()), "the alerts to resolve", timeout=90)
    assert not (wanted & in_alertmanager())
    assert fired < 90


RULES = REPO / "docker" / "prometheus" / "alerts.yml"


def promtool(*args: str, mounts: dict[Path, str]) -> subprocess.CompletedProcess[str]:
    """promtool from the Prometheus image, with ``mounts`` (local file -> path in it)."""
    volumes = [flag for local, inside in mounts.items() for flag in ("-v", f"{local}:{inside}:ro")]
    return subprocess.run(
        ["docker", "run", "--rm", *volumes, "--entrypoint", "promtool", "prom/prometheus:latest",
         *args],
        capture_output=True,
        text=True,
    )  # fmt: skip


def test_alert_rules_pass_promtool() -> None:
    done = promtool("check", "rules", "/rules.yml", mounts={RULES: "/rules.yml"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 7 rules found" in done.stdout


def test_the_crash_loop_alert_fires_on_the_first_report_and_on_the_next() -> None:
    """promtool's rule unit test (tests/fixtures/prometheus/crash-loop-test.yml): the series
    the supervisor's reports make, and when ServiceCrashLooping fires."""
    case = REPO / "tests" / "fixtures" / "prometheus" / "crash-loop-test.yml"
    done = promtool("test", "rules", "/test.yml", mounts={RULES: "/rules.yml", case: "/test.yml"})
    assert done.returncode == 0 and "SUCCESS" in done.stdout, done.stdout + done.stderr


def test_every_profile_validates(reference: Project) -> None:
    """Grafana, cAdvisor, BuildKit and the runner have no images here; their configuration is
    still validated."""
    done = reference.run("--profile", "*", "validate", "--offline")
    assert done.returncode == 0, done.stderr
    plan = json.loads(
        reference.run("--profile", "*", "plan", "--json", "--offline", check=0).stdout
    )
    assert plan["services"]["grafana"]["phase"] == "monitoring"
    assert plan["services"]["node-bootstrap"]["probe"]["kind"] == "completed"
    # The build tier on its own network, and the runner wired to BuildKit's remote driver.
    files = ["-f", "docker-compose.yml", "-f", "docker-compose.mcp-persistent.yml"]
    dummy = {"POSTGRES_PASSWORD": "x", "MARIADB_ROOT_PASSWORD": "x", "DISCOVERY_TOKEN": "x"}
    done = reference.compose(*files, "--profile", "*", "config", "--format", "json", env=dummy)
    config = json.loads(done.stdout)
    services = config["services"]
    assert set(services["buildkit"]["networks"]) == {"build"}
    assert set(services["github-runner"]["networks"]) == {"build"}
    assert "build" not in services["postgres"]["networks"]
    runner = services["github-runner"]["environment"]
    assert runner["BUILDKIT_HOST"] == "tcp://buildkit:1234" and "DOCKER_HOST" not in runner
    findings = json.loads(
        reference.run("--profile", "*", "validate", "--json", "--offline", check=0).stdout
    )["findings"]
    assert not [f for f in findings if f["rule"] in ("docker-socket", "privileged", "sys-admin")]
    assert [p["name"] for p in plan["phases"]] == ["databases", "discovery", "apps", "monitoring"]
