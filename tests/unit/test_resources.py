"""Limits: read from either compose form, shown by plan, checked by validate, proposed by
``stats --suggest`` from what the services used."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from bootstrap.model import Resources
from bootstrap.rightsize import Usage, override_yaml, suggest, table, usage_from
from bootstrap.runtime import ResourceSample
from bootstrap.sizes import MIB, memory
from bootstrap.validate import check_capacity, check_database_limits

from .helpers import plan, stack, svc

pytestmark = pytest.mark.bad_input


def limited(image: str, **resources: Any) -> dict[str, Any]:
    spec = svc(image)
    spec["deploy"] = {"resources": resources}
    return spec


def test_both_compose_forms_are_read_as_compose_normalises_them() -> None:
    s = stack(
        {
            "a": {**svc(), "mem_limit": "268435456", "cpus": 0.5, "mem_reservation": "67108864"},
            "b": limited(
                "busybox",
                limits={"cpus": 0.25, "memory": "134217728"},
                reservations={"cpus": 0.1, "memory": "33554432"},
            ),
            "c": svc(),
        }
    )
    a, b, c = (s.services[n].resources for n in "abc")
    assert (a.memory_limit, a.cpus_limit, a.memory_reservation) == (256 * MIB, 0.5, 64 * MIB)
    assert a.service_keys and not b.service_keys
    assert (b.memory_limit, b.cpus_limit, b.cpus_reservation) == (128 * MIB, 0.25, 0.1)
    assert not c


def test_sizes_never_round_down() -> None:
    assert memory(256 * MIB) == "256M"
    assert memory(2 * 1024 * MIB) == "2G"
    assert memory(1536 * MIB) == "1536M"
    assert memory(256 * MIB + 1) == "257M"
    assert memory(0) == "-"


def test_a_database_without_a_memory_limit_is_warned_about() -> None:
    p = plan(
        {
            "pg": svc("postgres:17", volumes=["pg"]),
            "maria": limited("mariadb:11", limits={"memory": str(512 * MIB)}),
            "web": svc("nginx"),
        }
    )
    found = check_database_limits(p)
    assert [f.location for f in found] == ["services.pg.deploy.resources.limits.memory"]
    assert "stats --suggest" in found[0].hint


def test_limits_beyond_the_machine() -> None:
    p = plan(
        {
            "a": limited("busybox", limits={"memory": str(3 * 1024 * MIB), "cpus": 1.5}),
            "b": limited("busybox", limits={"memory": str(2 * 1024 * MIB), "cpus": 4}),
        }
    )
    found = check_capacity(p, cpus=2, memory=4 * 1024 * MIB)
    rules = sorted((f.rule, f.severity.value) for f in found)
    assert rules == [
        ("cpu-limit-above-machine", "error"),
        ("limits-exceed-machine", "warning"),  # memory; CPU limits may add up to more
    ]
    assert any("5G" in f.message and "4G" in f.message for f in found)
    assert check_capacity(p, cpus=8, memory=64 * 1024 * MIB) == []
    assert check_capacity(p, cpus=0, memory=0) == []  # the engine did not say: no guess


def sample(mem: int, peak: int, cpu: float, limit: int = 8 * 1024 * MIB) -> ResourceSample:
    return ResourceSample(mem, peak, limit, cpu, 0.0)


def test_suggestions_come_from_the_peaks_with_headroom_floors_and_rounding() -> None:
    pg = usage_from("pg", sample(60 * MIB, 100 * MIB, 0.02), Resources())
    pg = pg.merged(sample(50 * MIB, 0, 0.40))  # a later reading: higher CPU, lower memory
    tiny = usage_from("tiny", sample(1 * MIB, 2 * MIB, 0.0), Resources(service_keys=True))
    proposed = suggest([pg, tiny], headroom=1.5, machine_cpus=2)
    assert proposed["pg"].memory_limit == 160 * MIB  # 100 MiB x 1.5, up to 16 MiB steps
    assert proposed["pg"].cpus_limit == pytest.approx(0.6)
    assert proposed["pg"].memory_reservation == 64 * MIB  # now 50 MiB, up to 16 MiB steps
    assert proposed["tiny"].memory_limit == 32 * MIB and proposed["tiny"].cpus_limit == 0.5
    busy = usage_from("busy", sample(10 * MIB, 10 * MIB, 1.9), Resources())
    assert suggest([busy], machine_cpus=2)["busy"].cpus_limit == 2.0  # never above the machine

    usages = {u.service: u for u in (pg, tiny)}
    text = override_yaml(proposed, headroom=1.5, usages=usages)
    document = yaml.safe_load(text)
    assert document["services"]["pg"]["deploy"]["resources"] == {
        "limits": {"cpus": "0.6", "memory": "160M"},
        "reservations": {"memory": "64M"},
    }
    # A service that wrote mem_limit gets mem_limit: compose refuses both forms at once.
    assert document["services"]["tiny"] == {
        "mem_limit": "32M",
        "mem_reservation": "16M",
        "cpus": 0.5,
    }
    assert "peak memory 100M (since start)" in text


def test_the_table_shows_use_against_the_limit() -> None:
    u = Usage("pg", 60 * MIB, 120 * MIB, 0.1, 0.3, Resources(memory_limit=240 * MIB))
    rows = table([u]).splitlines()
    assert rows[0].split()[:3] == ["SERVICE", "CPU", "PEAK"]
    assert rows[1].split() == ["pg", "0.10", "0.30", "-", "60M", "120M", "240M", "50%"]


def test_replicas_come_from_deploy_or_scale() -> None:
    from bootstrap.model import stack_from_compose

    stack = stack_from_compose(
        {
            "name": "p",
            "services": {
                "one": {"image": "x"},
                "three": {"image": "x", "deploy": {"replicas": 3}},
                "legacy": {"image": "x", "scale": 2},
                "zero": {"image": "x", "deploy": {"replicas": 0}},
            },
        }
    )
    replicas = {name: s.replicas for name, s in stack.services.items()}
    assert replicas == {"one": 1, "three": 3, "legacy": 2, "zero": 0}
