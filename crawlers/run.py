"""Run one crawl as its own process and record it in ``pipeline_runs``.

Scrapy's Twisted reactor cannot be restarted inside one process, so every crawl (from the CLI,
a Prefect task or a test) is a ``python -m scrapy crawl`` child process. Its final stats come
back through a JSON file written by :class:`crawlers.extensions.StatsFileExtension`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.config import database_url, home_dir
from crawlers.sources import SourceConfig, load_source
from db.runs import MESSAGE_LIMIT, finish_run, interrupt_stale, start_run
from db.session import get_engine

#: Stats keys copied into the run record, under short names.
STAT_KEYS = {
    "requests": "downloader/request_count",
    "responses": "downloader/response_count",
    "items": "item_scraped_count",
    "dropped": "item_dropped_count",
    "documents_new": "aimap/documents/new",
    "documents_changed": "aimap/documents/changed",
    "documents_unchanged": "aimap/documents/unchanged",
    "documents_not_modified": "aimap/documents/not_modified",
    "financials": "aimap/financials/new",
    "resumed_requests": "aimap/resumed_requests",
    "errors": "aimap/errors/recorded",
    "log_errors": "log_count/ERROR",
}
#: Counts that make up what a source delivered in a run (new, changed, unchanged or not modified pages).
DELIVERED = ("documents_new", "documents_changed", "documents_unchanged", "documents_not_modified")


class CrawlError(RuntimeError):
    """The crawl process failed (non-zero exit) or produced no stats."""


class SourceBelowMinimum(RuntimeError):
    """A crawl finished but the source delivered fewer documents than its declared minimum."""


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


def delivered(counts: dict[str, Any]) -> int:
    """Documents a crawl delivered: pages stored new, changed, unchanged or confirmed not modified."""
    return sum(int(counts.get(k, 0) or 0) for k in DELIVERED)


def check_minimum(cfg: SourceConfig, result: CrawlResult, log_file: Path | None = None) -> None:
    """Raise :class:`SourceBelowMinimum` when a full crawl of ``cfg`` delivered fewer documents than its
    declared ``expected_min_documents`` (a source that suddenly yields far less must fail loudly)."""
    got = delivered(result.counts)
    if got < cfg.expected_min_documents:
        raise SourceBelowMinimum(f"source {cfg.name} delivered {got} documents, fewer than its expected minimum "
                                 f"{cfg.expected_min_documents} (crawl run {result.run_id}, log {log_file})")


def job_dir(source: str) -> Path:
    """The Scrapy ``JOBDIR`` of a source's crawl (kept only while a crawl is unfinished)."""
    return home_dir() / "crawl-jobs" / source


def crawl_command(
    cfg: SourceConfig,
    *,
    run_id: int,
    stats_file: Path,
    base_url: str | None = None,
    since: dt.date | None = None,
    jobdir: Path | None = None,
    log_file: Path | None = None,
    extra_settings: dict[str, str] | None = None,
) -> list[str]:
    """The ``scrapy crawl`` command line for one source run."""
    cmd = [sys.executable, "-m", "scrapy", "crawl", cfg.kind, "-a", f"source={cfg.path}"]
    if base_url:
        cmd += ["-a", f"base_url={base_url}"]
    if since:
        cmd += ["-a", f"since={since.isoformat()}"]
    settings = {"AIMAP_STATS_FILE": str(stats_file), "AIMAP_RUN_ID": str(run_id)}
    politeness = cfg.politeness or {}
    if "download_delay" in politeness:
        delay = float(politeness["download_delay"])
        settings["DOWNLOAD_DELAY"] = str(delay)
        # AutoThrottle never goes below the source's floor (Scrapy uses DOWNLOAD_DELAY as the minimum)
        settings["AUTOTHROTTLE_START_DELAY"] = str(max(delay, 0.01))
    if "max_page_bytes" in politeness:
        settings["DOWNLOAD_MAXSIZE"] = str(int(politeness["max_page_bytes"]))
    if "concurrent_requests_per_domain" in politeness:
        settings["CONCURRENT_REQUESTS_PER_DOMAIN"] = str(politeness["concurrent_requests_per_domain"])
    if jobdir is not None:
        settings["JOBDIR"] = str(jobdir)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        settings["LOG_FILE"] = str(log_file)
    settings.update(extra_settings or {})
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    return cmd


def run_crawl(
    source: str,
    *,
    sources_dir: Path | str | None = None,
    base_url: str | None = None,
    since: dt.date | None = None,
    db_url: str | None = None,
    log_file: Path | None = None,
    resumable: bool = True,
    extra_settings: dict[str, str] | None = None,
    progress: Callable[[int], None] | None = None,
    on_start: Callable[[subprocess.Popen[str]], None] | None = None,
    timeout: float = 3600,
) -> CrawlResult:
    """Crawl ``source`` in a child Scrapy process and record the run with its stats.

    With ``resumable`` the crawl keeps a job directory (``$AIMAP_HOME/crawl-jobs/<source>``)
    while it runs: a crawl that was killed is resumed by the next call (earlier runs of the
    source still marked running are marked ``interrupted``), and the directory is removed when
    a crawl finishes. ``progress(finished_requests)`` is called about once a second.
    Raises :class:`CrawlError` when the process fails; the run is then recorded as failed.
    """
    cfg = load_source(source, sources_dir)
    cfg.resolved_start_urls(base_url)  # fail fast, before a process or a run record exists
    url = db_url or database_url()
    engine = get_engine(url)
    jobdir = job_dir(cfg.name) if resumable else None
    resuming = bool(jobdir and (jobdir / "seen.tsv").exists())
    if resuming and jobdir is not None:
        # Scrapy's on-disk request queue is only consistent after a clean shutdown; after a kill
        # it may lose or hide requests. The journal knows every request that is not finished
        # (crawlers/journal.py), so the queue is dropped and those requests are scheduled again.
        shutil.rmtree(jobdir / "requests.queue", ignore_errors=True)
    interrupt_stale("crawl", engine, "the crawl process ended without finishing", source=cfg.name)
    run_id = start_run("crawl", {
        "source": cfg.name, "path": str(cfg.path), "base_url": base_url,
        "since": since.isoformat() if since else None, "resumed": resuming,
    }, engine)

    with tempfile.TemporaryDirectory(prefix="aimap-crawl-") as tmp:
        stats_file = Path(tmp) / "stats.json"
        cmd = crawl_command(cfg, run_id=run_id, stats_file=stats_file, base_url=base_url, since=since,
                            jobdir=jobdir, log_file=log_file, extra_settings=extra_settings)
        env = dict(os.environ, DATABASE_URL=url, SCRAPY_SETTINGS_MODULE="crawlers.settings")
        with tempfile.TemporaryFile("w+") as err:
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err, text=True)
            if on_start is not None:
                on_start(proc)
            deadline = time.monotonic() + timeout
            while proc.poll() is None:
                if time.monotonic() > deadline:
                    proc.kill()
                    break
                if progress is not None and jobdir is not None and (jobdir / "done.tsv").exists():
                    progress(_count_lines(jobdir / "done.tsv"))
                time.sleep(0.5 if progress else 0.1)
            proc.wait()
            err.seek(0)
            stderr = err.read()
        stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}

    counts, by_status = summarise(stats)
    finished = stats.get("finish_reason") == "finished"
    failed = proc.returncode != 0 or not stats
    killed = proc.returncode is not None and proc.returncode < 0  # ended by a signal: resumable
    finish_run(run_id, counts={**counts, "responses_by_status": by_status},
               state="interrupted" if killed else "failed" if failed else "completed" if finished else "interrupted",
               message=(stderr or f"finish reason: {stats.get('finish_reason')}")[-MESSAGE_LIMIT:]
               if failed or not finished else None, engine=engine)
    if finished and not failed and jobdir is not None and jobdir.exists():
        shutil.rmtree(jobdir)
    if failed:
        tail = (stderr or "").strip().splitlines()[-15:]
        raise CrawlError(f"crawl of {cfg.name} failed (exit {proc.returncode}):\n" + "\n".join(tail))
    return CrawlResult(
        source=cfg.name,
        run_id=run_id,
        counts=counts,
        status_counts=by_status,
        stats=stats,
        finish_reason=stats.get("finish_reason"),
    )


def _count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 16), b""))
