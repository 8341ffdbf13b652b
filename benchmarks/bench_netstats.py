"""Benchmark: Gephi-compatible network statistics (analysis.metrics) against python-igraph.

Run from the repository root (one command each; at 10x igraph alone needs well over an hour on 2 cores):

    .venv/bin/python benchmarks/bench_netstats.py            # 1x and 10x report-shaped graphs
    .venv/bin/python benchmarks/bench_netstats.py --scales 1 # the 35k-node graph only (~1 min)
    .venv/bin/python benchmarks/bench_netstats.py --process  # `aimap netstats` as a whole process (~2 min)
    .venv/bin/python benchmarks/bench_netstats.py --table1   # Table 1 for ten years at report scale (~2 min)

``--process`` (issue 17) writes the 1x graph as an edge-list CSV and times ``aimap netstats`` as
whole processes: once *cold* (a fresh ``AIMAP_HOME``: numba compiles the kernels into
``AIMAP_HOME/numba``) and ``--runs`` times *warm* (same ``AIMAP_HOME``: the kernels are loaded from
that cache), wall time and the child's CPU time (user + sys, both threads); beside it the
baseline, python-igraph as a whole process on the same CSV (read with the csv module, repeated
pairs merged, ``path_length_hist`` and, unless ``--no-igraph-diameter``, ``diameter``), and the
ratios. It checks that both print the same diameter and average path length.

``--table1`` (issue 17) fills a temporary SQLite database with ``bench_report.populate`` (the
report-scale synthetic world: ten years, 35,620 nodes and 90,743 edges in 2023), loads it with
:func:`analysis.loaders.load_report_data` (timed: the SQL loading), and times
:func:`analysis.stats.yearly_networks` — the ten yearly networks with Table 1's counts, Gephi
statistics, data versions and sector rows, the ``networks_table1`` stage of an edition — ``--runs``
times, with the share of its parts; the baseline is python-igraph's ``path_length_hist`` of the
same ten networks (average path length and largest distance only), with results compared.

For each synthetic graph it prints its shape, our time for the full statistics (counts, average
degree, diameter, average path length, clustering) and for diameter + average path length alone,
python-igraph's time for the same diameter and average path length (``Graph.path_length_hist``
for the mean, ``Graph.diameter(unconn=True)`` for the diameter: the two calls an igraph user
makes; both run one BFS per node), the ratios, and whether the results are equal. Also the
``--approximate`` mode's time, estimate and stated error bound on the largest graph. Every time is
measured in the same run, after one warm-up call that loads numba's compiled code.

``--no-igraph-diameter`` leaves out igraph's second all-pairs call (the histogram's largest
distance is the diameter as well), halving the run; the ratio is then against
``path_length_hist`` alone, the stricter comparison.

The graphs come from :func:`report_like_graph`, a deterministic generator with the degree shape of
the report's 2023 value network (35,672 nodes, 91,158 edges, 4,311 sample firms; heavy-tailed
degrees: a few hubs with thousands of edges, most relation nodes with one or two, the top 20% of
nodes holding about three quarters of all degree). It does not use the demo world.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.metrics import compute_netstats  # noqa: E402

#: The report's 2023 network (Table 1 of the 2024 edition): sample nodes, relation nodes, edges.
BASE_SAMPLE, BASE_RELATION, BASE_EDGES = 4311, 31361, 91158


def report_like_graph(scale: float = 1.0, seed: int = 2023) -> tuple[int, np.ndarray, np.ndarray]:
    """A directed graph shaped like the report's 2023 network, ``scale`` times its size.

    Model (Chung-Lu style, deterministic for a seed): sample firms get heavy-tailed activity
    weights ``w = (1 - q)^(-1/1.05)`` at evenly spaced quantiles q (a Pareto tail without a random
    maximum, so the 10x graph has the same shape, not one freak hub); relation nodes get light
    weights (Pareto 2.2, scaled by 0.15). Each node splits its weight into a providing (out) and a
    receiving (in) share (firms mostly provide). Every relation node is anchored by one edge to a
    firm drawn by weight, every firm by one edge to another firm, so that every node has an edge
    (nodes = organisations incident to an edge); the remaining edges join a source drawn by
    out-weight to a target drawn by in-weight. Repeated pairs and self-loops are redrawn, so the
    result has exactly ``round(91158 * scale)`` unique edges and ``round(35672 * scale)`` nodes.
    Returns ``(n, sources, targets)``.
    """
    rng = np.random.default_rng(seed)
    n_s, n_r, m = round(BASE_SAMPLE * scale), round(BASE_RELATION * scale), round(BASE_EDGES * scale)
    n = n_s + n_r
    w_firm = (1.0 - (rng.permutation(n_s) + 0.5) / n_s) ** (-1 / 1.05)
    w_rel = 0.15 * (rng.pareto(2.2, n_r) + 1.0)
    weight = np.concatenate([w_firm, w_rel])
    out_share = np.concatenate([rng.beta(2.0, 1.2, n_s), rng.beta(1.0, 1.5, n_r)])
    p_firm = w_firm / w_firm.sum()

    partner = rng.choice(n_s, size=n, p=p_firm)  # anchor partner of every node
    clash = partner[:n_s] == np.arange(n_s)  # a firm is not its own partner: take the next firm
    partner[:n_s][clash] = (partner[:n_s][clash] + 1) % n_s
    provides = rng.random(n) < out_share
    me = np.arange(n)
    anchor_src = np.where(provides, me, partner)
    anchor_dst = np.where(provides, partner, me)
    keys = anchor_src * n + anchor_dst

    p_out = weight * out_share
    p_in = weight * (1.0 - out_share)
    p_out /= p_out.sum()
    p_in /= p_in.sum()
    while True:
        _, first = np.unique(keys, return_index=True)
        keys = keys[np.sort(first)]  # unique, in order of first draw
        if keys.size >= m:
            keys = keys[:m]
            break
        k = int((m - keys.size) * 1.25) + 64
        s = rng.choice(n, size=k, p=p_out)
        t = rng.choice(n, size=k, p=p_in)
        keys = np.concatenate([keys, (s * n + t)[s != t]])
    src, dst = keys // n, keys % n
    return n, src, dst


def shape(n: int, src: np.ndarray, dst: np.ndarray) -> str:
    """One line describing the degree shape."""
    out_deg = np.bincount(src, minlength=n)
    in_deg = np.bincount(dst, minlength=n)
    deg = np.sort(out_deg + in_deg)[::-1]
    top = deg[: n // 5].sum() / deg.sum()
    return (f"max out-degree {out_deg.max():,}, max in-degree {in_deg.max():,}, top-20% degree share {top:.1%}, "
            f"sinks {(out_deg == 0).sum():,}, never reached {(in_deg == 0).sum():,}")


def igraph_histogram(graph: object) -> tuple[int, float, float]:
    """python-igraph's average path length over reachable pairs, its largest distance, and the call time."""
    t0 = time.perf_counter()
    hist = graph.path_length_hist(directed=True)  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - t0
    bins = [(int(start), count) for start, _, count in hist.bins() if count]
    pairs = sum(count for _, count in bins)
    total = sum(start * count for start, count in bins)
    return (bins[-1][0] if bins else 0), (total / pairs if pairs else 0.0), elapsed


def timed(fn, *args, **kwargs):  # noqa: ANN001, ANN201 - small local helper
    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - t0


def timed_cpu(fn, *args, **kwargs):  # noqa: ANN001, ANN201 - small local helper
    """``(result, wall seconds, CPU seconds of this process, every thread)``: on a machine shared with
    other work the CPU time is the steadier figure."""
    c0, t0 = time.process_time(), time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - t0, time.process_time() - c0


#: The baseline of ``--process``: an igraph user's whole process for the same CSV (argv: path, with diameter 0/1).
IGRAPH_PROCESS = """
import csv, json, sys
import igraph
path, with_diameter = sys.argv[1], sys.argv[2] == "1"
with open(path, encoding="utf-8-sig", newline="") as f:
    rows = csv.reader(f)
    header = [c.strip().lower() for c in next(rows)]
    si, ti = header.index("source"), header.index("target")
    g = igraph.Graph.TupleList(((r[si].strip(), r[ti].strip()) for r in rows if r), directed=True)
g.simplify(multiple=True, loops=False)
bins = [(int(start), count) for start, _, count in g.path_length_hist(directed=True).bins() if count]
pairs = sum(c for _, c in bins)
result = {"nodes": g.vcount(), "edges": g.ecount(), "diameter": bins[-1][0] if bins else 0,
          "avg_path_length": sum(s * c for s, c in bins) / pairs if pairs else 0.0}
if with_diameter:
    result["diameter"] = g.diameter(directed=True, unconn=True)
print(json.dumps(result))
"""


def write_edge_csv(path: Path, src: np.ndarray, dst: np.ndarray) -> None:
    """The graph as a Gephi-style edge list (Source,Target; node ids as ``n<i>``)."""
    with path.open("w", encoding="utf-8") as f:
        f.write("Source,Target\n")
        f.writelines(f"n{a},n{b}\n" for a, b in zip(src.tolist(), dst.tolist(), strict=True))


def run_process(cmd: list[str], env: dict[str, str]) -> tuple[dict, float, float]:
    """Run one whole process; its JSON output, wall seconds and CPU seconds (user + sys of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return json.loads(done.stdout), wall, cpu


def aimap_command() -> list[str]:
    """The installed ``aimap`` console script beside this interpreter (``python -m aimap.cli`` without one)."""
    script = Path(sys.executable).with_name("aimap")
    return [str(script)] if script.exists() else [sys.executable, "-m", "aimap.cli"]


def bench_process(args: argparse.Namespace) -> bool:
    """``--process``: cold and warm whole-process ``aimap netstats`` against igraph's whole process."""
    n, src, dst = report_like_graph(1.0, args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="aimap-netstats-"))
    csv_path = tmp / "edges.csv"
    write_edge_csv(csv_path, src, dst)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env["AIMAP_HOME"] = str(tmp / "home")  # fresh: the first run compiles into tmp/home/numba
    cmd = [*aimap_command(), "netstats", str(csv_path)]
    print(f"\n== `aimap netstats` whole process on the 1x graph ({n:,} nodes, {src.size:,} edges), "
          f"AIMAP_HOME={env['AIMAP_HOME']}")
    print(f"   command: {' '.join(cmd)}")
    cold, cold_wall, cold_cpu = run_process(cmd, env)
    cached = sorted(p.name for p in (tmp / "home" / "numba").rglob("*.nbi"))
    print(f"   cold (compiles, {len(cached)} kernel indexes written under AIMAP_HOME/numba): "
          f"{cold_wall:6.2f} s wall, {cold_cpu:6.2f} s CPU")
    warm = [run_process(cmd, env) for _ in range(args.runs)]
    walls, cpus = [w for _, w, _ in warm], [c for _, _, c in warm]
    ours = warm[0][0]
    print(f"   warm x{args.runs}: wall best {min(walls):.2f} s, median {statistics.median(walls):.2f} s "
          f"({', '.join(f'{w:.2f}' for w in walls)}); CPU median {statistics.median(cpus):.2f} s")
    print(f"   output: {ours}")
    same_out = all(r == cold for r, _, _ in warm)
    ig_cmd = [sys.executable, "-c", IGRAPH_PROCESS, str(csv_path), "1" if args.igraph_diameter else "0"]
    base, ig_wall, ig_cpu = run_process(ig_cmd, env)
    what = "read + path_length_hist + diameter" if args.igraph_diameter else "read + path_length_hist"
    print(f"   igraph whole process ({what}): {ig_wall:6.2f} s wall, {ig_cpu:6.2f} s CPU  {base}")
    best = min(walls)
    print(f"   ratio warm / cold: {best / cold_wall:.3f} (cold takes {cold_wall / best:.1f}x as long)")
    print(f"   ratio warm / igraph process: {best / ig_wall:.3f} (igraph takes {ig_wall / best:.1f}x as long; "
          f"ours also computes clustering); target warm <= 1.5 s: {'ok' if best <= 1.5 else 'MISSED'}")
    same = (same_out and base["nodes"] == ours["nodes"] and base["edges"] == ours["edges"]
            and base["diameter"] == ours["diameter"] and abs(base["avg_path_length"] - ours["avg_path_length"]) < 1e-9)
    print(f"   equal results (cold = warm; nodes, edges, diameter, APL = igraph's): {'yes' if same else 'NO'}")
    return same


def bench_table1(args: argparse.Namespace) -> bool:
    """``--table1``: the ten yearly networks of Table 1 at report scale, from a populated database."""
    from bench_report import populate  # deferred: the report benchmark's world (imports the report code)

    from analysis.loaders import edition_years, load_report_data
    from analysis.network import data_version_edges, yearly_edges
    from analysis.stats import yearly_networks
    from db import migrate
    from db.session import make_engine, session_factory
    from db.taxonomy import sync_taxonomies

    tmp = Path(tempfile.mkdtemp(prefix="aimap-table1-"))
    engine = make_engine(f"sqlite:///{tmp / 'bench.db'}")
    started = time.perf_counter()
    migrate.upgrade(engine)
    with session_factory(engine)() as session:
        sync_taxonomies(session)
        session.commit()
        counts = populate(session, args.table1_scale)
    print(f"\n== Table 1 for ten years at report scale {args.table1_scale:g} (SQLite in {tmp}); "
          f"populate {time.perf_counter() - started:.1f} s  {counts}")
    with session_factory(engine)() as session:
        (data, years), load_s = timed(lambda: (load_report_data(session, 2024), edition_years(session, 2024)))
    engine.dispose()
    print(f"   load_report_data (SQL, every table's inputs): {load_s:6.2f} s; years {years[0]}-{years[-1]}")
    compute_netstats(np.array([0, 1]), np.array([1, 2]), 3)  # load the numba kernels
    runs = [timed_cpu(yearly_networks, data, years) for _ in range(args.runs)]
    networks = runs[0][0][0]
    times, cpus = [t for _, t, _ in runs], [c for _, _, c in runs]
    best = min(times)
    last = networks[years[-1]]
    print(f"   yearly_networks (Table 1: ten networks, counts, Gephi statistics, data versions, sector rows) "
          f"x{args.runs}: wall best {best:.2f} s, median {statistics.median(times):.2f} s "
          f"({', '.join(f'{t:.2f}' for t in times)}); CPU median {statistics.median(cpus):.2f} s (2 threads in "
          f"the BFS); target <= 1 s: {'ok' if best <= 1 else 'MISSED'}")
    print(f"   2023: {last.counts.nodes:,} nodes, {last.counts.edges:,} edges, diameter {last.stats.diameter}, "
          f"APL {last.stats.avg_path_length:.4f}, clustering {last.stats.avg_clustering:.4f}")
    edges = {y: yearly_edges(data.events, y) for y in years}
    parts = {
        "yearly_edges": timed(lambda: [yearly_edges(data.events, y) for y in years])[1],
        "compute_netstats": timed(lambda: [compute_netstats(e.source, e.target, e.n_nodes)
                                           for e in edges.values()])[1],
        "data_version_edges": timed(lambda: [data_version_edges(e) for e in edges.values()])[1],
    }
    print("   parts (one pass each): " + ", ".join(f"{k} {v:.2f} s" for k, v in parts.items())
          + f", the rest {max(best - sum(parts.values()), 0):.2f} s")
    if args.no_igraph:
        return True
    import igraph  # deferred: the baseline library, only the benchmark run needs it

    same = True
    ig_s = 0.0
    for y, e in edges.items():
        graph = igraph.Graph(n=e.n_nodes, edges=np.column_stack([e.source, e.target]).tolist(), directed=True)
        d_ig, apl_ig, hist_s = igraph_histogram(graph)
        ig_s += hist_s
        st = networks[y].stats
        same &= st.diameter == d_ig and abs(st.avg_path_length - apl_ig) < 1e-9
    print(f"   igraph path_length_hist of the ten networks: {ig_s:.2f} s; ratio ours (all of Table 1) / igraph "
          f"(APL + largest distance only): {best / ig_s:.3f} (igraph takes {ig_s / best:.1f}x as long)")
    print(f"   equal diameter and APL in every year: {'yes' if same else 'NO'}")
    return same


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="*", default=None,
                        help="graph sizes as multiples of the report's 2023 network (default: 1 10, none with "
                             "--process or --table1)")
    parser.add_argument("--process", action="store_true",
                        help="time `aimap netstats` as whole processes, cold and warm, against igraph's process")
    parser.add_argument("--table1", action="store_true",
                        help="time Table 1 for ten years at report scale from a populated database")
    parser.add_argument("--table1-scale", type=float, default=1.0, help="world size of --table1 (default 1)")
    parser.add_argument("--runs", type=int, default=3, help="warm runs of --process / --table1 (default 3)")
    parser.add_argument("--no-igraph", action="store_true", help="--table1 without the igraph baseline")
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--samples", type=int, default=4096, help="sources sampled by the --approximate run")
    parser.add_argument("--no-igraph-diameter", dest="igraph_diameter", action="store_false",
                        help="skip igraph's Graph.diameter call (a second all-pairs BFS; the largest distance of "
                             "path_length_hist is the diameter too), halving the baseline's run time")
    args = parser.parse_args(argv)
    if args.scales is None:
        args.scales = [] if (args.process or args.table1) else [1.0, 10.0]

    import igraph  # deferred: the baseline library, only the benchmark run needs it

    from analysis._bfs import get_num_threads  # deferred: loads numba, only the benchmark run needs it

    print(f"python {platform.python_version()}, numba threads {get_num_threads()}, cores {os.cpu_count()}, "
          f"igraph {igraph.__version__}, load average {os.getloadavg()[0]:.1f}")
    verdicts: list[bool] = []
    if args.process:
        verdicts.append(bench_process(args))
    if args.table1:
        verdicts.append(bench_table1(args))
    if not args.scales:
        return 0 if all(verdicts) else 1
    warm_n, warm_s, warm_t = report_like_graph(0.02, args.seed)
    compute_netstats(warm_s, warm_t, warm_n)  # load (or compile) the numba kernels once
    for scale in args.scales:
        (n, src, dst), gen_s = timed(report_like_graph, scale, args.seed)
        print(f"\n== {scale:g}x the 2023 network: {n:,} nodes, {src.size:,} edges (generated in {gen_s:.1f} s)")
        print(f"   {shape(n, src, dst)}")
        ours, full_s = timed(compute_netstats, src, dst, n)
        print(f"   ours, full statistics:       {full_s:8.2f} s  {ours.as_dict()}")
        paths, paths_s = timed(compute_netstats, src, dst, n, clustering=False)
        print(f"   ours, diameter + APL:        {paths_s:8.2f} s", flush=True)
        graph = igraph.Graph(n=n, edges=np.column_stack([src, dst]).tolist(), directed=True)
        d_hist, apl_ig, hist_s = igraph_histogram(graph)
        print(f"   igraph path_length_hist:     {hist_s:8.2f} s  largest distance {d_hist}, APL {apl_ig!r}", flush=True)
        d_ig, ig_s = d_hist, hist_s
        if args.igraph_diameter:
            d_ig, diam_s = timed(graph.diameter, directed=True, unconn=True)
            ig_s = hist_s + diam_s
            print(f"   igraph diameter:             {diam_s:8.2f} s  diameter {d_ig}")
            print(f"   igraph diameter + APL:       {ig_s:8.2f} s")
        same = paths.diameter == d_ig == d_hist == ours.diameter and abs(paths.avg_path_length - apl_ig) < 1e-9
        verdicts.append(same)
        what = "diameter + APL" if args.igraph_diameter else "path_length_hist"
        print(f"   ratio ours / igraph ({what}):  {paths_s / ig_s:6.3f}  (igraph takes {ig_s / paths_s:.1f}x as long)")
        if args.igraph_diameter:
            print(f"   ratio ours / igraph path_length_hist alone:   {paths_s / hist_s:6.3f}")
        print(f"   equal results: {'yes' if same else 'NO'} (ours: diameter {paths.diameter}, "
              f"APL {paths.avg_path_length!r})", flush=True)
    if args.scales:
        approx, approx_s = timed(compute_netstats, src, dst, n, approximate=True, sample_size=args.samples,
                                 clustering=False)
        a = approx.approximation
        if a is None:
            print(f"\n== --approximate: the {args.scales[-1]:g}x graph has no more than {args.samples} sources; "
                  f"the run was exact")
        else:
            err = approx.avg_path_length - paths.avg_path_length
            print(f"\n== --approximate on the {args.scales[-1]:g}x graph ({a.sources_sampled:,} of "
                  f"{a.sources_total:,} sources, {a.pairs_sampled:,} pairs): {approx_s:.2f} s, "
                  f"{paths_s / approx_s:.1f}x faster than exact")
            print(f"   APL {approx.avg_path_length:.4f} ± {a.apl_halfwidth:.4f} ({a.confidence:.0%}, random groups; "
                  f"Hoeffding scale ± {a.apl_hoeffding_halfwidth:.4f}); exact {paths.avg_path_length:.4f}, "
                  f"error {err:+.4f}; diameter >= {approx.diameter} (exact {paths.diameter})")
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
