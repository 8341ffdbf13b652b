"""``aimap etl``, ``aimap extract`` and ``aimap review``: extraction into the database, offline
extraction of free text, and the analyst's review queue (entity-resolution decisions)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from aimap.runtime import JSON_OPTION, analyst, console, err, fail, prepared
from common.config import database_url
from db.runs import recorded_step
from db.session import session_scope
from etl import pipeline
from etl.offline import extract_jsonl
from etl.resolve import ResolveError, export_decisions, import_decisions, merge_organisations, split_alias
from etl.review import EVENT, ReviewError, decide, list_items, show_item

review_app = typer.Typer(help="The analyst review queue: low-confidence events and merge suggestions; decisions persist.",
                         no_args_is_help=True)


def etl(
    reprocess: Annotated[bool, typer.Option("--reprocess", help="Re-extract every document, not only new or changed ones.")] = False,
    limit: Annotated[int | None, typer.Option(help="Process at most this many documents.")] = None,
    batch_size: Annotated[int, typer.Option(help="Documents per transaction.")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Extract cooperation events from new or changed documents (idempotent), with provenance.

    Ends with counts: documents processed, events new/updated/terminated, mentions,
    organisations created, merges, quarantined (documents that failed; see pipeline_errors).
    """
    prepared()
    url = database_url()
    ids = pipeline.pending(url, limit, reprocess)
    params = {"documents": len(ids), "batch_size": batch_size, "edition": None, "runner": "serial",
              "limit": limit, "reprocess": reprocess}
    with recorded_step("etl", params) as run:
        report = pipeline.run_pipeline(
            url, ids, batch_size=batch_size, wave_batches=1, run_id=run.id,  # serial: progress per batch
            progress=None if as_json else lambda done, total: err.print(f"etl: {done:,}/{total:,} documents",
                                                                       highlight=False),
        )
        run.counts = report.as_dict()
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
        return
    table = Table("count", "value")
    for key, value in report.as_dict().items():
        table.add_row(key.replace("_", " "), f"{value:,}")
    console.print(table)
    for message in report.error_messages[:20]:
        err.print(f"[yellow]quarantined:[/yellow] {message}", highlight=False)


def extract(
    in_path: Annotated[Path, typer.Option("--in", help="Documents, JSON lines: {id, text, title?, published?, url?}.",
                                          exists=True, dir_okay=False)],
    out_path: Annotated[Path, typer.Option("--out", help="Results, JSON lines (one per input document).")],
    registry: Annotated[Path | None, typer.Option(help="Firm registry CSV: canonical names and aliases.",
                                                  exists=True, dir_okay=False)] = None,
    rules_only: Annotated[bool, typer.Option("--rules-only", help="The rule extractor alone, without the pair model.")] = False,
) -> None:
    """Run the relation extractor on free text without a database (offline evaluation interface).

    Output per document: is_cooperation, relations {a, b, direction a->b|b->a|mutual, year, kind,
    status}, tech_categories, application_domains, organisations {name, role party|non_party,
    kind, province}; names as they appear in the text.
    """
    errors: list[str] = []
    started = time.perf_counter()
    report = extract_jsonl(in_path, out_path, registry, errors, rules_only=rules_only)
    elapsed = time.perf_counter() - started
    for message in errors[:50]:
        err.print(f"[yellow]skipped:[/yellow] {message}", highlight=False)
    err.print(f"{report.documents:,} documents, {report.relations:,} relations, {report.bad_lines} bad lines "
              f"in {elapsed:.1f} s -> {out_path}", highlight=False)
    if report.bad_lines:
        raise typer.Exit(1)


_BY = typer.Option("--by", help="Who decides (default: your login name); stored with the decision.")
_NOTE = typer.Option("--note", help="Why; stored with the decision.")


@review_app.command("list")
def review_list(
    kind: Annotated[str | None, typer.Option("--kind", help="Only 'event' or only 'merge' items.")] = None,
    limit: Annotated[int | None, typer.Option(help="Show at most this many items.")] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """List the queue: merge suggestions (best score first), then low-confidence events (weakest first)."""
    prepared()
    with session_scope() as session:
        try:
            items = list_items(session, kind=kind, limit=limit)
        except ReviewError as exc:
            fail(str(exc))
    if as_json:
        print(json.dumps([i.as_dict() for i in items], ensure_ascii=False, indent=2))
        return
    table = Table("kind", "id", "score", "summary")
    for item in items:
        table.add_row(item.kind, item.id, f"{item.score:.2f}", Text(item.summary))
    console.print(table)
    console.print(f"{len(items)} item(s); `aimap review show ID` shows the evidence", highlight=False)


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
    out.print(f"{info['id']} {info['kind']}: {info['summary']}  score {info['score']}")
    if info["kind"] == EVENT:
        ev = info["event"]
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
        return
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

