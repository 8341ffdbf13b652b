"""Relation-extraction quality and throughput: the labelled announcements and the demo world.

    .venv/bin/python benchmarks/bench_etl.py [--preset small] [--seed 7] [--world DIR]
        [--show-errors N] [--entity-clusters FILE] [--duplicate-clusters FILE] [--json FILE] [--check]

Runs the offline interface ``aimap extract`` as a subprocess (pinned to one CPU) and scores its
output with :mod:`etl.evaluate`:

(a) on ``tests/data/announcements_gold.jsonl`` (124 hand-labelled announcements written
    independently of the demo templates): relation P/R/F1, direction-agnostic pair F1, direction,
    kind, status and year accuracy, document-level accuracy, category and domain micro-F1,
    against the targets relation F1 >= 0.85, direction accuracy >= 0.85, category F1 >= 0.75;
(b) on the demo world (``build_world(seed, preset)`` rendered with ``render_site``, or an
    already rendered ``--world DIR``): its reachable documents are written as extractor input,
    extracted with ``--registry W/firms.csv`` and scored against ``truth/`` (target relation
    F1 >= 0.95). ``--entity-clusters`` / ``--duplicate-clusters`` take JSON objects
    ``{name: organisation}`` / ``{document URL: cluster}`` produced by the ETL and print their
    pairwise F1 against the world's truth;
(c) extraction throughput on one core: documents per CPU-second of the world run (the child is
    pinned to one CPU, so its user+system time is its one-core time; wall time is printed too and
    equals it on an idle machine, but not on a shared one), net of the fixed cost of the same
    command on an empty input (start-up, gazetteer and lexicons) measured in this run, with the
    ratio to the target (>= 500 documents/s) and to an I/O floor (reading and writing the same
    JSON lines in Python, also measured in this run).

``--check`` exits with status 1 when a target is missed. Nothing is contacted over the network.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from etl.evaluate import (  # noqa: E402
    Scores,
    duplicate_document_f1,
    entity_resolution_f1,
    extractor_input,
    read_jsonl,
    score_gold,
    score_world,
    world_documents,
    world_duplicate_clusters,
    world_entity_clusters,
)

GOLD_FILE = ROOT / "tests" / "data" / "announcements_gold.jsonl"
GOLD_TARGETS = {"relation F1": 0.85, "direction accuracy": 0.85, "category micro-F1": 0.75}
WORLD_TARGETS = {"relation F1": 0.95}
THROUGHPUT_TARGET = 500.0  # documents per second, extraction alone, one core


@dataclass(frozen=True)
class Run:
    """One ``aimap extract`` subprocess: wall and CPU seconds, documents in."""

    wall: float
    cpu: float
    documents: int


def _aimap() -> str:
    local = Path(sys.executable).parent / "aimap"
    found = str(local) if local.exists() else shutil.which("aimap")
    if not found:
        sys.exit("aimap is not installed in this environment (run `make` / pip install -e .)")
    return found


def _one_cpu() -> None:  # runs in the child before exec
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    """Write ``records`` as JSON lines (UTF-8, not ASCII-escaped)."""
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def run_extract(in_path: Path, out_path: Path, registry: Path | None = None) -> Run:
    """Run ``aimap extract`` on one CPU; fail loudly when it fails."""
    command = [_aimap(), "extract", "--in", str(in_path), "--out", str(out_path)]
    if registry is not None:
        command += ["--registry", str(registry)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, preexec_fn=_one_cpu, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"aimap extract failed ({done.returncode}):\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    documents = sum(1 for line in open(in_path, encoding="utf-8") if line.strip())
    return Run(wall, cpu, documents)


def io_floor(in_path: Path, out_path: Path) -> float:
    """CPU seconds to read, parse, serialise and write the same JSON lines (no extraction)."""
    started = time.process_time()
    with open(in_path, encoding="utf-8") as src, open(out_path, "w", encoding="utf-8") as dst:
        for line in src:
            if line.strip():
                record = json.loads(line)
                dst.write(json.dumps({"id": record["id"], "n": len(record["text"])}, ensure_ascii=False) + "\n")
    return max(time.process_time() - started, 1e-6)


def _targets(title: str, figures: dict[str, float], targets: dict[str, float]) -> list[str]:
    print(f"  targets ({title}):")
    missed = []
    for name, target in targets.items():
        value = figures[name]
        ok = value >= target
        print(f"    {name:<20} {value:.3f}  target >= {target:.2f}  ratio {value / target:.2f}  {'ok' if ok else 'MISSED'}")
        if not ok:
            missed.append(f"{title}: {name}")
    return missed


def _print_scores(scores: Scores, show_errors: int) -> None:
    for line in scores.lines():
        print("  " + line)
    for errors in scores.errors[:show_errors]:
        print(f"  - {errors.id}:")
        for missed in errors.missed:
            print(f"      missed   {missed}")
        for spurious in errors.spurious:
            print(f"      spurious {spurious}")
        if errors.is_cooperation:
            print(f"      is_cooperation gold {errors.is_cooperation[0]}, predicted {errors.is_cooperation[1]}")


def bench_gold(tmp: Path, show_errors: int) -> tuple[Scores, Run, list[str]]:
    """(a): the labelled announcements."""
    items = read_jsonl(GOLD_FILE)
    in_path, out_path = tmp / "gold-in.jsonl", tmp / "gold-out.jsonl"
    write_jsonl(in_path, [extractor_input(i) for i in items])
    run = run_extract(in_path, out_path)
    scores = score_gold(items, out_path)
    print(f"(a) labelled announcements: {len(items)} documents ({GOLD_FILE.relative_to(ROOT)}), "
          f"extracted in {run.wall:.2f} s")
    _print_scores(scores, show_errors)
    figures = {"relation F1": scores.relations.f1, "direction accuracy": scores.direction.value or 0.0,
               "category micro-F1": scores.tech_categories.f1}
    return scores, run, _targets("labelled announcements", figures, GOLD_TARGETS)


def bench_world(world: Path, tmp: Path, show_errors: int, entity: Path | None,
                duplicates: Path | None) -> tuple[Scores, Run, Run, float, list[str], dict[str, Any]]:
    """(b) and (c): the demo world's documents, and throughput."""
    truth = world / "truth"
    docs = world_documents(truth)
    in_path, out_path = tmp / "world-in.jsonl", tmp / "world-out.jsonl"
    write_jsonl(in_path, docs)
    empty_in, empty_out = tmp / "empty.jsonl", tmp / "empty-out.jsonl"
    empty_in.write_text("", encoding="utf-8")
    registry = world / "firms.csv"
    fixed = run_extract(empty_in, empty_out, registry)
    run = run_extract(in_path, out_path, registry)
    floor = io_floor(in_path, tmp / "floor-out.jsonl")
    scores = score_world(truth, out_path)
    print(f"\n(b) demo world {world}: {len(docs):,} reachable documents, extracted in {run.wall:.2f} s")
    _print_scores(scores, show_errors)
    missed = _targets("demo world", {"relation F1": scores.relations.f1}, WORLD_TARGETS)
    extra: dict[str, Any] = {}
    for label, path, gold, scorer in (
        ("entity resolution", entity, world_entity_clusters, entity_resolution_f1),
        ("duplicate documents", duplicates, world_duplicate_clusters, duplicate_document_f1),
    ):
        if path is None:
            print(f"  {label} pairwise F1: not measured (pass the ETL's clustering as JSON)")
            continue
        prf = scorer(gold(truth), json.loads(Path(path).read_text(encoding="utf-8")))
        extra[label] = prf.as_dict()
        print(f"  {label} pairwise F1: P {prf.precision:.3f}  R {prf.recall:.3f}  F1 {prf.f1:.3f} "
              f"(tp {prf.tp}, fp {prf.fp}, fn {prf.fn})")
    return scores, run, fixed, floor, missed, extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--world", type=Path, help="an already rendered world directory (skips generation)")
    parser.add_argument("--show-errors", type=int, default=0, metavar="N", help="print N documents' errors")
    parser.add_argument("--entity-clusters", type=Path, help="JSON {name: organisation} from the ETL")
    parser.add_argument("--duplicate-clusters", type=Path, help="JSON {document URL: cluster} from the ETL")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="aimap-bench-etl-") as tmp_dir:
        tmp = Path(tmp_dir)
        gold_scores, _gold_run, missed = bench_gold(tmp, args.show_errors)
        world = args.world
        if world is None:
            from demosite.render import render_site
            from demosite.world import build_world

            started = time.perf_counter()
            world = render_site(build_world(seed=args.seed, preset=args.preset), tmp / "world").out_dir
            print(f"\ngenerated world {args.preset} (seed {args.seed}) in {time.perf_counter() - started:.1f} s")
        world_scores, run, fixed, floor, world_missed, extra = bench_world(
            Path(world), tmp, args.show_errors, args.entity_clusters, args.duplicate_clusters)
        missed += world_missed

    net = max(run.cpu - fixed.cpu, 1e-9)
    rate = run.documents / net
    net_wall = max(run.wall - fixed.wall, 1e-9)
    print(f"\n(c) extraction throughput, one core ({run.documents:,} world documents):")
    print(f"  aimap extract, whole command   {run.cpu:7.2f} s CPU ({run.wall:7.2f} s wall)")
    print(f"  baseline: same command, empty  {fixed.cpu:7.2f} s CPU ({fixed.wall:7.2f} s wall): start-up, gazetteer")
    print(f"  extraction alone               {net:7.2f} s CPU = {rate:,.0f} documents/s "
          f"(target >= {THROUGHPUT_TARGET:.0f}: ratio {rate / THROUGHPUT_TARGET:.2f}, "
          f"{'ok' if rate >= THROUGHPUT_TARGET else 'MISSED'}); by wall time {run.documents / net_wall:,.0f} documents/s")
    print(f"  baseline: JSON read+write only {floor:7.2f} s CPU = {run.documents / floor:,.0f} documents/s "
          f"(extraction costs {net / floor:,.0f}x the I/O floor)")
    if rate < THROUGHPUT_TARGET:
        missed.append("throughput")

    if args.json:
        args.json.write_text(json.dumps({
            "gold": gold_scores.as_dict(), "world": world_scores.as_dict(), "clusterings": extra,
            "throughput": {"documents": run.documents, "wall_s": round(run.wall, 3), "cpu_s": round(run.cpu, 3),
                           "fixed_cpu_s": round(fixed.cpu, 3), "fixed_wall_s": round(fixed.wall, 3),
                           "documents_per_cpu_s": round(rate, 1),
                           "io_floor_s": round(floor, 3)},
            "missed_targets": missed,
        }, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print("\nmissed targets: " + (", ".join(missed) if missed else "none"))
    if args.check and missed:
        sys.exit(1)


if __name__ == "__main__":
    main()
