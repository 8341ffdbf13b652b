"""Benchmark: Gephi-compatible network statistics (analysis.metrics) against python-igraph.

Run from the repository root (one command; at 10x igraph alone needs well over an hour on 2 cores):

    .venv/bin/python benchmarks/bench_netstats.py            # 1x and 10x report-shaped graphs
    .venv/bin/python benchmarks/bench_netstats.py --scales 1 # the 35k-node graph only (~1 min)

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
import os
import platform
import sys
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


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0],
                        help="graph sizes as multiples of the report's 2023 network (default: 1 10)")
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--samples", type=int, default=4096, help="sources sampled by the --approximate run")
    parser.add_argument("--no-igraph-diameter", dest="igraph_diameter", action="store_false",
                        help="skip igraph's Graph.diameter call (a second all-pairs BFS; the largest distance of "
                             "path_length_hist is the diameter too), halving the baseline's run time")
    args = parser.parse_args(argv)

    import igraph  # deferred: the baseline library, only the benchmark run needs it
    from numba import get_num_threads  # deferred: heavy, only the benchmark run needs it

    print(f"python {platform.python_version()}, numba threads {get_num_threads()}, cores {os.cpu_count()}, "
          f"igraph {igraph.__version__}")
    warm_n, warm_s, warm_t = report_like_graph(0.02, args.seed)
    compute_netstats(warm_s, warm_t, warm_n)  # load (or compile) the numba kernels once
    verdicts: list[bool] = []
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
