"""The run record and its timeline, from a scheduler run over a fake driver."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bootstrap import timeline
from bootstrap.errors import ConfigError, ExitCode
from bootstrap.outcome import ProbeResult
from bootstrap.plan import PlannedService
from bootstrap.runrecord import (
    Recorder,
    build_record,
    list_records,
    load_record,
    record_problem,
    save_record,
)
from bootstrap.scheduler import Scheduler

from .helpers import plan, svc


class SlowDriver:
    def start(self, service: PlannedService) -> str:
        time.sleep(0.02)
        return "started"

    def wait_ready(self, service: PlannedService, cancelled: Callable[[], bool]) -> ProbeResult:
        time.sleep(0.05 if service.name == "pg" else 0.01)
        return ProbeResult(True, f"{service.name} answered", 2, 0.05)

    def log_tail(self, service: PlannedService, lines: int) -> str:
        return ""


def record() -> dict[str, object]:
    events: list[object] = []
    recorder = Recorder(events.append)
    began = time.time()
    stack = {
        "pg": svc("postgres"),
        "api": svc(depends={"pg": "service_healthy"}),
        "prom": svc("prom/prometheus"),
    }
    outcome = Scheduler(plan(stack), SlowDriver(), recorder).run()
    return build_record(
        project="shop",
        outcome=outcome,
        events=recorder.seen,
        began_wall=began,
        containers={},
        versions={"engine": "20.10"},
        redact=lambda s: s.replace("answered", "ok"),
    )


def test_record_has_every_moment_in_order_and_the_chain() -> None:
    r = record()
    services = r["services"]
    pg, api = services["pg"], services["api"]  # type: ignore[index]
    assert pg["launched"] <= pg["started"] <= pg["first_probe"] <= pg["ended"]
    assert api["launched"] >= pg["ended"]  # the barrier: apps after databases
    assert pg["attempts"] == 2 and pg["detail"] == "pg ok"  # masked like every output
    assert [p["name"] for p in r["phases"]] == ["databases", "apps", "monitoring"]  # type: ignore[attr-defined]
    assert r["critical_chain"][-1] == "prom" and pg["critical"]  # type: ignore[index]


def test_text_timeline_and_html_page(tmp_path: Path) -> None:
    r = record()
    lines = timeline.text(r).splitlines()
    assert any(line.startswith(" *pg") for line in lines)
    page = timeline.html(r, previous={**r, "total": 99.0, "began": "before"})
    assert page.count("data-service=") == 3
    assert 'class="critical"' in page and "faster than the previous run" in page
    assert not re.search(r"<script|https?://", page)  # self-contained: no script, no network
    assert page.count('class="barrier"') == 3


def test_runs_are_kept_whole_and_only_the_last_twenty(tmp_path: Path) -> None:
    r = record()
    for index in range(23):
        save_record(tmp_path, {**r, "began": f"2026-11-27T07:{index:02d}:00.000+00:00"})
    runs = list_records(tmp_path)
    assert len(runs) == 20 and runs[0].name.startswith("20261127T070300")
    assert load_record(runs[-1])["project"] == "shop"
    assert not list(tmp_path.glob("*.tmp"))


def test_a_projects_records_are_its_own_not_those_of_a_name_ending_like_it(
    tmp_path: Path,
) -> None:
    r = record()
    for minute, project in enumerate(("shop", "my-shop", "shop", "my-shop")):
        save_record(
            tmp_path, {**r, "project": project, "began": f"2026-11-27T07:0{minute}:00.000+00:00"}
        )
    shop = list_records(tmp_path, "shop")
    assert [p.name for p in shop] == ["20261127T070000-shop.json", "20261127T070200-shop.json"]
    assert [load_record(p)["project"] for p in list_records(tmp_path, "my-shop")] == ["my-shop"] * 2
    assert list_records(tmp_path, "hop") == [] and len(list_records(tmp_path)) == 4


def test_compare_names_what_got_slower() -> None:
    older = record()
    newer = {**older, "services": {**older["services"]}}  # type: ignore[dict-item]
    slow = dict(newer["services"]["api"])  # type: ignore[index]
    slow["ended"] = slow["ended"] + 1.5
    newer["services"]["api"] = slow  # type: ignore[index]
    first = timeline.compare(older, newer)[0]
    assert first[0] == "api" and round(first[2] - first[1], 2) == 1.5  # type: ignore[operator]
    assert "1.50s slower" in timeline.compare_text(older, newer)


def test_the_supervision_lane_shows_what_was_done_after_the_run(tmp_path: Path) -> None:
    from datetime import datetime

    from bootstrap.cli.trace import with_supervision
    from bootstrap.supervise import Action, ActionKind, keep

    r = record()
    began = datetime.fromisoformat(str(r["began"])).timestamp()
    folder = tmp_path / ".bootstrap" / "runs"
    first = save_record(folder, r)
    later = {**r, "began": datetime.fromtimestamp(began + 100).astimezone().isoformat()}
    save_record(folder, later)
    write = keep(tmp_path / ".bootstrap" / "supervision.jsonl", "shop")
    write(Action("api", ActionKind.RESTARTED, "pg came back", at=began + 10, cause="pg"))
    write(Action("api", ActionKind.READY, "re-gated", at=began + 11))
    write(Action("api", ActionKind.RESTARTED, "after the next run", at=began + 150))
    other = keep(tmp_path / ".bootstrap" / "supervision.jsonl", "other")
    other(Action("x", ActionKind.RESTARTED, "another project", at=began + 12))
    shown = with_supervision(load_record(first), folder, first)
    assert [a["reason"] for a in shown["supervision"]] == ["pg came back", "re-gated"]
    text = timeline.text(shown)
    assert "supervision (after the run)" in text
    assert re.search(r"\+\s*10\.00s api\s+restarted: pg came back", text)
    assert "pg came back" in timeline.html(shown) and "supervision (after" not in timeline.text(r)


def test_a_record_up_wrote_is_read_back_and_a_damaged_one_is_named(tmp_path: Path) -> None:
    kept = record()
    assert record_problem(json.loads(json.dumps(kept))) is None
    damaged: dict[str, object] = {
        "not an object": [],
        "began is not a time (ISO 8601)": {**kept, "began": "yesterday"},
        "total is missing or not a number": {**kept, "total": "1.0"},
        "services.pg.critical is missing or not true or false": {
            **kept,
            "services": {"pg": {**kept["services"]["pg"], "critical": 1}},  # type: ignore[index]
        },
        "phases[0].services is not a list of names": {
            **kept,
            "phases": [{"name": "apps", "barrier": 0.0, "services": [["pg"]]}],
        },
        "critical_chain is not a list of names": {**kept, "critical_chain": [1]},
    }
    for said, data in damaged.items():
        assert said in (record_problem(data) or ""), (said, record_problem(data))
    path = tmp_path / "20261206T000000-shop.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError) as refused:
        load_record(path)
    assert refused.value.exit_code == ExitCode.BAD_INPUT
    assert refused.value.location == str(path) and "rm " in refused.value.hint
