"""``aimap etl`` and ``aimap extract``: extraction into the database, and offline extraction of free text."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from aimap.runtime import console, err, prepared, stop_on_signals, tagged
from common.config import database_url
from db.runs import recorded_step
from etl import pipeline
from etl.offline import extract_jsonl


def etl(
    reprocess: Annotated[bool, typer.Option("--reprocess", help="Re-extract every document, not only new or changed ones.")] = False,
    limit: Annotated[int | None, typer.Option(help="Process at most this many documents.")] = None,
    batch_size: Annotated[int, typer.Option(help="Documents per transaction.")] = 200,
    workers: Annotated[int | None, typer.Option(
        min=0, help="Extraction processes (default: the cores); 0 extracts in this process while loading.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Extract cooperation events from new or changed documents (idempotent), with provenance.

    Ends with counts: documents processed, events new/updated/terminated, mentions,
    organisations created, merges, quarantined (documents that failed; see pipeline_errors).
    """
    prepared()
    url = database_url()
    ids = pipeline.pending(url, limit, reprocess)
    workers = pipeline.default_workers() if workers is None else workers
    params = {"documents": len(ids), "batch_size": batch_size, "edition": None,
              "runner": pipeline.runner(len(ids), batch_size, workers), "limit": limit, "reprocess": reprocess}
    with stop_on_signals(), recorded_step("etl", params) as run:
        report = pipeline.run_pipeline(  # one wave per batch and worker process: progress after each
            url, ids, batch_size=batch_size, wave_batches=max(1, workers), run_id=run.id, workers=workers,
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
        err.print(tagged("quarantined:", "yellow", f"{message}"), highlight=False)


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
        err.print(tagged("skipped:", "yellow", f"{message}"), highlight=False)
    err.print(f"{report.documents:,} documents, {report.relations:,} relations, {report.bad_lines} bad lines "
              f"in {elapsed:.1f} s -> {out_path}", highlight=False)
    if report.bad_lines:
        raise typer.Exit(1)
