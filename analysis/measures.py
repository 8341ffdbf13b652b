"""The report's statistics as plain functions over arrays, each defined in its docstring.

Degree centrality and the top-k rule (:func:`top_nodes`), degree concentration and distribution
and the power-law fit (Fig. 14), category shares (Figs. 15/16), sectors (Fig. 17), province flows
(Table 7) and the part of the network Fig. 13 draws. The table builders (:mod:`analysis.tables`)
turn them into tables.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np

from analysis.loaders import OrgTable, Taxonomy
from analysis.network import YearEdges
from analysis.presentation import pct
from db.taxonomy import SECTORS


def top_nodes(ids: np.ndarray, labels: Sequence[str], in_deg: np.ndarray, out_deg: np.ndarray,
              k: int) -> list[int]:
    """Positions of the ``k`` nodes with the highest degree centrality (in + out degree).

    Ties: degree descending, then display name ascending, then organisation id ascending.
    Reference: L. C. Freeman, "Centrality in social networks: conceptual clarification", Social
    Networks 1(3), 1978 (degree centrality); the report's Tables 2/3 (连入度 + 连出度 = 度数中心度).
    """
    degree = (in_deg + out_deg).tolist()
    if len(degree) > 4 * k:  # only candidates with degree >= the k-th largest can be in the top k
        cut = np.partition(np.asarray(degree), len(degree) - k)[len(degree) - k]
        cand = [i for i in range(len(degree)) if degree[i] >= cut]
    else:
        cand = list(range(len(degree)))
    cand.sort(key=lambda i: (-degree[i], labels[i], int(ids[i])))
    return cand[:k]


def degree_concentration(degrees: np.ndarray, fraction: float = 0.2) -> float:
    """Share (%) of all degree held by the top ``fraction`` of nodes by degree.

    Definition: sort the degree centralities (in + out) descending; take the first
    ``ceil(fraction * n)`` nodes; return their degree sum / the total degree * 100 (0 for an
    empty network). Report, Fig. 14: "20% 的节点拥有网络中约 75% 的连接度".
    """
    d = np.sort(np.asarray(degrees, dtype=np.int64))[::-1]
    if d.size == 0 or d.sum() == 0:
        return 0.0
    k = math.ceil(fraction * d.size)
    return pct(int(d[:k].sum()), int(d.sum()))


def degree_distribution(degrees: np.ndarray) -> list[list[Any]]:
    """Rows ``[k, nodes with degree k, P(k) %]`` for every degree k present, ascending (Fig. 14's points).

    P(k) = share of nodes whose degree centrality is k (the empirical degree distribution; M. E. J.
    Newman, "The structure and function of complex networks", SIAM Review 45(2), 2003, section III.A).
    """
    d = np.asarray(degrees, dtype=np.int64)
    values, counts = np.unique(d, return_counts=True)
    return [[int(v), int(c), pct(int(c), d.size)] for v, c in zip(values, counts, strict=True)]


@dataclass(frozen=True)
class PowerLawFit:
    """A discrete power-law fit of the degree distribution and its comparison with a lognormal.

    ``alpha`` and ``xmin`` are the maximum-likelihood exponent and the lower bound that minimises
    the Kolmogorov-Smirnov distance (Clauset, Shalizi and Newman 2009), as fitted by the
    ``powerlaw`` package (``Fit(degrees, discrete=True)``); ``sigma`` is alpha's standard error;
    ``n_tail`` the number of nodes with degree >= xmin. ``R`` is the log-likelihood ratio
    power law vs lognormal on the tail (R > 0 favours the power law) and ``p`` the significance
    of its sign (Vuong's test), from ``Fit.distribution_compare('power_law', 'lognormal')``.
    """

    alpha: float
    xmin: float
    sigma: float
    n_tail: int
    R: float
    p: float


#: Fewest nodes with a positive degree for which Fig. 14's power law is fitted.
MIN_FIT_NODES = 10


def power_law_fit(degrees: np.ndarray) -> tuple[PowerLawFit | None, str]:
    """:class:`PowerLawFit` of the positive ``degrees``, or ``None`` and why the fit is not applicable.

    Not applicable: fewer than :data:`MIN_FIT_NODES` nodes with a positive degree, a single
    distinct degree, or a fit that does not give finite numbers — on a small network the tail
    above the best ``xmin`` can hold one distinct value, where ``powerlaw`` has no likelihood
    (it raises "No data points in defined range"). The report then says "not applicable" and
    why, instead of failing (any non-empty network can be analysed).
    """
    d = np.asarray(degrees, dtype=np.float64)
    d = d[d > 0]
    if d.size < MIN_FIT_NODES:
        return None, f"fewer than {MIN_FIT_NODES} nodes with a positive degree ({d.size})"
    if np.unique(d).size < 2:
        return None, "every node has the same degree"
    import powerlaw  # deferred: heavy (imports scipy, matplotlib), only Fig. 14's fit needs it

    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            fit = powerlaw.Fit(d, discrete=True, verbose=False)
            R, p = fit.distribution_compare("power_law", "lognormal")
            result = PowerLawFit(float(fit.alpha), float(fit.xmin), float(fit.power_law.sigma),
                                 int((d >= fit.xmin).sum()), float(R), float(p))
    except (ValueError, ZeroDivisionError, FloatingPointError, IndexError) as exc:
        return None, f"too few distinct degrees to fit ({exc})"
    numbers = (result.alpha, result.xmin, result.sigma, result.R, result.p)
    if not all(np.isfinite(numbers)):
        return None, "the fit did not converge (non-finite estimates)"
    return result, ""


def fit_power_law(degrees: np.ndarray) -> PowerLawFit | None:
    """:class:`PowerLawFit` of positive ``degrees``, ``None`` where :func:`power_law_fit` finds it not applicable."""
    return power_law_fit(degrees)[0]


def assignment_shares(active_events: np.ndarray, pair_event: np.ndarray, pair_code: np.ndarray,
                      n_codes: int) -> tuple[np.ndarray, int, int]:
    """Counts per code over the (event, code) assignments of the active events (Figs. 15/16).

    Unit: the events of the edition's network (the events active in the network of year E-1,
    the same filter as the network), each with its categories. An event with several categories
    counts once in each of them (no fractional weights), so the shares — count / number of
    assignments — add up to 100%. Events without any category are left out and counted.
    ``pair_event`` / ``pair_code``: one entry per stored (event row, code index) assignment.
    Returns (counts per code, number of assignments, active events without a category).
    Reference: the report's Figs. 15/16 (技术合作密度 by 技术类别 / 应用领域; the report does not say
    how multi-category relations count — this counting is aimap's, stated in the figure notes).
    """
    mask = np.isin(pair_event, active_events)
    counts = np.bincount(pair_code[mask], minlength=n_codes).astype(np.int64)
    covered = np.unique(pair_event[mask]).size
    return counts, int(counts.sum()), int(active_events.size - covered)


def province_flows(prov_src: Sequence[str | None], prov_dst: Sequence[str | None]) -> Counter[tuple[str, str]]:
    """Number of cooperation relations per (provider province, receiver province); unknown sides left out."""
    return Counter((a, b) for a, b in zip(prov_src, prov_dst, strict=True) if a and b)


def org_sectors(orgs: OrgTable, taxonomy: Taxonomy) -> tuple[np.ndarray, list[str | None]]:
    """Per organisation: sector index into ``SECTORS`` (-1 unknown) and GB/T 4754 section code.

    The sector follows the organisation's division (三次产业划分规定 2018 assigns sectors per
    division); an organisation with a section but no division takes the sector most divisions
    of its section have (A -> 第一产业, B and C -> 第二产业; the exceptions 05, 11 and 43 need
    the division). The section is the division's section, else the recorded section.
    """
    sector_index = {s: i for i, s in enumerate(SECTORS)}
    sector = np.full(orgs.ids.size, -1, dtype=np.int64)
    section: list[str | None] = []
    for i, (sec, div) in enumerate(zip(orgs.section, orgs.division, strict=True)):
        if div and div in taxonomy.divisions:
            _, s, sct = taxonomy.divisions[div]
            sector[i] = sector_index[sct]
            section.append(s)
        elif sec:
            sector[i] = sector_index[taxonomy.section_sector[sec]]
            section.append(sec)
        else:
            section.append(None)
    return sector, section


def sector_shares(receiver_rows: np.ndarray, sector: np.ndarray) -> tuple[np.ndarray, int]:
    """Counts of cooperation relations per sector of the receiving side (Figs. 17).

    Unit: the edges of the year's network; each edge counts once, in the sector of its receiver
    (技术输入方), GB/T 4754-2017 with the 2018 three-sector rule (:func:`org_sectors`). Edges whose
    receiver has no known industry are left out; the second value says how many.
    Reference: the report's Fig. 17; GB/T 4754-2017; 国家统计局《三次产业划分规定》(2018).
    """
    s = sector[receiver_rows]
    known = s >= 0
    return np.bincount(s[known], minlength=len(SECTORS)).astype(np.int64), int((~known).sum())



def drawing_subgraph(edges: YearEdges, max_nodes: int,
                     rank: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The part of the network Fig. 13 draws: (node positions into ``edges.nodes``, edge sources, targets).

    Rule: a network of at most ``max_nodes`` nodes is drawn whole; a larger one is reduced to
    its ``max_nodes`` nodes of highest degree centrality (ties: lower ``rank`` first — per node,
    its place in :attr:`analysis.loaders.OrgTable.rank`; default the organisation id) and the
    edges among them (the backbone around the hubs, where the report's 极核 structure shows).
    """
    in_deg, out_deg = edges.degrees()
    degree = in_deg + out_deg
    if edges.n_nodes <= max_nodes:
        keep = np.arange(edges.n_nodes)
    else:
        keep = np.sort(np.lexsort((edges.nodes if rank is None else rank, -degree))[:max_nodes])
    inside = np.zeros(edges.n_nodes, dtype=bool)
    inside[keep] = True
    sel = inside[edges.source] & inside[edges.target]
    return keep, edges.source[sel], edges.target[sel]



def drawing_layout(nodes: Sequence[int], sources: Sequence[int], targets: Sequence[int], degree: Sequence[int],
                   seed: int, iterations: int = 150) -> dict[int, tuple[float, float]]:
    """Positions of Fig. 13's nodes: ForceAtlas2 (Jacomy et al., PLoS ONE 9(6), 2014 — Gephi's layout).

    networkx's :func:`~networkx.forceatlas2_layout` on the drawn subgraph (undirected), seeded, with
    node sizes ~ sqrt(degree) so nodes do not overlap and strong gravity (so small components stay
    near the core instead of drifting to the margins), then scaled into [-1, 1]. The same positions
    go into the drawing and into ``gexf/fig13_network.gexf`` (so Gephi opens the printed picture).
    """
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(zip(sources, targets, strict=True))
    if graph.number_of_nodes() == 0:
        return {}
    size = {n: 1.0 + float(np.sqrt(degree[n])) * 0.5 for n in nodes}
    pos = nx.forceatlas2_layout(graph, max_iter=iterations, seed=seed, scaling_ratio=2.0, gravity=5.0,
                                node_size=size, strong_gravity=False)
    xy = np.array([pos[n] for n in nodes], dtype=float)
    xy -= xy.mean(axis=0)
    scale = float(np.abs(xy).max()) or 1.0
    xy /= scale
    return {int(n): (round(float(x), 6), round(float(y), 6)) for n, (x, y) in zip(nodes, xy, strict=True)}
