"""The demo flow: generate the demo world, serve it, and run the annual refresh over it.

This is what ``make demo`` / ``aimap demo`` run on the embedded default (SQLite file, Prefect's
ephemeral mode, the demo site served on 127.0.0.1): prepare the database, render the world
(deterministic for a seed and preset; an existing render is updated in place), import its firm
registry, then :func:`flows.refresh.annual_refresh` — crawl -> etl -> gate -> analyze ->
publish — for the edition after the world's last year. Running it again resumes the same
edition: what completed is not redone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task

from common.config import home_dir, safe_url
from db.bootstrap import prepare_database
from db.runs import recorded_run
from demosite.render import render_site
from demosite.server import serve
from demosite.world import build_world
from etl.registry import import_registry
from flows.notify import notify_failure
from flows.refresh import annual_refresh


@task(name="prepare-database")
def prepare_database_task() -> dict[str, int]:
    """Migrate the database to head and sync the taxonomies."""
    get_run_logger().info("database: %s", safe_url())
    return prepare_database()


@task(name="generate-world")
def generate_site_task(preset: str, seed: int, directory: str) -> dict[str, Any]:
    """Render the demo world (deterministic for a seed and preset) to ``directory``."""
    manifest = render_site(build_world(seed=seed, preset=preset), Path(directory))
    through = json.loads((manifest.out_dir / "world.json").read_text(encoding="utf-8"))["through_year"]
    get_run_logger().info("demo world %s (seed %d) through %s: %d firms, %d documents in %s", preset, seed, through,
                          manifest.firms, manifest.documents, manifest.root)
    return {"root": str(manifest.root), "registry": str(manifest.registry_csv), "sources": str(manifest.sources_dir),
            "through_year": int(through)}


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


@flow(name="aimap-demo", log_prints=True, on_failure=[notify_failure])
def demo_flow(preset: str = "tiny", seed: int = 7, edition: int | None = None, charts: bool = True,
              retry_delay_seconds: float = 2.0) -> dict[str, Any]:
    """Demo web -> registry -> annual refresh (crawl, ETL, gate, analysis, publish) on the configured database."""
    prepare_database_task()
    site = generate_site_task(preset, seed, str(home_dir() / "world"))
    registry = import_registry_task(site["registry"])
    with serve(Path(site["root"])) as server:
        get_run_logger().info("demo web served at %s", server.base_url)
        refresh = annual_refresh(edition or site["through_year"] + 1, sources_dir=site["sources"],
                                 base_url=server.base_url, charts=charts, retry_delay_seconds=retry_delay_seconds)
    return {"registry": registry, "world": site, "refresh": refresh}
