"""``aimap review``: the analyst's review queue — merge suggestions and low-confidence events.

List and filter it (kind, score, name pattern, degree), show an item's evidence, decide one item,
every item of a filtered set (``bulk``), or a whole sheet (``export-xlsx``, decide in Excel,
``import-xlsx``); merge and split organisations; export and import the decisions as JSON lines.
Every decision goes into the judgement store (:mod:`etl.review`, :mod:`etl.resolve`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from aimap.runtime import JSON_OPTION, analyst, console, err, fail, prepared, print_table, tagged
from common.tabular import TableError
from db.session import session_scope
from etl.resolve import ResolveError, export_decisions, import_decisions, merge_organisations, split_alias
from etl.review import (
    EVENT,
    QueueFilter,
    ReviewError,
    decide,
    decide_many,
    list_items,
    pending_merges,
    show_item,
)
from etl.review_sheet import export_queue, import_decisions_sheet

review_app = typer.Typer(help="The analyst review queue: low-confidence events and merge suggestions; decisions persist.",
                         no_args_is_help=True)


_BY = typer.Option("--by", help="Who decides (default: your login name); stored with the decision.")
_NOTE = typer.Option("--note", help="Why; stored with the decision.")


_KIND = typer.Option("--kind", help="Only merge suggestions or only low-confidence events.")
_MIN_SCORE = typer.Option("--min-score", min=0.0, max=1.0, help="Only items scoring at least this.")
_MAX_SCORE = typer.Option("--max-score", min=0.0, max=1.0, help="Only items scoring at most this.")
_MATCH = typer.Option("--match", help="Only items where either name matches this regular expression (e.g. '协会$').")
_MIN_DEGREE = typer.Option("--min-degree", min=0, help="Only items where an organisation has at least this many partners.")
Kind = Literal["merge", "event"]


def _filter(kind: str | None, min_score: float | None, max_score: float | None, match: str | None,
            min_degree: int | None) -> QueueFilter:
    where = QueueFilter(kind, min_score, max_score, match, min_degree)
    try:
        where.compiled()
    except ReviewError as exc:
        fail(str(exc))
    return where


@review_app.command("list")
def review_list(
    kind: Annotated[Kind | None, _KIND] = None,
    min_score: Annotated[float | None, _MIN_SCORE] = None,
    max_score: Annotated[float | None, _MAX_SCORE] = None,
    match: Annotated[str | None, _MATCH] = None,
    min_degree: Annotated[int | None, _MIN_DEGREE] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Show at most this many items.")] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """List the queue: merge suggestions (most evidence first: the events a merge would change, then
    score), then low-confidence events (weakest first). Suggestions between names with another
    leading place or another number (第一 / 第三) are never listed."""
    where = _filter(kind, min_score, max_score, match, min_degree)
    prepared()
    with session_scope() as session:
        items = list_items(session, where=where, limit=limit)
        hidden: list = []
        pending_merges(session, hidden=hidden)
    if as_json:
        print(json.dumps([i.as_dict() for i in items], ensure_ascii=False, indent=2))
        return
    table = Table("kind", "id", "score", "evidence", "degree", "summary")
    for item in items:
        table.add_row(item.kind, item.id, f"{item.score:.2f}", str(item.evidence), str(item.degree), Text(item.summary))
    print_table(table)
    console.print(f"{len(items)} item(s); `aimap review show ID` shows the evidence"
                  + (f"; {len(hidden)} stored suggestion(s) between distinct names (another place, number or brand) "
                     "not listed" if hidden else ""), highlight=False)


@review_app.command("bulk")
def review_bulk(
    decision: Annotated[Literal["accept", "reject"], typer.Argument(help="accept or reject every selected item.")],
    kind: Annotated[Kind | None, _KIND] = None,
    min_score: Annotated[float | None, _MIN_SCORE] = None,
    max_score: Annotated[float | None, _MAX_SCORE] = None,
    match: Annotated[str | None, _MATCH] = None,
    min_degree: Annotated[int | None, _MIN_DEGREE] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Decide at most this many items (the first listed).")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    by: Annotated[str | None, typer.Option("--by", help="Who decides (default: your login name).")] = None,
    note: Annotated[str | None, typer.Option("--note", help="Why; stored with every decision.")] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Accept or reject every item the filters select (as `review list` shows them), in one transaction.

    Example: `aimap review bulk reject --kind merge --match '协会$' --max-score 0.8`. Items settled
    meanwhile (by an earlier merge of the set) are skipped; each decision is stored as one
    `review accept/reject` stores it.
    """
    where = _filter(kind, min_score, max_score, match, min_degree)
    if where == QueueFilter() and not yes:
        fail("bulk decisions need at least one filter (--kind, --min-score, --max-score, --match, --min-degree) "
             "or --yes")
    prepared()
    with session_scope() as session:
        items = list_items(session, where=where, limit=limit)
    if not items:
        fail("no queue item matches these filters", 2)
    if not yes:
        for item in items[:10]:
            err.print(f"  {item.id} {item.score:.2f} {item.summary}", highlight=False, markup=False)
        if len(items) > 10:
            err.print(f"  ... and {len(items) - 10} more", highlight=False)
        typer.confirm(f"{decision} these {len(items)} item(s)?", abort=True)
    with session_scope() as session:
        report = decide_many(session, [(i.id, decision == "accept", note) for i in items], by=analyst(by))
    if as_json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    for item_id, reason in report.failed[:20]:
        err.print(tagged("not decided:", "yellow", f"{item_id}: {reason}"), highlight=False)
    console.print(f"{decision}: {len(report.decided)} decided, {len(report.skipped)} skipped (settled meanwhile), "
                  f"{len(report.failed)} failed", highlight=False)
    if report.failed:
        raise typer.Exit(1)


@review_app.command("export-xlsx")
def review_export_xlsx(
    path: Annotated[Path, typer.Argument(help="Workbook to write (.xlsx).", dir_okay=False)],
    kind: Annotated[Kind | None, _KIND] = None,
    min_score: Annotated[float | None, _MIN_SCORE] = None,
    max_score: Annotated[float | None, _MAX_SCORE] = None,
    match: Annotated[str | None, _MATCH] = None,
    min_degree: Annotated[int | None, _MIN_DEGREE] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many items.")] = None,
) -> None:
    """Write the (filtered) queue to a workbook with a decision column (accept / reject) and a note
    column; decide in Excel, then `aimap review import-xlsx PATH`."""
    if path.suffix.lower() != ".xlsx":
        fail(f"{path}: the queue is written as .xlsx")
    where = _filter(kind, min_score, max_score, match, min_degree)
    prepared()
    with session_scope() as session:
        n = export_queue(session, path, where, limit)
    console.print(f"{n} item(s) written to {path}; fill in the decision column, then "
                  f"`aimap review import-xlsx {path}`", highlight=False)


@review_app.command("import-xlsx")
def review_import_xlsx(
    path: Annotated[Path, typer.Argument(help="Workbook written by `review export-xlsx`, decisions filled in.",
                                         exists=True, dir_okay=False)],
    by: Annotated[str | None, typer.Option("--by", help="Who decided (default: your login name).")] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Take the decisions of an edited queue workbook (rows left blank stay queued). Every row is
    checked first: a bad decision or id names its row and nothing is applied."""
    prepared()
    try:
        with session_scope() as session:
            decisions, report = import_decisions_sheet(session, path, by=analyst(by))
    except TableError as exc:
        fail(str(exc))
    if as_json:
        print(json.dumps({"rows": len(decisions), **report.as_dict()}, ensure_ascii=False, indent=2))
        return
    for item_id, reason in report.failed[:20]:
        err.print(tagged("not decided:", "yellow", f"{item_id}: {reason}"), highlight=False)
    console.print(f"{path}: {len(decisions)} decided row(s) — {len(report.decided)} decisions stored, "
                  f"{len(report.skipped)} skipped (already decided), {len(report.failed)} failed", highlight=False)
    if report.failed:
        raise typer.Exit(1)


@review_app.command("show")
def review_show(
    item_id: Annotated[str, typer.Argument(metavar="ID", help="E<event id> or M<suggestion id>, as listed.")],
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Show the evidence of an item: an event's sentences and documents, or both organisations of a suggestion."""
    prepared()
    with session_scope() as session:
        try:
            info = show_item(session, item_id)
        except ReviewError as exc:
            fail(str(exc))
    if as_json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
        return
    out = Console(soft_wrap=True, highlight=False, markup=False)
    if info["kind"] == EVENT:
        print_event(out, info)
        return
    out.print(f"{info['id']} {info['kind']}: {info['summary']}  score {info['score']}")
    for side in ("left", "right"):
        o = info[side]
        out.print(f"  {side}: {o.get('name')} [{o.get('id')}] {o.get('kind', '')} "
                  f"province {o.get('province') or '-'} uscc {o.get('uscc') or '-'} stock {o.get('stock') or '-'} "
                  f"events {o.get('events', '-')} ({o['ref']})")
        for a in o.get("aliases", []):
            out.print(f"      alias {a['id']}: {a['name']} ({a['kind']}, {a['source']})")
        for e in o.get("evidence", []):
            out.print(f"      “{e['sentence']}” {e['url']}")
    out.print(f"  judgement: {info['judgement']}" + (f" by {info['decided_by']}" if info["decided_by"] else ""))


def _review_decide(item_id: str, accept: bool, by: str | None, note: str | None, as_json: bool) -> None:
    prepared()
    try:
        with session_scope() as session:
            result = decide(session, item_id, accept, by=analyst(by), note=note)
    except ReviewError as exc:
        fail(str(exc))
    if as_json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    state = result.get("state") or result.get("judgement")
    console.print(f"{result['id']}: {state} — {result['summary']}", highlight=False, markup=False)
    if "merge" in result:
        m = result["merge"]
        console.print(f"merged organisation {m['drop_id']} into {m['keep_id']}: {m['aliases_moved']} aliases, "
                      f"{m['events_repointed']} events re-pointed, {m['events_merged']} duplicate events merged",
                      highlight=False)


@review_app.command("accept")
def review_accept(
    item_id: Annotated[str, typer.Argument(metavar="ID", help="E<event id> or M<suggestion id>.")],
    by: Annotated[str | None, _BY] = None,
    note: Annotated[str | None, _NOTE] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Accept an item: keep the event (not queued again), or merge the two suggested organisations."""
    _review_decide(item_id, True, by, note, as_json)


@review_app.command("reject")
def review_reject(
    item_id: Annotated[str, typer.Argument(metavar="ID", help="E<event id> or M<suggestion id>.")],
    by: Annotated[str | None, _BY] = None,
    note: Annotated[str | None, _NOTE] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Reject an item: exclude the event from the analysis (also after re-extraction), or keep the two
    organisations apart for good (a negative judgement)."""
    _review_decide(item_id, False, by, note, as_json)


@review_app.command("merge")
def review_merge(
    keep: Annotated[int, typer.Argument(help="Id of the organisation that stays.")],
    drop: Annotated[int, typer.Argument(help="Id of the organisation merged into KEEP and deleted.")],
    by: Annotated[str | None, _BY] = None,
    note: Annotated[str | None, _NOTE] = None,
    force: Annotated[bool, typer.Option("--force", help="Merge even with different 统一社会信用代码.")] = False,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Merge organisation DROP into KEEP: aliases, events (duplicates merged, mentions kept), firm data."""
    prepared()
    try:
        with session_scope() as session:
            report = merge_organisations(session, keep, drop, analyst(by), note=note, force=force)
    except ResolveError as exc:
        fail(str(exc))
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
        return
    console.print(f"merged {drop} into {keep}: {report.aliases_moved} aliases moved, {report.events_repointed} "
                  f"events re-pointed, {report.events_merged} duplicate events merged ({report.mentions_moved} "
                  f"mentions moved), {report.self_loops_removed} self-relations removed", highlight=False)


@review_app.command("split")
def review_split(
    alias_id: Annotated[int, typer.Argument(help="Id of the alias to move to a new organisation (see `show`).")],
    by: Annotated[str | None, _BY] = None,
    note: Annotated[str | None, _NOTE] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Split an alias off its organisation into a new one (a negative judgement keeps them apart);
    documents whose evidence names it are queued for re-extraction (`aimap etl`)."""
    prepared()
    try:
        with session_scope() as session:
            report = split_alias(session, alias_id, analyst(by), note=note)
    except ResolveError as exc:
        fail(str(exc))
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
        return
    console.print(f"alias {alias_id} moved from organisation {report.old_org_id} to new organisation "
                  f"{report.new_org_id} ({report.aliases_moved} alias rows); {report.documents_requeued} "
                  "documents queued for re-extraction", highlight=False)


@review_app.command("export")
def review_export(
    path: Annotated[Path, typer.Argument(help="JSON-lines file to write (keep it under version control).",
                                         dir_okay=False)],
    pending: Annotated[bool, typer.Option("--pending", help="Include pending suggestions.")] = False,
) -> None:
    """Write every entity-resolution decision as JSON lines, keyed by identifiers and names (portable)."""
    prepared()
    with session_scope() as session:
        n = export_decisions(session, path, include_pending=pending)
    console.print(f"{n} decisions written to {path}", highlight=False)


def print_event(out: Console, info: dict[str, Any]) -> None:
    """One event: parties, attributes, review, and each mention with its sentence (``review show``, ``explain``)."""
    ev = info["event"]
    out.print(f"{info['id']} {info['kind']}: {info['summary']}  score {info['score']}")
    out.print(f"  provider {ev['provider']['name']} [{ev['provider']['id']}] -> receiver "
              f"{ev['receiver']['name']} [{ev['receiver']['id']}]; {ev['kind']}, {ev['direction']}, "
              f"{ev['status']}, {ev['year']}")
    out.print(f"  technology: {', '.join(ev['tech_categories']) or '-'}; domains: "
              f"{', '.join(ev['application_domains']) or '-'}")
    if info["review"]:
        r = info["review"]
        out.print(f"  review: {r['state']} by {r['by']} at {r['at']}" + (f" ({r['note']})" if r["note"] else ""))
    for m in info["mentions"]:
        out.print(f"  - [{m['confidence']:.2f}] {m['url']} ({m['published_on'] or 'no date'}; "
                  f"{m['extractor_version']}) {m['title'] or ''}")
        out.print(f"      {m['sentence'] or ''}")


@review_app.command("import")
def review_import(
    path: Annotated[Path, typer.Argument(help="JSON-lines file written by `aimap review export`.", exists=True,
                                         dir_okay=False)],
    apply: Annotated[bool, typer.Option("--apply/--no-apply", help="Also merge/split organisations present now.")] = True,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Re-apply exported decisions: store them and merge or split the organisations they concern."""
    prepared()
    try:
        with session_scope() as session:
            report = import_decisions(session, path, apply=apply)
    except ResolveError as exc:
        fail(f"{exc}\nnothing was imported.")
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
        return
    console.print(f"{path}: {report.read} decisions — new {report.created}, updated {report.updated}, unchanged "
                  f"{report.unchanged}, kept the database's {report.kept_existing}; merged {report.merged}, "
                  f"split {report.split}", highlight=False)

