"""Every bootstrap.* label is parsed in planning: a typo exits 2 before anything starts."""

from __future__ import annotations

import pytest

from bootstrap.errors import ConfigError
from bootstrap.probes import make_probe
from bootstrap.probes.http import HttpProbe
from bootstrap.probes.postgres import PostgresProbe

from .helpers import plan, svc

pytestmark = pytest.mark.bad_input


def refused(labels: dict[str, str], **kw: object) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        plan({"web": svc(labels=labels, **kw)})  # type: ignore[arg-type]
    return caught.value


def test_unknown_probe_kind_suggests_the_closest() -> None:
    error = refused({"bootstrap.probe": "htpp"})
    assert error.location == "services.web.labels.bootstrap.probe"
    assert "did you mean 'http'" in error.hint


def test_port_that_is_not_a_number() -> None:
    error = refused({"bootstrap.probe": "http", "bootstrap.probe.port": "eighty"})
    assert error.location == "services.web.labels.bootstrap.probe.port"
    assert "'eighty' is not a port number" in error.message


def test_timeout_that_is_not_a_duration() -> None:
    error = refused({"bootstrap.probe": "tcp", "bootstrap.probe.timeout": "soon"})
    assert "'soon' is not a duration" in error.message


def test_parameter_of_another_kind() -> None:
    error = refused({"bootstrap.probe": "tcp", "bootstrap.probe.path": "/healthz"})
    assert "'path' is not a parameter of the tcp probe" in error.message
    assert "path belongs to: http, mcp" in error.hint


def test_parameter_without_a_kind_label_checks_against_the_inferred_kind() -> None:
    error = refused({"bootstrap.probe.path": "/x"})
    assert "of the running probe" in error.message


def test_unknown_bootstrap_label_and_bad_values() -> None:
    assert "did you mean 'bootstrap.phase'" in refused({"bootstrap.phaze": "apps"}).hint
    assert "unknown role" in refused({"bootstrap.role": "registry"}).message
    assert "not true or false" in refused({"bootstrap.optional": "maybe"}).message
    assert refused({"bootstrap.phase": "dtabases"}).hint.startswith("did you mean 'databases'")


def test_parsed_values_build_the_probe() -> None:
    p = plan(
        {
            "web": svc(
                labels={
                    "bootstrap.probe": "http",
                    "bootstrap.probe.port": "8080",
                    "bootstrap.probe.status": "204",
                    "bootstrap.probe.timeout": "1m30s",
                }
            )
        }
    )
    spec = p.services["web"].probe
    assert spec.params["timeout"] == 90.0
    probe = make_probe(spec)
    assert isinstance(probe, HttpProbe) and (probe.port, probe.status) == (8080, 204)


def test_sql_probe_reads_the_official_images_file_variables() -> None:
    p = plan(
        {
            "pg": svc("postgres:17", env={"POSTGRES_PASSWORD_FILE": "/run/secrets/pg"}),
            "maria": svc("mariadb:11", env={"MARIADB_ROOT_PASSWORD_FILE": "/run/secrets/m"}),
        }
    )
    assert p.services["pg"].probe.params["password_file"] == "/run/secrets/pg"
    assert p.services["maria"].probe.params["password_file"] == "/run/secrets/m"
    probe = make_probe(p.services["pg"].probe)
    assert isinstance(probe, PostgresProbe) and probe.credentials.password_file == "/run/secrets/pg"
