"""``mcp``: the Model Context Protocol's handshake (initialize, initialized, tools/list)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bootstrap.mcp_client import DEFAULT_PATH, McpError, handshake
from bootstrap.outcome import Observation
from bootstrap.probes.core import Probe, Target
from bootstrap.probes.docker import DockerHealthProbe
from bootstrap.probes.registry import ProbeKind, port_of, register
from bootstrap.probes.spec import PORT, Param, ProbeSpec, path

DEFAULT_PORT = 8000


@dataclass(frozen=True)
class McpProbe:
    port: int
    path: str = DEFAULT_PATH
    kind: str = "mcp"

    def check(self, target: Target) -> Observation:
        endpoint = target.endpoint(self.port)
        if endpoint is None:
            if target.healthcheck is not None:
                seen = DockerHealthProbe().check(target)
                return Observation(
                    seen.ready,
                    f"MCP port {self.port} not reachable from here (publish it on 127.0.0.1 "
                    f"for the handshake); container healthcheck: {seen.detail}",
                )
            return Observation(
                False,
                f"port {self.port} is neither published on 127.0.0.1 nor reachable by name; "
                "publish it on 127.0.0.1 or give the service a healthcheck",
                fatal=True,
            )
        try:
            report = handshake(endpoint[0], endpoint[1], self.path)
        except McpError as exc:
            return Observation(False, f"MCP contract: {exc}")
        except OSError as exc:
            return Observation(False, f"MCP {endpoint[0]}:{endpoint[1]}: {exc.strerror or exc}")
        return Observation(True, report.summary())


def _build(spec: ProbeSpec, exposed: Sequence[int]) -> Probe:
    return McpProbe(port_of(spec, exposed, DEFAULT_PORT), spec.text("path", DEFAULT_PATH))


register(
    ProbeKind(
        "mcp",
        {"port": PORT, "path": Param(path)},
        _build,
        in_container=True,
        signal="the MCP handshake: initialize, notifications/initialized, tools/list, checked",
        tested="real server",
    )
)
