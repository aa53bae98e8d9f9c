"""A run record as OpenTelemetry spans, sent where the SDK's own environment says
(``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, OTLP over HTTP).

One trace per run: a root span for ``up``, a span per phase (from its barrier to its last
service), a span per service under its phase (launched to ready, failed or skipped), with
span events for the container's start, the first probe and the verdict. The SDK is imported
only when an endpoint is set, so ``bootstrap --help`` and a plain ``up`` never load it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def wanted(environ: Mapping[str, str]) -> bool:
    return any(environ.get(v) for v in ENDPOINT_VARIABLES)


def sdk_missing() -> str | None:
    """What to install where an endpoint is set and the SDK (the otel extra) is not."""
    import importlib.util

    try:
        found = importlib.util.find_spec("opentelemetry.sdk") is not None
    except ImportError:  # not even its namespace
        found = False
    if found:
        return None
    return "OpenTelemetry export needs the otel extra: uv tool install 'compose-bootstrap[otel]'"


def export_run(record: Mapping[str, Any]) -> None:
    """Send the record's spans and wait for the exporter (a few hundred milliseconds)."""
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.trace import Status, StatusCode

    from bootstrap import __version__

    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": "bootstrap", "bootstrap.project": str(record["project"])}
        )
    )
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
    tracer = provider.get_tracer("bootstrap", __version__)
    base = datetime.fromisoformat(str(record["began"])).timestamp()

    def at(seconds: float | None) -> int:
        return int((base + float(seconds or 0.0)) * 1e9)

    services: Mapping[str, Any] = record["services"]
    root = tracer.start_span(
        f"bootstrap up {record['project']}",
        start_time=at(0.0),
        attributes={
            "bootstrap.critical_chain": list(record["critical_chain"]),
            "bootstrap.ok": bool(record["ok"]),
            **{f"bootstrap.version.{k}": str(v) for k, v in record["versions"].items()},
        },
    )
    root_context = trace.set_span_in_context(root)
    for phase in record["phases"]:
        members = [services[n] for n in phase["services"] if n in services]
        end = max((float(m["ended"] or 0.0) for m in members), default=phase["barrier"])
        phase_span = tracer.start_span(
            f"phase {phase['name']}", context=root_context, start_time=at(phase["barrier"])
        )
        phase_context = trace.set_span_in_context(phase_span)
        for name in phase["services"]:
            entry = services.get(name)
            if entry is None:
                continue
            launched = entry["launched"] if entry["launched"] is not None else entry["ended"]
            span = tracer.start_span(
                name,
                context=phase_context,
                start_time=at(launched),
                attributes={
                    "bootstrap.phase": phase["name"],
                    "bootstrap.status": entry["status"],
                    "bootstrap.probe.attempts": int(entry["attempts"]),
                    "bootstrap.critical": bool(entry["critical"]),
                },
            )
            if entry["started"] is not None:
                span.add_event("container started", timestamp=at(entry["started"]))
            if entry["first_probe"] is not None:
                span.add_event("first probe", timestamp=at(entry["first_probe"]))
            for seen in entry.get("observed", []):
                span.add_event("probe", {"saw": str(seen["saw"])}, timestamp=at(seen["at"]))
            span.add_event(
                entry["status"], {"detail": str(entry["detail"])}, timestamp=at(entry["ended"])
            )
            if entry["status"] == "failed":
                span.set_status(Status(StatusCode.ERROR, str(entry["detail"])))
            span.end(end_time=at(entry["ended"] if entry["ended"] is not None else launched))
        phase_span.end(end_time=at(end))
    root.end(end_time=at(record["total"]))
    provider.shutdown()  # flushes: the spans are sent before `up` returns


# What a supervision action that ends badly says in its span's status.
FAILING_ACTIONS = frozenset({"crash-loop", "gave-up", "engine-gone", "stopped"})


class ActionSpans:
    """Supervision actions as spans (``supervise {kind}``, one per action, at its moment, with
    the service, the cause and the reason), sent in the background so a slow or absent
    receiver never holds the supervisor up; ``close`` sends what is left."""

    def __init__(self, project: str) -> None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        from bootstrap import __version__

        self.provider = TracerProvider(
            resource=Resource.create({"service.name": "bootstrap", "bootstrap.project": project})
        )
        self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        self.tracer = self.provider.get_tracer("bootstrap.supervise", __version__)

    def __call__(self, action: Mapping[str, Any]) -> None:
        from opentelemetry.trace import Status, StatusCode

        at = int(float(action["at"]) * 1e9)
        kind = str(action["kind"])
        span = self.tracer.start_span(
            f"supervise {kind}",
            start_time=at,
            attributes={
                "bootstrap.service": str(action["service"]),
                "bootstrap.supervise.kind": kind,
                "bootstrap.supervise.cause": str(action.get("cause") or ""),
                "bootstrap.supervise.reason": str(action["reason"]),
            },
        )
        if kind in FAILING_ACTIONS:
            span.set_status(Status(StatusCode.ERROR, str(action["reason"])))
        span.end(end_time=at)

    def close(self) -> None:
        self.provider.shutdown()
