"""The seed's "Horizontal Scaling" on the reference stack (`--profile scale`): scuba-mcp as
three stateless replicas behind a load balancer, each replica probed, MCP requests reaching
every one; a PostgreSQL streaming replica ready only when it replays from the primary; the
MCP server's reads on the replica and its writes on the primary."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from typing import Any

import pytest

from bootstrap.mcp_client import call_tool, handshake
from tests.conftest import Project, free_port
from tests.integration.test_reference_stack import eventually, reference  # noqa: F401
from tests.integration.test_swarm import of_stack, remove_stack, services, swarm  # noqa: F401

pytestmark = pytest.mark.docker


def psql(container: str, sql: str) -> str:
    done = subprocess.run(
        ["docker", "exec", container, "psql", "-U", "scuba", "-d", "scuba", "-tAc", sql],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def initialize_through(port: int) -> tuple[str, dict[str, Any]]:
    """One MCP initialize request through the load balancer: who answered, and the answer."""
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "bootstrap-tests", "version": "0"},
        },
    }
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/mcp",
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
        upstream = response.headers["X-Upstream"]
    data = [line[5:] for line in text.splitlines() if line.startswith("data:")]
    return upstream, json.loads(data[0] if data else text)


def names(result: dict[str, Any]) -> set[str]:
    rows = result.get("structuredContent", {}).get("result", [])
    return {row["name"] for row in rows}


def test_scale_profile_replicas_behind_a_balancer_and_a_read_replica(
    reference: Project,  # noqa: F811
) -> None:
    lb_port = free_port(3100, 3199)
    reference.env["MCP_LB_HOST_PORT"] = str(lb_port)
    done = reference.run("--profile", "scale", "up", "--json", timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    ready = {e["service"]: e for e in events if e.get("state") == "ready"}
    assert {"postgres", "postgres-replica", "scuba-mcp-scaled", "scuba-mcp-lb"} <= set(ready)
    assert "3 replicas ready" in ready["scuba-mcp-scaled"]["detail"]
    assert "MCP" in ready["scuba-mcp-scaled"]["detail"]
    assert "streaming" in ready["postgres-replica"]["detail"]

    containers = {c["Name"].lstrip("/"): c for c in reference.containers()}
    replicas = [
        c
        for c in containers.values()
        if c["Config"]["Labels"]["com.docker.compose.service"] == "scuba-mcp-scaled"
    ]
    assert len(replicas) == 3
    addresses = set()
    for replica in replicas:
        assert replica["State"]["Running"]
        bound = replica["NetworkSettings"]["Ports"]["8000/tcp"][0]
        assert bound["HostIp"] == "127.0.0.1"
        assert handshake("127.0.0.1", int(bound["HostPort"])).tools  # each replica answers
        networks = replica["NetworkSettings"]["Networks"]
        addresses.add(next(iter(networks.values()))["IPAddress"] + ":8000")

    # The balancer answers the handshake and spreads requests over every replica.
    assert handshake("127.0.0.1", lb_port).tools
    seen = set()
    for _ in range(12):
        upstream, answer = initialize_through(lb_port)
        assert answer["result"]["serverInfo"]["name"] == "react-scuba-dives"
        seen.add(upstream)
    assert seen == addresses, (seen, addresses)

    # The replica streams from the primary.
    primary = reference.container("postgres")["Name"].lstrip("/")
    standby = reference.container("postgres-replica")["Name"].lstrip("/")
    assert (
        psql(primary, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") == "1"
    )
    assert psql(standby, "SELECT pg_is_in_recovery()") == "t"

    # Writes go to the primary, reads to the replica: with replay paused on the replica, a
    # new row is on the primary and not (yet) in what the MCP server reads.
    psql(standby, "SELECT pg_wal_replay_pause()")
    try:
        added = call_tool(
            "127.0.0.1",
            lb_port,
            "add_dive_site",
            {
                "name": "Shark Reef",
                "country": "Fiji",
                "max_depth_m": 30.0,
            },
        )
        assert not added.get("isError"), added
        assert psql(primary, "SELECT count(*) FROM dive_sites WHERE name = 'Shark Reef'") == "1"
        found = call_tool("127.0.0.1", lb_port, "search_dive_sites", {"query": "Shark"})
        assert names(found) == set(), found
    finally:
        psql(standby, "SELECT pg_wal_replay_resume()")
    eventually(
        lambda: (
            names(call_tool("127.0.0.1", lb_port, "search_dive_sites", {"query": "Shark"}))
            == {"Shark Reef"}
        ),
        "the row written through the MCP server, read back through the replica",
        timeout=30,
    )

    # Status probes every replica, and says so (--probe: asked now, not the passes up saw).
    status = json.loads(
        reference.run("--profile", "scale", "status", "--probe", "--json", check=0).stdout
    )
    rows = {row["service"]: row for row in status["services"]}
    assert rows["scuba-mcp-scaled"]["ready"], rows["scuba-mcp-scaled"]
    assert rows["scuba-mcp-scaled"]["detail"].startswith("3/3 replicas ready: MCP")
    assert "streaming" in rows["postgres-replica"]["detail"]

    # Down stops every replica (the balancer first, the databases last) and keeps the data.
    down = reference.run("--profile", "scale", "down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert not [c for c in reference.containers() if c["State"]["Running"]]


SWARM_SETTINGS = """
# This machine has no IPVS: DNS round robin and host-mode ports; images exist only here.
swarm_endpoint_mode = "dnsrr"
swarm_publish_mode = "host"
swarm_resolve_image = "never"
"""


@pytest.mark.swarm
def test_scale_profile_on_swarm_behind_swarms_own_service_discovery(
    reference: Project,  # noqa: F811
    swarm: None,  # noqa: F811
) -> None:
    """The same profile as a stack: the replicas found through Swarm's DNS (tasks.NAME, and the
    service name the balancer resolves), each probed from the stack's network."""
    pyproject = reference.directory / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(text.replace("[tool.bootstrap]\n", "[tool.bootstrap]" + SWARM_SETTINGS, 1))
    lb_port = free_port(3100, 3199)
    reference.env["MCP_LB_HOST_PORT"] = str(lb_port)
    try:
        done = reference.run(
            "--backend",
            "swarm",
            "--profile",
            "scale",
            "up",
            "--json",
            "--timeout",
            "180",
            timeout=900,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        ready = {e["service"]: e for e in events if e.get("state") == "ready"}
        assert "3 replicas ready: MCP" in ready["scuba-mcp-scaled"]["detail"]
        assert "streaming" in ready["postgres-replica"]["detail"]
        assert "MCP" in ready["scuba-mcp-lb"]["detail"]

        stack = reference.name
        tasks = of_stack("container", stack)
        inspected = json.loads(
            subprocess.run(["docker", "inspect", *tasks], capture_output=True, text=True).stdout
        )
        addresses = {
            next(iter(c["NetworkSettings"]["Networks"].values()))["IPAddress"] + ":8000"
            for c in inspected
            if c["Config"]["Labels"]["com.docker.swarm.service.name"] == f"{stack}_scuba-mcp-scaled"
        }
        assert len(addresses) == 3
        seen = {initialize_through(lb_port)[0] for _ in range(12)}
        assert seen == addresses, (seen, addresses)
        added = call_tool(
            "127.0.0.1",
            lb_port,
            "add_dive_site",
            {
                "name": "Manta Point",
                "country": "Indonesia",
                "max_depth_m": 18.0,
            },
        )
        assert not added.get("isError"), added
        eventually(
            lambda: (
                "Manta Point"
                in names(call_tool("127.0.0.1", lb_port, "search_dive_sites", {"query": "Manta"}))
            ),
            "the row written through the MCP server, read back through the replica",
            timeout=30,
        )
        down = reference.run("--backend", "swarm", "--profile", "scale", "down", timeout=300)
        assert down.returncode == 0, down.stdout + down.stderr
        assert not services(stack)
    finally:
        reference.run("--backend", "swarm", "--profile", "scale", "down", timeout=300)
        remove_stack(reference.name)
