"""Phases from what a service is: whole name components of the image and the service."""

from __future__ import annotations

import pytest

from bootstrap.classify import database_engine, recognise
from bootstrap.model import Service

from .helpers import plan, svc


@pytest.mark.parametrize(
    ("name", "phase"),
    [
        ("discovery", "discovery"),
        ("service-discovery", "discovery"),
        ("mcp-discovery", "discovery"),
        ("registry", "discovery"),
        ("consul", "discovery"),
        ("etcd", "discovery"),
        ("eureka", "discovery"),
        ("cp-zookeeper", "discovery"),
        ("elasticsearch", "databases"),
        ("opensearch", "databases"),
        ("cp-kafka", "databases"),
        ("redpanda", "databases"),
        ("rabbitmq", "databases"),
        ("nats", "databases"),
        ("minio", "databases"),
        ("clickhouse-server", "databases"),
        ("cassandra", "databases"),
        ("mongo", "databases"),
        ("redis-stack-server", "databases"),
        ("valkey", "databases"),
        ("postgres-exporter", "monitoring"),
        ("node-exporter", "monitoring"),
        ("opentelemetry-collector-contrib", "monitoring"),
        ("alertmanager", "monitoring"),
    ],
)
def test_known_software_by_whole_name(name: str, phase: str) -> None:
    found = recognise(name)
    assert found is not None and found[0] == phase


@pytest.mark.parametrize(
    "name",
    ["mongo-express", "redis-commander", "kafka-ui", "pgadmin4", "scuba-mcp", "postgresql-client2"],
)
def test_tools_named_after_a_store_are_apps(name: str) -> None:
    assert recognise(name) is None


def test_registry_at_an_mcp_address_comes_second_and_explain_says_why() -> None:
    p = plan(
        {
            "mcp-discovery": svc("ghcr.io/acme/registry-svc", ip="172.28.0.92"),
            "search": svc("docker.elastic.co/elasticsearch/elasticsearch:8.15.0"),
            "ui": svc("mongo-express"),
            "db": svc("mongo:7"),
            "api": svc(ip="172.28.0.91"),
        }
    )
    phases = {n: s.phase for n, s in p.services.items()}
    assert phases == {
        "mcp-discovery": "discovery",
        "search": "databases",
        "ui": "apps",
        "db": "databases",
        "api": "apps",
    }
    assert (
        p.services["mcp-discovery"].reason
        == "the name 'mcp-discovery' says it is a service registry"
    )
    assert "is a data store" in p.services["search"].reason


def test_label_overrides_recognition() -> None:
    p = plan({"cache": svc("redis:7", labels={"bootstrap.phase": "apps"})})
    assert p.services["cache"].phase == "apps" and p.services["cache"].explicit


def test_sql_engine_by_whole_name() -> None:
    assert database_engine(svc_model("bitnami/postgresql:16")) == "postgres"
    assert database_engine(svc_model("percona/percona-server:8.0")) == "mariadb"
    assert database_engine(svc_model("prometheuscommunity/postgres-exporter")) is None
    assert database_engine(svc_model("dpage/pgadmin4")) is None


def svc_model(image: str) -> Service:

    return Service(name="x", image=image)


@pytest.mark.parametrize(
    ("image", "phase", "kind"),
    [
        # a connection pooler is where applications find their database
        ("edoburu/pgbouncer:v1.25.2-p0", "databases", "running"),
        ("bitnami/pgpool:4", "databases", "running"),
        # Confluent's Control Center is its Kafka monitoring UI; Alfresco's is an admin app
        ("confluentinc/cp-enterprise-control-center-next-gen:2.5.0", "monitoring", "running"),
        ("quay.io/alfresco/alfresco-control-center:8.4.1", "apps", "running"),
        # MyScale is a ClickHouse build and answers its /ping
        ("myscale/myscaledb:1.6.4", "databases", "clickhouse"),
        # a whole image name is a name even where its last word would be a qualifier (edge)
        ("mcr.microsoft.com/azure-sql-edge:1.0.4", "databases", "mssql"),
    ],
)
def test_what_public_stacks_run_is_recognised(image: str, phase: str, kind: str) -> None:
    p = plan({"svc": svc(image)})
    assert (p.services["svc"].phase, p.services["svc"].probe.kind) == (phase, kind)
