"""The ETL flow: Prefect tasks over the ETL stage's one pipeline entry (:func:`etl.pipeline.run_pipeline`).

The waves, snapshots and shared loader state are the stage's (:mod:`etl.pipeline`); this flow
only says how each phase runs under Prefect:

1. the batches of a wave are extracted in a pool of worker processes sized to the cores
   (:class:`etl.pipeline.ExtractionPool`, as ``aimap etl`` does: both call
   :func:`etl.pipeline.run_pipeline`), or, when ``AIMAP_DASK_ADDRESS`` is set, mapped over
   ``etl-extract`` tasks (:func:`etl.pipeline.extract_batch`) on a Dask cluster
   (:func:`etl_task_runner`) — worker processes on this machine or on others;
2. one ``etl-load`` task per wave loads it in document order in the flow's process
   (:func:`etl.pipeline.load_wave`);
3. one ``etl-dedup`` task after the last wave clusters duplicate documents.

A progress artifact follows the waves and a table artifact keeps the counts. The flow is
idempotent (only pending documents are taken), counts quarantined documents, and within an
annual refresh files its pass as the ``etl`` step of the edition's ledger. A test runs the flow
on the process pool and on a local Dask cluster and compares both with the serial loader.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import create_progress_artifact, create_table_artifact, update_progress_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings
from prefect.task_runners import ThreadPoolTaskRunner

from common.config import database_url
from db.runs import Ledger, end_state, finish_run, start_run
from etl import pipeline
from etl.ahead import Precomputed
from etl.load import EtlReport
from flows import config
from flows.labels import label_run, run_name, today
from flows.notify import notify_failure

#: Asked after each wave of a pass run in this context: true ends the pass there, its other documents
#: stay pending (:func:`etl.pipeline.run_pipeline`'s ``stop``). A context variable, not a flow
#: parameter, because a parameter must be JSON for the API; the refresh sets it in the thread of
#: its passes beside the crawl (:class:`flows.refresh.EtlDuringCrawl`).
STOP_BETWEEN_WAVES: ContextVar[Callable[[], bool] | None] = ContextVar("aimap_etl_stop_between_waves", default=None)


def stop_between_waves(asked: Callable[[], bool] | None = None) -> Callable[[], bool] | None:
    """Set (with ``asked``) or read :data:`STOP_BETWEEN_WAVES` for this context.

    The flows reach the variable only through this module-level function: a flow's function is
    pickled by value when its run context travels to Dask workers, and a context variable in its
    globals cannot be pickled, while a module function is pickled by reference.
    """
    if asked is not None:
        STOP_BETWEEN_WAVES.set(asked)
    return STOP_BETWEEN_WAVES.get()


@task(name="etl-extract", cache_policy=NO_CACHE, task_run_name="extract-{label}")
def extract_batch(ids: list[int], db_url: str, snapshot_key: str, label: str) -> list[Precomputed]:
    """Extract one batch of documents against the wave's snapshot (read-only; runs anywhere)."""
    out = pipeline.extract_batch(ids, db_url, snapshot_key)
    get_run_logger().info("extracted documents %d-%d (%d), %d relations", ids[0], ids[-1], len(ids),
                          sum(len(p.extraction.relations) for p in out if p.extraction is not None))
    return out


@task(name="etl-load", cache_policy=NO_CACHE, task_run_name="load-{label}")
def load_wave(ids: list[int], extractions: list[list[Precomputed]], db_url: str, snapshot_key: str | None,
              loader_key: str, label: str, run_id: int | None, batch_size: int) -> EtlReport:
    """Load one wave in document order, continuing the run's loader state; return its report."""
    logger = get_run_logger()
    report = pipeline.load_wave(ids, extractions, db_url, snapshot_key, loader_key, run_id=run_id,
                                batch_size=batch_size,
                                progress=lambda d, t: logger.info("load %s: %d/%d documents", label, d, t))
    for message in report.error_messages:
        logger.warning("quarantined: %s", message)
    return report


@task(name="etl-dedup", cache_policy=NO_CACHE)
def dedup_documents(db_url: str, ids: list[int]) -> int:
    """Cluster duplicate documents once per run, after the last wave (:func:`etl.pipeline.dedup_documents`)."""
    return pipeline.dedup_documents(db_url, ids, progress=get_run_logger().info)


def etl_task_runner() -> Any:
    """The task runner of the ETL's mapped tasks, by configuration (``AIMAP_DASK_ADDRESS``).

    Unset: threads in the flow's process. ``local``: a temporary Dask cluster of
    ``AIMAP_DASK_WORKERS`` single-threaded processes on 127.0.0.1. Anything else: the address
    of a running Dask scheduler (``tcp://host:8786``) whose workers can import aimap and reach
    the database. Dask needs the optional extra ``pip install 'aimap[dask]'``.
    """
    address = config.dask_address()
    if not address:
        return ThreadPoolTaskRunner(max_workers=4)
    try:
        from prefect_dask import DaskTaskRunner  # deferred: an optional extra, only the Dask runner needs it
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise RuntimeError("AIMAP_DASK_ADDRESS is set but prefect-dask is not installed: "
                           "pip install 'aimap[dask]'") from exc
    if address == "local":
        return DaskTaskRunner(cluster_kwargs={
            "n_workers": config.dask_workers(), "threads_per_worker": 1, "processes": True, "host": "127.0.0.1",
            "dashboard_address": "127.0.0.1:0"})
    return DaskTaskRunner(address=address)


def current_api_url() -> str | None:
    """The Prefect API this process talks to: ``PREFECT_API_URL``, or the ephemeral server it started."""
    url = get_current_settings().api.url
    if url:
        return str(url)
    from prefect.server.api.server import SubprocessASGIServer  # deferred: heavy, loads Prefect's server

    server = SubprocessASGIServer()
    return server.api_url if server.running else None


@flow(name="aimap-etl", log_prints=True, on_failure=[notify_failure], task_runner=ThreadPoolTaskRunner(max_workers=4),
      flow_run_name=run_name("etl"))
def etl_flow(
    batch_size: int = 100,
    wave_batches: int = 16,
    limit: int | None = None,
    reprocess: bool = False,
    edition: int | None = None,
    workers: int | None = None,
    step: str = "etl",
) -> dict[str, Any]:
    """Extract events from every pending document (see the module docstring); return the counts.

    ``limit`` caps the documents of this run, ``reprocess`` takes every document again,
    ``edition`` files the pass in that edition's refresh ledger as ``step`` (``etl``, or
    ``etl:during-crawl`` for the refresh's passes beside its crawl, :mod:`flows.refresh`), and
    ``workers`` sets the extraction processes (default: the cores; 0: in the loading process;
    ignored on Dask).
    """
    logger = get_run_logger()
    label_run(f"etl-{edition}" if edition is not None else f"etl-{today()}", edition)
    url = database_url()
    ids = pipeline.pending(url, limit, reprocess)
    ledger = Ledger(edition) if edition is not None else None
    record = ledger.start(step, documents=len(ids)) if ledger is not None else None
    dask = config.dask_address()
    workers = 0 if dask else (pipeline.default_workers() if workers is None else workers)
    runner = dask or pipeline.runner(len(ids), batch_size, workers)
    run_id = start_run("etl", {"documents": len(ids), "batch_size": batch_size, "edition": edition,
                               "runner": runner, "limit": limit, "reprocess": reprocess})
    progress = create_progress_artifact(0.0 if ids else 100.0, description=f"ETL: {len(ids)} pending documents")
    logger.info("etl: %d pending documents, batches of %d, %d batches per wave", len(ids), batch_size, wave_batches)

    def extract(batches: list[list[int]], key: str) -> list[list[Precomputed]]:
        labels = [f"{key}-{i}" for i in range(len(batches))]
        return [f.result() for f in extract_batch.map(batches, unmapped(url), unmapped(key), labels)]

    loaded = EtlReport()  # what the waves loaded so far (recorded if a later one fails)

    def load(wave_ids: list[int], extracted: list[list[Precomputed]], snapshot_key: str | None,
             loader_key: str) -> EtlReport:
        report = load_wave(wave_ids, extracted, url, snapshot_key, loader_key, snapshot_key or loader_key, run_id,
                           batch_size)
        loaded.add(report)
        return report

    def advance(done: int, total: int) -> None:
        update_progress_artifact(progress, 100.0 * done / total)
        logger.info("etl: %d/%d documents", done, total)

    asked = stop_between_waves()

    def stop() -> bool:
        if asked is None or not asked():
            return False
        logger.info("etl: asked to stop after %d of %d documents; the rest stay pending for the next pass",
                    loaded.documents, len(ids))
        return True

    try:
        report = pipeline.run_pipeline(url, ids, batch_size=batch_size, wave_batches=wave_batches, run_id=run_id,
                                       extract=extract if dask else None, workers=workers, load=load,
                                       dedup=lambda i: dedup_documents(url, i), progress=advance, stop=stop)
    except BaseException as exc:
        finish_run(run_id, counts=loaded.as_dict(), state=end_state(exc), message=f"{type(exc).__name__}: {exc}")
        if ledger is not None and record is not None:
            ledger.finish(record, counts=loaded.as_dict(), state=end_state(exc), message=f"{type(exc).__name__}: {exc}")
        raise
    totals = report.as_dict()
    finish_run(run_id, counts=totals)
    if ledger is not None and record is not None:
        ledger.finish(record, counts={**totals, "run_id": run_id})
    create_table_artifact(key=f"etl-{edition}" if edition else "etl", table=[{"run_id": run_id, **totals}],
                          description="ETL pass: documents processed, relations, events new/updated/terminated/"
                                      "removed, mentions, organisations, quarantined documents")
    return {"run_id": run_id, **totals, "errors": report.error_messages[:50]}


def run_etl_flow(**parameters: Any) -> dict[str, Any]:
    """Run :func:`etl_flow` (as a subflow when called from a flow) on the configured task runner.

    With Dask, the API URL this process uses is made explicit for the duration, so that the
    worker processes report to it instead of each starting an ephemeral API of its own.
    """
    if not config.dask_address():
        return etl_flow(**parameters)
    api = current_api_url()
    if api is None and not PREFECT_API_URL.value():  # not started yet: start the ephemeral API now
        with get_client(sync_client=True) as client:
            client.api_healthcheck()
        api = current_api_url()
    runner = etl_flow.with_options(task_runner=etl_task_runner())
    if api and not PREFECT_API_URL.value():
        with temporary_settings(updates={PREFECT_API_URL: api}):
            return runner(**parameters)
    return runner(**parameters)
