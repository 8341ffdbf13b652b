"""The ``aimap`` command line (typer).

Every command works on the database named by ``DATABASE_URL`` (default: the SQLite file
``var/aimap.db``); see ``aimap status`` for what is in use.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from common.config import home_dir, out_dir, safe_url

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

app = typer.Typer(
    name="aimap",
    help=(
        "aimap — collect public technology-cooperation announcements of China's core AI firms, "
        "build the directed value network in a database and rebuild the yearly report.\n\n"
        "The database is DATABASE_URL (default: SQLite file var/aimap.db; "
        "postgresql+psycopg://user@host/db for PostgreSQL). Start with `aimap status`; "
        "`aimap demo` runs the whole chain on the local demo site."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
db_app = typer.Typer(help="Schema migrations (Alembic) and taxonomy seeding.", no_args_is_help=True)
firms_app = typer.Typer(help="The firm registry: the institute's list of sample firms.", no_args_is_help=True)
site_app = typer.Typer(
    help="The demo world: a generated, calibrated public web with its ground truth, served on 127.0.0.1.",
    no_args_is_help=True,
)
sources_app = typer.Typer(help="Crawl sources declared as YAML files (crawlers/sources/ or a world's sources/).",
                          no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(firms_app, name="firms")
app.add_typer(site_app, name="world")
app.add_typer(sources_app, name="sources")
review_app = typer.Typer(help="The analyst review queue: low-confidence events and merge suggestions; decisions persist.",
                         no_args_is_help=True)
app.add_typer(review_app, name="review")


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


def _prepared() -> None:
    """Migrate and seed before commands that write (idempotent, fast when current)."""
    from db.bootstrap import prepare_database

    prepare_database()


# --------------------------------------------------------------------------- status


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False) -> None:
    """Show the database in use (password hidden), its schema revision and row counts per table."""
    from sqlalchemy import func, inspect, select
    from sqlalchemy.exc import SQLAlchemyError

    from db import migrate
    from db.models import STATUS_TABLES
    from db.session import get_engine

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
    except SQLAlchemyError as exc:
        info["error"] = str(exc).splitlines()[0]
    if as_json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
    else:
        console.print(f"database: {info['database']} ({info['dialect']})", highlight=False)
        if "error" in info:
            console.print(f"[red]cannot read the database:[/red] {info['error']}", highlight=False)
        else:
            rev, head = info["revision"], info["head"]
            hint = "" if rev == head else "  (run `aimap db upgrade`)"
            console.print(f"schema revision: {rev or 'none (empty database)'} / head {head}{hint}", highlight=False)
            table = Table("table", "rows")
            for label, n in info["counts"].items():  # type: ignore[union-attr]
                table.add_row(label, "-" if n is None else f"{n:,}")
            console.print(table)
    if "error" in info:
        raise typer.Exit(1)


# --------------------------------------------------------------------------- db


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Upgrade the schema to REVISION (default head) and sync the taxonomy tables from db/data/."""
    from db import migrate
    from db.session import get_engine, session_scope
    from db.taxonomy import sync_taxonomies

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
    from db import migrate
    from db.session import get_engine

    if not yes:
        typer.confirm(f"Downgrade {safe_url()} to {revision}? Data in dropped tables is lost.", abort=True)
    engine = get_engine()
    migrate.downgrade(engine, revision)
    console.print(f"{safe_url()} at revision {migrate.current_revision(engine) or 'base (empty)'}", highlight=False)


# --------------------------------------------------------------------------- firms


@firms_app.command("import")
def firms_import(
    path: Annotated[Path, typer.Argument(help="Registry file: .csv (UTF-8 or GB18030) or .xlsx.", exists=True,
                                         dir_okay=False)],
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="Import the good rows; write bad ones to a rejects file.")] = False,
    rejects: Annotated[Path | None, typer.Option(help="Rejects file (default: <file>.rejects.csv).")] = None,
) -> None:
    """Import the firm registry: validate every row; import nothing if any row is bad (unless --skip-bad).

    Columns are documented in docs/registry.md (English or Chinese headers). Re-importing the
    same file changes nothing; a changed file updates firms in place.
    """
    from db.runs import recorded_run
    from etl.registry import RegistryImportError, import_registry

    _prepared()
    try:
        with recorded_run("firms-import", {"path": str(path), "skip_bad": skip_bad}) as (session, run):
            report = import_registry(session, path, skip_bad=skip_bad, rejects_path=rejects)
            run.counts = {"rows": report.rows, "created": report.created, "updated": report.updated,
                          "unchanged": report.unchanged, "rejected": report.rejected}
    except RegistryImportError as exc:
        _fail(f"{exc}\nnothing was imported; fix the rows or pass --skip-bad.")
    for warning in report.warnings:
        err.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    console.print(
        f"{path}: {report.rows} rows — created {report.created}, updated {report.updated}, "
        f"unchanged {report.unchanged}, rejected {report.rejected}"
        + (f" (see {report.rejects_path})" if report.rejected else ""),
        highlight=False,
    )


# --------------------------------------------------------------------------- demo site


@site_app.command("generate")
def world_generate(
    scale: Annotated[str, typer.Option("--scale", help="World size preset: tiny | small | medium | report.")] = "tiny",
    seed: Annotated[int, typer.Option(help="Random seed (same seed and scale -> byte-identical output).")] = 7,
    out: Annotated[Path | None, typer.Option(help="Output directory (default: $AIMAP_HOME/world).")] = None,
) -> None:
    """Generate a demo world and render it: site/, firms.csv, sources/ and truth/ (ground truth)."""
    import time

    from demosite.render import render_site
    from demosite.world import build_world

    target = out or home_dir() / "world"
    started = time.perf_counter()
    world = build_world(seed=seed, preset=scale)
    built = time.perf_counter()
    manifest = render_site(world, target)
    done = time.perf_counter()
    console.print(
        f"world {scale} (seed {seed}) written to {target}: {manifest.firms:,} sample firms, "
        f"{manifest.partners:,} relation nodes, {manifest.events:,} events, {manifest.documents:,} documents, "
        f"{manifest.pages:,} files (model {built - started:.1f} s, rendering {done - built:.1f} s)",
        highlight=False,
    )
    console.print(f"next: aimap firms import {target / 'firms.csv'}; aimap world serve {target}", highlight=False)


@site_app.command("serve")
def world_serve(
    directory: Annotated[Path | None, typer.Argument(help="World directory (default: $AIMAP_HOME/world).")] = None,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8765,
) -> None:
    """Serve a generated world on http://127.0.0.1:PORT until interrupted (ETag/Last-Modified aware)."""
    from demosite.server import serve_forever

    root = directory or home_dir() / "world"
    if not (root / "site").exists() and not (root / "index.html").exists():
        _fail(f"{root} holds no generated world; run `aimap world generate --out {root}` first")
    console.print(f"serving {root} on http://127.0.0.1:{port}/ (Ctrl-C to stop)", highlight=False)
    serve_forever(root, "127.0.0.1", port)


@site_app.command("step")
def world_step(
    directory: Annotated[Path | None, typer.Argument(help="World directory (default: $AIMAP_HOME/world).")] = None,
) -> None:
    """Advance a generated world by one year of news (the next annual refresh's input), in place."""
    from demosite.render import step_world

    root = directory or home_dir() / "world"
    try:
        manifest, year = step_world(root)
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    console.print(f"{root}: world now runs through {year}: {manifest.events:,} events, "
                  f"{manifest.documents:,} documents", highlight=False)


# --------------------------------------------------------------------------- sources / crawl


@sources_app.command("list")
def sources_list(
    sources: Annotated[Path | None, typer.Option("--sources", help="Directory of source files (default: crawlers/sources).")] = None,
) -> None:
    """List every declared source with its kind, publisher, schedule and expected minimum."""
    from crawlers.sources import SOURCES_DIR, SourceError, load_source

    table = Table("name", "kind", "publisher", "schedule", "min docs", "covers")
    for path in sorted((sources or SOURCES_DIR).glob("*.yml")):
        try:
            s = load_source(path)
            table.add_row(s.name, s.kind, s.publisher, s.schedule or "-", str(s.expected_min_documents), s.covers)
        except SourceError as exc:
            table.add_row(path.stem, "[red]invalid[/red]", str(exc).splitlines()[0], "", "", "")
    console.print(table)


@sources_app.command("check")
def sources_check(
    name: Annotated[str, typer.Argument(help="Source name (file stem) or path.")],
    sources: Annotated[Path | None, typer.Option("--sources", help="Directory of source files (default: crawlers/sources).")] = None,
) -> None:
    """Validate one source file (every problem at once) and print what it declares."""
    from crawlers.sources import SourceError, load_source

    try:
        s = load_source(name, sources)
    except SourceError as exc:
        _fail(str(exc))
    console.print(f"{s.name}: valid {s.kind} source ({s.path})", highlight=False)
    console.print(json.dumps(s.raw, ensure_ascii=False, indent=2, default=str), highlight=False)


@app.command()
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
    import datetime as dt

    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from crawlers.run import CrawlError, run_crawl
    from crawlers.sources import SourceError, list_sources

    _prepared()
    try:
        since_date = dt.date.fromisoformat(since) if since else None
    except ValueError:
        _fail(f"--since must be a date YYYY-MM-DD, got {since!r}")
    try:
        available = {s.name: s for s in list_sources(sources)}
    except SourceError as exc:
        _fail(str(exc))
    names = source or sorted(available)
    unknown = [n for n in names if n not in available]
    if unknown:
        _fail(f"unknown source(s) {', '.join(unknown)}; known: {', '.join(sorted(available)) or 'none'}")
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


# --------------------------------------------------------------------------- etl / analysis


@app.command()
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
    from db.runs import recorded_run
    from etl.load import run_etl

    _prepared()
    params = {"reprocess": reprocess, "limit": limit, "batch_size": batch_size}
    with recorded_run("etl", params) as (session, run):
        report = run_etl(
            session, limit=limit, batch_size=batch_size, reprocess=reprocess, run_id=run.id,
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


@app.command()
def extract(
    in_path: Annotated[Path, typer.Option("--in", help="Documents, JSON lines: {id, text, title?, published?, url?}.",
                                          exists=True, dir_okay=False)],
    out_path: Annotated[Path, typer.Option("--out", help="Results, JSON lines (one per input document).")],
    registry: Annotated[Path | None, typer.Option(help="Firm registry CSV: canonical names and aliases.",
                                                  exists=True, dir_okay=False)] = None,
) -> None:
    """Run the relation extractor on free text without a database (offline evaluation interface).

    Output per document: is_cooperation, relations {a, b, direction a->b|b->a|mutual, year, kind,
    status}, tech_categories, application_domains, organisations {name, role party|non_party,
    kind, province}; names as they appear in the text.
    """
    import time

    from etl.offline import extract_jsonl

    errors: list[str] = []
    started = time.perf_counter()
    report = extract_jsonl(in_path, out_path, registry, errors)
    elapsed = time.perf_counter() - started
    for message in errors[:50]:
        err.print(f"[yellow]skipped:[/yellow] {message}", highlight=False)
    err.print(f"{report.documents:,} documents, {report.relations:,} relations, {report.bad_lines} bad lines "
              f"in {elapsed:.1f} s -> {out_path}", highlight=False)
    if report.bad_lines:
        raise typer.Exit(1)


@app.command()
def analyze(
    edition: Annotated[int | None, typer.Option(help="Report edition (data up to edition-1). Default: latest data year + 1 "
                                                     "(with --compare: the published file's edition).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Bundle root (default: $AIMAP_OUT); files go to OUT/<edition>/.",
                                             file_okay=False)] = None,
    window: Annotated[int | None, typer.Option(help="Rolling window of K years instead of cumulative networks.")] = None,
    mutual: Annotated[str, typer.Option(help="Orientation of mutual events: reporter | both.")] = "reporter",
    compare: Annotated[Path | None, typer.Option(
        "--compare", metavar="FIGURES.yaml", exists=True, dir_okay=False,
        help="Put the rebuilt figures beside a published edition's (format: analysis/data/report-2024-figures.yaml) "
             "and flag internal inconsistencies of either side; writes compare.md/.csv into the bundle.")] = None,
    diff: Annotated[tuple[int, int] | None, typer.Option(
        "--diff", metavar="A B", help="Compare two editions rebuilt before (OUT/A and OUT/B): firms and relations added "
                                      "and removed, hubs that rose or fell, shares that moved; writes OUT/diff_A_B/.")] = None,
) -> None:
    """Rebuild the report of an edition from the database: every table and figure, written to OUT/<edition>/.

    The bundle: report.md, report.html (self-contained), report.xlsx (a sheet per table), every
    table as CSV, charts as PNG and SVG, one GEXF per year for Gephi, nodes/edges/firms CSV and
    figures.yaml; each yearly network is recorded in network_snapshots. Running it twice on the same
    data gives the same files and no new snapshot.
    """
    root = out.resolve() if out else out_dir()
    if diff is not None:
        from analysis.compare import diff_editions, write_diff

        a, b = diff
        try:
            result_diff = diff_editions(root / str(a), root / str(b))
        except (FileNotFoundError, ValueError, KeyError) as exc:
            _fail(str(exc))
        files = write_diff(result_diff, root / f"diff_{a}_{b}")
        table = Table("change", "count")
        for key, value in result_diff.summary.items():
            table.add_row(key.replace("_", " "), f"{value:,}")
        console.print(f"edition {a} -> {b}", highlight=False)
        console.print(table)
        for t in result_diff.tables:
            if t.key == "diff_hubs":
                for row in [r for r in t.rows if r[-1] != "same"][:10]:
                    console.print(f"  {row[0]} hub {row[1]}: rank {row[2]} -> {row[3]} ({row[-1]})", highlight=False)
        console.print(f"written: {files[-1].parent}", highlight=False)
        return

    from analysis.report import build_report
    from db.runs import recorded_run

    published = None
    if compare is not None:
        from analysis.compare import load_figures

        try:
            published = load_figures(compare)
        except (FileNotFoundError, ValueError) as exc:
            _fail(str(exc))
        edition = edition or int(published["edition"])
    _prepared()
    params = {"edition": edition, "window": window, "mutual": mutual, "out": str(root),
              "compare": str(compare) if compare else None}
    try:
        with recorded_run("analyze", params) as (session, run):
            result = build_report(session, root, edition=edition, window=window, mutual=mutual, run_id=run.id,
                                  progress=lambda m: err.print(f"analyze: {m}", highlight=False))
            run.counts = {"years": len(result.rows), "snapshots_new": result.snapshots_new, "files": len(result.files)}
    except ValueError as exc:
        _fail(str(exc))
    bundle = root / str(result.edition)
    console.print((bundle / "table1.md").read_text(encoding="utf-8"), highlight=False)
    console.print(f"edition {result.edition}: {len(result.files)} files in {bundle} (report.html, report.xlsx, report.md, "
                  f"CSV, charts/, gexf/); new snapshots: {result.snapshots_new}", highlight=False)
    if compare is not None:
        from analysis.compare import write_comparison

        assert result.stats is not None
        files, compared, flags = write_comparison(compare, result.stats.figures, bundle)
        differing = sum(1 for r in compared.rows if r[4] not in (None, 0))
        console.print(f"compared with {compare}: {len(compared.rows)} figures, {differing} differ; "
                      f"{len(flags.rows)} internal inconsistencies:", highlight=False)
        for side, path, message in flags.rows:
            console.print(f"  [{side}] {path}: {message}", highlight=False, markup=False)
        console.print(f"written: {', '.join(str(f) for f in files)}", highlight=False)


@app.command("index")
def index_cmd(
    edition: Annotated[int | None, typer.Option(help="Report edition (network of edition-1). Default: latest data "
                                                     "year + 1.")] = None,
    level: Annotated[str, typer.Option(help="Regions ranked: province | city | all.")] = "province",
    weights: Annotated[str | None, typer.Option(help="entropy | expert | mix (default: analysis/data/index.yml).")] = None,
    normalisation: Annotated[str | None, typer.Option(help="minmax | zscore (default: index.yml).")] = None,
    imports: Annotated[Path | None, typer.Option(
        "--imports", metavar="DIR", exists=True, file_okay=False,
        help="Directory of imported indicators (CSV/XLSX; format in analysis/data/index_imports/README.md).")] = None,
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="Use the good import rows; write bad ones to "
                                                              "OUT/<edition>/index/rejects/.")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Output root (default: $AIMAP_OUT); files go to "
                                             "OUT/<edition>/index/.", file_okay=False)] = None,
    compare: Annotated[Path | None, typer.Option(
        "--compare", metavar="FIGURES.yaml", exists=True, dir_okay=False,
        help="Print the top 10 beside a published ranking (competitiveness_index of a figures file).")] = None,
) -> None:
    """The regional competitiveness index: six pillars, 24 indicators, provinces or cities, explained.

    Indicators, definitions and expert weights: analysis/data/index.yml; method: docs/index.md.
    Writes OUT/<edition>/index/: index_<level>_*.csv (ranking, values, normalised, weights,
    sensitivity, drivers, missing, imports, method), index_<level>.xlsx, index_<level>.md and
    charts/ (radar of pillar scores, bar chart of totals). Missing values are reported, never zero.
    """
    import numpy as np

    from analysis.index import (
        build_index,
        compare_published,
        default_edition,
        published_ranking,
        write_index,
    )
    from analysis.index_data import load_index_source
    from analysis.index_imports import IndexImportError, record_errors
    from db.runs import recorded_run

    levels = ["province", "city"] if level == "all" else [level]
    root = out.resolve() if out else out_dir()
    _prepared()
    params = {"edition": edition, "level": level, "weights": weights, "normalisation": normalisation,
              "imports": str(imports) if imports else None, "skip_bad": skip_bad, "out": str(root)}
    results = []
    try:
        with recorded_run("index", params) as (session, run):
            edition = edition or default_edition(session)
            target = root / str(edition) / "index"
            source = load_index_source(session, edition)
            for lv in levels:
                result = build_index(session, level=lv, weights=weights, normalisation=normalisation,
                                     imports=imports, skip_bad=skip_bad, rejects_dir=target / "rejects",
                                     source=source, progress=lambda m: err.print(f"index: {m}", highlight=False))
                files = write_index(result, target)
                results.append((result, files))
            first = results[0][0].imports
            if first is not None and first.errors:
                record_errors(session, first, run.id)
            run.counts = {r.level: len(r.regions) for r, _ in results}
    except IndexImportError as exc:
        _fail(f"{exc}\nfix the rows or pass --skip-bad.")
    except ValueError as exc:  # IndexBuildError: bad parameters, too few regions
        _fail(str(exc))
    figures = None
    if compare is not None:
        from analysis.compare import load_figures

        try:
            figures = load_figures(compare)
        except ValueError as exc:
            _fail(str(exc))
    for result, files in results:
        imp = result.imports
        if imp is not None:
            console.print(f"imports {imp.directory}: {len(imp.files)} files, {len(imp.values)} values read, "
                          f"{len(result.used_imports)} used" + (f", {len({(f, e.row) for f, e in imp.errors})} bad rows "
                                                                 f"skipped ({', '.join(map(str, imp.rejects))})"
                                                                 if imp.errors else ""), highlight=False)
        table = Table("rank", result.level, "total", *[p.name[:2] for p in result.tree.pillars], "cov%", box=None,
                      title=f"{result.edition} {result.level} index ({result.scheme}, {result.normalisation}); "
                            f"pillars {'、'.join(p.name for p in result.tree.pillars)}")
        cover = (~np.isnan(result.raw) * result.weights).sum(axis=1) * 100
        for rank, i in enumerate(result.order[:10], 1):
            table.add_row(str(rank), result.regions.names[i], f"{result.scores.total[i] * result.scale:.2f}",
                          *[f"{result.scores.pillars[i, p] * result.scale:.2f}" for p in range(len(result.tree.pillars))],
                          f"{cover[i]:.0f}")
        console.print(table)
        s = result.sensitivity
        console.print(f"{len(result.regions)} {result.level} regions ranked, {len(result.missing)} missing values "
                      f"(re-weighted, see index_{result.level}_missing.csv); sensitivity: Spearman mean "
                      f"{s.rho.mean():.3f}, min {s.rho.min():.3f} over {s.draws} weight draws", highlight=False)
        for warning in result.warnings:
            err.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
        if figures is not None:
            published = published_ranking(figures, result.level)
            if published:
                c = compare_published(result, published)
                console.print(f"published {result.level} ranking: "
                              + "、".join(f"{n} (aimap {c.our_rank[n] or '-'})" for n in published)
                              + f"; Spearman over the regions both top lists name {c.rho_common:.3f} "
                              f"(n = {len(c.common)}), over the published regions {c.rho_published:.3f}",
                              highlight=False)
        console.print(f"written: {len(files)} files in {files[0].parent}", highlight=False)


@app.command()
def netstats(
    edges: Annotated[Path, typer.Argument(metavar="EDGES.csv", help="UTF-8 CSV with a header holding Source and "
                                          "Target columns (any case); other columns are ignored.")],
    approximate: Annotated[bool, typer.Option("--approximate", help="Sample BFS sources instead of all (graphs too "
                                              "large for the exact run); adds the error bounds to the output.")] = False,
    samples: Annotated[int, typer.Option(min=1, help="Sources sampled with --approximate.")] = 4096,
    seed: Annotated[int, typer.Option(help="Random seed of --approximate.")] = 0,
) -> None:
    """Gephi 0.9.2 network statistics of any directed edge list, printed as JSON (full precision).

    Keys: nodes, edges, avg_degree (edges/nodes), diameter and avg_path_length (directed BFS,
    unreachable pairs ignored), avg_clustering (Gephi's directed definition). Repeated pairs are
    merged, self-loops kept, as Gephi's import does. The same code computes the report's Table 1.
    """
    from analysis.metrics import EdgeListError, compute_netstats, read_edge_list

    try:
        labels, sources, targets = read_edge_list(edges)
    except EdgeListError as exc:
        _fail(str(exc))
    stats = compute_netstats(sources, targets, len(labels), approximate=approximate, seed=seed, sample_size=samples)
    result: dict[str, object] = dict(stats.as_dict())
    if stats.approximation is not None:
        result["approximation"] = stats.approximation.as_dict()
    print(json.dumps(result, indent=2))


@app.command()
def demo(
    preset: Annotated[str, typer.Option(help="Demo world size preset.")] = "tiny",
    seed: Annotated[int, typer.Option(help="Demo world seed.")] = 7,
    edition: Annotated[int | None, typer.Option(help="Report edition (default: the world's last year + 1).")] = None,
) -> None:
    """Run the annual refresh over the demo web as Prefect flows: world -> registry -> crawl -> ETL -> gate ->
    report -> publish. Running it again resumes the edition (what completed is not redone)."""
    _ephemeral_prefect()
    from flows.demo import demo_flow

    try:
        result = demo_flow(preset=preset, seed=seed, edition=edition)
    except Exception as exc:  # noqa: BLE001 - the flow's logs above say what happened
        _fail(f"the demo refresh failed: {exc}")
    refresh = result["refresh"]
    console.print(f"\ndatabase: {safe_url()}", highlight=False)
    console.print(f"steps run now: {', '.join(refresh['ran']) or 'none (the edition had been published)'}",
                  highlight=False)
    table1 = Path(refresh["directory"]) / "table1.md"
    if table1.exists():
        console.print(table1.read_text(encoding="utf-8"), highlight=False, markup=False)
    console.print(f"report of edition {refresh['edition']}: {refresh['report']}", highlight=False)
    console.print(f"every file (with MANIFEST.json): {refresh['directory']}", highlight=False)


def _ephemeral_prefect() -> None:
    """Give Prefect's ephemeral API time to start on a slow or busy machine (first start migrates)."""
    import os

    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # the local API sends no telemetry


# --------------------------------------------------------------------------- operations (flows)

gate_app = typer.Typer(help="The data-quality gate of the annual refresh: results and operator overrides.",
                       no_args_is_help=True)
app.add_typer(gate_app, name="gate")


@app.command()
def refresh(
    edition: Annotated[int | None, typer.Option(help="Edition year (default: this year, Asia/Shanghai).")] = None,
    cutoff: Annotated[str | None, typer.Option(help="Data cut-off YYYY-MM-DD (default: 31 December before).")] = None,
    source: Annotated[list[str] | None, typer.Option("--source", help="Only these sources (repeat).")] = None,
    sources: Annotated[Path | None, typer.Option("--sources", help="Directory of source files (default: crawlers/sources).")] = None,
    base_url: Annotated[str | None, typer.Option(help="Fills {base_url} in the sources' URLs.")] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Redo every step (default: resume what did not complete).")] = False,
    charts: Annotated[bool, typer.Option("--charts/--no-charts", help="Draw the report's charts.")] = True,
    retries: Annotated[int, typer.Option(min=0, help="Retries of a failed crawl.")] = 2,
    retry_delay: Annotated[float, typer.Option(min=0, help="First retry delay in seconds (doubles, 50% jitter).")] = 10.0,
) -> None:
    """Run the annual refresh now: crawl -> ETL -> data-quality gate -> analysis -> publish.

    Re-running it for the same edition resumes after a failure without redoing finished steps.
    A failed gate stops it before the analysis; see `aimap gate show` and `aimap gate override`.
    """
    import datetime as dt

    _ephemeral_prefect()
    from flows.refresh import annual_refresh

    _prepared()
    try:
        cutoff_date = dt.date.fromisoformat(cutoff) if cutoff else None
    except ValueError:
        _fail(f"--cutoff must be a date YYYY-MM-DD, got {cutoff!r}")
    try:
        result = annual_refresh(edition, cutoff_date, sources=source, sources_dir=str(sources) if sources else None,
                                base_url=base_url, fresh=fresh, charts=charts, retries=retries,
                                retry_delay_seconds=retry_delay)
    except Exception as exc:  # noqa: BLE001 - the flow has logged and recorded it
        _fail(f"the refresh failed: {exc}\nfix the cause (or `aimap gate override`), then re-run the same command: it resumes")
    console.print(f"edition {result['edition']} (cut-off {result['cutoff_date']}): steps run now: "
                  f"{', '.join(result['ran']) or 'none (already published)'}", highlight=False)
    console.print(f"report: {result['report']}", highlight=False)


@app.command()
def serve(
    limit: Annotated[int | None, typer.Option(help="At most this many flow runs at once.")] = None,
) -> None:
    """Serve every deployment (weekly crawl + ETL, the yearly refresh in January, crawl/etl/analyze on demand)
    in this process until interrupted. Needs a Prefect server: set PREFECT_API_URL (schedules live there)."""
    import os

    from flows.deployments import load_specs, serve_all

    if not os.environ.get("PREFECT_API_URL"):
        err.print("[yellow]warning:[/yellow] PREFECT_API_URL is unset: the ephemeral API keeps no schedules "
                  "after this process; start `prefect server start` and set PREFECT_API_URL", highlight=False)
    _prepared()
    _pool, specs = load_specs()
    for spec in specs:
        console.print(f"deployment {spec.name}: {spec.entrypoint}, "
                      f"{'cron ' + spec.cron + ' ' + spec.timezone if spec.cron else 'on demand'}", highlight=False)
    serve_all(limit=limit)


@app.command()
def deploy(
    pool: Annotated[str | None, typer.Option(help="Work pool (default: aimap-pool, flows/deployments.yml).")] = None,
    source: Annotated[str | None, typer.Option(help="Code location as the workers see it (default: this checkout; "
                                                    "/app in the docker image).")] = None,
) -> None:
    """Register every deployment and its schedule on a work pool, for workers (same list as prefect.yaml)."""
    from flows.deployments import deploy_all

    ids = deploy_all(pool, source)
    console.print(f"{len(ids)} deployments registered on work pool {pool or 'aimap-pool'}", highlight=False)


@gate_app.command("show")
def gate_show(
    edition: Annotated[int, typer.Option(help="Edition year.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Evaluate the declared checks (flows/checks.yml) for an edition now, without recording anything."""
    from db.session import session_scope
    from flows.gate import evaluate, result_table

    _prepared()
    with session_scope() as session:
        result = evaluate(session, edition)
    if as_json:
        print(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
        return
    table = Table("check", "result", "value", "limit", "detail")
    for row in result_table(result):
        table.add_row(row["check"], row["result"], str(row["value"]), row["limit"], row["detail"])
    console.print(table)
    if not result.passed:
        console.print(result.message(), highlight=False, markup=False)
        raise typer.Exit(1)


@gate_app.command("override")
def gate_override(
    edition: Annotated[int, typer.Option(help="Edition year.")],
    reason: Annotated[str, typer.Option(help="Why the failed checks are acceptable (recorded, shown in the "
                                             "report manifest).")],
    check: Annotated[list[str] | None, typer.Option("--check", help="Checks to override (default: those that "
                                                                    "failed at the edition's last gate).")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who decides (default: your login name).")] = None,
) -> None:
    """Override failed gate checks of an edition with a recorded reason; then re-run `aimap refresh`."""
    from flows.gate import GateError, record_override

    _prepared()
    try:
        recorded = record_override(edition, reason, by=by, checks=check)
    except GateError as exc:
        _fail(str(exc))
    console.print(f"override {recorded['id']} recorded for edition {edition} by {recorded['by']}: "
                  f"{', '.join(recorded['checks'])} — now run `aimap refresh --edition {edition}`", highlight=False)


# --------------------------------------------------------------------------- review


def _analyst(by: str | None) -> str:
    """Who decides: --by, else the login name."""
    if by:
        return by
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "analyst"


_BY = typer.Option("--by", help="Who decides (default: your login name); stored with the decision.")
_NOTE = typer.Option("--note", help="Why; stored with the decision.")
_JSON = typer.Option("--json", help="Print machine-readable JSON.")


@review_app.command("list")
def review_list(
    kind: Annotated[str | None, typer.Option("--kind", help="Only 'event' or only 'merge' items.")] = None,
    limit: Annotated[int | None, typer.Option(help="Show at most this many items.")] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """List the queue: merge suggestions (best score first), then low-confidence events (weakest first)."""
    from rich.text import Text

    from db.session import session_scope
    from etl.review import ReviewError, list_items

    _prepared()
    with session_scope() as session:
        try:
            items = list_items(session, kind=kind, limit=limit)
        except ReviewError as exc:
            _fail(str(exc))
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
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Show the evidence of an item: an event's sentences and documents, or both organisations of a suggestion."""
    from db.session import session_scope
    from etl.review import EVENT, ReviewError, show_item

    _prepared()
    with session_scope() as session:
        try:
            info = show_item(session, item_id)
        except ReviewError as exc:
            _fail(str(exc))
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
    from db.session import session_scope
    from etl.review import ReviewError, decide

    _prepared()
    try:
        with session_scope() as session:
            result = decide(session, item_id, accept, by=_analyst(by), note=note)
    except ReviewError as exc:
        _fail(str(exc))
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
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Accept an item: keep the event (not queued again), or merge the two suggested organisations."""
    _review_decide(item_id, True, by, note, as_json)


@review_app.command("reject")
def review_reject(
    item_id: Annotated[str, typer.Argument(metavar="ID", help="E<event id> or M<suggestion id>.")],
    by: Annotated[str | None, _BY] = None,
    note: Annotated[str | None, _NOTE] = None,
    as_json: Annotated[bool, _JSON] = False,
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
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Merge organisation DROP into KEEP: aliases, events (duplicates merged, mentions kept), firm data."""
    from db.session import session_scope
    from etl.resolve import ResolveError, merge_organisations

    _prepared()
    try:
        with session_scope() as session:
            report = merge_organisations(session, keep, drop, _analyst(by), note=note, force=force)
    except ResolveError as exc:
        _fail(str(exc))
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
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Split an alias off its organisation into a new one (a negative judgement keeps them apart);
    documents whose evidence names it are queued for re-extraction (`aimap etl`)."""
    from db.session import session_scope
    from etl.resolve import ResolveError, split_alias

    _prepared()
    try:
        with session_scope() as session:
            report = split_alias(session, alias_id, _analyst(by), note=note)
    except ResolveError as exc:
        _fail(str(exc))
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
    from db.session import session_scope
    from etl.resolve import export_decisions

    _prepared()
    with session_scope() as session:
        n = export_decisions(session, path, include_pending=pending)
    console.print(f"{n} decisions written to {path}", highlight=False)


@review_app.command("import")
def review_import(
    path: Annotated[Path, typer.Argument(help="JSON-lines file written by `aimap review export`.", exists=True,
                                         dir_okay=False)],
    apply: Annotated[bool, typer.Option("--apply/--no-apply", help="Also merge/split organisations present now.")] = True,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Re-apply exported decisions: store them and merge or split the organisations they concern."""
    from db.session import session_scope
    from etl.resolve import ResolveError, import_decisions

    _prepared()
    try:
        with session_scope() as session:
            report = import_decisions(session, path, apply=apply)
    except ResolveError as exc:
        _fail(f"{exc}\nnothing was imported.")
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
        return
    console.print(f"{path}: {report.read} decisions — new {report.created}, updated {report.updated}, unchanged "
                  f"{report.unchanged}, kept the database's {report.kept_existing}; merged {report.merged}, "
                  f"split {report.split}", highlight=False)


def main() -> None:  # pragma: no cover - console entry point
    """Entry point for ``python -m aimap``."""
    app(prog_name="aimap")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
