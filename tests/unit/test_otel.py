"""A run's spans reach a real OTLP/HTTP receiver (this test's own), decoded with the
OpenTelemetry protobuf package: names, parents and timings."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from bootstrap.otel import export_run

from .test_timeline import record


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[ExportTraceServiceRequest]]:
    received: list[ExportTraceServiceRequest] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            assert self.path == "/v1/traces"
            assert self.headers["Content-Type"] == "application/x-protobuf"
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            received.append(request)
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
    yield received
    server.shutdown()
    server.server_close()


def test_one_trace_per_run_with_phases_and_services(
    receiver: list[ExportTraceServiceRequest],
) -> None:
    run = record()
    export_run(run)
    spans = [
        s for r in receiver for rs in r.resource_spans for ss in rs.scope_spans for s in ss.spans
    ]
    by_name = {s.name: s for s in spans}
    assert set(by_name) == {
        "bootstrap up shop",
        "phase databases",
        "phase apps",
        "phase monitoring",
        "pg",
        "api",
        "prom",
    }
    assert len({s.trace_id for s in spans}) == 1
    root = by_name["bootstrap up shop"]
    assert not root.parent_span_id
    assert by_name["phase apps"].parent_span_id == root.span_id
    assert by_name["api"].parent_span_id == by_name["phase apps"].span_id
    pg = by_name["pg"]
    assert [e.name for e in pg.events] == ["container started", "first probe", "ready"]
    took = (pg.end_time_unix_nano - pg.start_time_unix_nano) / 1e9
    expected = run["services"]["pg"]["ended"] - run["services"]["pg"]["launched"]  # type: ignore[index]
    assert abs(took - expected) < 0.002
    assert by_name["api"].start_time_unix_nano >= pg.end_time_unix_nano  # the barrier
    assert root.end_time_unix_nano >= by_name["prom"].end_time_unix_nano


def test_each_supervision_action_is_a_span_and_a_crash_loop_an_error(
    receiver: list[ExportTraceServiceRequest],
) -> None:
    from bootstrap.otel import ActionSpans
    from bootstrap.supervise import Action, ActionKind

    spans_of = ActionSpans("shop")
    restarted = Action("api", ActionKind.RESTARTED, "db is ready again", at=1000.0, cause="db")
    looping = Action("worker", ActionKind.CRASH_LOOP, "5 exits in 300s", at=1001.5)
    spans_of(restarted.as_dict())
    spans_of(looping.as_dict())
    spans_of.close()
    spans = [
        s for r in receiver for rs in r.resource_spans for ss in rs.scope_spans for s in ss.spans
    ]
    by_name = {s.name: s for s in spans}
    assert set(by_name) == {"supervise restarted", "supervise crash-loop"}
    first = by_name["supervise restarted"]
    attributes = {a.key: a.value.string_value for a in first.attributes}
    assert attributes["bootstrap.service"] == "api"
    assert attributes["bootstrap.supervise.cause"] == "db"
    assert first.start_time_unix_nano == 1000 * 10**9
    assert first.status.code == 0  # unset
    assert by_name["supervise crash-loop"].status.code == 2  # error
    assert by_name["supervise crash-loop"].status.message == "5 exits in 300s"


def test_an_endpoint_without_the_sdk_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from bootstrap import otel

    assert otel.sdk_missing() is None  # the test environment has the extra

    def absent(name: str, *_args: object) -> None:
        raise ModuleNotFoundError(name="opentelemetry")

    monkeypatch.setattr(importlib.util, "find_spec", absent)
    said = otel.sdk_missing()
    assert said is not None and "compose-bootstrap[otel]" in said


def test_a_missing_extra_is_an_error_naming_it() -> None:
    from bootstrap.errors import ExitCode, needing_extra

    error = needing_extra("discovery", "the discovery service", ModuleNotFoundError(name="aiohttp"))
    assert error.exit_code is ExitCode.ENGINE
    assert "aiohttp is not installed" in error.message
    assert "compose-bootstrap[discovery]" in error.hint
