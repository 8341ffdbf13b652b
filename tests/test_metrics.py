"""Gephi-compatible network statistics (analysis.metrics) and ``aimap netstats``.

Definitions are checked on graphs small enough to compute by hand, then cross-checked on random
graphs against python-igraph / networkx (diameter, average path length) and against a plain
Python transcription of Gephi 0.9.2's directed clustering coefficient (the oracle below).
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import igraph as ig
import networkx as nx
import numpy as np
import pytest
from typer.testing import CliRunner

from aimap.cli import app
from analysis.metrics import (
    EdgeListError,
    NetStats,
    compute_netstats,
    degree_table,
    gephi_decimal,
    gephi_round,
    netstats_graph,
    read_edge_list,
)

KEYS = ["nodes", "edges", "avg_degree", "diameter", "avg_path_length", "avg_clustering"]


def stats(edges: list[tuple[int, int]], n: int | None = None, **options: object) -> NetStats:
    src = [u for u, _ in edges]
    dst = [v for _, v in edges]
    return compute_netstats(src, dst, n, **options)  # type: ignore[arg-type]


def gephi_clustering_oracle(n: int, edges: list[tuple[int, int]]) -> float:
    """Gephi 0.9.2 directed average clustering, written out literally from the definition."""
    edge_set = set(edges)
    total = 0.0
    for v in range(n):
        neighbours = {y for x, y in edge_set if x == v} | {x for x, y in edge_set if y == v}
        k = len(neighbours)  # includes v itself when (v, v) is an edge
        if k < 2:
            continue
        links = sum(1 for x in neighbours for y in neighbours if x != y and (x, y) in edge_set)
        total += links / (k * (k - 1))
    return total / n if n else 0.0


def paths_oracle(n: int, edges: list[tuple[int, int]]) -> tuple[int, float]:
    """Diameter and average path length over reachable ordered pairs s != t (networkx BFS)."""
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from(edges)
    dists = [d for s, row in nx.all_pairs_shortest_path_length(g) for t, d in row.items() if t != s]
    return (max(dists), sum(dists) / len(dists)) if dists else (0, 0.0)


# --------------------------------------------------------------------------- by hand


def test_empty_graph_and_isolated_nodes():
    assert stats([], 0).as_dict() == dict.fromkeys(KEYS, 0) | {"avg_degree": 0.0, "avg_path_length": 0.0,
                                                               "avg_clustering": 0.0}
    r = stats([], 3)
    assert (r.nodes, r.edges, r.avg_degree, r.diameter, r.avg_path_length, r.avg_clustering) == (3, 0, 0, 0, 0, 0)


def test_single_edge():
    assert stats([(0, 1)]).as_dict() == {"nodes": 2, "edges": 1, "avg_degree": 0.5, "diameter": 1,
                                         "avg_path_length": 1.0, "avg_clustering": 0.0}


def test_path():
    # 0->1->2->3: pairs at distance 1 (3), 2 (2), 3 (1) -> 10 / 6
    r = stats([(0, 1), (1, 2), (2, 3)])
    assert (r.diameter, r.avg_path_length, r.avg_clustering) == (3, 10 / 6, 0.0)
    assert r.avg_degree == 0.75


def test_out_star_and_in_star():
    out_star = stats([(0, i) for i in range(1, 5)])
    assert (out_star.diameter, out_star.avg_path_length, out_star.avg_clustering) == (1, 1.0, 0.0)
    in_star = stats([(i, 0) for i in range(1, 5)])
    assert (in_star.diameter, in_star.avg_path_length) == (1, 1.0)


def test_unreachable_pairs_are_ignored():
    # two components 0->1 and 2->3->4: reachable pairs (0,1) (2,3) (3,4) at 1, (2,4) at 2
    r = stats([(0, 1), (2, 3), (3, 4)])
    assert (r.diameter, r.avg_path_length) == (2, 5 / 4)


def test_reciprocal_edges():
    r = stats([(0, 1), (1, 0)])
    assert (r.edges, r.avg_degree, r.diameter, r.avg_path_length, r.avg_clustering) == (2, 1.0, 1, 1.0, 0.0)
    # reciprocal pair inside N(v) counts twice: N(2) = {0, 1}, 0->1 and 1->0 -> C(2) = 2/2
    r = stats([(0, 1), (1, 0), (2, 0), (2, 1)])
    assert r.avg_clustering == pytest.approx((1 + 0.5 + 0.5) / 3)  # N(0) = {1, 2}: 2->1 -> 1/2; same for 1


def test_cycle_with_degree_one_node():
    # triangle 0->1->2->0 plus the pendant 2->3
    r = stats([(0, 1), (1, 2), (2, 0), (2, 3)])
    # distances: from 0: 1,2,3; from 1: 1,2,2; from 2: 1,1,2; from 3: none -> 15 / 9
    assert (r.diameter, r.avg_path_length) == (3, 15 / 9)
    # N(0)={1,2}: 1->2 -> 1/2; N(1)={0,2}: 2->0 -> 1/2; N(2)={0,1,3}: 0->1 -> 1/6; N(3)={2}: 0
    assert r.avg_clustering == pytest.approx((1 / 2 + 1 / 2 + 1 / 6) / 4)


def test_self_loop_counts_as_edge_not_as_path():
    r = stats([(0, 0), (0, 1), (0, 1)])  # repeated pair merged, self-loop kept
    assert (r.nodes, r.edges, r.avg_degree) == (2, 2, 1.0)
    assert (r.diameter, r.avg_path_length) == (1, 1.0)
    # N(0) = {0, 1} (itself, through the loop): pairs (0,1) edge, (1,0) none -> 1/2; N(1) = {0} -> 0
    assert r.avg_clustering == 0.25
    only_loop = stats([(0, 0)])
    assert (only_loop.edges, only_loop.diameter, only_loop.avg_path_length, only_loop.avg_clustering) == (1, 0, 0, 0)


def test_complete_digraph():
    r = stats([(u, v) for u in range(4) for v in range(4) if u != v])
    assert (r.avg_degree, r.diameter, r.avg_path_length, r.avg_clustering) == (3.0, 1, 1.0, 1.0)


def test_degree_table_unique_pairs_and_loops():
    indeg, outdeg = degree_table([0, 0, 0, 1, 2], [1, 1, 0, 2, 0], 4)
    # pairs: 0->1, 0->0, 1->2, 2->0; the loop is one in- and one out-edge of node 0
    assert indeg.tolist() == [2, 1, 1, 0]
    assert outdeg.tolist() == [2, 1, 1, 0]
    assert (indeg + outdeg).tolist() == [4, 2, 2, 0]


def test_input_validation():
    with pytest.raises(ValueError, match="differ in length"):
        compute_netstats([0, 1], [1])
    with pytest.raises(ValueError, match=">= 0"):
        compute_netstats([-1], [0])
    with pytest.raises(ValueError, match="out of range"):
        compute_netstats([0], [5], 3)
    with pytest.raises(ValueError, match="integer"):
        compute_netstats(np.array([0.0]), np.array([1.0]))


def test_gephi_round_half_even():
    assert gephi_round(0.0625) == "0.062"  # exact tie -> even
    assert gephi_round(0.1875) == "0.188"
    assert gephi_round(3.8255) == "3.825"  # stored as 3.82549999..., as Java's DecimalFormat rounds it
    assert gephi_round(2.5554496) == "2.555"
    assert gephi_round(3) == "3.000"
    assert gephi_round(Decimal("0.0015")) == "0.002" and gephi_round(Decimal("0.0025")) == "0.002"
    assert gephi_decimal(1.3185) == Decimal("1.319")
    with pytest.raises(ValueError):
        gephi_round(math.nan)


# --------------------------------------------------------------------------- cross-checks


def random_edges(rng: np.random.Generator, n: int, m: int, *, heavy: bool) -> list[tuple[int, int]]:
    """Random directed edges; ``heavy`` draws targets from a heavy tail (hubs, pendant nodes)."""
    src = rng.integers(0, n, m)
    dst = (rng.pareto(0.8, m) * 2).astype(np.int64) % n if heavy else rng.integers(0, n, m)
    loops = rng.integers(0, n, 3)
    return list(zip(np.concatenate([src, loops]).tolist(), np.concatenate([dst, loops]).tolist(), strict=True))


@pytest.mark.parametrize("seed", range(6))
def test_paths_against_igraph_and_networkx(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(150, 700))
    edges = random_edges(rng, n, int(rng.integers(n // 2, 3 * n)), heavy=seed % 2 == 1)
    g = ig.Graph(n=n, edges=edges, directed=True).simplify()
    hist = g.path_length_hist(directed=True)
    pairs = sum(c for _, _, c in hist.bins())
    apl_igraph = sum(start * c for start, _, c in hist.bins()) / pairs
    diameter, apl = paths_oracle(n, edges)
    assert g.diameter(directed=True, unconn=True) == diameter
    assert apl_igraph == pytest.approx(apl, rel=1e-12)
    for words in (1, 2, 4):  # batch width changes speed, not results
        r = stats(edges, n, words=words)
        assert r.diameter == diameter
        assert r.avg_path_length == pytest.approx(apl, rel=1e-12)


def test_paths_exact_on_pendant_structures():
    """Folded pendant sources and pendant sinks (chains, cycles through them, sinks of sources)."""
    edges = [(0, 1), (1, 2), (2, 0), (3, 0), (4, 3), (5, 4), (0, 6), (6, 7), (7, 3), (2, 8), (8, 9), (10, 9),
             (11, 11), (11, 12), (13, 2), (2, 13), (14, 15)]
    n = 16
    diameter, apl = paths_oracle(n, edges)
    r = stats(edges, n)
    assert (r.diameter, r.avg_path_length) == (diameter, pytest.approx(apl, rel=1e-12))


@pytest.mark.parametrize("seed", range(4))
def test_clustering_against_gephi_oracle(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(20, 120))
    edges = random_edges(rng, n, int(rng.integers(n, 5 * n)), heavy=seed % 2 == 0)
    edges += [(v, u) for u, v in edges[::7]]  # some reciprocal pairs
    assert stats(edges, n).avg_clustering == pytest.approx(gephi_clustering_oracle(n, edges), rel=1e-12)


def test_clustering_is_not_networkx_directed_clustering():
    edges = [(1, 2), (0, 3), (2, 0), (2, 3), (0, 2), (1, 3)]
    ours = stats(edges).avg_clustering
    # C(0) = 1/2 (2->3), C(1) = 1/2 (2->3), C(2) = 2/6 (1->3, 0->3 in {0,1,3}), C(3) = 3/6 (0->2, 2->0, 1->2)
    assert ours == pytest.approx((1 / 2 + 1 / 2 + 1 / 3 + 1 / 2) / 4)
    assert nx.clustering(nx.DiGraph(edges))[2] == pytest.approx(0.3)  # networkx counts directed triangles
    assert ours != pytest.approx(nx.average_clustering(nx.DiGraph(edges)))


def test_degree_table_matches_networkx():
    rng = np.random.default_rng(7)
    edges = random_edges(rng, 60, 200, heavy=True)
    g = nx.DiGraph(edges)
    g.add_nodes_from(range(60))
    indeg, outdeg = degree_table([u for u, _ in edges], [v for _, v in edges], 60)
    assert indeg.tolist() == [g.in_degree(v) - 0 for v in range(60)]
    assert outdeg.tolist() == [g.out_degree(v) for v in range(60)]
    assert indeg.sum() == outdeg.sum() == g.number_of_edges()


def test_netstats_graph_relabels_and_keeps_isolated_nodes():
    g = nx.DiGraph()
    g.add_edges_from([("华为", "清华大学"), ("清华大学", "腾讯"), ("华为", "腾讯")])
    g.add_node("孤立")
    r = netstats_graph(g)
    assert (r.nodes, r.edges, r.avg_degree, r.diameter, r.avg_path_length) == (4, 3, 0.75, 1, 1.0)
    assert r.avg_clustering == pytest.approx((0.5 + 0.5 + 0.5) / 4)
    with pytest.raises(ValueError, match="directed"):
        netstats_graph(nx.Graph([(1, 2)]))


# --------------------------------------------------------------------------- approximate mode


def test_approximate_covers_everything_then_is_exact():
    edges = [(0, 1), (1, 2), (2, 3)]
    r = stats(edges, approximate=True, sample_size=10)
    assert r.approximation is None and r == stats(edges)


def test_approximate_estimate_and_bounds():
    rng = np.random.default_rng(11)
    n = 3000
    edges = random_edges(rng, n, 7000, heavy=True)
    exact = stats(edges, n)
    approx = stats(edges, n, approximate=True, sample_size=1024, seed=3)
    info = approx.approximation
    assert info is not None
    assert info.sources_sampled == 1024 and info.groups == 16 and info.sources_total > 1024
    assert info.pairs_sampled > 0 and info.diameter_is_lower_bound
    assert approx.diameter <= exact.diameter
    assert 0 < info.apl_halfwidth < 0.5 and info.apl_hoeffding_halfwidth > 0
    assert abs(approx.avg_path_length - exact.avg_path_length) <= 2 * info.apl_halfwidth
    # counts, degree and clustering stay exact; the same seed gives the same sample
    assert (approx.nodes, approx.edges, approx.avg_clustering) == (exact.nodes, exact.edges, exact.avg_clustering)
    assert stats(edges, n, approximate=True, sample_size=1024, seed=3) == approx
    assert json.dumps(info.as_dict())


# --------------------------------------------------------------------------- edge list files and the CLI


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_read_edge_list_header_case_bom_and_extra_columns(tmp_path):
    f = write(tmp_path / "e.csv", "\ufeffWeight,source,TARGET\n1, 华为 ,腾讯\n2,腾讯,华为\n\n3,华为,华为\n")
    labels, src, dst = read_edge_list(f)
    assert labels == ["华为", "腾讯"]
    assert src.tolist() == [0, 1, 0] and dst.tolist() == [1, 0, 0]


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty file"),
    ("from,to\na,b\n", "row 1: no Source column"),
    ("source,target,Source\na,b,c\n", "row 1: 2 Source columns"),
    ("source,target\na,b\n,c\n", "row 3: empty Source id"),
    ("source,target\na,b\nc, \n", "row 3: empty Target id"),
    ("source,weight,target\na,1,b\nc\n", "row 3: 1 columns"),
])
def test_read_edge_list_errors_name_file_row_and_reason(tmp_path, text, message):
    f = write(tmp_path / "bad.csv", text)
    with pytest.raises(EdgeListError, match=message) as info:
        read_edge_list(f)
    assert str(f) in str(info.value)


def test_read_edge_list_not_utf8_and_missing(tmp_path):
    f = write(tmp_path / "gbk.csv", "source,target\n华为,腾讯\n", encoding="gbk")
    with pytest.raises(EdgeListError, match="row 2: not UTF-8"):
        read_edge_list(f)
    with pytest.raises(EdgeListError, match="cannot read"):
        read_edge_list(tmp_path / "missing.csv")


runner = CliRunner()


def test_cli_netstats(tmp_path):
    f = write(tmp_path / "edges.csv", "source,TARGET,weight\na,b,1\nb,c,2\na,b,5\nc,c,1\nc,a,1\nd,a,1\n")
    result = runner.invoke(app, ["netstats", str(f)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert list(out) == KEYS
    # 4 nodes; pairs a->b, b->c, c->c, c->a, d->a (repeated a->b merged, the self-loop kept)
    assert (out["nodes"], out["edges"], out["avg_degree"], out["diameter"]) == (4, 5, 1.25, 3)
    assert Fraction(out["avg_path_length"]).limit_denominator(100) == Fraction(15, 9)
    # C(a) = 1/6 (b->c in {b,c,d}), C(b) = 1/2 (c->a), C(c) = 3/6 (N(c) = {a,b,c}), C(d) = 0
    assert out["avg_clustering"] == pytest.approx((1 / 6 + 1 / 2 + 1 / 2) / 4)


def test_cli_netstats_approximate_and_errors(tmp_path):
    rows = "".join(f"n{i},n{(i * 7 + 3) % 400}\n" for i in range(400))
    f = write(tmp_path / "big.csv", "Source,Target\n" + rows)
    result = runner.invoke(app, ["netstats", str(f), "--approximate", "--samples", "200", "--seed", "1"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["approximation"]["sources_sampled"] == 200 and out["approximation"]["diameter_is_lower_bound"]
    bad = write(tmp_path / "bad.csv", "from,to\na,b\n")
    result = runner.invoke(app, ["netstats", str(bad)])
    assert result.exit_code == 1
    assert "no Source column" in result.output


def test_cli_netstats_is_listed_and_documented():
    assert "netstats" in runner.invoke(app, ["--help"]).output
    result = runner.invoke(app, ["netstats", "--help"])
    assert result.exit_code == 0
    assert "--approximate" in result.output and "Source" in result.output
