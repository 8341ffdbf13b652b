"""The crawl flow: one task per source, each a Scrapy process (:func:`crawlers.run.run_crawl`).

Concurrency, politeness and failure handling are Prefect's, the crawling is the crawler stage's:

- every source is one task run; tasks are submitted together and run concurrently up to the
  global concurrency limit ``aimap-crawl`` (``AIMAP_CRAWL_CONCURRENCY``, default 4) — a *global*
  limit, so it holds over every flow and every worker of the installation;
- each task also takes a slot of ``crawl-domain-<domain>`` for every domain the source may
  contact (``allowed_domains``), limit ``AIMAP_CRAWL_DOMAIN_LIMIT`` (default 1): two crawls never
  hit one site together, whichever worker runs them. The limits are created on the fly (upsert)
  when a flow starts, so a new source needs no set-up;
- a failed crawl (the process failed, or the source delivered fewer documents than its declared
  ``expected_min_documents``, :func:`crawlers.run.check_minimum`; skipped for a ``since`` crawl) is retried
  with exponential backoff and jitter; an invalid source file is not retried;
- one source failing does not stop the others: the flow waits for every task, returns every
  source's summary and ends ``Failed`` naming the failed sources;
- sources sharing a domain are queued one after the other inside the flow (:func:`domain_groups`)
  when the per-domain limit is 1, so the flow's own tasks do not wait on each other's slots;
- slots are **leased**, not held (:func:`crawl_slots`): a running crawl renews its lease
  (``AIMAP_CRAWL_LEASE_SECONDS``, default 60), so the slots of a crawl that was killed come back
  when its lease expires. Leases live on disk (``PREFECT_HOME/concurrency_leases``, set in
  :mod:`flows`), because the ephemeral API server that granted them dies with the command, and
  that server does not run Prefect's lease reaper; so a crawl that waits for slots reclaims
  (:func:`reclaim_slots`) the slots of expired leases, of leases whose holder process has ended
  (each crawl records its process beside the leases: ``PREFECT_HOME/concurrency_holders``), and
  slots no lease holds at all (left by a server whose leases were in memory), itself. A re-run
  after a kill on the same host takes the slots back within ``RECLAIM_EVERY`` seconds; a holder
  on another host is waited for until its lease expires. No manual step either way.

Within an annual refresh (``edition`` given) each source is a step of the refresh ledger
(:mod:`db.runs`): a source whose crawl completed for the edition is not crawled again
when the refresh is resumed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from prefect import allow_failure, flow, get_run_logger, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate
from prefect.client.schemas.objects import ConcurrencyLeaseHolder
from prefect.concurrency.sync import concurrency
from prefect.context import TaskRunContext
from prefect.futures import wait
from prefect.settings import get_current_settings
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff

from common.config import home_dir
from crawlers.run import CrawlError, check_minimum, delivered, run_crawl
from crawlers.sources import SourceConfig, SourceError, enabled_sources, load_source, scan_sources
from db.errors import cause_lines, crawl_causes
from db.models import utcnow
from db.runs import Ledger, latest_counts, process_ended, process_identity
from db.session import session_scope
from flows import LEASES_ON_DISK, config
from flows.labels import crawl_run_name, label_run
from flows.notify import notify_failure

CRAWL_LIMIT = "aimap-crawl"
#: A crawl waiting for slots looks for dead holders' slots this often (seconds).
RECLAIM_EVERY = 15.0


class CrawlFailures(RuntimeError):
    """Some sources of a crawl flow failed (their names and errors are in the message)."""


def domain_limit_names(cfg: SourceConfig) -> list[str]:
    """The global concurrency limits a crawl of ``cfg`` holds: one per allowed domain."""
    return [f"crawl-domain-{d.lower().strip('.')}" for d in sorted(set(cfg.allowed_domains))]


def domain_groups(sources: list[SourceConfig]) -> dict[str, int]:
    """Sources that share a domain, directly or through others, get the same group number.

    With one crawl per domain at a time, a flow queues the sources of a group one after the
    other itself (the global per-domain limits still guard against other flows and workers), so
    its tasks do not poll the API for slots that its own tasks hold.
    """
    parent = list(range(len(sources)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, cfg in enumerate(sources):
        for domain in domain_limit_names(cfg):
            if domain in owner:
                parent[root(i)] = root(owner[domain])
            else:
                owner[domain] = i
    return {cfg.name: root(i) for i, cfg in enumerate(sources)}


def ensure_limits(limits: dict[str, int]) -> None:
    """Create (or update) global concurrency limits by name — on the fly, before tasks use them."""
    with get_client(sync_client=True) as client:
        for name, limit in limits.items():
            client.upsert_global_concurrency_limit_by_name(name, limit)


def lease_directory() -> Path | None:
    """Where this installation's concurrency leases are, when this process can see them all: leases on
    disk and the API local (ephemeral, no ``PREFECT_API_URL``). None otherwise — a Prefect server
    reaps expired leases itself (its ``repossessor`` service)."""
    settings = get_current_settings()
    if settings.api.url or os.environ.get("PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE",
                                          settings.server.concurrency.lease_storage) != LEASES_ON_DISK:
        return None
    return Path(settings.home) / "concurrency_leases"


def _leases(directory: Path) -> list[dict[str, Any]]:
    """The lease files (Prefect's on-disk format: id, resource_ids, metadata.slots, expiration)."""
    found = []
    for path in directory.glob("*.json"):
        if path.name == "expirations.json":
            continue
        try:
            data = json.loads(path.read_text())
            data["expires"] = dt.datetime.fromisoformat(data["expiration"])
            found.append(data)
        except (OSError, ValueError, KeyError, TypeError):  # being written or removed: looked at next time
            continue
    return found


def holder_directory(leases: Path) -> Path:
    """Where crawls record which process holds a lease (beside Prefect's lease files)."""
    return leases.parent / "concurrency_holders"


def _holder_record(directory: Path, lease: dict[str, Any]) -> Path | None:
    """The process record of the lease's holder (:func:`crawl_slots`), where it would be."""
    holder = (lease.get("metadata") or {}).get("holder") or {}
    try:
        return holder_directory(directory) / f"{UUID(str(holder.get('id')))}.json"
    except ValueError:
        return None


def _forget_holder(directory: Path, lease: dict[str, Any]) -> None:
    """Remove the record of a released lease's holder (a killed crawl could not)."""
    record = _holder_record(directory, lease)
    if record is not None:
        record.unlink(missing_ok=True)


def _holder_ended(directory: Path, lease: dict[str, Any]) -> bool:
    """Whether the process that took ``lease`` (its holder's record) is known to have ended."""
    path = _holder_record(directory, lease)
    try:
        record = json.loads(path.read_text()) if path is not None else None
    except (OSError, ValueError):  # no record (another host's crawl, an older version): wait for expiry
        return False
    return isinstance(record, dict) and process_ended(record)


def reclaim_slots(names: list[str]) -> int:
    """Give back the slots of the limits ``names`` that no live crawl holds; how many were freed.

    1. every expired lease on these limits (its holder stopped renewing it: killed), and every
       lease whose holder's process record (:func:`crawl_slots`) names a process of this host that
       has ended, is released through the API, which decrements the limits and deletes the lease;
    2. a limit with more active slots than its unexpired leases add up to (slots whose leases a
       dead ephemeral server kept in memory) is set to that sum.

    Works only where every lease is visible (:func:`lease_directory`); elsewhere returns 0.
    """
    directory = lease_directory()
    if directory is None:
        return 0
    freed = 0
    with get_client(sync_client=True) as client:
        limits = {name: client.read_global_concurrency_limit_by_name(name) for name in names}
        ours = {str(limit.id) for limit in limits.values()}
        now = dt.datetime.now(dt.UTC)
        live: Counter[str] = Counter()
        for lease in _leases(directory) if directory.exists() else []:
            held = [r for r in lease.get("resource_ids", []) if r in ours]
            if not held:
                continue
            slots = int((lease.get("metadata") or {}).get("slots", 1))
            if lease["expires"] <= now or _holder_ended(directory, lease):
                client.release_concurrency_slots_with_lease(UUID(lease["id"]))
                _forget_holder(directory, lease)
                freed += slots
            else:
                live.update(dict.fromkeys(held, slots))
        for name in names:
            limit = client.read_global_concurrency_limit_by_name(name)
            if limit.active_slots > live[str(limit.id)]:
                freed += limit.active_slots - live[str(limit.id)]
                client.update_global_concurrency_limit(name, GlobalConcurrencyLimitUpdate(
                    active_slots=live[str(limit.id)]))
    return freed


@contextmanager
def crawl_slots(names: list[str], lease_seconds: int | None = None, reclaim_every: float = RECLAIM_EVERY,
                log: Any = None) -> Iterator[None]:
    """Hold one slot of every limit in ``names`` for the block, leased (renewed while the block runs).

    The lease's holder is the task run (or a new id outside one); where the leases are on disk
    (:func:`lease_directory`), this process is recorded as that holder
    (``concurrency_holders/<id>.json``: pid, host, start time) for as long as the block runs. While
    the slots are taken, every ``reclaim_every`` seconds the slots of dead holders are given back
    (:func:`reclaim_slots`), so a crawl killed before blocks this one only until that check (same
    host) or its lease's expiry (another host).
    """
    lease = lease_seconds or config.crawl_lease_seconds()
    context = TaskRunContext.get()
    holder = ConcurrencyLeaseHolder(type="task_run", id=context.task_run.id if context else uuid4())
    leases = lease_directory()
    record = holder_directory(leases) / f"{holder.id}.json" if leases is not None else None
    if record is not None:
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps(process_identity()))
    try:
        freed = reclaim_slots(names)  # a crawl killed just before: take its slots back before waiting at all
        while True:
            if freed and log is not None:
                log.warning("gave back %d slot(s) of %s that crawls no longer running held", freed, ", ".join(names))
            stack = ExitStack()
            try:
                stack.enter_context(concurrency(names, occupy=1, timeout_seconds=reclaim_every, lease_duration=lease,
                                                holder=holder))
            except TimeoutError:
                freed = reclaim_slots(names)
                continue
            with stack:
                yield
            return
    finally:
        if record is not None:
            record.unlink(missing_ok=True)


def _previous_requests(source: str) -> int:
    """Requests of the source's last completed crawl (the progress estimate of the next one)."""
    counts = latest_counts("crawl", source=source) or {}
    return int(counts.get("requests", 0) or 0)


def _retry_unless_invalid(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a failed crawl unless the source file itself is invalid (a retry cannot fix that)."""
    try:
        state.result()
    except SourceError:
        return False
    except Exception:  # noqa: BLE001 - any other failure may be transient
        return True
    return True


@task(name="crawl-source", retries=2, retry_delay_seconds=exponential_backoff(backoff_factor=10),
      retry_jitter_factor=0.5, retry_condition_fn=_retry_unless_invalid, cache_policy=NO_CACHE,
      task_run_name="crawl-{source}")
def crawl_source(source: str, sources_dir: str | None = None, base_url: str | None = None,
                 since: dt.date | None = None, minimum: bool = True) -> dict[str, Any]:
    """Crawl one source in its own Scrapy process, holding the crawl and per-domain slots; return its summary."""
    logger = get_run_logger()
    cfg = load_source(source, sources_dir)
    estimate = max(_previous_requests(cfg.name), cfg.expected_min_documents, 1)
    progress_id = create_progress_artifact(0.0, description=f"crawl {cfg.name}: requests done (of about {estimate})")
    last = [0.0, time.monotonic()]

    def progress(done: int) -> None:
        share = min(99.0, 100.0 * done / estimate)
        if share - last[0] >= 5 or time.monotonic() - last[1] >= 30:
            if share > last[0]:
                update_progress_artifact(progress_id, share)
            last[0], last[1] = max(share, last[0]), time.monotonic()
            logger.info("crawl %s: %d requests done", cfg.name, done)

    log_file = home_dir() / "logs" / f"crawl-{cfg.name}.log"
    limits = [CRAWL_LIMIT, *domain_limit_names(cfg)]
    logger.info("crawl %s: waiting for slots %s", cfg.name, ", ".join(limits))
    with crawl_slots(limits, log=logger):
        logger.info("crawl %s: started (log %s)", cfg.name, log_file)
        try:
            result = run_crawl(cfg.name, sources_dir=sources_dir, base_url=base_url, since=since,
                               log_file=log_file, progress=progress)
        except CrawlError as exc:
            logger.error("crawl %s failed: %s", cfg.name, exc)
            raise
    update_progress_artifact(progress_id, 100.0)
    # a crawl that resumed a killed one counts what the whole job delivered (crawlers.run.check_minimum)
    got = delivered(result.counts) + result.delivered_before
    summary = {"source": cfg.name, "run_id": result.run_id, "delivered": got,
               "expected_min_documents": cfg.expected_min_documents, "finish_reason": result.finish_reason,
               "delivered_before_resume": result.delivered_before,
               **result.counts, "by_status": result.status_counts}
    logger.info("crawl %s: delivered %d (new %d, changed %d, not modified %d; %d before the crawl resumed), "
                "errors %d, by status %s", cfg.name, got, result.counts["documents_new"],
                result.counts["documents_changed"], result.counts["documents_not_modified"], result.delivered_before,
                result.counts["errors"], result.status_counts)
    if minimum:
        check_minimum(cfg, result, log_file)
    return summary


def _table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = ("source", "state", "delivered", "documents_new", "documents_changed", "documents_not_modified",
            "errors", "requests", "run_id", "error", "failed_requests")
    return [{k: r.get(k, "") for k in keys} for r in rows]


@flow(name="aimap-crawl", log_prints=True, on_failure=[notify_failure],
      task_runner=ThreadPoolTaskRunner(max_workers=16))
def crawl_flow(
    sources: list[str] | None = None,
    sources_dir: str | None = None,
    base_url: str | None = None,
    since: dt.date | None = None,
    edition: int | None = None,
    retries: int = 2,
    retry_delay_seconds: float = 10.0,
) -> dict[str, dict[str, Any]]:
    """Crawl ``sources`` (default: the *enabled* sources in ``sources_dir``, default crawlers/sources) concurrently.

    With no source named and none enabled, the flow says so (log warning and a markdown artifact)
    and completes with nothing crawled.

    ``edition`` files every source as a step of that edition's refresh ledger. Retries use
    exponential backoff from ``retry_delay_seconds`` with 50% jitter. Returns each source's
    summary (``state`` completed or failed); raises :class:`CrawlFailures` after every source
    ran if any failed.
    """
    logger = get_run_logger()
    label_run(crawl_run_name(sources, edition), edition)  # crawl-<source>-<date>, tagged (flows/labels.py)
    scan = scan_sources(sources_dir)  # an invalid source file is reported and skipped, the others crawl
    available = {s.name: s for s in scan.valid}
    invalid = {b.name: f"invalid source file, skipped: {b.problems}" for b in scan.invalid
               if (b.name in sources if sources is not None else b.enabled)}
    for problems in invalid.values():
        logger.error(problems.replace("\n", "; "))
    names = [n for n in sources if n not in invalid] if sources is not None else sorted(
        n for n, s in available.items() if s.enabled)
    unknown = sorted(set(names) - set(available))
    if unknown:
        raise SourceError(f"unknown source(s) {', '.join(unknown)}; known: {', '.join(sorted(available))}")
    if not names and not invalid:
        message = (f"no source is enabled in {sources_dir or 'crawlers/sources'} ({len(available)} declared): "
                   "nothing crawled. Switch one on with `enabled: true` in its file (`aimap sources list`).")
        logger.warning(message)
        create_markdown_artifact(key=f"crawl-{edition}" if edition else "crawl", markdown=f"# Crawl\n\n{message}\n",
                                 description="crawl: no enabled source")
        return {}
    started = utcnow()
    limits = {CRAWL_LIMIT: config.crawl_concurrency()}
    for name in names:
        limits.update({d: config.crawl_domain_limit() for d in domain_limit_names(available[name])})
    ensure_limits(limits)
    ledger = Ledger(edition) if edition is not None else None
    runner = crawl_source.with_options(retries=retries, retry_delay_seconds=exponential_backoff(retry_delay_seconds))
    futures, records = {}, {}
    previous: dict[str, Any] = {}  # per group of sources sharing a domain, the last task submitted
    group = domain_groups([available[n] for n in names])
    for name in names:
        if ledger is not None:
            records[name] = ledger.start(f"crawl:{name}", source=name, base_url=base_url,
                                         expected_min_documents=available[name].expected_min_documents)
        before = previous.get(group[name])
        futures[name] = runner.submit(name, str(sources_dir) if sources_dir else None, base_url, since,
                                      minimum=since is None,
                                      wait_for=[allow_failure(before)] if before is not None else None)
        if config.crawl_domain_limit() == 1:
            previous[group[name]] = futures[name]
    wait(list(futures.values()))
    results: dict[str, dict[str, Any]] = {name: {"source": name, "state": "failed", "error": error}
                                          for name, error in sorted(invalid.items())}
    for name, future in futures.items():
        state = future.state
        if state.is_completed():
            results[name] = {"state": "completed", **future.result()}
        else:
            try:
                future.result()
                error = state.message or "failed"
            except Exception as exc:  # noqa: BLE001 - reported per source
                error = f"{type(exc).__name__}: {exc}"
            results[name] = {"source": name, "state": "failed", "error": error,
                             "expected_min_documents": available[name].expected_min_documents}
        if ledger is not None:
            ok = results[name]["state"] == "completed"
            ledger.finish(records[name], counts={k: v for k, v in results[name].items() if k != "error"},
                          state="completed" if ok else "failed", message=None if ok else results[name]["error"])
    with session_scope() as session:  # root causes: per source, recorded problems by reason (db/errors.py)
        causes = crawl_causes(session, {n: r["state"] for n, r in results.items()}, started)
    for name, cause in causes.items():
        if results[name]["state"] != "completed":
            results[name]["failed_requests"] = cause.failed_requests
    create_table_artifact(key=f"crawl-{edition}" if edition else "crawl", table=_table(list(results.values())),
                          description="documents crawled per source: delivered, new, changed, not modified, "
                                      "errors; failed sources with their error")
    lines = cause_lines(causes)
    if lines:
        create_markdown_artifact(key=f"crawl-causes-{edition}" if edition else "crawl-causes",
                                 markdown="# Crawl: root causes\n\n" + "\n".join(lines) + "\n",
                                 description="per source: the most frequent recorded problems, with an example address")
    failed = {n: r["error"] for n, r in results.items() if r["state"] == "failed"}
    total = sum(r.get("documents_new", 0) for r in results.values())
    logger.info("crawl: %d sources, %d failed, %d new documents", len(results), len(failed), total)
    if failed:
        raise CrawlFailures("; ".join(f"{n}: {e.splitlines()[0] if e else 'failed'}" for n, e in failed.items()))
    return results


def source_names(sources_dir: str | Path | None = None) -> list[str]:
    """Names of the enabled sources in ``sources_dir`` (default crawlers/sources): what a crawl with
    default parameters crawls."""
    return [s.name for s in enabled_sources(sources_dir)]
