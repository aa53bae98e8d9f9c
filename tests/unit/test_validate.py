from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bootstrap.settings import POLICIES, Settings, seed_settings
from bootstrap.validate import (
    Finding,
    Severity,
    check_ports_free,
    check_subnet_overlap,
    validate,
)

from .helpers import plan, port, seed_like, stack, svc

pytestmark = pytest.mark.bad_input


def findings(
    services: dict[str, Any],
    profiles: tuple[str, ...] = (),
    *,
    enforce: tuple[str, ...] = POLICIES,
    **kw: Any,
) -> list[Finding]:
    """Validation under the reference repo's policies unless ``enforce`` says otherwise."""
    settings = replace(seed_settings("react_scuba"), enforce=enforce)
    s = stack(services, profiles, **kw)
    from bootstrap.plan import build_plan

    return validate(s, build_plan(s, settings), settings)


def only(found: list[Finding], rule: str) -> Finding:
    matching = [f for f in found if f.rule == rule]
    assert matching, [f.rule for f in found]
    return matching[0]


def test_seed_like_stack_is_clean() -> None:
    assert [f for f in findings(seed_like(), ("mcp",)) if f.severity is Severity.ERROR] == []


def test_address_outside_subnet() -> None:
    f = only(findings({"pg": svc("postgres", ip="172.30.0.20")}), "address-outside-subnet")
    assert f.location == "services.pg.networks.mcp-cluster.ipv4_address"
    assert "172.30.0.20 is outside 172.28.0.0/24" in f.message


def test_address_in_another_tiers_range() -> None:
    f = only(findings({"pg": svc("postgres", ip="172.28.0.95")}), "address-wrong-tier")
    assert f.severity is Severity.ERROR
    assert "172.28.0.95 is in the mcp range (.90-.99), not databases (.20-.29)" in f.message
    assert "bootstrap.phase" in f.hint


def test_address_on_the_gateway() -> None:
    f = only(findings({"app": svc(ip="172.28.0.1")}), "address-is-gateway")
    assert "gateway" in f.message


def test_address_used_twice() -> None:
    f = only(
        findings({"a": svc("postgres", ip="172.28.0.20"), "b": svc("mariadb", ip="172.28.0.20")}),
        "address-duplicate",
    )
    assert "also the address of a" in f.message and f.location.startswith("services.b.")


def test_malformed_subnet() -> None:
    f = only(findings({"a": svc(ip="172.28.0.20")}, subnet="172.28.0.1/24"), "subnet-malformed")
    assert "not a well-formed subnet" in f.message


def test_two_services_on_one_host_port() -> None:
    f = only(
        findings({"a": svc(ports=[port(3001)]), "b": svc(ports=[port(3001)])}), "port-duplicate"
    )
    assert f.location == "services.b.ports[0]" and "also published by a" in f.message


def test_host_port_outside_reserved_ranges() -> None:
    f = only(findings({"a": svc(ports=[port(8080)])}), "port-outside-ranges")
    assert "8080" in f.message and "3000-3099 development" in f.hint


def test_port_in_a_range_of_another_tier_warns() -> None:
    f = only(findings({"a": svc("prom/prometheus", ports=[port(3101)])}), "port-range-mismatch")
    assert f.severity is Severity.WARNING


def test_database_port_on_all_interfaces() -> None:
    f = only(
        findings({"pg": svc("postgres:17", ports=[port(7001, 5432, host_ip="")])}),
        "database-port-public",
    )
    assert "all interfaces" in f.message and "127.0.0.1:7001:5432" in f.hint


def test_database_port_on_loopback_is_fine() -> None:
    found = findings({"pg": svc("postgres:17", ports=[port(7001, 5432)])})
    assert not [f for f in found if f.rule == "database-port-public"]


def test_volume_breaking_the_naming_convention() -> None:
    f = only(
        findings({"pg": svc("postgres", volumes=["data"])}, volumes={"data": {"name": "pgdata"}}),
        "volume-name",
    )
    assert "react_scuba_" in f.message and f.location == "volumes.data.name"
    assert f.severity is Severity.ERROR


def test_policies_are_advice_where_the_settings_do_not_adopt_them() -> None:
    """A workspace without settings: ordinary ports, addresses and volume names are fine."""
    found = findings(
        {
            "api": svc(ports=[port(8000), port(8443, 443)]),
            "temporal": svc("temporalio/auto-setup", ports=[port(7233, 7233)]),
            "pg": svc("postgres", ip="172.28.0.95", volumes=["data"]),
        },
        enforce=(),
        volumes={"data": {"name": "pgdata"}},
    )
    assert [f for f in found if f.severity is Severity.ERROR] == []
    outside = only(found, "port-outside-ranges")
    assert outside.severity is Severity.NOTICE and 'enforce = ["port_ranges"]' in outside.hint
    assert only(found, "address-wrong-tier").severity is Severity.NOTICE
    assert 'enforce = ["volume_prefix"]' in only(found, "volume-name").hint
    assert not [f for f in found if f.rule == "port-range-mismatch"]


def test_anonymous_volume_for_a_database_warns_like_none() -> None:
    anonymous = {
        "image": "postgres:16",
        "volumes": [{"type": "volume", "target": "/var/lib/postgresql/data"}],
    }
    f = only(findings({"pg": anonymous}, enforce=()), "database-volume")
    assert f.severity is Severity.WARNING and "`down` leaves behind" in f.message


def test_tier_finding_agrees_with_the_planned_phase() -> None:
    """A data store at an mcp address is planned as a database; the finding says databases."""
    f = only(findings({"es": svc("elasticsearch:8.15.0", ip="172.28.0.95")}), "address-wrong-tier")
    assert "not databases (.20-.29)" in f.message


def test_external_volume_is_not_ours_to_name() -> None:
    found = findings(
        {"pg": svc("postgres", volumes=["data"])},
        volumes={"data": {"name": "shared", "external": True}},
    )
    assert not [f for f in found if f.rule == "volume-name"]


def test_unknown_profile_suggests_the_closest() -> None:
    f = only(findings(seed_like(), ("mpc",)), "unknown-profile")
    assert "did you mean 'mcp'" in f.hint


def test_subnet_overlap_names_the_other_network() -> None:
    s = stack(seed_like())
    found = check_subnet_overlap(
        s,
        Settings(),
        {"other_default": ["172.28.0.0/16"], "react_scuba_mcp-cluster": ["172.28.0.0/24"]},
    )
    assert len(found) == 1
    assert "'other_default'" in found[0].message and found[0].rule == "subnet-overlap"


def test_port_in_use_names_the_holder() -> None:
    p = plan({"a": svc(ports=[port(3005)]), "b": svc(ports=[port(3006)])})
    found = check_ports_free(p, {("127.0.0.1", 3005): "other-web-1", ("127.0.0.1", 3006): None})
    assert "the container other-web-1" in found[0].message
    assert "another process" in found[1].message and "ss -ltnp" in found[1].hint


@pytest.mark.parametrize("policy", ["tiers", "port_ranges"])
def test_a_policy_adopted_with_nothing_to_enforce_says_so(policy: str) -> None:
    """issue 38: enforce = ["tiers"] without [tiers.*] planned a database at a monitoring
    address without a word."""
    from bootstrap.settings import settings_from_mapping
    from bootstrap.validate import check_policies

    bare = settings_from_mapping({"enforce": [policy]}, source="bootstrap.toml")
    found = check_policies(bare)
    assert [f.rule for f in found] == ["enforce-without-policy"]
    assert (
        "bootstrap init --seed" in found[0].hint and found[0].location == "bootstrap.toml: enforce"
    )
    assert check_policies(settings_from_mapping({"enforce": ["database_ports"]})) == []


def test_an_external_network_or_volume_that_is_not_there_is_refused_before_anything_starts() -> (
    None
):
    from bootstrap.model import stack_from_compose
    from bootstrap.validate import check_external_resources

    from .helpers import document

    spec = svc("busybox", volumes=["data"])
    spec["networks"] = {"front": {}}
    doc = document({"app": spec}, volumes={"data": {"external": True, "name": "shared_data"}})
    doc["networks"]["front"] = {"external": True, "name": "foo_bar"}
    built = stack_from_compose(doc)
    found = check_external_resources(built, networks=["bridge"], volumes=[])
    assert [(f.rule, f.location) for f in found] == [
        ("external-missing", "networks.front"),
        ("external-missing", "volumes.data"),
    ]
    assert check_external_resources(built, networks=["foo_bar"], volumes=["shared_data"]) == []


def test_a_secret_read_from_a_variable_no_layer_sets_is_refused_before_anything_starts() -> None:
    from bootstrap.model import stack_from_compose
    from bootstrap.validate import check_injected_variables

    from .helpers import document

    spec = svc("busybox")
    spec["secrets"] = [{"source": "token", "target": "token"}]
    doc = document({"app": spec})
    doc["secrets"] = {"token": {"environment": "API_TOKEN"}}
    built = stack_from_compose(doc)
    found = check_injected_variables(built, known={"PATH"})
    assert [(f.rule, f.location) for f in found] == [
        ("injected-variable-unset", "secrets.token.environment")
    ]
    assert "API_TOKEN is not set" in found[0].message
    assert check_injected_variables(built, known={"API_TOKEN"}) == []


def test_start_interval_without_start_period_is_refused_before_anything_is_created() -> None:
    """Compose refuses it when it creates the container, after creating those before it;
    bootstrap before any, with compose's own words and the place."""
    from bootstrap.validate import check_start_intervals

    check = {"test": ["CMD", "true"], "interval": "30s", "start_interval": "1s"}
    p = plan(
        {
            "paced": svc(healthcheck={**check, "start_period": "10s"}),
            "unpaced": svc(healthcheck=check),
            "plain": svc(healthcheck={"test": ["CMD", "true"]}),
        }
    )
    found = check_start_intervals(p)
    assert [(f.location, f.severity.value) for f in found] == [
        ("services.unpaced.healthcheck.start_interval", "error")
    ]
    assert "requires healthcheck.start_period to be set" in found[0].message
