"""Network statistics of a directed graph as Gephi 0.9.2 computes them (the report's Table 1).

The institute computed the report's network statistics with Gephi 0.9.2 on the directed
value network; every function here reproduces one of Gephi's definitions exactly, so that a
network rebuilt by aimap gives the numbers Gephi would give for the same edge list.
``aimap netstats EDGES.csv`` runs the same code on any edge list.

Input convention: nodes are the integers ``0 .. n-1``; an edge list is two equal-length
integer arrays (``sources[i] -> targets[i]``). Repeated pairs are merged into one edge (Gephi's
import merges parallel edges of a directed graph); self-loops are kept as edges, as Gephi's
import does by default. Every statistic below is defined on that *unique-pair graph*:

- **nodes** — ``n`` (isolated nodes count when ``n_nodes`` says so).
- **edges** — number of unique ordered pairs (u, v), self-loops included.
- **average degree** (Gephi ``Degree``, directed) = edges / nodes (0 for an empty graph).
- **diameter / average path length** (Gephi ``GraphDistance``, directed, unweighted):
  one BFS per node along out-edges; only ordered pairs (s, t), s != t, with t reachable from
  s count, unreachable pairs are ignored (no infinity, no harmonic mean). Diameter = the
  largest such distance (0 if there is none); average path length = the mean distance over
  those pairs (0 if there is none). A self-loop creates no path of positive length.
  Reference: U. Brandes, "A faster algorithm for betweenness centrality", J. Math. Sociol.
  25(2), 2001 (the BFS Gephi's GraphDistance runs); Gephi 0.9.2 ``GraphDistance.java``.
- **average clustering coefficient** (Gephi 0.9.2 ``ClusteringCoefficient`` on a directed
  graph — *not* networkx's directed clustering): for node v, N(v) = in-neighbours ∪
  out-neighbours, each once (v itself included when v has a self-loop), k = |N(v)|;
  C(v) = (number of ordered pairs (x, y), x != y, both in N(v), with an edge x -> y) /
  (k (k - 1)); nodes with k < 2 have C(v) = 0, and the average is over *all* nodes.
  Reference: Gephi 0.9.2 ``ClusteringCoefficient.java`` (directed case); D. J. Watts and
  S. H. Strogatz, "Collective dynamics of 'small-world' networks", Nature 393, 1998.
- **degree centrality** (连入度 + 连出度) = in-degree + out-degree on the unique-pair graph
  (:func:`degree_table`).
- **displayed values**: 3 decimals, rounded half-even (:func:`gephi_round`).

Speed: path statistics use a bit-parallel multi-source BFS compiled with numba
(:mod:`analysis._bfs`); ``benchmarks/bench_netstats.py`` measures it against python-igraph.
For graphs too large even for that, ``approximate=True`` samples sources (see
:func:`compute_netstats`).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np

from analysis._bfs import bfs_rank, clustering_per_node, distance_histogram, get_num_threads

if TYPE_CHECKING:
    import networkx as nx

#: Bits per source batch of the multi-source BFS = 64 * WORDS (measured best on the benchmark graphs).
WORDS = 4
#: Sources sampled by the approximate mode unless told otherwise.
DEFAULT_SAMPLE = 4096
#: Confidence of the approximate mode's stated error bounds.
CONFIDENCE = 0.95

_THOUSANDTH = Decimal("0.001")


@dataclass(frozen=True)
class Approximation:
    """How an approximate :class:`NetStats` was obtained and how far off it may be.

    - ``sources_sampled`` of ``sources_total`` candidate sources (nodes with an out-edge to
      another node; the others contribute no pair) were drawn uniformly without replacement;
      ``pairs_sampled`` reachable pairs were measured from them.
    - ``apl_halfwidth`` — half-width of an approximate ``confidence`` interval for the average
      path length. The sampled sources, in random order, form ``groups`` random groups of 64
      (the lanes of one BFS word); with group totals P_g (pairs) and S_g (sum of distances) and
      the ratio estimate R = sum S_g / sum P_g, the variance of R is estimated from the groups'
      linearised residuals, Var(R) = sum_g (S_g - R P_g)^2 / (G (G - 1) mean(P_g)^2), times the
      finite-population correction 1 - sampled/total (random-group variance estimation:
      K. M. Wolter, *Introduction to Variance Estimation*, 2nd ed., Springer 2007, ch. 2 and 6);
      half-width = normal quantile * sqrt(Var). Because whole sources are the sampling units it
      accounts for the correlation of pairs from one source; it needs a few dozen groups
      (the default sample gives 64) to be trusted, and is None for a single group.
    - ``apl_hoeffding_halfwidth`` — Hoeffding's bound (W. Hoeffding, JASA 58, 1963) on a mean of
      ``pairs_sampled`` independent values in [1, D], D = the sampled diameter:
      ``(D - 1) * sqrt(ln(2 / (1 - confidence)) / (2 * pairs_sampled))``. Pairs that share a
      source are not independent, so read it as a scale, not a guarantee.
    - the diameter of an approximate result is a *lower bound* (the largest distance seen).
    """

    sources_sampled: int
    sources_total: int
    pairs_sampled: int
    groups: int
    confidence: float
    apl_halfwidth: float
    apl_hoeffding_halfwidth: float
    diameter_is_lower_bound: bool = True

    def as_dict(self) -> dict[str, float | int | bool | None]:
        """Plain dict for JSON output (an unavailable bound, e.g. from a single group, is None)."""
        return {
            "sources_sampled": self.sources_sampled,
            "sources_total": self.sources_total,
            "pairs_sampled": self.pairs_sampled,
            "groups": self.groups,
            "confidence": self.confidence,
            "apl_halfwidth": self.apl_halfwidth if math.isfinite(self.apl_halfwidth) else None,
            "apl_hoeffding_halfwidth": (self.apl_hoeffding_halfwidth if math.isfinite(self.apl_hoeffding_halfwidth)
                                        else None),
            "diameter_is_lower_bound": self.diameter_is_lower_bound,
        }


@dataclass(frozen=True)
class NetStats:
    """Table 1's network statistics of one directed graph (definitions in the module docstring).

    ``approximation`` is ``None`` for exact results (the default) and describes the sample and
    the error bounds when ``compute_netstats(..., approximate=True)`` sampled sources.
    """

    nodes: int
    edges: int
    avg_degree: float
    diameter: int
    avg_path_length: float
    avg_clustering: float
    approximation: Approximation | None = None

    def as_dict(self) -> dict[str, float | int]:
        """The six statistics with keys nodes, edges, avg_degree, diameter, avg_path_length, avg_clustering."""
        return {
            "nodes": self.nodes,
            "edges": self.edges,
            "avg_degree": self.avg_degree,
            "diameter": self.diameter,
            "avg_path_length": self.avg_path_length,
            "avg_clustering": self.avg_clustering,
        }


# --------------------------------------------------------------------------- rounding


def gephi_decimal(x: float | int | Decimal) -> Decimal:
    """``x`` rounded to 3 decimals, half-even, as a :class:`~decimal.Decimal`.

    Gephi shows statistics with Java's ``DecimalFormat`` (3 fraction digits, ``HALF_EVEN``),
    which since Java 8 rounds the exact binary value of the double; ``Decimal(x)`` is that
    exact value, so a float such as 3.8255 (stored as 3.82549999...) rounds down as in Gephi,
    and an exact tie such as 0.0625 rounds to the even neighbour (0.062).
    """
    if isinstance(x, float) and not math.isfinite(x):
        raise ValueError(f"cannot round {x!r}")
    return Decimal(x).quantize(_THOUSANDTH, rounding=ROUND_HALF_EVEN)


def gephi_round(x: float | int | Decimal) -> str:
    """``x`` as Gephi displays it: 3 decimals, rounded half-even (``gephi_round(3.8255) == '3.825'``)."""
    return str(gephi_decimal(x))


# --------------------------------------------------------------------------- graph building


def _as_index_array(values: Sequence[int] | np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must hold integer node ids 0..n-1, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def _distinct(values: np.ndarray, *, presorted: bool = False) -> np.ndarray:
    """The distinct values of an int64 array, ascending (``presorted``: ``values`` are ascending already).

    ``np.unique`` by a sort and a comparison of neighbours: numpy 2's hash-based ``np.unique``
    takes ~6x as long on the key arrays here (measured with numpy 2.4, 180k int64 keys).
    """
    if not presorted:
        values = np.sort(values)
    if values.size < 2:
        return values
    keep = np.empty(values.size, dtype=np.bool_)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def _unique_pairs(sources: Sequence[int] | np.ndarray, targets: Sequence[int] | np.ndarray,
                  n_nodes: int | None) -> tuple[int, np.ndarray, np.ndarray]:
    """Validate the edge list and return ``(n, src, dst)`` of the unique pairs, sorted by (src, dst)."""
    src = _as_index_array(sources, "sources")
    dst = _as_index_array(targets, "targets")
    if src.shape != dst.shape:
        raise ValueError(f"sources and targets differ in length ({src.size} != {dst.size})")
    top = int(max(src.max(), dst.max())) if src.size else -1
    low = int(min(src.min(), dst.min())) if src.size else 0
    n = top + 1 if n_nodes is None else int(n_nodes)
    if low < 0:
        raise ValueError(f"node ids must be >= 0, got {low}")
    if top >= n:
        raise ValueError(f"node id {top} out of range for n_nodes={n}")
    keys = _distinct(src * np.int64(max(n, 1)) + dst)
    return n, keys // max(n, 1), keys % max(n, 1)


def _csr(n: int, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSR of pairs already sorted by (row, col): ``indptr`` (n + 1) and ``indices``."""
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return indptr, np.ascontiguousarray(cols, dtype=np.int64)


def degree_table(sources: Sequence[int] | np.ndarray, targets: Sequence[int] | np.ndarray,
                 n_nodes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """In-degree and out-degree of every node on the unique-pair graph (two int64 arrays of length n).

    Degree centrality (连入度 + 连出度) = ``in_degree + out_degree``. Repeated pairs count once.
    A self-loop counts once in the in-degree and once in the out-degree of its node (so twice in
    its degree), as in Gephi 0.9.2's graph store, where a loop is both an incoming and an outgoing
    edge; hence ``sum(in) == sum(out) == edges`` and the average degree edges / nodes is also
    the mean in-degree. (The value networks built from the database have no self-loops.)
    """
    n, src, dst = _unique_pairs(sources, targets, n_nodes)
    return np.bincount(dst, minlength=n).astype(np.int64), np.bincount(src, minlength=n).astype(np.int64)


# --------------------------------------------------------------------------- statistics


def _distance_histogram(n: int, src: np.ndarray, dst: np.ndarray, *, words: int,
                        sample: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pairs per distance (``hist[d]``, d >= 1) over all sources, or over ``sample`` (in its order).

    Also returns the (pairs, distance sum) of every group of 64 consecutive sources. Prepares the exact reductions of
    :func:`analysis._bfs.distance_histogram` and a node order for memory locality:

    1. self-loops are dropped (they create no path of positive length);
    2. pendant sinks (no out-edge, exactly one in-neighbour) leave the adjacency and become a
       weight on their in-neighbour;
    3. without ``sample``, the sources are every node with an out-edge; a source with exactly one
       out-neighbour h is *folded* onto h (runs no BFS lane) unless h has exactly one out-neighbour
       too (no chains); a source folded onto a node without out-edges just adds the pair (u, h);
    4. nodes are renumbered so that the rows the BFS touches are contiguous: nodes with in- and
       out-edges first, then the other sinks, then nodes never reached, then the removed pendant
       sinks; within each group in the order of an undirected breadth-first search from the
       hubs (neighbours by decreasing degree), so that a hub's neighbours sit side by side;
    5. lanes are ordered by their out-neighbour numbered first (the most central one), so that
       sources sharing a hub share a batch and their bits travel together (measured: ~25% less
       time than ordering by id).
    """
    proper = src != dst
    s, d = src[proper], dst[proper]  # sorted by (s, d)
    out_deg = np.bincount(s, minlength=n)
    in_deg = np.bincount(d, minlength=n)
    first_at = np.flatnonzero(np.concatenate([[True], s[1:] != s[:-1]])) if s.size else np.zeros(0, dtype=np.int64)
    heads = s[first_at]  # the nodes with an out-edge, ascending, and where their edges start
    first = np.full(n, -1, dtype=np.int64)
    first[heads] = d[first_at]  # smallest out-neighbour

    pendant_sink = (out_deg == 0) & (in_deg == 1)
    keep = ~pendant_sink[d]
    sink_weight = np.bincount(s[~keep], minlength=n).astype(np.int64)
    s, d = s[keep], d[keep]

    folded = np.zeros(n, dtype=np.bool_)
    if sample is None:
        pendant = heads[out_deg[heads] == 1]
        folded[pendant[out_deg[first[pendant]] != 1]] = True
        lanes = heads[~folded[heads]]
    else:
        lanes = np.asarray(sample, dtype=np.int64)

    # renumbering for locality (old id -> new id)
    red_out = np.bincount(s, minlength=n)
    red_in = np.bincount(d, minlength=n)
    category = np.where(pendant_sink, 3, np.where(red_in == 0, 2, np.where(red_out == 0, 1, 0)))
    degree = out_deg + in_deg
    # sorts of one int64 key instead of np.lexsort (measured 2-4x faster on the 1x benchmark graph)
    ends_a, ends_b = np.concatenate([s, d]), np.concatenate([d, s])
    top = np.int64(degree.max()) + 1 if n else np.int64(1)
    by_degree = np.argsort(ends_a * top + (top - 1 - degree[ends_b]), kind="stable")  # by end, then degree desc.
    und_ptr, und_idx = _csr(n, ends_a[by_degree], ends_b[by_degree])
    rank = bfs_rank(und_ptr, und_idx, np.argsort(-degree, kind="stable").astype(np.int64))  # a permutation of 0..n-1
    key = category * np.int64(n) + rank  # distinct keys below 4n: new id = number of smaller keys
    present = np.zeros(4 * n, dtype=np.int64)
    present[key] = 1
    new_id = np.cumsum(present)[key] - 1

    edge_keys = np.sort(new_id[s] * np.int64(n) + new_id[d])
    indptr, indices = _csr(n, edge_keys // n, edge_keys % n)

    if sample is None:
        lead = np.full(n, n, dtype=np.int64)  # per source: its out-neighbour numbered first
        np.minimum.at(lead, src[proper], new_id[dst[proper]])
        lanes = lanes[np.argsort(lead[lanes] * np.int64(n) + new_id[lanes])]  # distinct keys
    lanes_new = new_id[lanes]
    lane_pos = np.full(n, -1, dtype=np.int64)
    lane_pos[lanes_new] = np.arange(lanes.size)
    fold_target = np.full(n, -1, dtype=np.int64)
    folded_ids = np.flatnonzero(folded)
    onto = first[folded_ids]
    has_lane = out_deg[onto] > 0
    fold_target[new_id[folded_ids[has_lane]]] = new_id[onto[has_lane]]
    lane_weight = np.bincount(lane_pos[new_id[onto[has_lane]]], minlength=lanes.size).astype(np.int64)
    meta = np.empty((n, 2), dtype=np.int64)
    meta[new_id, 0] = sink_weight
    meta[:, 1] = fold_target
    n_transit = int((category == 0).sum())

    if lanes.size:
        batches = -(-lanes.size // (64 * words))
        hist, groups = distance_histogram(indptr, indices, lanes_new, words,
                                               max(1, min(get_num_threads(), batches)),
                                               lane_weight, meta, n_transit, lane_pos)
    else:
        hist, groups = np.zeros(n + 3, dtype=np.int64), np.zeros((0, 2), dtype=np.int64)
    hist[1] += folded_ids.size  # the pair (u, h) of every folded source
    return hist, groups


def _path_stats(hist: np.ndarray) -> tuple[int, float, int]:
    """Diameter, average path length and number of reachable pairs from a distance histogram."""
    levels = np.flatnonzero(hist)
    if levels.size == 0:
        return 0, 0.0, 0
    pairs = int(hist.sum())
    total = int((hist * np.arange(hist.size, dtype=np.int64)).sum())
    return int(levels[-1]), total / pairs, pairs


def _approximation(group_stats: np.ndarray, sampled: int, total: int, diameter: int,
                   pairs: int, apl: float) -> Approximation:
    """Error bounds of the sampled average path length (see :class:`Approximation`)."""
    z = NormalDist().inv_cdf(0.5 + CONFIDENCE / 2)
    groups = int(group_stats.shape[0])
    halfwidth = math.inf
    if groups >= 2 and pairs > 0:
        g_pairs = group_stats[:, 0].astype(np.float64)
        g_sum = group_stats[:, 1].astype(np.float64)
        # random-group variance of the ratio estimator: residuals d_g = sum_g - apl * pairs_g
        resid = g_sum - apl * g_pairs
        mean_pairs = g_pairs.mean()
        var = float((resid**2).sum()) / (groups * (groups - 1) * mean_pairs**2)
        fpc = 1.0 - sampled / total if total else 0.0
        halfwidth = z * math.sqrt(max(var * fpc, 0.0))
    hoeffding = (max(diameter, 1) - 1) * math.sqrt(math.log(2 / (1 - CONFIDENCE)) / (2 * pairs)) if pairs else math.inf
    return Approximation(sampled, total, pairs, groups, CONFIDENCE, halfwidth, hoeffding)


def compute_netstats(
    sources: Sequence[int] | np.ndarray,
    targets: Sequence[int] | np.ndarray,
    n_nodes: int | None = None,
    *,
    approximate: bool = False,
    seed: int = 0,
    sample_size: int = DEFAULT_SAMPLE,
    words: int = WORDS,
    clustering: bool = True,
) -> NetStats:
    """Gephi 0.9.2's Table 1 statistics of the directed graph ``sources[i] -> targets[i]``.

    Nodes are ``0 .. n_nodes-1`` (default: largest id + 1). Repeated pairs are merged; self-loops
    are kept as edges (they count in ``edges`` and ``avg_degree``, create no path of positive
    length, and put their node into its own N(v) for clustering). Definitions (exact):

    - avg_degree = edges / nodes;
    - diameter / avg_path_length: over ordered pairs (s, t), s != t, t reachable from s along
      out-edges, of the BFS distance: the maximum (0 if no pair) and the mean (0.0 if no pair);
      unreachable pairs are ignored — Gephi 0.9.2 ``GraphDistance`` (directed);
    - avg_clustering: mean over all nodes of C(v) = |{(x, y): x != y, x, y in N(v), x -> y}| /
      (k (k - 1)), N(v) = in- ∪ out-neighbours (v included if it has a self-loop), k = |N(v)|,
      C(v) = 0 when k < 2 — Gephi 0.9.2 ``ClusteringCoefficient`` (directed).

    ``approximate=True`` runs the BFS only from ``sample_size`` sources drawn uniformly without
    replacement (``seed``) among the nodes with an out-edge to another node (nodes without one
    contribute no pair, so this is a uniform sample of every pair-contributing source); the
    average path length is the ratio estimator (sum of sampled distances / sampled pairs), the
    diameter is a lower bound, and ``approximation`` states the error bounds. Counts, degree and
    clustering stay exact. When ``sample_size`` covers every candidate, the result is exact.
    ``words`` sets the BFS batch width (64 * words sources); it changes speed, not results.
    ``clustering=False`` skips the clustering coefficient (``avg_clustering`` is NaN): for timing
    the path statistics alone.
    """
    if words < 1:
        raise ValueError("words must be >= 1")
    n, src, dst = _unique_pairs(sources, targets, n_nodes)
    edges = int(src.size)
    out_ptr, out_idx = _csr(n, src, dst)
    candidates = _distinct(src[src != dst], presorted=True)  # nodes with an out-edge to another node

    approx = approximate and sample_size < candidates.size
    if approx:
        if sample_size < 1:
            raise ValueError("sample_size must be >= 1")
        rng = np.random.default_rng(seed)
        # in a uniformly random order: every 64 consecutive sources are a random group of the sample
        sample = candidates[rng.choice(candidates.size, size=sample_size, replace=False)]
        hist, groups = _distance_histogram(n, src, dst, words=words, sample=sample)
    else:
        hist, groups = _distance_histogram(n, src, dst, words=words)
    diameter, apl, pairs = _path_stats(hist)

    return NetStats(
        nodes=n,
        edges=edges,
        avg_degree=edges / n if n else 0.0,
        diameter=diameter,
        avg_path_length=apl,
        avg_clustering=_avg_clustering(n, src, dst, out_ptr, out_idx) if clustering else math.nan,
        approximation=(_approximation(groups, sample_size, int(candidates.size), diameter, pairs, apl)
                       if approx else None),
    )


def _avg_clustering(n: int, src: np.ndarray, dst: np.ndarray, out_ptr: np.ndarray, out_idx: np.ndarray) -> float:
    """Gephi 0.9.2 directed average clustering (definition in :func:`compute_netstats`)."""
    if n == 0:
        return 0.0
    # N(v): both orientations of every pair, each neighbour once; a self-loop gives v itself once
    runs = np.concatenate([src * n + dst, np.sort(dst * n + src)])  # two ascending runs
    und_keys = _distinct(np.sort(runs, kind="stable"), presorted=True)  # timsort merges the runs
    und_ptr, und_idx = _csr(n, und_keys // n, und_keys % n)
    has_loop = np.zeros(n, dtype=np.bool_)
    has_loop[src[src == dst]] = True
    coeff = clustering_per_node(out_ptr, out_idx, und_ptr, und_idx, has_loop, max(1, min(get_num_threads(), n)))
    return float(math.fsum(coeff)) / n


def netstats_graph(graph: nx.DiGraph, **options: object) -> NetStats:
    """:func:`compute_netstats` of a networkx directed graph (nodes relabelled 0..n-1 in graph order).

    Isolated nodes count as nodes; ``options`` (approximate, seed, ...) are passed through.
    """
    if not graph.is_directed():
        raise ValueError("netstats_graph needs a directed graph (Gephi's directed statistics)")
    index = {node: i for i, node in enumerate(graph.nodes)}
    m = graph.number_of_edges()
    src = np.fromiter((index[u] for u, _ in graph.edges), dtype=np.int64, count=m)
    dst = np.fromiter((index[v] for _, v in graph.edges), dtype=np.int64, count=m)
    return compute_netstats(src, dst, len(index), **options)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- edge list files


class EdgeListError(ValueError):
    """An edge list file that cannot be read; the message names the file, the row and the reason."""


def read_edge_list(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Read a directed edge list CSV: ``(labels, sources, targets)``.

    The file is UTF-8 (a byte-order mark is skipped) with a header row that has a ``Source``
    and a ``Target`` column in any case (as Gephi's spreadsheet import expects); other
    columns (Weight, Type, ...) are ignored. Ids are stripped of surrounding whitespace and
    numbered 0..n-1 in order of first appearance (``labels[i]`` is node i). Blank lines are
    skipped. Raises :class:`EdgeListError` naming the file, the row (1 = header) and the
    reason for: a missing file, a file that is not UTF-8, no header, a missing or duplicated
    Source/Target column, a row too short to have them, an empty id.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise EdgeListError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise EdgeListError(f"{path}: row {line}: not UTF-8 (byte 0x{raw[exc.start]:02x} at offset "
                            f"{exc.start}); save the file as UTF-8") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    for header in reader:
        if any(cell.strip() for cell in header):
            break
    else:
        raise EdgeListError(f"{path}: empty file; expected a header with Source and Target columns")
    names = [cell.strip().lower() for cell in header]
    columns: dict[str, int] = {}
    for wanted in ("source", "target"):
        hits = [i for i, name in enumerate(names) if name == wanted]
        if not hits:
            raise EdgeListError(f"{path}: row {reader.line_num}: no {wanted.capitalize()} column in the header "
                                f"{header!r}")
        if len(hits) > 1:
            raise EdgeListError(f"{path}: row {reader.line_num}: {len(hits)} {wanted.capitalize()} columns in the "
                                f"header {header!r}")
        columns[wanted] = hits[0]
    si, ti = columns["source"], columns["target"]
    need = max(si, ti) + 1
    index: dict[str, int] = {}
    src: list[int] = []
    dst: list[int] = []
    for row in reader:
        if len(row) >= need:  # the common case first: both ids present
            a, b = row[si].strip(), row[ti].strip()
            if a and b:
                src.append(index.setdefault(a, len(index)))
                dst.append(index.setdefault(b, len(index)))
                continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < need:
            raise EdgeListError(f"{path}: row {reader.line_num}: {len(row)} columns, the Source/Target columns "
                                f"need {need}")
        which = "Source" if not row[si].strip() else "Target"
        raise EdgeListError(f"{path}: row {reader.line_num}: empty {which} id")
    return list(index), np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64)
