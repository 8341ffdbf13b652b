"""Run one crawl as its own process and record it in ``pipeline_runs``.

Scrapy's Twisted reactor cannot be restarted inside one process, so every crawl (from the CLI,
a Prefect task or a test) is a ``python -m scrapy crawl`` child process. Its final stats come
back through a JSON file written by :class:`crawlers.extensions.StatsFileExtension` — an anonymous
temporary file handed to the child as an open descriptor, so a killed crawl leaves no file behind.

The child never outlives the crawl that started it: it runs in its own process group (a Ctrl-C at
the terminal reaches only ``aimap crawl``, which stops the child once, cleanly), SIGINT/SIGTERM of a
crawl run from the main thread stop the child gracefully (SIGTERM, then SIGKILL after
:data:`STOP_GRACE` seconds), record the run ``interrupted`` and are then re-raised; and on Linux the
kernel kills the child when its parent dies without a chance to clean up (SIGKILL,
``PR_SET_PDEATHSIG``). A crawl whose documents could not all be stored (database unavailable,
``aimap/documents/lost``) is recorded ``failed`` and keeps its job directory: the next crawl resumes
and fetches them again.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from common.config import database_url, home_dir
from crawlers import settings as crawl_settings
from crawlers.hostmap import HostMapError, host_map_from
from crawlers.sources import SourceConfig, load_source
from db.models import Document, PipelineRun, Source
from db.runs import MESSAGE_LIMIT, finish_run, interrupt_stale, start_run
from db.session import get_engine, session_factory

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
    "prefilter_listed": "aimap/prefilter/listed",
    "prefilter_kept": "aimap/prefilter/kept",
    "prefilter_financials": "aimap/prefilter/financials",
    "prefilter_skipped": "aimap/prefilter/skipped",
    "pdf_pages": "aimap/pdf/pages",
    "documents_lost": "aimap/documents/lost",
    "errors_lost": "aimap/errors_lost",
    "errors_repeated": "aimap/errors_repeated",
    "store_fallbacks": "aimap/store/batch_fallbacks",
    "store_reconnects": "aimap/store/reconnects",
}
#: Environment variable with the operator's contact (e-mail or URL) for the User-Agent of real crawls.
CONTACT_ENV = "AIMAP_CRAWL_CONTACT"
#: Environment variable naming a directory: each crawl child then runs under cProfile and writes
#: ``<source>-<run_id>.prof`` there (where a page's CPU goes: benchmarks/bench_crawl.py --profile).
PROFILE_ENV = "AIMAP_CRAWL_PROFILE"
USER_AGENT = "aimap-crawler/0.2 (+{contact}; research on public AI cooperation announcements)"
#: Finish reason of a crawl stopped by its source's daily request budget (Scrapy's page-count limit).
BUDGET_REASON = "closespider_pagecount"
#: Counts that make up what a source delivered in a run (new, changed, unchanged or not modified pages).
DELIVERED = ("documents_new", "documents_changed", "documents_unchanged", "documents_not_modified")
#: Seconds a stopped crawl child gets to finish cleanly (flush its last batch) before it is killed.
STOP_GRACE = 20.0
#: ``prctl(PR_SET_PDEATHSIG)``: Linux only (elsewhere a killed parent's child finishes on its own).
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
_PR_SET_PDEATHSIG = 1


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
    #: documents the earlier, interrupted runs of the same job delivered (a resumed crawl does not
    #: fetch them again; :func:`delivered_before`)
    delivered_before: int = 0


def summarise(stats: dict[str, Any]) -> tuple[dict[str, int], dict[str, int]]:
    """Summary counts and responses-by-status from raw Scrapy stats."""
    counts = {short: int(stats.get(key, 0) or 0) for short, key in STAT_KEYS.items()}
    prefix = "downloader/response_status_count/"
    by_status = {k[len(prefix) :]: int(v) for k, v in stats.items() if k.startswith(prefix)}
    return counts, by_status


def skipped_by_reason(stats: dict[str, Any]) -> dict[str, int]:
    """Announcements the title pre-filter skipped, by reason (``exclude:回购``, ``no_match``...)."""
    prefix = "aimap/prefilter/skipped/"
    return {k[len(prefix):]: int(v) for k, v in sorted(stats.items()) if k.startswith(prefix)}


def errors_by_kind(stats: dict[str, Any]) -> dict[str, int]:
    """Recorded errors by kind (``pdf_scanned``, ``http_error``...)."""
    prefix = "aimap/errors/"
    return {k[len(prefix):]: int(v) for k, v in sorted(stats.items()) if k.startswith(prefix) and k != "aimap/errors/recorded"}


def requests_today(source: str, engine: Engine) -> int:
    """Requests the crawls of ``source`` started today (UTC) made: what its daily budget has used."""
    midnight = dt.datetime.combine(dt.datetime.now(dt.UTC).date(), dt.time(), dt.UTC)
    with session_factory(engine)() as session:
        runs = session.scalars(select(PipelineRun).where(PipelineRun.flow == "crawl", PipelineRun.started_at >= midnight))
        return sum(int((r.counts or {}).get("requests", 0) or 0) for r in runs if (r.parameters or {}).get("source") == source)


def is_local(cfg: SourceConfig, base_url: str | None, hosts: dict[str, str]) -> bool:
    """Whether a crawl of ``cfg`` goes to a local or mapped server rather than the real sites."""
    if "*" in hosts or (hosts and all(d.lower() in hosts for d in cfg.allowed_domains)):
        return True
    return any("{base_url}" in u for u in cfg.start_urls + cfg.feeds + cfg.sitemaps + cfg.list_pages)


def loopback_only(cfg: SourceConfig, base_url: str | None, hosts: dict[str, str]) -> bool:
    """Whether every request of a crawl of ``cfg`` goes to a loopback address (the local demo web, a test
    server): there AutoThrottle would only measure the machine's own load, not a remote server's."""
    if not is_local(cfg, base_url, hosts):
        return False
    targets = set(hosts.values()) | ({base_url} if base_url else set())
    return bool(targets) and all(_is_loopback(urlsplit(t).hostname) for t in targets)


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def delivered(counts: dict[str, Any]) -> int:
    """Documents a crawl delivered: pages stored new, changed, unchanged or confirmed not modified."""
    return sum(int(counts.get(k, 0) or 0) for k in DELIVERED)


def check_minimum(cfg: SourceConfig, result: CrawlResult, log_file: Path | None = None) -> None:
    """Raise :class:`SourceBelowMinimum` when a full crawl of ``cfg`` delivered fewer documents than its
    declared ``expected_min_documents`` (a source that suddenly yields far less must fail loudly).

    A crawl that resumed a killed one counts what the whole job delivered: this run's documents and
    those the interrupted runs had stored (``result.delivered_before``), which the resumed crawl
    does not fetch again. Without that, a refresh killed after a source's last page and run again
    would find the source "below its minimum" and stop at the gate (issue 14)."""
    got = delivered(result.counts) + result.delivered_before
    if got < cfg.expected_min_documents:
        before = f", {result.delivered_before} of them before the crawl resumed" if result.delivered_before else ""
        raise SourceBelowMinimum(f"source {cfg.name} delivered {got} documents{before}, fewer than its expected "
                                 f"minimum {cfg.expected_min_documents} (crawl run {result.run_id}, log {log_file})")


def delivered_before(jobdir: Path, source: str, engine: Engine) -> int:
    """Documents of ``source`` that the earlier runs of the unfinished job in ``jobdir`` delivered.

    The job's journal (:mod:`crawlers.journal`) lists every finished request in ``done.tsv``; those
    whose URL is a stored document of the source were delivered (new, changed, unchanged or not
    modified) before the crawl was interrupted. Read before the resumed crawl starts."""
    done_file = jobdir / "done.tsv"
    if not done_file.exists():
        return 0
    urls = sorted({u for u in done_file.read_text(encoding="utf-8", errors="replace").splitlines() if u})
    found: set[int] = set()
    with session_factory(engine)() as session:
        source_id = session.scalar(select(Source.id).where(Source.name == source))
        if source_id is None:
            return 0
        for start in range(0, len(urls), 500):
            chunk = urls[start:start + 500]
            found.update(session.scalars(select(Document.id).where(
                Document.source_id == source_id, (Document.url.in_(chunk)) | (Document.canonical_url.in_(chunk)))))
    return len(found)


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
    """The ``scrapy crawl`` command line for one source run (under cProfile when ``AIMAP_CRAWL_PROFILE`` names
    a directory)."""
    cmd = [sys.executable]
    profile_dir = os.environ.get(PROFILE_ENV, "").strip()
    if profile_dir:
        Path(profile_dir).mkdir(parents=True, exist_ok=True)
        cmd += ["-m", "cProfile", "-o", str(Path(profile_dir) / f"{cfg.name}-{run_id}.prof")]
    cmd += ["-m", "scrapy", "crawl", cfg.kind, "-a", f"source={cfg.path}"]
    if base_url:
        cmd += ["-a", f"base_url={base_url}"]
    if since:
        cmd += ["-a", f"since={since.isoformat()}"]
    settings = {"AIMAP_STATS_FILE": str(stats_file), "AIMAP_RUN_ID": str(run_id)}
    hosts = host_map_from(base_url)
    if hosts:
        settings["AIMAP_HOST_MAP"] = json.dumps(hosts)
    contact = os.environ.get(CONTACT_ENV, "").strip()
    if contact:
        settings["USER_AGENT"] = USER_AGENT.format(contact=contact)
    politeness = cfg.politeness or {}
    if "download_delay" in politeness:
        delay = float(politeness["download_delay"])
        if not is_local(cfg, base_url, hosts):  # a real site: a source may only be slower than the default
            delay = max(delay, float(crawl_settings.DOWNLOAD_DELAY))
        settings["DOWNLOAD_DELAY"] = str(delay)
        # AutoThrottle never goes below the source's floor (Scrapy uses DOWNLOAD_DELAY as the minimum)
        settings["AUTOTHROTTLE_START_DELAY"] = str(max(delay, 0.01))
    if "max_page_bytes" in politeness:
        settings["DOWNLOAD_MAXSIZE"] = str(int(politeness["max_page_bytes"]))
    if "concurrent_requests_per_domain" in politeness:
        settings["CONCURRENT_REQUESTS_PER_DOMAIN"] = str(politeness["concurrent_requests_per_domain"])
    if loopback_only(cfg, base_url, hosts):  # real and mapped remote hosts keep AutoThrottle
        settings["AUTOTHROTTLE_ENABLED"] = "False"
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
    try:
        hosts = host_map_from(base_url)
    except HostMapError as exc:
        raise CrawlError(str(exc)) from exc
    if not is_local(cfg, base_url, hosts) and not os.environ.get(CONTACT_ENV, "").strip():
        raise CrawlError(f"crawling the real source {cfg.name} needs an identifying contact: set {CONTACT_ENV} "
                         "(an e-mail address or URL; it goes into the User-Agent)")
    url = db_url or database_url()
    engine = get_engine(url)
    budget = int((cfg.politeness or {}).get("daily_request_budget", 0) or 0)
    if budget:
        left = budget - requests_today(cfg.name, engine)
        if left <= 0:
            raise CrawlError(f"source {cfg.name}: its daily request budget ({budget}) is used up today; "
                             "the crawl resumes tomorrow")
        extra_settings = {"CLOSESPIDER_PAGECOUNT": str(left), **(extra_settings or {})}
    jobdir = job_dir(cfg.name) if resumable else None
    resuming = bool(jobdir and (jobdir / "seen.tsv").exists())
    if resuming and jobdir is not None:
        # Scrapy's on-disk request queue is only consistent after a clean shutdown; after a kill
        # it may lose or hide requests. The journal knows every request that is not finished
        # (crawlers/journal.py), so the queue is dropped and those requests are scheduled again.
        shutil.rmtree(jobdir / "requests.queue", ignore_errors=True)
    interrupt_stale("crawl", engine, "the crawl process ended without finishing", source=cfg.name)
    before = delivered_before(jobdir, cfg.name, engine) if resuming and jobdir is not None else 0
    run_id = start_run("crawl", {
        "source": cfg.name, "path": str(cfg.path), "base_url": base_url,
        "since": since.isoformat() if since else None, "resumed": resuming, "delivered_before": before,
    }, engine)

    with tempfile.TemporaryFile("w+b") as stats_fh:
        # the child writes its stats into this anonymous file through /dev/fd: nothing named to leave behind
        stats_file = Path(f"/dev/fd/{stats_fh.fileno()}")
        cmd = crawl_command(cfg, run_id=run_id, stats_file=stats_file, base_url=base_url, since=since,
                            jobdir=jobdir, log_file=log_file, extra_settings=extra_settings)
        env = dict(os.environ, DATABASE_URL=url, SCRAPY_SETTINGS_MODULE="crawlers.settings")
        returncode, stderr, stopped = _run_child(cmd, env, stats_fh.fileno(), jobdir=jobdir, progress=progress,
                                                 on_start=on_start, timeout=timeout)
        stats_fh.seek(0)
        raw = stats_fh.read()
    stats = json.loads(raw) if raw.strip() else {}
    counts, by_status = summarise(stats)
    _finish(cfg.name, run_id, counts, by_status, stats, returncode, stderr, stopped, jobdir, engine)
    if stopped is not None:
        _reraise(stopped)
    return CrawlResult(
        source=cfg.name,
        run_id=run_id,
        counts=counts,
        status_counts=by_status,
        stats=stats,
        finish_reason=stats.get("finish_reason"),
        delivered_before=before,
    )


def _finish(name: str, run_id: int, counts: dict[str, int], by_status: dict[str, int], stats: dict[str, Any],
            returncode: int, stderr: str, stopped: int | None, jobdir: Path | None, engine: Engine) -> None:
    """Record how the crawl ended; remove its job directory when it finished with everything stored.

    Raises :class:`CrawlError` when the process failed or documents could not be stored."""
    counts_extra = {"skipped_by_reason": skipped_by_reason(stats), "errors_by_kind": errors_by_kind(stats)}
    finished = stats.get("finish_reason") == "finished"
    lost = counts["documents_lost"] + counts["errors_lost"]
    failed = (returncode != 0 or not stats or bool(lost)) and stopped is None
    killed = returncode < 0 or stopped is not None  # ended by a signal: resumable
    if stopped is not None:
        message = f"stopped by {signal.Signals(stopped).name}; the next crawl resumes it\n{stderr[-2000:]}"
    elif lost:
        message = (f"{counts['documents_lost']} documents and {counts['errors_lost']} error records could not be "
                   f"stored (database unavailable); the job directory is kept: run the crawl again, it resumes "
                   f"and fetches them again\n{stderr[-2000:]}")
    elif failed:
        message = stderr
    else:
        message = None if finished else f"{_reason(stats.get('finish_reason'))}\n{stderr[-2000:]}"
    state = "interrupted" if killed else "failed" if failed else "completed" if finished else "interrupted"
    finish_run(run_id, counts={**counts, "responses_by_status": by_status, **counts_extra}, state=state,
               message=message[-MESSAGE_LIMIT:] if message else None, engine=engine)
    if state == "completed" and jobdir is not None and jobdir.exists():
        shutil.rmtree(jobdir)
    if failed:
        if lost:
            raise CrawlError(f"crawl of {name}: {message.splitlines()[0]}")  # type: ignore[union-attr]
        tail = (stderr or "").strip().splitlines()[-15:]
        raise CrawlError(f"crawl of {name} failed (exit {returncode}):\n" + "\n".join(tail))


class _StopSignals:
    """While a crawl child runs (in the main thread): SIGINT/SIGTERM are noted instead of raised, so the
    child is stopped cleanly first; the previous handlers come back on exit."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.count = 0
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> _StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, self._note)
        return self

    def _note(self, signum: int, frame: Any) -> None:
        self.received, self.count = self.received or signum, self.count + 1

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def _reraise(signum: int) -> None:
    """Hand a signal that stopped a crawl on to what would have handled it (KeyboardInterrupt, exit 143...)."""
    handler = signal.getsignal(signum)
    if callable(handler):
        handler(signum, None)
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise SystemExit(128 + signum)


def _die_with_parent(parent: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` asking the kernel to SIGKILL the child when its parent dies (Linux), else None."""
    libc = _LIBC
    if libc is None:
        return None

    def preexec() -> None:  # runs in the forked child before exec: no locks, no imports
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)

    return preexec


def _run_child(cmd: list[str], env: dict[str, str], stats_fd: int, *, jobdir: Path | None,
               progress: Callable[[int], None] | None, on_start: Callable[[subprocess.Popen[str]], None] | None,
               timeout: float) -> tuple[int, str, int | None]:
    """Run the crawl child to its end; return (exit code, stderr, the signal that stopped it or None)."""
    with tempfile.TemporaryFile("w+") as err, _StopSignals() as stop:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err, text=True, pass_fds=(stats_fd,),
                                start_new_session=True, preexec_fn=_die_with_parent(os.getpid()))
        try:
            if on_start is not None:
                on_start(proc)
            deadline, stop_by = time.monotonic() + timeout, None
            while proc.poll() is None:
                if time.monotonic() > deadline:
                    proc.kill()
                    break
                if stop.received and stop_by is None:
                    proc.send_signal(signal.SIGTERM)  # Scrapy shuts down gracefully: the last batch is written
                    stop_by = time.monotonic() + STOP_GRACE
                if stop_by is not None and (stop.count > 1 or time.monotonic() > stop_by):
                    proc.kill()
                if progress is not None and jobdir is not None and (jobdir / "done.tsv").exists():
                    progress(_count_lines(jobdir / "done.tsv"))
                time.sleep(0.5 if progress else 0.1)
        finally:
            if proc.poll() is None:  # an exception on our side (progress callback...): the child goes too
                proc.kill()
            proc.wait()
        err.seek(0)
        return proc.returncode, err.read(), stop.received


def _reason(reason: str | None) -> str:
    if reason == BUDGET_REASON:
        return "stopped at the source's daily request budget; the next crawl resumes it"
    return f"finish reason: {reason}"


def _count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 16), b""))


def source_activity(engine: Engine | None = None) -> dict[str, dict[str, Any]]:
    """Per source name: its last crawl (start time, state, run id) and how many documents it holds."""
    engine = engine or get_engine()
    activity: dict[str, dict[str, Any]] = {}
    with session_factory(engine)() as session:
        for run in session.scalars(select(PipelineRun).where(PipelineRun.flow == "crawl").order_by(PipelineRun.id)):
            name = (run.parameters or {}).get("source")
            if name:
                activity.setdefault(name, {})["last_run"] = {"run_id": run.id, "state": run.state,
                                                             "started_at": run.started_at}
        rows = session.execute(select(Source.name, func.count(Document.id))
                               .join(Document, Document.source_id == Source.id).group_by(Source.name))
        for name, count in rows:
            activity.setdefault(name, {})["documents"] = int(count)
    return activity
