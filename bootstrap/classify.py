"""Which phase each service belongs to, and why. Pure.

Recognition works on whole name components, never substrings: ``mongo-express`` and
``redis-commander`` are apps, ``postgres-exporter`` is monitoring, ``mcp-discovery`` a registry.
A name is split on ``-``, ``_`` and ``.``; trailing qualifiers (``server``, ``stack``, versions)
are dropped; the last component (or the last two joined) must be a known word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bootstrap.model import Service
from bootstrap.settings import Settings

PHASE_LABEL = "bootstrap.phase"
ROLE_LABEL = "bootstrap.role"

POSTGRES_WORDS = frozenset(
    {"postgres", "postgresql", "postgis", "timescaledb", "pgvector", "pgvecto-rs"}
)
MYSQL_WORDS = frozenset({"mariadb", "mysql", "percona"})
DATA_STORE_WORDS = POSTGRES_WORDS | MYSQL_WORDS | frozenset(
    {
        "db", "database", "redis", "valkey", "keydb", "dragonfly", "memcached", "mongo",
        "mongodb", "cassandra", "scylla", "couchdb", "couchbase", "clickhouse", "neo4j",
        "influxdb", "cockroach", "cockroachdb", "elasticsearch", "opensearch", "kafka",
        "redpanda", "rabbitmq", "nats", "minio", "pulsar", "activemq", "artemis", "mosquitto",
        "qdrant", "weaviate", "milvus", "meilisearch", "typesense", "solr", "surrealdb",
        "questdb", "mssql", "sqlserver", "azure-sql-edge", "oracle", "oracle-free", "oracle-xe",
        "dynamodb", "azurite", "localstack", "emqx", "hivemq", "vernemq", "chroma",
        "chromadb", "seaweedfs", "datanode", "graylog-datanode", "milvusdb",
        # connection poolers and proxies: applications connect to them as to the database
        "pgbouncer", "pgpool", "pgcat", "odyssey", "proxysql",
    }
)  # fmt: skip
REGISTRY_WORDS = frozenset(
    {"discovery", "registry", "consul", "etcd", "eureka", "zookeeper", "nacos"}
)
MONITORING_WORDS = frozenset(
    {
        "prometheus", "grafana", "exporter", "cadvisor", "alertmanager", "loki", "promtail",
        "tempo", "jaeger", "zipkin", "otel-collector", "opentelemetry-collector",
        "pushgateway", "victoriametrics", "node-exporter", "mimir", "pyroscope", "alloy",
    }
)  # fmt: skip
# Repositories whose names say nothing of what they are, and no probe kind speaks for them:
# Confluent's Control Center is its Kafka monitoring UI.
REPOSITORY_PHASES = {
    "confluentinc/cp-enterprise-control-center": "monitoring",
    "confluentinc/cp-enterprise-control-center-next-gen": "monitoring",
}
# Images that say what they are without being a data store, registry or monitor: web servers
# and proxies, base images, language runtimes. A service running one is what its image says
# (an app), whatever its name: `db: {image: nginx}` is not a database.
GENERIC_IMAGE_WORDS = frozenset(
    {
        "nginx", "httpd", "apache", "caddy", "traefik", "haproxy", "envoy", "openresty",
        "alpine", "busybox", "debian", "ubuntu", "fedora", "centos", "rockylinux", "almalinux",
        "amazonlinux", "archlinux", "opensuse", "distroless", "scratch", "base",
        "python", "node", "golang", "go", "openjdk", "eclipse-temurin", "temurin", "amazoncorretto",
        "ruby", "php", "perl", "rust", "dotnet", "aspnet", "runtime", "sdk", "bun", "deno",
        "elixir", "erlang", "gradle", "maven", "curl", "bash",
    }
)  # fmt: skip
# Qualifiers that say which build of a thing it is, not what it is.
_QUALIFIERS = frozenset(
    {"server", "stack", "alpine", "slim", "oss", "community", "official", "latest", "local",
     "ce", "ee", "contrib", "bookworm", "bullseye", "edge", "ha"}
)  # fmt: skip
# Products that are apps even where a later word of the name is a server's: Flink with a
# Kafka connector (flink-kafka) is a job manager, not a broker.
APP_PRODUCT_WORDS = frozenset(
    {"flink", "spark", "ksqldb", "ksql", "debezium", "superset", "airflow", "metabase",
     "kafka-ui", "akhq", "kafdrop", "pgadmin", "adminer", "phpmyadmin", "redisinsight"}
)  # fmt: skip
# Names whose words would say a server and do not: Confluent's schema registry is an app
# (of its broker), not service discovery.
NOT_THE_SERVER = frozenset({"schema-registry", "container-registry"})
_VERSION = re.compile(r"v?\d+(\.\d+)*[a-z]?")
_KINDS: tuple[tuple[str, frozenset[str], str], ...] = (
    ("monitoring", MONITORING_WORDS, "monitoring software"),
    ("discovery", REGISTRY_WORDS, "a service registry"),
    ("databases", DATA_STORE_WORDS, "a data store"),
)


_NOUNS = {phase: what for phase, _known, what in _KINDS}


@dataclass(frozen=True)
class Placement:
    """A service's phase, the reason for it, and whether a label set it."""

    phase: str
    reason: str
    explicit: bool = False


def image_name(image: str) -> str:
    """``quay.io/org/postgres-exporter:1.2`` -> ``postgres-exporter``."""
    last = image.rsplit("/", 1)[-1]
    return last.split("@", 1)[0].split(":", 1)[0].lower()


def image_path_name(image: str) -> str:
    """The repository path without registry and tag, its parts joined with ``-``:
    ``mcr.microsoft.com/mssql/server:2022`` -> ``mssql-server`` (the last part alone,
    ``server``, says nothing)."""
    path = image.split("@", 1)[0].rsplit(":", 1)[0] if "/" in image else image
    parts = path.lower().split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]  # a registry host
    return "-".join(parts[-2:])


def image_repository(image: str) -> str:
    """The repository without registry host and tag: ``docker.io/confluentinc/cp-server:7``
    -> ``confluentinc/cp-server``; an official image is ``library/``-less (``redis``)."""
    path = image.split("@", 1)[0]
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        path = path[: len(path) - len(last)] + last.split(":", 1)[0]
    parts = path.lower().split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    if parts[:1] == ["library"]:
        parts = parts[1:]
    return "/".join(parts)


def name_words(name: str) -> tuple[str, ...]:
    """The words a name may match: the whole name, its last component, and its last two
    joined (after dropping trailing qualifiers: ``azure-sql-edge`` is itself a name, though
    ``edge`` alone would be a build's qualifier)."""
    whole = name.lower()
    parts = [p for p in re.split(r"[-_.]", whole) if p]
    while len(parts) > 1 and (parts[-1] in _QUALIFIERS or _VERSION.fullmatch(parts[-1])):
        parts.pop()
    if not parts:
        return ()
    words = [parts[-1]]
    if len(parts) >= 2:
        words.insert(0, f"{parts[-2]}-{parts[-1]}")
    if whole not in words:
        words.insert(0, whole)
    return tuple(words)


def an_app_product(name: str) -> bool:
    """Whether a word of ``name`` before its last names an app product (flink-kafka), or
    the name is one a server's word does not make a server (schema-registry)."""
    parts = [p for p in re.split(r"[-_.]", name.lower()) if p]
    return any(p in APP_PRODUCT_WORDS for p in parts[:-1]) or any(
        w in NOT_THE_SERVER for w in name_words(name)
    )


def recognise(name: str) -> tuple[str, str] | None:
    """(phase, what it is) when ``name`` names known software, else None: the probe
    registry's kinds first (each says its phase), then the words of what has no probe of its
    own (exporters, registries, monitors)."""
    if an_app_product(name):
        return None
    words = name_words(name)
    from bootstrap.probes.registry import recognised  # loads the kinds' modules: only here

    kind = recognised(words)
    if kind is not None and kind.phase:
        return kind.phase, f"{_NOUNS.get(kind.phase, 'a server')} ({kind.name})"
    for phase, known, what in _KINDS:
        if any(w in known for w in words):
            return phase, what
    return None


def generic_image(service: Service) -> bool:
    """Whether the image is one that says "an app" (a web server, a base image, a runtime)."""
    return bool(service.image) and any(
        w in GENERIC_IMAGE_WORDS for w in name_words(image_name(service.image))
    )


def _named_kind(service: Service) -> tuple[str, str] | None:
    """(phase, reason) from the image's name, then the service's name, unless the image says
    it is something generic (nginx, alpine, python...): a name is trusted only when the image
    says nothing."""
    if service.image:
        from bootstrap.probes.registry import by_repository  # loads the kinds: only here

        aliased = by_repository(image_repository(service.image))
        if aliased is not None and aliased.phase:
            what = f"{_NOUNS.get(aliased.phase, 'a server')} ({aliased.name})"
            return aliased.phase, f"image {service.image} is {what}"
        known = REPOSITORY_PHASES.get(image_repository(service.image))
        if known:
            return known, f"image {service.image} is {_NOUNS[known]}"
        found = recognise(image_name(service.image)) or recognise(image_path_name(service.image))
        if found:
            return found[0], f"image {service.image} is {found[1]}"
        if generic_image(service):
            return None
    found = recognise(service.name)
    if found:
        return found[0], f"the name {service.name!r} says it is {found[1]}"
    return None


def database_engine(service: Service) -> str | None:
    """``postgres`` or ``mariadb`` when the service runs one of those SQL servers."""
    names = [image_name(service.image) if service.image else ""]
    if not generic_image(service):
        names.append(service.name)
    for name in names:
        words = name_words(name)
        if any(w in POSTGRES_WORDS for w in words):
            return "postgres"
        if any(w in MYSQL_WORDS for w in words):
            return "mariadb"
        if name and recognise(name):  # the image is something else we know: trust it
            return None
    return None


def static_address(service: Service, settings: Settings) -> str | None:
    for attachment in service.networks:
        if attachment.ipv4_address and attachment.network == settings.network:
            return attachment.ipv4_address
    return next((a.ipv4_address for a in service.networks if a.ipv4_address), None)


def _role_placement(role: str, settings: Settings) -> Placement | None:
    if role == "discovery" and "discovery" in settings.phases:
        return Placement("discovery", f"label {ROLE_LABEL}=discovery")
    if role == "supervisor":  # it watches the rest: started last
        return Placement(settings.phases[-1], f"label {ROLE_LABEL}=supervisor")
    return None


def classify(service: Service, settings: Settings) -> Placement:
    """Label, then the discovery role, then what the image or name says it is, then the
    static address's tier, else apps. Label values are checked in planning."""
    label = service.label(PHASE_LABEL)
    if label:
        return Placement(label, f"label {PHASE_LABEL}={label}", explicit=True)
    by_role = _role_placement(service.label(ROLE_LABEL), settings)
    if by_role is not None:
        return by_role
    named = _named_kind(service)
    if named and named[0] in settings.phases:
        return Placement(*named)
    address = static_address(service, settings)
    if address:
        import ipaddress  # here: a static address is rare

        try:
            ip = ipaddress.ip_address(address)
            subnet = ipaddress.ip_network(settings.subnet, strict=False)
        except ValueError:
            ip = None
        if ip is not None and ip in subnet:
            tier = settings.tier_for_offset(int(ip) - int(subnet.network_address))
            if tier and tier.phase in settings.phases:
                return Placement(
                    tier.phase, f"address {address} is in the {tier.name} tier (.{tier.hosts})"
                )
    default = "apps" if "apps" in settings.phases else settings.phases[-1]
    if generic_image(service) and recognise(service.name):
        return Placement(
            default,
            f"image {service.image} is a generic image (a web server, base or runtime): an "
            f"application, whatever its name says",
        )
    return Placement(default, "no label, known image or name, or tier address: an application")
