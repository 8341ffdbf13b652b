"""``aimap sources`` and ``aimap crawl``: the declared crawl sources and crawling them into documents."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from aimap.runtime import console, err, fail, prepared
from common.config import home_dir
from crawlers.run import CrawlError, run_crawl
from crawlers.sources import SOURCES_DIR, SourceError, list_sources, load_source

sources_app = typer.Typer(help="Crawl sources declared as YAML files (crawlers/sources/ or a world's sources/).",
                          no_args_is_help=True)


@sources_app.command("list")
def sources_list(
    sources: Annotated[Path | None, typer.Option("--sources", help="Directory of source files (default: crawlers/sources).")] = None,
) -> None:
    """List every declared source with its kind, publisher and expected minimum."""
    table = Table("name", "kind", "publisher", "min docs", "covers")
    for path in sorted((sources or SOURCES_DIR).glob("*.yml")):
        try:
            s = load_source(path)
            table.add_row(s.name, s.kind, s.publisher, str(s.expected_min_documents), s.covers)
        except SourceError as exc:
            table.add_row(path.stem, "[red]invalid[/red]", str(exc).splitlines()[0], "", "")
    console.print(table)


@sources_app.command("check")
def sources_check(
    name: Annotated[str, typer.Argument(help="Source name (file stem) or path.")],
    sources: Annotated[Path | None, typer.Option("--sources", help="Directory of source files (default: crawlers/sources).")] = None,
) -> None:
    """Validate one source file (every problem at once) and print what it declares."""
    try:
        s = load_source(name, sources)
    except SourceError as exc:
        fail(str(exc))
    console.print(f"{s.name}: valid {s.kind} source ({s.path})", highlight=False)
    console.print(json.dumps(s.raw, ensure_ascii=False, indent=2, default=str), highlight=False)


def crawl(
    source: Annotated[list[str] | None, typer.Option("--source", help="Source name; repeat for several (default: all in --sources).")] = None,
    sources: Annotated[Path | None, typer.Option("--sources", help="Directory of source files (default: crawlers/sources).")] = None,
    base_url: Annotated[str | None, typer.Option(help="Fills {base_url} in the sources' URLs (e.g. a served demo world).")] = None,
    since: Annotated[str | None, typer.Option(help="Only feed entries / announcements on or after this date (YYYY-MM-DD).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the per-source summary as JSON.")] = False,
) -> None:
    """Crawl sources into `documents`, each in its own Scrapy process; print a per-source summary.

    Re-crawls send conditional requests (unchanged pages are not fetched again); a crawl that
    was killed resumes where it stopped. Every run and its stats are recorded in pipeline_runs.
    """


    prepared()
    try:
        since_date = dt.date.fromisoformat(since) if since else None
    except ValueError:
        fail(f"--since must be a date YYYY-MM-DD, got {since!r}")
    try:
        available = {s.name: s for s in list_sources(sources)}
    except SourceError as exc:
        fail(str(exc))
    names = source or sorted(available)
    unknown = [n for n in names if n not in available]
    if unknown:
        fail(f"unknown source(s) {', '.join(unknown)}; known: {', '.join(sorted(available)) or 'none'}")
    summary: list[dict[str, object]] = []
    failures = 0
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err,
                  transient=True, disable=as_json) as bar:
        for name in names:
            task = bar.add_task(f"crawl {name}", total=None)
            log_file = home_dir() / "logs" / f"crawl-{name}.log"
            try:
                result = run_crawl(name, sources_dir=sources, base_url=base_url, since=since_date, log_file=log_file,
                                   progress=lambda n, t=task, nm=name: bar.update(t, description=f"crawl {nm}: {n:,} requests done"))
                summary.append({"source": name, "run_id": result.run_id, "state": "completed"
                                if result.finish_reason == "finished" else "interrupted", **result.counts,
                                "by_status": result.status_counts, "log": str(log_file)})
            except (CrawlError, SourceError) as exc:
                failures += 1
                summary.append({"source": name, "state": "failed", "error": str(exc), "log": str(log_file)})
            bar.remove_task(task)
    if as_json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        table = Table("source", "state", "requests", "new", "changed", "unchanged", "not modified", "errors")
        for row in summary:
            table.add_row(str(row["source"]), str(row["state"]), *(f"{row.get(k, 0):,}" if k in row else "-" for k in (
                "requests", "documents_new", "documents_changed", "documents_unchanged", "documents_not_modified",
                "errors")))
        console.print(table)
        for row in summary:
            if row["state"] == "failed":
                err.print(f"[red]{row['source']} failed:[/red] {row['error']}", highlight=False)
    if failures:
        raise typer.Exit(1)

