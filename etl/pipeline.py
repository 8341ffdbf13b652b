"""One ETL pass over pending documents: the stage entry point of ``aimap etl`` and the Prefect flow.

Extraction (reading a document, finding organisations and relations) is read-only and CPU
bound; loading (resolving names, storing events and mentions) writes the database and depends
on what earlier documents loaded. So :func:`run_pipeline` works in *waves* of ``wave_batches``
batches of ``batch_size`` pending documents:

1. the batches of a wave are extracted ahead (:func:`extract_batch`), all against the same
   gazetteer snapshot, built once per process and wave (:func:`snapshot_for`). How the batches
   are run is the caller's: ``aimap etl`` and the flow run them in a pool of worker processes
   sized to the cores (:class:`ExtractionPool`), which extracts the next wave while this process
   loads the current one (the snapshot: the loader's gazetteer when the current wave starts
   loading), or the flow maps them over tasks on a Dask cluster (the snapshot: the database at the
   wave's start, nothing writes while the wave is extracted); without
   an ``extract`` hook (``workers=0``) nothing is extracted ahead and every document is
   extracted while loading (the serial path);
2. the wave is loaded in document order (:func:`load_wave`, :func:`etl.load.run_etl_ids`), one
   transaction per batch; a document whose names the snapshot resolves differently from the
   growing gazetteer of the load is re-extracted there (for the pool's snapshots, copies of that
   gazetteer at a version: a document in which a name changed since then occurs). The waves of a run share one loading
   session and loader state in the loading process (:func:`loader_for`);
3. after the last wave (even when there was nothing to load) the run's documents (and any a crashed earlier run left without a
   current fingerprint) are fingerprinted and their duplicate clusters assigned, once
   (:func:`dedup_documents`).

Hence the database ends in the same state whatever the runner (and as with the serial
:func:`etl.load.run_etl`). Recording the run (``pipeline_runs``) is the caller's.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import pickle
import shutil
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from db.session import get_engine, session_factory, session_scope
from etl.ahead import Precomputed, SnapshotVersion, extract_documents
from etl.dedup import assign_clusters, load_config
from etl.lexicon import load_lexicon
from etl.load import (
    EtlReport,
    LoaderState,
    gazetteer_snapshot,
    pending_documents,
    run_etl_ids,
)
from etl.mentions import Gazetteer
from etl.pairs import extract_with_model

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


#: Snapshots a process keeps in memory. One: a worker takes the batches of the waves in order, so
#: once it starts the next wave it never needs the previous one again; the loading process reads a
#: wave's snapshot only when its own gazetteer was reloaded since it was published (see
#: :func:`load_wave`). A snapshot of the loader's gazetteer is held by every worker (issue 17: peak memory).
_SNAPSHOTS_KEPT = 1
#: Files of the snapshots this process's pool published (:meth:`ExtractionPool.publish`), by key:
#: where the workers (and, when it must compare whole gazetteers, the loading process) read a wave's snapshot.
_published: dict[str, str] = {}
#: The (lineage, version) of the loader's gazetteer each published snapshot copies, by key: the
#: loading process compares a document's names with the names changed since then
#: (:class:`etl.ahead.SnapshotVersion`) instead of reading the snapshot back.
_published_versions: dict[str, tuple[str, int]] = {}
#: Snapshot files a pool keeps: the wave being loaded and the next one, extracted meanwhile.
_FILES_KEPT = 2
#: The MinHash signatures the extraction made of the documents loaded (document id -> content hash,
#: signature; :attr:`etl.ahead.Precomputed.minhash`), kept until the run's duplicate clustering
#: takes them (:func:`dedup_documents`): the clustering then reads and hashes only the texts no
#: worker did (issue 17: at report scale it ran alone, on one core, after the last wave).
_signatures: dict[int, tuple[str | None, Any]] = {}
_signatures_lock = threading.Lock()


def snapshot_for(key: str, db_url: str, path: str | None = None) -> Gazetteer:
    """The gazetteer snapshot named ``key``, made once per process; only the latest is kept in memory
    (:data:`_SNAPSHOTS_KEPT`).

    ``key`` names a wave of one run. With ``path`` (or a file this process's pool published under
    ``key``, :data:`_published`) it is the loader's own gazetteer when the
    previous wave starts loading, published there by :meth:`ExtractionPool.publish` (close to what
    the serial loader would extract the wave's documents with, so few need extracting again);
    without, it is built from the database ``db_url`` — which does not change during the wave's
    extraction phase, so every process (a Dask worker on another machine too) builds the same.
    """
    with _snapshot_lock:
        path = path or _published.get(key)
        if key not in _snapshot:
            if path is not None:
                gazetteer = pickle.loads(Path(path).read_bytes())
            else:
                with session_scope(get_engine(db_url)) as session:
                    gazetteer = gazetteer_snapshot(session)
            _keep_snapshot(key, gazetteer)
        return _snapshot[key]


def _keep_snapshot(key: str, gazetteer: Gazetteer) -> None:
    """Store a snapshot, dropping the oldest beyond :data:`_SNAPSHOTS_KEPT` (callers hold the lock)."""
    _snapshot[key] = gazetteer
    while len(_snapshot) > _SNAPSHOTS_KEPT:
        del _snapshot[next(iter(_snapshot))]


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


def extract_batch(ids: list[int], db_url: str, snapshot_key: str, snapshot_path: str | None = None
                  ) -> list[Precomputed]:
    """Extract one batch of documents against the wave's snapshot (read-only; runs anywhere)."""
    gazetteer = snapshot_for(snapshot_key, db_url, snapshot_path)
    with session_scope(get_engine(db_url)) as session:
        return extract_documents(session, ids, gazetteer)


def default_workers() -> int:
    """Extraction processes by default: the cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def runner(documents: int, batch_size: int, workers: int) -> str:
    """How :func:`run_pipeline` extracts ``documents`` with ``workers`` and no ``extract`` hook, as
    recorded in the run's parameters: ``processes:N`` (a pool), or ``serial`` — without workers,
    and for a single batch, where starting processes costs more than it saves."""
    return f"processes:{workers}" if workers > 0 and documents > batch_size else "serial"


#: A sentence that exercises the whole extractor (rules, pair model, the LAC recogniser).
_WARM_UP = "北京甲乙科技有限公司与上海丙丁智能有限公司于2024年签署人工智能战略合作协议。"


def _start_worker() -> None:
    """Load the extractor once per worker process (lexicons, pair model, LAC with one ONNX thread)."""
    extract_with_model(_WARM_UP, None, Gazetteer(), load_lexicon())


_SNAPSHOT_PREFIX = "aimap-etl-snapshots-"


def _remove_orphan_snapshots() -> None:
    """Remove the snapshot directories of pools whose process is gone (killed: ``close`` never ran)."""
    for path in Path(tempfile.gettempdir()).glob(f"{_SNAPSHOT_PREFIX}*-*"):
        pid = path.name.removeprefix(_SNAPSHOT_PREFIX).split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except PermissionError:  # another user's live process
            continue


class ExtractionPool:
    """Extraction of a wave's batches in a pool of worker processes on this machine.

    ``workers`` processes (default: the cores, :func:`default_workers`), started with
    ``forkserver`` where available, else ``spawn`` (never ``fork``: the parent holds database
    connections and threads). Each worker loads the extractor once (:func:`_start_worker`) and
    then runs :func:`extract_batch` on batches of document ids: it reads the documents from the
    database itself, extracts against the wave's snapshot (the loader's gazetteer, published by
    :meth:`publish` as a file the workers read once per wave; :meth:`submit` starts a wave without
    waiting for it, so :func:`run_pipeline` loads one wave while the next is extracted) and returns plain picklable records
    (:class:`etl.ahead.Precomputed`); loading stays in the calling process, the one writer. The
    same :func:`extract_batch` is what a Dask cluster runs (the ETL flow with
    ``AIMAP_DASK_ADDRESS``; there the snapshot comes from the database). :func:`run_pipeline`
    starts one per run; close it (or use ``with``) to stop the workers.
    """

    def __init__(self, db_url: str, workers: int | None = None) -> None:
        self.db_url = db_url
        self.workers = workers or default_workers()
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        self.executor = ProcessPoolExecutor(max_workers=self.workers, mp_context=context,
                                            initializer=_start_worker)
        _remove_orphan_snapshots()
        self._dir = tempfile.mkdtemp(prefix=f"{_SNAPSHOT_PREFIX}{os.getpid()}-")
        self._keys: list[str] = []  # the snapshots this pool published, oldest first
        self._serial = itertools.count()

    def publish(self, key: str, gazetteer: Gazetteer) -> None:
        """Make ``gazetteer`` (the loader's, as the previous wave starts loading) the snapshot ``key`` of the workers and
        of this process: a frozen copy in a file (the loader's own grows while it loads the wave), which
        this process reads when the wave starts loading (:func:`snapshot_for`)."""
        path = Path(self._dir) / f"{next(self._serial)}.pickle"
        path.write_bytes(pickle.dumps(gazetteer, protocol=pickle.HIGHEST_PROTOCOL))
        with _snapshot_lock:
            _published[key] = str(path)
            _published_versions[key] = (gazetteer.lineage, gazetteer.version)
            self._keys.append(key)
            while len(self._keys) > _FILES_KEPT:
                old = self._keys.pop(0)
                _published_versions.pop(old, None)
                Path(_published.pop(old)).unlink(missing_ok=True)

    def submit(self, batches: list[list[int]], snapshot_key: str) -> Callable[[], list[list[Precomputed]]]:
        """Start extracting a wave's batches; the returned call waits for their extractions, in batch order."""
        path = _published.get(snapshot_key)
        futures = [self.executor.submit(extract_batch, ids, self.db_url, snapshot_key, path) for ids in batches]
        return lambda: [f.result() for f in futures]

    def __call__(self, batches: list[list[int]], snapshot_key: str) -> list[list[Precomputed]]:
        return self.submit(batches, snapshot_key)()

    def close(self) -> None:
        """Stop the worker processes and remove the published snapshots."""
        self.executor.shutdown(wait=True, cancel_futures=True)
        with _snapshot_lock:
            for key in self._keys:
                _published.pop(key, None)
                _published_versions.pop(key, None)
                _snapshot.pop(key, None)
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> ExtractionPool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def load_wave(ids: list[int], extractions: list[list[Precomputed]], db_url: str, snapshot_key: str | None,
              loader_key: str, *, run_id: int | None, batch_size: int,
              progress: Progress | None = None) -> EtlReport:
    """Load one wave in document order, continuing the loader state of the run ``loader_key``.

    ``snapshot_key`` names the snapshot the ``extractions`` were made against (``None``: nothing
    was extracted ahead). Duplicate clustering is left to :func:`dedup_documents`. On an error
    the session is rolled back and closed, so a retry or a resumed run starts from the database.
    """
    flat = [p for batch in extractions for p in batch]
    session, state = loader_for(loader_key, db_url)
    snapshot: Gazetteer | SnapshotVersion | None = None
    if snapshot_key is not None:
        with _snapshot_lock:
            published = _published_versions.get(snapshot_key)
        if published is not None and published[0] == state.gazetteer.lineage:
            snapshot = SnapshotVersion(*published)  # a copy of this loader's own gazetteer: no need to read it
        else:
            snapshot = snapshot_for(snapshot_key, db_url)
    try:
        return run_etl_ids(session, ids, batch_size=batch_size, run_id=run_id, extractions=flat,
                           snapshot=snapshot, progress=progress, state=state, dedup=False)
    except BaseException:
        session.rollback()
        close_loader(loader_key)
        raise


def dedup_documents(db_url: str, ids: list[int] | None = None, progress: Callable[[str], None] | None = None) -> int:
    """Fingerprint every document without a current fingerprint (the documents ``ids`` among them:
    those fingerprinted already, by an earlier pass, keep theirs) and assign their duplicate clusters
    (:func:`etl.dedup.assign_clusters`); the exact and near duplicates found. Documents a crashed
    earlier run loaded are included this way. The signatures this process's extraction made of
    ``ids`` (:func:`keep_signatures`) are used instead of hashing those texts again."""
    signatures = take_signatures(ids or [])
    with session_scope(get_engine(db_url)) as session:
        report = assign_clusters(session, ids, include_stale=True, progress=progress, signatures=signatures)
    return report.exact + report.near


def keep_signatures(extracted: list[list[Precomputed]]) -> None:
    """Keep the MinHash signatures of a wave's extractions, made with this install's duplicate
    parameters, for the run's clustering (:func:`dedup_documents`)."""
    params = load_config().params
    with _signatures_lock:
        for batch in extracted:
            for p in batch:
                if p.minhash is not None and p.minhash_params == params:
                    _signatures[p.document_id] = (p.content_sha256, p.minhash)


def take_signatures(ids: list[int]) -> dict[int, tuple[str | None, Any]]:
    """The kept signatures of ``ids`` (:func:`keep_signatures`), no longer kept."""
    with _signatures_lock:
        return {i: sig for i in ids if (sig := _signatures.pop(i, None)) is not None}


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


def _pipelined(pool: ExtractionPool, run_waves: list[Wave], state: LoaderState
               ) -> Callable[[int], list[list[Precomputed]]]:
    """``ahead(i)``: the extractions of wave ``i``, after starting wave ``i + 1`` in the pool.

    So the workers extract the next wave while this process loads the current one, instead of
    waiting for it. Wave ``i + 1`` is extracted against the loader's gazetteer as it is when
    wave ``i`` starts loading (published as that wave's snapshot): the names wave ``i`` adds are
    not in it, and the loader extracts again the documents whose names those change
    (:func:`etl.load.run_etl_ids`), so the database ends the same as with the serial path.
    """
    started: dict[int, Callable[[], list[list[Precomputed]]]] = {}

    def start(i: int) -> None:
        if i < len(run_waves) and i not in started:
            pool.publish(run_waves[i].key, state.gazetteer)
            started[i] = pool.submit(run_waves[i].batches, run_waves[i].key)

    def ahead(i: int) -> list[list[Precomputed]]:
        start(i)
        start(i + 1)
        return started.pop(i)()

    return ahead


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
    workers: int = 0,
    stop: Callable[[], bool] | None = None,
) -> EtlReport:
    """Process the documents ``ids`` in waves (see the module docstring); return the summed report.

    The stage's one entry point, for ``aimap etl`` and the ETL flow alike. The hooks say how
    each phase runs; the defaults run it here: ``extract`` (default: with ``workers`` > 0 an
    :class:`ExtractionPool` of that many processes for the run when there is more than one
    batch, else nothing extracted ahead),
    ``load`` (default :func:`load_wave`) and ``dedup`` (default :func:`dedup_documents`).
    ``progress(done, total)`` is called after each wave. The run's loader state lives until the
    last wave is loaded (or a wave fails); the pool's processes end before the duplicates are
    clustered, so that their memory is given back before the clustering's.

    ``stop()`` is asked after each wave: when it says so, the run ends there, as if ``ids`` had
    held only the waves loaded (their duplicates are clustered; the other documents stay pending
    for a later run). The annual refresh uses it to end a pass beside the crawl once the crawl
    has ended, so that what is left is extracted by the pool of the pass after it.
    """
    if extract is None and runner(len(ids), batch_size, workers) != "serial":
        loaded: list[int] = []
        kept: dict[int, tuple[str | None, Any]] = {}

        def later(ids_loaded: list[int]) -> int:  # clustered once the pool has ended, below
            loaded.extend(ids_loaded)
            kept.update(take_signatures(ids_loaded))  # the inner run drops what is left when it returns
            return 0

        with ExtractionPool(db_url, workers) as pool:
            report = run_pipeline(db_url, ids, batch_size=batch_size, wave_batches=wave_batches, run_id=run_id,
                                  extract=pool, load=load, dedup=later, progress=progress, stop=stop)
        # the pool's processes end before clustering: idle by then, they would hold their memory
        # (~850 MiB at report scale) through the clustering's own peak
        with _signatures_lock:
            _signatures.update(kept)
        report.duplicate_documents += _cluster(db_url, dedup, loaded, ids)
        return report
    run_key = f"run-{run_id}" if run_id is not None else f"local-{next(_local_runs)}"

    def default_load(wave_ids: list[int], extracted: list[list[Precomputed]], snapshot_key: str | None,
                     loader_key: str) -> EtlReport:
        return load_wave(wave_ids, extracted, db_url, snapshot_key, loader_key, run_id=run_id, batch_size=batch_size)

    load = load or default_load
    report = EtlReport()
    done = 0
    run_waves = waves(ids, batch_size, wave_batches, run_key)
    try:
        if isinstance(extract, ExtractionPool):
            ahead = _pipelined(extract, run_waves, loader_for(run_key, db_url)[1])
        for index, wave in enumerate(run_waves):
            if isinstance(extract, ExtractionPool):
                extracted = ahead(index)
            else:
                extracted = extract(wave.batches, wave.key) if extract is not None else []
            keep_signatures(extracted)
            report.add(load(wave.ids, extracted, wave.key if extract is not None else None, run_key))
            done += len(wave.ids)
            if progress:
                progress(done, len(ids))
            if stop is not None and done < len(ids) and stop():
                break
    except BaseException:
        take_signatures(ids)  # the run fails: no clustering will take them
        raise
    finally:
        close_loader(run_key)
    report.duplicate_documents += _cluster(db_url, dedup, ids[:done], ids)
    return report


def _cluster(db_url: str, dedup: Dedup | None, loaded: list[int], ids: list[int]) -> int:
    """The run's duplicate clustering over ``loaded`` (the ``dedup`` hook, default :func:`dedup_documents`);
    then the signatures of ``ids`` it did not take are dropped (a hook that clusters in another
    process, a Dask worker's; a failed clustering; waves a ``stop`` left unloaded), so that none
    outlives its run in a long-lived process."""
    try:
        return dedup(loaded) if dedup is not None else dedup_documents(db_url, loaded)
    finally:
        take_signatures(ids)
