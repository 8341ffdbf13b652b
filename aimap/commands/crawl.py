"""``aimap sources`` and ``aimap crawl``: the declared crawl sources and crawling them into documents."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from sqlalchemy.exc import SQLAlchemyError

from aimap.runtime import console, err, fail, prepared, stop_on_signals, tagged
from common.config import home_dir
from crawlers.run import CrawlError, errors_by_kind, run_crawl, skipped_by_reason, source_activity
from crawlers.sources import SOURCES_DIR, SourceError, load_source, scan_sources

sources_app = typer.Typer(help="Crawl sources declared as YAML files (crawlers/sources/ or a world's sources/).",
                          no_args_is_help=True)


@sources_app.command("list")
def sources_list(
    sources: Annotated[Path | None, typer.Option("--sources", help="Directory of source files (default: crawlers/sources).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the sources as JSON.")] = False,
) -> None:
    """List every declared source: kind, enabled, verified, last crawl and documents stored."""
    try:
        activity = source_activity()
    except SQLAlchemyError as exc:  # no database yet: the files are still listed
        err.print(tagged(f"no crawl history ({type(exc).__name__}); showing the source files only", "yellow"))
        activity = {}
    rows = []
    for path in sorted((sources or SOURCES_DIR).glob("*.yml")):
        try:
            s = load_source(path)
        except SourceError as exc:
            rows.append({"name": path.stem, "kind": "invalid", "error": str(exc).splitlines()[0]})
            continue
        seen = activity.get(s.name, {})
        last = seen.get("last_run") or {}
        rows.append({"name": s.name, "kind": s.kind, "enabled": s.enabled, "verified": not s.unverified,
                     "last_run": f"{last['started_at']:%Y-%m-%d} {last['state']} (run {last['run_id']})"
                     if last else None, "documents": seen.get("documents", 0), "publisher": s.publisher})
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)  # narrow terminals: the name is never cut
    for header in ("name", "kind", "on", "verified", "last run", "docs"):
        table.add_column(header, no_wrap=header != "last run")
    for r in rows:
        if r["kind"] == "invalid":
            table.add_row(r["name"], Text("invalid", style="red"), "", "", r["error"], "")
        else:
            table.add_row(r["name"], r["kind"], "yes" if r["enabled"] else "no", "yes" if r["verified"] else "no",
                          r["last_run"] or "never", f"{r['documents']:,}")
    console.print(table)
    enabled = sum(1 for r in rows if r.get("enabled"))
    console.print(f"{len(rows)} sources, {enabled} enabled"
                  + ("" if enabled else " — switch one on with `enabled: true` in its file"), highlight=False)


@sources_app.command("check")
def sources_check(
    name: Annotated[str, typer.Argument(help="Source name (file stem) or path.")],
    sources: Annotated[Path | None, typer.Option("--sources", help="Directory of source files (default: crawlers/sources).")] = None,
) -> None:
    """Validate one source file (every problem at once) and print what it declares."""
    try:
        s = load_source(name, sources)
    except SourceError as exc:  # one problem per line (file: key: reason), never wrapped or read as markup
        for line in str(exc).splitlines():
            err.print(f"error: {line}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    console.print(f"{s.name}: valid {s.kind} source ({s.path})", highlight=False)
    console.print(json.dumps(s.raw, ensure_ascii=False, indent=2, default=str), highlight=False)


def crawl(
    source: Annotated[list[str] | None, typer.Option("--source", help="Source name; repeat for several (default: the enabled sources in --sources; a named source is crawled even if disabled).")] = None,
    sources: Annotated[Path | None, typer.Option("--sources", help="Directory of source files (default: crawlers/sources).")] = None,
    base_url: Annotated[str | None, typer.Option(help="Fills {base_url} in the sources' URLs (e.g. a served demo world) and maps every real host H to {base_url}/_hosts/H/ (the demo web).")] = None,
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
    scan = scan_sources(sources)  # an invalid source file is reported and skipped, the others crawl
    available = {s.name: s for s in scan.valid}
    invalid = {b.name: b for b in scan.invalid if (b.name in source if source else b.enabled)}
    names = source or sorted([n for n, s in available.items() if s.enabled] + list(invalid))
    unknown = [n for n in names if n not in available and n not in invalid]
    if unknown:
        fail(f"unknown source(s) {', '.join(unknown)}; known: {', '.join(sorted(available)) or 'none'}")
    if not names:
        err.print(tagged(f"no source is enabled in {sources or SOURCES_DIR}: nothing crawled.", "yellow",
                         "Switch one on with `enabled: true` in its file (`aimap sources list`), or name one with "
                         "--source."), highlight=False)
        if as_json:
            print("[]")
        return
    summary: list[dict[str, object]] = []
    failures = 0
    with stop_on_signals(), Progress(SpinnerColumn(), TextColumn("{task.description}", markup=False),
                                     TimeElapsedColumn(), console=err, transient=True, disable=as_json) as bar:
        for name in names:
            if name in invalid:
                failures += 1
                summary.append({"source": name, "state": "failed",
                                "error": f"invalid source file, skipped:\n{invalid[name].problems}"})
                continue
            task = bar.add_task(f"crawl {name}", total=None)
            log_file = home_dir() / "logs" / f"crawl-{name}.log"
            try:
                result = run_crawl(name, sources_dir=sources, base_url=base_url, since=since_date, log_file=log_file,
                                   progress=lambda n, t=task, nm=name: bar.update(t, description=f"crawl {nm}: {n:,} requests done"))
                summary.append({"source": name, "run_id": result.run_id, "state": "completed"
                                if result.finish_reason == "finished" else "interrupted", **result.counts,
                                "by_status": result.status_counts, "skipped_by_reason": skipped_by_reason(result.stats),
                                "errors_by_kind": errors_by_kind(result.stats), "log": str(log_file)})
            except (CrawlError, SourceError) as exc:
                failures += 1
                summary.append({"source": name, "state": "failed", "error": str(exc), "log": str(log_file)})
            bar.remove_task(task)
    if as_json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        table = Table("source", "state", "requests", "new", "changed", "unchanged", "not modified", "errors",
                      "pre-filter skipped")
        for row in summary:
            table.add_row(str(row["source"]), str(row["state"]), *(f"{row.get(k, 0):,}" if k in row else "-" for k in (
                "requests", "documents_new", "documents_changed", "documents_unchanged", "documents_not_modified",
                "errors", "prefilter_skipped")))
        console.print(table)
        for row in summary:
            if row["state"] == "failed":
                err.print(tagged(f"{row['source']} failed:", "red", row["error"]), highlight=False)
    if failures:
        raise typer.Exit(1)

