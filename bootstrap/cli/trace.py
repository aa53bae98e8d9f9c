"""``bootstrap trace``: the timeline of a recorded ``up``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from bootstrap.cli.context import CliContext, emit_json, say, show
from bootstrap.errors import NotFoundError


def _find(folder: Path, name: str | None) -> tuple[Path, Path | None]:
    """The run asked for (default: the latest) and the one before it."""
    from bootstrap.runrecord import list_records

    runs = list_records(folder)
    if not runs:
        raise NotFoundError(
            "no recorded run", location=str(folder), hint="`bootstrap up` records every run"
        )
    if name is None:
        chosen = runs[-1]
    else:
        matches = [p for p in runs if name in (p.name, p.stem) or p.stem.startswith(name)]
        if not matches:
            raise NotFoundError(
                f"no recorded run {name!r}",
                location=str(folder),
                hint="runs: " + ", ".join(p.stem for p in runs[-5:]),
            )
        chosen = matches[-1]
    same = [p for p in runs if p.stem.split("-", 1)[-1] == chosen.stem.split("-", 1)[-1]]
    earlier = [p for p in same if p.name < chosen.name]
    return chosen, (earlier[-1] if earlier else None)


def with_supervision(record: dict[str, Any], folder: Path, chosen: Path) -> dict[str, Any]:
    """The record with what the supervisor did between this run and the project's next."""
    from datetime import datetime

    from bootstrap.runrecord import list_records, load_record
    from bootstrap.supervisorfiles import logged_actions, supervision_log

    began = datetime.fromisoformat(record["began"]).timestamp()
    later = [p for p in list_records(folder) if p.name > chosen.name]
    until = None
    for path in later:
        other = load_record(path)
        if other.get("project") == record.get("project"):
            until = datetime.fromisoformat(other["began"]).timestamp()
            break
    actions = [
        a
        for a in logged_actions(supervision_log(folder.parent.parent), since=began, until=until)
        if a.get("project", record.get("project")) == record.get("project")
    ]
    return {**record, "supervision": actions}


@click.command()
@click.argument("run", required=False)
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
@click.option("--compare", nargs=2, metavar="RUN_A RUN_B", help="Which services got slower.")
@click.pass_obj
def trace(
    ctx: CliContext,
    run: str | None,
    html_file: Path | None,
    as_json: bool,
    compare: tuple[str, str] | None,
) -> None:
    """The timeline of a recorded `up` (default: the latest): text, --html FILE, --json."""
    from bootstrap import timeline
    from bootstrap.runrecord import load_record, runs_folder

    folder = runs_folder(ctx.directory.resolve())
    if compare:
        older, _ = _find(folder, compare[0])
        newer, _ = _find(folder, compare[1])
        show(timeline.compare_text(load_record(older), load_record(newer)))
        return
    chosen, previous = _find(folder, run)
    record = with_supervision(load_record(chosen), folder, chosen)
    if as_json:
        emit_json(record)
        return
    if html_file is not None:
        before = load_record(previous) if previous else None
        html_file.write_text(timeline.html(record, before), encoding="utf-8")
        say(f"wrote {html_file} ({chosen.stem})", fg="green")
        return
    show(timeline.text(record))
