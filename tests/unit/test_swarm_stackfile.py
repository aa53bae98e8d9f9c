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
