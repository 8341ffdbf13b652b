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

from aimap.config import home_dir, out_dir, safe_url

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
    edition: Annotated[int | None, typer.Option(help="Report edition (default: latest data year + 1).")] = None,
) -> None:
    """Run the whole chain as a Prefect flow: demo site -> registry -> crawl -> ETL -> Table 1."""
    from flows.demo import demo_flow

    result = demo_flow(preset=preset, seed=seed, edition=edition)
    console.print(f"\ndatabase: {safe_url()}", highlight=False)
    for name, counts in result["crawl"].items():
        console.print(f"crawl {name}: {counts}", highlight=False)
    console.print(f"etl: {result['etl']}", highlight=False)
    for path in result["report"]["files"]:
        if path.endswith(".md"):
            console.print(Path(path).read_text(encoding="utf-8"), highlight=False)
    console.print(f"report written: {', '.join(result['report']['files'])}", highlight=False)


def main() -> None:  # pragma: no cover - console entry point
    """Entry point for ``python -m aimap``."""
    app(prog_name="aimap")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
