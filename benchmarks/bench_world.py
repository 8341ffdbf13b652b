"""Benchmark: generating the demo world (demosite.world), and its calibration against the 2024 report.

Run from the repository root (one command; about 1.5 minutes for all presets on 2 idle cores, most
of it the `report` preset and its path statistics):

    .venv/bin/python benchmarks/bench_world.py                         # tiny, small, medium, report
    .venv/bin/python benchmarks/bench_world.py --presets tiny,small    # a quick look
    .venv/bin/python benchmarks/bench_world.py --calibration all       # the comparison of every preset

For each preset, in a fresh Python process (so that peak memory is the preset's own): the wall
time of ``build_world(seed, preset)`` (imports and data files excluded, the name catalogue
included), the process's peak resident memory (``resource.getrusage``, after generation), the
world's size, and the same for the **baseline**: the network growth done the naive way (every
preferential-attachment draw a ``random.choices`` over all current nodes weighted by degree + 1,
as the world model did before its rework), with the preset's numbers of nodes and edges (run in
full up to 30,000 edges, estimated above: see :func:`naive_growth_estimate`). The ratio
baseline / model says how much faster the model's O(1) repeated-node lists are than the naive O(n)
draws, although the model also names every organisation and calibrates every event.

Then the calibration of the largest preset (or of all with ``--calibration all``): every figure of
:func:`demosite.calibration.comparison` next to the report's, with the relative difference —
Table 1 per year (counts scaled to the preset; diameter, average path length and clustering by the
world's own :func:`demosite.calibration.path_statistics`), degree concentration, the hubs of Tables 2 and 3, technology and domain
shares, the receiving side's sectors, sections and manufacturing divisions, province enabling /
input shares and flows, and the firm distributions.

Targets (issue 3): `report` generates in under 2 minutes and under 2 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PRESET_ORDER = ("tiny", "small", "medium", "report")


def _peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def naive_growth(n_sample: int, n_relation: int, n_edges: int, seed: int = 1) -> float:
    """Seconds to grow a network of this size by naive preferential attachment (the baseline).

    Every edge joins a sample firm drawn with ``random.choices`` over all active firms weighted by
    degree + 1 and either a new relation node (so that ``n_relation`` are created, evenly spread)
    or an existing one drawn the same way; sample firms join evenly too. No names, no attributes.
    """
    rng = random.Random(seed)
    start = time.perf_counter()
    firms: list[int] = []
    rels: list[int] = []
    deg: dict[int, int] = {}
    edges: set[tuple[int, int]] = set()
    next_id = 0
    for i in range(n_edges):
        if len(firms) < n_sample * (i + 1) / n_edges or not firms:
            firms.append(next_id)
            deg[next_id] = 0
            next_id += 1
        f = rng.choices(firms, weights=[deg[x] + 1 for x in firms])[0]
        if len(rels) < n_relation * (i + 1) / n_edges or not rels:
            r = next_id
            rels.append(r)
            deg[r] = 0
            next_id += 1
        else:
            r = rng.choices(rels, weights=[deg[x] + 1 for x in rels])[0]
        if (f, r) not in edges:
            edges.add((f, r))
            deg[f] += 1
            deg[r] += 1
    return time.perf_counter() - start


def naive_growth_estimate(n_sample: int, n_relation: int, n_edges: int, draws: int = 300, seed: int = 1) -> float:
    """Estimated seconds of :func:`naive_growth` for big networks, without running all of it.

    A naive draw costs time proportional to the number of nodes it weighs, which grows about
    linearly from 0 to the final count over the run; so the total is about ``n_edges`` times half
    the cost of one draw at the final size. That cost is measured over ``draws`` draws (a firm and
    a relation node each) with heavy-tailed degrees of the final size.
    """
    rng = random.Random(seed)
    firms = list(range(n_sample))
    rels = list(range(n_sample, n_sample + n_relation))
    deg = {x: int(rng.paretovariate(1.2)) for x in firms + rels}
    start = time.perf_counter()
    for _ in range(draws):
        rng.choices(firms, weights=[deg[x] + 1 for x in firms])
        rng.choices(rels, weights=[deg[x] + 1 for x in rels])
    per_draw = (time.perf_counter() - start) / draws
    return n_edges * per_draw / 2


#: Above this many edges the baseline is estimated (naive growth of `report` takes ~5 minutes).
FULL_BASELINE_EDGES = 30_000


def worker(preset: str, seed: int, calibration: bool, paths: bool, baseline: bool) -> dict:
    """Generate one preset in this process and measure it (called in a subprocess)."""
    from demosite import calibration as cal
    from demosite.world import PRESETS, build_world

    start = time.perf_counter()
    world = build_world(seed, preset)
    seconds = time.perf_counter() - start
    rss = _peak_rss_mb()
    out: dict = {
        "preset": preset,
        "seconds": seconds,
        "peak_rss_mb": rss,
        "firms": len(world.firms),
        "partners": len(world.partners),
        "events": len(world.events),
        "news": len(world.news),
    }
    if baseline:
        p = PRESETS[preset]
        if p.edges <= FULL_BASELINE_EDGES:
            out["baseline_seconds"] = naive_growth(p.firms, p.relation_nodes, p.edges)
        else:
            out["baseline_seconds"] = naive_growth_estimate(p.firms, p.relation_nodes, p.edges)
            out["baseline_estimated"] = True
    if calibration:
        start = time.perf_counter()
        out["comparison"] = cal.format_comparison(cal.comparison(world, paths=paths))
        out["calibration_seconds"] = time.perf_counter() - start
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", default=",".join(PRESET_ORDER), help="comma-separated presets")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--calibration", choices=("largest", "all", "none"), default="largest")
    parser.add_argument("--no-paths", action="store_true", help="skip diameter, path length and clustering")
    parser.add_argument("--no-baseline", action="store_true", help="skip the naive baseline")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-calibration", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = worker(args.worker, args.seed, args.worker_calibration, not args.no_paths, not args.no_baseline)
        print(json.dumps(result, ensure_ascii=False))
        return 0

    presets = [p.strip() for p in args.presets.split(",") if p.strip()]
    print(f"demo world benchmark: seed {args.seed}, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, {platform.machine()}")
    results = []
    for i, preset in enumerate(presets):
        want_cal = args.calibration == "all" or (args.calibration == "largest" and i == len(presets) - 1)
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", preset, "--seed", str(args.seed)]
        if want_cal:
            cmd.append("--worker-calibration")
        if args.no_paths:
            cmd.append("--no-paths")
        if args.no_baseline:
            cmd.append("--no-baseline")
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return proc.returncode
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))

    print()
    header = (f"{'preset':<8} {'firms':>6} {'partners':>9} {'events':>8} {'news':>7} {'seconds':>8} "
              f"{'events/s':>9} {'peak MB':>8} {'baseline s':>11} {'baseline/model':>15}")
    print(header)
    for r in results:
        base = r.get("baseline_seconds")
        ratio = f"{base / r['seconds']:.2f}x" if base else "-"
        shown = (f"{base:.2f}" + ("*" if r.get("baseline_estimated") else "")) if base else "-"
        print(f"{r['preset']:<8} {r['firms']:>6} {r['partners']:>9} {r['events']:>8} {r['news']:>7} "
              f"{r['seconds']:>8.2f} {r['events'] / r['seconds']:>9.0f} {r['peak_rss_mb']:>8.0f} "
              f"{shown:>11} {ratio:>15}")
    if any(r.get("baseline_estimated") for r in results):
        print(f"* estimated (more than {FULL_BASELINE_EDGES} edges): edges x half the cost of a naive draw at the "
              "final size, measured")
    for r in results:
        if r["preset"] == "report":
            ok = r["seconds"] < 120 and r["peak_rss_mb"] < 2048
            print(f"\nreport preset: {r['seconds']:.1f} s (target < 120 s), {r['peak_rss_mb']:.0f} MB "
                  f"(target < 2048 MB): {'OK' if ok else 'OVER TARGET'}")
    for r in results:
        if "comparison" in r:
            print(f"\ncalibration of `{r['preset']}` (seed {args.seed}) against the 2024 report "
                  f"({r['calibration_seconds']:.1f} s to compute):")
            print(r["comparison"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
