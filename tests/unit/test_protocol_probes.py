"""A unit test per protocol probe against a loopback peer speaking its documented handshake:
the ready answer, a not-ready answer, refused credentials. The servers that exist here (Redis,
Memcached, RabbitMQ, NATS, etcd, Mosquitto) are tested for real in
tests/integration/test_protocol_servers.py."""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

import pytest

from bootstrap.model import Service
from bootstrap.probes import Target, make_probe
from bootstrap.probes.mongodb import bson, read_bson
from bootstrap.probes.mssql import obfuscate, prelogin_options
from bootstrap.probes.spec import ProbeSpec
from bootstrap.probespec import choose_probe


@contextmanager
def peer(serve: Callable[[socket.socket], object], connections: int = 1) -> Iterator[int]:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def run() -> None:
        for _ in range(connections):
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection, suppress(OSError, AssertionError, IndexError):
                serve(connection)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        listener.close()
        thread.join(timeout=5)


def check(kind: str, port: int, default: int, **params: object) -> tuple[bool, str]:
    probe = make_probe(ProbeSpec(kind, dict(params)))  # type: ignore[arg-type]
    seen = probe.check(Target("svc", ports={default: port}))
    return seen.ready, seen.detail


def recv_until(sock: socket.socket, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_redis_pong_loading_and_auth() -> None:
    def pong(sock: socket.socket) -> None:
        assert b"PING" in recv_until(sock, b"PING\r\n")
        sock.sendall(b"+PONG\r\n")

    def loading(sock: socket.socket) -> None:
        recv_until(sock, b"PING\r\n")
        sock.sendall(b"-LOADING Redis is loading the dataset in memory\r\n")

    def auth(sock: socket.socket) -> None:
        data = recv_until(sock, b"PING\r\n")
        if b"s3cret" in data:
            sock.sendall(b"+OK\r\n+PONG\r\n")
        else:
            sock.sendall(b"-WRONGPASS invalid username-password pair\r\n-NOAUTH\r\n")

    with peer(pong) as port:
        assert check("redis", port, 6379)[0]
    with peer(loading) as port:
        ready, said = check("redis", port, 6379)
        assert not ready and "loading" in said
    with peer(auth, 2) as port:
        assert check("redis", port, 6379, password="s3cret")[0]
        ready, said = check("redis", port, 6379, password="nope")
        assert not ready and "AUTH refused: WRONGPASS" in said


def test_redis_password_from_the_command_or_the_environment() -> None:
    spec = choose_probe(
        Service("cache", image="redis:7", command=("redis-server", "--requirepass", "pw1"))
    )
    assert (spec.kind, spec.params["password"]) == ("redis", "pw1")
    bitnami = choose_probe(
        Service("cache", image="bitnami/redis", environment={"REDIS_PASSWORD": "pw2"})
    )
    assert bitnami.params["password"] == "pw2" and "pw2" not in bitnami.describe()


def test_kafka_api_versions() -> None:
    def broker(sock: socket.socket, error: int = 0) -> None:
        size = struct.unpack("!i", sock.recv(4))[0]
        request = sock.recv(size)
        key, version, correlation = struct.unpack("!hhi", request[:8])
        assert (key, version) == (18, 0)
        body = (
            struct.pack("!ih", correlation, error)
            + struct.pack("!i", 1)
            + struct.pack("!hhh", 0, 0, 9)
        )
        sock.sendall(struct.pack("!i", len(body)) + body)

    with peer(broker) as port:
        ready, said = check("kafka", port, 9092)
        assert ready and "1 APIs" in said
    with peer(lambda s: broker(s, error=35)) as port:
        ready, said = check("kafka", port, 9092)
        assert not ready and "error code 35" in said


def test_mongodb_hello_over_op_msg() -> None:
    def server(sock: socket.socket, ok: float = 1.0) -> None:
        head = sock.recv(16)
        length, request_id, _to, opcode = struct.unpack("<iiii", head)
        body = sock.recv(length - 16)
        assert opcode == 2013 and read_bson(body[5:])["hello"] == 1
        reply = struct.pack("<I", 0) + b"\x00" + bson({"isWritablePrimary": True, "ok": ok})
        sock.sendall(struct.pack("<iiii", 16 + len(reply), 7, request_id, 2013) + reply)

    with peer(server) as port:
        ready, said = check("mongodb", port, 27017)
        assert ready and "writable primary" in said
    with peer(lambda s: server(s, ok=0.0)) as port:
        assert not check("mongodb", port, 27017)[0]


def _tds(kind: int, payload: bytes) -> bytes:
    return struct.pack(">BBHHBB", kind, 1, 8 + len(payload), 0, 1, 0) + payload


def _read_tds(sock: socket.socket) -> tuple[int, bytes]:
    head = sock.recv(8)
    kind, _status, length = struct.unpack(">BBH", head[:4])
    data = b""
    while len(data) < length - 8:
        data += sock.recv(length - 8 - len(data))
    return kind, data


def _prelogin_answer(encryption: int) -> bytes:
    head = struct.pack(">BHH", 0x00, 11, 6) + struct.pack(">BHH", 0x01, 17, 1) + b"\xff"
    return _tds(0x04, head + b"\x10\x00\x07\xd0\x00\x00" + bytes([encryption]))


def mssql_server(password: str, encryption: int = 0x02) -> Callable[[socket.socket], None]:
    def serve(sock: socket.socket) -> None:
        kind, payload = _read_tds(sock)
        assert kind == 0x12 and prelogin_options(payload)[0x01] == b"\x02"  # we offer no TLS
        sock.sendall(_prelogin_answer(encryption))
        kind, login = _read_tds(sock)
        assert kind == 0x10
        offset, chars = struct.unpack("<HH", login[44:48])  # ibPassword, cchPassword
        sent = login[offset : offset + 2 * chars]
        if sent == obfuscate(password):
            ack = b"\x01" + struct.pack("<I", 0x74000004) + b"\x00" + b"\x00" * 4
            sock.sendall(_tds(0x04, b"\xad" + struct.pack("<H", len(ack)) + ack))
        else:
            text = "Login failed for user 'sa'.".encode("utf-16-le")
            error = struct.pack("<IBBH", 18456, 1, 14, len(text) // 2) + text + b"\x00\x00\x00"
            sock.sendall(_tds(0x04, b"\xaa" + struct.pack("<H", len(error)) + error))

    return serve


def test_mssql_prelogin_then_login7() -> None:
    with peer(mssql_server("Str0ng!pass")) as port:
        ready, said = check("mssql", port, 1433, password="Str0ng!pass")
        assert ready and "logged in as 'sa'" in said
    with peer(mssql_server("Str0ng!pass")) as port:
        ready, said = check("mssql", port, 1433, password="wrong")
        assert not ready and "error 18456: Login failed for user 'sa'" in said

    def encrypted_only(sock: socket.socket) -> None:
        _read_tds(sock)
        sock.sendall(_prelogin_answer(0x03))

    with peer(encrypted_only) as port:
        ready, said = check("mssql", port, 1433, password="x")
        assert ready and "requires encryption" in said


def test_mssql_password_obfuscation_is_the_documented_one() -> None:
    # MS-TDS 2.2.6.4: "a" (0x61 0x00 in UTF-16LE) -> nibbles swapped (0x16 0x00) ^ 0xA5
    assert obfuscate("a") == bytes([0x16 ^ 0xA5, 0x00 ^ 0xA5])


def test_zookeeper_ruok_and_srvr() -> None:
    def imok(sock: socket.socket) -> None:
        sock.recv(4)
        sock.sendall(b"imok")

    with peer(imok) as port:
        assert check("zookeeper", port, 2181)[0]

    def whitelisted(sock: socket.socket) -> None:
        word = sock.recv(4)
        if word == b"ruok":
            sock.sendall(b"ruok is not executed because it is not in the whitelist.")
        else:
            sock.sendall(b"Zookeeper version: 3.9.1\nMode: standalone\n")

    with peer(whitelisted, 2) as port:
        ready, said = check("zookeeper", port, 2181)
        assert ready and "Mode: standalone" in said


def test_smtp_greeting() -> None:
    with peer(lambda s: s.sendall(b"220 mailpit ESMTP Service Ready\r\n")) as port:
        assert check("smtp", port, 1025)[0]
    with peer(lambda s: s.sendall(b"554 no\r\n")) as port:
        assert not check("smtp", port, 1025)[0]


def http_peer(status: int, body: object, *, auth: str = "") -> Callable[[socket.socket], None]:
    def serve(sock: socket.socket) -> None:
        request = recv_until(sock, b"\r\n\r\n").decode()
        code = 401 if auth and f"Authorization: Basic {auth}" not in request else status
        text = body if isinstance(body, str) else json.dumps(body)
        head = f"HTTP/1.1 {code} X\r\nContent-Length: {len(text)}\r\nConnection: close\r\n\r\n"
        sock.sendall((head + text).encode())

    return serve


@pytest.mark.parametrize(
    ("kind", "port", "ready_answer", "not_ready_answer"),
    [
        ("etcd", 2379, (200, {"health": "true"}), (503, {"health": "false"})),
        ("consul", 8500, (200, '"10.0.0.2:8300"'), (200, '""')),
        ("elasticsearch", 9200, (200, {"status": "yellow"}), (200, {"status": "red"})),
        ("couchdb", 5984, (200, {"status": "ok"}), (404, {"error": "not_found"})),
        ("cockroachdb", 8080, (200, {}), (503, {"error": "node is not ready"})),
        ("clickhouse", 8123, (200, "Ok.\n"), (500, "")),
        ("minio", 9000, (200, ""), (503, "")),
        (
            "localstack",
            4566,
            (200, {"services": {"s3": "running"}}),
            (200, {"services": {"s3": "error"}}),
        ),
        ("keycloak", 9000, (200, {"status": "UP"}), (503, {"status": "DOWN"})),
        ("vault", 8200, (429, {}), (503, {"sealed": True})),
        ("influxdb", 8086, (200, {"status": "pass"}), (503, {"status": "fail"})),
        ("meilisearch", 7700, (200, {"status": "available"}), (503, {"status": "unavailable"})),
        ("typesense", 8108, (200, {"ok": True}), (503, {"ok": False})),
        ("qdrant", 6333, (200, "all shards are ready"), (503, "some shards are not ready")),
        ("weaviate", 8080, (200, ""), (503, "")),
        ("chroma", 8000, (200, {"nanosecond heartbeat": 1}), (500, "")),
        ("loki", 3100, (200, "ready"), (503, "Ingester not ready")),
        ("tempo", 3200, (200, "ready"), (503, "Ingester not ready")),
        ("mimir", 8080, (200, "ready"), (503, "not ready")),
        ("pyroscope", 4040, (200, "ready"), (503, "not ready")),
        ("alloy", 12345, (200, "Alloy is ready."), (503, "Alloy is not ready.")),
        ("azurite", 10000, (403, "AuthorizationFailure"), None),
        ("dynamodb", 8000, (400, {"__type": "MissingAuthenticationToken"}), None),
    ],
)
def test_http_health_kinds(
    kind: str,
    port: int,
    ready_answer: tuple[int, object],
    not_ready_answer: tuple[int, object] | None,
) -> None:
    with peer(http_peer(*ready_answer)) as listening:
        ready, said = check(kind, listening, port)
        assert ready, said
    if not_ready_answer is not None:
        with peer(http_peer(*not_ready_answer)) as listening:
            ready, said = check(kind, listening, port)
            assert not ready, said


def test_elasticsearch_credentials_from_the_image_variables() -> None:
    import base64

    spec = choose_probe(
        Service(
            "es", image="elasticsearch:8.13.0", environment={"ELASTIC_PASSWORD": "changeme-now"}
        )
    )
    token = base64.b64encode(b"elastic:changeme-now").decode()
    probe = make_probe(spec)
    with peer(http_peer(200, {"status": "green"}, auth=token)) as port:
        assert probe.check(Target("es", ports={9200: port})).ready
    wrong = make_probe(ProbeSpec("elasticsearch", {"user": "elastic", "password": "x"}))
    with peer(http_peer(200, {"status": "green"}, auth=token)) as port:
        seen = wrong.check(Target("es", ports={9200: port}))
        assert not seen.ready and "credentials refused" in seen.detail


def test_a_web_app_with_a_port_gets_a_tcp_connect_not_running() -> None:
    spec = choose_probe(Service("web", image="myorg/shop-web:3", expose=(8000,)))
    assert (spec.kind, spec.params["port"]) == ("tcp", 8000)
    assert choose_probe(Service("worker", image="myorg/worker:3")).kind == "running"


def test_the_default_port_wins_where_the_service_publishes_it() -> None:
    from bootstrap.probes.registry import server_port

    assert server_port(ProbeSpec("redis"), [8001, 6379], 6379) == 6379
    assert server_port(ProbeSpec("redis"), [6380], 6379) == 6380
    assert server_port(ProbeSpec("redis", {"port": 7000}), [6379], 6379) == 7000


POPULAR = {
    "redis:7": "redis", "valkey/valkey:8": "redis", "eqalpha/keydb": "redis",
    "memcached:1.6": "memcached", "rabbitmq:3-management": "rabbitmq", "nats:2": "nats",
    "eclipse-mosquitto:2": "mqtt", "confluentinc/cp-kafka:7.6.0": "kafka",
    "bitnami/kafka:3.7": "kafka", "redpandadata/redpanda:v24.1.1": "kafka",
    "quay.io/coreos/etcd:v3.5.13": "etcd", "bitnami/etcd": "etcd", "zookeeper:3.9": "zookeeper",
    "confluentinc/cp-zookeeper:7.6.0": "zookeeper", "hashicorp/consul:1.18": "consul",
    "mongo:7": "mongodb", "docker.elastic.co/elasticsearch/elasticsearch:8.13.0": "elasticsearch",
    "opensearchproject/opensearch:2": "elasticsearch", "couchdb:3": "couchdb",
    "mcr.microsoft.com/mssql/server:2022-latest": "mssql",
    "cockroachdb/cockroach:v23.2.4": "cockroachdb",
    "clickhouse/clickhouse-server:24.3": "clickhouse", "minio/minio": "minio",
    "localstack/localstack:3": "localstack", "mcr.microsoft.com/azure-storage/azurite": "azurite",
    "amazon/dynamodb-local": "dynamodb", "quay.io/keycloak/keycloak:24.0": "keycloak",
    "hashicorp/vault:1.16": "vault", "axllent/mailpit": "smtp", "mailhog/mailhog": "smtp",
    "influxdb:2.7": "influxdb", "gvenzl/oracle-free:23": "oracle", "postgres:16": "postgres",
    "mysql:8.4": "mariadb", "mariadb:11": "mariadb", "getmeili/meilisearch:v1.5": "meilisearch",
    "typesense/typesense:27.1": "typesense", "qdrant/qdrant:v1.12.0": "qdrant",
}  # fmt: skip


def test_the_images_people_run_get_their_own_protocol_never_running() -> None:
    from bootstrap.classify import classify
    from bootstrap.settings import Settings

    for image, kind in POPULAR.items():
        service = Service("svc", image=image)
        spec = choose_probe(service)
        assert spec.kind == kind, (image, spec.kind, spec.reason)
        assert classify(service, Settings()).phase in ("databases", "discovery", "apps"), image
    mysql = choose_probe(Service("db", image="mysql:8.4", environment={"MYSQL_DATABASE": "shop"}))
    assert mysql.params["database"] == "shop"
    assert "database=none" in choose_probe(Service("db", image="mysql:8.4")).describe()


def nginx_like(sock: socket.socket) -> None:
    """What a web server says to bytes that are not HTTP."""
    sock.recv(4096)
    sock.sendall(b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Length: 0\r\n\r\n")


def redis_like(sock: socket.socket) -> None:
    sock.recv(4096)
    sock.sendall(b"-ERR unknown command 'PGSTARTUP', with args beginning with:\r\n")


@pytest.mark.parametrize(
    ("kind", "default", "server", "what"),
    [
        ("kafka", 9092, nginx_like, "Kafka broker"),
        ("redis", 6379, nginx_like, "Redis server"),
        ("postgres", 5432, redis_like, "postgres server"),
        ("postgres", 5432, nginx_like, "postgres server"),
    ],
)
def test_a_server_of_another_kind_is_told_apart_at_its_first_answer(
    kind: str, default: int, server: Callable[[socket.socket], None], what: str
) -> None:
    """issue 38: an nginx tagged like a Kafka image was probed for 120 s before `up` failed,
    though its first answer said it is no broker."""
    with peer(server) as port:
        probe = make_probe(ProbeSpec(kind, {"user": "u", "database": "d"}))
        seen = probe.check(Target("svc", ports={default: port}))
    assert seen.foreign and not seen.ready and f"not a {what}" in seen.detail, seen.detail


def test_a_guess_that_meets_another_server_is_ready_as_compose_counts_it() -> None:
    from bootstrap.probes.core import Guessed

    with peer(nginx_like) as port:
        guessed = Guessed(make_probe(ProbeSpec("kafka", {})))
        seen = guessed.check(Target("svc", ports={9092: port}))
    assert seen.ready and "not the kafka server bootstrap guessed" in seen.detail
    assert "bootstrap.probe" in seen.detail  # the label that says what it is
    with peer(nginx_like) as port:  # asked for by label: an order, not a guess
        ordered = make_probe(ProbeSpec("kafka", {})).check(Target("svc", ports={9092: port}))
    assert not ordered.ready


def test_a_real_server_still_starting_is_not_taken_for_another_kind() -> None:
    """PostgreSQL's "starting up" and Redis's LOADING are their own protocol: not foreign."""

    def starting(sock: socket.socket) -> None:
        sock.recv(4096)
        body = b"SFATAL\x00C57P03\x00Mthe database system is starting up\x00\x00"
        sock.sendall(b"E" + (len(body) + 4).to_bytes(4, "big") + body)

    with peer(starting) as port:
        seen = make_probe(ProbeSpec("postgres", {"user": "u", "database": "d"})).check(
            Target("svc", ports={5432: port})
        )
    assert not seen.ready and not seen.foreign, seen.detail


@pytest.mark.parametrize(
    ("image", "kind"),
    [
        ("jboss/keycloak:16.1.1", "tcp"),
        ("quay.io/keycloak/keycloak:legacy", "tcp"),
        ("quay.io/keycloak/keycloak:26.0", "keycloak"),
    ],
)
def test_a_legacy_layout_of_a_known_product_is_not_its_modern_probe(image: str, kind: str) -> None:
    from bootstrap.model import stack_from_compose

    document = {"services": {"auth": {"image": image, "ports": [{"target": 8080}]}}}
    spec = choose_probe(stack_from_compose(document).services["auth"])
    assert spec.kind == kind, spec


@pytest.mark.parametrize(
    ("image", "kind", "phase"),
    [
        ("cnfldemos/flink-kafka:1.0", "running", "apps"),  # Flink, with a Kafka connector
        ("cnfldemos/flink-sql-client-kafka:1", "running", "apps"),
        ("confluentinc/cp-server:7.5.0", "kafka", "databases"),  # Confluent's broker
        ("confluentinc/cp-kafka:7.5.0", "kafka", "databases"),
        ("confluentinc/cp-schema-registry:7.5.0", "running", "apps"),  # not service discovery
        ("semitechnologies/weaviate:1.24.1", "weaviate", "databases"),
        ("chromadb/chroma:0.5.4", "chroma", "databases"),
        ("chrislusf/seaweedfs:3.68", "running", "databases"),
        ("graylog/graylog-datanode:6.0", "running", "databases"),
        ("grafana/mimir:2.12.0", "mimir", "monitoring"),
        ("grafana/pyroscope:1.6.0", "pyroscope", "monitoring"),
        ("grafana/alloy:v1.2.0", "alloy", "monitoring"),
        ("grafana/loki:3.0.0", "loki", "monitoring"),
        ("grafana/tempo:2.5.0", "tempo", "monitoring"),
        ("provectuslabs/kafka-ui:latest", "running", "apps"),
    ],
)
def test_recognition_by_the_image_not_by_a_word_inside_it(
    image: str, kind: str, phase: str
) -> None:
    """issue 38: a name decides where the image says nothing; an image's repository says
    what it runs (Confluent's cp-server is a broker, Flink with Kafka in its name is not)."""
    from bootstrap.classify import classify
    from bootstrap.settings import Settings

    service = Service("s", image=image)
    assert (choose_probe(service).kind, classify(service, Settings()).phase) == (kind, phase)
