"""validate warns when a service holds the host: the socket, privileged, SYS_ADMIN."""

from __future__ import annotations

from typing import Any

import pytest

from bootstrap.errors import ConfigError
from bootstrap.validate import Severity, check_privileges

from .helpers import plan, svc

pytestmark = pytest.mark.security


def socket_service(mode: str = "ro", **labels: str) -> dict[str, Any]:
    spec = svc(labels=labels or None)
    spec["volumes"] = [
        {
            "type": "bind",
            "source": "/var/run/docker.sock",
            "target": "/var/run/docker.sock",
            "read_only": mode == "ro",
        }
    ]
    return spec


def test_socket_in_any_mode_warns_with_the_fix() -> None:
    for mode in ("ro", "rw"):
        found = check_privileges(plan({"agent": socket_service(mode)}))
        assert [f.rule for f in found] == ["docker-socket"]
        assert found[0].severity is Severity.WARNING
        assert "read-only mode does not help" in found[0].message
        assert "proxy" in found[0].hint and "bootstrap.allow: docker-socket" in found[0].hint


def test_privileged_and_sys_admin_warn() -> None:
    privileged = {**svc(), "privileged": True}
    admin = {**svc(), "cap_add": ["CAP_SYS_ADMIN"]}
    found = check_privileges(plan({"a": privileged, "b": admin}))
    assert sorted(f.rule for f in found) == ["privileged", "sys-admin"]


def test_a_service_can_accept_the_risk_on_purpose() -> None:
    accepted = {
        **socket_service(**{"bootstrap.allow": "docker-socket,privileged"}),
        "privileged": True,
    }
    assert check_privileges(plan({"proxy": accepted})) == []
    with pytest.raises(ConfigError, match="unknown allowance"):
        plan({"x": svc(labels={"bootstrap.allow": "docker-sock"})})
