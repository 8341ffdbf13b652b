"""Relation-extraction quality and throughput: the labelled announcements and the demo world.

    .venv/bin/python benchmarks/bench_etl.py [--realtext-only] [--record-quality] [--preset small] [--seed 7] [--world DIR]
        [--show-errors N] [--entity-clusters FILE] [--duplicate-clusters FILE] [--json FILE] [--check]

Runs the offline interface ``aimap extract`` as a subprocess (pinned to one CPU) and scores its
output with :mod:`etl.evaluate`:

(0) on the **frozen test part of the real-text corpus** (``tests/data/realtext/test.jsonl``,
    paraphrases of real public pages; :mod:`etl.corpus`): the published quality figures, for the
    extractor and, in the same run, for the rule extractor alone (``aimap extract --rules-only``)
    as the baseline: relation P/R/F1 over all relations and over ``new`` ones, direction accuracy
    on matched pairs, document-level is_cooperation accuracy, category and domain micro-F1,
    documents per CPU-second of the whole command (start-up and model loading included: the
    throughput target is measured in (c)); targets relation F1 (new) >= 0.75, direction >= 0.85,
    is_cooperation >= 0.90, category micro-F1 >= 0.70. Then the same documents **through the whole
    ETL** (:mod:`etl.corpus_etl`: loaded in order into a throwaway SQLite database, each document's
    events read back as its record), which is what an edition is built from: the figures over all
    relations (and direction-agnostic pair F1, printed for all three), and documents per second of the
    ETL run. Then the extractor's relation P/R/F1 broken down by relation kind, document genre and
    script (:func:`etl.corpus.breakdown`: which relations the overall figure holds for).
    ``--record-quality`` writes all three columns and the breakdown.
    ``--realtext-only`` stops after (0). Nothing is tuned on this part;
(a) on ``tests/data/announcements_gold.jsonl`` (124 self-written announcements, a regression set
    since the real-text corpus exists): relation P/R/F1, direction-agnostic pair F1, direction,
    kind, status and year accuracy, document-level accuracy, category and domain micro-F1,
    against the targets relation F1 >= 0.85, direction accuracy >= 0.85, category F1 >= 0.75;
(b) on the demo world (``build_world(seed, preset)`` rendered with ``render_site``, or an
    already rendered ``--world DIR``): its reachable documents are written as extractor input,
    extracted with ``--registry W/firms.csv`` and scored against ``truth/`` (target relation
    F1 >= 0.95); then the whole ETL loads the same documents into a throwaway SQLite database
    and its clusterings are scored by pairwise F1 against the world's truth (target 0.95 each):
    entity resolution (every name the world writes for an organisation, resolved read-only by
    the loaded resolver) and duplicate documents (story clusters: copies of one text and
    reports of the same news, :func:`etl.dedup.story_clusters`). ``--entity-clusters`` /
    ``--duplicate-clusters`` score other clusterings instead: JSON objects
    ``{name: organisation}`` / ``{document URL: cluster}``;
(c) extraction throughput on one core: documents per CPU-second of the world run (the child is
    pinned to one CPU, so its user+system time is its one-core time; wall time is printed too and
    equals it on an idle machine, but not on a shared one), net of the fixed cost of the same
    command on an empty input (start-up, gazetteer and lexicons) measured in this run, with the
    ratio to the target (>= 300 documents/s) and to an I/O floor (reading and writing the same
    JSON lines in Python, also measured in this run).

``--check`` exits with status 1 when a target is missed. Nothing is contacted over the network.
"""

from __future__ import annotations

import argparse
import datetime as dt
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

from db.bootstrap import prepare_database  # noqa: E402
from db.session import make_engine, session_factory  # noqa: E402
from demosite.evaluation import world_documents, world_duplicate_clusters, world_entity_clusters  # noqa: E402
from demosite.render import render_site  # noqa: E402
from demosite.world import build_world  # noqa: E402
from etl.corpus import CorpusScores, breakdown, extractor_record, read_part, score_corpus  # noqa: E402
from etl.corpus_etl import EtlCorpusRun, score_through_etl  # noqa: E402
from etl.evaluate import (  # noqa: E402
    Scores,
    duplicate_document_f1,
    entity_resolution_f1,
    extractor_input,
    read_jsonl,
    score_gold,
)
from etl.lexicon import EXTRACTOR_VERSION  # noqa: E402
from etl.load import run_etl  # noqa: E402
from etl.quality import QUALITY_FILE, write_quality  # noqa: E402
from tests.worldeval import (  # noqa: E402
    etl_duplicate_clusters,
    etl_entity_clusters,
    score_world,
    store_world_documents,
)

GOLD_FILE = ROOT / "tests" / "data" / "announcements_gold.jsonl"
REALTEXT_TARGETS = {"relation F1 (new)": 0.75, "direction accuracy": 0.85, "is_cooperation accuracy": 0.90,
                    "category micro-F1": 0.70}
GOLD_TARGETS = {"relation F1": 0.85, "direction accuracy": 0.85, "category micro-F1": 0.75}
WORLD_TARGETS = {"relation F1": 0.95}
CLUSTER_TARGETS = {"entity resolution F1": 0.95, "duplicate documents F1": 0.95}
THROUGHPUT_TARGET = 300.0  # documents per second, extraction alone, one core (issue 13: with the recogniser)


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


def run_extract(in_path: Path, out_path: Path, registry: Path | None = None, rules_only: bool = False) -> Run:
    """Run ``aimap extract`` on one CPU; fail loudly when it fails."""
    command = [_aimap(), "extract", "--in", str(in_path), "--out", str(out_path)]
    if registry is not None:
        command += ["--registry", str(registry)]
    if rules_only:
        command.append("--rules-only")
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


def realtext_figures(scores: CorpusScores, run: Run) -> dict[str, float]:
    """The published figures of one extractor on the frozen test part (see the module docstring)."""
    return {
        "relation F1 (all)": scores.all.relations.f1, "relation P (all)": scores.all.relations.precision,
        "relation R (all)": scores.all.relations.recall, "pair F1 (all)": scores.all.pairs.f1,
        "relation F1 (new)": scores.new.relations.f1, "relation P (new)": scores.new.relations.precision,
        "relation R (new)": scores.new.relations.recall,
        "direction accuracy": scores.all.direction.value or 0.0,
        "is_cooperation accuracy": scores.all.is_cooperation.value or 0.0,
        "category micro-F1": scores.all.tech_categories.f1, "domain micro-F1": scores.all.application_domains.f1,
        "documents/s (whole command)": run.documents / max(run.cpu, 1e-9),
    }


def etl_figures(scores: CorpusScores, run: EtlCorpusRun) -> dict[str, float]:
    """The figures of the test part through the whole ETL (:mod:`etl.corpus_etl`): those over all
    relations only (a loaded event does not keep how each document reported its status)."""
    a = scores.all
    return {
        "relation F1 (all)": a.relations.f1, "relation P (all)": a.relations.precision,
        "relation R (all)": a.relations.recall, "pair F1 (all)": a.pairs.f1,
        "direction accuracy": a.direction.value or 0.0, "is_cooperation accuracy": a.is_cooperation.value or 0.0,
        "category micro-F1": a.tech_categories.f1, "domain micro-F1": a.application_domains.f1,
        "documents/s (whole ETL)": run.report.documents / max(run.seconds, 1e-9),
    }


def bench_realtext(tmp: Path, show_errors: int) -> tuple[dict[str, dict[str, float]], dict[str, Any], list[str]]:
    """(0): the frozen test part of the real-text corpus, the extractor beside the rules alone."""
    docs = read_part("test")
    in_path = tmp / "realtext-in.jsonl"
    write_jsonl(in_path, [extractor_record(d) for d in docs])
    print(f"(0) real-text corpus, frozen test part: {len(docs)} documents (tests/data/realtext/test.jsonl)")
    figures: dict[str, dict[str, float]] = {}
    scored: dict[str, CorpusScores] = {}
    for label, rules_only in (("rules only", True), ("extractor", False)):
        out_path = tmp / f"realtext-{'rules' if rules_only else 'model'}.jsonl"
        run = run_extract(in_path, out_path, rules_only=rules_only)
        scored[label] = score_corpus(docs, read_jsonl(out_path))
        figures[label] = realtext_figures(scored[label], run)
        if not rules_only:
            parts = breakdown(docs, read_jsonl(out_path))
    etl_scores, etl_run = score_through_etl(docs)
    figures["through the ETL"] = etl_figures(etl_scores, etl_run)
    print(f"  {'figure':<28} {'rules only':>10} {'extractor':>10} {'through the ETL':>16}")
    for name in [*figures["extractor"], *(k for k in figures["through the ETL"] if k not in figures["extractor"])]:
        cells = [f"{figures[c][name]:.3f}" if name in figures[c] else "-" for c in ("rules only", "extractor")]
        through = figures["through the ETL"].get(name)
        print(f"  {name:<28} {cells[0]:>10} {cells[1]:>10} {'-' if through is None else f'{through:.3f}':>16}")
    print(f"  through the ETL: {etl_run.report.documents} documents loaded into a throwaway SQLite database, "
          f"{etl_run.report.events_new} events, {etl_run.report.organisations_new} organisations created, "
          f"{etl_run.report.undated_historical} undated historical relations not loaded, "
          f"{etl_run.report.quarantined} quarantined ({etl_run.seconds:.1f} s)")
    print("  the extractor in detail (all relations):")
    _print_scores(scored["extractor"].all, show_errors)
    print_breakdown(parts)
    return figures, parts, _targets("real-text test part", figures["extractor"], REALTEXT_TARGETS)


def print_breakdown(parts: dict[str, dict[str, dict[str, Any]]]) -> None:
    """The extractor's relation P/R/F1 by relation kind, document genre and script (:func:`etl.corpus.breakdown`)."""
    headings = {"kind": "by relation kind (gold and predicted relations of that kind only)",
                "genre": "by document genre", "lang": "by script"}
    for facet, cells in parts.items():
        print(f"  relation P/R/F1 (all), {headings[facet]}:")
        for value, c in sorted(cells.items(), key=lambda kv: -(kv[1]["tp"] + kv[1]["fn"])):
            extra = (f", {c['documents']} documents, is_cooperation {c['is_cooperation_accuracy']:.3f}"
                     if "documents" in c else "")
            print(f"    {value:<22} P {c['precision']:.3f}  R {c['recall']:.3f}  F1 {c['f1']:.3f}  "
                  f"({c['tp'] + c['fn']} gold, {c['tp'] + c['fp']} found{extra})")


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
    gold_entities, gold_duplicates = world_entity_clusters(truth), world_duplicate_clusters(truth)
    loaded: dict[str, dict[str, Any]] = {}
    if entity is None or duplicates is None:
        loaded = etl_clusterings(world, tmp / "etl.db", gold_entities)
    figures: dict[str, float] = {}
    for label, path, gold, scorer, key in (
        ("entity resolution", entity, gold_entities, entity_resolution_f1, "entities"),
        ("duplicate documents", duplicates, gold_duplicates, duplicate_document_f1, "duplicates"),
    ):
        predicted = json.loads(Path(path).read_text(encoding="utf-8")) if path is not None else loaded[key]
        prf = scorer(gold, predicted)
        extra[label] = prf.as_dict()
        figures[f"{label} F1"] = prf.f1
        print(f"  {label} pairwise F1: P {prf.precision:.3f}  R {prf.recall:.3f}  F1 {prf.f1:.3f} "
              f"(tp {prf.tp}, fp {prf.fp}, fn {prf.fn} pairs; {len(gold):,} gold items)")
    missed += _targets("demo world, clusterings", figures, CLUSTER_TARGETS)
    return scores, run, fixed, floor, missed, extra


def etl_clusterings(world: Path, db_path: Path, names: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Run the whole ETL (:func:`etl.load.run_etl`) over the world's reachable documents into a
    throwaway SQLite database and read back its clusterings: every gold name resolved by the
    loaded resolver (name -> organisation) and every document's story cluster (URL -> cluster).

    The documents are written straight into ``documents`` as a crawl would store them (the
    crawler is not what is measured here), after the world's registry ``firms.csv``.
    """
    engine = make_engine(f"sqlite:///{db_path}")
    prepare_database(engine)
    started = time.perf_counter()
    with session_factory(engine)() as session:
        store_world_documents(session, world)
        report = run_etl(session)
        out = {"entities": etl_entity_clusters(session, names), "duplicates": etl_duplicate_clusters(session)}
    engine.dispose()
    print(f"  whole ETL into SQLite for the clusterings: {report.documents:,} documents, {report.events_new:,} "
          f"events, {report.organisations_new:,} organisations created, {report.merges} merges, "
          f"{report.quarantined} quarantined ({time.perf_counter() - started:.1f} s)")
    return out


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
    parser.add_argument("--realtext-only", action="store_true", help="only (0), the real-text test part")
    parser.add_argument("--record-quality", action="store_true",
                        help="write (0)'s figures to etl/data/extractor-quality.json (the report's data-quality section)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="aimap-bench-etl-") as tmp_dir:
        tmp = Path(tmp_dir)
        realtext, parts, missed = bench_realtext(tmp, args.show_errors)
        if args.record_quality:
            write_quality({"extractor_version": EXTRACTOR_VERSION, "measured_on": dt.date.today().isoformat(),
                           "corpus": "tests/data/realtext/test.jsonl (frozen test part)",
                           "documents": len(read_part("test")),
                           "figures": {k: round(v, 3) for k, v in realtext["extractor"].items()},
                           "rules_only": {k: round(v, 3) for k, v in realtext["rules only"].items()},
                           "through_etl": {k: round(v, 3) for k, v in realtext["through the ETL"].items()},
                           "breakdown": parts})
            print(f"  recorded in {QUALITY_FILE.relative_to(ROOT)} for extractor {EXTRACTOR_VERSION}")
        if args.realtext_only:
            if args.json:
                args.json.write_text(json.dumps({"realtext": realtext, "breakdown": parts, "missed_targets": missed}, indent=1,
                                                ensure_ascii=False) + "\n", encoding="utf-8")
            print("\nmissed targets: " + (", ".join(missed) if missed else "none"))
            sys.exit(1 if args.check and missed else 0)
        print()
        gold_scores, _gold_run, gold_missed = bench_gold(tmp, args.show_errors)
        missed += gold_missed
        world = args.world
        if world is None:
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
            "realtext": realtext, "breakdown": parts, "gold": gold_scores.as_dict(), "world": world_scores.as_dict(), "clusterings": extra,
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
