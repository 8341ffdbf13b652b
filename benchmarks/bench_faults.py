"""The long fault run (issue 14): many seeded kills and connection drops of ``aimap etl`` and
``aimap analyze`` on PostgreSQL, each re-run and compared by content with an uninterrupted run;
then shuffled-order and split-incremental ETL runs compared by edges and Table 1. Prints one line
per run and how many matched.

    .venv/bin/python benchmarks/bench_faults.py                      # 12 seeds, tiny world
    .venv/bin/python benchmarks/bench_faults.py --seeds 50 --preset small --batch 50

The CI subset is ``tests/faults/`` (same tools: :mod:`tests.faults.harness`). Needs PostgreSQL
(``AIMAP_TEST_PG_DSN``, default 127.0.0.1:5432 user postgres). Exit status 1 if any run differed.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from db.session import _cached_engine  # noqa: E402
from demosite.evaluation import world_documents  # noqa: E402
from demosite.render import render_site  # noqa: E402
from demosite.world import build_world  # noqa: E402
from tests.faults import harness  # noqa: E402
from tests.faults.test_order_etl import etl, outcome, store  # noqa: E402
from tests.worldeval import store_world_documents  # noqa: E402

COMPARED = ("documents", "organisations", "edges", "mentions", "fingerprints", "running")


class Bench:
    """One benchmark session: the admin connection, the world, the templates, a scratch directory."""

    def __init__(self, preset: str, batch: int) -> None:
        self.admin = psycopg.connect(harness.PG_ADMIN_DSN, autocommit=True, connect_timeout=5)
        self.scratch = Path(tempfile.mkdtemp(prefix="aimap-bench-faults-"))
        self.world = render_site(build_world(seed=7, preset=preset), self.scratch / "world").out_dir
        self.documents = world_documents(self.world / "truth")
        self.batch = batch
        self.template = harness.prepare_template(
            self.admin, lambda s: store_world_documents(s, self.world, self.documents))
        self.empty = harness.prepare_template(self.admin, lambda s: None)
        self.made: list[str] = []

    def clone(self, template: str | None = None) -> tuple[str, Path]:
        name = harness.create_database(self.admin, template or self.template)
        self.made.append(name)
        home = self.scratch / name
        home.mkdir()
        return name, home

    def aimap(self, name: str, home: Path, *args: str, moment: harness.Moment | None = None) -> harness.Finished:
        return harness.run_aimap(list(args), harness.aimap_env(harness.pg_url(name), home), moment)

    def close(self) -> None:
        _cached_engine.cache_clear()
        for name in [*self.made, self.template, self.empty]:
            harness.drop_database(self.admin, name)
        self.admin.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


def etl_runs(bench: Bench, seeds: range) -> tuple[int, int]:
    name, home = bench.clone()
    started = time.perf_counter()
    assert bench.aimap(name, home, "etl", "--batch-size", str(bench.batch)).returncode == 0
    reference = harness.content(harness.pg_url(name))
    print(f"etl reference: {len(reference['documents'])} documents, {len(reference['edges'])} edges, "
          f"{len(reference['mentions'])} mentions, {len(reference['fingerprints'])} fingerprints "
          f"({time.perf_counter() - started:.1f} s)")
    total, matched = 0, 0
    for seed in seeds:
        kind = harness.ETL_FAULTS[seed % len(harness.ETL_FAULTS)]
        name, home = bench.clone()
        moment = harness.etl_moment(kind, seed, name, len(reference["documents"]), bench.batch, bench.admin)
        first = bench.aimap(name, home, "etl", "--batch-size", str(bench.batch), moment=moment)
        again = bench.aimap(name, home, "etl", "--batch-size", str(bench.batch))
        diff = harness.differences(reference, harness.content(harness.pg_url(name)), COMPARED)
        if again.returncode != 0:
            diff.append(f"re-run exit {again.returncode}: {again.stderr.strip().splitlines()[-1:]}")
        if kind == "drop" and first.returncode > 0 and ("Traceback" in first.stderr or "error:" not in first.stderr):
            diff.append("the dropped connection gave no one-line error")
        total, matched = total + 1, matched + (not diff)
        print(f"etl seed {seed:3d} {kind:8s} exit {first.returncode:4d} struck {first.struck!s:5s} "
              f"{'same' if not diff else 'DIFFERENT: ' + ' | '.join(diff)}")
        harness.drop_database(bench.admin, name)
    return matched, total


def analyze_runs(bench: Bench, seeds: range) -> tuple[int, int]:
    name, home = bench.clone()
    assert bench.aimap(name, home, "etl", "--batch-size", str(bench.batch)).returncode == 0
    bundle = home / "bundle"
    started = time.perf_counter()
    done = bench.aimap(name, home, "analyze", "--out", str(bundle))
    assert done.returncode == 0, done.stderr
    took = time.perf_counter() - started
    reference = harness.file_digests(bundle)
    print(f"analyze reference: {len(reference)} files ({took:.1f} s)")
    total, matched = 0, 0
    for seed in seeds:
        rng = random.Random(seed)
        kind = ("kill", "drop")[seed % 2]
        after = rng.uniform(1.0, took)
        moment = harness.Moment(after=after) if kind == "kill" else harness.Moment(
            after=after, drop=lambda: harness.drop_connections(bench.admin, name))
        shutil.rmtree(bundle, ignore_errors=True)
        first = bench.aimap(name, home, "analyze", "--out", str(bundle), moment=moment)
        again = bench.aimap(name, home, "analyze", "--out", str(bundle))
        diff = harness.differences({"files": reference}, {"files": harness.file_digests(bundle)})
        if again.returncode != 0:
            diff.append(f"re-run exit {again.returncode}: {again.stderr.strip().splitlines()[-1:]}")
        if harness.content(harness.pg_url(name))["running"]:
            diff.append("a run left running")
        total, matched = total + 1, matched + (not diff)
        print(f"analyze seed {seed:3d} {kind:4s} at {after:5.1f} s exit {first.returncode:4d} "
              f"{'same' if not diff else 'DIFFERENT: ' + ' | '.join(diff)}")
    return matched, total


def order_runs(bench: Bench, seeds: range) -> tuple[int, int]:
    name, _home = bench.clone()
    etl(harness.pg_url(name))
    reference = outcome(harness.pg_url(name))
    total, matched = 0, 0
    for seed in seeds:
        for mode in ("shuffled", "split5"):
            name, _home = bench.clone(bench.empty)
            url = harness.pg_url(name)
            docs = list(bench.documents)
            random.Random(seed).shuffle(docs)
            parts = [docs] if mode == "shuffled" else [docs[i::5] for i in range(5)]
            world = type("W", (), {"path": bench.world})
            for part in parts:
                store(url, world, part)
                etl(url)
            diff = harness.differences(reference, outcome(url))
            total, matched = total + 1, matched + (not diff)
            print(f"order seed {seed:3d} {mode:8s} {'same' if not diff else 'DIFFERENT: ' + ' | '.join(diff)}")
            harness.drop_database(bench.admin, name)
    return matched, total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=12, help="seeded runs per entry point")
    parser.add_argument("--preset", default="tiny", help="demo world preset (tiny, small, ...)")
    parser.add_argument("--batch", type=int, default=10, help="ETL batch size")
    parser.add_argument("--only", choices=("etl", "analyze", "order"), action="append", help="run only these parts")
    args = parser.parse_args()
    parts = args.only or ["etl", "analyze", "order"]
    bench = Bench(args.preset, args.batch)
    results: dict[str, Any] = {}
    started = time.perf_counter()
    try:
        print(f"{harness.stamp()} world {args.preset}: {len(bench.documents)} documents; batch {args.batch}; "
              f"seeds 1..{args.seeds}")
        if "etl" in parts:
            results["etl kills/drops"] = etl_runs(bench, range(1, args.seeds + 1))
        if "analyze" in parts:
            results["analyze kills/drops"] = analyze_runs(bench, range(1, args.seeds + 1))
        if "order" in parts:
            results["shuffled + 5-way split"] = order_runs(bench, range(1, args.seeds + 1))
    finally:
        bench.close()
    print(f"\nsummary ({time.perf_counter() - started:.0f} s):")
    for label, (matched, total) in results.items():
        print(f"  {label}: {matched}/{total} matched the uninterrupted run")
    return 0 if all(m == t for m, t in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
