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
sources_app = typer.Typer(help="Crawl sources declared in crawlers/sources/*.yml.", no_args_is_help=True)
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
def sources_list() -> None:
    """List every declared source with its kind, publisher and schedule."""
    from crawlers.sources import SOURCES_DIR, SourceError, load_source

    table = Table("name", "kind", "publisher", "schedule", "min docs")
    for path in sorted(SOURCES_DIR.glob("*.yml")):
        try:
            s = load_source(path)
            table.add_row(s.name, s.kind, s.publisher, s.schedule or "-", str(s.expected_min_documents))
        except SourceError as exc:
            table.add_row(path.stem, "[red]invalid[/red]", str(exc).splitlines()[0], "", "")
    console.print(table)


@sources_app.command("check")
def sources_check(name: Annotated[str, typer.Argument(help="Source name (file stem) or path.")]) -> None:
    """Validate one source file and print what it declares."""
    from crawlers.sources import SourceError, load_source

    try:
        s = load_source(name)
    except SourceError as exc:
        _fail(str(exc))
    console.print(f"{s.name}: valid {s.kind} source ({s.path})", highlight=False)
    console.print(json.dumps(s.raw, ensure_ascii=False, indent=2, default=str), highlight=False)


@app.command()
def crawl(
    source: Annotated[str, typer.Argument(help="Source name (crawlers/sources/<name>.yml).")],
    base_url: Annotated[str | None, typer.Option(help="Fills {base_url} in the source's start URLs.")] = None,
) -> None:
    """Crawl one source in its own Scrapy process into `documents`; print and record its stats."""
    from crawlers.run import CrawlError, run_crawl
    from crawlers.sources import SourceError

    _prepared()
    log_file = home_dir() / "logs" / f"crawl-{source}.log"
    try:
        result = run_crawl(source, base_url=base_url, log_file=log_file)
    except (CrawlError, SourceError) as exc:
        _fail(str(exc))
    console.print(f"crawl {source} (run {result.run_id}): {result.counts}; by status {result.status_counts}; "
                  f"log {log_file}", highlight=False)


# --------------------------------------------------------------------------- etl / analysis


@app.command()
def etl(
    limit: Annotated[int | None, typer.Option(help="Process at most this many documents.")] = None,
    batch_size: Annotated[int, typer.Option(help="Documents per transaction.")] = 200,
) -> None:
    """Extract cooperation events from documents not processed yet (idempotent)."""
    from db.runs import recorded_run
    from etl.load import run_etl

    _prepared()
    with recorded_run("etl", {"limit": limit, "batch_size": batch_size}) as (session, run):
        report = run_etl(
            session, limit=limit, batch_size=batch_size, run_id=run.id,
            progress=lambda done, total: err.print(f"etl: {done}/{total} documents", highlight=False),
        )
        run.counts = report.as_dict()
    console.print(f"etl: {report.as_dict()}", highlight=False)
    for message in report.error_messages[:20]:
        err.print(f"[yellow]recorded error:[/yellow] {message}", highlight=False)


@app.command()
def analyze(
    edition: Annotated[int | None, typer.Option(help="Report edition (data up to edition-1). Default: latest data year + 1.")] = None,
    window: Annotated[int | None, typer.Option(help="Rolling window of K years instead of cumulative networks.")] = None,
    mutual: Annotated[str, typer.Option(help="Orientation of mutual events: reporter | both.")] = "reporter",
) -> None:
    """Build the yearly value networks and write Table 1 (CSV + Markdown) under $AIMAP_OUT/<edition>/."""
    from analysis.report import build_report
    from db.runs import recorded_run

    _prepared()
    params = {"edition": edition, "window": window, "mutual": mutual}
    try:
        with recorded_run("analyze", params) as (session, run):
            result = build_report(session, out_dir(), edition=edition, window=window, mutual=mutual, run_id=run.id)
            run.counts = {"years": len(result.rows), "snapshots_new": result.snapshots_new}
    except ValueError as exc:
        _fail(str(exc))
    for path in result.files:
        if path.suffix == ".md":
            console.print(path.read_text(encoding="utf-8"), highlight=False)
    console.print(f"written: {', '.join(str(p) for p in result.files)}; new snapshots: {result.snapshots_new}",
                  highlight=False)


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
    console.print(f"crawl: {result['crawl']}", highlight=False)
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
