"""A warning, not a refusal: a database whose data is not on a named volume."""

from __future__ import annotations

from bootstrap.plan import build_plan
from bootstrap.settings import Settings
from bootstrap.validate import Severity, check_database_volumes

from .helpers import stack, svc


def warnings_for(service: dict[str, object]) -> list[object]:
    return list(check_database_volumes(build_plan(stack({"pg": service}), Settings())))


def test_database_without_a_data_volume_warns() -> None:
    (found,) = warnings_for(svc("postgres:17"))
    assert found.severity is Severity.WARNING  # type: ignore[attr-defined]
    assert "/var/lib/postgresql/data is not on a named volume" in found.message  # type: ignore[attr-defined]


def test_database_with_its_data_volume_is_quiet() -> None:
    assert warnings_for(svc("postgres:17", volumes=["pgdata"], env={"PGDATA": "/data/pg"})) == []
    assert warnings_for(svc("busybox")) == []
