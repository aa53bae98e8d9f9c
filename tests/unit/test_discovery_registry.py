from __future__ import annotations

import pytest

from bootstrap.discovery.alerts import Alerts, PayloadError
from bootstrap.discovery.registry import (
    Health,
    LabelError,
    Registry,
    file_sd,
    metrics_text,
    registration_from,
)
from bootstrap.runtime import ContainerInfo


def container(cid: str, service: str, labels: dict[str, str]) -> ContainerInfo:
    return ContainerInfo(
        cid,
        f"proj-{service}-1",
        service,
        "running",
        labels={"com.docker.compose.project": "proj", **labels},
        addresses={"proj_mcp-cluster": f"172.28.0.{len(service)}", "bridge": "172.17.0.9"},
    )


def test_labels_make_a_registration() -> None:
    entry = registration_from(
        container(
            "c1",
            "api",
            {
                "discovery.enable": "true",
                "discovery.protocol": "mcp",
                "discovery.port": "8000",
                "prometheus.scrape": "true",
                "prometheus.port": "9100",
            },
        ),
        network="mcp-cluster",
    )
    assert entry is not None
    assert (entry.protocol, entry.port, entry.path) == ("mcp", 8000, "/mcp")
    assert entry.address == "172.28.0.3"  # the address on the named network, not bridge
    assert entry.scrape and entry.scrape_port == 9100


def test_container_without_labels_is_ignored() -> None:
    assert registration_from(container("c2", "plain", {})) is None
    assert registration_from(container("c3", "off", {"discovery.enable": "false"})) is None


@pytest.mark.parametrize(
    "labels",
    [
        {"discovery.enable": "true", "discovery.protocol": "gopher"},
        {"discovery.enable": "true", "discovery.port": "http"},
        {"prometheus.scrape": "true", "prometheus.port": "70000"},
    ],
)
def test_bad_label_values_are_named(labels: dict[str, str]) -> None:
    with pytest.raises(LabelError) as caught:
        registration_from(container("c4", "x", labels))
    assert any(key in str(caught.value) for key in labels)


def test_register_deregister_from_recorded_events() -> None:
    registry = Registry()
    web = registration_from(
        container("c1", "web", {"discovery.enable": "true", "discovery.protocol": "http"})
    )
    db = registration_from(
        container(
            "c2",
            "db",
            {
                "discovery.enable": "true",
                "discovery.protocol": "postgres",
                "discovery.port": "5432",
            },
        )
    )
    assert web and db
    # recorded: start c1, start c2, health up for web, die c1
    assert registry.register(web) and registry.register(db)
    assert not registry.register(web)  # same registration again: no change
    assert registry.set_health("web", Health("up", "HTTP 200", 0.01, 1.0))
    assert not registry.set_health("web", Health("up", "HTTP 200", 0.02, 2.0))  # no change
    # die c1: still listed, down, its metric 0; a late probe result does not revive it
    assert registry.mark_stopped("c1", "container die (exit code 137)", 3.0) == "web"
    assert [e.service for e in registry.running()] == ["db"]
    assert not registry.set_health("web", Health("up", "HTTP 200", 0.02, 3.5))
    assert 'bootstrap_discovery_service_up{service="web"} 0' in metrics_text(registry)
    # start c1 again: running, still down until a probe says otherwise
    assert registry.register(web) is False and registry.health["web"].status == "down"
    assert sorted(e.service for e in registry.running()) == ["db", "web"]
    # destroy c1
    assert registry.deregister_container("c1") == "web"
    assert registry.deregister_container("c1") is None
    assert [s["service"] for s in registry.snapshot()] == ["db"]
    assert registry.snapshot()[0]["status"] == "unknown"


def test_alerts_from_alertmanagers_webhook() -> None:
    def payload(state: str, *names: str) -> dict[str, object]:
        return {
            "version": "4",
            "status": state,
            "alerts": [
                {
                    "status": state,
                    "labels": {"alertname": n, "service": "pg", "severity": "critical"},
                    "annotations": {"summary": f"{n} on pg"},
                    "startsAt": "2026-11-27T10:00:00Z",
                    "fingerprint": n.lower(),
                }
                for n in names
            ],
        }

    alerts = Alerts()
    changed = alerts.receive(payload("firing", "ServiceDown", "ScrapeTargetDown"))
    assert [a.name for a in changed] == ["ServiceDown", "ScrapeTargetDown"]
    assert alerts.receive(payload("firing", "ServiceDown")) == []  # repeated: no change
    assert {a["name"] for a in alerts.active()} == {"ServiceDown", "ScrapeTargetDown"}
    assert alerts.active()[0]["summary"].endswith("on pg")
    resolved = alerts.receive(payload("resolved", "ServiceDown"))
    assert [(a.name, a.status) for a in resolved] == [("ServiceDown", "resolved")]
    assert [a["name"] for a in alerts.active()] == ["ScrapeTargetDown"]
    assert alerts.receive(payload("resolved", "Unknown")) == []  # never seen: nothing to drop
    bad: object
    for bad in ({}, {"alerts": "x"}, {"alerts": [{"labels": {}}]}, [1]):
        with pytest.raises(PayloadError):
            alerts.receive(bad)


def test_file_sd_lists_scraped_services_only() -> None:
    scraped = registration_from(
        container("c1", "exporter", {"prometheus.scrape": "true", "prometheus.port": "9187"})
    )
    only_discovered = registration_from(container("c2", "web", {"discovery.enable": "true"}))
    assert scraped and only_discovered
    groups = file_sd([scraped, only_discovered], project="proj")
    assert groups == [
        {
            "targets": ["exporter:9187"],
            "labels": {
                "job": "exporter",
                "service": "exporter",
                "__metrics_path__": "/metrics",
                "compose_project": "proj",
            },
        }
    ]


def test_metrics_text() -> None:
    registry = Registry()
    entry = registration_from(container("c1", "web", {"discovery.enable": "true"}))
    assert entry
    registry.register(entry)
    registry.set_health("web", Health("up", "ok", 0.25, 1.0))
    text = metrics_text(registry)
    assert 'bootstrap_discovery_service_up{service="web"} 1' in text
    assert 'bootstrap_discovery_probe_latency_seconds{service="web"} 0.250000' in text
    assert "bootstrap_discovery_registered_services 1" in text
