"""The computed indicators of the regional competitiveness index, from aimap's own database.

:func:`load_index_source` reads what the indicators need in a few bulk queries, reusing the
analysis loaders (:func:`analysis.loaders.load_orgs`, :func:`analysis.loaders.load_firms`,
:func:`analysis.network.load_event_table`) plus one query for the columns they do not carry
(``city_code``, ``stock_exchange``) and the province / city tables. The value network N is the
cumulative network of year edition-1 built by :func:`analysis.network.yearly_edges` (unique
provider -> receiver pairs; mutual events oriented from the reporting sample firm), the same
network as the report's tables; listed-firm financials are those of fiscal year edition-2.

:func:`computed_indicators` evaluates every ``source: computed`` indicator of the tree for every
region of a level (provinces or prefecture-level cities) as a float array, ``nan`` where the value
is missing (the rule of each indicator is in its definition in ``analysis/data/index.yml``; a
count over nothing is 0, a sum over organisations whose attribute is unknown is missing). An
organisation belongs to the region it is located in (``organisations.province_code`` /
``city_code``); organisations without one count for no region.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis.loaders import FirmRows, OrgTable, load_firms, load_orgs
from analysis.network import EventTable, YearEdges, load_event_table, yearly_edges
from db.models import City, Organisation, Province

LEVELS = ("province", "city")
#: 亿元: the unit of revenue and R&D expense in the index (as in the report's Figs. 6-7).
YI = 1e8


@dataclass(frozen=True)
class Regions:
    """The regions of one level, in code order: codes, display names and their province codes."""

    level: str
    codes: list[str]
    names: list[str]
    province: list[str]

    def __len__(self) -> int:
        return len(self.codes)


@dataclass
class IndexSource:
    """Everything the computed indicators read (level-independent; loaded once)."""

    edition: int
    orgs: OrgTable
    city: list[str | None]  # aligned with orgs.ids
    exchange: list[str | None]
    firms: FirmRows
    events: EventTable
    edges: YearEdges
    provinces: Regions
    cities: Regions

    @property
    def network_year(self) -> int:
        """The year of the value network N (edition - 1)."""
        return self.edition - 1

    def regions(self, level: str) -> Regions:
        """The regions of ``level`` (``province`` or ``city``)."""
        if level not in LEVELS:
            raise ValueError(f"unknown level {level!r}; expected one of {', '.join(LEVELS)}")
        return self.provinces if level == "province" else self.cities


def load_regions(session: Session) -> tuple[Regions, Regions]:
    """Provinces and prefecture-level cities from the taxonomy tables (code order).

    A city's display name is its name; a name shared by cities of several provinces is shown as
    ``province·city`` so every label is unique.
    """
    provs = session.execute(select(Province.code, Province.name).order_by(Province.code)).all()
    cities = session.execute(select(City.code, City.name, City.province_code).order_by(City.code)).all()
    prov_name = dict(provs)
    counts: dict[str, int] = {}
    for _, name, _ in cities:
        counts[name] = counts.get(name, 0) + 1
    names = [name if counts[name] == 1 else f"{prov_name[p]}·{name}" for _, name, p in cities]
    return (Regions("province", [c for c, _ in provs], [n for _, n in provs], [c for c, _ in provs]),
            Regions("city", [c for c, _, _ in cities], names, [p for _, _, p in cities]))


def load_index_source(session: Session, edition: int) -> IndexSource:
    """Load organisations, sample firms (financials of edition-2), events and the network of edition-1."""
    orgs = load_orgs(session)
    extra = dict((oid, (city, exch)) for oid, city, exch in session.execute(
        select(Organisation.id, Organisation.city_code, Organisation.stock_exchange)))
    events = load_event_table(session)
    provinces, cities = load_regions(session)
    ids = orgs.ids.tolist()
    return IndexSource(
        edition=edition, orgs=orgs,
        city=[extra[i][0] for i in ids], exchange=[extra[i][1] for i in ids],
        firms=load_firms(session, edition - 2), events=events,
        edges=yearly_edges(events, edition - 1),
        provinces=provinces, cities=cities,
    )


# --------------------------------------------------------------------------- helpers


@dataclass
class _Level:
    """Per-organisation region positions for one level, and the network's edge ends as organisation rows."""

    n: int
    region: np.ndarray  # org row -> region position, -1 none
    province: np.ndarray  # org row -> province position, -1 none
    region_province: np.ndarray  # region position -> province position
    kind: np.ndarray  # org row -> kind (object array)
    sample: np.ndarray
    u: np.ndarray  # edge -> provider org row
    v: np.ndarray  # edge -> receiver org row


def _positions(values: Sequence[str | None], codes: Sequence[str]) -> np.ndarray:
    index = {c: i for i, c in enumerate(codes)}
    return np.fromiter((index.get(v, -1) if v else -1 for v in values), dtype=np.int64, count=len(values))


def _level(src: IndexSource, level: str) -> _Level:
    regions = src.regions(level)
    orgs = src.orgs
    province = _positions(orgs.province, src.provinces.codes)
    region = province if level == "province" else _positions(src.city, regions.codes)
    return _Level(
        n=len(regions), region=region, province=province,
        region_province=_positions(regions.province, src.provinces.codes),
        kind=np.asarray(orgs.kind, dtype=object), sample=orgs.is_sample,
        u=orgs.index(src.edges.provider_ids()), v=orgs.index(src.edges.receiver_ids()),
    )


def _count(regions: np.ndarray, n: int, mask: np.ndarray | None = None) -> np.ndarray:
    """Occurrences of each region position (``-1`` ignored), optionally where ``mask``."""
    r = regions if mask is None else regions[mask]
    return np.bincount(r[r >= 0], minlength=n)[:n].astype(np.float64)


def _distinct(regions: np.ndarray, items: np.ndarray, n: int) -> np.ndarray:
    """Per region, the number of distinct ``items`` paired with it (pairs with region -1 ignored)."""
    keep = regions >= 0
    if not keep.any():
        return np.zeros(n)
    width = np.int64(int(items.max()) + 1 if items.size else 1)
    keys = np.unique(regions[keep] * width + items[keep])
    return np.bincount(keys // width, minlength=n)[:n].astype(np.float64)


def _sum_known(regions: np.ndarray, values: np.ndarray, known: np.ndarray, population: np.ndarray,
               n: int) -> np.ndarray:
    """Sum of ``values`` where ``known``; 0 where the region's ``population`` is 0; nan where it has
    members but none is known."""
    total = np.bincount(regions[known], weights=values[known], minlength=n)[:n]
    n_known = np.bincount(regions[known], minlength=n)[:n]
    return np.where((population > 0) & (n_known == 0), np.nan, total)


@dataclass
class _Firms:
    region: np.ndarray  # sample firm -> region position (-1 none); only firms with a region are kept
    org_row: np.ndarray
    listed: np.ndarray
    layer: np.ndarray  # object
    patents: np.ndarray  # float, nan unknown
    revenue: np.ndarray  # 亿元, nan unknown
    rd: np.ndarray


def _firms(src: IndexSource, lv: _Level) -> _Firms:
    f = src.firms
    rows = src.orgs.index(np.asarray(f.org_id, dtype=np.int64))
    region = lv.region[rows] if rows.size else np.zeros(0, dtype=np.int64)
    keep = region >= 0
    nan = np.nan
    return _Firms(
        region=region[keep], org_row=rows[keep],
        listed=np.asarray(f.listed, dtype=bool)[keep],
        layer=np.asarray(f.tech_layer, dtype=object)[keep],
        patents=np.asarray([nan if p is None else float(p) for p in f.patents])[keep],
        revenue=np.asarray([f.revenue.get(o, nan) / YI for o in f.org_id])[keep],
        rd=np.asarray([f.rd_expense.get(o, nan) / YI for o in f.org_id])[keep],
    )


# --------------------------------------------------------------------------- the indicators

Indicator = Callable[["_Context"], np.ndarray]


@dataclass
class _Context:
    src: IndexSource
    lv: _Level
    firms: _Firms
    params: Mapping[str, Any]

    @property
    def n(self) -> int:
        return self.lv.n


def sample_firms(c: _Context) -> np.ndarray:
    """Sample firms located in the region."""
    return _count(c.firms.region, c.n)


def listed_firms(c: _Context) -> np.ndarray:
    """Listed sample firms of the region."""
    return _count(c.firms.region, c.n, c.firms.listed)


def _listed_money(c: _Context, values: np.ndarray) -> np.ndarray:
    f = c.firms
    listed = f.listed
    return _sum_known(f.region[listed], values[listed], ~np.isnan(values[listed]), _count(f.region, c.n, listed), c.n)


def listed_revenue(c: _Context) -> np.ndarray:
    """Revenue (亿元, fiscal year edition-2) of the region's listed sample firms."""
    return _listed_money(c, c.firms.revenue)


def listed_rd_expense(c: _Context) -> np.ndarray:
    """R&D expense (亿元, fiscal year edition-2) of the region's listed sample firms."""
    return _listed_money(c, c.firms.rd)


def patents(c: _Context) -> np.ndarray:
    """Patents of the region's sample firms with a known count."""
    f = c.firms
    return _sum_known(f.region, np.nan_to_num(f.patents), ~np.isnan(f.patents), sample_firms(c), c.n)


def _layer(c: _Context, layer: str) -> np.ndarray:
    f = c.firms
    known = np.asarray([x is not None for x in f.layer], dtype=bool)
    hits = np.asarray([x == layer for x in f.layer], dtype=bool)
    return _sum_known(f.region, hits.astype(np.float64), known, sample_firms(c), c.n)


def foundation_layer_firms(c: _Context) -> np.ndarray:
    """Sample firms of the region in the 基础层."""
    return _layer(c, "基础层")


def technology_layer_firms(c: _Context) -> np.ndarray:
    """Sample firms of the region in the 技术层."""
    return _layer(c, "技术层")


def _partners_of_sample(c: _Context, kinds: Sequence[str]) -> np.ndarray:
    """Distinct organisations of ``kinds`` joined by an edge to a sample firm of the region."""
    lv = c.lv
    wanted = np.isin(lv.kind, list(kinds))
    pairs_r, pairs_o = [], []
    for a, b in ((lv.u, lv.v), (lv.v, lv.u)):
        m = lv.sample[a] & wanted[b]
        pairs_r.append(lv.region[a[m]])
        pairs_o.append(b[m])
    return _distinct(np.concatenate(pairs_r), np.concatenate(pairs_o), c.n)


def university_partners(c: _Context) -> np.ndarray:
    """Distinct universities cooperating with the region's sample firms."""
    return _partners_of_sample(c, ["university"])


def institute_partners(c: _Context) -> np.ndarray:
    """Distinct research institutes cooperating with the region's sample firms."""
    return _partners_of_sample(c, ["research_institute"])


def _network_nodes(c: _Context, kinds: Sequence[str]) -> np.ndarray:
    rows = np.unique(np.concatenate([c.lv.u, c.lv.v]))
    rows = rows[np.isin(c.lv.kind[rows], list(kinds))]
    return _count(c.lv.region[rows], c.n)


def academic_nodes(c: _Context) -> np.ndarray:
    """Universities and research institutes of the region that are nodes of N."""
    return _network_nodes(c, c.params["academic_kinds"])


def government_partners(c: _Context) -> np.ndarray:
    """Government bodies of the region that are nodes of N."""
    return _network_nodes(c, ["government"])


def investment_relations(c: _Context) -> np.ndarray:
    """Edges of N with an investment event and an end in the region (each edge once per region)."""
    edges, events, lv = c.src.edges, c.src.events, c.lv
    kinds = [i for i, k in enumerate(events.kinds) if k in set(c.params["investment_kinds"])]
    flagged = np.zeros(edges.n_edges, dtype=bool)
    if kinds and edges.n_edges:
        hit = np.isin(events.kind[edges.contrib_event], kinds)
        flagged[edges.contrib_edge[hit]] = True
    e = np.flatnonzero(flagged)
    return _distinct(np.concatenate([lv.region[lv.u[e]], lv.region[lv.v[e]]]), np.concatenate([e, e]), c.n)


def _foreign_pairs(c: _Context) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(region of the domestic end, foreign org row, edge) for edges joining a foreign firm and another organisation."""
    lv = c.lv
    foreign = lv.kind == "foreign_firm"
    fu, fv = foreign[lv.u], foreign[lv.v]
    e = np.arange(lv.u.size)
    one = fu ^ fv
    dom = np.where(fu, lv.v, lv.u)[one]
    frn = np.where(fu, lv.u, lv.v)[one]
    return lv.region[dom], frn, e[one]


def foreign_partners(c: _Context) -> np.ndarray:
    """Distinct foreign firms cooperating with the region's (non-foreign) organisations."""
    region, frn, _ = _foreign_pairs(c)
    return _distinct(region, frn, c.n)


def foreign_relations(c: _Context) -> np.ndarray:
    """Edges joining a foreign firm and a (non-foreign) organisation of the region."""
    region, _, _ = _foreign_pairs(c)
    return _count(region, c.n)


def overseas_listed_firms(c: _Context) -> np.ndarray:
    """Listed sample firms of the region with an overseas listing."""
    f = c.firms
    overseas = set(c.params["overseas_exchanges"])
    exch = np.asarray([c.src.exchange[r] in overseas for r in f.org_row.tolist()], dtype=bool)
    return _count(f.region, c.n, f.listed & exch)


def network_degree(c: _Context) -> np.ndarray:
    """Edge ends of N in the region (sum of the degree centralities of its nodes)."""
    return _count(c.lv.region[c.lv.u], c.n) + _count(c.lv.region[c.lv.v], c.n)


def _share(regions: np.ndarray, n: int) -> np.ndarray:
    known = regions[regions >= 0]
    if known.size == 0:
        return np.full(n, np.nan)
    return 100.0 * np.bincount(known, minlength=n)[:n] / known.size


def enabling_share(c: _Context) -> np.ndarray:
    """% of N's edges (provider region known) whose provider is in the region."""
    return _share(c.lv.region[c.lv.u], c.n)


def input_share(c: _Context) -> np.ndarray:
    """% of N's edges (receiver region known) whose receiver is in the region."""
    return _share(c.lv.region[c.lv.v], c.n)


def cross_province_partners(c: _Context) -> np.ndarray:
    """Distinct organisations in another (known) province joined by an edge to an organisation of the region."""
    lv = c.lv
    pairs_r, pairs_o = [], []
    for a, b in ((lv.u, lv.v), (lv.v, lv.u)):
        ra = lv.region[a]
        pb = lv.province[b]
        home = np.where(ra >= 0, lv.region_province[np.maximum(ra, 0)], -1)
        m = (ra >= 0) & (pb >= 0) & (pb != home)
        pairs_r.append(ra[m])
        pairs_o.append(b[m])
    return _distinct(np.concatenate(pairs_r), np.concatenate(pairs_o), c.n)


#: Every computed indicator by its code in ``analysis/data/index.yml``.
COMPUTED: dict[str, Indicator] = {f.__name__: f for f in (
    sample_firms, listed_firms, listed_revenue, listed_rd_expense, patents, foundation_layer_firms,
    technology_layer_firms, university_partners, institute_partners, academic_nodes, investment_relations,
    foreign_partners, foreign_relations, overseas_listed_firms, network_degree, enabling_share, input_share,
    cross_province_partners, government_partners,
)}


def computed_indicators(src: IndexSource, level: str, codes: Sequence[str],
                        params: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Values of the computed indicators ``codes`` for every region of ``level`` (nan = missing)."""
    unknown = [c for c in codes if c not in COMPUTED]
    if unknown:
        raise ValueError(f"no computation for indicator(s) {', '.join(unknown)}; known: {', '.join(COMPUTED)}")
    lv = _level(src, level)
    ctx = _Context(src, lv, _firms(src, lv), params)
    return {code: COMPUTED[code](ctx) for code in codes}
