"""The stack file Swarm gets: only the services deployed so far, in the keys it accepts, with
what it ignores said before anything is deployed."""

from __future__ import annotations

from typing import Any

from bootstrap.backends.swarm.stackfile import (
    SwarmOptions,
    stack_document,
    stack_name,
    swarm_findings,
)
from bootstrap.model import stack_from_compose
from bootstrap.plan import build_plan
from bootstrap.settings import Settings


def compose_document() -> dict[str, Any]:
    """Shaped as `docker compose config --format json` prints it."""
    return {
        "name": "shop.dev",
        "services": {
            "db": {
                "image": "postgres:17",
                "container_name": "db",
                "environment": {"POSTGRES_PASSWORD": "pw", "UNSET": None},
                "volumes": [
                    {
                        "type": "volume",
                        "source": "dbdata",
                        "target": "/var/lib/postgresql/data",
                        "volume": {},
                    },
                    {
                        "type": "bind",
                        "source": "/srv/init",
                        "target": "/docker-entrypoint-initdb.d",
                        "bind": {"create_host_path": True},
                    },
                ],
                "networks": {"back": {"ipv4_address": "172.28.0.20"}},
                "deploy": {
                    "resources": {"limits": {"cpus": 1, "memory": "268435456"}},
                    "placement": {},
                },
            },
            "web": {
                "image": "nginx",
                "ports": [
                    {"target": 80, "published": "8080", "host_ip": "127.0.0.1", "protocol": "tcp"},
                    {"target": 9000, "host_ip": "127.0.0.1", "protocol": "tcp"},  # ephemeral
                ],
                "read_only": True,
                "tmpfs": ["/tmp", "/run:size=64m"],
                "depends_on": {"db": {"condition": "service_healthy", "required": True}},
                "networks": {"back": None},
                "configs": [{"source": "site", "target": "/etc/nginx/conf.d/site.conf"}],
                "privileged": True,
            },
            "migrate": {
                "image": "busybox",
                "labels": {"bootstrap.probe": "completed"},
                "networks": {"back": None},
            },
        },
        "networks": {
            "back": {"name": "shop.dev_back", "ipam": {"config": [{"subnet": "172.28.0.0/24"}]}}
        },
        "volumes": {"dbdata": {"name": "shop.dev_dbdata"}},
        "configs": {"site": {"name": "shop.dev_site", "content": "server {}"}},
    }


def plan_of(document: dict[str, Any]) -> Any:
    return build_plan(stack_from_compose(document), Settings(project="shop.dev"))


def test_only_the_services_so_far_in_swarms_keys() -> None:
    document = compose_document()
    plan = plan_of(document)
    options = SwarmOptions(endpoint_mode="dnsrr", publish_mode="host", resolve_image="never")
    first, files = stack_document(document, ["db"], plan, options, {})
    assert stack_name("shop.dev") == "shop-dev"
    assert set(first["services"]) == {"db"}
    db = first["services"]["db"]
    assert "container_name" not in db and "depends_on" not in db
    assert db["networks"] == ["back"]  # no static address on an overlay
    assert db["environment"] == {"POSTGRES_PASSWORD": "pw"}
    assert db["volumes"][1] == {
        "type": "bind",
        "source": "/srv/init",
        "target": "/docker-entrypoint-initdb.d",
    }
    assert db["deploy"] == {
        "resources": {"limits": {"cpus": "1", "memory": "268435456"}},
        "endpoint_mode": "dnsrr",
    }
    assert first["networks"]["back"] == {
        "driver": "overlay",
        "attachable": True,  # the probe helper joins it
        "ipam": {"config": [{"subnet": "172.28.0.0/24"}]},
    }
    assert first["volumes"] == {"dbdata": {}}
    assert "configs" not in first and files == {}

    later, files = stack_document(document, ["db", "migrate", "web"], plan, options, {})
    web = later["services"]["web"]
    # An ephemeral host port (compose's way to probe each replica) is not opened on Swarm.
    assert web["ports"] == [{"target": 80, "published": 8080, "protocol": "tcp", "mode": "host"}]
    # Swarm ignores the service-level tmpfs key: a read-only root keeps its writable /tmp.
    assert "tmpfs" not in web and web["read_only"] is True
    assert web["volumes"] == [
        {"type": "tmpfs", "target": "/tmp"},
        {"type": "tmpfs", "target": "/run", "tmpfs": {"size": 64 * 1024**2}},
    ]
    assert "privileged" not in web
    assert later["services"]["migrate"]["deploy"]["mode"] == "replicated-job"
    # An inline config becomes a file, named after its content (Swarm's are immutable).
    assert files == {"configs-site": "server {}"}
    site = later["configs"]["site"]
    assert site["file"] == "./configs-site" and site["name"].startswith("shop-dev_site_")


def test_what_swarm_cannot_do_is_found_first() -> None:
    document = compose_document()
    document["services"]["built"] = {"build": {"context": "."}, "networks": {"back": None}}
    found = {
        (f.rule, f.location, f.severity.value) for f in swarm_findings(document, plan_of(document))
    }
    assert ("swarm-build", "services.built.build", "error") in found
    assert ("swarm-ignored", "services.db.container_name", "notice") in found
    assert ("swarm-ignored", "services.db.networks.back.ipv4_address", "notice") in found
    assert ("swarm-ignored", "services.web.privileged", "notice") in found


def test_a_file_config_is_named_after_its_content() -> None:
    """Swarm's configs are immutable: an edited file must become a new config, or the next
    deploy fails ("only updates to Labels are allowed")."""
    document = compose_document()
    document["configs"]["hba"] = {"name": "shop.dev_hba", "file": "/srv/pg_hba.conf"}
    document["services"]["db"]["configs"] = [{"source": "hba", "target": "/etc/pg_hba.conf"}]
    plan = plan_of(document)
    options = SwarmOptions()
    one, _ = stack_document(document, ["db"], plan, options, {}, {"/srv/pg_hba.conf": "ab" * 32})
    two, _ = stack_document(document, ["db"], plan, options, {}, {"/srv/pg_hba.conf": "cd" * 32})
    assert one["configs"]["hba"] == {"file": "/srv/pg_hba.conf", "name": "shop-dev_hba_ababababab"}
    assert two["configs"]["hba"]["name"] == "shop-dev_hba_cdcdcdcdcd"
    unread, _ = stack_document(document, ["db"], plan, options, {})
    assert unread["configs"]["hba"] == {"file": "/srv/pg_hba.conf"}


def test_a_local_volume_without_placement_is_a_warning_only_on_more_than_one_node() -> None:
    from bootstrap.backends.swarm.stackfile import placement_findings

    document = compose_document()
    plan = plan_of(document)
    assert placement_findings(document, plan, 1) == []
    found = placement_findings(document, plan, 3)
    assert [(f.rule, f.location, f.severity.value) for f in found] == [
        ("swarm-placement", "services.db.deploy.placement", "warning")
    ]
    assert "dbdata" in found[0].message and "3 nodes" in found[0].message
    document["services"]["db"]["deploy"]["placement"] = {"constraints": ["node.role == manager"]}
    assert placement_findings(document, plan, 3) == []
    document["services"]["db"]["deploy"]["placement"] = {}
    document["volumes"]["dbdata"] = {"name": "shared", "external": True}  # not bootstrap's
    assert placement_findings(document, plan, 3) == []


def test_status_from_the_tasks_says_what_a_lost_node_took_and_where_it_went() -> None:
    from bootstrap.backends.swarm.engine import NodeInfo, TaskInfo
    from bootstrap.backends.swarm.status import service_state

    nodes = {
        "m": NodeInfo("m", "manager", "ready", "active", True),
        "w1": NodeInfo("w1", "worker-1", "ready", "active", False),
        "w2": NodeInfo("w2", "worker-2", "down", "active", False),
    }

    def task(node: str, desired: str, state: str, slot: int, error: str = "") -> TaskInfo:
        return TaskInfo(f"t{node}{slot}", state, desired, error, node, "", None, "", slot)

    moved = [
        task("m", "running", "running", 1),
        task("w1", "running", "running", 2),
        task("w2", "shutdown", "running", 2),  # what the lost node last said
        task("w1", "shutdown", "shutdown", 1),  # history of an update: not a loss
    ]
    state, ready, detail = service_state(moved, 2, nodes, job=False)
    assert (state, ready) == ("running", True)
    assert detail == (
        "2/2 tasks running on manager, worker-1; 1 lost with worker-2 (down), now on worker-1"
    )
    stuck = [
        task("m", "running", "running", 1),
        task("w2", "shutdown", "running", 2),
        task("", "running", "pending", 2, "no suitable node (scheduling constraints)"),
    ]
    state, ready, detail = service_state(stuck, 2, nodes, job=False)
    assert (state, ready) == ("starting", False)
    assert "1/2 tasks running on manager; 1 lost with worker-2 (down)" in detail
    assert "1 pending" in detail


def test_a_task_on_a_lost_node_waits_a_jobs_runs_again_once_a_pinned_one_fails() -> None:
    from bootstrap.backends.swarm.driver import lost_nodes
    from bootstrap.backends.swarm.engine import NodeInfo, TaskInfo

    nodes = {
        "w1": NodeInfo("w1", "worker-1", "ready", "active", False),
        "w2": NodeInfo("w2", "worker-2", "down", "active", False),
    }
    assigned = TaskInfo("t1", "assigned", "running", "", "w2", "", None, "", 1)
    seen, again = lost_nodes([assigned], nodes, job=False, rerun_already=False)
    assert seen is not None and not seen.fatal and "worker-2, which is down" in seen.detail
    assert not again  # Swarm moves a service's task itself
    job_task = TaskInfo("t2", "assigned", "complete", "", "w2", "", None, "", None)
    seen, again = lost_nodes([job_task], nodes, job=True, rerun_already=False)
    assert again and seen is not None and "run again" in seen.detail
    assert lost_nodes([job_task], nodes, job=True, rerun_already=True) == (None, False)
    pending = TaskInfo("t3", "pending", "running", "no suitable node (1/2)", "", "", None, "")
    seen, again = lost_nodes([pending], nodes, job=False, rerun_already=False)
    assert seen is not None and seen.fatal and "down: worker-2" in seen.detail
    running = TaskInfo("t4", "running", "running", "", "w1", "", None, "", 1)
    assert lost_nodes([running], nodes, job=False, rerun_already=False) == (None, False)


def test_a_built_service_is_an_error_unless_a_registry_takes_it() -> None:
    from bootstrap.backends.swarm.stackfile import registry_image

    document = compose_document()
    document["services"]["built"] = {"build": {"context": "."}, "networks": {"back": None}}
    rules = {f.rule for f in swarm_findings(document, plan_of(document), "127.0.0.1:5000")}
    assert "swarm-build" not in rules
    assert registry_image("127.0.0.1:5000", "shop-api") == "127.0.0.1:5000/shop-api:latest"
    assert registry_image("reg.example:5000/", "acme/api:1.2") == "reg.example:5000/acme/api:1.2"
    assert registry_image("127.0.0.1:5000", "ghcr.io/acme/api:2") == "127.0.0.1:5000/acme/api:2"
