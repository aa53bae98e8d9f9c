"""``elasticsearch`` (and OpenSearch): ``GET /_cluster/health`` at least yellow, as the
``elastic`` (``ELASTIC_PASSWORD``) or ``admin`` (``OPENSEARCH_INITIAL_ADMIN_PASSWORD``) user
where security is on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bootstrap.probes.httphealth import json_field, register_http
from bootstrap.probes.spec import ParamValue


def derive(env: Mapping[str, str], _command: Sequence[str]) -> dict[str, ParamValue]:
    if env.get("ELASTIC_PASSWORD"):
        return {"user": "elastic", "password": env["ELASTIC_PASSWORD"]}
    if env.get("OPENSEARCH_INITIAL_ADMIN_PASSWORD"):
        return {"user": "admin", "password": env["OPENSEARCH_INITIAL_ADMIN_PASSWORD"]}
    return {}


register_http(
    "elasticsearch",
    port=9200,
    paths=["/_cluster/health"],
    accept=json_field("status", {"green": True, "yellow": True}),
    images=frozenset({"elasticsearch", "opensearch"}),
    signal="`GET /_cluster/health` says green or yellow (as elastic/admin where a password is set)",
    phase="databases",
    derive=derive,
)
