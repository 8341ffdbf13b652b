"""Whole-ETL throughput into PostgreSQL (and SQLite): documents/second for ``run_etl``.

    .venv/bin/python benchmarks/bench_etl_load.py [--preset small] [--limit 4000] [--engines postgresql,sqlite]

The demo world's documents are written straight into ``documents`` (what a crawl would store),
then :func:`etl.load.run_etl` extracts and loads them: organisations resolved or created, events
deduplicated, mentions, labels, one transaction per batch. As a baseline in the same run the
extraction alone (no database; gazetteer = seeds + the registry, as the ETL starts) is timed over
the same documents, so the figures show what loading costs on top of extraction. PostgreSQL uses a throwaway database on 127.0.0.1 (created and dropped).
Targets (issue 5): extraction >= 500 documents/s and the whole ETL into PostgreSQL >= 200 documents/s
on one core.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg  # noqa: E402

from db.bootstrap import prepare_database  # noqa: E402
from db.session import make_engine, session_factory  # noqa: E402
from demosite.evaluation import world_documents  # noqa: E402
from demosite.render import render_site  # noqa: E402
from demosite.world import build_world  # noqa: E402
from etl.extract import extract_document  # noqa: E402
from etl.gazetteer import registry_gazetteer, seed_gazetteer  # noqa: E402
from etl.lexicon import load_lexicon  # noqa: E402
from etl.load import run_etl  # noqa: E402
from tests.worldeval import store_world_documents  # noqa: E402


def _load(url: str, world: Path, docs: list[dict]) -> tuple[float, float]:
    engine = make_engine(url)
    prepare_database(engine)
    with session_factory(engine)() as session:
        store_world_documents(session, world, docs)
        started = time.process_time(), time.perf_counter()
        report = run_etl(session, batch_size=200)
        cpu, wall = time.process_time() - started[0], time.perf_counter() - started[1]
    engine.dispose()
    print(f"    {report.documents:,} documents, {report.events_new:,} events, {report.mentions_new:,} mentions, "
          f"{report.organisations_new:,} organisations created, {report.quarantined} quarantined; "
          f"wall {wall:.1f} s, this process's CPU {cpu:.1f} s")
    return report.documents / cpu, report.documents / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--limit", type=int, default=4000)
    parser.add_argument("--engines", default="postgresql,sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aimap-bench-etl-") as tmp:
        world = render_site(build_world(seed=7, preset=args.preset), Path(tmp) / "w").out_dir
        docs = world_documents(world / "truth")[: args.limit]  # the reachable ones, as a crawl stores them
        gazetteer, lexicon = registry_gazetteer(world / "firms.csv", seed_gazetteer()), load_lexicon()
        started = time.process_time()
        for d in docs:
            extract_document(d["text"], dt.date.fromisoformat(d["published"]), gazetteer, lexicon, d["title"])
        extraction_rate = len(docs) / (time.process_time() - started)
        print(f"extraction alone: {len(docs):,} documents, {extraction_rate:,.0f} documents/s (CPU, one core; target >= 500)")
        for engine in args.engines.split(","):
            if engine == "sqlite":
                rate = _load(f"sqlite:///{Path(tmp) / 'bench.db'}", world, docs)
            else:
                name = f"aimap_bench_{uuid.uuid4().hex[:10]}"
                with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as admin:
                    admin.execute(f'CREATE DATABASE "{name}"')
                try:
                    rate = _load(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", world, docs)
                finally:
                    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as admin:
                        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            target = " (target >= 200)" if engine == "postgresql" else ""
            cpu_rate, wall_rate = rate
            print(f"whole ETL into {engine}: {wall_rate:,.0f} documents/s wall clock{target}, {cpu_rate:,.0f} per "
                  f"second of this process's CPU; loading costs {1 - cpu_rate / extraction_rate:.0%} of the "
                  f"extraction-only rate")


if __name__ == "__main__":
    main()
