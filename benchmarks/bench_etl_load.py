"""Whole-ETL throughput into PostgreSQL and SQLite: bulk load vs the per-document path, the process pool, a weekly increment.

    .venv/bin/python benchmarks/bench_etl_load.py [--preset small] [--limit 4000] [--engines postgresql,sqlite]
                                                  [--workers 1,2] [--no-baseline] [--no-pool] [--no-weekly]

The demo world's documents are written straight into ``documents`` (what a crawl would store),
then the ETL extracts and loads them: organisations resolved or created, events deduplicated,
mentions, labels, one transaction per batch, duplicate clustering at the end. Printed, in one run:

- **extraction alone** (no database; ``etl.pairs.extract_with_model``, what the ETL runs, with
  the gazetteer it starts from: seeds + the registry) over the same documents, CPU of one core;
- **load, per engine**: :func:`etl.load.run_etl` with ``bulk=False`` (the baseline: every
  document in its own savepoint, ORM rows — the careful path) and ``bulk=True`` (set-based
  batches: one flush for organisations, aliases and events, ``COPY``/``executemany`` for mentions
  and labels, one statement for the documents' marks), documents/s wall clock and the ratio;
- **process pool** (:func:`etl.pipeline.run_pipeline` with 1 and 2 extraction processes, what
  ``aimap etl`` runs) into the first engine, documents/s and the speed-up from 1 to 2 workers;
  then the pool's extraction alone (nothing loaded) with 1 and 2 workers, and its speed-up;
- **weekly increment**: after the full load, 1% more documents, the ETL again (wall clock);
- with ``--at-scale N`` only this: N documents loaded first (untimed), then the pool over
  ``--limit`` more, with the CPU time of the loading process, of the workers and of the local
  PostgreSQL server — the ETL's throughput on a database the size a refresh reaches (``--preset report``).

PostgreSQL uses throwaway databases on 127.0.0.1 (created and dropped). Targets (issue 17):
before/after figures on both engines; the pool's speed-up from 1 to 2 workers >= 1.7x.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg  # noqa: E402

from db.bootstrap import prepare_database  # noqa: E402
from db.session import make_engine, session_factory  # noqa: E402
from demosite.evaluation import world_documents  # noqa: E402
from demosite.render import render_site  # noqa: E402
from demosite.world import build_world  # noqa: E402
from etl import pipeline  # noqa: E402
from etl.gazetteer import registry_gazetteer, seed_gazetteer  # noqa: E402
from etl.lexicon import load_lexicon  # noqa: E402
from etl.load import EtlReport, run_etl  # noqa: E402
from etl.pairs import extract_with_model  # noqa: E402
from tests.worldeval import store_world_documents  # noqa: E402

ADMIN = "host=127.0.0.1 user=postgres dbname=postgres"


@contextmanager
def database(engine_name: str, tmp: Path) -> Iterator[str]:
    """A fresh, migrated database on ``engine_name``: its URL (PostgreSQL: dropped afterwards)."""
    if engine_name == "sqlite":
        path = tmp / f"bench-{uuid.uuid4().hex[:8]}.db"
        url = f"sqlite:///{path}"
        name = None
    else:
        name = f"aimap_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    engine = make_engine(url)
    prepare_database(engine)
    engine.dispose()
    try:
        yield url
    finally:
        if name is not None:
            from db.session import _cached_engine

            _cached_engine.cache_clear()
            with psycopg.connect(ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)


def _store(url: str, world: Path, docs: list[dict]) -> None:
    engine = make_engine(url)
    with session_factory(engine)() as session:
        store_world_documents(session, world, docs)
    engine.dispose()


def _timed(label: str, run: Callable[[], EtlReport]) -> float:
    started = time.perf_counter()
    report = run()
    wall = time.perf_counter() - started
    print(f"    {label}: {report.documents:,} documents, {report.events_new:,} events, {report.mentions_new:,} "
          f"mentions, {report.organisations_new:,} organisations created, {report.quarantined} quarantined; "
          f"wall {wall:.1f} s = {report.documents / wall:,.0f} documents/s", flush=True)
    return report.documents / wall


class _ChildrenCpu:
    """CPU time of this process's descendants (the pool's workers), sampled every 0.5 s with psutil."""

    def __init__(self) -> None:
        import psutil

        self.cpu: dict[int, float] = {}
        self._me = psutil.Process()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        import psutil

        while not self._stop.wait(0.5):
            for child in self._me.children(recursive=True):
                try:
                    times = child.cpu_times()
                except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                    continue
                self.cpu[child.pid] = times.user + times.system

    def total(self) -> float:
        """Stop sampling; the CPU seconds of every descendant seen (as last sampled)."""
        self._stop.set()
        self._thread.join()
        return sum(self.cpu.values())


def _postgres_cpu() -> float | None:
    """CPU seconds of the local PostgreSQL server's processes so far, the exited backends included
    (the postmaster's waited-for children), or None where they cannot be read (another user's processes)."""
    import psutil

    try:
        server = [p for p in psutil.process_iter(["username", "name", "ppid"])
                  if p.info["username"] == "postgres" or p.info["name"] in ("postgres", "postmaster")]
        pids = {p.pid for p in server}
        total = 0.0
        for proc in server:
            times = proc.cpu_times()
            total += times.user + times.system
            if proc.info["ppid"] not in pids:  # the postmaster (its parent is not the server's): exited backends too
                total += times.children_user + times.children_system
        return total
    except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
        return None


def _at_scale(engine_name: str, tmp: Path, world: Path, every: list[dict], loaded: int, limit: int,
              wave_batches: list[int]) -> None:
    """``aimap etl``'s path (pool of 2, batches of 200) over ``limit`` documents after ``loaded`` others
    were loaded (untimed), every document of the world stored: throughput on a database of the size
    a refresh reaches. With several ``wave_batches`` (batches per wave; the flow's default is 16) on
    PostgreSQL, each is timed on its own copy of the database after the ``loaded`` documents
    (``CREATE DATABASE … TEMPLATE``), so the settings are compared from the same state in one run."""
    with database(engine_name, tmp) as url:
        _store(url, world, every)  # every document, as after a crawl; loaded in aimap etl's order
        ids = pipeline.pending(url)
        started = time.perf_counter()
        pipeline.run_pipeline(url, ids[:loaded], workers=2)
        print(f"at scale, {engine_name}: {loaded:,} documents loaded first in {time.perf_counter() - started:.0f} s "
              "(not counted)", flush=True)
        for waves in wave_batches:
            with _copy(url, engine_name, len(wave_batches) > 1) as run_url:
                children, cpu, server = _ChildrenCpu(), time.process_time(), _postgres_cpu()
                wall = _timed(f"then {limit:,} more, pool of 2, waves of {waves} batches",
                              lambda u=run_url, w=waves: pipeline.run_pipeline(u, ids[loaded:loaded + limit], workers=2,
                                                                               wave_batches=w))
                after = _postgres_cpu()
                server_cpu = f", PostgreSQL {after - server:.1f} s" if server is not None and after is not None else ""
                print(f"      CPU: loading process {time.process_time() - cpu:.1f} s, extraction workers "
                      f"{children.total():.1f} s{server_cpu} ({wall:,.0f} documents/s; target >= 400 at report scale)",
                      flush=True)


@contextmanager
def _copy(url: str, engine_name: str, wanted: bool) -> Iterator[str]:
    """A throwaway copy of the PostgreSQL database ``url`` (when ``wanted``), else ``url`` itself."""
    if not wanted or engine_name != "postgresql":
        yield url
        return
    from db.session import _cached_engine

    _cached_engine(url).dispose()  # no connection may stay open on a template
    _cached_engine.cache_clear()
    source = url.rsplit("/", 1)[1]
    name = f"{source}_copy"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    try:
        yield url.rsplit("/", 1)[0] + "/" + name
    finally:
        _cached_engine.cache_clear()
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pool_alone(engine_name: str, tmp: Path, world: Path, docs: list[dict], sizes: list[int]) -> None:
    """The pool's extraction alone (no loading: the waves' batches against the database's snapshot),
    with each pool size: how far the workers themselves scale, apart from the one loading process
    that bounds the ETL's speed-up on two cores (README: "Why the pool cannot reach 1.7x")."""
    with database(engine_name, tmp) as url:
        _store(url, world, docs)
        ids = pipeline.pending(url)
        batches = [ids[i:i + 200] for i in range(0, len(ids), 200)]
        rates = {}
        for workers in sizes:
            with pipeline.ExtractionPool(url, workers) as pool:
                pool([batches[0][:workers]] * workers, "alone")  # start-up and the snapshot are not counted
                started = time.perf_counter()
                extracted = pool(batches, "alone")
                wall = time.perf_counter() - started
            rates[workers] = sum(map(len, extracted)) / wall
            print(f"    extraction alone, {workers} worker(s): {sum(map(len, extracted)):,} documents in {wall:.1f} s = "
                  f"{rates[workers]:,.0f} documents/s", flush=True)
    first, last = sizes[0], sizes[-1]
    print(f"  the pool's extraction alone, speed-up from {first} to {last} workers: {rates[last] / rates[first]:.2f}x",
          flush=True)


def _serial(url: str, bulk: bool) -> EtlReport:
    engine = make_engine(url)
    with session_factory(engine)() as session:
        report = run_etl(session, batch_size=200, bulk=bulk)
    engine.dispose()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--limit", type=int, default=4000)
    parser.add_argument("--engines", default="postgresql,sqlite")
    parser.add_argument("--workers", default="1,2", help="pool sizes to time (the speed-up is last / first)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the per-document baseline")
    parser.add_argument("--no-pool", action="store_true")
    parser.add_argument("--no-weekly", action="store_true")
    parser.add_argument("--at-scale", type=int, metavar="N", default=0,
                        help="only this: load N documents (untimed), then time the pool on --limit more "
                             "(e.g. --preset report --at-scale 82000 --limit 20000)")
    parser.add_argument("--wave-batches", default="16",
                        help="with --at-scale: batches of 200 per wave to time, each from a copy of the "
                             "database (e.g. 16,4)")
    args = parser.parse_args()
    engines = args.engines.split(",")
    with tempfile.TemporaryDirectory(prefix="aimap-bench-etl-") as tmp_name:
        tmp = Path(tmp_name)
        world = render_site(build_world(seed=7, preset=args.preset), tmp / "w").out_dir
        every = world_documents(world / "truth")  # the reachable ones, as a crawl stores them
        docs = every[: args.limit]
        if args.at_scale:
            _at_scale(engines[0], tmp, world, every, args.at_scale, args.limit,
                      [int(w) for w in args.wave_batches.split(",")])
            return
        gazetteer, lexicon = registry_gazetteer(world / "firms.csv", seed_gazetteer()), load_lexicon()
        started = time.process_time()
        for d in docs:
            extract_with_model(d["text"], dt.date.fromisoformat(d["published"]), gazetteer, lexicon, d["title"])
        extraction_rate = len(docs) / (time.process_time() - started)
        print(f"extraction alone: {len(docs):,} documents, {extraction_rate:,.0f} documents/s (CPU, one core)",
              flush=True)

        for engine_name in engines:
            print(f"{engine_name}:")
            rates = {}
            for bulk in ((False, True) if not args.no_baseline else (True,)):
                with database(engine_name, tmp) as url:
                    _store(url, world, docs)
                    label = "bulk load (batches set-based)" if bulk else "baseline (per-document path)"
                    rates[bulk] = _timed(label, lambda u=url, b=bulk: _serial(u, b))
            if False in rates:
                print(f"  {engine_name}: {rates[False]:,.0f} -> {rates[True]:,.0f} documents/s wall clock, "
                      f"bulk / baseline = {rates[True] / rates[False]:.2f}x", flush=True)

        if not args.no_pool:
            engine_name = engines[0]
            sizes = [int(w) for w in args.workers.split(",")]
            print(f"process pool into {engine_name} (aimap etl's path, waves of one batch of 200 per worker):")
            rates = {}
            for workers in sizes:
                with database(engine_name, tmp) as url:
                    _store(url, world, docs)
                    ids = pipeline.pending(url)
                    rates[workers] = _timed(f"{workers} worker(s)", lambda u=url, i=ids, w=workers: pipeline.run_pipeline(
                        u, i, batch_size=200, wave_batches=w, workers=w))
            first, last = sizes[0], sizes[-1]
            print(f"  speed-up from {first} to {last} workers: {rates[last] / rates[first]:.2f}x (target >= 1.7x)",
                  flush=True)
            _pool_alone(engine_name, tmp, world, docs, sizes)

        if not args.no_weekly:
            engine_name = engines[0]
            extra = every[args.limit: args.limit + max(1, args.limit // 100)]
            with database(engine_name, tmp) as url:
                _store(url, world, docs)
                pipeline.run_pipeline(url, pipeline.pending(url), workers=0)
                _store(url, world, extra)
                started = time.perf_counter()
                report = pipeline.run_pipeline(url, pipeline.pending(url), workers=0)
                wall = time.perf_counter() - started
            print(f"weekly increment into {engine_name}: {report.documents:,} new documents after {len(docs):,} "
                  f"loaded: {wall:.1f} s end to end (run_pipeline, one process)", flush=True)


if __name__ == "__main__":
    main()
