"""The demo world's calibration: the report's targets, and the world's figures side by side with them.

Two halves:

- **Targets** (used by :mod:`demosite.world` while it generates): Table 1 per year scaled to a
  preset (:func:`table1_targets`), the province-to-province flow matrix (:func:`flow_targets`),
  the receiving side's GB/T 4754 division shares (:func:`receiver_division_targets`) and the
  technology / application-domain shares of a year (:func:`category_targets`). They come from
  ``demosite/data/report-2024-figures.yaml`` (the report) completed by
  ``demosite/data/world-model.yml`` (the model's choices, each explained there).
- **Figures** of a generated world (:func:`world_figures`, :func:`comparison`,
  :func:`format_comparison`): every number below is computed from the world's events with the
  same definitions the analysis stage uses on the database, so the printout shows how close the
  world is to the report. ``benchmarks/bench_world.py`` prints it per preset.

Definitions (network conventions of :mod:`analysis.network`, statistics of Gephi 0.9.2 as in
:mod:`analysis.metrics`; reference: the 2024 report, section 二 and Tables 1-7, Figs. 2-19):

- *network of year Y*: unique directed pairs provider -> receiver of the events with
  ``year <= Y`` that are not terminated before Y (``terminated_on.year < Y``); mutual events are
  oriented from the reporting sample firm (their provider); nodes are the pairs' ends, *sample
  nodes* the sample firms among them, *relation nodes* the others;
- *avg degree* = edges / nodes; *diameter*, *average path length*: maximum / mean BFS distance
  over ordered reachable pairs along directed edges; *average clustering*: mean over all nodes of
  Gephi's directed local coefficient (see :func:`analysis.metrics.compute_netstats`);
- *degree concentration*: share of the total degree (in + out) held by the 20% of nodes with the
  highest degree (ties broken by name), in the network of the last year (report: about 75%);
- *hubs*: in-, out- and total degree of the Table 2 / Table 3 organisations in that network;
- *category / domain shares*: share of the events in that network's event set (each event has one
  technology category and one application domain; report Figs. 15 and 16);
- *receiving side*: share of the network's unique edges by the receiver's GB/T 4754-2017 sector,
  section (within its sector) and manufacturing division (within section C) (report Figs. 17-19);
- *enabling / input by province*: share of unique edges by the provider's / receiver's province;
  *flows*: by (provider province, receiver province) (report Tables 6 and 7);
- *firm figures*: shares of the sample firms (founding year, province, employee, patent buckets;
  listed share; revenue, R&D and R&D-intensity buckets of listed firms; technology layer counts;
  shares of all patents by province and layer) (report section 二(二), Figs. 2-12).
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from demosite.world import World

DATA_DIR = Path(__file__).resolve().parent / "data"
FIRST_YEAR = 2014
LAST_YEAR = 2023
REPORT_FIRMS = 4311


@functools.cache
def load_yaml(name: str) -> Any:
    """A data file of ``demosite/data`` (parsed once per process)."""
    with (DATA_DIR / name).open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def report() -> dict[str, Any]:
    """The report's published figures (``report-2024-figures.yaml``)."""
    return load_yaml("report-2024-figures.yaml")


def model() -> dict[str, Any]:
    """The model's parameters (``world-model.yml``)."""
    return load_yaml("world-model.yml")


MAX_YEAR: int = int(model()["extrapolation"]["last_year"])

# --------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------


def table1_targets(firms: int, relation_nodes: int, edges: int, last_year: int = MAX_YEAR) -> dict[int, tuple[int, int, int]]:
    """(sample nodes, relation nodes, edges) per year for a world of this size.

    Years 2014-2023: the report's Table 1 multiplied by ``firms / 4311`` (sample nodes, 2023 =
    ``firms``), ``relation_nodes / 31361`` and ``edges / 91158``, rounded half to even, at least
    one of each in 2014 and never decreasing for relation nodes and edges. Later years: relation
    nodes and edges grow by the 2022 -> 2023 rates (``extrapolation`` in world-model.yml), all
    sample firms stay.
    """
    t1 = report()["network"]["table1"]
    last = t1[LAST_YEAR]
    fs, fr, fe = firms / REPORT_FIRMS, relation_nodes / last[1], edges / last[3]
    out: dict[int, tuple[int, int, int]] = {}
    prev = (0, 0, 0)
    for year in range(FIRST_YEAR, LAST_YEAR + 1):
        row = t1[year]
        s = firms if year == LAST_YEAR else max(1, round(row[0] * fs))
        r = max(1, prev[1], round(row[1] * fr))
        e = max(1, prev[2], round(row[3] * fe))
        out[year] = prev = (min(s, firms), r, max(e, s, r))
    ext = model()["extrapolation"]
    for year in range(LAST_YEAR + 1, last_year + 1):
        k = year - LAST_YEAR
        r = round(out[LAST_YEAR][1] * (1 + ext["relation_nodes_growth"]) ** k)
        e = round(out[LAST_YEAR][2] * (1 + ext["edges_growth"]) ** k)
        out[year] = (firms, r, e)
    return out


def _complete(top: Mapping[str, float], names: Sequence[str], rest_weights: Mapping[str, float]) -> dict[str, float]:
    """Top shares as given; the remaining 100 - sum(top) split over ``names`` by ``rest_weights``."""
    out = {k: float(v) for k, v in top.items()}
    rest = [n for n in names if n not in out]
    left = 100.0 - sum(out.values())
    total = sum(rest_weights.get(n, 0.0) for n in rest)
    for n in rest:
        out[n] = left * rest_weights.get(n, 0.0) / total if total else left / len(rest)
    return out


def province_margins() -> tuple[dict[str, float], dict[str, float]]:
    """Enabling (provider) and input (receiver) shares of every mainland province, in percent.

    The report's Table 6 lists the top 20 of each; the remaining share is split over the other
    provinces in proportion to their share of sample firms (geography.yml).
    """
    spatial = report()["spatial"]
    firms = load_yaml("geography.yml")["firm_provinces"]
    names = list(firms)
    return (_complete(spatial["enabling_by_province"], names, firms),
            _complete(spatial["input_by_province"], names, firms))


@functools.lru_cache(maxsize=8)
def _flows(provinces: tuple[str, ...]) -> tuple[tuple[float, ...], tuple[float, ...], tuple[tuple[float, ...], ...]]:
    p_pct, q_pct = province_margins()
    p = [p_pct.get(x, 0.0) / 100 for x in provinces]
    q = [q_pct.get(x, 0.0) / 100 for x in provinces]
    sp, sq = sum(p), sum(q)
    p, q = [x / sp for x in p], [x / sq for x in q]
    n = len(provinces)
    idx = {x: i for i, x in enumerate(provinces)}
    fit = model()["flows_fit"]
    scale = float(fit["top_flow_scale"])
    fixed: dict[tuple[int, int], float] = {}
    for a_name, b_name, share in report()["spatial"]["flows_top20"]:
        if a_name in idx and b_name in idx:
            fixed[(idx[a_name], idx[b_name])] = share / 100 * scale
    cap = min(fixed.values()) if fixed else 1.0
    m = [[p[a] * q[b] for b in range(n)] for a in range(n)]
    for (a, b), v in fixed.items():
        m[a][b] = v
    free_cells = [[(a, b) not in fixed for b in range(n)] for a in range(n)]
    for _ in range(int(fit["iterations"])):
        for a in range(n):
            row, free = m[a], free_cells[a]
            fixed_sum = sum(x for x, f in zip(row, free, strict=True) if not f)
            free_sum = sum(x for x, f in zip(row, free, strict=True) if f)
            if free_sum > 0:
                k = max(0.0, p[a] - fixed_sum) / free_sum
                m[a] = [min(cap, x * k) if f else x for x, f in zip(row, free, strict=True)]
        for b in range(n):
            fixed_sum = sum(m[a][b] for a in range(n) if not free_cells[a][b])
            free_sum = sum(m[a][b] for a in range(n) if free_cells[a][b])
            if free_sum > 0:
                k = max(0.0, q[b] - fixed_sum) / free_sum
                for a in range(n):
                    if free_cells[a][b]:
                        m[a][b] = min(cap, m[a][b] * k)
    total = sum(map(sum, m))
    return tuple(p), tuple(q), tuple(tuple(x / total for x in row) for row in m)


def flow_targets(provinces: Sequence[str]) -> tuple[list[float], list[float], list[list[float]]]:
    """Provider margin p, receiver margin q (fractions) and flow matrix T[a][b] over ``provinces``.

    The report's Table 6 margins and Table 7 top-20 flows are not compatible (e.g. Beijing's input
    share 36.23% cannot be reached when every flow outside the top 20 is below the 20th, 0.95%).
    T is a compromise: the top-20 flows, multiplied by ``flows_fit.top_flow_scale``, are held
    fixed, the other cells start from independence (p_a * q_b) and are fitted to the margins by
    iterative proportional fitting (Deming & Stephan, Ann. Math. Stat. 11, 1940) with every one
    capped at the smallest fixed flow, and T is normalised to sum 1. The scale (world-model.yml)
    minimises the sum of squared relative errors of the top-10 margins and the top-20 flows;
    ``p`` and ``q`` returned are the report's margins (the targets), not T's.
    """
    p, q, t = _flows(tuple(provinces))
    return list(p), list(q), [list(row) for row in t]


def receiver_division_targets(year: int) -> dict[str, float]:
    """Cumulative share (percent) of unique edges by the receiver's GB/T 4754 division in ``year``.

    Sector shares move linearly from ``receivers.sectors_2014`` (world-model.yml) to the report's
    2023 values (and stay there after 2023); within a sector, sections and divisions are split as
    in world-model.yml, whose section shares are the report's where it prints them.
    """
    rec = model()["receivers"]
    end = report()["cooperation"]["sectors_2023"]
    start = rec["sectors_2014"]
    w = min(1.0, max(0.0, (year - FIRST_YEAR) / (LAST_YEAR - FIRST_YEAR)))
    sectors = {k: start[k] + (end[k] - start[k]) * w for k in end}
    out: dict[str, float] = {}
    prim = rec["primary"]
    for div, x in prim.items():
        out[str(div)] = sectors["第一产业"] * x / sum(prim.values())
    for sector, sections, divisions in (("第二产业", rec["secondary"], rec["secondary_divisions"]),
                                        ("第三产业", rec["tertiary"], rec["tertiary_divisions"])):
        total = sum(sections.values())
        for section, share in sections.items():
            inner = divisions[section]
            inner_total = sum(inner.values())
            for div, x in inner.items():
                out[str(div)] = sectors[sector] * share / total * x / inner_total
    return out


def category_targets(kind: str, year: int) -> dict[str, float]:
    """Shares (percent) of technology categories (``kind="tech"``) or domains (``"domains"``) in ``year``.

    The report's top five keep their published shares every year; the rest of the hundred goes
    to the other categories available that year (``since``) by their base weights, the
    report's 2023-active categories (``late``) weighted x0.3 in their first year rising linearly
    to x3 in 2023.
    """
    spec = model()[kind]
    since = spec.get("since", {})
    late = set(spec.get("late", ()))
    weights: dict[str, float] = {}
    for name, base in spec["rest"].items():
        first = since.get(name, FIRST_YEAR)
        if year < first:
            weights[name] = 0.0
            continue
        mult = 1.0
        if name in late:
            span = max(1, LAST_YEAR - first)
            mult = 0.3 + 2.7 * min(1.0, (year - first) / span)
        weights[name] = base * mult
    return _complete(spec["top"], list(spec["top"]) + list(spec["rest"]), weights)


# --------------------------------------------------------------------------------------
# Figures of a world
# --------------------------------------------------------------------------------------


def network_edges(world: World, year: int) -> list[tuple[str, str]]:
    """Unique (provider, receiver) pairs of the network of ``year`` (module docstring), sorted."""
    pairs = set()
    for e in world.events:
        if e.year > year:
            continue
        if e.status == "terminated" and e.terminated_on is not None and e.terminated_on.year < year:
            continue
        pairs.add((e.provider, e.receiver))
    return sorted(pairs)


def network_events(world: World, year: int) -> list[Any]:
    """The events counted in the network of ``year``."""
    return [e for e in world.events if e.year <= year
            and not (e.status == "terminated" and e.terminated_on is not None and e.terminated_on.year < year)]


@dataclass(frozen=True)
class YearFigures:
    """Table 1's columns for one year (path statistics ``None`` when not computed)."""

    year: int
    sample_nodes: int
    relation_nodes: int
    nodes: int
    edges: int
    avg_degree: float
    diameter: int | None = None
    avg_path_length: float | None = None
    avg_clustering: float | None = None


def path_statistics(edges: Sequence[tuple[str, str]]) -> tuple[int, float, float] | None:
    """(diameter, average path length, average clustering) of a directed edge list, Gephi 0.9.2.

    Uses :func:`analysis.metrics.compute_netstats` (exact, numba) when available, otherwise
    networkx for graphs of at most 5,000 nodes (directed BFS from every node; Gephi's directed
    clustering), otherwise ``None``.
    """
    index: dict[str, int] = {}
    src = [index.setdefault(u, len(index)) for u, _ in edges]
    dst = [index.setdefault(v, len(index)) for _, v in edges]
    try:
        from analysis.metrics import compute_netstats
    except ImportError:  # the analysis package is optional for the demo world
        compute_netstats = None
    if compute_netstats is not None:
        stats = compute_netstats(src, dst, len(index))
        return stats.diameter, stats.avg_path_length, stats.avg_clustering
    if len(index) > 5000:
        return None
    import networkx as nx

    g = nx.DiGraph()
    g.add_edges_from(zip(src, dst, strict=True))
    total = pairs = diameter = 0
    for _node, lengths in nx.all_pairs_shortest_path_length(g):
        for d in lengths.values():
            if d > 0:
                total += d
                pairs += 1
                diameter = max(diameter, d)
    und = {v: set(g.predecessors(v)) | set(g.successors(v)) for v in g}
    cc = 0.0
    for nb in und.values():
        k = len(nb)
        if k >= 2:
            links = sum(1 for x in nb for y in g.successors(x) if y != x and y in nb)
            cc += links / (k * (k - 1))
    return diameter, (total / pairs if pairs else 0.0), (cc / len(und) if und else 0.0)


def table1(world: World, years: Iterable[int] | None = None, paths: bool = True) -> list[YearFigures]:
    """Table 1 of the world: one :class:`YearFigures` per year (path statistics if ``paths``)."""
    samples = {f.name for f in world.firms}
    out = []
    for year in years if years is not None else range(FIRST_YEAR, world.through_year + 1):
        edges = network_edges(world, year)
        nodes = {n for pair in edges for n in pair}
        s = len(nodes & samples)
        stats = path_statistics(edges) if paths else None
        out.append(YearFigures(year, s, len(nodes) - s, len(nodes), len(edges),
                               len(edges) / len(nodes) if nodes else 0.0,
                               *(stats if stats else (None, None, None))))
    return out


def degrees(world: World, year: int) -> dict[str, tuple[int, int]]:
    """(in-degree, out-degree) of every node of the network of ``year``."""
    ind: Counter[str] = Counter()
    outd: Counter[str] = Counter()
    for u, v in network_edges(world, year):
        outd[u] += 1
        ind[v] += 1
    return {n: (ind[n], outd[n]) for n in sorted(set(ind) | set(outd))}


def concentration(world: World, year: int, top: float = 0.2) -> float:
    """Share of total degree held by the ``top`` fraction of nodes with the highest degree."""
    deg = sorted((i + o for i, o in degrees(world, year).values()), reverse=True)
    if not deg:
        return 0.0
    k = max(1, math.ceil(top * len(deg)))
    return sum(deg[:k]) / sum(deg)


def _shares(counter: Counter[str]) -> dict[str, float]:
    total = sum(counter.values())
    return {k: 100 * v / total for k, v in counter.most_common()} if total else {}


def world_figures(world: World, year: int | None = None, paths: bool = True) -> dict[str, Any]:
    """Every figure the comparison prints, computed from ``world`` (definitions in the module docstring)."""
    from db.taxonomy import load_industry_divisions

    year = min(world.through_year, LAST_YEAR) if year is None else year
    divisions = {d.code: d for d in load_industry_divisions()}
    division_of = {f.name: f.industry_division for f in world.firms} | {p.name: p.industry_division
                                                                        for p in world.partners}
    province_of = {f.name: f.province for f in world.firms} | {p.name: p.province for p in world.partners}
    edges = network_edges(world, year)
    events = network_events(world, year)
    fig: dict[str, Any] = {"year": year, "table1": table1(world, range(FIRST_YEAR, year + 1), paths)}
    fig["concentration"] = concentration(world, year)
    deg = degrees(world, year)
    hub_names = {f.name: f.report_name for f in world.firms if f.report_name}
    hub_names |= {p.name: p.report_name for p in world.partners if p.report_name}
    fig["hubs"] = {hub_names[n]: deg.get(n, (0, 0)) for n in hub_names}
    fig["tech"] = _shares(Counter(e.tech for e in events))
    fig["domains"] = _shares(Counter(e.domain for e in events))
    recv_div = [division_of[v] for _u, v in edges]
    fig["sectors"] = _shares(Counter(divisions[d].sector for d in recv_div))
    section_names = {d.section_code: d for d in divisions.values()}
    by_sector: dict[str, Counter[str]] = {}
    for d in recv_div:
        rec = divisions[d]
        by_sector.setdefault(rec.sector, Counter())[rec.section_code] += 1
    fig["sections"] = {sector: _shares(c) for sector, c in by_sector.items()}
    fig["section_names"] = {code: code for code in section_names}
    fig["manufacturing"] = _shares(Counter(d for d in recv_div if divisions[d].section_code == "C"))
    fig["enabling"] = _shares(Counter(province_of[u] for u, _v in edges))
    fig["input"] = _shares(Counter(province_of[v] for _u, v in edges))
    fig["flows"] = _shares(Counter(f"{province_of[u]}-{province_of[v]}" for u, v in edges))
    fig["firms"] = firm_figures(world)
    fig["events"] = {
        "events": len(events),
        "terminated": sum(1 for e in events if e.status == "terminated"),
        "mutual": sum(1 for e in events if e.direction == "mutual"),
        "groups": len({e.group_id for e in events if e.group_id}),
        "with_witnesses": sum(1 for e in events if e.witnesses),
        "kinds": _shares(Counter(e.kind for e in events)),
    }
    return fig


def _bucket(value: float, edges: Sequence[tuple[str, float, float]]) -> str:
    for label, lo, hi in edges:
        if lo <= value < hi:
            return label
    return edges[-1][0]


def firm_figures(world: World) -> dict[str, Any]:
    """Distributions of the sample firms (module docstring) in the report's buckets."""
    firms = world.firms
    n = len(firms)
    out: dict[str, Any] = {}
    years = Counter(f.founded_on.year for f in firms)
    out["founded_2012_2018"] = 100 * sum(years[y] for y in range(2012, 2019)) / n
    peak_year, peak = max(years.items(), key=lambda kv: (kv[1], -kv[0]))
    out["founded_peak"] = (peak_year, 100 * peak / n)
    out["provinces"] = _shares(Counter(f.province for f in firms))
    emp = [("<200", 0, 200), ("200-399", 200, 400), ("400-599", 400, 600), ("600-799", 600, 800),
           ("800-1000", 800, 1001), (">1000", 1001, math.inf)]
    out["employees"] = _shares(Counter(_bucket(f.employees, emp) for f in firms))
    listed = [f for f in firms if f.listed]
    out["listed"] = (len(listed), 100 * len(listed) / n)
    yi = 1e8
    rev = [("<20", 0, 20), ("20-40", 20, 40), ("40-60", 40, 60), ("60-80", 60, 80), ("80-100", 80, 100),
           (">100", 100, math.inf)]
    rd = [("<2", 0, 2), ("2-4", 2, 4), ("4-6", 4, 6), ("6-8", 6, 8), ("8-10", 8, 10), (">10", 10, math.inf)]
    inten = [("<5%", 0, 0.05), ("5-10%", 0.05, 0.10), ("10-15%", 0.10, 0.15), ("15-20%", 0.15, 0.20),
             (">20%", 0.20, math.inf)]
    out["revenue"] = _shares(Counter(_bucket((f.revenue_cny or 0) / yi, rev) for f in listed))
    out["rd"] = _shares(Counter(_bucket((f.rd_expense_cny or 0) / yi, rd) for f in listed))
    out["rd_intensity"] = _shares(Counter(_bucket((f.rd_expense_cny or 0) / (f.revenue_cny or 1), inten)
                                          for f in listed))
    out["layers"] = dict(Counter(f.tech_layer for f in firms))
    pat = [("<200", 0, 200), ("200-400", 200, 400), ("400-600", 400, 600), ("600-800", 600, 800),
           ("800-1000", 800, 1000), (">1000", 1000, math.inf)]
    out["patents"] = _shares(Counter(_bucket(f.patents, pat) for f in firms))
    total = sum(f.patents for f in firms) or 1
    by_prov: Counter[str] = Counter()
    by_layer: Counter[str] = Counter()
    for f in firms:
        by_prov[f.province] += f.patents
        by_layer[f.tech_layer] += f.patents
    out["patents_by_province"] = {k: 100 * v / total for k, v in by_prov.most_common()}
    out["patents_by_layer"] = {k: 100 * v / total for k, v in by_layer.most_common()}
    return out


# --------------------------------------------------------------------------------------
# Side by side
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One line of the comparison: a figure of the world next to the report's."""

    section: str
    metric: str
    world: float | None
    report: float | None

    @property
    def rel_diff(self) -> float | None:
        """(world - report) / report, or None when either is missing or the report value is 0."""
        if self.world is None or self.report is None or self.report == 0:
            return None
        return (self.world - self.report) / self.report


def comparison(world: World, figures: Mapping[str, Any] | None = None, paths: bool = True) -> list[Row]:
    """Rows world vs report. Table 1 counts are compared with the report's scaled to the preset."""
    from demosite.world import PRESETS

    fig = figures if figures is not None else world_figures(world, paths=paths)
    rep = report()
    preset = PRESETS[world.preset]
    targets = table1_targets(preset.firms, preset.relation_nodes, preset.edges, LAST_YEAR)
    rows: list[Row] = []
    t1 = rep["network"]["table1"]
    for y in fig["table1"]:
        if y.year not in t1:
            continue
        r = t1[y.year]
        s, rn, e = targets[y.year]
        sec = f"Table 1 {y.year}"
        rows += [Row(sec, "sample nodes (scaled)", y.sample_nodes, s), Row(sec, "relation nodes (scaled)", y.relation_nodes, rn),
                 Row(sec, "nodes (scaled)", y.nodes, s + rn), Row(sec, "edges (scaled)", y.edges, e),
                 Row(sec, "avg degree", y.avg_degree, r[4]), Row(sec, "diameter", y.diameter, r[5]),
                 Row(sec, "avg path length", y.avg_path_length, r[6]), Row(sec, "avg clustering", y.avg_clustering, r[7])]
    rows.append(Row("Degree", "top 20% nodes' share of degree (%)", 100 * fig["concentration"], 75.0))
    scale = preset.edges / t1[LAST_YEAR][3]
    for section, key in (("Table 2 (scaled)", "top_sample_nodes"), ("Table 3 (scaled)", "top_relation_nodes")):
        for name, (_in, _out, tot) in rep["network"][key].items():
            got = fig["hubs"].get(name)
            rows.append(Row(section, f"{name} total degree", None if got is None else sum(got), tot * scale))
    for key, section, top in (("tech", "Fig. 15 tech categories (%)", rep["cooperation"]["tech_categories_top5"]),
                              ("domains", "Fig. 16 application domains (%)",
                               rep["cooperation"]["application_domains_top5"])):
        for name, share in top.items():
            rows.append(Row(section, name, fig[key].get(name, 0.0), share))
    for name, share in rep["cooperation"]["sectors_2023"].items():
        rows.append(Row("Fig. 17 receiving sector (%)", name, fig["sectors"].get(name, 0.0), share))
    from db.taxonomy import load_industry_sections

    section_code = {s.name: s.code for s in load_industry_sections()}
    for sector, key in (("第三产业", "tertiary_2023"), ("第二产业", "secondary_2023")):
        for name, share in rep["cooperation"][key].items():
            got = fig["sections"].get(sector, {}).get(section_code[name], 0.0)
            rows.append(Row(f"Figs. 18-19 {sector} sections (%)", name, got, share))
    from db.taxonomy import load_industry_divisions

    div_code = {d.name: d.code for d in load_industry_divisions()}
    for name, share in rep["cooperation"]["manufacturing_2023_top5"].items():
        rows.append(Row("Fig. 19 manufacturing divisions (%)", name, fig["manufacturing"].get(div_code[name], 0.0), share))
    for key, section, table in (("enabling", "Table 6 enabling (%)", rep["spatial"]["enabling_by_province"]),
                                ("input", "Table 6 input (%)", rep["spatial"]["input_by_province"])):
        for name, share in list(table.items())[:10]:
            rows.append(Row(section, name, fig[key].get(name, 0.0), share))
    for a, b, share in rep["spatial"]["flows_top20"][:10]:
        rows.append(Row("Table 7 flows (%)", f"{a}->{b}", fig["flows"].get(f"{a}-{b}", 0.0), share))
    ff = fig["firms"]
    rf = rep["firms"]
    rows.append(Row("Firms", "founded 2012-2018 (%)", ff["founded_2012_2018"], rf["founding_year"]["share_2012_2018"]))
    rows.append(Row("Firms", f"peak founding year {ff['founded_peak'][0]} (%)", ff["founded_peak"][1],
                    rf["founding_year"]["peak_share"]))
    for name, share in rf["provinces_top5"].items():
        rows.append(Row("Firms by province (%)", name, ff["provinces"].get(name, 0.0), share))
    for name, share in rf["employees"].items():
        rows.append(Row("Firms by employees (%)", name, ff["employees"].get(name, 0.0), share))
    rows.append(Row("Firms", "listed (%)", ff["listed"][1], rf["listed"]["listed_share"]))
    for key, rkey, section in (("revenue", "listed_revenue_2022", "Listed: 2022 revenue (%)"),
                               ("rd", "listed_rd_expense_2022", "Listed: 2022 R&D expense (%)"),
                               ("rd_intensity", "listed_rd_intensity_2022", "Listed: R&D intensity (%)")):
        for name, share in rf[rkey].items():
            rows.append(Row(section, name, ff[key].get(name, 0.0), share))
    n = len(world.firms)
    for name, spec in rf["tech_layer"].items():
        rows.append(Row("Tech layer (firms, scaled)", name, ff["layers"].get(name, 0), spec["firms"] * n / REPORT_FIRMS))
    for name, share in rf["patents"].items():
        rows.append(Row("Firms by patents (%)", name, ff["patents"].get(name, 0.0), share))
    for name, share in rf["patents_by_province"].items():
        if name != "top10_order":
            rows.append(Row("Patents by province (%)", name, ff["patents_by_province"].get(name, 0.0), share))
    for name, share in rf["patents_by_layer"].items():
        rows.append(Row("Patents by layer (%)", name, ff["patents_by_layer"].get(name, 0.0), share))
    return rows


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    if isinstance(x, int) or (abs(x) >= 100 and float(x).is_integer()):
        return f"{int(x)}"
    return f"{x:.3f}" if abs(x) < 10 else f"{x:.2f}"


def format_comparison(rows: Sequence[Row]) -> str:
    """The comparison as an aligned text table (section, metric, world, report, relative difference)."""
    lines = [f"{'section':<34} {'metric':<40} {'world':>10} {'report':>10} {'diff':>8}"]
    for r in rows:
        diff = r.rel_diff
        d = "" if diff is None else f"{100 * diff:+.1f}%"
        lines.append(f"{r.section:<34} {r.metric:<40} {_fmt(r.world):>10} {_fmt(r.report):>10} {d:>8}")
    return "\n".join(lines)
