"""End-to-end time of the annual refresh, and how much of it is Prefect's.

    .venv/bin/python benchmarks/bench_refresh.py                      # the small world (~15 min on 2 cores)
    .venv/bin/python benchmarks/bench_refresh.py --presets tiny       # a quick look (~2 min)
    .venv/bin/python benchmarks/bench_refresh.py --dask-workers 2     # + the ETL flow on threads vs Dask
    .venv/bin/python benchmarks/bench_refresh.py --presets small,report --no-baseline   # report: hours
    .venv/bin/python benchmarks/bench_refresh.py --presets report --no-baseline --postgres   # issue 17's target run
    .venv/bin/python benchmarks/bench_refresh.py --etl-alone KEEP/report/prefect/aimap.db   # the ETL flow alone
    .venv/bin/python benchmarks/bench_refresh.py --weekly-on KEEP/report/prefect/aimap.db   # a weekly update

For each world preset (seed 7, rendered and served on 127.0.0.1, SQLite — or with ``--postgres`` a
throwaway PostgreSQL database on 127.0.0.1, where the ETL also runs beside the crawl
(:class:`flows.refresh.EtlDuringCrawl`) — and Prefect's ephemeral API as ``make demo`` runs it):

- **Ours**: :func:`flows.refresh.annual_refresh` for the edition after the world's last year (the
  ephemeral API is started first and its start-up printed apart) —
  crawl (one Scrapy process per source, serialised by the per-domain limit: the demo web is one
  host), ETL (extraction mapped over batches, loading in order), gate, analysis with charts,
  publish. Printed: the wall time, each stage's time as its own records say (``pipeline_runs``:
  crawl processes, the ETL pass, the gate, the analysis, the publish step; overlapping
  intervals counted once) and the rest — Prefect's overhead (API calls, task and flow run
  bookkeeping, artifacts, waits for concurrency slots) — as seconds and as a share of the whole;
  how many documents the ETL passes beside the crawl took, and what the pass after it had left.
- **Baseline** (same run, fresh database): the same stages as plain function calls without
  Prefect — :func:`crawlers.run.run_crawl` per source one after the other,
  :func:`etl.load.run_etl`, :func:`analysis.quality.evaluate`, :func:`analysis.report.build_report`.
  Printed: its time per stage and the ratio Prefect / plain.
- The demo web is served by a child process (as other machines serve the real web), not by a
  thread of the process that runs the refresh and its ETL.
- Peak memory beside each run's times: the largest RSS of the whole process tree (this process —
  which runs the ETL and analysis — plus every child: the demo web's server, Scrapy crawls,
  Prefect's API, Dask workers), summed over the tree and sampled every 0.2 s with psutil, and
  ``getrusage``'s peak of the largest single process (self / children) as a cross-check.
- With ``--dask-workers N``: the ETL flow alone on the database as the baseline's crawl left it,
  on the default thread runner and on a local Dask cluster of N processes, against the
  baseline's plain :func:`etl.load.run_etl` (the scale-out of issue 7).

Nothing is contacted but 127.0.0.1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


#: Throwaway PostgreSQL databases made by this run (dropped at its end unless ``--keep``).
CREATED: list[str] = []


def _env(base: Path, name: str, postgres: bool = False) -> None:
    """Point the configuration at a fresh database (SQLite under ``base/name``, or with ``postgres``
    a new PostgreSQL database on 127.0.0.1), home and output under ``base/name``."""
    from db.session import _cached_engine

    _cached_engine.cache_clear()
    os.environ["DATABASE_URL"] = f"sqlite:///{base / name / 'aimap.db'}"
    if postgres:  # the fault harness's throwaway databases (AIMAP_TEST_PG_DSN, 127.0.0.1 by default)
        import psycopg

        from tests.faults import harness

        with psycopg.connect(harness.PG_ADMIN_DSN, autocommit=True) as admin:
            database = harness.create_database(admin, prefix="aimap_bench_refresh")
        CREATED.append(database)
        os.environ["DATABASE_URL"] = harness.pg_url(database)
    os.environ["AIMAP_HOME"] = str(base / name / "home")
    os.environ["AIMAP_OUT"] = str(base / name / "out")
    (base / name).mkdir(parents=True, exist_ok=True)


def _prepare(manifest: Any) -> None:
    from db.bootstrap import prepare_database
    from db.session import session_scope
    from etl.registry import import_registry

    prepare_database()
    with session_scope() as session:
        import_registry(session, manifest.registry_csv)


def _union(spans: list[tuple[dt.datetime, dt.datetime]]) -> float:
    """Seconds covered by the intervals (overlaps counted once)."""
    total, end = 0.0, None
    for a, b in sorted(spans):
        if end is None or a > end:
            total += (b - a).total_seconds()
            end = b
        elif b > end:
            total += (b - end).total_seconds()
            end = b
    return total


def _stage_spans() -> dict[str, list[tuple[dt.datetime, dt.datetime]]]:
    from sqlalchemy import select

    from db.models import PipelineRun
    from db.session import session_scope

    out: dict[str, list[tuple[dt.datetime, dt.datetime]]] = {"crawl": [], "etl": [], "gate": [], "analyze": [],
                                                              "publish": []}
    with session_scope() as session:
        for run in session.scalars(select(PipelineRun)):
            if run.finished_at is None:
                continue
            key = run.flow if run.flow in ("crawl", "etl", "analyze") else (
                run.parameters.get("step") if run.flow == "refresh-step" else None)
            if key in ("gate", "publish"):
                out[key].append((run.started_at, run.finished_at))
            elif key in ("crawl", "etl", "analyze"):
                out[key].append((run.started_at, run.finished_at))
    return out


def _beside_crawl() -> str:
    """How much of the ETL ran beside the crawl (``etl:during-crawl`` passes) and how much after it."""
    from sqlalchemy import select

    from db.models import PipelineRun
    from db.runs import ETL_DURING_CRAWL_STEP
    from db.session import session_scope

    with session_scope() as session:
        rows = [r for r in session.scalars(select(PipelineRun).where(PipelineRun.flow == "refresh-step"))
                if r.state == "completed" and r.finished_at is not None]
    beside = [r for r in rows if r.parameters.get("step") == ETL_DURING_CRAWL_STEP]
    after = [r for r in rows if r.parameters.get("step") == "etl"]
    documents = [sum(int(r.counts.get("documents", 0) or 0) for r in found) for found in (beside, after)]
    seconds = sum((r.finished_at - r.started_at).total_seconds() for r in after)
    return (f"{len(beside)} passes took {documents[0]:,} documents while it crawled; the pass after it "
            f"{documents[1]:,} documents in {seconds:.1f} s")


class PeakMemory:
    """Sample the RSS of this process and all its descendants in a background thread; keep the peak.

    A crawl child lives for seconds, so a 0.2 s sampling period catches its working set; the figure
    is the sum over the tree at one instant (what the machine must hold), not a sum of peaks.
    Processes named in ``exclude`` (the demo web's server: it stands in for the web, which
    other machines serve) are left out of the sum; their own peak is kept apart.
    """

    def __init__(self, period: float = 0.2, exclude: tuple[int, ...] = ()) -> None:
        self.period = period
        self.peak = 0
        self.excluded_peak = 0
        self._excluded: set[int] = set(exclude)
        #: at the peak: (label, RSS, PSS) of each counted process of the tree
        self.at_peak: list[tuple[str, int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="peak-memory", daemon=True)

    def _tree_rss(self) -> tuple[int, int]:
        import psutil

        me = psutil.Process()
        total = apart = 0
        counted = []
        for proc in [me, *me.children(recursive=True)]:
            try:
                rss = proc.memory_info().rss
                if proc.pid in self._excluded or any(p.pid in self._excluded for p in proc.parents()):
                    apart += rss
                else:
                    total += rss
                    counted.append((proc, rss))
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue  # ended between listing and reading
        if total > self.peak:
            self.at_peak = [(self._label(proc, me), rss, self._pss(proc)) for proc, rss in counted]
        return total, apart

    @staticmethod
    def _label(proc: Any, me: Any) -> str:
        """What a process of the tree is: this process, a pool worker, a crawl, Prefect's API ..."""
        import psutil

        if proc.pid == me.pid:
            return "this process (refresh, ETL loading, analysis)"
        try:
            line = " ".join(proc.cmdline())
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            return "ended"
        for marker, label in (("forkserver", "ETL pool (its forkserver and workers)"),
                              ("scrapy", "crawl"), ("crawlers", "crawl"), ("uvicorn", "Prefect API"),
                              ("prefect", "Prefect"), ("dask", "Dask"), ("spawn", "spawned child")):
            if marker in line:
                return label
        return proc.name()

    @staticmethod
    def _pss(proc: Any) -> int:
        """Proportional set size: shared pages (libraries, copy-on-write pages) split among the
        processes that map them, so PSS sums to what the tree holds; RSS counts them in each."""
        import psutil

        try:
            return int(getattr(proc.memory_full_info(), "pss", 0))
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            return 0

    def _sample(self) -> None:
        while not self._stop.is_set():
            total, apart = self._tree_rss()
            self.peak, self.excluded_peak = max(self.peak, total), max(self.excluded_peak, apart)
            self._stop.wait(self.period)

    def breakdown(self) -> str:
        """The tree at its peak, by kind of process: RSS (and PSS, shared pages counted once)."""
        groups: dict[str, list[int]] = {}
        for label, rss, pss in self.at_peak:
            group = groups.setdefault(label, [0, 0, 0])
            group[0], group[1], group[2] = group[0] + 1, group[1] + rss, group[2] + pss
        parts = [f"{label}{f' x{n}' if n > 1 else ''} {rss / 2**20:,.0f} MiB (PSS {pss / 2**20:,.0f})"
                 for label, (n, rss, pss) in sorted(groups.items(), key=lambda kv: -kv[1][1])]
        pss_total = sum(pss for _, _, pss in self.at_peak)
        return f"at the peak: {'; '.join(parts)}; PSS of the tree {pss_total / 2**20:,.0f} MiB"

    def __enter__(self) -> PeakMemory:
        self.peak = self._tree_rss()[0]
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> str:
        """The peak of the tree and getrusage's peaks (largest single process so far, not only this run)."""
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        apart = (f"; the demo web's server, not counted: {self.excluded_peak / 2**20:,.0f} MiB at its largest"
                 if self._excluded else "")
        return (f"peak memory {self.peak / 2**20:,.0f} MiB (RSS of the process tree, sampled every "
                f"{self.period:g} s; target <= 4 GiB){apart}; getrusage max RSS so far: this process {own:,.0f} MiB, "
                f"largest waited-for child {children:,.0f} MiB; {self.breakdown()}")


def _serve_child(root: str, ready: Any) -> None:
    from demosite.server import serve_forever

    serve_forever(Path(root), port=0, on_ready=lambda site: ready.put(site.base_url))


@contextmanager
def served(root: Path) -> Iterator[SimpleNamespace]:
    """The demo web served by a child process, as the real web is served by other machines: its
    requests do not wait for the interpreter lock of the process that runs the refresh (the ETL
    passes beside the crawl run there). Its memory counts in the process tree's peak."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    child = context.Process(target=_serve_child, args=(str(root), ready), name="demosite", daemon=True)
    child.start()
    try:
        yield SimpleNamespace(base_url=ready.get(timeout=300), pid=child.pid)
    finally:
        child.terminate()
        child.join(timeout=10)


def _render_child(seed: int, preset: str, out_dir: str, done: Any) -> None:
    from demosite.render import render_site
    from demosite.world import build_world

    done.put(render_site(build_world(seed=seed, preset=preset), Path(out_dir)))


def render_apart(seed: int, preset: str, out_dir: Path) -> Any:
    """Build and render the demo world in a child process; return its manifest.

    The world stands in for the web and is not part of the refresh: building the ``report`` world
    takes about 2.6 GiB, and a process that built it keeps about 1.4 GiB of it (freed memory is not
    given back to the system), which would count in the refresh's peak memory if this process built it."""
    import multiprocessing
    import queue

    context = multiprocessing.get_context("spawn")
    done = context.Queue()
    child = context.Process(target=_render_child, args=(seed, preset, str(out_dir), done), name="render-world")
    child.start()
    while True:
        try:
            manifest = done.get(timeout=5)
            break
        except queue.Empty:
            if not child.is_alive():
                raise RuntimeError(f"rendering the {preset} world failed (exit code {child.exitcode})") from None
    child.join(timeout=60)
    return manifest


def start_api() -> float:
    """Start Prefect's ephemeral API (as the first flow run would); return the seconds it took."""
    from prefect.client.orchestration import get_client

    started = time.perf_counter()
    with get_client(sync_client=True) as client:
        client.api_healthcheck()
    return time.perf_counter() - started


def run_prefect(manifest: Any, edition: int) -> dict[str, Any]:
    from flows.refresh import annual_refresh

    started = time.perf_counter()
    # the web is served by other machines: its stand-in's memory is printed apart, not counted
    with served(manifest.root) as server, PeakMemory(exclude=(server.pid,)) as memory:
        result = annual_refresh(edition, sources_dir=str(manifest.sources_dir), base_url=server.base_url)
    wall = time.perf_counter() - started
    spans = _stage_spans()
    stages = {k: _union(v) for k, v in spans.items()}
    covered = _union([s for v in spans.values() for s in v])
    return {"wall": wall, "stages": stages, "stage_total": covered, "ran": result["ran"], "memory": memory.summary(),
            "beside": _beside_crawl()}


def _snapshot_database(target: Path) -> None:
    """Copy the configured SQLite database (WAL checkpointed first) to ``target``."""
    import shutil
    import sqlite3

    from db.session import _cached_engine

    _cached_engine.cache_clear()
    source = Path(os.environ["DATABASE_URL"].removeprefix("sqlite:///"))
    with sqlite3.connect(source) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(source, target)


def run_etl_runners(base: Path, workers: int) -> dict[str, float]:
    """The ETL flow on the crawled database (copied after the baseline's crawl): threads, then local Dask."""
    import shutil

    from flows.etl import run_etl_flow

    times = {}
    for runner in ("threads", "dask"):
        _env(base, f"etl-{runner}")
        shutil.copy(base / "crawled.db", base / f"etl-{runner}" / "aimap.db")
        if runner == "dask":
            os.environ["AIMAP_DASK_ADDRESS"], os.environ["AIMAP_DASK_WORKERS"] = "local", str(workers)
        started = time.perf_counter()
        run_etl_flow()
        times[runner] = time.perf_counter() - started
        os.environ.pop("AIMAP_DASK_ADDRESS", None)
    return times


def _reset_etl(db: Path) -> None:
    """Remove what the ETL wrote (events, mentions, labels, judgements, organisations it created,
    fingerprints, its quarantine records) so every document of the copy is pending again."""
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.executescript("""
            PRAGMA foreign_keys = ON;
            DELETE FROM event_tech_categories; DELETE FROM event_application_domains; DELETE FROM mentions;
            DELETE FROM event_reviews; DELETE FROM cooperation_events; DELETE FROM judgements;
            DELETE FROM document_fingerprints; DELETE FROM pipeline_errors WHERE stage = 'etl';
            DELETE FROM aliases WHERE source = 'resolver'
                OR organisation_id IN (SELECT id FROM organisations WHERE origin <> 'registry');
            DELETE FROM organisations WHERE origin <> 'registry';
            UPDATE documents SET extracted_sha256 = NULL, extractor_version = NULL, extracted_at = NULL;
        """)


def _copy_database(source: Path, base: Path, name: str) -> Path:
    """A copy of the SQLite database ``source`` (its write-ahead log folded in) as the database of
    the run ``name`` under ``base`` (:func:`_env` points the configuration at it)."""
    import shutil
    import sqlite3

    _env(base, name)
    target = base / name / "aimap.db"
    with sqlite3.connect(source) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(source, target)
    return target


def _timed_etl_flow() -> tuple[dict[str, Any], float]:
    """The ETL flow (threads, as in the refresh) on the configured database: its counts and wall time."""
    from flows.etl import run_etl_flow

    started = time.perf_counter()
    counts = run_etl_flow()
    return counts, time.perf_counter() - started


def run_etl_alone(crawled: Path, base: Path) -> None:
    """The ETL flow alone on a copy of a crawled database."""
    _reset_etl(_copy_database(crawled, base, "etl-alone"))
    counts, wall = _timed_etl_flow()
    print(f"\nETL flow alone on {crawled} (a copy, ETL results removed): {counts['documents']:,} documents, "
          f"{counts['events_new']:,} events, {counts['mentions_new']:,} mentions, {counts['quarantined']} quarantined, "
          f"{counts.get('duplicate_documents', 0):,} duplicates: {wall:.1f} s = {counts['documents'] / wall:,.0f} "
          "documents/s", flush=True)


def run_weekly(refreshed: Path, base: Path, share: float = 0.01, seed: int = 7) -> None:
    """A weekly update on a copy of a refreshed database: ``share`` of its documents (a seeded
    sample) changed since the refresh — their extracted hash no longer their body's, as after a crawl
    that stored a new body — then the ETL flow (the scheduled one) over what is pending, timed end to end."""
    import random
    import sqlite3

    with sqlite3.connect(_copy_database(refreshed, base, "weekly")) as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM documents ORDER BY id")]
        changed = sorted(random.Random(seed).sample(ids, max(1, round(len(ids) * share))))
        # extracted from another body than the stored one: the ETL forgets its mentions and reads it again
        conn.executemany("UPDATE documents SET extracted_sha256 = ? WHERE id = ?", [("0" * 64, i) for i in changed])
    counts, wall = _timed_etl_flow()
    with sqlite3.connect(refreshed) as before, sqlite3.connect(base / "weekly" / "aimap.db") as after:
        events = [conn.execute("SELECT count(*) FROM cooperation_events").fetchone()[0] for conn in (before, after)]
    print(f"\nweekly update on {refreshed} (a copy): {len(changed):,} of {len(ids):,} documents changed "
          f"({share:.0%}); ETL flow: {counts['documents']:,} documents, events {counts['events_removed']:,} removed "
          f"with their documents' old mentions and {counts['events_new']:,} made again ({events[0]:,} events before, "
          f"{events[1]:,} after), {counts['quarantined']} quarantined: {wall:.1f} s end to end (target <= 60 s; "
          "the crawl that would find them is not included)", flush=True)


def run_plain(manifest: Any, edition: int) -> dict[str, Any]:
    from analysis.quality import evaluate
    from analysis.report import build_report
    from common.config import out_dir
    from crawlers.run import run_crawl
    from crawlers.sources import list_sources
    from db.runs import Ledger
    from db.session import session_scope
    from etl.load import run_etl

    stages: dict[str, float] = {}
    started = time.perf_counter()
    with PeakMemory() as memory:
        with served(manifest.root) as server:
            t = time.perf_counter()
            for source in list_sources(manifest.sources_dir):
                run_crawl(source.name, sources_dir=manifest.sources_dir, base_url=server.base_url)
            stages["crawl"] = time.perf_counter() - t
        if os.environ["DATABASE_URL"].startswith("sqlite"):  # kept for --dask-workers
            _snapshot_database(Path(os.environ["AIMAP_HOME"]).parents[1] / "crawled.db")
        t = time.perf_counter()
        with session_scope() as session:
            report = run_etl(session)
        stages["etl"] = time.perf_counter() - t
        t = time.perf_counter()
        with session_scope() as session:
            evaluate(session, edition, Ledger(edition))
        stages["gate"] = time.perf_counter() - t
        t = time.perf_counter()
        with session_scope() as session:
            build_report(session, out_dir(), edition=edition)
        stages["analyze"] = time.perf_counter() - t
    return {"wall": time.perf_counter() - started, "stages": stages, "documents": report.documents,
            "memory": memory.summary()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", default="small", help="comma-separated world presets (tiny, small, medium, report)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-baseline", action="store_true", help="skip the run without Prefect")
    parser.add_argument("--dask-workers", type=int, default=0,
                        help="also time the ETL flow alone on threads and on a local Dask cluster of this many "
                             "processes, against the baseline's plain run_etl (needs the baseline)")
    parser.add_argument("--postgres", action="store_true",
                        help="run on throwaway PostgreSQL databases on 127.0.0.1 (default: SQLite files)")
    parser.add_argument("--keep", type=Path, help="work here and keep the files (default: a temporary directory)")
    parser.add_argument("--etl-alone", type=Path, metavar="DB",
                        help="instead: time the ETL flow alone on a copy of this crawled SQLite database (e.g. "
                             "KEEP/report/prefect/aimap.db of an earlier --keep run), its ETL results removed")
    parser.add_argument("--weekly-on", type=Path, metavar="DB",
                        help="instead: time a weekly update (1%% of the documents changed, the ETL flow) on a copy "
                             "of this refreshed SQLite database (e.g. KEEP/report/prefect/aimap.db)")
    args = parser.parse_args()
    if args.dask_workers and args.postgres:
        parser.error("--dask-workers runs on the SQLite copy of the baseline's crawl: leave out --postgres")
    try:
        return _main(args)
    finally:
        if CREATED and not args.keep:
            import psycopg

            from db.session import _cached_engine
            from tests.faults import harness

            _cached_engine.cache_clear()
            with psycopg.connect(harness.PG_ADMIN_DSN, autocommit=True) as admin:
                for database in CREATED:
                    harness.drop_database(admin, database)
        elif CREATED:
            print(f"kept PostgreSQL databases: {', '.join(CREATED)}")


def _main(args: argparse.Namespace) -> int:
    """The runs ``args`` ask for (see the module docstring)."""
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    with tempfile.TemporaryDirectory(prefix="aimap-bench-refresh-") as tmp:
        base = args.keep or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)  # Prefect creates its home without parents
        os.environ.setdefault("PREFECT_HOME", str(base / "prefect"))
        print(f"Prefect's ephemeral API started in {start_api():.1f} s (once per process; not counted below: "
              "a served or deployed install keeps its server running)", flush=True)
        if args.etl_alone:
            run_etl_alone(args.etl_alone.resolve(), base)
            return 0
        if args.weekly_on:
            run_weekly(args.weekly_on.resolve(), base)
            return 0

        for preset in args.presets.split(","):
            t = time.perf_counter()
            manifest = render_apart(args.seed, preset, base / preset / "world")
            through = json.loads((manifest.out_dir / "world.json").read_text())["through_year"]
            edition = int(through) + 1
            truth = json.loads((manifest.truth_dir / "world.json").read_text())["counts"]
            print(f"\n{preset}: {manifest.firms:,} firms, {manifest.events:,} events, "
                  f"{truth['crawlable_documents']:,} crawlable documents, edition {edition} "
                  f"(world built and rendered in {time.perf_counter() - t:.1f} s, not counted)", flush=True)

            _env(base / preset, "prefect", args.postgres)
            _prepare(manifest)
            ours = run_prefect(manifest, edition)
            overhead = ours["wall"] - ours["stage_total"]
            engine = f"PostgreSQL {os.environ['DATABASE_URL'].rsplit('/', 1)[1]}" if args.postgres else "SQLite"
            print(f"  annual_refresh (Prefect, ephemeral API, {engine}): {ours['wall']:8.1f} s  "
                  f"(steps {', '.join(ours['ran'])})")
            print(f"    ETL beside the crawl: {ours['beside']}")
            print("    stages by their own records: " + ", ".join(f"{k} {v:.1f} s" for k, v in ours["stages"].items())
                  + f"; together {ours['stage_total']:.1f} s")
            print(f"    Prefect overhead (wall - stages): {overhead:.1f} s = {100 * overhead / ours['wall']:.1f}% "
                  "of the end-to-end time", flush=True)
            print(f"    {ours['memory']}", flush=True)
            if args.no_baseline:
                continue
            _env(base / preset, "plain", args.postgres)
            _prepare(manifest)
            plain = run_plain(manifest, edition)
            print(f"  baseline, the same stages as plain calls:         {plain['wall']:8.1f} s  ("
                  + ", ".join(f"{k} {v:.1f} s" for k, v in plain["stages"].items()) + ")")
            print(f"    {plain['memory']}")
            print(f"  ratio Prefect / plain: {ours['wall'] / plain['wall']:.2f}x; per stage: " + ", ".join(
                f"{k} {ours['stages'][k] / v:.2f}x" for k, v in plain["stages"].items() if v > 0), flush=True)
            if args.dask_workers:
                etl = run_etl_runners(base / preset, args.dask_workers)
                plain_etl = plain["stages"]["etl"]
                print(f"  ETL flow alone on the crawled database: threads {etl['threads']:.1f} s "
                      f"({etl['threads'] / plain_etl:.2f}x plain run_etl {plain_etl:.1f} s), local Dask with "
                      f"{args.dask_workers} processes {etl['dask']:.1f} s ({etl['dask'] / plain_etl:.2f}x; "
                      f"speed-up over threads {etl['threads'] / etl['dask']:.2f}x)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
