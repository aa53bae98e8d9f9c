from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bootstrap.errors import ConfigError, CycleError
from bootstrap.graph import waves
from bootstrap.plan import plan_document
from bootstrap.settings import Settings

from .helpers import plan, seed_like, svc


def test_seed_like_stack_comes_up_in_phase_order() -> None:
    p = plan(seed_like(), profiles=("mcp",))
    assert [(ph.name, ph.services) for ph in p.phases] == [
        ("databases", ("mariadb", "postgres")),
        ("discovery", ("discovery",)),
        ("apps", ("mcp-server",)),
        ("monitoring", ("node-exporter", "prometheus")),
    ]


def test_profiles_select_services() -> None:
    p = plan(seed_like())
    assert "mcp-server" not in p.services
    assert "mcp-server" in plan(seed_like(), profiles=("*",)).services


@pytest.mark.parametrize(
    ("service", "phase", "why"),
    [
        (
            svc("busybox", labels={"bootstrap.phase": "monitoring"}, ip="172.28.0.20"),
            "monitoring",
            "label bootstrap.phase=monitoring",
        ),
        (svc("busybox", ip="172.28.0.25"), "databases", "databases tier"),
        (svc("busybox", ip="172.28.0.75"), "monitoring", "monitoring tier"),
        (svc("busybox", ip="172.28.0.55"), "apps", "build tier"),
        (svc("redis:7"), "databases", "image redis:7"),
        (svc("quay.io/prometheuscommunity/postgres-exporter"), "monitoring", "postgres-exporter"),
        (svc("grafana/grafana"), "monitoring", "grafana"),
        (svc("hashicorp/consul"), "discovery", "registry"),
        (
            svc("busybox", labels={"bootstrap.role": "discovery"}, ip="172.28.0.92"),
            "discovery",
            "bootstrap.role=discovery",
        ),
        (svc("my-app"), "apps", "an application"),
    ],
)
def test_classification_says_why(service: dict[str, object], phase: str, why: str) -> None:
    planned = plan({"s": service}).services["s"]
    assert planned.phase == phase
    assert why in planned.reason


def test_inferred_dependency_moves_earlier_and_explains() -> None:
    # A log shipper (monitoring by image) that the database waits for comes up with it.
    p = plan(
        {
            "postgres": svc("postgres:17", depends={"shipper": "service_started"}),
            "shipper": svc("grafana/promtail"),
        }
    )
    assert p.services["shipper"].phase == "databases"
    reason = p.services["shipper"].reason
    assert "moved from monitoring to databases: postgres depends on it" in reason
    assert p.phases[0].waves == (("shipper",), ("postgres",))


def test_explicit_dependency_pulls_an_inferred_dependent_later() -> None:
    p = plan(
        {
            "app": svc("postgres:17", depends={"metrics": "service_started"}),
            "metrics": svc("busybox", labels={"bootstrap.phase": "monitoring"}),
        }
    )
    assert p.services["app"].phase == "monitoring"
    assert "monitoring by label" in p.services["app"].reason


@pytest.mark.bad_input
def test_label_phase_contradicting_a_dependency_is_an_error() -> None:
    with pytest.raises(ConfigError) as caught:
        plan(
            {
                "db": svc(
                    "busybox",
                    labels={"bootstrap.phase": "databases"},
                    depends={"tool": "service_started"},
                ),
                "tool": svc("busybox", labels={"bootstrap.phase": "apps"}),
            }
        )
    assert "db" in caught.value.message and "tool" in caught.value.message
    assert caught.value.location == "services.db.depends_on.tool"


@pytest.mark.bad_input
def test_cycle_names_the_cycle() -> None:
    with pytest.raises(CycleError) as caught:
        plan(
            {
                "a": svc(depends={"b": "service_started"}),
                "b": svc(depends={"c": "service_started"}),
                "c": svc(depends={"a": "service_started"}),
            }
        )
    assert set(caught.value.cycle) == {"a", "b", "c"}
    assert "->" in caught.value.message


@pytest.mark.bad_input
def test_missing_dependency_is_an_error() -> None:
    with pytest.raises(ConfigError) as caught:
        plan({"a": svc(depends={"ghost": "service_started"})})
    assert caught.value.location == "services.a.depends_on.ghost"


def test_missing_optional_dependency_is_ignored() -> None:
    p = plan({"a": svc(depends={"ghost": {"condition": "service_started", "required": False}})})
    assert p.services["a"].depends_on == ()


@pytest.mark.bad_input
def test_unknown_phase_label_suggests_the_closest() -> None:
    with pytest.raises(ConfigError) as caught:
        plan({"a": svc(labels={"bootstrap.phase": "dtabases"})})
    assert "did you mean 'databases'" in caught.value.hint
    assert caught.value.location == "services.a.labels.bootstrap.phase"


def test_optional_by_label_or_by_every_dependent() -> None:
    p = plan(
        {
            "cache": svc("redis"),
            "tracing": svc("busybox", labels={"bootstrap.optional": "true"}),
            "app": svc(depends={"cache": {"condition": "service_started", "required": False}}),
        }
    )
    assert p.services["cache"].optional
    assert p.services["tracing"].optional
    assert not p.services["app"].optional


def test_probe_defaults_and_label_overrides() -> None:
    p = plan(
        {
            "pg": svc(
                "postgres:17",
                env={"POSTGRES_USER": "u", "POSTGRES_PASSWORD": "pw", "POSTGRES_DB": "d"},
            ),
            "maria": svc("mariadb:11", env={"MARIADB_ROOT_PASSWORD": "r"}),
            "web": svc(labels={"bootstrap.probe": "http", "bootstrap.probe.path": "/healthz"}),
            "hc": svc(healthcheck={"test": ["CMD", "true"], "interval": "5s"}),
            "mcp": svc(labels={"discovery.protocol": "mcp", "discovery.port": "8000"}),
            "job": svc(),
            "app": svc(depends={"job": "service_completed_successfully"}),
        }
    )
    probes = {n: s.probe for n, s in p.services.items()}
    assert probes["pg"].kind == "postgres" and probes["pg"].params["user"] == "u"
    assert probes["pg"].params["database"] == "d"
    assert "password" not in probes["pg"].public()
    assert probes["maria"].kind == "mariadb" and probes["maria"].params["user"] == "root"
    assert probes["web"].kind == "http" and probes["web"].params["path"] == "/healthz"
    assert probes["hc"].kind == "docker"
    assert probes["mcp"].kind == "mcp" and probes["mcp"].params["port"] == 8000
    assert probes["job"].kind == "completed"
    assert probes["app"].kind == "running"


def test_plan_document_schema_is_stable_and_secret_free() -> None:
    services = seed_like()
    services["postgres"]["environment"] = {"POSTGRES_PASSWORD": "topsecret"}
    doc = plan_document(plan(services, profiles=("mcp",)))
    assert doc["schema"] == 2
    assert doc["services"]["postgres"]["wave"] == 1  # numbered as the text output numbers them
    assert [p["name"] for p in doc["phases"]] == ["databases", "discovery", "apps", "monitoring"]
    entry = doc["services"]["mcp-server"]
    assert set(entry) == {
        "phase",
        "wave",
        "why",
        "explicit",
        "optional",
        "image",
        "address",
        "ports",
        "volumes",
        "depends_on",
        "probe",
        "resources",
        "replicas",
    }
    assert entry["depends_on"] == [
        {"service": "postgres", "condition": "service_healthy", "required": True}
    ]
    assert "topsecret" not in repr(doc)


def test_custom_phases_from_settings() -> None:
    settings = Settings(phases=("databases", "apps"), tiers=())
    p = plan({"a": svc("postgres"), "b": svc("prom/prometheus")}, settings=settings)
    assert [ph.name for ph in p.phases] == ["databases", "apps"]
    assert p.services["b"].phase == "apps"


@st.composite
def dags(draw: st.DrawFn) -> dict[int, set[int]]:
    size = draw(st.integers(1, 25))
    edges: dict[int, set[int]] = {n: set() for n in range(size)}
    for a, b in itertools.combinations(range(size), 2):
        if draw(st.booleans()):
            edges[b].add(a)  # only later -> earlier: acyclic by construction
    return edges


@given(dags())
def test_waves_respect_every_edge(edges: dict[int, set[int]]) -> None:
    layered = waves(list(edges), edges)
    level = {n: i for i, wave in enumerate(layered) for n in wave}
    assert set(level) == set(edges)
    for node, deps in edges.items():
        for dep in deps:
            assert level[dep] < level[node]


@given(dags(), st.data())
def test_any_acyclic_stack_plans_with_edges_respected(
    edges: dict[int, set[int]], data: st.DataObject
) -> None:
    images = ["postgres", "busybox", "prom/prometheus", "consul", "app"]
    services = {
        f"s{n}": svc(
            data.draw(st.sampled_from(images)), depends={f"s{d}": "service_started" for d in deps}
        )
        for n, deps in edges.items()
    }
    p = plan(services)
    position = {name: (p.phase_index(name), p.services[name].wave) for name in p.services}
    for name, planned in p.services.items():
        for dep in planned.depends_on:
            assert position[dep.name] < position[name]


def test_a_targeted_plan_is_the_services_named_and_what_they_need() -> None:
    from bootstrap.plan import targeted

    whole = plan(
        {
            "db": svc("postgres:16"),
            "cache": svc("redis:7"),
            "api": svc(depends={"db": "service_started"}),
            "web": svc(depends={"api": "service_started"}),
            "other": svc(),
        }
    )
    web = targeted(whole, ["web"])
    assert web.order() == ["db", "api", "web"]
    assert [p.name for p in web.phases] == [p.name for p in whole.phases]
    assert web.services["web"].wave == 2 and web.services["api"].wave == 1
    alone = targeted(whole, ["web"], dependencies=False)
    assert alone.order() == ["web"]
    assert alone.services["web"].depends_on == () and alone.services["web"].wave == 1
    assert sorted(targeted(whole, ["cache", "other"]).order()) == ["cache", "other"]


def test_a_setup_job_run_from_a_server_image_is_waited_for_as_compose_waits() -> None:
    """elastic/start-local's kibana_settings: the Elasticsearch image running a one-shot
    script that Kibana waits for with service_completed_successfully."""
    whole = plan(
        {
            "elasticsearch": svc("docker.elastic.co/elasticsearch/elasticsearch:8.15.0"),
            "kibana_settings": svc(
                "docker.elastic.co/elasticsearch/elasticsearch:8.15.0",
                depends={"elasticsearch": "service_started"},
            ),
            "kibana": svc(
                "docker.elastic.co/kibana/kibana:8.15.0",
                depends={"kibana_settings": "service_completed_successfully"},
            ),
        }
    )
    assert whole.services["kibana_settings"].probe.kind == "completed"
    assert whole.services["elasticsearch"].probe.kind == "elasticsearch"
