"""The demo world's targets: the report's published figures and the model's own parameters.

Used by the world model while it generates (:mod:`demosite.growth`, :mod:`demosite.firms`,
:mod:`demosite.news`) and by :mod:`demosite.calibration` when it compares a world with the
report: Table 1 per year scaled to a preset (:func:`table1_targets`), the province-to-province
flow matrix (:func:`flow_targets`), the receiving side's GB/T 4754 division shares
(:func:`receiver_division_targets`), the technology / application-domain shares of a year
(:func:`category_targets`) and the size presets (:data:`PRESETS`).

The report's figures are ``common/data/report-2024-figures.yaml`` (the one copy, which the
analysis stage also compares its rebuilt report with); the model's choices, each explained there, are
``demosite/data/world-model.yml``; names and places are ``names.yml``, ``organisations.yml`` and
``geography.yml`` in ``demosite/data``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.datafiles import common_data_path, read_yaml

DATA_DIR = Path(__file__).resolve().parent / "data"
#: The report's published figures: the one copy in the repository (common/data/).
FIGURES_FILE = common_data_path("report-2024-figures.yaml")
FIRST_YEAR = 2014
LAST_YEAR = 2023
REPORT_FIRMS = 4311


@functools.cache
def load_yaml(name: str) -> Any:
    """A data file of ``demosite/data`` (parsed once per process)."""
    return read_yaml(DATA_DIR / name)


@functools.cache
def report() -> dict[str, Any]:
    """The report's published figures (``report-2024-figures.yaml``)."""
    return read_yaml(FIGURES_FILE)


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
# Size presets
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preset:
    """Size of a generated world (see ``presets`` in world-model.yml).

    The Table 1 targets are the report's, multiplied by ``firms / 4311`` for sample nodes and by
    ``relation_nodes / 31361`` and ``edges / 91158`` for the others (default: the same factor).
    """

    firms: int
    relation_nodes: int
    edges: int
    hubs: bool = True  # the named hubs of Tables 2 and 3 take part
    min_articles: int = 3  # every newsroom gets at least this many articles
    news_share: float = 0.15  # share of a year's articles that are plain company news

    @property
    def factor(self) -> float:
        """Sample firms relative to the report's 4,311."""
        return self.firms / REPORT_FIRMS


def _presets() -> dict[str, Preset]:
    t1 = report()["network"]["table1"][LAST_YEAR]
    out = {}
    for name, spec in model()["presets"].items():
        factor = spec["firms"] / REPORT_FIRMS
        out[name] = Preset(
            firms=spec["firms"],
            relation_nodes=spec.get("relation_nodes", round(t1[1] * factor)),
            edges=spec.get("edges", round(t1[3] * factor)),
            hubs=spec.get("hubs", True),
            min_articles=spec.get("min_articles", 3),
        )
    return out


PRESETS: dict[str, Preset] = _presets()
