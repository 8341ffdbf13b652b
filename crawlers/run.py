"""Run one crawl as its own process and record it in ``pipeline_runs``.

Scrapy's Twisted reactor cannot be restarted inside one process, so every crawl (from the CLI,
a Prefect task or a test) is a ``python -m scrapy crawl`` child process. Its final stats come
back through a JSON file written by :class:`crawlers.extensions.StatsFileExtension`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aimap.config import database_url
from crawlers.sources import load_source
from db.models import PipelineRun, utcnow
from db.session import get_engine, session_scope

#: Stats keys copied into the run record, under short names.
STAT_KEYS = {
    "requests": "downloader/request_count",
    "responses": "downloader/response_count",
    "items": "item_scraped_count",
    "dropped": "item_dropped_count",
    "documents_new": "aimap/documents/new",
    "documents_changed": "aimap/documents/changed",
    "documents_unchanged": "aimap/documents/unchanged",
    "errors": "aimap/errors/recorded",
    "log_errors": "log_count/ERROR",
}


class CrawlError(RuntimeError):
    """The crawl process failed (non-zero exit) or produced no stats."""


@dataclass
class CrawlResult:
    """What one crawl did: the summary counts, responses by HTTP status and the raw stats."""

    source: str
    run_id: int
    counts: dict[str, int]
    status_counts: dict[str, int] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    finish_reason: str | None = None


def summarise(stats: dict[str, Any]) -> tuple[dict[str, int], dict[str, int]]:
    """Summary counts and responses-by-status from raw Scrapy stats."""
    counts = {short: int(stats.get(key, 0) or 0) for short, key in STAT_KEYS.items()}
    prefix = "downloader/response_status_count/"
    by_status = {k[len(prefix) :]: int(v) for k, v in stats.items() if k.startswith(prefix)}
    return counts, by_status


def run_crawl(
    source: str,
    *,
    base_url: str | None = None,
    db_url: str | None = None,
    log_file: Path | None = None,
    timeout: float = 3600,
) -> CrawlResult:
    """Crawl ``source`` in a child Scrapy process and record the run with its stats.

    Raises :class:`CrawlError` when the process fails; the run is then recorded as failed.
    """
    cfg = load_source(source)
    cfg.resolved_start_urls(base_url)  # fail fast, before a process or a run record exists
    url = db_url or database_url()
    engine = get_engine(url)
    with session_scope(engine) as session:
        run = PipelineRun(flow="crawl", parameters={"source": cfg.name, "base_url": base_url})
        session.add(run)
        session.flush()
        run_id = run.id

    with tempfile.TemporaryDirectory(prefix="aimap-crawl-") as tmp:
        stats_file = Path(tmp) / "stats.json"
        cmd = [sys.executable, "-m", "scrapy", "crawl", cfg.kind, "-a", f"source={cfg.name}"]
        if base_url:
            cmd += ["-a", f"base_url={base_url}"]
        cmd += ["-s", f"AIMAP_STATS_FILE={stats_file}", "-s", f"AIMAP_RUN_ID={run_id}"]
        politeness = cfg.politeness or {}
        if "download_delay" in politeness:
            cmd += ["-s", f"DOWNLOAD_DELAY={politeness['download_delay']}"]
            cmd += ["-s", f"AUTOTHROTTLE_START_DELAY={max(float(politeness['download_delay']), 0.01)}"]
        if "concurrent_requests_per_domain" in politeness:
            cmd += ["-s", f"CONCURRENT_REQUESTS_PER_DOMAIN={politeness['concurrent_requests_per_domain']}"]
        if log_file is not None:
            log_file.parent.mkdir(parents=True, exist_ok=True)
            cmd += ["-s", f"LOG_FILE={log_file}"]
        env = dict(os.environ, DATABASE_URL=url, SCRAPY_SETTINGS_MODULE="crawlers.settings")
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
        stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}

    counts, by_status = summarise(stats)
    failed = proc.returncode != 0 or not stats
    with session_scope(engine) as session:
        run = session.get(PipelineRun, run_id)
        assert run is not None
        run.counts = {**counts, "responses_by_status": by_status}
        run.finished_at = utcnow()
        run.state = "failed" if failed else "completed"
        if failed:
            run.message = (proc.stderr or "")[-4000:]
    if failed:
        tail = (proc.stderr or "").strip().splitlines()[-15:]
        raise CrawlError(f"crawl of {cfg.name} failed (exit {proc.returncode}):\n" + "\n".join(tail))
    return CrawlResult(
        source=cfg.name,
        run_id=run_id,
        counts=counts,
        status_counts=by_status,
        stats=stats,
        finish_reason=stats.get("finish_reason"),
    )
