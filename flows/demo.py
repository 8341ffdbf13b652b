"""The demo flow: generate the demo world, crawl its sources, extract events, build Table 1.

This is the thin end-to-end slice ``make demo`` runs on the embedded default (SQLite file,
Prefect's ephemeral mode, the demo site served on 127.0.0.1). Each step is a task calling a
plain function of its stage package, so the same code runs from the CLI and from tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from aimap.config import database_url, home_dir, out_dir, safe_url
from analysis.report import build_report
from crawlers.run import run_crawl
from db.bootstrap import prepare_database
from db.runs import recorded_run
from demosite.render import render_site
from demosite.server import serve
from demosite.world import build_world
from etl.load import run_etl
from etl.registry import import_registry


@task(name="prepare-database")
def prepare_database_task() -> dict[str, int]:
    """Migrate the database to head and sync the taxonomies."""
    get_run_logger().info("database: %s", safe_url())
    return prepare_database()


@task(name="generate-world")
def generate_site_task(preset: str, seed: int, directory: str) -> dict[str, Any]:
    """Render the demo world (deterministic for a seed and preset) to ``directory``."""
    manifest = render_site(build_world(seed=seed, preset=preset), Path(directory))
    get_run_logger().info("demo world: %s", manifest)
    return {"root": str(manifest.root), "registry": str(manifest.registry_csv), "sources": str(manifest.sources_dir)}


@task(name="import-registry")
def import_registry_task(path: str) -> dict[str, int]:
    """Import the firm registry (the institute's sample firms)."""
    with recorded_run("firms-import", {"path": path}) as (session, run):
        report = import_registry(session, Path(path))
        counts = {"rows": report.rows, "created": report.created, "updated": report.updated,
                  "unchanged": report.unchanged, "rejected": report.rejected}
        run.counts = counts
    get_run_logger().info("registry %s: %s", path, counts)
    return counts


@task(name="crawl", retries=2, retry_delay_seconds=[2, 10], retry_jitter_factor=0.5)
def crawl_task(source: str, base_url: str, sources_dir: str | None = None) -> dict[str, Any]:
    """Crawl one source in its own Scrapy process; return its summary counts."""
    result = run_crawl(source, sources_dir=sources_dir, base_url=base_url,
                       log_file=home_dir() / "logs" / f"crawl-{source}.log")
    get_run_logger().info("crawl %s: %s (by status %s)", source, result.counts, result.status_counts)
    return {"source": source, "run_id": result.run_id, **result.counts}


@task(name="etl")
def etl_task() -> dict[str, int]:
    """Extract cooperation events from every document not processed yet."""
    logger = get_run_logger()
    with recorded_run("etl") as (session, run):
        report = run_etl(session, run_id=run.id, progress=lambda d, t: logger.info("etl %d/%d documents", d, t))
        run.counts = report.as_dict()
    logger.info("etl: %s", report.as_dict())
    return report.as_dict()


@task(name="analyze")
def analyze_task(edition: int | None) -> dict[str, Any]:
    """Build the yearly networks and write Table 1 to the report bundle."""
    with recorded_run("analyze", {"edition": edition}) as (session, run):
        result = build_report(session, out_dir(), edition=edition, run_id=run.id)
        run.counts = {"years": len(result.rows), "snapshots_new": result.snapshots_new}
    rows = [r.__dict__ | {"avg_degree": round(r.avg_degree, 3)} for r in result.rows]
    create_table_artifact(key=f"table1-{result.edition}", table=rows, description=f"Table 1, edition {result.edition}")
    return {"edition": result.edition, "files": [str(f) for f in result.files], "rows": rows,
            "snapshots_new": result.snapshots_new}


@flow(name="aimap-demo", log_prints=True)
def demo_flow(preset: str = "tiny", seed: int = 7, edition: int | None = None) -> dict[str, Any]:
    """Demo web -> registry -> crawl -> ETL -> Table 1, on the configured database."""
    prepare_database_task()
    site = generate_site_task(preset, seed, str(home_dir() / "world"))
    registry = import_registry_task(site["registry"])
    crawl: dict[str, Any] = {}
    with serve(Path(site["root"])) as server:
        for path in sorted(Path(site["sources"]).glob("*.yml")):
            crawl[path.stem] = crawl_task(path.stem, server.base_url, site["sources"])
    etl = etl_task()
    report = analyze_task(edition)
    summary = [
        f"# aimap demo run — {database_url().split(':', 1)[0]}",
        "",
        f"- registry: {registry}",
        *(f"- crawl {name}: {counts}" for name, counts in crawl.items()),
        f"- etl: {etl}",
        f"- report: {', '.join(report['files'])}",
    ]
    create_markdown_artifact(key="aimap-demo-summary", markdown="\n".join(summary), description="demo run summary")
    return {"registry": registry, "crawl": crawl, "etl": etl, "report": report}
