"""``aimap runs`` and ``aimap errors``: what ran, and what went wrong and why (the rest of the home screen).

``runs`` lists the recorded pipeline runs (``pipeline_runs``: every crawl, ETL pass, analysis,
refresh and refresh step, whether started here or by Prefect), newest first, with their state,
duration, what they worked on and, under the table, the full message of each failed one.
``errors`` groups the recorded problems (``pipeline_errors``) per stage and source by reason,
most frequent first, with a count and an example address (:func:`db.errors.top_reasons`).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Literal

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy import select

from aimap.runtime import JSON_OPTION, console, print_table
from db.errors import error_count, recent_errors, top_reasons
from db.models import PipelineRun
from db.session import session_scope

State = Literal["running", "completed", "failed", "interrupted"]
#: Parameters that say what a run worked on, shown in the ``what`` column when present.
WHAT = ("edition", "step", "source", "documents", "path", "reason")


def _what(parameters: dict[str, object] | None) -> str:
    params = parameters or {}
    return ", ".join(f"{k} {params[k]}" for k in WHAT if params.get(k) not in (None, ""))


def _took(run: PipelineRun) -> str:
    if run.started_at is None or run.finished_at is None:
        return ""
    seconds = (run.finished_at - run.started_at).total_seconds()
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def runs(
    flow: Annotated[str | None, typer.Option(help="Only runs of this flow (crawl, etl, analyze, annual-refresh, "
                                                  "refresh-step, firms-import ...).")] = None,
    state: Annotated[State | None, typer.Option(help="Only runs in this state.")] = None,
    edition: Annotated[int | None, typer.Option(help="Only runs of this edition.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many runs.")] = 20,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """The recorded pipeline runs, newest first: flow, state, start, duration, what, message."""
    stmt = select(PipelineRun).order_by(PipelineRun.id.desc())
    if flow:
        stmt = stmt.where(PipelineRun.flow == flow)
    if state:
        stmt = stmt.where(PipelineRun.state == state)
    with session_scope() as session:
        found = [r for r in session.scalars(stmt.limit(limit * 20 if edition is not None else limit))
                 if edition is None or (r.parameters or {}).get("edition") == edition][:limit]
        rows = [{"id": r.id, "flow": r.flow, "state": r.state,
                 "started_at": r.started_at.isoformat(sep=" ", timespec="seconds") if r.started_at else None,
                 "took": _took(r), "what": _what(r.parameters), "counts": r.counts or {},
                 "message": r.message, "prefect_flow_run_id": r.prefect_flow_run_id} for r in found]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    table = Table("id", "flow", "state", "started", "took", "what", "message")
    for r in rows:
        first = (r["message"] or "").strip().splitlines()[0] if r["message"] else ""
        table.add_row(str(r["id"]), r["flow"], Text(r["state"], style="red bold" if r["state"] == "failed" else ""),
                      r["started_at"] or "", r["took"], Text(r["what"]),
                      Text(first[:80] + ("…" if len(first) > 80 else "")))
    print_table(table)
    for r in rows:  # long text goes under the table, whole
        if r["state"] in ("failed", "interrupted") and r["message"]:
            console.print(f"\nrun {r['id']} ({r['flow']}, {r['what'] or '-'}) {r['state']}:", highlight=False,
                          markup=False)
            console.print(r["message"].strip(), highlight=False, markup=False)


def errors(
    stage: Annotated[str | None, typer.Option(help="Only this stage (crawl, etl, registry, index ...).")] = None,
    source: Annotated[str | None, typer.Option(help="Only this crawl source.")] = None,
    days: Annotated[int | None, typer.Option(min=1, help="Only problems recorded in the last DAYS days.")] = None,
    per_group: Annotated[int, typer.Option("--top", min=1, help="Reasons shown per stage and source.")] = 3,
    recent: Annotated[int, typer.Option(min=0, help="Also list this many newest problems, whole.")] = 0,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Root causes: recorded problems per stage and source, grouped by reason (count, example address)."""
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=days) if days else None
    with session_scope() as session:
        groups = top_reasons(session, stage=stage, source=source, since=since, per_group=per_group)
        total = error_count(session, stage=stage, since=since)
        newest = [{"id": e.id, "stage": e.stage, "kind": e.kind, "location": e.location, "field": e.field,
                   "reason": e.reason, "at": e.created_at.isoformat(sep=" ", timespec="seconds")}
                  for e in recent_errors(session, stage=stage, limit=recent)] if recent else []
    if as_json:
        print(json.dumps({"total": total, "groups": [{"stage": k[0], "source": k[1],
                                                      "reasons": [r.as_dict() for r in v]}
                                                     for k, v in groups.items()], "recent": newest},
                         ensure_ascii=False, indent=2))
        return
    if not groups:
        console.print("no recorded problems" + (f" in the last {days} days" if days else ""), highlight=False)
        return
    for (stage_, source_), reasons in groups.items():  # a list, not a table: reasons and addresses stay whole
        console.print(f"{stage_} / {source_ or '-'}:", highlight=False, markup=False)
        for r in reasons:
            console.print(f"  {r.count:>6,} × {r.reason} ({r.kind}), e.g. {r.example}", highlight=False, markup=False)
    console.print(f"{total:,} problem(s) recorded" + (f" in the last {days} days" if days else "")
                  + "; `--recent N` lists the newest whole", highlight=False)
    for e in newest:
        console.print(f"\n#{e['id']} {e['at']} {e['stage']}/{e['kind']} {e['location']}"
                      + (f" field {e['field']}" if e["field"] else ""), highlight=False, markup=False)
        console.print(f"  {e['reason']}", highlight=False, markup=False)
