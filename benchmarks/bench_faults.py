"""The long fault run (issue 14): many seeded kills and connection drops of the four entry points —
``aimap crawl``, ``aimap etl``, ``aimap analyze`` and ``aimap refresh`` — on PostgreSQL, each re-run
and compared by content with an uninterrupted run; then shuffled-order and 5-way-split incremental
ETL runs compared by edges and Table 1. Prints one line per run and how many matched.

    .venv/bin/python benchmarks/bench_faults.py                      # 12 seeds, tiny world
    .venv/bin/python benchmarks/bench_faults.py --preset small --batch 50 --crawl-sources demo-gov \
        --etl-seeds 6 --analyze-seeds 14 --crawl-seeds 24 --refresh-seeds 6   # >= 50 kill/outage runs

Crawl and refresh runs crawl the world served on 127.0.0.1 (``demosite.server.serve``); on a big
world they crawl only ``--crawl-sources`` (a refresh of every source of ``small`` takes minutes).
The order runs use ``--order-preset`` (tiny by default). The CI subset is ``tests/faults/`` (same
tools: :mod:`tests.faults.harness`). Needs PostgreSQL (``AIMAP_TEST_PG_DSN``, default
127.0.0.1:5432 user postgres). Exit status 1 if any run differed.
"""

from __future__ import annotations

import argparse
import random
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from db.session import _cached_engine  # noqa: E402
from demosite.evaluation import world_documents  # noqa: E402
from demosite.render import render_site  # noqa: E402
from demosite.server import serve  # noqa: E402
from demosite.world import build_world  # noqa: E402
from etl.registry import import_registry  # noqa: E402
from tests.faults import harness  # noqa: E402
from tests.faults.test_order_etl import etl, outcome, store  # noqa: E402
from tests.worldeval import store_world_documents  # noqa: E402

#: Runs whose kill or outage came while the command still ran (by part), against those that came after it had ended.
STRUCK: Counter[str] = Counter()

COMPARED = ("documents", "organisations", "edges", "mentions", "fingerprints", "running")


class Bench:
    """One benchmark session: the admin connection, the world, the templates, a scratch directory."""

    def __init__(self, preset: str, batch: int, documents: bool = True) -> None:
        self.admin = psycopg.connect(harness.PG_ADMIN_DSN, autocommit=True, connect_timeout=5)
        self.scratch = Path(tempfile.mkdtemp(prefix="aimap-bench-faults-"))
        self.manifest = render_site(build_world(seed=7, preset=preset), self.scratch / "world")
        self.world = self.manifest.out_dir
        self.documents = world_documents(self.world / "truth")
        self.batch = batch
        self.made: list[str] = []
        self.template = harness.prepare_template(  # the world's documents, as a crawl stored them
            self.admin, lambda s: store_world_documents(s, self.world, self.documents)) if documents else ""
        self.empty = harness.prepare_template(self.admin, lambda s: None)
        self.registry = harness.prepare_template(  # the firm registry only: what a crawl starts from
            self.admin, lambda s: import_registry(s, self.world / "firms.csv"))

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
        for name in [*self.made, self.template, self.empty, self.registry]:
            if name:
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
        STRUCK["etl"] += first.struck
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
    for _warm in range(2):  # the first build also compiles the numba kernels into AIMAP_HOME; the second is
        started = time.perf_counter()  # what a re-run takes, the range the seeded moments are drawn from
        done = bench.aimap(name, home, "analyze", "--out", str(bundle))
        assert done.returncode == 0, done.stderr
        took = time.perf_counter() - started
    reference = harness.file_digests(bundle)
    print(f"analyze reference: {len(reference)} files ({took:.1f} s, kernels compiled)")
    total, matched = 0, 0
    for seed in seeds:
        rng = random.Random(seed)
        kind = ("kill", "drop")[seed % 2]
        after = rng.uniform(1.0, took * 0.9)
        moment = harness.Moment(after=after) if kind == "kill" else harness.Moment(
            after=after, drop=lambda: harness.drop_connections(bench.admin, name))
        shutil.rmtree(bundle, ignore_errors=True)
        first = bench.aimap(name, home, "analyze", "--out", str(bundle), moment=moment)
        STRUCK["analyze"] += first.struck
        again = bench.aimap(name, home, "analyze", "--out", str(bundle))
        diff = harness.differences({"files": reference}, {"files": harness.file_digests(bundle)})
        if again.returncode != 0:
            diff.append(f"re-run exit {again.returncode}: {again.stderr.strip().splitlines()[-1:]}")
        if harness.content(harness.pg_url(name))["running"]:
            diff.append("a run left running")
        total, matched = total + 1, matched + (not diff)
        print(f"analyze seed {seed:3d} {kind:4s} at {after:5.1f} s exit {first.returncode:4d} struck {first.struck!s:5s} "
              f"{'same' if not diff else 'DIFFERENT: ' + ' | '.join(diff)}")
    return matched, total


def _why(stderr: str) -> list[str]:
    """The lines of a failed command's stderr that say why (not Prefect's INFO logging)."""
    lines = [line for line in stderr.strip().splitlines() if "| INFO " not in line and line.strip()]
    return lines[-3:]


def _every(seconds: float, predicate: Any) -> Any:
    """``predicate``, asked at most every ``seconds`` (a condition polled over minutes opens fewer connections)."""
    last = [0.0]

    def check() -> bool:
        if time.monotonic() - last[0] < seconds:
            return False
        last[0] = time.monotonic()
        return bool(predicate())
    return check


def _sources(names: list[str]) -> list[str]:
    return [arg for name in names for arg in ("--source", name)]


def crawl_runs(bench: Bench, seeds: range, base_url: str, sources: list[str]) -> tuple[int, int]:
    """``aimap crawl`` killed (SIGKILL to its group: Scrapy child included) or its connections dropped
    once a seeded number of documents is stored (a moment in the middle of the crawl, whatever the
    machine's speed), re-run: the same documents (address, content hash) as an uninterrupted crawl,
    no run left ``running``."""
    args = ["crawl", "--sources", str(bench.manifest.sources_dir), "--base-url", base_url, *_sources(sources)]
    name, home = bench.clone(bench.registry)
    started = time.perf_counter()
    done = bench.aimap(name, home, *args)
    assert done.returncode == 0, done.stderr
    took = time.perf_counter() - started
    reference = harness.content(harness.pg_url(name))
    print(f"crawl reference ({', '.join(sources) or 'every source'}): {len(reference['documents'])} documents "
          f"({took:.1f} s)")
    total, matched = 0, 0
    for seed in seeds:
        rng = random.Random(seed)
        kind = ("kill", "drop")[seed % 2]
        name, home = bench.clone(bench.registry)
        k = rng.randint(1, max(1, len(reference["documents"]) * 9 // 10))
        stored_k = _every(0.1, lambda n=name, k=k: harness.count_rows(n, "SELECT count(*) FROM documents") >= k)
        moment = harness.Moment(when=stored_k) if kind == "kill" else harness.Moment(
            when=stored_k, drop=lambda n=name: harness.drop_connections(bench.admin, n))
        started = time.perf_counter()
        first = bench.aimap(name, home, *args, moment=moment)
        STRUCK["crawl"] += first.struck
        after = time.perf_counter() - started
        stored = harness.count_rows(name, "SELECT count(*) FROM documents")
        again = bench.aimap(name, home, *args)
        diff = harness.differences(reference, harness.content(harness.pg_url(name)), ("documents", "running"))
        if again.returncode != 0:
            diff.append(f"re-run exit {again.returncode}: {again.stderr.strip().splitlines()[-1:]}")
        total, matched = total + 1, matched + (not diff)
        print(f"crawl seed {seed:3d} {kind:4s} at {k:4d} documents, first run {after:5.1f} s ({stored:5d} stored) exit "
              f"{first.returncode:4d} {'same' if not diff else 'DIFFERENT: ' + ' | '.join(diff)}")
        harness.drop_database(bench.admin, name)
    return matched, total


def refresh_runs(bench: Bench, seeds: range, base_url: str, sources: list[str], edition: int) -> tuple[int, int]:
    """``aimap refresh`` killed (SIGKILL to its group: the Scrapy child and the ephemeral Prefect server
    too) during the crawl (odd seeds: once a seeded number of documents is stored) or at a seeded
    moment of the whole run (even seeds), then run again as it is, with nothing done by hand in between
    (its crawl slots held by the dead run come back by their leases): it must complete and end equal
    by content to an uninterrupted refresh (documents, organisations, edges, mentions, fingerprints,
    no run left ``running``)."""
    args = ["refresh", "--edition", str(edition), "--no-charts", "--retries", "0", "--sources",
            str(bench.manifest.sources_dir), "--base-url", base_url, *_sources(sources)]

    def run(name: str, home: Path, moment: harness.Moment | None = None) -> harness.Finished:
        env = harness.aimap_env(harness.pg_url(name), home, PREFECT_HOME=str(home / "prefect"))
        return harness.run_aimap(args, env, moment, timeout=1200)

    name, home = bench.clone(bench.registry)
    started = time.perf_counter()
    done = run(name, home)
    took = time.perf_counter() - started
    if done.returncode != 0:
        print(f"refresh reference failed (exit {done.returncode}, {took:.0f} s): {_why(done.stderr)}; no refresh runs")
        return 0, 0
    reference = harness.content(harness.pg_url(name))
    crawled = len(reference["documents"])
    print(f"refresh reference (edition {edition}; {', '.join(sources) or 'every source'}): {crawled} documents, "
          f"{len(reference['edges'])} edges ({took:.1f} s)")
    total, matched = 0, 0
    for seed in seeds:
        rng = random.Random(seed)
        name, home = bench.clone(bench.registry)
        if seed % 2:
            k = rng.randint(1, max(1, crawled * 9 // 10))
            kind, moment = f"crawl@{k}", harness.Moment(when=_every(0.2, lambda n=name, k=k: harness.count_rows(
                n, "SELECT count(*) FROM documents") >= k))
        else:
            after = rng.uniform(5.0, max(6.0, took * 0.8))  # before the end, though a run may be faster than the reference
            kind, moment = f"at {after:.0f} s", harness.Moment(after=after)
        first = run(name, home, moment)
        STRUCK["refresh"] += first.struck
        started = time.perf_counter()
        again = run(name, home)
        rerun = time.perf_counter() - started
        diff = harness.differences(reference, harness.content(harness.pg_url(name)))
        if again.returncode != 0:
            diff.append(f"re-run exit {again.returncode}: {_why(again.stderr)}")
        total, matched = total + 1, matched + (not diff)
        print(f"refresh seed {seed:3d} {kind:11s} exit {first.returncode:4d} struck {first.struck!s:5s} re-run "
              f"{rerun:5.1f} s {'same' if not diff else 'DIFFERENT: ' + ' | '.join(diff)}")
        harness.drop_database(bench.admin, name)
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
    parser.add_argument("--seeds", type=int, default=12, help="seeded runs per entry point (etl, analyze, crawl)")
    parser.add_argument("--etl-seeds", type=int, help="seeded ETL runs (default --seeds)")
    parser.add_argument("--analyze-seeds", type=int, help="seeded analyze runs (default --seeds)")
    parser.add_argument("--crawl-seeds", type=int, help="seeded crawl runs (default --seeds)")
    parser.add_argument("--refresh-seeds", type=int, default=4, help="seeded runs of the refresh")
    parser.add_argument("--order-seeds", type=int, default=10, help="seeds of the shuffled and split runs")
    parser.add_argument("--preset", default="tiny", help="demo world preset of the kill runs (tiny, small, ...)")
    parser.add_argument("--order-preset", default="tiny", help="demo world preset of the order runs")
    parser.add_argument("--crawl-sources", default="",
                        help="comma-separated sources the crawl and refresh runs crawl (default: every source)")
    parser.add_argument("--batch", type=int, default=10, help="ETL batch size")
    parser.add_argument("--only", choices=("etl", "analyze", "crawl", "refresh", "order"), action="append",
                        help="run only these parts")
    args = parser.parse_args()
    parts = args.only or ["etl", "analyze", "crawl", "refresh", "order"]
    sources = [s for s in args.crawl_sources.split(",") if s]
    seeds = {part: range(1, (getattr(args, f"{part}_seeds") or args.seeds) + 1) for part in ("etl", "analyze", "crawl")}
    bench = Bench(args.preset, args.batch, documents=bool({"etl", "analyze"} & set(parts)))
    results: dict[str, Any] = {}
    started = time.perf_counter()
    try:
        print(f"{harness.stamp()} world {args.preset}: {len(bench.documents)} documents; batch {args.batch}; seeds "
              f"{', '.join(f'{p} 1..{r.stop - 1}' for p, r in seeds.items())}, refresh 1..{args.refresh_seeds}; "
              f"order: {args.order_preset}, seeds 1..{args.order_seeds}", flush=True)
        if "etl" in parts:
            results["etl kills/drops"] = etl_runs(bench, seeds["etl"])
        if "analyze" in parts:
            results["analyze kills/drops"] = analyze_runs(bench, seeds["analyze"])
        if {"crawl", "refresh"} & set(parts):
            edition = max(int(d["published"][:4]) for d in bench.documents if d.get("published")) + 1
            with serve(bench.manifest.root) as site:
                if "crawl" in parts:
                    results["crawl kills/drops"] = crawl_runs(bench, seeds["crawl"], site.base_url, sources)
                if "refresh" in parts:
                    results["refresh kills"] = refresh_runs(bench, range(1, args.refresh_seeds + 1), site.base_url,
                                                            sources, edition)
        if "order" in parts:
            order = bench if args.order_preset == args.preset and bench.template else Bench(args.order_preset, args.batch)
            try:
                results["shuffled + 5-way split"] = order_runs(order, range(1, args.order_seeds + 1))
            finally:
                if order is not bench:
                    order.close()
    finally:
        bench.close()
    print(f"\nsummary ({time.perf_counter() - started:.0f} s):")
    for label, (matched, total) in results.items():
        print(f"  {label}: {matched}/{total} matched the uninterrupted run")
    kills = sum(t for label, (_m, t) in results.items() if "kill" in label)
    print(f"  kill/outage runs: {sum(m for label, (m, _t) in results.items() if 'kill' in label)}/{kills} matched; "
          f"{sum(STRUCK.values())} of them struck a running command "
          f"({', '.join(f'{part} {n}' for part, n in STRUCK.items())}), the others came after it had ended")
    return 0 if all(m == t for m, t in results.values()) else 1


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a stopped run still drops its databases
    sys.exit(main())
