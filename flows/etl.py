"""The ETL flow: pending documents in batches, extracted by mapped tasks, loaded in order.

Extraction (reading a document, finding organisations and relations) is read-only and CPU
bound; loading (resolving names, storing events and mentions) writes the database and depends
on what earlier documents loaded. So the flow works in *waves* of ``wave_batches`` batches of
``batch_size`` pending documents:

1. the batches of a wave are mapped over ``etl-extract`` tasks (:func:`etl.load.extract_documents`),
   all against the same gazetteer snapshot — the database as it is at the wave's start (nothing
   writes during this phase) — concurrently on the flow's task runner: threads by default, or
   processes on a Dask cluster when ``AIMAP_DASK_ADDRESS`` is set (:func:`etl_task_runner`);
2. one ``etl-load`` task loads the wave in document order (:func:`etl.load.run_etl_ids`), one
   transaction per batch; a document whose names the snapshot resolves differently from the
   growing gazetteer of the load is re-extracted there. The waves of a run share one loading
   session and loader state in the flow's process (:func:`loader_for`);
3. after the last wave, one ``etl-dedup`` task fingerprints the new documents and assigns the
   duplicate clusters (:func:`etl.dedup.assign_clusters`), once rather than per wave.

Hence the database ends in the same state whatever the runner (and as with the serial
:func:`etl.load.run_etl`): a test runs the flow on a local Dask cluster and compares. The flow is
idempotent (only pending documents are taken), counts quarantined documents, and within an
annual refresh files its pass as the ``etl`` step of the edition's ledger.
"""

from __future__ import annotations

import threading
from typing import Any

from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import create_progress_artifact, create_table_artifact, update_progress_artifact
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner
from sqlalchemy.orm import Session

from common.config import database_url
from db.session import get_engine, session_factory, session_scope
from etl.extract import Gazetteer
from etl.load import (
    EtlReport,
    LoaderState,
    Precomputed,
    extract_documents,
    gazetteer_snapshot,
    pending_documents,
    run_etl_ids,
)
from flows import config
from flows.notify import notify_failure
from flows.steps import Ledger, finish_run, start_run

_snapshot_lock = threading.Lock()
_snapshot: dict[str, Gazetteer] = {}


def snapshot_for(key: str, db_url: str) -> Gazetteer:
    """The gazetteer snapshot named ``key``, built once per process from the database ``db_url``.

    ``key`` names a wave of one flow run; the database does not change during the wave's
    extraction phase, so every process builds the same snapshot. Only the latest is kept.
    """
    with _snapshot_lock:
        if key not in _snapshot:
            with session_scope(get_engine(db_url)) as session:
                gazetteer = gazetteer_snapshot(session)
            _snapshot.clear()
            _snapshot[key] = gazetteer
        return _snapshot[key]


@task(name="etl-extract", cache_policy=NO_CACHE, task_run_name="extract-{label}")
def extract_batch(ids: list[int], db_url: str, snapshot_key: str, label: str) -> list[Precomputed]:
    """Extract one batch of documents against the wave's snapshot (read-only; runs anywhere)."""
    gazetteer = snapshot_for(snapshot_key, db_url)
    with session_scope(get_engine(db_url)) as session:
        out = extract_documents(session, ids, gazetteer)
    get_run_logger().info("extracted documents %d-%d (%d), %d relations", ids[0], ids[-1], len(ids),
                          sum(len(p.extraction.relations) for p in out if p.extraction is not None))
    return out


_loaders_lock = threading.Lock()
_loaders: dict[str, tuple[Session, LoaderState]] = {}


def loader_for(key: str, db_url: str) -> tuple[Session, LoaderState]:
    """The loading session and loader state of the flow run ``key``, built on first use.

    Every wave of a run is loaded in the flow's process, one after the other, so they share one
    session and one :class:`etl.load.LoaderState` instead of reloading organisations, aliases,
    judgements and events from the database for each wave (which grew with the database: the
    ``report`` world's 172,000 documents are 108 waves). :func:`close_loader` ends it.
    """
    with _loaders_lock:
        if key not in _loaders:
            session = session_factory(get_engine(db_url))()
            _loaders[key] = (session, LoaderState(session))
        return _loaders[key]


def close_loader(key: str) -> None:
    """Close the loading session of the flow run ``key`` (if any)."""
    with _loaders_lock:
        entry = _loaders.pop(key, None)
    if entry is not None:
        entry[0].close()


@task(name="etl-load", cache_policy=NO_CACHE, task_run_name="load-{label}")
def load_wave(ids: list[int], extractions: list[list[Precomputed]], db_url: str, snapshot_key: str,
              label: str, run_id: int | None, batch_size: int, loader_key: str | None = None) -> dict[str, Any]:
    """Load one wave in document order; return its counts and quarantine messages.

    With ``loader_key`` the wave continues the loader state of earlier waves of the same run
    (:func:`loader_for`); duplicate clustering is then left to :func:`dedup_documents`.
    """
    logger = get_run_logger()
    snapshot = snapshot_for(snapshot_key, db_url)
    flat = [p for batch in extractions for p in batch]
    progress = lambda d, t: logger.info("load %s: %d/%d documents", label, d, t)  # noqa: E731
    if loader_key is None:
        with session_scope(get_engine(db_url)) as session:
            report = run_etl_ids(session, ids, batch_size=batch_size, run_id=run_id, extractions=flat,
                                 snapshot=snapshot, progress=progress)
    else:
        session, state = loader_for(loader_key, db_url)
        try:
            report = run_etl_ids(session, ids, batch_size=batch_size, run_id=run_id, extractions=flat,
                                 snapshot=snapshot, progress=progress, state=state, dedup=False)
        except BaseException:
            session.rollback()
            close_loader(loader_key)  # a retry or a resumed run starts from the database again
            raise
    for message in report.error_messages:
        logger.warning("quarantined: %s", message)
    return {"counts": report.as_dict(), "errors": report.error_messages}


@task(name="etl-dedup", cache_policy=NO_CACHE)
def dedup_documents(db_url: str) -> int:
    """Fingerprint every document without a current fingerprint and assign duplicate clusters.

    Once per run, after the last wave (:func:`etl.dedup.assign_clusters` with its default
    selection, so documents a crashed earlier run loaded are included); returns the number of
    exact and near duplicates found.
    """
    from etl.dedup import assign_clusters

    logger = get_run_logger()
    with session_scope(get_engine(db_url)) as session:
        report = assign_clusters(session, progress=logger.info)
    return report.exact + report.near


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
        from prefect_dask import DaskTaskRunner
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
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    if url:
        return str(url)
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    return server.api_url if server.running else None


def _add(total: dict[str, int], counts: dict[str, int]) -> None:
    for k, v in counts.items():
        total[k] = total.get(k, 0) + int(v)


@flow(name="aimap-etl", log_prints=True, on_failure=[notify_failure], task_runner=ThreadPoolTaskRunner(max_workers=4))
def etl_flow(
    batch_size: int = 100,
    wave_batches: int = 16,
    limit: int | None = None,
    reprocess: bool = False,
    edition: int | None = None,
) -> dict[str, Any]:
    """Extract events from every pending document (see the module docstring); return the counts.

    ``limit`` caps the documents of this run, ``reprocess`` takes every document again, and
    ``edition`` files the pass in that edition's refresh ledger.
    """
    logger = get_run_logger()
    url = database_url()
    with session_scope() as session:
        ids = pending_documents(session, limit, reprocess)
    ledger = Ledger(edition) if edition is not None else None
    record = ledger.start("etl", documents=len(ids)) if ledger is not None else None
    run_id = start_run("etl", {"documents": len(ids), "batch_size": batch_size, "edition": edition,
                               "runner": config.dask_address() or "threads"})
    totals = EtlReport().as_dict()
    errors: list[str] = []
    progress = create_progress_artifact(0.0 if ids else 100.0, description=f"ETL: {len(ids)} pending documents")
    logger.info("etl: %d pending documents, batches of %d, %d batches per wave", len(ids), batch_size, wave_batches)
    try:
        batches = [ids[i:i + batch_size] for i in range(0, len(ids), batch_size)]
        flow_key = f"{run_id}"
        done = 0
        for w in range(0, len(batches), wave_batches):
            wave = batches[w:w + wave_batches]
            key = f"{flow_key}-{w // wave_batches}"
            labels = [f"{key}-{i}" for i in range(len(wave))]
            futures = extract_batch.map(wave, unmapped(url), unmapped(key), labels)
            extracted = [f.result() for f in futures]
            wave_ids = [i for batch in wave for i in batch]
            loaded = load_wave(wave_ids, extracted, url, key, key, run_id, batch_size, loader_key=flow_key)
            _add(totals, loaded["counts"])
            errors += loaded["errors"]
            done += len(wave_ids)
            update_progress_artifact(progress, 100.0 * done / len(ids))
            logger.info("etl: %d/%d documents; %s", done, len(ids), totals)
        close_loader(flow_key)
        totals["duplicate_documents"] = totals.get("duplicate_documents", 0) + dedup_documents(url)
    except BaseException as exc:
        close_loader(flow_key)
        finish_run(run_id, counts=totals, state="failed", message=f"{type(exc).__name__}: {exc}")
        if ledger is not None and record is not None:
            ledger.finish(record, counts=totals, state="failed", message=f"{type(exc).__name__}: {exc}")
        raise
    finish_run(run_id, counts=totals)
    if ledger is not None and record is not None:
        ledger.finish(record, counts={**totals, "run_id": run_id})
    create_table_artifact(key=f"etl-{edition}" if edition else "etl", table=[{"run_id": run_id, **totals}],
                          description="ETL pass: documents processed, relations, events new/updated/terminated/"
                                      "removed, mentions, organisations, quarantined documents")
    return {"run_id": run_id, **totals, "errors": errors[:50]}


def run_etl_flow(**parameters: Any) -> dict[str, Any]:
    """Run :func:`etl_flow` (as a subflow when called from a flow) on the configured task runner.

    With Dask, the API URL this process uses is made explicit for the duration, so that the
    worker processes report to it instead of each starting an ephemeral API of its own.
    """
    if not config.dask_address():
        return etl_flow(**parameters)
    from prefect.settings import PREFECT_API_URL, temporary_settings

    api = current_api_url()
    if api is None and not PREFECT_API_URL.value():  # not started yet: start the ephemeral API now
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            client.api_healthcheck()
        api = current_api_url()
    runner = etl_flow.with_options(task_runner=etl_task_runner())
    if api and not PREFECT_API_URL.value():
        with temporary_settings(updates={PREFECT_API_URL: api}):
            return runner(**parameters)
    return runner(**parameters)
