"""Bad input: exit 2, a message naming the place and the fix, and nothing started."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from tests.conftest import Project

pytestmark = [pytest.mark.docker, pytest.mark.bad_input]

# case -> (extra arguments, what the message must name)
CASES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "malformed-yaml": ((), ("docker-compose.yml:4:4", "not valid YAML")),
    "unknown-profile": (("--profile", "mpc"), ("--profile mpc", "did you mean 'mcp'")),
    "missing-dependency": ((), ("services.app.depends_on.ghost",)),
    "dependency-cycle": ((), ("dependency cycle", "->")),
    "label-contradicts-dependency": ((), ("services.db.depends_on.tool", "by label")),
    "ip-outside-subnet": ((), ("services.pg.networks.mcp-cluster.ipv4_address", "outside")),
    "ip-other-tier": ((), ("in the mcp range (.90-.99), not databases (.20-.29)",)),
    "ip-gateway": ((), ("is the gateway",)),
    "ip-twice": ((), ("services.b.networks.mcp-cluster.ipv4_address", "also the address of a")),
    "subnet-overlap": ((), ("networks.mcp-cluster.ipam.config[0].subnet", "overlaps")),
    "port-twice": ((), ("services.b.ports[0]", "also published by a")),
    "port-outside-ranges": ((), ("services.a.ports[0]", "outside every reserved range")),
    "db-port-public": ((), ("services.pg.ports[0]", "published on all interfaces")),
    "malformed-env": ((), (".env:2", "malformed line")),
    "required-variable-unset": ((), ("DATABASE_URL", "set DATABASE_URL in .env.local")),
    "external-network-missing": (
        (),
        ("networks.shared", "does not exist", "docker network create"),
    ),
    "secret-variable-unset": (
        (),
        ("secrets.api_token.environment", "BOOTSTRAP_TEST_TOKEN_NOBODY_SETS is not set"),
    ),
    "volume-name": ((), ("volumes.data.name", "naming convention")),
    "unknown-phase-label": (
        (),
        ("services.app.labels.bootstrap.phase", "did you mean 'databases'"),
    ),
    "settings-wrong-type": ((), ("bootstrap.toml: cache_uid", "expected an integer")),
    "probe-kind-typo": ((), ("services.web.labels.bootstrap.probe", "did you mean 'http'")),
    "probe-port-word": ((), ("bootstrap.probe.port", "'eighty' is not a port number")),
    "probe-timeout-word": ((), ("bootstrap.probe.timeout", "'soon' is not a duration")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_refused_and_nothing_starts(
    case: str, make_project: Callable[..., Project]
) -> None:
    project = make_project(f"bad/{case}")
    extra, expected = CASES[case]
    decoy = f"{project.name}-decoy"
    if case == "subnet-overlap":
        subprocess.run(
            [
                "docker",
                "network",
                "create",
                "--subnet",
                f"{project.env['SUBNET_BASE']}.128/25",
                decoy,
            ],
            check=True,
            capture_output=True,
        )
    try:
        done = project.run(*extra, "up", "--timeout", "20")
    finally:
        if case == "subnet-overlap":
            subprocess.run(["docker", "network", "rm", decoy], capture_output=True)
    assert done.returncode == 2, (done.stdout, done.stderr)
    for fragment in expected:
        assert fragment in done.stderr, (fragment, done.stderr)
    assert "fix:" in done.stderr
    assert "Traceback" not in done.stderr
    assert project.leftovers() == {"containers": [], "networks": [], "volumes": []}
