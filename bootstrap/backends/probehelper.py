"""The probe helper: a container on a stack's network that runs bootstrap's own probes (the
package copied in, standard library only) against every replica of a service by its address
there. Both backends use it: Swarm for every replica on every node; compose where a service's
port is neither published on 127.0.0.1 nor reachable by name from where bootstrap runs."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import bootstrap
from bootstrap.errors import EngineError
from bootstrap.outcome import Observation
from bootstrap.probes.core import every_replica
from bootstrap.probes.spec import ProbeSpec
from bootstrap.runtime import ExecResult


class HelperEngine(Protocol):
    def start_probe_helper(self, image: str, network: str, project: str, package: Path) -> str: ...
    def remove_container(self, container_id: str) -> None: ...
    def ensure_image(self, image: str) -> None: ...
    def exec(
        self,
        container_id: str,
        command: Sequence[str],
        *,
        user: str = "",
        env: Mapping[str, str] | None = None,
    ) -> ExecResult: ...


class ProbeHelper:
    """One helper container per network, started on first use, removed by ``close``."""

    def __init__(self, engine: HelperEngine, image: str, project: str) -> None:
        self.engine = engine
        self.image = image
        self.project = project
        self._helpers: dict[str, str] = {}
        self._lock = threading.Lock()

    def _helper(self, network: str) -> str:
        with self._lock:
            if network not in self._helpers:
                self.engine.ensure_image(self.image)
                package = Path(bootstrap.__file__).parent
                self._helpers[network] = self.engine.start_probe_helper(
                    self.image, network, self.project, package
                )
            return self._helpers[network]

    def probe(
        self,
        network: str,
        service: str,
        resolve: str,
        spec: ProbeSpec,
        exposed: Sequence[int],
        want: int,
    ) -> Observation:
        """The spec's probe, built in the helper by the same registry, run against every
        address ``resolve`` has on ``network``; one verdict over the replicas."""
        try:
            helper = self._helper(network)
        except EngineError as exc:
            return Observation(
                False,
                f"no probe helper on {network} ({exc.message}): publish the port on "
                f"127.0.0.1, or make {self.image} available (the `probe_image` setting)",
                fatal=True,
            )
        document = {
            "service": service,
            "resolve": resolve,
            "kind": spec.kind,
            "params": dict(spec.params),
            "exposed": list(exposed),
        }
        done = self.engine.exec(
            helper, ["python3", "-m", "bootstrap.backends.helper", json.dumps(document)]
        )
        try:
            replicas = json.loads(done.output.strip().splitlines()[-1])["replicas"]
        except (IndexError, ValueError, KeyError):
            said = done.output.strip()[-200:] or f"exit {done.exit_code}"
            return Observation(False, f"probe helper: {said}")
        seen = [(r["address"], Observation(bool(r["ready"]), str(r["detail"]))) for r in replicas]
        return every_replica(seen, want)

    def close(self) -> None:
        with self._lock:
            for helper in self._helpers.values():
                self.engine.remove_container(helper)
            self._helpers.clear()


class OverTheNetwork:
    """A probe run from the helper on the stack's network (the port is not reachable from
    where bootstrap runs): every replica of the service, one verdict."""

    def __init__(
        self,
        helper: ProbeHelper,
        network: str,
        service: str,
        spec: ProbeSpec,
        exposed: Sequence[int],
        want: int,
    ) -> None:
        self.helper, self.network, self.service = helper, network, service
        self.spec, self.exposed, self.want = spec, exposed, want

    @property
    def kind(self) -> str:
        return self.spec.kind

    def check(self, _target: object) -> Observation:
        seen = self.helper.probe(
            self.network, self.service, self.service, self.spec, self.exposed, self.want
        )
        if seen.ready:
            return Observation(True, f"{seen.detail} (from a helper on {self.network})")
        return seen
