"""Supervision actions reach the discovery service: the pure fold (kept, counted, refused when
malformed) and the supervisor's poster against a real HTTP server on loopback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from bootstrap.discovery.alerts import PayloadError
from bootstrap.discovery.client import SupervisionPoster
from bootstrap.discovery.supervision import KEPT, SupervisionActions
from bootstrap.errors import EngineError
from bootstrap.supervise import Action, ActionKind


def test_actions_are_kept_newest_first_and_counted_by_service_and_kind() -> None:
    folded = SupervisionActions()
    folded.receive(Action("api", ActionKind.RESTARTED, "db is back", at=1.0, cause="db").as_dict())
    folded.receive(
        {
            "actions": [
                Action("api", ActionKind.RESTARTED, "db is back", at=2.0).as_dict(),
                Action("worker", ActionKind.CRASH_LOOP, "5 exits", at=3.0).as_dict(),
            ]
        }
    )
    assert [a["at"] for a in folded.latest()] == [3.0, 2.0, 1.0]
    assert folded.latest()[2]["cause"] == "db"
    lines = folded.metrics_lines()
    assert 'bootstrap_supervision_actions_total{service="api",kind="restarted"} 2' in lines
    assert 'bootstrap_supervision_actions_total{service="worker",kind="crash-loop"} 1' in lines
    for at in range(KEPT + 5):
        folded.receive(Action("x", ActionKind.KEPT, "", at=float(at)).as_dict())
    assert len(folded.latest()) == KEPT  # the counts go on; the list is bounded


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        ({"service": "a", "kind": "restartd", "reason": "", "at": 1.0}, "unknown kind 'restartd'"),
        ({"service": "a", "kind": "restarted", "reason": ""}, "without its time"),
        ({"actions": ["not an object"]}, "not an object"),
    ],
)
def test_a_malformed_report_is_refused_whole(payload: object, says: str) -> None:
    folded = SupervisionActions()
    with pytest.raises(PayloadError, match=says):
        folded.receive(payload)
    assert folded.latest() == [] and folded.metrics_lines()[2:] == []


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, object]]]]:
    got: list[dict[str, object]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            assert self.path == "/supervision"
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", got
    server.shutdown()
    server.server_close()


def test_the_poster_sends_every_action_in_order(
    receiver: tuple[str, list[dict[str, object]]],
) -> None:
    base, got = receiver
    poster = SupervisionPoster(lambda: base)
    for at in (1.0, 2.0, 3.0):
        poster(Action("api", ActionKind.WAITING, "db went away", at=at).as_dict())
    poster.close()
    assert [a["at"] for a in got] == [1.0, 2.0, 3.0] and poster.posted == 3


def test_no_discovery_service_or_no_engine_costs_the_supervisor_nothing() -> None:
    asked: list[float] = []

    def unreachable() -> str | None:
        asked.append(time.monotonic())
        raise EngineError("the engine does not answer")

    for finder in (lambda: None, unreachable, lambda: "http://127.0.0.1:9"):
        poster = SupervisionPoster(finder, timeout=0.5)
        began = time.monotonic()
        poster(Action("api", ActionKind.WAITING, "", at=1.0).as_dict())
        poster(Action("api", ActionKind.BACK, "", at=2.0).as_dict())
        assert time.monotonic() - began < 0.5  # handing an action over never blocks
        poster.close()
        assert poster.posted == 0 and not poster.thread.is_alive()
    assert len(asked) == 2  # asked again after each failure
