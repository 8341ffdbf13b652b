"""``aimap status`` (the operator's home screen) and ``aimap db``: the database in use, its schema
revision, the last refresh per edition, recent problems, the review queue; migrations."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from aimap.runtime import console, fail, print_table, tagged
from common.config import safe_url
from db import migrate
from db.errors import error_count, top_reasons
from db.models import STATUS_TABLES
from db.runs import reap_stale_runs, refresh_overview
from db.session import get_engine, session_scope
from db.taxonomy import sync_taxonomies
from etl.review import list_items, pending_merges

#: ``aimap status`` shows the problems recorded in this many last days.
RECENT_DAYS = 7

db_app = typer.Typer(help="Schema migrations (Alembic) and taxonomy seeding.", no_args_is_help=True)


def _home(engine: Engine) -> dict[str, object]:
    """The operator's overview: last refresh per edition, recent errors by stage, the review queue."""
    home: dict[str, object] = {}
    try:  # runs a dead process left `running` are marked interrupted first (db/runs.py)
        home["stale_runs_marked"] = reap_stale_runs(engine)
        home["refreshes"] = refresh_overview(engine)
    except SQLAlchemyError as exc:
        home["refreshes_error"] = str(exc).splitlines()[0]
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=RECENT_DAYS)
    try:
        with session_scope(engine) as session:
            groups = top_reasons(session, since=since, per_group=1)
            by_stage: dict[str, dict[str, object]] = {}
            for (stage, _source), reasons in groups.items():
                entry = by_stage.setdefault(stage, {"stage": stage, "count": 0, "top": None})
                top = reasons[0] if reasons else None
                if top is not None and (entry["top"] is None or top.count > entry["top"]["count"]):  # type: ignore[index]
                    entry["top"] = top.as_dict()
            for stage, entry in by_stage.items():
                entry["count"] = error_count(session, stage=stage, since=since)
            home["recent_errors"] = {"days": RECENT_DAYS, "by_stage": sorted(by_stage.values(),
                                                                            key=lambda e: -int(e["count"]))}
            hidden: list = []
            items = list_items(session)
            pending_merges(session, hidden=hidden)
            home["review_queue"] = {"merges": sum(1 for i in items if i.kind == "merge"),
                                    "events": sum(1 for i in items if i.kind == "event"),
                                    "hidden_distinct_names": len(hidden)}
    except SQLAlchemyError as exc:
        home["home_error"] = str(exc).splitlines()[0]
    return home


def _print_home(info: dict[str, object]) -> None:
    refreshes = info.get("refreshes") or []
    if refreshes:
        console.print("last refresh per edition:", highlight=False)
    for r in refreshes:  # type: ignore[union-attr]
        state = f"{r['state']} — OVERRIDDEN" if r["overridden"] else r["state"]
        style = "red bold" if r["state"] == "failed" else "yellow" if r["overridden"] else ""
        line = Text(f"  edition {r['edition']}: refresh ")
        line.append(state, style=style)
        line.append(f" (started {r['started_at'] or '-'}, finished {r['finished_at'] or '-'})")
        console.print(line, highlight=False)
        for step in r["steps"]:
            text = step["state"]
            style = "red bold" if text.startswith("failed") else "yellow" if text == "overridden" else ""
            row = Text(f"    {step['step']:<8} ")
            row.append(text, style=style)
            if step["finished_at"]:
                row.append(f"  {step['finished_at']}")
            console.print(row, highlight=False)
        if r["state"] == "failed" and r["message"]:
            console.print(f"    {r['message']}", highlight=False, markup=False)
    if not refreshes:
        console.print("no annual refresh yet (`aimap refresh --edition YEAR`)", highlight=False)
    marked = info.get("stale_runs_marked") or []
    if marked:
        console.print(tagged("interrupted:", "yellow", f"{len(marked)} run(s) whose process had died were still marked "
                             f"running; now marked interrupted (ids {', '.join(map(str, marked))}). Re-run the "
                             "step to resume; `aimap runs --state interrupted` lists them."), highlight=False)
    errors = info.get("recent_errors") or {}
    stages = errors.get("by_stage") if isinstance(errors, dict) else None
    if stages:
        console.print(f"problems recorded in the last {errors['days']} days (`aimap errors` for the causes):",
                      highlight=False)
        for e in stages:
            top = e["top"] or {}
            console.print(f"  {e['stage']:<8} {e['count']:>7,}  most often: {top.get('reason', '')} ×{top.get('count', 0)}"
                          f", e.g. {top.get('example', '')}", highlight=False, markup=False)
    queue = info.get("review_queue")
    if isinstance(queue, dict):
        console.print(f"review queue: {queue['merges']:,} merge suggestions, {queue['events']:,} low-confidence events"
                      " (`aimap review list`)", highlight=False)
    console.print("more: `aimap runs`, `aimap errors`, `aimap gate show --edition YEAR`", highlight=False)


def status(as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False) -> None:
    """The home screen: the database in use (password hidden), its schema revision and row counts, the
    last refresh of each edition with every step's state, problems recorded recently by stage, and the
    size of the review queue."""
    engine = get_engine()
    info: dict[str, object] = {"database": safe_url(), "dialect": engine.dialect.name}
    try:
        info["revision"] = migrate.current_revision(engine)
        info["head"] = migrate.head_revision()
        existing = set(inspect(engine).get_table_names())
        counts: dict[str, int | None] = {}
        with engine.connect() as conn:
            for label, model in STATUS_TABLES.items():
                table = model.__table__
                counts[label] = (
                    conn.execute(select(func.count()).select_from(table)).scalar_one()
                    if table.name in existing
                    else None
                )
        info["counts"] = counts
        if info["revision"] == info["head"]:
            info.update(_home(engine))
    except SQLAlchemyError as exc:
        info["error"] = str(exc).splitlines()[0]
    if as_json:
        print(json.dumps(info, ensure_ascii=False, indent=2, default=str))
    else:
        console.print(f"database: {info['database']} ({info['dialect']})", highlight=False)
        if "error" in info:
            console.print(tagged("cannot read the database:", "red", f"{info['error']}"), highlight=False)
        else:
            rev, head = info["revision"], info["head"]
            hint = "" if rev == head else "  (run `aimap db upgrade`)"
            console.print(f"schema revision: {rev or 'none (empty database)'} / head {head}{hint}", highlight=False)
            table = Table("table", "rows")
            for label, n in info["counts"].items():  # type: ignore[union-attr]
                table.add_row(label, "-" if n is None else f"{n:,}")
            print_table(table)
            if rev == head:
                _print_home(info)
    if "error" in info:
        raise typer.Exit(1)


# --------------------------------------------------------------------------- db


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Upgrade the schema to REVISION (default head) and sync the taxonomy tables from db/data/."""
    try:
        migrate.check_revision(revision)
    except ValueError as exc:
        fail(str(exc))
    engine = get_engine()
    migrate.upgrade(engine, revision)
    with session_scope(engine) as session:
        changed = sync_taxonomies(session)
    console.print(f"{safe_url()} at revision {migrate.current_revision(engine)}; taxonomy rows changed: {changed}",
                  highlight=False)


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision; 'base' drops every table.")] = "base",
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Downgrade the schema to REVISION (default base = empty database; data is lost)."""
    try:
        migrate.check_revision(revision)
    except ValueError as exc:
        fail(str(exc))
    if not yes:
        typer.confirm(f"Downgrade {safe_url()} to {revision}? Data in dropped tables is lost.", abort=True)
    engine = get_engine()
    migrate.downgrade(engine, revision)
    console.print(f"{safe_url()} at revision {migrate.current_revision(engine) or 'base (empty)'}", highlight=False)

