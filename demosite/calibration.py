"""The demo world's calibration: the report's targets, and the world's figures side by side with them.

Two halves:

- **Targets** (used by the world model while it generates) are in :mod:`demosite.targets`:
  Table 1 per year scaled to a preset, the province-to-province flow matrix, the receiving
  side's GB/T 4754 division shares and the technology / application-domain shares of a year,
  from the report's figures completed by ``demosite/data/world-model.yml``.
- **Figures** of a generated world (:func:`world_figures`, :func:`comparison`,
  :func:`format_comparison`): every number below is computed from the world's events with the
  same definitions the analysis stage uses on the database, so the printout shows how close the
  world is to the report. ``benchmarks/bench_world.py`` prints it per preset. The statistics are
  the world's own (igraph's BFS path-length histogram, a few lines for the clustering): the
  world is the oracle the pipeline is measured against and imports none of its stages.

Definitions (the network conventions and the Gephi 0.9.2 statistics the analysis stage uses; reference: the 2024 report, section 二 and Tables 1-7, Figs. 2-19):

- *network of year Y*: unique directed pairs provider -> receiver of the events with
  ``year <= Y`` that are not terminated before Y (``terminated_on.year < Y``); mutual events are
  oriented from the reporting sample firm (their provider); nodes are the pairs' ends, *sample
  nodes* the sample firms among them, *relation nodes* the others;
- *avg degree* = edges / nodes; *diameter*, *average path length*: maximum / mean BFS distance
  over ordered reachable pairs along directed edges; *average clustering*: mean over all nodes of
  Gephi's directed local coefficient (:func:`path_statistics`);
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

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import igraph

from db.taxonomy import load_industry_divisions, load_industry_sections
from demosite.model import World
from demosite.targets import FIRST_YEAR, LAST_YEAR, PRESETS, REPORT_FIRMS, report, table1_targets

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



def path_statistics(edges: Sequence[tuple[str, str]]) -> tuple[int, float, float]:
    """(diameter, average path length, average clustering) of a directed edge list, Gephi 0.9.2.

    Diameter and average path length: the maximum and the mean BFS distance over ordered pairs
    (s, t), s != t, t reachable from s along the edges (unreachable pairs ignored; 0 without a
    pair), from igraph's exact path-length histogram. Average clustering: the mean over all nodes
    of C(v) = |{(x, y): x != y, x, y in N(v), x -> y}| / (k (k - 1)), N(v) the in- and
    out-neighbours of v, k = |N(v)|, C(v) = 0 when k < 2 (Gephi's directed coefficient).
    """
    index: dict[str, int] = {}
    src = [index.setdefault(u, len(index)) for u, _ in edges]
    dst = [index.setdefault(v, len(index)) for _, v in edges]
    graph = igraph.Graph(n=len(index), edges=list(zip(src, dst, strict=True)), directed=True)
    pairs = total = diameter = 0
    for start, _end, count in graph.path_length_hist(directed=True).bins():
        if count:
            pairs += count
            total += int(start) * count
            diameter = max(diameter, int(start))
    successors: list[set[int]] = [set() for _ in index]
    neighbours: list[set[int]] = [set() for _ in index]
    for u, v in zip(src, dst, strict=True):
        successors[u].add(v)
        neighbours[u].add(v)
        neighbours[v].add(u)
    clustering = 0.0
    for nb in neighbours:
        k = len(nb)
        if k >= 2:
            links = sum(1 for x in nb for y in successors[x] if y != x and y in nb)
            clustering += links / (k * (k - 1))
    return diameter, (total / pairs if pairs else 0.0), (clustering / len(index) if index else 0.0)




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
    section_code = {s.name: s.code for s in load_industry_sections()}
    for sector, key in (("第三产业", "tertiary_2023"), ("第二产业", "secondary_2023")):
        for name, share in rep["cooperation"][key].items():
            got = fig["sections"].get(sector, {}).get(section_code[name], 0.0)
            rows.append(Row(f"Figs. 18-19 {sector} sections (%)", name, got, share))
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
