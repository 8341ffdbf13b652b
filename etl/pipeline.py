"""One ETL pass over pending documents: the stage entry point of ``aimap etl`` and the Prefect flow.

Extraction (reading a document, finding organisations and relations) is read-only and CPU
bound; loading (resolving names, storing events and mentions) writes the database and depends
on what earlier documents loaded. So :func:`run_pipeline` works in *waves* of ``wave_batches``
batches of ``batch_size`` pending documents:

1. the batches of a wave are extracted ahead (:func:`extract_batch`), all against the same
   gazetteer snapshot — the database as it is at the wave's start (nothing writes during this
   phase), built once per process and wave (:func:`snapshot_for`). How the batches are run is
   the caller's: the flow maps them over tasks on threads or a Dask cluster; without an
   ``extract`` hook nothing is extracted ahead and every document is extracted while loading
   (the serial path of ``aimap etl``);
2. the wave is loaded in document order (:func:`load_wave`, :func:`etl.load.run_etl_ids`), one
   transaction per batch; a document whose names the snapshot resolves differently from the
   growing gazetteer of the load is re-extracted there. The waves of a run share one loading
   session and loader state in the loading process (:func:`loader_for`);
3. after the last wave (even when there was nothing to load) the run's documents (and any a crashed earlier run left without a
   current fingerprint) are fingerprinted and their duplicate clusters assigned, once
   (:func:`dedup_documents`).

Hence the database ends in the same state whatever the runner (and as with the serial
:func:`etl.load.run_etl`). Recording the run (``pipeline_runs``) is the caller's.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from db.session import get_engine, session_factory, session_scope
from etl.dedup import assign_clusters
from etl.load import (
    EtlReport,
    LoaderState,
    Precomputed,
    extract_documents,
    gazetteer_snapshot,
    pending_documents,
    run_etl_ids,
)
from etl.mentions import Gazetteer

#: ``extract(batches, snapshot_key)``: the extractions of each batch of a wave, in batch order.
ExtractWave = Callable[[list[list[int]], str], list[list[Precomputed]]]
#: ``load(ids, extractions, snapshot_key, loader_key)``: load one wave, return its report.
LoadWave = Callable[[list[int], list[list[Precomputed]], "str | None", str], EtlReport]
#: ``dedup(ids)``: cluster the run's documents once after the last wave; the duplicates found.
Dedup = Callable[[list[int]], int]
#: ``progress(done, total)``: documents loaded so far, after each wave.
Progress = Callable[[int, int], None]

_snapshot_lock = threading.Lock()
_snapshot: dict[str, Gazetteer] = {}
_loaders_lock = threading.Lock()
_loaders: dict[str, tuple[Session, LoaderState]] = {}
_local_runs = itertools.count(1)  # keys of runs without a pipeline_runs row


def pending(db_url: str, limit: int | None = None, reprocess: bool = False) -> list[int]:
    """Ids of the documents to process (:func:`etl.load.pending_documents`), in a short session."""
    with session_scope(get_engine(db_url)) as session:
        return pending_documents(session, limit, reprocess)


def snapshot_for(key: str, db_url: str) -> Gazetteer:
    """The gazetteer snapshot named ``key``, built once per process from the database ``db_url``.

    ``key`` names a wave of one run; the database does not change during the wave's extraction
    phase, so every process builds the same snapshot. Only the latest is kept.
    """
    with _snapshot_lock:
        if key not in _snapshot:
            with session_scope(get_engine(db_url)) as session:
                gazetteer = gazetteer_snapshot(session)
            _snapshot.clear()
            _snapshot[key] = gazetteer
        return _snapshot[key]


def loader_for(key: str, db_url: str) -> tuple[Session, LoaderState]:
    """The loading session and loader state of the run ``key``, built on first use.

    Every wave of a run is loaded in one process, one after the other, so they share one
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
    """Close the loading session of the run ``key`` (if any)."""
    with _loaders_lock:
        entry = _loaders.pop(key, None)
    if entry is not None:
        entry[0].close()


def extract_batch(ids: list[int], db_url: str, snapshot_key: str) -> list[Precomputed]:
    """Extract one batch of documents against the wave's snapshot (read-only; runs anywhere)."""
    gazetteer = snapshot_for(snapshot_key, db_url)
    with session_scope(get_engine(db_url)) as session:
        return extract_documents(session, ids, gazetteer)


def load_wave(ids: list[int], extractions: list[list[Precomputed]], db_url: str, snapshot_key: str | None,
              loader_key: str, *, run_id: int | None, batch_size: int,
              progress: Progress | None = None) -> EtlReport:
    """Load one wave in document order, continuing the loader state of the run ``loader_key``.

    ``snapshot_key`` names the snapshot the ``extractions`` were made against (``None``: nothing
    was extracted ahead). Duplicate clustering is left to :func:`dedup_documents`. On an error
    the session is rolled back and closed, so a retry or a resumed run starts from the database.
    """
    snapshot = snapshot_for(snapshot_key, db_url) if snapshot_key is not None else None
    flat = [p for batch in extractions for p in batch]
    session, state = loader_for(loader_key, db_url)
    try:
        return run_etl_ids(session, ids, batch_size=batch_size, run_id=run_id, extractions=flat,
                           snapshot=snapshot, progress=progress, state=state, dedup=False)
    except BaseException:
        session.rollback()
        close_loader(loader_key)
        raise


def dedup_documents(db_url: str, ids: list[int] | None = None, progress: Callable[[str], None] | None = None) -> int:
    """Fingerprint the documents ``ids`` and every document without a current fingerprint, and
    assign their duplicate clusters (:func:`etl.dedup.assign_clusters`); the exact and near
    duplicates found. Documents a crashed earlier run loaded are included this way."""
    with session_scope(get_engine(db_url)) as session:
        report = assign_clusters(session, ids, include_stale=True, progress=progress)
    return report.exact + report.near


@dataclass(frozen=True)
class Wave:
    """One wave of a run: its key (names the snapshot) and its batches of document ids."""

    key: str
    batches: list[list[int]]

    @property
    def ids(self) -> list[int]:
        """The wave's document ids, in order."""
        return [i for batch in self.batches for i in batch]


def waves(ids: list[int], batch_size: int, wave_batches: int, run_key: str) -> list[Wave]:
    """The waves of a run over ``ids``: batches of ``batch_size``, ``wave_batches`` per wave."""
    batches = [ids[i:i + batch_size] for i in range(0, len(ids), batch_size)]
    return [Wave(f"{run_key}-{w // wave_batches}", batches[w:w + wave_batches])
            for w in range(0, len(batches), wave_batches)]


def run_pipeline(
    db_url: str,
    ids: list[int],
    *,
    batch_size: int = 200,
    wave_batches: int = 16,
    run_id: int | None = None,
    extract: ExtractWave | None = None,
    load: LoadWave | None = None,
    dedup: Dedup | None = None,
    progress: Progress | None = None,
) -> EtlReport:
    """Process the documents ``ids`` in waves (see the module docstring); return the summed report.

    The hooks say how each phase runs; the defaults run it here, in this process:
    ``extract`` (default: nothing extracted ahead), ``load`` (default :func:`load_wave`) and
    ``dedup`` (default :func:`dedup_documents`). ``progress(done, total)`` is called after each
    wave. The run's loader state lives until the last wave is loaded (or a wave fails).
    """
    run_key = f"run-{run_id}" if run_id is not None else f"local-{next(_local_runs)}"

    def default_load(wave_ids: list[int], extracted: list[list[Precomputed]], snapshot_key: str | None,
                     loader_key: str) -> EtlReport:
        return load_wave(wave_ids, extracted, db_url, snapshot_key, loader_key, run_id=run_id, batch_size=batch_size)

    load = load or default_load
    report = EtlReport()
    done = 0
    try:
        for wave in waves(ids, batch_size, wave_batches, run_key):
            extracted = extract(wave.batches, wave.key) if extract is not None else []
            report.add(load(wave.ids, extracted, wave.key if extract is not None else None, run_key))
            done += len(wave.ids)
            if progress:
                progress(done, len(ids))
    finally:
        close_loader(run_key)
    report.duplicate_documents += dedup(ids) if dedup is not None else dedup_documents(db_url, ids)
    return report
