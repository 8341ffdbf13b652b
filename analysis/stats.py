"""The report's tables and figures as data, computed from the database for one edition.

Every table and figure of the report (中国新一代人工智能科技产业发展报告, edition E; data up to
31 December of E-1) becomes a :class:`Table`: machine column names, Chinese headers, rows of
plain values, notes that state the population and what was excluded, and a chart spec that
:mod:`analysis.charts` draws. :mod:`analysis.bundle` writes them (CSV, XLSX, Markdown, HTML) and
:mod:`analysis.compare` puts them beside a published edition. Definitions, each also in the
docstring of the function computing it:

- **Networks** — :mod:`analysis.network` (cumulative yearly networks, unique pairs, mutual rule);
  Table 1's statistics — :mod:`analysis.metrics` (Gephi 0.9.2 conventions).
- **Cooperation relation** (技术合作关系) — an edge of the network of a year: one unique ordered
  pair provider -> receiver. Shares by sector, industry and province (Figs. 17-20, Tables 6/7)
  count edges. **Technology categories and application domains** (Figs. 15/16) are attributes of
  events, so those shares count (event, category) assignments of the events of the edition's
  network (see :func:`assignment_shares`).
- **Shares** are percentages of the stated population (0-100, full precision in the data,
  2 decimals when displayed). Ordering and **ties**: by count descending, then by name (Unicode
  code point order), then by id — the same rule for every top-k (:func:`rank_order`).
- **Sample firms** (Figs. 1-12) are the organisations with ``is_sample``; their attributes come
  from ``firm_attributes`` and, for listed firms, ``firm_financials`` of fiscal year E-2 (the
  2024 report uses 2022 figures: listed firms publish their accounts late).
- **Buckets** — edges in ``analysis/data/buckets.yml`` (see :class:`Bucket` for the inclusive /
  exclusive rule).

References: the 2024 report, sections 一-三 (transcribed in ``analysis/data/report-2024-figures.yaml``);
GB/T 4754-2017 and 国家统计局《三次产业划分规定》(2018) for sectors; J. Alstott, E. Bullmore and
D. Plenz, "powerlaw: a Python package for analysis of heavy-tailed distributions", PLoS ONE 9(1),
2014 and A. Clauset, C. R. Shalizi and M. E. J. Newman, "Power-law distributions in empirical
data", SIAM Review 51(4), 2009 for Fig. 14.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analysis.metrics import NetStats, compute_netstats
from analysis.network import (
    EventTable,
    NetworkCounts,
    YearEdges,
    count_edges,
    data_version_edges,
    load_event_table,
    yearly_edges,
)
from common.datafiles import read_yaml
from db.models import (
    TECH_LAYERS,
    Alias,
    ApplicationDomain,
    CooperationEvent,
    EventApplicationDomain,
    EventTechCategory,
    FirmAttributes,
    FirmFinancials,
    IndustryDivision,
    IndustrySection,
    Organisation,
    Province,
    Region,
    RegionProvince,
    TechCategory,
)
from db.taxonomy import SECONDARY, SECTORS, TERTIARY

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
SPEC_FILE = DATA_DIR / "buckets.yml"
#: First year of Table 1 in the report (the series starts in 2014).
FIRST_YEAR = 2014
#: GB/T 4754-2017 section of manufacturing (制造业), whose divisions Fig. 20 ranks.
MANUFACTURING = "C"

Progress = Callable[[str], None]


class ReportError(ValueError):
    """The edition cannot be computed (no data, bad parameters); the message says why."""


# --------------------------------------------------------------------------- spec (data file)


@dataclass(frozen=True)
class Bucket:
    """One bucket of a distribution figure.

    A value x is in the bucket when it satisfies the lower bound (``x >= lo`` if
    ``lo_inclusive`` else ``x > lo``; no bound when ``lo`` is None) and the upper bound
    (``x <= hi`` if ``hi_inclusive`` else ``x < hi``; none when ``hi`` is None). In
    ``buckets.yml``: ``min`` = inclusive lower, ``above`` = exclusive lower, ``max`` = inclusive
    upper, ``below`` = exclusive upper.
    """

    label: str
    lo: float | None
    lo_inclusive: bool
    hi: float | None
    hi_inclusive: bool

    def contains(self, x: float) -> bool:
        """Whether ``x`` falls in this bucket."""
        if self.lo is not None and (x < self.lo or (x == self.lo and not self.lo_inclusive)):
            return False
        return not (self.hi is not None and (x > self.hi or (x == self.hi and not self.hi_inclusive)))


@dataclass(frozen=True)
class ReportSpec:
    """The parameters in ``analysis/data/buckets.yml`` (validated by :func:`load_spec`)."""

    version: str
    buckets: dict[str, tuple[Bucket, ...]]
    units: dict[str, float]
    founding_span: tuple[int, int]
    top: dict[str, float]
    core_provinces: tuple[str, ...]
    drawing: dict[str, int]


def _bucket(entry: Mapping[str, Any], where: str) -> Bucket:
    unknown = set(entry) - {"label", "min", "above", "max", "below"}
    if unknown or "label" not in entry:
        raise ValueError(f"{where}: a bucket needs a label and min/above/max/below bounds, got {dict(entry)}")
    if "min" in entry and "above" in entry or "max" in entry and "below" in entry:
        raise ValueError(f"{where}: bucket {entry['label']!r} has two lower or two upper bounds")
    lo = entry.get("min", entry.get("above"))
    hi = entry.get("max", entry.get("below"))
    return Bucket(str(entry["label"]), None if lo is None else float(lo), "min" in entry,
                  None if hi is None else float(hi), "max" in entry)


def validate_partition(buckets: Sequence[Bucket], where: str) -> None:
    """Check that ``buckets`` cover the line from their first lower to their last upper bound
    exactly once: consecutive buckets share a bound that exactly one of them includes."""
    if not buckets:
        raise ValueError(f"{where}: no buckets")
    for a, b in zip(buckets, buckets[1:], strict=False):
        if a.hi is None or b.lo is None or a.hi != b.lo:
            raise ValueError(f"{where}: buckets {a.label!r} and {b.label!r} leave a gap or overlap")
        if a.hi_inclusive == b.lo_inclusive:
            raise ValueError(f"{where}: the bound {a.hi:g} between {a.label!r} and {b.label!r} must be "
                             "inclusive on exactly one side")


@lru_cache(maxsize=4)
def load_spec(path: Path = SPEC_FILE) -> ReportSpec:
    """Read and validate the bucket edges and display parameters (``analysis/data/buckets.yml``)."""
    raw = read_yaml(Path(path))
    buckets = {}
    for name, entries in raw["buckets"].items():
        bs = tuple(_bucket(e, f"{path}: buckets.{name}") for e in entries)
        validate_partition(bs, f"{path}: buckets.{name}")
        buckets[name] = bs
    span = raw["founding"]["span"]
    return ReportSpec(
        version=str(raw["version"]),
        buckets=buckets,
        units={k: float(v) for k, v in raw["units"].items()},
        founding_span=(int(span[0]), int(span[1])),
        top=dict(raw["top"]),
        core_provinces=tuple(raw["core_provinces"]),
        drawing={k: int(v) for k, v in raw["network_drawing"].items()},
    )


# --------------------------------------------------------------------------- tables as data


@dataclass(frozen=True)
class Column:
    """A table column: machine ``name`` (CSV header), display ``header`` and ``fmt``.

    ``fmt``: ``int``, ``str``, ``gephi`` (3 decimals half-even, as Gephi shows statistics),
    ``pct`` (a percentage, 2 decimals), ``float`` (4 significant decimals).
    """

    name: str
    header: str
    fmt: str = "str"


@dataclass(frozen=True)
class Chart:
    """What :mod:`analysis.charts` draws for a table.

    ``kind``: ``bar`` / ``barh`` (one series ``y[0]`` over labels ``x``), ``pie``, ``line``
    (several series ``y`` over ``x``), ``loglog`` (Fig. 14), ``network`` (Fig. 13).
    ``limit`` keeps the first rows only; ``payload`` carries extra data (fit, drawing).
    """

    kind: str
    x: str
    y: tuple[str, ...]
    ylabel: str = ""
    limit: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class Table:
    """One table or figure of the report as data."""

    key: str
    title: str
    title_en: str
    columns: list[Column]
    rows: list[list[Any]]
    notes: list[str] = field(default_factory=list)
    chart: Chart | None = None

    def column(self, name: str) -> list[Any]:
        """The values of column ``name``."""
        i = [c.name for c in self.columns].index(name)
        return [r[i] for r in self.rows]

    def records(self) -> list[dict[str, Any]]:
        """Rows as dicts keyed by column name."""
        names = [c.name for c in self.columns]
        return [dict(zip(names, r, strict=True)) for r in self.rows]


def pct(part: float, whole: float) -> float:
    """``100 * part / whole`` (0.0 when ``whole`` is 0)."""
    return 100.0 * part / whole if whole else 0.0


def rank_order(labels: Sequence[str], counts: Sequence[float], ids: Sequence[Any] | None = None) -> list[int]:
    """Indices sorted by count descending, then label ascending, then id: the tie rule of every ranking."""
    ids = ids if ids is not None else range(len(labels))
    return sorted(range(len(labels)), key=lambda i: (-counts[i], labels[i], ids[i]))


def share_rows(counts: Mapping[str, int], *, order: Sequence[str] | None = None,
               total: int | None = None) -> list[list[Any]]:
    """``[label, count, share %]`` rows: share of ``total`` (default: the sum of counts).

    Rows follow ``order`` when given (labels missing from ``counts`` get 0), otherwise the tie
    rule of :func:`rank_order` (count descending, then label).
    """
    whole = sum(counts.values()) if total is None else total
    labels = list(order) if order is not None else [
        list(counts)[i] for i in rank_order(list(counts), list(counts.values()))
    ]
    return [[label, counts.get(label, 0), pct(counts.get(label, 0), whole)] for label in labels]


def bucket_counts(values: Iterable[float], buckets: Sequence[Bucket]) -> tuple[list[int], int]:
    """Number of ``values`` in each bucket (see :class:`Bucket` for the edge rule) and how many fell in none."""
    counts = [0] * len(buckets)
    outside = 0
    for v in values:
        for i, b in enumerate(buckets):
            if b.contains(v):
                counts[i] += 1
                break
        else:
            outside += 1
    return counts, outside


def bucket_table(key: str, title: str, title_en: str, values: Sequence[float], buckets: Sequence[Bucket],
                 population: str, unit: str) -> Table:
    """A distribution figure: share of ``values`` per bucket; the population is the values given."""
    counts, outside = bucket_counts(values, buckets)
    n = sum(counts)
    notes = [f"Population: {population} (N = {n}). Bucket edges from analysis/data/buckets.yml ({unit})."]
    if outside:
        notes.append(f"{outside} values outside every bucket (e.g. negative) are not counted.")
    return Table(key, title, title_en,
                 [Column("bucket", "区间 (bucket)"), Column("firms", "企业数 (firms)", "int"),
                  Column("share", "占比% (share)", "pct")],
                 [[b.label, c, pct(c, n)] for b, c in zip(buckets, counts, strict=True)], notes,
                 Chart("bar", "bucket", ("share",), "占比 (%)"))


# --------------------------------------------------------------------------- network statistics


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


def fit_power_law(degrees: np.ndarray) -> PowerLawFit | None:
    """:class:`PowerLawFit` of positive ``degrees`` (``None`` with fewer than 10 nodes or one distinct value)."""
    d = np.asarray(degrees, dtype=np.float64)
    d = d[d > 0]
    if d.size < 10 or np.unique(d).size < 2:
        return None
    import powerlaw

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        fit = powerlaw.Fit(d, discrete=True, verbose=False)
        R, p = fit.distribution_compare("power_law", "lognormal")
    return PowerLawFit(float(fit.alpha), float(fit.xmin), float(fit.power_law.sigma),
                       int((d >= fit.xmin).sum()), float(R), float(p))


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


# --------------------------------------------------------------------------- data from the database


@dataclass
class Taxonomy:
    """Names and groupings used by the figures (from the seeded taxonomy tables)."""

    provinces: dict[str, str]
    sections: dict[str, str]
    divisions: dict[str, tuple[str, str, str]]  # code -> (name, section, sector)
    section_sector: dict[str, str]
    tech: list[tuple[str, str]]  # (code, name) in report order
    domains: list[tuple[str, str]]
    regions: list[tuple[str, list[str]]]  # (name, province codes) in report order


def load_taxonomy(session: Session) -> Taxonomy:
    """Read the taxonomy tables (a handful of small queries)."""
    divisions = {c: (n, s, sec) for c, n, s, sec in session.execute(
        select(IndustryDivision.code, IndustryDivision.name, IndustryDivision.section_code, IndustryDivision.sector))}
    by_section: dict[str, Counter[str]] = {}
    for _, s, sec in divisions.values():
        by_section.setdefault(s, Counter())[sec] += 1
    regions: dict[str, list[str]] = {}
    order = {}
    for code, name, sort in session.execute(select(Region.code, Region.name, Region.sort_order)):
        regions[code], order[code] = [], (sort, name)
    for rc, pc in session.execute(select(RegionProvince.region_code, RegionProvince.province_code)):
        regions[rc].append(pc)
    return Taxonomy(
        provinces=dict(session.execute(select(Province.code, Province.name)).all()),
        sections=dict(session.execute(select(IndustrySection.code, IndustrySection.name)).all()),
        divisions=divisions,
        section_sector={s: c.most_common(1)[0][0] for s, c in by_section.items()},
        tech=[(c, n) for c, n in session.execute(select(TechCategory.code, TechCategory.name)
                                                 .order_by(TechCategory.sort_order))],
        domains=[(c, n) for c, n in session.execute(select(ApplicationDomain.code, ApplicationDomain.name)
                                                    .order_by(ApplicationDomain.sort_order))],
        regions=[(order[c][1], sorted(regions[c])) for c in sorted(regions, key=lambda c: order[c])],
    )


@dataclass
class OrgTable:
    """Every organisation as columns aligned with ascending ``ids`` (one query plus one for aliases)."""

    ids: np.ndarray
    name: list[str]
    display: list[str]
    kind: list[str]
    is_sample: np.ndarray
    province: list[str | None]
    section: list[str | None]
    division: list[str | None]

    def index(self, ids: np.ndarray) -> np.ndarray:
        """Row positions of organisation ``ids`` (all must exist)."""
        return np.searchsorted(self.ids, ids)


def display_names(session: Session) -> dict[int, str]:
    """Display name per organisation that has one: its first recorded ``short`` alias (lowest
    alias id), else its first ``stock_short`` alias. Others display their full name."""
    out: dict[int, str] = {}
    rows = session.execute(select(Alias.organisation_id, Alias.kind, Alias.name)
                           .where(Alias.kind.in_(("short", "stock_short"))).order_by(Alias.id))
    stock: dict[int, str] = {}
    for oid, kind, name in rows:
        (out if kind == "short" else stock).setdefault(oid, name)
    return {**stock, **out}


def load_orgs(session: Session) -> OrgTable:
    """All organisations (network nodes) with the columns the figures need."""
    rows = session.execute(select(
        Organisation.id, Organisation.name, Organisation.kind, Organisation.is_sample, Organisation.province_code,
        Organisation.industry_section, Organisation.industry_division).order_by(Organisation.id)).all()
    short = display_names(session)
    cols = list(zip(*rows, strict=True)) if rows else [[] for _ in range(7)]
    ids = np.asarray(cols[0], dtype=np.int64)
    return OrgTable(ids=ids, name=list(cols[1]), display=[short.get(i, n) for i, n in zip(cols[0], cols[1],
                                                                                          strict=True)],
                    kind=list(cols[2]), is_sample=np.asarray(cols[3], dtype=bool), province=list(cols[4]),
                    section=list(cols[5]), division=list(cols[6]))


@dataclass
class FirmRows:
    """The sample firms' attributes (one row per sample firm; None where unknown)."""

    org_id: list[int]
    province: list[str | None]
    founded_year: list[int | None]
    employees: list[int | None]
    listed: list[bool]
    tech_layer: list[str | None]
    patents: list[int | None]
    revenue: dict[int, float]  # org id -> revenue (CNY) of the fiscal year
    rd_expense: dict[int, float]
    fiscal_year: int


def load_firms(session: Session, fiscal_year: int) -> FirmRows:
    """Sample firms with their attributes and their financials of ``fiscal_year`` (two queries)."""
    rows = session.execute(
        select(Organisation.id, Organisation.province_code, FirmAttributes.founded_on, FirmAttributes.employees,
               FirmAttributes.listed, FirmAttributes.tech_layer, FirmAttributes.patents)
        .outerjoin(FirmAttributes, FirmAttributes.organisation_id == Organisation.id)
        .where(Organisation.is_sample.is_(True)).order_by(Organisation.id)).all()
    revenue, rd = {}, {}
    for oid, rev, rde in session.execute(
            select(FirmFinancials.organisation_id, FirmFinancials.revenue_cny, FirmFinancials.rd_expense_cny)
            .where(FirmFinancials.fiscal_year == fiscal_year)):
        if rev is not None:
            revenue[oid] = float(rev)
        if rde is not None:
            rd[oid] = float(rde)
    return FirmRows(
        org_id=[r[0] for r in rows], province=[r[1] for r in rows],
        founded_year=[r[2].year if r[2] is not None else None for r in rows],
        employees=[r[3] for r in rows], listed=[bool(r[4]) for r in rows], tech_layer=[r[5] for r in rows],
        patents=[r[6] for r in rows], revenue=revenue, rd_expense=rd, fiscal_year=fiscal_year)


@dataclass
class ReportData:
    """Everything the edition's statistics read from the database (loaded once, no per-row ORM loads)."""

    events: EventTable
    orgs: OrgTable
    taxonomy: Taxonomy
    tech_pairs: tuple[np.ndarray, np.ndarray]  # (event row, index into taxonomy.tech)
    domain_pairs: tuple[np.ndarray, np.ndarray]
    firms: FirmRows


def _assignment_pairs(session: Session, model: type, code_col: str, codes: Sequence[str],
                      events: EventTable) -> tuple[np.ndarray, np.ndarray]:
    rows = session.execute(select(model.event_id, getattr(model, code_col))).all()
    index = {c: i for i, c in enumerate(codes)}
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    ev = np.searchsorted(events.event_id, np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)))
    code = np.fromiter((index[r[1]] for r in rows), dtype=np.int64, count=len(rows))
    return ev, code


def load_report_data(session: Session, edition: int) -> ReportData:
    """Load events, organisations, taxonomies, category assignments and sample firms (a few bulk queries)."""
    events = load_event_table(session)
    taxonomy = load_taxonomy(session)
    return ReportData(
        events=events,
        orgs=load_orgs(session),
        taxonomy=taxonomy,
        tech_pairs=_assignment_pairs(session, EventTechCategory, "category_code", [c for c, _ in taxonomy.tech], events),
        domain_pairs=_assignment_pairs(session, EventApplicationDomain, "domain_code",
                                       [c for c, _ in taxonomy.domains], events),
        firms=load_firms(session, edition - 2),
    )


def edition_years(session: Session, edition: int, first_year: int | None = None) -> list[int]:
    """Years of an edition's Table 1: ``max(2014, first event year)`` (or ``first_year``) .. edition - 1."""
    last = edition - 1
    earliest = session.scalar(select(func.min(CooperationEvent.year)).where(CooperationEvent.year <= last))
    if earliest is None:
        raise ReportError(f"edition {edition} has no cooperation events dated {last} or earlier; "
                          "run `aimap etl` first or choose another --edition")
    first = first_year if first_year is not None else max(FIRST_YEAR, earliest)
    return list(range(min(first, last), last + 1))


# --------------------------------------------------------------------------- the edition


@dataclass
class YearResult:
    """One yearly network: its edges, Table 1 counts, Gephi statistics and data version."""

    edges: YearEdges
    counts: NetworkCounts
    stats: NetStats
    version: str


@dataclass
class EditionStats:
    """Every table and figure of an edition, plus the networks behind them."""

    edition: int
    years: list[int]
    window: int | None
    mutual: str
    networks: dict[int, YearResult]
    tables: dict[str, Table]
    figures: dict[str, Any]  # the published-figures format (see analysis.compare)
    hubs: list[int]  # organisation ids of the nodes of Tables 2 and 3
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage

    @property
    def latest(self) -> YearResult:
        """The network of year edition - 1."""
        return self.networks[self.years[-1]]


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


def compute_edition(
    data: ReportData,
    edition: int,
    years: Sequence[int],
    *,
    window: int | None = None,
    mutual: str = "reporter",
    spec: ReportSpec | None = None,
    progress: Progress | None = None,
) -> EditionStats:
    """Compute every table and figure of ``edition`` for ``years`` (the last one is edition - 1)."""
    spec = spec or load_spec()
    say = progress or (lambda _msg: None)
    if not years or years[-1] != edition - 1:
        raise ReportError(f"years of edition {edition} must end with {edition - 1}, got {list(years)}")
    orgs, tax = data.orgs, data.taxonomy
    samples = orgs.ids[orgs.is_sample]
    sector, section = org_sectors(orgs, tax)

    networks: dict[int, YearResult] = {}
    sector_rows: list[list[Any]] = []
    started = time.perf_counter()
    for year in years:
        edges = yearly_edges(data.events, year, window=window, mutual=mutual)
        stats = compute_netstats(edges.source, edges.target, edges.n_nodes)
        networks[year] = YearResult(edges, count_edges(edges, samples), stats, data_version_edges(edges))
        counts, unknown = sector_shares(orgs.index(edges.receiver_ids()), sector)
        total = int(counts.sum())
        sector_rows.append([year, *[pct(int(c), total) for c in counts], total, unknown])
        say(f"network {year}: {edges.n_nodes} nodes, {edges.n_edges} edges, diameter {stats.diameter}")
    latest = networks[years[-1]]
    timings = {"networks_table1": time.perf_counter() - started}
    started = time.perf_counter()
    tables: dict[str, Table] = {}

    tables["table1"] = table1(networks, years, window)
    node_tables, hubs = hub_tables(latest.edges, orgs, spec)
    tables.update(node_tables)
    tables.update(degree_tables(latest.edges, spec))
    tables.update(category_tables(data, latest.edges, tax))
    tables.update(industry_tables(latest.edges, orgs, tax, sector, section, sector_rows, spec))
    tables.update(province_tables(latest.edges, orgs, tax, spec))
    tables.update(firm_tables(data.firms, tax, spec))
    tables["fig13_network"] = network_drawing_table(latest.edges, orgs, spec)
    ordered = dict(sorted(tables.items(), key=lambda kv: _table_sort_key(kv[0])))
    result = EditionStats(edition, list(years), window, mutual, networks, ordered, {}, hubs, timings)
    from analysis.compare import figures_of

    result.figures = figures_of(result, spec, data)
    timings["statistics"] = time.perf_counter() - started
    say(f"statistics: {len(ordered)} tables and figures computed in {timings['statistics']:.1f} s")
    return result


def _table_sort_key(key: str) -> tuple[int, int, str]:
    """Tables in the report's order: figures 1-12, table 1, fig 13/14, tables 2/3, figs 15-20, tables 6/7."""
    kind, number = key.split("_")[0][:3], int("".join(ch for ch in key.split("_")[0] if ch.isdigit()))
    position = {("fig", n): n for n in range(1, 13)} | {("tab", 1): 13, ("fig", 13): 14, ("fig", 14): 15,
                                                         ("tab", 2): 16, ("tab", 3): 17}
    position |= {("fig", n): n + 3 for n in range(15, 21)} | {("tab", 6): 24, ("tab", 7): 25}
    return position.get((kind, number), 99), number, key


# --------------------------------------------------------------------------- Table 1


def table1(networks: Mapping[int, YearResult], years: Sequence[int], window: int | None) -> Table:
    """表1 价值网络结构性统计指标: counts (:mod:`analysis.network`) and Gephi statistics (:mod:`analysis.metrics`)."""
    columns = [
        Column("year", "年份 (year)", "int"), Column("sample_nodes", "样本节点总数 (sample nodes)", "int"),
        Column("relation_nodes", "关系节点总数 (relation nodes)", "int"), Column("nodes", "节点总数 (nodes)", "int"),
        Column("edges", "总边数 (edges)", "int"), Column("avg_degree", "平均度 (avg degree)", "gephi"),
        Column("diameter", "网络直径 (diameter)", "int"),
        Column("avg_path_length", "平均路径长度 (avg path length)", "gephi"),
        Column("avg_clustering", "平均聚类系数 (avg clustering)", "gephi"),
    ]
    rows = []
    for y in years:
        c, s = networks[y].counts, networks[y].stats
        rows.append([y, c.sample_nodes, c.relation_nodes, c.nodes, c.edges, c.avg_degree, s.diameter,
                     s.avg_path_length, s.avg_clustering])
    scope = f"rolling {window}-year window" if window else "cumulative"
    notes = [f"Directed value network per year ({scope}): edges = unique provider -> receiver pairs; "
             "avg degree = edges / nodes; diameter and avg path length over reachable ordered pairs; "
             "avg clustering = Gephi 0.9.2 directed clustering averaged over all nodes. "
             "Values shown with 3 decimals rounded half-even, as Gephi 0.9.2 displays them."]
    return Table("table1", f"表1 {years[0]}-{years[-1]}年价值网络结构性统计指标的动态变化",
                 "Table 1 Structure of the value network per year", columns, rows, notes)


# --------------------------------------------------------------------------- Tables 2/3, Fig. 14


def hub_tables(edges: YearEdges, orgs: OrgTable, spec: ReportSpec) -> tuple[dict[str, Table], list[int]]:
    """表2/表3: the top-k sample / relation nodes by degree centrality on the latest network.

    Degree centrality = in-degree + out-degree (连入度 + 连出度) on the unique-pair graph of year
    E-1. Ranked by degree descending, then display name, then id (:func:`top_nodes`). Names:
    the display name (short alias, :func:`display_names`) and the full name.
    """
    k = int(spec.top["nodes"])
    in_deg, out_deg = edges.degrees()
    rows_idx = orgs.index(edges.nodes)
    labels = [orgs.display[i] for i in rows_idx]
    is_sample = orgs.is_sample[rows_idx]
    out: dict[str, Table] = {}
    hubs: list[int] = []
    for key, title, title_en, mask in (
        ("table2_top_sample_nodes", f"表2 度数中心度排名前{k}的样本企业",
         f"Table 2 Top {k} sample firms by degree centrality", is_sample),
        ("table3_top_relation_nodes", f"表3 关系节点度数 TOP{k}", f"Table 3 Top {k} relation nodes by degree",
         ~is_sample),
    ):
        pos = np.flatnonzero(mask)
        top = top_nodes(edges.nodes[pos], [labels[i] for i in pos], in_deg[pos], out_deg[pos], k)
        rows = []
        for rank, t in enumerate(top, 1):
            i = pos[t]
            hubs.append(int(edges.nodes[i]))
            rows.append([rank, labels[i], orgs.name[rows_idx[i]], int(in_deg[i]), int(out_deg[i]),
                         int(in_deg[i] + out_deg[i])])
        out[key] = Table(key, title, title_en, [
            Column("rank", "排名 (rank)", "int"), Column("name", "名称 (name)"), Column("full_name", "全称 (full name)"),
            Column("in_degree", "连入度 (in)", "int"), Column("out_degree", "连出度 (out)", "int"),
            Column("degree", "度数中心度 (degree)", "int")], rows,
            [f"Network of {edges.year}; degree centrality = in-degree + out-degree on unique pairs; "
             "ties: degree descending, then name, then id."])
    return out, hubs


def degree_tables(edges: YearEdges, spec: ReportSpec) -> dict[str, Table]:
    """图14: degree distribution (log-log) with a power-law fit and the degree concentration.

    Points: for every degree centrality k present, the share of nodes with degree k. Fit:
    :func:`fit_power_law`. Concentration: :func:`degree_concentration` with the fraction in
    ``buckets.yml`` (report: 20% of nodes hold about 75% of all degree).
    """
    in_deg, out_deg = edges.degrees()
    degree = in_deg + out_deg
    fraction = float(spec.top["concentration_share"])
    fit = fit_power_law(degree)
    share = degree_concentration(degree, fraction)
    fit_rows: list[list[Any]] = [["nodes", edges.n_nodes], [f"top_{round(fraction * 100)}pct_degree_share", share]]
    if fit:
        fit_rows += [["alpha", fit.alpha], ["alpha_sigma", fit.sigma], ["xmin", fit.xmin], ["n_tail", fit.n_tail],
                     ["loglikelihood_ratio_R_vs_lognormal", fit.R], ["p_value", fit.p]]
    payload = {"alpha": fit.alpha, "xmin": fit.xmin, "R": fit.R, "p": fit.p} if fit else {}
    payload["concentration"] = share
    dist = Table("fig14_degree_distribution", "图14 价值网络度数中心度幂律分布特征图",
                 "Fig. 14 Degree distribution (log-log) with power-law fit",
                 [Column("degree", "度数中心度 k (degree)", "int"), Column("nodes", "节点数 (nodes)", "int"),
                  Column("share", "占比% P(k)", "pct")], degree_distribution(degree),
                 [f"Network of {edges.year}: degree centrality = in + out degree.",
                  f"Top {fraction:.0%} of nodes hold {share:.2f}% of all degree."
                  + (f" Power law (discrete MLE, powerlaw package): alpha = {fit.alpha:.3f} ± {fit.sigma:.3f}, "
                     f"xmin = {fit.xmin:g} ({fit.n_tail} nodes in the tail); vs lognormal: R = {fit.R:.3f}, "
                     f"p = {fit.p:.3f} (R > 0 favours the power law)." if fit else " Too few nodes to fit.")],
                 Chart("loglog", "degree", ("share",), "P(k)", payload=payload))
    fit_table = Table("fig14_power_law_fit", "图14 幂律拟合参数", "Fig. 14 Power-law fit and degree concentration",
                      [Column("statistic", "统计量 (statistic)"), Column("value", "值 (value)", "float")], fit_rows,
                      ["alpha, xmin: Clauset-Shalizi-Newman (2009) discrete maximum likelihood; R: log-likelihood "
                       "ratio power law vs lognormal, p: Vuong test (powerlaw package, Alstott et al. 2014)."])
    return {dist.key: dist, fit_table.key: fit_table}


# --------------------------------------------------------------------------- Figs. 15-20


def category_tables(data: ReportData, edges: YearEdges, tax: Taxonomy) -> dict[str, Table]:
    """图15/图16: shares of technology categories / application domains (:func:`assignment_shares`)."""
    active = np.unique(edges.contrib_event)
    out = {}
    for key, title, title_en, pairs, labels in (
        ("fig15_tech_categories", "图15 技术类别的技术合作密度分布", "Fig. 15 Cooperation by technology category",
         data.tech_pairs, tax.tech),
        ("fig16_application_domains", "图16 人工智能技术合作关系的应用领域分布",
         "Fig. 16 Cooperation by application domain", data.domain_pairs, tax.domains),
    ):
        counts, total, missing = assignment_shares(active, pairs[0], pairs[1], len(labels))
        names = [n for _, n in labels]
        order = rank_order(names, counts.tolist(), list(range(len(names))))
        rows = [[names[i], int(counts[i]), pct(int(counts[i]), total)] for i in order]
        out[key] = Table(key, title, title_en, [Column("name", "类别 (category)"), Column("events", "合作事件 (events)", "int"),
                                                Column("share", "占比% (share)", "pct")], rows,
                         [f"Unit: the {active.size} cooperation events of the network of {edges.year}, each with its "
                          f"categories; an event with several categories counts once in each; shares are over "
                          f"the {total} (event, category) assignments. {missing} events without a category are "
                          "left out. Ties: count, then name."],
                         Chart("barh", "name", ("share",), "占比 (%)"))
    return out


def industry_tables(edges: YearEdges, orgs: OrgTable, tax: Taxonomy, sector: np.ndarray,
                    section: list[str | None], sector_rows: list[list[Any]], spec: ReportSpec) -> dict[str, Table]:
    """图17-20: industry of the technology-receiving side (GB/T 4754-2017), unit = cooperation relations (edges).

    Fig. 17: per year, share of the year's edges in each sector of the receiver (:func:`sector_shares`).
    Figs. 18/19 (year E-1): among edges whose receiver is tertiary / secondary, share per
    GB/T 4754 section of the receiver. Fig. 20: among edges whose receiver has a division in
    section C (制造业), share per division, top 20.
    """
    recv = orgs.index(edges.receiver_ids())
    out: dict[str, Table] = {}
    out["fig17_sectors_by_year"] = Table(
        "fig17_sectors_by_year", f"图17 {sector_rows[0][0]}-{sector_rows[-1][0]}年人工智能技术合作关系在三次产业的分布",
        "Fig. 17 Cooperation relations by sector of the receiver, per year",
        [Column("year", "年份 (year)", "int"), *[Column(f"share_{i + 1}", f"{s}% ", "pct") for i, s in enumerate(SECTORS)],
         Column("relations", "关系数 (relations with known industry)", "int"),
         Column("unknown", "行业未知 (unknown industry)", "int")],
        sector_rows,
        ["Unit: edges (unique provider -> receiver pairs) of each year's network, by the sector of the receiver "
         "(GB/T 4754-2017 division, 三次产业划分规定 2018); receivers of unknown industry are left out."],
        Chart("line", "year", tuple(f"share_{i + 1}" for i in range(3)), "占比 (%)",
              payload={"labels": list(SECTORS)}))
    for key, title, title_en, wanted in (
        ("fig18_tertiary_sections", "图18 人工智能技术合作关系第三产业分布", "Fig. 18 Tertiary sector by section",
         SECTORS.index(TERTIARY)),
        ("fig19_secondary_sections", "图19 人工智能技术合作关系第二产业分布", "Fig. 19 Secondary sector by section",
         SECTORS.index(SECONDARY)),
    ):
        counts = Counter(tax.sections[section[r]] for r in recv if sector[r] == wanted)
        out[key] = Table(key, title, title_en, [Column("section", "门类 (section)"), Column("relations", "关系数", "int"),
                                                Column("share", "占比% (share)", "pct")], share_rows(counts),
                         [f"Unit: edges of the network of {edges.year} whose receiver is in the "
                          f"{SECTORS[wanted]}; share per GB/T 4754-2017 section of the receiver."],
                         Chart("barh", "section", ("share",), "占比 (%)"))
    divisions = Counter(tax.divisions[orgs.division[r]][0] for r in recv
                        if orgs.division[r] and tax.divisions.get(orgs.division[r], ("", ""))[1] == MANUFACTURING)
    no_division = sum(1 for r in recv if section[r] == MANUFACTURING and not orgs.division[r])
    k = int(spec.top["manufacturing"])
    total = sum(divisions.values())
    out["fig20_manufacturing_divisions"] = Table(
        "fig20_manufacturing_divisions", f"图20 人工智能技术合作关系在制造业排名前{k}的行业",
        f"Fig. 20 Top {k} manufacturing divisions",
        [Column("division", "大类 (division)"), Column("relations", "关系数", "int"), Column("share", "占比% (share)", "pct")],
        share_rows(divisions, total=total)[:k],
        [f"Unit: edges of the network of {edges.year} whose receiver has a GB/T 4754-2017 division in section C "
         f"(制造业), N = {total}; share per division, top {k}."
         + (f" {no_division} edges to manufacturing receivers without a division are left out." if no_division else "")],
        Chart("barh", "division", ("share",), "占比 (%)"))
    return out


def province_tables(edges: YearEdges, orgs: OrgTable, tax: Taxonomy, spec: ReportSpec) -> dict[str, Table]:
    """表6/表7: provinces of technology enabling (provider side) and technology input (receiver side), flows.

    Unit: edges of the network of year E-1. Table 6: share of the edges whose provider (技术赋能)
    / receiver (技术输入) is in a province, among edges whose provider / receiver province is
    known; top 20 each. Table 7: share of the edges per (provider province, receiver province)
    among edges with both known; top 20, marked 省内 (intra-provincial: same province) or 跨省.
    Reference: the report's section 三 (Tables 6 and 7); provinces by GB/T 2260 (db/data/provinces.yml).
    """
    src = [orgs.province[i] for i in orgs.index(edges.provider_ids())]
    dst = [orgs.province[i] for i in orgs.index(edges.receiver_ids())]
    name = tax.provinces
    k = int(spec.top["provinces"])
    enabling = Counter(name[p] for p in src if p)
    inputs = Counter(name[p] for p in dst if p)
    e_rows, i_rows = share_rows(enabling)[:k], share_rows(inputs)[:k]
    rows = []
    for rank in range(max(len(e_rows), len(i_rows))):
        e = e_rows[rank] if rank < len(e_rows) else ["", 0, None]
        i = i_rows[rank] if rank < len(i_rows) else ["", 0, None]
        rows.append([rank + 1, e[0], e[1], e[2], i[0], i[1], i[2]])
    core = spec.core_provinces
    e_total, i_total = sum(enabling.values()), sum(inputs.values())
    core_e, core_i = pct(sum(enabling[p] for p in core), e_total), pct(sum(inputs[p] for p in core), i_total)
    t6 = Table("table6_provinces", f"表6 技术合作关系占比排名前{k}的省级行政区",
               f"Table 6 Top {k} provinces by technology enabling and technology input",
               [Column("rank", "排名 (rank)", "int"), Column("enabling_province", "技术赋能省份 (provider)"),
                Column("enabling_relations", "技术赋能关系数", "int"), Column("enabling_share", "技术赋能占比%", "pct"),
                Column("input_province", "技术输入省份 (receiver)"), Column("input_relations", "技术输入关系数", "int"),
                Column("input_share", "技术输入占比%", "pct")], rows,
               [f"Unit: edges of the network of {edges.year}. Enabling = provider's province (N = {e_total}); "
                f"input = receiver's province (N = {i_total}); unknown provinces left out.",
                f"Core four ({'、'.join(core)}): enabling {core_e:.2f}%, input {core_i:.2f}%."])
    flows = province_flows(src, dst)
    f_total = sum(flows.values())
    labels = [f"{name[a]}-{name[b]}" for a, b in flows]
    keys = list(flows)
    order = rank_order(labels, [flows[key] for key in keys])[: int(spec.top["flows"])]
    f_rows = [[n + 1, name[keys[i][0]], name[keys[i][1]], flows[keys[i]], pct(flows[keys[i]], f_total),
               "省内技术流动" if keys[i][0] == keys[i][1] else "跨省技术流动"] for n, i in enumerate(order)]
    t7 = Table("table7_flows", f"表7 技术合作流向排名前{int(spec.top['flows'])}的省级行政区",
               "Table 7 Top province-to-province technology flows",
               [Column("rank", "排名 (rank)", "int"), Column("from_province", "技术赋能地 (provider)"),
                Column("to_province", "技术输入地 (receiver)"), Column("relations", "关系数", "int"),
                Column("share", "占比% (share)", "pct"), Column("type", "类型 (intra/inter-provincial)")], f_rows,
               [f"Unit: edges of the network of {edges.year} with both provinces known (N = {f_total}); "
                "省内 = provider and receiver in the same province, 跨省 otherwise."])
    return {t6.key: t6, t7.key: t7}


# --------------------------------------------------------------------------- Figs. 1-12


def firm_tables(firms: FirmRows, tax: Taxonomy, spec: ReportSpec) -> dict[str, Table]:
    """图1-12: attributes of the sample firms (``is_sample``); each table's notes state its population.

    Definitions (report section 一): Fig. 1 share of firms per founding year (of firms with a date);
    Figs. 2/3 share of firms per region / province (of firms with a province; regions may overlap);
    Fig. 4 head-count buckets; Fig. 5 listed vs unlisted (of all sample firms); Figs. 6-8 revenue,
    R&D expense and R&D intensity (R&D / revenue) buckets of listed firms, fiscal year edition-2;
    Fig. 9 technology layers; Fig. 10 patent-count buckets; Figs. 11/12 share of all patents per
    province (top 10) and per layer. Buckets: :class:`Bucket` and ``buckets.yml``.
    """
    n_firms = len(firms.org_id)
    out: dict[str, Table] = {}
    years = Counter(y for y in firms.founded_year if y is not None)
    n_known = sum(years.values())
    lo, hi = spec.founding_span
    span = pct(sum(c for y, c in years.items() if lo <= y <= hi), n_known)
    peak = min(years, key=lambda y: (-years[y], y)) if years else None
    out["fig01_founding_years"] = Table(
        "fig01_founding_years", f"图1 {n_firms}家人工智能样本企业的创建时间分布", "Fig. 1 Founding years of the sample firms",
        [Column("year", "创建年份 (year)", "int"), Column("firms", "企业数 (firms)", "int"), Column("share", "占比%", "pct")],
        [[y, years[y], pct(years[y], n_known)] for y in sorted(years)],
        [f"Population: sample firms with a founding date (N = {n_known} of {n_firms}).",
         f"Founded {lo}-{hi} (inclusive): {span:.2f}%."
         + (f" Peak year {peak}: {pct(years[peak], n_known):.2f}% (ties: earlier year)." if peak else "")],
        Chart("bar", "year", ("share",), "占比 (%)"))
    prov_counts = Counter(p for p in firms.province if p)
    n_prov = sum(prov_counts.values())
    region_counts = {name: sum(prov_counts[p] for p in members) for name, members in tax.regions}
    region_rows = [[name, c, pct(c, n_prov)] for name, c in region_counts.items()]
    region_rows = [region_rows[i] for i in rank_order([r[0] for r in region_rows], [r[1] for r in region_rows])]
    out["fig02_regions"] = Table(
        "fig02_regions", f"图2 {n_firms}家人工智能企业在全国都市圈的分布", "Fig. 2 Sample firms by metropolitan region",
        [Column("region", "地区 (region)"), Column("firms", "企业数", "int"), Column("share", "占比%", "pct")], region_rows,
        [f"Population: sample firms with a province (N = {n_prov}). Regions and member provinces from "
         "db/data/regions.yml; a province may belong to several regions, so shares do not add up to 100%."],
        Chart("bar", "region", ("share",), "占比 (%)"))
    k10 = int(spec.top["firm_provinces"])
    out["fig03_provinces"] = Table(
        "fig03_provinces", f"图3 {n_firms}家人工智能企业在省市自治区的分布", "Fig. 3 Sample firms by province",
        [Column("province", "省份 (province)"), Column("firms", "企业数", "int"), Column("share", "占比%", "pct")],
        share_rows(Counter({tax.provinces[p]: c for p, c in prov_counts.items()})),
        [f"Population: sample firms with a province (N = {n_prov}); the chart shows the top {k10}."],
        Chart("bar", "province", ("share",), "占比 (%)", limit=k10))
    out["fig04_employees"] = bucket_table(
        "fig04_employees", f"图4 {n_firms}家人工智能企业员工规模分布（单位：人）", "Fig. 4 Sample firms by head count",
        [e for e in firms.employees if e is not None], spec.buckets["employees"],
        "sample firms with a known head count", "persons")
    listed = sum(firms.listed)
    out["fig05_listed"] = Table(
        "fig05_listed", "图5 人工智能上市公司占比", "Fig. 5 Listed share of the sample firms",
        [Column("status", "类别 (status)"), Column("firms", "企业数", "int"), Column("share", "占比%", "pct")],
        [["上市公司 (listed)", listed, pct(listed, n_firms)],
         ["非上市公司 (unlisted)", n_firms - listed, pct(n_firms - listed, n_firms)]],
        [f"Population: all sample firms (N = {n_firms}); listed = firm_attributes.listed."],
        Chart("pie", "status", ("firms",)))
    fy = firms.fiscal_year
    listed_ids = [o for o, is_listed in zip(firms.org_id, firms.listed, strict=True) if is_listed]
    rev = [firms.revenue[o] / spec.units["revenue"] for o in listed_ids if o in firms.revenue]
    rd = [firms.rd_expense[o] / spec.units["rd_expense"] for o in listed_ids if o in firms.rd_expense]
    intensity = [pct(firms.rd_expense[o], firms.revenue[o]) for o in listed_ids
                 if o in firms.rd_expense and firms.revenue.get(o, 0) > 0]
    n_listed = len(listed_ids)
    out["fig06_revenue"] = bucket_table(
        "fig06_revenue", f"图6 {n_listed}家人工智能上市公司营业收入分布情况（单位：亿人民币）",
        f"Fig. 6 Listed firms by revenue, fiscal year {fy}", rev, spec.buckets["revenue"],
        f"listed sample firms with revenue for fiscal year {fy}", "亿元")
    out["fig07_rd_expense"] = bucket_table(
        "fig07_rd_expense", f"图7 {n_listed}家人工智能上市公司研发费用分布情况（单位：亿人民币）",
        f"Fig. 7 Listed firms by R&D expense, fiscal year {fy}", rd, spec.buckets["rd_expense"],
        f"listed sample firms with R&D expense for fiscal year {fy}", "亿元")
    out["fig08_rd_intensity"] = bucket_table(
        "fig08_rd_intensity", f"图8 {n_listed}家上市公司研发强度分布", f"Fig. 8 Listed firms by R&D intensity, fiscal year {fy}",
        intensity, spec.buckets["rd_intensity"],
        f"listed sample firms with revenue > 0 and R&D expense for fiscal year {fy}; intensity = R&D / revenue",
        "percent")
    layers = Counter(dict.fromkeys(TECH_LAYERS, 0))
    layers.update(t for t in firms.tech_layer if t)
    out["fig09_tech_layers"] = Table(
        "fig09_tech_layers", f"图9 {n_firms}家人工智能企业技术层次分布", "Fig. 9 Sample firms by technology layer",
        [Column("layer", "技术层次 (layer)"), Column("firms", "企业数", "int"), Column("share", "占比%", "pct")],
        share_rows(layers), [f"Population: sample firms with a technology layer (N = {sum(layers.values())})."],
        Chart("pie", "layer", ("firms",)))
    out["fig10_patents"] = bucket_table(
        "fig10_patents", f"图10 {n_firms}家企业的专利数分布（单位：项）", "Fig. 10 Sample firms by patent count",
        [p for p in firms.patents if p is not None], spec.buckets["patents"], "sample firms with a known patent count",
        "patents")
    by_prov: Counter[str] = Counter()
    by_layer: Counter[str] = Counter(dict.fromkeys(TECH_LAYERS, 0))
    for p, layer, n in zip(firms.province, firms.tech_layer, firms.patents, strict=True):
        if n and p:
            by_prov[tax.provinces[p]] += n
        if n and layer:
            by_layer[layer] += n
    patents_total = sum(by_prov.values())
    prov_rows = share_rows(by_prov)
    top_share = sum(r[2] for r in prov_rows[:k10])
    out["fig11_patents_by_province"] = Table(
        "fig11_patents_by_province", f"图11 {n_firms}家样本企业专利数地区分布（前{k10}）",
        f"Fig. 11 Patents of the sample firms by province (top {k10})",
        [Column("province", "省份 (province)"), Column("patents", "专利数 (patents)", "int"), Column("share", "占比%", "pct")],
        prov_rows[:k10],
        [f"Share of all patents of sample firms with a province and a patent count (N = {patents_total} patents); "
         f"the top {k10} hold {top_share:.2f}%."],
        Chart("bar", "province", ("share",), "占比 (%)"))
    out["fig12_patents_by_layer"] = Table(
        "fig12_patents_by_layer", "图12 各技术层次企业专利数占比", "Fig. 12 Patents by technology layer",
        [Column("layer", "技术层次 (layer)"), Column("patents", "专利数", "int"), Column("share", "占比%", "pct")],
        share_rows(by_layer),
        [f"Share of all patents of sample firms with a layer and a patent count (N = {sum(by_layer.values())})."],
        Chart("pie", "layer", ("patents",)))
    return out


# --------------------------------------------------------------------------- Fig. 13


def drawing_subgraph(edges: YearEdges, max_nodes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The part of the network Fig. 13 draws: (node positions into ``edges.nodes``, edge sources, targets).

    Rule: a network of at most ``max_nodes`` nodes is drawn whole; a larger one is reduced to
    its ``max_nodes`` nodes of highest degree centrality (ties: lower organisation id first) and
    the edges among them (the backbone around the hubs, where the report's 极核 structure shows).
    """
    in_deg, out_deg = edges.degrees()
    degree = in_deg + out_deg
    if edges.n_nodes <= max_nodes:
        keep = np.arange(edges.n_nodes)
    else:
        keep = np.sort(np.lexsort((edges.nodes, -degree))[:max_nodes])
    inside = np.zeros(edges.n_nodes, dtype=bool)
    inside[keep] = True
    sel = inside[edges.source] & inside[edges.target]
    return keep, edges.source[sel], edges.target[sel]


def network_drawing_table(edges: YearEdges, orgs: OrgTable, spec: ReportSpec) -> Table:
    """图13: the latest network drawn (rule in :func:`drawing_subgraph`), the top hubs labelled."""
    max_nodes, n_labels = spec.drawing["max_nodes"], spec.drawing["labels"]
    keep, s, t = drawing_subgraph(edges, max_nodes)
    in_deg, out_deg = edges.degrees()
    degree = in_deg + out_deg
    rows_idx = orgs.index(edges.nodes)
    labels = [orgs.display[i] for i in rows_idx]
    hubs = top_nodes(edges.nodes, labels, in_deg, out_deg, n_labels)
    rows = [[r + 1, labels[i], bool(orgs.is_sample[rows_idx[i]]), int(degree[i])] for r, i in enumerate(hubs)]
    payload = {
        "nodes": keep.tolist(), "sources": s.tolist(), "targets": t.tolist(),
        "degree": degree.tolist(), "sample": orgs.is_sample[rows_idx].tolist(),
        "labels": {int(i): labels[i] for i in hubs}, "seed": spec.drawing["seed"],
    }
    drawn = "the whole network" if keep.size == edges.n_nodes else f"its {keep.size} highest-degree nodes"
    return Table("fig13_network", "图13 人工智能企业簇群价值网络图", "Fig. 13 The value network (hubs labelled)",
                 [Column("rank", "排名", "int"), Column("name", "标注节点 (labelled hub)"),
                  Column("is_sample", "样本节点 (sample)", "str"), Column("degree", "度数中心度", "int")], rows,
                 [f"Network of {edges.year} ({edges.n_nodes} nodes, {edges.n_edges} edges); drawn: {drawn} and the "
                  f"{s.size} edges among them (spring layout, fixed seed); node size ~ degree; the {len(hubs)} "
                  "highest-degree nodes are labelled. Sample nodes red, relation nodes blue."],
                 Chart("network", "name", ("degree",), payload=payload))
