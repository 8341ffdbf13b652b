"""The world model of the demo public web: organisations and cooperation events, calibrated to the report.

:func:`build_world` generates a :class:`World` from a seed, a preset (``tiny``, ``small``,
``medium``, ``report``) and the last year of news (``through_year``, 2023 by default). It
knows nothing about HTML; :mod:`demosite.render` turns a world into sites and truth files.

What is generated, and how it is calibrated to the 2024 report (targets in
``demosite/data/report-2024-figures.yaml``; the model's own choices in
``demosite/data/world-model.yml``; names in ``names.yml``, ``organisations.yml``, ``geography.yml``;
the side-by-side comparison in :mod:`demosite.calibration`):

1. **Sample firms** (:class:`Firm`): the report's named hubs (Table 2, real names with
   fictitious identifiers) plus generated firms. Every attribute distribution is drawn by
   *quota* (largest-remainder rounding of the report's shares to the firm count), so province,
   founding year, employees, listing, technology layer and patent buckets match the report to
   rounding; patents are then placed so that the province and layer shares of all patents are
   met greedily; listed firms' 2022 revenue, R&D expense and R&D intensity buckets are met
   jointly by a greedy choice of the intensity. Names follow 企业名称 practice
   (place + 字号 + industry + 组织形式) with a 字号 unique in the world; USCCs carry a valid
   GB 32100-2015 check character and the registration district of the firm's city; listed
   firms get codes of the right board (SSE 600/601/603/605/688, SZSE 000-003/300/301,
   BSE 8xxxxx/920xxx, a few HKEX and NASDAQ).
2. **Relation nodes** (:class:`Partner`): the report's Table 3 hubs and other well-known
   organisations, template organisations (universities, governments, hospitals, banks,
   institutes, bodies, utilities of a province or city) and generated firms of every GB/T 4754
   division, created when the growth model needs a new node of some industry in some province.
3. **Cooperation events 2014 .. through_year** (:class:`Event`), grown year by year so that the
   cumulative yearly network (unique provider -> receiver pairs of the events not terminated
   before the year, as :mod:`analysis.network` builds it) has the Table 1 numbers of sample
   nodes, relation nodes and edges of that year (scaled with the preset):

   - the named hubs get their Table 2/3 in- and out-degree, grown in proportion to the edges;
   - other sample firms and relation nodes are chosen by preferential attachment (probability
     proportional to degree + an offset), the sample firms joining in a year get their first
     cooperation (often with a hub), and a share of new edges closes a triangle (a partner of a
     partner), which gives the network its clustering;
   - the provinces of the two ends are steered by a *deficit sampler* towards the report's
     province-to-province flow matrix (Table 6 margins, Table 7 top flows, completed by
     iterative proportional fitting), the industry of new receiving nodes towards the report's
     sector / section / division shares of the receiving side, and every event's technology
     category and application domain towards the report's shares of that year; a deficit
     sampler draws category i with probability proportional to max(0, target_i * (n + 1) -
     count_i), which keeps every running share within about one event of its target;
   - events carry a kind (strategic_agreement, joint_lab, product_adoption, procurement (中标),
     investment, joint_development, alliance), a direction ("directed" provider -> receiver,
     or "mutual", then the provider is the reporting sample firm), a status (a few % terminated
     within the year they started), multi-party signings (several pairwise events sharing a
     ``group_id``), witnesses (government or industry bodies present at a signing, not parties),
     repeated cooperations of an existing pair, and the reporting newsroom(s).
4. **Company news** (:class:`CompanyNews`): plain news naming no other organisation.

Determinism: every random draw comes from ``random.Random`` seeded with a string made of the
seed and a stage name (``"7:events:2019"``), iteration is over lists, never sets, so the same
arguments give an equal world in any process (and byte-identical renders). Years are generated
in order and no draw of a year depends on later years, so ``build_world(s, p, through_year=2024)``
is ``build_world(s, p)`` plus the events, partners and news of 2024 (:func:`step`).
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import functools
import itertools
import json
import math
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import identifiers
from db.taxonomy import (
    load_application_domains,
    load_industry_divisions,
    load_provinces,
    load_tech_categories,
)
from demosite import calibration

DATA_DIR = Path(__file__).resolve().parent / "data"

# --------------------------------------------------------------------------------------
# Taxonomies and constants
# --------------------------------------------------------------------------------------

#: The report's 24 technology categories (db/data/tech_categories.yml, in the report's order).
TECH_CATEGORIES: tuple[str, ...] = tuple(c.name for c in load_tech_categories())
#: The report's 20 application domains (db/data/application_domains.yml).
APPLICATION_DOMAINS: tuple[str, ...] = tuple(d.name for d in load_application_domains())
TECH_LAYERS: tuple[str, ...] = ("基础层", "技术层", "应用层")
PARTNER_KINDS: tuple[str, ...] = (
    "university",
    "research_institute",
    "industry_body",
    "government",
    "telecom",
    "foreign_firm",
    "automaker",
    "manufacturer",
    "bank",
    "financial",
    "hospital",
    "firm",
)
EVENT_KINDS: tuple[str, ...] = tuple(calibration.model()["event_kinds"])
DIRECTIONS: tuple[str, ...] = ("directed", "mutual")
STATUSES: tuple[str, ...] = ("active", "terminated")
NEWS_KINDS: tuple[str, ...] = ("product_launch", "award", "milestone")
FIRST_YEAR = calibration.FIRST_YEAR
LAST_YEAR = calibration.LAST_YEAR  # the report's data cut-off year (default ``through_year``)
MAX_YEAR = calibration.MAX_YEAR  # the last year :func:`step` can reach
FISCAL_YEAR = 2022

# --------------------------------------------------------------------------------------
# Identifiers: USCC (GB 32100-2015) and stock codes
# --------------------------------------------------------------------------------------

_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714-1997, the 9-char organisation code


def _org_code(rng: random.Random) -> str:
    """A 9-character organisation code (8 characters + GB 11714 check digit)."""
    body = "".join(rng.choice("0123456789") for _ in range(8))
    if rng.random() < 0.3:  # newer codes issued with the USCC start with "MA"
        body = "MA" + body[2:]
    total = sum(w * int(c, 36) for w, c in zip(_ORG_CODE_WEIGHTS, body, strict=True))
    check = 11 - total % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


#: USCC registration authority and organisation type by relation kind (GB 32100-2015 table 2):
#: 9/1 enterprise (market regulation), 1/1 government organ, 1/2 public institution (事业单位),
#: 5/1 social organisation (民政, 社会团体).
USCC_TYPES: dict[str, tuple[str, str]] = {
    "government": ("1", "1"),
    "university": ("1", "2"),
    "research_institute": ("1", "2"),
    "hospital": ("1", "2"),
    "industry_body": ("5", "1"),
}


def make_uscc(adcode: str, rng: random.Random, authority: str = "9", org_type: str = "1") -> str:
    """A USCC registered at ``adcode`` (6 digits), check character included (default: a company)."""
    if not re.fullmatch(r"\d{6}", adcode):
        raise ValueError(f"adcode must be 6 digits: {adcode!r}")
    return identifiers.make_uscc(authority, org_type, adcode, _org_code(rng))


#: Stock code prefixes the generator uses, by board (all valid in :mod:`common.identifiers`).
STOCK_BOARDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "SSE_main": ("SSE", ("600", "601", "603", "605")),
    "SSE_STAR": ("SSE", ("688",)),
    "SZSE_main": ("SZSE", ("000", "001", "002", "003")),
    "SZSE_ChiNext": ("SZSE", ("300", "301")),
    "BSE": ("BSE", ("83", "87", "920")),
    "HKEX": ("HKEX", ("0",)),
    "NASDAQ": ("NASDAQ", ()),
}
#: Stock code prefixes by exchange (compatibility view of :data:`STOCK_BOARDS`).
STOCK_PREFIXES: dict[str, tuple[str, ...]] = {
    "SSE": ("600", "601", "603", "605", "688"),
    "SZSE": ("000", "001", "002", "003", "300", "301"),
    "BSE": ("83", "87", "920"),
}


def is_valid_stock_code(code: str, exchange: str) -> bool:
    """True when ``code`` is a valid code of ``exchange`` (rules in :mod:`common.identifiers`)."""
    return identifiers.validate_stock_code(exchange, code) is None


def _stock_code(rng: random.Random, board: str) -> str:
    _exchange, prefixes = STOCK_BOARDS[board]
    if board == "NASDAQ":
        return "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4))
    prefix = rng.choice(prefixes)
    return prefix + "".join(rng.choice("0123456789") for _ in range(6 - len(prefix) if board != "HKEX" else 4))


# --------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Firm:
    """A sample firm: one of the AI firms whose newsroom is crawled.

    The report's hubs (``hub``) carry their real names; all other sample firms are fictitious.
    Identifiers of every firm are generated (valid in format only).
    """

    id: str  # slug, used in URLs
    name: str  # full legal name
    short_name: str
    english_name: str | None
    former_names: tuple[str, ...]
    uscc: str
    province: str
    city: str
    district_code: str  # 6-digit adcode of the registration authority (inside the USCC)
    industry_division: str  # GB/T 4754-2017 two-digit division
    founded_on: dt.date
    employees: int
    listed: bool
    exchange: str | None
    stock_code: str | None
    stock_short_name: str | None
    tech_layer: str
    patents: int
    fiscal_year: int | None
    revenue_cny: int | None
    rd_expense_cny: int | None
    aliases: tuple[str, ...] = ()  # further names used in the press (e.g. 中兴 for 中兴通讯)
    hub: bool = False  # one of the report's Table 2 hubs (real name)
    report_name: str | None = None  # the hub's name in Table 2
    previous_edition: bool = False  # in the 2,200-firm sample of the earlier editions

    @property
    def names(self) -> tuple[str, ...]:
        """Every name of the firm: full, short, stock short, English, former names, aliases."""
        out = [self.name, self.short_name]
        for extra in (self.stock_short_name, self.english_name, *self.former_names, *self.aliases):
            if extra and extra not in out:
                out.append(extra)
        return tuple(out)


@dataclass(frozen=True)
class Partner:
    """A relation node that is not a sample firm (a university, a telecom operator, a firm ...)."""

    name: str  # full canonical name
    kind: str  # one of PARTNER_KINDS
    province: str
    city: str
    real: bool = False  # a well-known real name (True) or a generated / template name (False)
    id: str = ""  # stable id: R + creation year + sequence
    short_name: str | None = None
    english_name: str | None = None
    aliases: tuple[str, ...] = ()
    industry_division: str = ""  # GB/T 4754-2017 two-digit division
    uscc: str | None = None
    district_code: str = ""  # adcode of the registration authority
    hub: bool = False  # one of the report's Table 3 hubs
    report_name: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """Every name of the organisation: full, short, English, aliases."""
        out = [self.name]
        for extra in (self.short_name, self.english_name, *self.aliases):
            if extra and extra not in out:
                out.append(extra)
        return tuple(out)


@dataclass(frozen=True)
class Event:
    """One technology cooperation: ``provider`` enables (技术赋能) ``receiver`` (技术输入).

    ``provider`` and ``receiver`` are full canonical names. For ``mutual`` events the provider
    is the sample firm that reported it (the convention the network follows). ``reporter`` is
    the slug of the sample firm whose newsroom reports the event; ``co_reporter`` the second
    sample firm when both parties are sample firms. Events of one multi-party signing share a
    ``group_id``; ``witnesses`` are organisations present at the signing that are not parties.
    A ``terminated`` event ended on ``terminated_on`` (same year, after ``date``).
    """

    id: str
    provider: str
    receiver: str
    direction: str  # "directed" | "mutual"
    kind: str  # one of EVENT_KINDS
    year: int
    date: dt.date
    tech: str
    domain: str
    reporter: str
    co_reporter: str | None = None
    status: str = "active"  # one of STATUSES
    terminated_on: dt.date | None = None
    group_id: str | None = None
    witnesses: tuple[str, ...] = ()

    @property
    def reporters(self) -> tuple[str, ...]:
        """Slugs of the newsrooms reporting this event (one or two)."""
        return (self.reporter,) if self.co_reporter is None else (self.reporter, self.co_reporter)

    @property
    def parties(self) -> tuple[str, str]:
        """(provider, receiver)."""
        return (self.provider, self.receiver)


@dataclass(frozen=True)
class CompanyNews:
    """Plain company news of one sample firm that names no other organisation."""

    id: str
    firm: str  # slug
    date: dt.date
    kind: str  # one of NEWS_KINDS
    tech: str


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
        return self.firms / calibration.REPORT_FIRMS


def _presets() -> dict[str, Preset]:
    report = calibration.report()
    t1 = report["network"]["table1"][LAST_YEAR]
    out = {}
    for name, spec in calibration.model()["presets"].items():
        factor = spec["firms"] / calibration.REPORT_FIRMS
        out[name] = Preset(
            firms=spec["firms"],
            relation_nodes=spec.get("relation_nodes", round(t1[1] * factor)),
            edges=spec.get("edges", round(t1[3] * factor)),
            hubs=spec.get("hubs", True),
            min_articles=spec.get("min_articles", 3),
        )
    return out


PRESETS: dict[str, Preset] = _presets()


@dataclass(frozen=True)
class World:
    """A generated world: the ground truth behind the demo site."""

    seed: int
    preset: str
    firms: tuple[Firm, ...]
    partners: tuple[Partner, ...]
    events: tuple[Event, ...]
    news: tuple[CompanyNews, ...]
    through_year: int = LAST_YEAR
    _firms_by_slug: dict[str, Firm] = field(init=False, repr=False, compare=False)
    _firms_by_name: dict[str, Firm] = field(init=False, repr=False, compare=False)
    _partners_by_name: dict[str, Partner] = field(init=False, repr=False, compare=False)
    _events_by_reporter: dict[str, list[Event]] = field(init=False, repr=False, compare=False)
    _news_by_firm: dict[str, list[CompanyNews]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_reporter: dict[str, list[Event]] = {f.id: [] for f in self.firms}
        for e in self.events:
            for slug in e.reporters:
                by_reporter[slug].append(e)
        by_firm: dict[str, list[CompanyNews]] = {f.id: [] for f in self.firms}
        for n in self.news:
            by_firm[n.firm].append(n)
        object.__setattr__(self, "_firms_by_slug", {f.id: f for f in self.firms})
        object.__setattr__(self, "_firms_by_name", {f.name: f for f in self.firms})
        object.__setattr__(self, "_partners_by_name", {p.name: p for p in self.partners})
        object.__setattr__(self, "_events_by_reporter", by_reporter)
        object.__setattr__(self, "_news_by_firm", by_firm)

    def firm(self, slug: str) -> Firm:
        """The sample firm with this slug (KeyError when unknown)."""
        return self._firms_by_slug[slug]

    def firm_by_name(self, name: str) -> Firm | None:
        """The sample firm with this full name, or None for a partner."""
        return self._firms_by_name.get(name)

    def partner_by_name(self, name: str) -> Partner | None:
        """The relation node with this full name, or None."""
        return self._partners_by_name.get(name)

    def is_sample(self, name: str) -> bool:
        """True when ``name`` is the full name of a sample firm."""
        return name in self._firms_by_name

    def events_reported_by(self, slug: str) -> list[Event]:
        """Events reported in the newsroom of ``slug``, in chronological order."""
        return list(self._events_by_reporter.get(slug, ()))

    def news_of(self, slug: str) -> list[CompanyNews]:
        """Plain company news of ``slug``, in chronological order."""
        return list(self._news_by_firm.get(slug, ()))

    def all_names(self) -> list[str]:
        """Full names of every node (sample firms first, then partners)."""
        return [f.name for f in self.firms] + [p.name for p in self.partners]

    def group(self, group_id: str) -> list[Event]:
        """The pairwise events of one multi-party signing."""
        return [e for e in self.events if e.group_id == group_id]


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------


def _quota(weights: Sequence[float], total: int, minimum: int = 0) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (largest remainder; ties to earlier items)."""
    if total < minimum * len(weights):
        raise ValueError("total too small for the minimum")
    wsum = sum(weights)
    if wsum <= 0:
        raise ValueError("weights must not all be zero")
    scale = (total - minimum * len(weights)) / wsum
    raw = [minimum + w * scale for w in weights]
    quota = [math.floor(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - quota[i]), i))
    for i in order[: total - sum(quota)]:
        quota[i] += 1
    return quota


def _by_year(value: Any, year: int) -> float:
    """A parameter that is a number or a {year: number} table (the latest year <= ``year`` applies)."""
    if not isinstance(value, Mapping):
        return float(value)
    years = sorted(int(y) for y in value)
    chosen = years[0]
    for y in years:
        if y <= year:
            chosen = y
    return float(value[chosen] if chosen in value else value[str(chosen)])


def _pick_weighted(rng: random.Random, keys: Sequence[Any], weights: Sequence[float]) -> Any:
    """One of ``keys`` with probability proportional to ``weights`` (uniform if all are zero)."""
    cum = list(itertools.accumulate(weights))
    total = cum[-1] if cum else 0.0
    if total <= 0:
        return keys[rng.randrange(len(keys))]
    i = bisect.bisect_right(cum, rng.random() * total)
    return keys[min(i, len(keys) - 1)]


class _Deficit:
    """Draw categories so that running counts follow target shares (see module docstring).

    ``draw`` picks category i with probability proportional to
    ``max(0, share_i * (n + 1) - count_i) * bias_i`` (falling back to ``share_i * bias_i`` when
    every biased deficit is zero), where n is the number of draws so far.
    """

    def __init__(self, shares: Mapping[str, float]) -> None:
        self.keys = list(shares)
        self.index = {k: i for i, k in enumerate(self.keys)}
        total = sum(shares.values())
        self.shares = [shares[k] / total for k in self.keys]
        self.counts = [0] * len(self.keys)
        self.n = 0

    def set_shares(self, shares: Mapping[str, float]) -> None:
        """Replace the target shares (keys must be the same)."""
        total = sum(shares.values())
        self.shares = [shares.get(k, 0.0) / total for k in self.keys]

    def weights(self, bias: Mapping[str, float] | None = None) -> list[float]:
        n1 = self.n + 1
        w = [d if (d := s * n1 - c) > 0 else 0.0 for s, c in zip(self.shares, self.counts, strict=True)]
        if bias:
            w = [x * bias.get(k, 1.0) for x, k in zip(w, self.keys, strict=True)]
        return w

    def draw(self, rng: random.Random, bias: Mapping[str, float] | None = None) -> str:
        w = self.weights(bias)
        if sum(w) <= 0:
            w = [s * (bias.get(k, 1.0) if bias else 1.0) for s, k in zip(self.shares, self.keys, strict=True)]
        key = _pick_weighted(rng, self.keys, w)
        self.add(key)
        return key

    def add(self, key: str) -> None:
        self.counts[self.index[key]] += 1
        self.n += 1


class _Picker:
    """Preferential attachment in O(1): nodes drawn with probability proportional to degree + a.

    ``reps`` holds a node once per unit of degree; with probability a*n / (a*n + len(reps)) a
    node is drawn uniformly from ``nodes``, otherwise uniformly from ``reps``.
    """

    __slots__ = ("nodes", "reps", "offset")

    def __init__(self, offset: float) -> None:
        self.nodes: list[int] = []
        self.reps: list[int] = []
        self.offset = offset

    def pick(self, rng: random.Random) -> int | None:
        if not self.nodes:
            return None
        a = self.offset * len(self.nodes)
        if rng.random() * (a + len(self.reps)) < a:
            return self.nodes[rng.randrange(len(self.nodes))]
        return self.reps[rng.randrange(len(self.reps))]

    def weight(self) -> float:
        return self.offset * len(self.nodes) + len(self.reps)


# --------------------------------------------------------------------------------------
# Geography
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _City:
    province: str
    name: str  # 杭州市
    short: str  # 杭州
    code: str  # 330100
    districts: tuple[tuple[str, str], ...]  # (name, adcode)


@dataclass(frozen=True)
class _Geo:
    provinces: tuple[str, ...]  # the 31 mainland provinces, in GB/T 2260 order
    short: dict[str, str]  # province -> short name
    cities: dict[str, tuple[_City, ...]]  # prefecture-level cities named ...市
    city_weights: dict[str, tuple[float, ...]]
    municipalities: frozenset[str]
    by_name: dict[str, _City]

    def pick_city(self, rng: random.Random, province: str) -> _City:
        return _pick_weighted(rng, self.cities[province], self.city_weights[province])

    def adcode(self, rng: random.Random, city: _City) -> str:
        """A registration adcode in ``city``: one of its districts when known, else the city code."""
        if city.districts and rng.random() < 0.9:
            return rng.choice(city.districts)[1]
        return city.code


@functools.lru_cache(maxsize=1)
def _geo() -> _Geo:
    data = calibration.load_yaml("geography.yml")
    records = [p for p in load_provinces() if p.cities]  # mainland: Taiwan, HK, Macao have none
    districts = data["districts"]
    provinces, short, cities, weights, by_name, munis = [], {}, {}, {}, {}, set()
    for p in records:
        provinces.append(p.name)
        short[p.name] = p.short_name
        chosen = [c for c in p.cities if c.name.endswith("市")]
        if len(p.cities) == 1 and p.cities[0].name == p.name:
            munis.add(p.name)
        objs = tuple(
            _City(p.name, c.name, c.name.removesuffix("市"), c.code, tuple((d, code) for d, code in
                                                                         districts.get(c.name, {}).items()))
            for c in chosen
        )
        cities[p.name] = objs
        for c in objs:
            by_name[c.name] = c
        given = data["cities"].get(p.name)
        if given:
            unknown = set(given) - {c.name for c in objs}
            if unknown:
                raise ValueError(f"geography.yml: unknown cities in {p.name}: {sorted(unknown)}")
            weights[p.name] = tuple(float(given.get(c.name, 0.0)) for c in objs)
        else:
            weights[p.name] = tuple(3.0 if i == 0 else 1.0 if i < 3 else 0.0 for i in range(len(objs)))
    return _Geo(tuple(provinces), short, cities, weights, frozenset(munis), by_name)


# --------------------------------------------------------------------------------------
# Names: vocabulary, 字号 pools, template catalogue, the containment check
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _OrgSpec:
    """A named relation organisation before it joins the world (real or template)."""

    name: str
    kind: str
    division: str
    province: str
    city: str
    adcode: str
    aliases: tuple[str, ...] = ()
    real: bool = False
    tiny: bool = False
    hub_degree: tuple[int, int] | None = None  # (in, out) in the report's 2023 network
    report_name: str | None = None


@dataclass(frozen=True)
class _Vocabulary:
    sample_chars: tuple[str, ...]
    partner_chars: tuple[str, ...]
    pinyin: dict[str, str]
    real: tuple[_OrgSpec, ...]  # relation hubs first, then the known organisations
    templates: dict[tuple[str, str], tuple[_OrgSpec, ...]]  # (division, province) -> template orgs
    families: dict[str, tuple[str, ...]]  # parent full name -> member full names


def _strings_of_names() -> list[str]:
    """Every fixed string that generated names may meet (for the character exclusion)."""
    names = calibration.load_yaml("names.yml")
    orgs = calibration.load_yaml("organisations.yml")
    geo = _geo()
    out: list[str] = list(TECH_CATEGORIES) + list(APPLICATION_DOMAINS)
    for p in geo.provinces:
        out += [p, geo.short[p]]
        for c in geo.cities[p]:
            out += [c.name, *(d for d, _ in c.districts)]
    for p in load_provinces():
        out += [p.name, *(c.name for c in p.cities)]
    for section in ("sample_hubs", "relation_hubs", "known"):
        for o in orgs[section]:
            out += [o["name"], *(o.get("aliases") or ()), o.get("short_name") or ""]
    for rows in names["sample_descriptors"].values():
        for short, word, _py, _en in rows:
            out += [short, word]
    for rows in names["partner_industries"].values():
        for row in rows:
            out += [row[0], row[1]]
    out += list(names["former_words"]) + list(names["legal_suffixes"]) + list(names["sample_legal_suffixes"])
    for t in names["templates"]:
        out.append(re.sub(r"\{[A-Za-z]\}", "", t["pattern"]))
    return out


@functools.lru_cache(maxsize=1)
def _vocabulary() -> _Vocabulary:
    names = calibration.load_yaml("names.yml")
    orgs = calibration.load_yaml("organisations.yml")
    geo = _geo()
    used = {ch for s in _strings_of_names() for ch in s}
    pinyin = {str(k): str(v) for k, v in names["sample_pool"].items()}
    sample_chars = tuple(dict.fromkeys(c for c in pinyin if c not in used))
    partner_chars = tuple(
        dict.fromkeys(c for c in names["partner_pool"] if not c.isspace() and c not in used and c not in pinyin)
    )
    real: list[_OrgSpec] = []
    for o in orgs["relation_hubs"]:
        real.append(_spec(o, hub=True))
    for o in orgs["known"]:
        real.append(_spec(o, hub=False))
    real_names = {s.name for s in real} | {o["name"] for o in orgs["sample_hubs"]}
    # Template organisations of every province / city / district, deduplicated against real names.
    raw: list[_OrgSpec] = []
    for t in names["templates"]:
        for prov in geo.provinces:
            muni = prov in geo.municipalities
            if t["level"] == "province":
                if muni:
                    continue
                places = [(prov, geo.cities[prov][0] if geo.cities[prov] else None)]
            else:
                places = [(prov, c) for c in geo.cities[prov]]
            for _p, city in places:
                if city is None:
                    continue
                if t["level"] == "district":
                    for dname, dcode in city.districts:
                        nm = t["pattern"].format(P=prov, p=geo.short[prov], C=city.name, c=city.short, D=dname)
                        raw.append(_OrgSpec(nm, t["kind"], t["division"], prov, city.name, dcode))
                    continue
                nm = t["pattern"].format(P=prov, p=geo.short[prov], C=city.name, c=city.short, D="")
                code = city.code if t["level"] == "city" else city.code
                raw.append(_OrgSpec(nm, t["kind"], t["division"], prov, city.name, code))
    seen = set(real_names)
    templates_list: list[_OrgSpec] = []
    for spec in raw:
        if spec.name in seen:
            continue
        seen.add(spec.name)
        templates_list.append(spec)
    # Drop templates that contain, or are contained in, another fixed name or alias.
    fixed: dict[str, int] = {}
    for i, s in enumerate(real):
        for nm in (s.name, *s.aliases):
            fixed[nm] = -1 - i
    for o in orgs["sample_hubs"]:
        for nm in (o["name"], o["short_name"], *(o.get("aliases") or ())):
            fixed[nm] = -10_000
    for term in (*TECH_CATEGORIES, *APPLICATION_DOMAINS):
        fixed[term] = -20_000
    for i, s in enumerate(templates_list):
        fixed.setdefault(s.name, i)
    clashes = _containments(fixed)
    bad = {owner for owner, _other in clashes if owner >= 0} | {other for _o, other in clashes if other >= 0}
    templates: dict[tuple[str, str], list[_OrgSpec]] = {}
    for i, s in enumerate(templates_list):
        if i not in bad:
            templates.setdefault((s.division, s.province), []).append(s)
    families = {parent: tuple(members) for parent, members in (orgs.get("brand_families") or {}).items()}
    return _Vocabulary(
        sample_chars=sample_chars,
        partner_chars=partner_chars,
        pinyin=pinyin,
        real=tuple(real),
        templates={k: tuple(v) for k, v in templates.items()},
        families=families,
    )


def _spec(o: Mapping[str, Any], hub: bool) -> _OrgSpec:
    return _OrgSpec(
        name=o["name"],
        kind=o["kind"],
        division=str(o["division"]),
        province=o["province"],
        city=o["city"],
        adcode=str(o["adcode"]),
        aliases=tuple(o.get("aliases") or ()),
        real=True,
        tiny=bool(o.get("tiny", False)),
        hub_degree=tuple(o["degree"]) if hub else None,  # type: ignore[arg-type]
        report_name=o.get("report_name"),
    )


def _containments(strings: Mapping[str, int]) -> list[tuple[int, int]]:
    """Pairs (owner of the longer string, owner of the contained string) for different owners."""
    import ahocorasick

    automaton = ahocorasick.Automaton()
    for s, owner in strings.items():
        automaton.add_word(s, (s, owner))
    automaton.make_automaton()
    out = []
    for s, owner in strings.items():
        for _end, (found, other) in automaton.iter(s):
            if other != owner and found != s:
                out.append((owner, other))
    return out


def check_names(world: World) -> list[str]:
    """Problems with the world's names, empty when none (also run by :func:`build_world`).

    Checks that every name and alias belongs to one organisation only, that no name or alias of
    an organisation occurs inside a name or alias of another one (except a brand family's parent
    inside its members, e.g. 华为 in 华为云计算技术有限公司), and that no name is inside a taxonomy
    term or contains one (the extractor finds organisations and categories by substring).
    """
    import ahocorasick

    owners: dict[str, int] = {}
    problems: list[str] = []
    orgs: list[tuple[str, tuple[str, ...]]] = [(f.name, f.names) for f in world.firms]
    orgs += [(p.name, p.names) for p in world.partners]
    for i, (full, names) in enumerate(orgs):
        for nm in names:
            if owners.setdefault(nm, i) != i:
                problems.append(f"{nm!r} names both {orgs[owners[nm]][0]} and {full}")
    families = _vocabulary().families
    allowed = {(parent, member) for parent, members in families.items() for member in members}
    automaton = ahocorasick.Automaton()
    for nm, i in owners.items():
        automaton.add_word(nm, (nm, i))
    terms = list(TECH_CATEGORIES) + list(APPLICATION_DOMAINS)
    for t in terms:
        if t not in owners:
            automaton.add_word(t, (t, -1))
    automaton.make_automaton()
    for nm, i in owners.items():
        for _end, (found, other) in automaton.iter(nm):
            if other == i or found == nm:
                continue
            if other == -1:
                problems.append(f"taxonomy term {found!r} inside the name {nm!r}")
            elif (orgs[other][0], orgs[i][0]) not in allowed:
                problems.append(f"{found!r} ({orgs[other][0]}) inside {nm!r} ({orgs[i][0]})")
    for t in terms:
        for _end, (found, other) in automaton.iter(t):
            if other >= 0:
                problems.append(f"name {found!r} ({orgs[other][0]}) inside the taxonomy term {t!r}")
    return problems


class _Zihao:
    """Unique two-character trade names (字号) drawn from a character pool, in random order."""

    def __init__(self, chars: Sequence[str], rng: random.Random) -> None:
        self.pairs = [a + b for a in chars for b in chars if a != b]
        rng.shuffle(self.pairs)
        self.next = 0

    def take(self) -> str:
        if self.next >= len(self.pairs):
            raise ValueError(f"the 字号 pool is exhausted ({len(self.pairs)} names)")
        value = self.pairs[self.next]
        self.next += 1
        return value

    @property
    def capacity(self) -> int:
        return len(self.pairs)


# --------------------------------------------------------------------------------------
# Sample firms
# --------------------------------------------------------------------------------------


def _bucket_values(rng: random.Random, buckets: Mapping[str, Sequence[float]], counts: Sequence[int],
                   log: bool = True, integer: bool = True, tail_alpha: float | None = None) -> list[float]:
    """Values for histogram buckets: ``counts[i]`` draws inside bucket i's inclusive range."""
    out: list[float] = []
    keys = list(buckets)
    for i, (key, n) in enumerate(zip(keys, counts, strict=True)):
        lo, hi = buckets[key]
        for _ in range(n):
            if tail_alpha is not None and i == len(keys) - 1:
                x = min(hi, lo * rng.random() ** (-1.0 / tail_alpha))
            elif log and lo > 0:
                x = math.exp(rng.uniform(math.log(lo), math.log(hi + (1 if integer else 0))))
            else:
                x = rng.uniform(lo, hi + (1 if integer else 0))
            out.append(min(hi, max(lo, int(x))) if integer else min(hi, max(lo, x)))
    return out


def _bucket_of(value: float, buckets: Mapping[str, Sequence[float]]) -> str:
    keys = list(buckets)
    for key in keys:
        lo, hi = buckets[key]
        if lo <= value < hi or (key == keys[-1] and value >= lo):
            return key
    return keys[0] if value < buckets[keys[0]][0] else keys[-1]


@dataclass
class _FirmDraft:
    """Mutable attributes of a sample firm while they are assigned."""

    hub: dict[str, Any] | None
    province: str = ""
    division: str = ""
    layer: str = ""
    founded: dt.date = dt.date(2000, 1, 1)
    listed: bool = False
    board: str | None = None
    employees: int = 0
    patents: int = 0
    revenue: float | None = None
    rd: float | None = None
    previous: bool = False


def _make_firms(seed: int, preset: Preset) -> list[Firm]:
    """The sample firms of a preset (see the module docstring, step 1)."""
    rng = random.Random(f"{seed}:firms")
    report = calibration.report()["firms"]
    params = calibration.model()["firms"]
    geo = _geo()
    vocab = _vocabulary()
    n = preset.firms
    hubs = list(calibration.load_yaml("organisations.yml")["sample_hubs"]) if preset.hubs else []
    drafts = [_FirmDraft(hub=h) for h in hubs] + [_FirmDraft(hub=None) for _ in range(n - len(hubs))]
    gen = [d for d in drafts if d.hub is None]

    # provinces: quota of the report's shares, hubs counted in their province
    shares = calibration.load_yaml("geography.yml")["firm_provinces"]
    provs = list(shares)
    quota = dict(zip(provs, _quota([shares[p] for p in provs], n), strict=True))
    for d in drafts:
        if d.hub:
            d.province = d.hub["province"]
            quota[d.province] = quota.get(d.province, 0) - 1
    pool = [p for p in provs for _ in range(max(0, quota[p]))]
    while len(pool) < len(gen):  # hubs took more than a province's quota (tiny presets)
        pool.append(provs[0])
    rng.shuffle(pool)
    for d, p in zip(gen, pool, strict=False):
        d.province = p

    # industry divisions of generated firms
    divs = params["divisions"]
    div_pool = [k for k, q in zip(divs, _quota(list(divs.values()), len(gen)), strict=True) for _ in range(q)]
    rng.shuffle(div_pool)
    for d, div in zip(gen, div_pool, strict=True):
        d.division = str(div)
    for d in drafts:
        if d.hub:
            d.division = str(d.hub["division"])

    # technology layers: the report's quotas, hubs first, then drawn with division affinities
    layers = report["tech_layer"]
    left = dict(zip(layers, _quota([layers[k]["firms"] for k in layers], n), strict=True))
    for d in drafts:
        if d.hub:
            d.layer = d.hub["layer"]
            left[d.layer] -= 1
    affinity = params["layer_affinity"]
    for d in gen:
        aff = affinity.get(d.division, {})
        keys = [k for k in left if left[k] > 0]
        d.layer = _pick_weighted(rng, keys, [left[k] * aff.get(k, 1.0) for k in keys])
        left[d.layer] -= 1

    # founding dates: quota of the founding-year shares
    years: list[tuple[int, int]] = []
    weights: list[float] = []
    for key, w in params["founding_years"].items():
        lo, _, hi = str(key).partition("-")
        years.append((int(lo), int(hi or lo)))
        weights.append(float(w))
    hub_years = [d.hub["founded_on"].year for d in drafts if d.hub]
    counts = _quota(weights, n)
    for y in hub_years:
        for i, (lo, hi) in enumerate(years):
            if lo <= y <= hi and counts[i] > 0:
                counts[i] -= 1
                break
    slots = [(lo, hi) for (lo, hi), c in zip(years, counts, strict=True) for _ in range(c)]
    while len(slots) < len(gen):
        slots.append(years[-1])
    rng.shuffle(slots)
    for d, (lo, hi) in zip(gen, slots, strict=False):
        year = rng.randint(lo, hi)
        last_day = dt.date(year, 6, 30) if year >= LAST_YEAR else dt.date(year, 12, 31)
        start = dt.date(year, 1, 1)
        d.founded = start + dt.timedelta(days=rng.randint(0, (last_day - start).days))
    for d in drafts:
        if d.hub:
            d.founded = d.hub["founded_on"]

    # listing: the report's share; older firms more likely; hubs as in the data
    n_listed = round(n * report["listed"]["listed_share"] / 100)
    for d in drafts:
        if d.hub and d.hub.get("exchange"):
            d.listed = True
    need = max(0, n_listed - sum(d.listed for d in drafts))
    candidates = list(gen)
    w_age = [1.0 + max(0, 2020 - d.founded.year) / 8 for d in candidates]
    for _ in range(min(need, len(candidates))):
        i = _pick_weighted(rng, list(range(len(candidates))), w_age)
        candidates[i].listed = True
        w_age[i] = 0.0
    listed_gen = [d for d in gen if d.listed]
    boards = params["exchanges"]
    board_pool = [b for b, q in zip(boards, _quota(list(boards.values()), len(listed_gen)), strict=True)
                  for _ in range(q)]
    rng.shuffle(board_pool)
    for d, b in zip(listed_gen, board_pool, strict=True):
        d.board = b
    for d in drafts:
        if d.hub and d.hub.get("exchange"):
            ex = d.hub["exchange"]
            d.board = {"SSE": "SSE_main", "SZSE": "SZSE_main"}.get(ex, ex)

    # employees: the report's buckets, assigned by a size rank (hubs, listed, age, noise)
    def size_score(d: _FirmDraft) -> float:
        return (100 if d.hub else 0) + (2.0 if d.listed else 0) + (2020 - d.founded.year) / 15 + rng.gauss(0, 0.8)

    emp_buckets = params["employees"]
    emp_share = report["employees"]
    emp_values = sorted(_bucket_values(rng, emp_buckets, _quota([emp_share[k] for k in emp_buckets], n)),
                        reverse=True)
    ranked = sorted(drafts, key=size_score, reverse=True)
    for d, v in zip(ranked, emp_values, strict=True):
        d.employees = int(v)

    _assign_patents(rng, drafts, report, params)
    _assign_financials(rng, [d for d in drafts if d.listed], report, params)

    # the earlier editions' sample: hubs plus firms founded early enough to join by 2020
    t1 = calibration.report()["network"]["table1"]
    previous_size = round(max(t1[y][0] for y in t1 if y < LAST_YEAR) * preset.factor)
    eligible = [d for d in gen if d.founded.year <= 2019]
    rng.shuffle(eligible)
    for d in drafts:
        if d.hub:
            d.previous = True
    # enough of them must exist early: by each year Y, S(Y) firms founded before Y
    targets = calibration.table1_targets(n, preset.relation_nodes, preset.edges, LAST_YEAR)
    chosen = sum(d.previous for d in drafts)
    for year in range(FIRST_YEAR, LAST_YEAR):
        have = sum(1 for d in drafts if d.previous and d.founded.year < year)
        for d in eligible:
            if have >= targets[year][0] or chosen >= previous_size:
                break
            if not d.previous and d.founded.year < year:
                d.previous = True
                have += 1
                chosen += 1
    for d in eligible:
        if chosen >= previous_size:
            break
        if not d.previous:
            d.previous = True
            chosen += 1

    return _name_firms(rng, drafts, vocab, geo)


def _assign_patents(rng: random.Random, drafts: list[_FirmDraft], report: Mapping[str, Any],
                    params: Mapping[str, Any]) -> None:
    """Patent counts: the report's buckets; values placed to meet province and layer shares."""
    buckets = params["patents"]
    share = report["patents"]
    values = sorted(_bucket_values(rng, buckets, _quota([share[k] for k in buckets], len(drafts)),
                                   log=False, tail_alpha=params["patents_tail_alpha"]), reverse=True)
    prov_target = {k: v for k, v in report["patents_by_province"].items() if k != "top10_order"}
    prov_target |= params["patents_provinces_rest"]
    rest = 100 - sum(prov_target.values())
    counts: dict[str, int] = {}
    for d in drafts:
        counts[d.province] = counts.get(d.province, 0) + 1
    others = [p for p in counts if p not in prov_target]
    for p in others:
        prov_target[p] = rest * counts[p] / sum(counts[o] for o in others)
    layer_target = report["patents_by_layer"]
    open_by: dict[tuple[str, str], list[_FirmDraft]] = {}
    for d in sorted(drafts, key=lambda d: (d.hub is None, rng.random())):
        open_by.setdefault((d.province, d.layer), []).append(d)
    assigned_p = dict.fromkeys(prov_target, 0.0)
    assigned_l = dict.fromkeys(layer_target, 0.0)
    total = 0.0
    for v in values:
        total += v
        provs = {p for (p, _l), items in open_by.items() if items}
        p = max(sorted(provs), key=lambda q: prov_target.get(q, 0.0) / 100 * total - assigned_p.get(q, 0.0))
        layers = [lay for lay in layer_target if open_by.get((p, lay))]
        hub_layers = [lay for lay in layers if open_by[(p, lay)][0].hub]
        lay = hub_layers[0] if hub_layers else max(layers, key=lambda x: layer_target[x] / 100 * total - assigned_l[x])
        d = open_by[(p, lay)].pop(0)
        d.patents = int(v)
        assigned_p[p] = assigned_p.get(p, 0.0) + v
        assigned_l[lay] += v


def _assign_financials(rng: random.Random, listed: list[_FirmDraft], report: Mapping[str, Any],
                       params: Mapping[str, Any]) -> None:
    """2022 revenue and R&D (亿元) of listed firms, meeting the revenue, R&D and intensity buckets.

    Revenues (the report's buckets) go to the firms by size rank; R&D intensities are drawn in
    the report's intensity buckets and shuffled; then a local search swaps intensities between
    firms (which keeps both of those distributions) while the R&D-expense buckets' total absolute
    deviation from the report's quotas does not grow.
    """
    if not listed:
        return
    rev_b, rd_b, int_b = params["revenue"], params["rd"], params["rd_intensity"]
    rev_share = dict(report["listed_revenue_2022"]) | params["listed_revenue_rest"]
    n = len(listed)
    revenues = sorted(_bucket_values(rng, rev_b, _quota([rev_share[k] for k in rev_b], n), integer=False),
                      reverse=True)
    ranked = sorted(listed, key=lambda d: ((d.hub is not None), d.employees + rng.random()), reverse=True)
    ints = _bucket_values(rng, int_b, _quota([report["listed_rd_intensity_2022"][k] for k in int_b], n),
                          integer=False)
    rng.shuffle(ints)
    target = dict(zip(rd_b, _quota([report["listed_rd_expense_2022"][k] for k in rd_b], n), strict=True))
    buckets = [_bucket_of(r * x, rd_b) for r, x in zip(revenues, ints, strict=True)]
    counts = dict.fromkeys(rd_b, 0)
    for b in buckets:
        counts[b] += 1

    def error() -> int:
        return sum(abs(counts[k] - target[k]) for k in rd_b)

    err = error()
    for _ in range(60 * n):
        if err == 0:
            break
        i, j = rng.randrange(n), rng.randrange(n)
        bi, bj = _bucket_of(revenues[i] * ints[j], rd_b), _bucket_of(revenues[j] * ints[i], rd_b)
        if bi == buckets[i] and bj == buckets[j]:
            continue
        for old, new in ((buckets[i], bi), (buckets[j], bj)):
            counts[old] -= 1
            counts[new] += 1
        new_err = error()
        if new_err <= err:
            ints[i], ints[j] = ints[j], ints[i]
            buckets[i], buckets[j] = bi, bj
            err = new_err
        else:
            for old, new in ((buckets[i], bi), (buckets[j], bj)):
                counts[new] -= 1
                counts[old] += 1
    for d, rev, x in zip(ranked, revenues, ints, strict=True):
        d.revenue = rev
        d.rd = rev * x


def _name_firms(rng: random.Random, drafts: list[_FirmDraft], vocab: _Vocabulary, geo: _Geo) -> list[Firm]:
    names = calibration.load_yaml("names.yml")
    params = calibration.model()["firms"]
    zihao = _Zihao(vocab.sample_chars, rng)
    n_gen = sum(1 for d in drafts if d.hub is None)
    if n_gen > zihao.capacity:
        raise ValueError(f"only {zihao.capacity} sample-firm 字号 available, {n_gen} needed")
    descriptors = names["sample_descriptors"]
    legal = names["sample_legal_suffixes"]
    used_slugs: set[str] = set()
    used_codes: set[str] = set()
    used_uscc: set[str] = set()
    used_english: set[str] = set()
    orgs = calibration.load_yaml("organisations.yml")
    latin = [a for sec in ("sample_hubs", "relation_hubs", "known") for o in orgs[sec]
             for a in (*(o.get("aliases") or ()), o.get("english_name") or "") if a.isascii() and a]
    firms: list[Firm] = []
    for d in drafts:
        if d.hub:
            h = d.hub
            city = geo.by_name[h["city"]]
            adcode = str(h["adcode"])
            name, short, slug, english = h["name"], h["short_name"], h["slug"], h.get("english_name")
            aliases = tuple(h.get("aliases") or ())
            former: tuple[str, ...] = ()
        else:
            city = geo.pick_city(rng, d.province)
            adcode = geo.adcode(rng, city)
            zh = zihao.take()
            short_word, word, desc_py, desc_en = rng.choice(descriptors[d.division])
            suffixes = ["股份有限公司"] if d.listed else list(legal)
            suffix = suffixes[0] if d.listed else _pick_weighted(rng, suffixes, [legal[s] for s in suffixes])
            prefix = _prefix(rng, d.province, city, geo, listed=d.listed)
            name = f"{prefix}{zh}{word}{suffix}"
            short = zh + short_word
            py = vocab.pinyin[zh[0]] + vocab.pinyin[zh[1]]
            slug = f"{py}-{desc_py}"
            english = None
            if rng.random() < params["english_name_share"] and py not in used_english:
                candidate = f"{py.capitalize()} {desc_en} Co., Ltd."
                if not any(a in candidate or candidate in a for a in latin):
                    english = candidate
                    used_english.add(py)
            former = ()
            if rng.random() < params["former_name_share"]:
                old = rng.choice([w for w in names["former_words"] if w != word])
                former = (f"{_prefix(rng, d.province, city, geo, listed=False)}{zh}{old}有限公司",)
                if former[0] == name:
                    former = ()
            aliases = ()
        base, k = slug, 0
        while slug in used_slugs:
            k += 1
            slug = f"{base}-{chr(ord('a') + k)}" if k < 26 else f"{base}-{chr(ord('a') + k // 26)}{chr(ord('a') + k % 26)}"
        used_slugs.add(slug)
        while True:
            uscc = make_uscc(adcode, rng)
            if uscc not in used_uscc:
                used_uscc.add(uscc)
                break
        exchange = stock = stock_short = None
        fiscal = revenue = rd = None
        if d.listed:
            board = d.board or "SSE_main"
            exchange = STOCK_BOARDS[board][0]
            while True:
                stock = _stock_code(rng, board)
                if stock not in used_codes and is_valid_stock_code(stock, exchange):
                    used_codes.add(stock)
                    break
            if d.hub or (len(short) == 4 and rng.random() < 0.6):
                stock_short = short
            else:
                stock_short = short[:2] + rng.choice(("股份", "科技", "智能"))
                if stock_short in (short,):
                    stock_short = short
            fiscal = FISCAL_YEAR
            revenue = max(1_000_000, int((d.revenue or 1.0) * 1e8) // 1000 * 1000)
            rd = min(revenue - 1000, max(1000, int((d.rd or 0.1) * 1e8) // 1000 * 1000))
        firms.append(
            Firm(
                id=slug,
                name=name,
                short_name=short,
                english_name=english,
                former_names=former,
                uscc=uscc,
                province=d.province,
                city=city.name,
                district_code=adcode,
                industry_division=d.division,
                founded_on=d.founded,
                employees=d.employees,
                listed=d.listed,
                exchange=exchange,
                stock_code=stock,
                stock_short_name=stock_short,
                tech_layer=d.layer,
                patents=d.patents,
                fiscal_year=fiscal,
                revenue_cny=revenue,
                rd_expense_cny=rd,
                aliases=aliases,
                hub=d.hub is not None,
                report_name=d.hub["report_name"] if d.hub else None,
                previous_edition=d.previous,
            )
        )
    return sorted(firms, key=lambda f: f.id)


def _prefix(rng: random.Random, province: str, city: _City, geo: _Geo, listed: bool) -> str:
    forms = calibration.load_yaml("names.yml")["prefix_forms"]
    if listed and rng.random() < 0.5:
        return ""
    form = _pick_weighted(rng, list(forms), list(forms.values()))
    if form == "none":
        return ""
    if form == "province_short" and province not in geo.municipalities:
        return geo.short[province]
    if form == "city_full" or (city.name == "深圳市" and rng.random() < 0.7):
        return city.name
    return city.short


# --------------------------------------------------------------------------------------
# Growth of the network
# --------------------------------------------------------------------------------------


@dataclass
class _Hub:
    node: int
    target_in: int
    target_out: int
    entry_year: int
    cur_in: int = 0
    cur_out: int = 0


@dataclass
class _Draft:
    """An event before its id is known."""

    provider: int
    receiver: int
    direction: str
    kind: str
    date: dt.date
    tech: str
    domain: str
    reporter: int
    co_reporter: int | None
    group: int | None = None
    witnesses: tuple[int, ...] = ()
    terminated_on: dt.date | None = None
    seq: int = 0
    new_edge: bool = True


#: Network parameters that may be given per year in world-model.yml.
_YEARLY = ("sample_sample_share", "hub_sample_share", "entrant_hub_share", "focal_provider_share", "closure_share",
           "repeat_share", "termination_share", "group_share", "witness_share")


class _Growth:
    """The state of the growing network and the generation of one year (module docstring, step 3)."""

    def __init__(self, seed: int, preset: Preset, firms: Sequence[Firm]) -> None:
        self.seed = seed
        self.preset = preset
        self.model = calibration.model()
        self.net = self.model["network"]
        self.geo = _geo()
        self.vocab = _vocabulary()
        self.firms = list(firms)
        self.F = len(firms)
        self.provinces = list(self.geo.provinces)
        self.pidx = {p: i for i, p in enumerate(self.provinces)}
        # node attributes (sample firms are nodes 0 .. F-1)
        self.names: list[str] = [f.name for f in firms]
        self.prov: list[int] = [self.pidx[f.province] for f in firms]
        self.kind: list[str] = ["sample"] * self.F
        self.div: list[str] = [f.industry_division for f in firms]
        self.deg: list[int] = [0] * self.F
        self.nbrs: list[list[int]] = [[] for _ in range(self.F)]
        self.is_hub: list[bool] = [f.hub for f in firms]
        self.partners: list[Partner] = []
        # edges: (provider, receiver) -> number of active events
        self.edges: dict[tuple[int, int], int] = {}
        self.edge_list: list[tuple[int, int]] = []
        self.active_samples = 0
        self.active_relations = 0
        self.entered: list[bool] = [False] * self.F
        self.dropouts: set[int] = set()
        self.pending_end: dict[int, list[_Draft]] = {}
        # steering
        p, q, t = calibration.flow_targets(self.provinces)
        self.p_share, self.q_share, self.t_share = p, q, t
        self.row_counts = [0] * len(self.provinces)
        self.cell_counts = [[0] * len(self.provinces) for _ in self.provinces]
        self.n_flows = 0
        self.recv = _Deficit(calibration.receiver_division_targets(FIRST_YEAR))
        # names and catalogues
        self.name_rng = random.Random(f"{seed}:names")
        self.zihao = _Zihao(self.vocab.partner_chars, self.name_rng)
        self.used_names: set[str] = set(self.names)
        self.used_uscc: set[str] = {f.uscc for f in firms}
        self.catalogue: dict[tuple[str, str], list[_OrgSpec]] = {}
        cat_rng = random.Random(f"{seed}:catalogue")
        real_nonhub = [s for s in self.vocab.real if s.hub_degree is None]
        for s in real_nonhub:
            self.catalogue.setdefault((s.division, s.province), []).append(s)
        for key in sorted(self.vocab.templates):
            items = list(self.vocab.templates[key])
            weights = self.geo.cities[key[1]]
            wmap = {c.name: w for c, w in zip(weights, self.geo.city_weights[key[1]], strict=True)}
            items.sort(key=lambda s: -(wmap.get(s.city, 0.0) + 0.05) * cat_rng.random())
            self.catalogue.setdefault(key, []).extend(items)
        self.foreign = [s for s in real_nonhub if s.kind == "foreign_firm"]
        self.public_names = {s.name for s in self.vocab.real} | {
            s.name for items in self.vocab.templates.values() for s in items}
        self.core = [s for s in self.vocab.real if s.tiny] if not preset.hubs else []
        self.industries = {str(k): v for k, v in calibration.load_yaml("names.yml")["partner_industries"].items()}
        self.witness_pool: dict[int, list[int]] = {}
        # hubs
        self.hubs: list[_Hub] = []
        self.hub_of: dict[int, _Hub] = {}
        self.sample_by_prov = [_Picker(self.net["pa_offset_sample"]) for _ in self.provinces]
        self.sample_all = _Picker(self.net["pa_offset_sample"])
        self.rel_by_prov = [_Picker(self.net["pa_offset_relation"]) for _ in self.provinces]
        self.targets = calibration.table1_targets(preset.firms, preset.relation_nodes, preset.edges, MAX_YEAR)
        edges_final = self.targets[LAST_YEAR][2]
        scale = edges_final / calibration.report()["network"]["table1"][LAST_YEAR][3]
        if preset.hubs:
            for i, f in enumerate(firms):
                if f.hub:
                    spec = next(h for h in calibration.load_yaml("organisations.yml")["sample_hubs"]
                                if h["name"] == f.name)
                    self._add_hub(i, spec["degree"], scale, f.founded_on.year)
            for s in self.vocab.real:
                if s.hub_degree is not None:
                    node = self._new_node_from_spec(s, FIRST_YEAR, hub=True)
                    self._add_hub(node, s.hub_degree, scale, FIRST_YEAR - 1)
        self.events: list[_Draft] = []
        self.group_seq = 0
        self.year_net: dict[str, Any] = {}

    # ---------------------------------------------------------------- nodes
    def _add_hub(self, node: int, degree: Sequence[int], scale: float, founded: int) -> None:
        hub = _Hub(node, round(degree[0] * scale), round(degree[1] * scale), max(FIRST_YEAR, founded + 1))
        self.hubs.append(hub)
        self.hub_of[node] = hub
        if node < self.F:
            self.is_hub[node] = True

    def _append_node(self, name: str, prov: str, kind: str, div: str) -> int:
        node = len(self.names)
        self.names.append(name)
        self.prov.append(self.pidx[prov])
        self.kind.append(kind)
        self.div.append(div)
        self.deg.append(0)
        self.nbrs.append([])
        self.is_hub.append(False)
        self.used_names.add(name)
        return node

    def _uscc(self, rng: random.Random, adcode: str, kind: str, name: str) -> str:
        if name.endswith(("公司", "有限责任公司")):
            authority, org_type = "9", "1"  # a company, whatever it does
        elif kind in ("university", "hospital") and not self._public(name):
            authority, org_type = "5", "2"  # private college / hospital: 民办非企业单位
        else:
            authority, org_type = USCC_TYPES.get(kind, ("9", "1"))
        while True:
            code = make_uscc(adcode, rng, authority, org_type)
            if code not in self.used_uscc:
                self.used_uscc.add(code)
                return code

    def _public(self, name: str) -> bool:
        """Whether a college or hospital name is a public institution (real or template)."""
        return name in self.public_names

    def _new_node_from_spec(self, s: _OrgSpec, year: int, hub: bool = False) -> int:
        node = self._append_node(s.name, s.province, s.kind, s.division)
        self.is_hub[node] = hub
        english = next((a for a in s.aliases if re.fullmatch(r"[A-Za-z][A-Za-z .,&'-]*", a) and " " in a), None)
        aliases = tuple(a for a in s.aliases if a != english)
        self.partners.append(
            Partner(
                name=s.name,
                kind=s.kind,
                province=s.province,
                city=s.city,
                real=s.real,
                id=f"R{year}{len(self.partners) + 1:06d}",
                short_name=aliases[0] if aliases else None,
                english_name=english,
                aliases=aliases[1:] if aliases else (),
                industry_division=s.division,
                uscc=self._uscc(self.name_rng, s.adcode, s.kind, s.name),
                district_code=s.adcode,
                hub=hub,
                report_name=s.report_name,
            )
        )
        if s.kind in calibration.model()["witness_kinds"]:
            self.witness_pool.setdefault(self.prov[node], []).append(node)
        return node

    def _zihao_node(self, rng: random.Random, division: str, province: str, year: int) -> int | None:
        options = self.industries.get(division)
        if not options:
            return None
        row = rng.choice(options)
        word, short_word, kind = row[0], row[1], row[2]
        form = row[3] if len(row) > 3 else None
        nolegal = form == "nolegal"
        city = self.geo.pick_city(rng, province)
        names = calibration.load_yaml("names.yml")
        for _ in range(20):
            zh = self.zihao.take()
            if nolegal:
                name = f"{city.short}{zh}{word}"
            else:
                legal = names["legal_suffixes"]
                suffix = form or _pick_weighted(rng, list(legal), list(legal.values()))
                name = f"{_prefix(rng, province, city, self.geo, listed=False)}{zh}{word}{suffix}"
            if name not in self.used_names:
                break
        else:  # pragma: no cover - 字号 are unique, so a clash cannot repeat 20 times
            return None
        adcode = self.geo.adcode(rng, city)
        node = self._append_node(name, province, kind, division)
        short = zh + short_word if rng.random() < 0.5 and not nolegal else None
        self.partners.append(
            Partner(
                name=name,
                kind=kind,
                province=province,
                city=city.name,
                real=False,
                id=f"R{year}{len(self.partners) + 1:06d}",
                short_name=short,
                industry_division=division,
                uscc=self._uscc(self.name_rng, adcode, kind, name),
                district_code=adcode,
            )
        )
        return node

    def _new_relation(self, rng: random.Random, division: str, province: str, year: int) -> int | None:
        """A new relation node of ``division`` in ``province`` (real, template or generated)."""
        if self.core:
            spec = self.core.pop(rng.randrange(len(self.core)))
            return self._new_node_from_spec(spec, year)
        items = self._catalogue_items(division, province)
        if items:
            return self._new_node_from_spec(items.pop(0), year)
        node = self._zihao_node(rng, division, province, year)
        if node is None and items:
            return self._new_node_from_spec(items.pop(0), year)
        return node

    def _catalogue_items(self, division: str, province: str) -> list[_OrgSpec]:
        """Unused real and template organisations of (division, province), in order of use."""
        items = self.catalogue.get((division, province), [])
        while items and items[0].name in self.used_names:
            items.pop(0)
        return items

    def _can_make(self, division: str, province: str) -> bool:
        return division in self.industries or bool(self._catalogue_items(division, province))

    # ---------------------------------------------------------------- edges
    def _activate(self, node: int) -> None:
        if node < self.F:
            self.active_samples += 1
            self.entered[node] = True
            if not self.is_hub[node]:
                self.sample_by_prov[self.prov[node]].nodes.append(node)
                self.sample_all.nodes.append(node)
        else:
            self.active_relations += 1
            if not self.is_hub[node]:
                self.rel_by_prov[self.prov[node]].nodes.append(node)

    def _add_edge(self, u: int, v: int) -> bool:
        """Count one more active event on u -> v; True when the edge is new."""
        key = (u, v)
        count = self.edges.get(key, 0)
        self.edges[key] = count + 1
        if count:
            return False
        self.edge_list.append(key)
        for node in (u, v):
            if self.deg[node] == 0:
                self._activate(node)
            self.deg[node] += 1
            if not self.is_hub[node]:
                if node < self.F:
                    self.sample_by_prov[self.prov[node]].reps.append(node)
                    self.sample_all.reps.append(node)
                else:
                    self.rel_by_prov[self.prov[node]].reps.append(node)
        self.nbrs[u].append(v)
        self.nbrs[v].append(u)
        if u in self.hub_of:
            self.hub_of[u].cur_out += 1
        if v in self.hub_of:
            self.hub_of[v].cur_in += 1
        a, b = self.prov[u], self.prov[v]
        self.row_counts[a] += 1
        self.cell_counts[a][b] += 1
        self.n_flows += 1
        if self.div[v] in self.recv.index:
            self.recv.add(self.div[v])
        return True

    def _remove_event(self, u: int, v: int) -> None:
        key = (u, v)
        count = self.edges[key] - 1
        if count:
            self.edges[key] = count
            return
        del self.edges[key]
        self.nbrs[u].remove(v)
        self.nbrs[v].remove(u)
        if u in self.hub_of:
            self.hub_of[u].cur_out -= 1
        if v in self.hub_of:
            self.hub_of[v].cur_in -= 1
        for node in (u, v):
            self.deg[node] -= 1
            if self.deg[node] == 0:
                if node < self.F:
                    self.active_samples -= 1
                else:
                    self.active_relations -= 1

    def _rebuild_pickers(self) -> None:
        for pickers in (self.sample_by_prov, self.rel_by_prov):
            for pk in pickers:
                pk.nodes.clear()
                pk.reps.clear()
        self.sample_all.nodes.clear()
        self.sample_all.reps.clear()
        for node, d in enumerate(self.deg):
            if d <= 0 or self.is_hub[node]:
                continue
            if node < self.F:
                pk = self.sample_by_prov[self.prov[node]]
                self.sample_all.nodes.append(node)
                self.sample_all.reps.extend([node] * d)
            else:  # relation nodes
                pk = self.rel_by_prov[self.prov[node]]
            pk.nodes.append(node)
            pk.reps.extend([node] * d)
        self.edge_list = [e for e in self.edge_list if e in self.edges]

    # ---------------------------------------------------------------- provinces
    def _row_province(self, rng: random.Random, ok: Sequence[bool]) -> int:
        n1 = self.n_flows + 1
        w = [max(0.0, p * n1 - c) if good else 0.0
             for p, c, good in zip(self.p_share, self.row_counts, ok, strict=True)]
        if sum(w) <= 0:
            w = [p if good else 0.0 for p, good in zip(self.p_share, ok, strict=True)]
        return _pick_weighted(rng, range(len(w)), w)

    def _other_province(self, rng: random.Random, fixed: int, fixed_is_provider: bool, ok: Sequence[bool]) -> int:
        n1 = self.n_flows + 1
        k = len(self.provinces)
        if fixed_is_provider:
            targets = self.t_share[fixed]
            counts = self.cell_counts[fixed]
        else:
            targets = [self.t_share[a][fixed] for a in range(k)]
            counts = [self.cell_counts[a][fixed] for a in range(k)]
        w = [max(0.0, t * n1 - c) if good else 0.0 for t, c, good in zip(targets, counts, ok, strict=True)]
        if sum(w) <= 0:
            w = [t if good else 0.0 for t, good in zip(targets, ok, strict=True)]
        if sum(w) <= 0:
            return fixed
        return _pick_weighted(rng, range(k), w)

    # ---------------------------------------------------------------- choosing ends
    def _pick_sample(self, rng: random.Random, province: int | None, exclude: int) -> int | None:
        picker = self.sample_all if province is None else self.sample_by_prov[province]
        for _ in range(6):
            node = picker.pick(rng)
            if node is None:
                return None
            if node != exclude:
                return node
        return None

    def _pick_relation(self, rng: random.Random, province: int, role: str) -> int | None:
        """An existing relation node of ``province`` for ``role`` ("provider"/"receiver") by PA."""
        propensity = self.net["provider_propensity"]
        picker = self.rel_by_prov[province]
        recv = self.recv
        node = None
        for _ in range(5):
            node = picker.pick(rng)
            if node is None:
                return None
            pr = propensity.get(self.kind[node], 0.5)
            accept = pr if role == "provider" else 1 - pr
            if role == "receiver" and recv.n:  # lean towards industries the receiving side lacks
                i = recv.index.get(self.div[node])
                if i is not None and recv.counts[i]:
                    accept *= min(1.0, recv.shares[i] * recv.n / recv.counts[i])
            if rng.random() < accept:
                return node
        return node

    def _new_receiver(self, rng: random.Random, province: int, year: int) -> int | None:
        """A new relation node that receives: industry drawn towards the receiving-side targets."""
        prov = self.provinces[province]
        w = self.recv.weights()
        keys = self.recv.keys
        options = [(k, x) for k, x in zip(keys, w, strict=True) if x > 0 and self._can_make(k, prov)]
        if not options:
            options = [(k, s) for k, s in zip(keys, self.recv.shares, strict=True) if self._can_make(k, prov)]
        if not options:
            return None
        division = _pick_weighted(rng, [k for k, _ in options], [x for _, x in options])
        return self._new_relation(rng, division, prov, year)

    def _new_provider(self, rng: random.Random, province: int, year: int) -> int | None:
        """A new relation node that provides: kind by ``new_provider_kinds``."""
        prov = self.provinces[province]
        kinds = self.net["new_provider_kinds"]
        if self.core:
            return self._new_relation(rng, "65", prov, year)
        for _ in range(4):
            kind = _pick_weighted(rng, list(kinds), list(kinds.values()))
            if kind == "foreign_firm":
                self.foreign = [s for s in self.foreign if s.name not in self.used_names]
                if self.foreign:
                    spec = self.foreign.pop(rng.randrange(len(self.foreign)))
                    return self._new_node_from_spec(spec, year)
                continue
            fixed = {"university": "83", "research_institute": "73", "industry_body": "95", "telecom": "63"}
            if kind in fixed:
                division = fixed[kind]
            else:
                table = self.net["provider_divisions"][kind]
                division = _pick_weighted(rng, list(table), list(table.values()))
            node = self._new_relation(rng, str(division), prov, year)
            if node is not None:
                return node
        return self._zihao_node(rng, "65", prov, year)

    # ---------------------------------------------------------------- one year
    def grow(self, year: int) -> list[_Draft]:
        """Generate the events of ``year``; return them (also kept in ``self.events``)."""
        rng = random.Random(f"{self.seed}:events:{year}")
        net = {k: (_by_year(v, year) if k in _YEARLY else v) for k, v in self.net.items()}
        self.year_net = net
        for d in self.pending_end.pop(year - 1, []):
            self._remove_event(d.provider, d.receiver)
        self._rebuild_pickers()
        self.recv.set_shares(calibration.receiver_division_targets(year))
        s_target, r_target, e_target = self.targets[year]
        drafts: list[_Draft] = []
        tech = _Deficit(calibration.category_targets("tech", year))
        dom = _Deficit(calibration.category_targets("domains", year))

        # sample firms joining this year
        hubs_joining = [h for h in self.hubs if h.node < self.F and not self.entered[h.node] and year >= h.entry_year]
        need_s = s_target - self.active_samples - len(hubs_joining)
        final_cohort = year >= LAST_YEAR
        pool = [i for i in range(self.F) if not self.entered[i] and self.deg[i] == 0 and not self.is_hub[i]
                and (final_cohort or (self.firms[i].previous_edition and i not in self.dropouts))
                and self.firms[i].founded_on <= dt.date(year, 11, 30)]
        if year < LAST_YEAR:
            pool = [i for i in pool if self.firms[i].founded_on.year < year]
        # dropped-out firms come back (year >= cohort year) before never-seen ones
        rejoin = [i for i in range(self.F) if self.entered[i] and self.deg[i] == 0 and not self.is_hub[i]
                  and (final_cohort or i not in self.dropouts)]
        entrants: list[int] = []
        if need_s > 0:
            rejoined = set(rejoin)
            fresh = [i for i in pool if i not in rejoined]
            rng.shuffle(fresh)
            entrants = (rejoin + fresh)[:need_s]

        # hub quotas of the year (in proportion to the year's edge target)
        e_final = self.targets[LAST_YEAR][2]
        quota: dict[int, list[int]] = {}
        for h in self.hubs:
            if year < h.entry_year:
                continue
            frac = e_target / e_final
            want_in = max(0, round(h.target_in * frac) - h.cur_in)
            want_out = max(0, round(h.target_out * frac) - h.cur_out)
            if self.deg[h.node] == 0 and want_in + want_out == 0:  # a hub joins with one edge at least
                want_out = 1
            quota[h.node] = [want_in, want_out]
        need_e = e_target - len(self.edges)
        joining_relation_hubs = sum(1 for h in self.hubs if h.node >= self.F and self.deg[h.node] == 0
                                    and sum(quota.get(h.node, (0, 0))) > 0)
        need_r = r_target - self.active_relations - joining_relation_hubs

        # slots: (focal sample or hub, kind of slot, role, other type)
        slots: list[list[Any]] = []
        sample_hubs = [h.node for h in self.hubs if h.node < self.F and h.node in quota]
        for e in entrants:
            if sample_hubs and rng.random() < net["entrant_hub_share"]:
                weights = [sum(quota[h]) for h in sample_hubs]
                if sum(weights) > 0:
                    h = _pick_weighted(rng, sample_hubs, weights)
                    hub_provides = rng.random() * sum(quota[h]) < quota[h][1]
                    quota[h][1 if hub_provides else 0] -= 1
                    slots.append(["entrant_hub", e, "receiver" if hub_provides else "provider", h, False])
                    continue
            other = "sample" if rng.random() < net["sample_sample_share"] else "rel"
            role = "provider" if rng.random() < net["focal_provider_share"] else "receiver"
            slots.append(["entrant", e, role, other, False])
        for h in self.hubs:
            if h.node not in quota:
                continue
            q_in, q_out = quota[h.node]
            is_sample = h.node < self.F
            for role, count in (("receiver", q_in), ("provider", q_out)):
                for _ in range(count):
                    if is_sample:
                        other = "sample" if rng.random() < net["hub_sample_share"] else "rel"
                        slots.append(["hub", h.node, role, other, False])
                    else:
                        slots.append(["rhub", h.node, role, "sample", False])
        extra = need_e - len(slots)
        if extra < 0:  # hub quotas exceed the year's new edges (small presets): keep a random subset
            keep = sorted(rng.sample(range(len(slots)), need_e)) if need_e > 0 else []
            entrant_idx = [i for i, s in enumerate(slots) if s[0].startswith("entrant")]
            keep = sorted(set(keep) | set(entrant_idx))
            slots = [slots[i] for i in keep]
            extra = 0
        closure = net["closure_share"]
        for _ in range(extra):
            r = rng.random()
            if r < closure:
                slots.append(["closure", None, None, None, False])
            else:
                other = "sample" if rng.random() < net["sample_sample_share"] else "rel"
                role = "provider" if rng.random() < net["focal_provider_share"] else "receiver"
                slots.append(["generic", None, role, other, False])
        rel_slots = [i for i, s in enumerate(slots) if s[3] == "rel"]
        if need_r > len(rel_slots):
            convertible = [i for i, s in enumerate(slots) if s[0] in ("generic", "closure") and s[3] != "rel"]
            rng.shuffle(convertible)
            for i in convertible[: need_r - len(rel_slots)]:
                role = "provider" if rng.random() < net["focal_provider_share"] else "receiver"
                slots[i] = ["generic", None, role, "rel", False]
            rel_slots = [i for i, s in enumerate(slots) if s[3] == "rel"]
        for i in rng.sample(rel_slots, min(max(0, need_r), len(rel_slots))):
            slots[i][4] = True
        rng.shuffle(slots)
        # executed from the end, in random order, but triangles last (after the year's other
        # edges exist) and, when no sample firm is active yet, a joining firm first
        slots = [s for s in slots if s[0] == "closure"] + [s for s in slots if s[0] != "closure"]
        if not self.sample_all.nodes:
            first = next((i for i in range(len(slots) - 1, -1, -1) if slots[i][0].startswith("entrant")), None)
            if first is not None:
                slots.append(slots.pop(first))

        # execute the slots (from the end)
        while slots:
            slot = slots.pop()
            self._run_slot(rng, year, slot, slots, drafts, tech, dom)

        # repeated cooperations of existing pairs, and at least one event a year
        n_new = len(drafts)
        n_rep = round(n_new * net["repeat_share"] / (1 - net["repeat_share"]))
        if n_new + n_rep == 0 and self.edge_list:
            n_rep = 1
        for _ in range(n_rep):
            if not self.edge_list:
                break
            u, v = self.edge_list[rng.randrange(len(self.edge_list))]
            if (u, v) not in self.edges:
                continue
            self._event(rng, year, u, v, u if u < self.F else v, drafts, tech, dom, new_edge=False, repeat=True)

        # terminations: a few % within the year; firms planned to drop out of the next year
        next_s = self.targets.get(year + 1, (s_target,))[0]
        drop = max(0, s_target - next_s) if year + 1 < LAST_YEAR + 1 else 0
        if drop:
            single = [d for d in drafts if d.new_edge and d.group is None and d.date <= dt.date(year, 11, 30)]
            counts: dict[int, int] = {}
            for d in drafts:
                for node in (d.provider, d.receiver):
                    counts[node] = counts.get(node, 0) + 1
            chosen: list[_Draft] = []
            for d in single:
                s = d.reporter
                if (len(chosen) < drop and not self.is_hub[s] and self.deg[s] == 1 and counts.get(s) == 1
                        and (d.co_reporter is None)):
                    chosen.append(d)
                    self.dropouts.add(s)
            for d in chosen:
                d.terminated_on = d.date + dt.timedelta(days=rng.randint(15, (dt.date(year, 12, 31) - d.date).days))
        for d in drafts:
            if d.terminated_on is None and d.group is None and d.date <= dt.date(year, 11, 30):
                if rng.random() < net["termination_share"]:
                    d.terminated_on = d.date + dt.timedelta(days=rng.randint(15, (dt.date(year, 12, 31) - d.date).days))
        for d in drafts:
            if d.terminated_on is not None:
                self.pending_end.setdefault(year, []).append(d)
        self.events.extend(drafts)
        return drafts

    def _run_slot(self, rng: random.Random, year: int, slot: list[Any], slots: list[list[Any]],
                  drafts: list[_Draft], tech: _Deficit, dom: _Deficit) -> None:
        kind, focal, role, other, new = slot
        for attempt in range(10):
            if attempt >= 7 and kind in ("generic", "entrant", "hub"):
                other, new = "rel", True  # a fresh node always gives a fresh pair
            if kind == "closure":
                pair = self._closure(rng)
                if pair is None:
                    kind, role, other = "generic", ("provider" if rng.random() < 0.6 else "receiver"), "rel"
                    continue
                u, v, f = pair
                self._add_edge(u, v)
                self._event(rng, year, u, v, f, drafts, tech, dom)
                return
            if kind == "entrant_hub":
                hub = other
                u, v = (focal, hub) if role == "provider" else (hub, focal)
                if (u, v) in self.edges:
                    kind, other = "entrant", "rel"
                    continue
                self._add_edge(u, v)
                self._event(rng, year, u, v, focal, drafts, tech, dom)
                return
            if kind == "rhub":
                hub = focal
                hp = self.prov[hub]
                ok = [bool(pk.nodes) for pk in self.sample_by_prov]
                if not any(ok):
                    return
                sp = self._other_province(rng, hp, role == "provider", ok)
                s = self._pick_sample(rng, sp, -1)
                if s is None:
                    continue
                u, v = (hub, s) if role == "provider" else (s, hub)
                if (u, v) in self.edges:
                    continue
                self._add_edge(u, v)
                self._event(rng, year, u, v, s, drafts, tech, dom)
                return
            # a sample focal (entrant, hub, generic): choose its province and the other end's
            n_prov = len(self.provinces)
            if kind == "generic":
                ok_s = [bool(pk.nodes) for pk in self.sample_by_prov]
                if not any(ok_s):
                    return
                if role == "provider":
                    fp = self._row_province(rng, ok_s)
                else:
                    ok_any = [True] * n_prov
                    rp = self._row_province(rng, ok_any)  # provider province of a relation provider
                    fp = self._other_province(rng, rp, True, ok_s)
                focal_node = self._pick_sample(rng, fp, -1)
                if focal_node is None:
                    continue
            else:
                focal_node = focal
                fp = self.prov[focal_node]
            if other == "sample":
                ok_s = [bool(pk.nodes) for pk in self.sample_by_prov]
                if not any(ok_s):
                    other = "rel"
                    continue
                op = self._other_province(rng, fp, role == "provider", ok_s)
                o = self._pick_sample(rng, op, focal_node)
                if o is None:
                    other = "rel"
                    continue
            else:
                other_role = "receiver" if role == "provider" else "provider"
                if new:
                    op = self._other_province(rng, fp, role == "provider", [True] * n_prov)
                    o = (self._new_receiver(rng, op, year) if other_role == "receiver"
                         else self._new_provider(rng, op, year))
                    if o is None:
                        continue
                else:
                    ok_r = [bool(pk.nodes) for pk in self.rel_by_prov]
                    if not any(ok_r):
                        new = True
                        continue
                    op = self._other_province(rng, fp, role == "provider", ok_r)
                    o = self._pick_relation(rng, op, other_role)
                    if o is None:
                        continue
            u, v = (focal_node, o) if role == "provider" else (o, focal_node)
            if (u, v) in self.edges or u == v:
                continue
            self._add_edge(u, v)
            group = None
            if kind == "generic" and role == "provider" and rng.random() < self.year_net["group_share"]:
                group = self._group(rng, year, focal_node, o, slots, drafts, tech, dom)
                if group is not None:
                    return
            self._event(rng, year, u, v, focal_node, drafts, tech, dom)
            return

    def _closure(self, rng: random.Random) -> tuple[int, int, int] | None:
        """A new edge closing a triangle: f - x - y, with f a sample firm drawn uniformly."""
        nodes = self.sample_all.nodes
        for _ in range(6):
            if not nodes:
                return None
            f = nodes[rng.randrange(len(nodes))]  # uniform: triangles around small firms
            if not self.nbrs[f]:
                continue
            x = self.nbrs[f][rng.randrange(len(self.nbrs[f]))]
            if not self.nbrs[x]:
                continue
            y = self.nbrs[x][rng.randrange(len(self.nbrs[x]))]
            if y == f or self.is_hub[y] or (f, y) in self.edges or (y, f) in self.edges:
                continue
            if y < self.F:
                provider_first = rng.random() < 0.5
            else:
                provider_first = rng.random() >= self.net["provider_propensity"].get(self.kind[y], 0.5)
            return (f, y, f) if provider_first else (y, f, f)
        return None

    def _group(self, rng: random.Random, year: int, focal: int, first: int, slots: list[list[Any]],
               drafts: list[_Draft], tech: _Deficit, dom: _Deficit) -> int | None:
        """A multi-party signing: ``focal`` signs with ``first`` and more parties (mutual events)."""
        sizes = self.net["group_sizes"]
        size = int(_pick_weighted(rng, list(sizes), list(sizes.values())))
        others = [first]
        for _ in range(size - 2):
            idx = next((i for i in range(len(slots) - 1, -1, -1) if slots[i][0] == "generic"), None)
            if idx is None:
                break
            spare = slots.pop(idx)
            o = None
            for _try in range(4):
                fp = self.prov[focal]
                if spare[4] or spare[3] == "rel":
                    op = self._other_province(rng, fp, True, [True] * len(self.provinces))
                    if spare[4]:
                        o = self._new_receiver(rng, op, year)
                    else:
                        o = self._pick_relation(rng, op, "receiver")
                else:
                    o = self._pick_sample(rng, None, focal)
                if o is not None and o not in others and (focal, o) not in self.edges and o != focal:
                    break
                o = None
            if o is None:
                slots.append(spare)
                break
            self._add_edge(focal, o)
            others.append(o)
        if len(others) < 2:
            return None
        self.group_seq += 1
        group = self.group_seq
        gk = self.model["group_kinds"]
        kind = _pick_weighted(rng, list(gk), list(gk.values()))
        date = self._date(rng, year, [focal, *others])
        witnesses = self._witnesses(rng, focal, others, force=rng.random() < 0.5)
        for o in others:
            self._event(rng, year, focal, o, focal, drafts, tech, dom, kind=kind, direction="mutual", date=date,
                        group=group, witnesses=witnesses)
        return group

    def _witnesses(self, rng: random.Random, focal: int, parties: Sequence[int], force: bool = False) -> tuple[int, ...]:
        if not force and rng.random() >= self.year_net["witness_share"]:
            return ()
        pool = self.witness_pool.get(self.prov[focal]) or [n for ns in self.witness_pool.values() for n in ns]
        pool = [n for n in pool if n not in parties and n != focal]
        if not pool:
            return ()
        k = 1 if rng.random() < 0.7 else 2
        chosen: list[int] = []
        for _ in range(k):
            w = pool[rng.randrange(len(pool))]
            if w not in chosen:
                chosen.append(w)
        return tuple(chosen)

    def _date(self, rng: random.Random, year: int, nodes: Iterable[int]) -> dt.date:
        start = dt.date(year, 1, 1)
        for node in nodes:
            if node < self.F:
                earliest = self.firms[node].founded_on + dt.timedelta(days=7)
                if earliest > start:
                    start = earliest
        end = dt.date(year, 12, 31)
        if start > end:
            start = end
        return start + dt.timedelta(days=rng.randint(0, (end - start).days))

    def _event(self, rng: random.Random, year: int, u: int, v: int, focal: int, drafts: list[_Draft],
               tech: _Deficit, dom: _Deficit, *, kind: str | None = None, direction: str | None = None,
               date: dt.date | None = None, group: int | None = None, witnesses: tuple[int, ...] = (),
               new_edge: bool = True, repeat: bool = False) -> None:
        """Record an event u -> v reported by ``focal`` (a sample firm party)."""
        F = self.F
        other = v if focal == u else u
        other_kind = "sample" if other < F else self.kind[other]
        role = "provider" if focal == u else "receiver"
        if kind is None:
            table = self.model["kind_weights"][other_kind][role]
            kind = _pick_weighted(rng, list(table), list(table.values()))
        if direction is None:
            if kind in self.model["mutual_kinds"]:
                direction = "mutual"
            elif kind == "strategic_agreement" and role == "provider":
                direction = "mutual" if rng.random() < self.model["strategic_mutual_share"] else "directed"
            else:
                direction = "directed"
            if direction == "mutual" and role != "provider":
                direction = "directed"
                kind = "strategic_agreement"
        reporter = focal
        co = other if other < F else None
        if direction == "mutual":
            reporter, co = u, (v if v < F else None)
        if date is None:
            date = self._date(rng, year, (u, v))
        lean_node = v if v >= F else (u if u >= F else v)
        dom_bias = self._lean("domain_lean", lean_node)
        tech_bias = self._lean("tech_lean", lean_node)
        signing = direction == "mutual" and kind in ("strategic_agreement", "joint_lab", "alliance")
        if not witnesses and group is None and signing:
            witnesses = self._witnesses(rng, focal, (u, v))
        drafts.append(
            _Draft(
                provider=u,
                receiver=v,
                direction=direction,
                kind=kind,
                date=date,
                tech=tech.draw(rng, tech_bias),
                domain=dom.draw(rng, dom_bias),
                reporter=reporter,
                co_reporter=co,
                group=group,
                witnesses=witnesses,
                seq=len(self.events) + len(drafts),
                new_edge=new_edge,
            )
        )
        if repeat:
            self.edges[(u, v)] += 1

    def _lean(self, table_name: str, node: int) -> dict[str, float]:
        table = self.model[table_name]
        bias: dict[str, float] = {}
        for key, value in ((self.kind[node], "kind"), (self.div[node], "division")):
            for cat, mult in (table.get(value, {}).get(key) or {}).items():
                bias[cat] = bias.get(cat, 1.0) * mult
        return bias


# --------------------------------------------------------------------------------------
# News
# --------------------------------------------------------------------------------------


def _make_news(seed: int, year: int, preset: Preset, firms: Sequence[Firm], events: Sequence[Event],
               counts: dict[str, int]) -> list[CompanyNews]:
    """Plain company news of ``year``: ``news_share`` of the year's articles (plus a top-up in 2023).

    ``counts`` (articles per newsroom so far) is updated. News go to the newsrooms with the
    fewest articles first; in the report's last year every newsroom is topped up to
    ``min_articles``.
    """
    rng = random.Random(f"{seed}:news:{year}")
    reports = 0
    for e in events:
        for slug in e.reporters:
            counts[slug] = counts.get(slug, 0) + 1
            reports += 1
    wanted = round(reports * preset.news_share / (1 - preset.news_share))
    eligible = [f for f in firms if f.founded_on <= dt.date(year, 12, 24)]
    if year == LAST_YEAR:
        wanted = max(wanted, sum(max(0, preset.min_articles - counts.get(f.id, 0)) for f in eligible))
    if not eligible:
        return []
    tech = _Deficit(calibration.category_targets("tech", year))
    heap: dict[int, list[str]] = {}
    for f in eligible:
        heap.setdefault(counts.get(f.id, 0), []).append(f.id)
    levels = sorted(heap)
    by_slug = {f.id: f for f in eligible}
    out: list[tuple[dt.date, str, str, str]] = []
    for _ in range(wanted):
        low = levels[0]
        bucket = heap[low]
        slug = bucket.pop(rng.randrange(len(bucket)))
        if not bucket:
            del heap[low]
            levels.pop(0)
        counts[slug] = low + 1
        if low + 1 not in heap:
            bisect.insort(levels, low + 1)
        heap.setdefault(low + 1, []).append(slug)
        firm = by_slug[slug]
        start = max(dt.date(year, 1, 1), firm.founded_on + dt.timedelta(days=1))
        day = start + dt.timedelta(days=rng.randint(0, (dt.date(year, 12, 31) - start).days))
        out.append((day, slug, rng.choice(NEWS_KINDS), tech.draw(rng)))
    out.sort()
    return [CompanyNews(id=f"N{year}-{i:06d}", firm=slug, date=day, kind=kind, tech=t)
            for i, (day, slug, kind, t) in enumerate(out, start=1)]


# --------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------


def build_world(seed: int = 7, preset: str = "tiny", through_year: int = LAST_YEAR) -> World:
    """Generate the world for ``seed`` and ``preset`` (see :data:`PRESETS`) up to ``through_year``.

    Deterministic; ``through_year`` may run past the report's 2023 (up to :data:`MAX_YEAR`): the
    years after 2023 follow the extrapolated growth of world-model.yml, and the world of a later
    year contains the earlier one unchanged (see :func:`step`).
    """
    try:
        params = PRESETS[preset]
    except KeyError:
        raise ValueError(f"unknown preset {preset!r}; known: {', '.join(sorted(PRESETS))}") from None
    if not FIRST_YEAR <= through_year <= MAX_YEAR:
        raise ValueError(f"through_year must be within {FIRST_YEAR}-{MAX_YEAR}, not {through_year}")
    firms = _make_firms(seed, params)
    growth = _Growth(seed, params, firms)
    slug = [f.id for f in firms]
    names = growth.names
    events: list[Event] = []
    news: list[CompanyNews] = []
    counts: dict[str, int] = {}
    for year in range(FIRST_YEAR, through_year + 1):
        drafts = growth.grow(year)
        group_ids: dict[int, str] = {}
        year_events = []
        for i, d in enumerate(sorted(drafts, key=lambda d: (d.date, d.seq)), start=1):
            if d.group is not None and d.group not in group_ids:
                group_ids[d.group] = f"G{year}-{len(group_ids) + 1:05d}"
            year_events.append(
                Event(
                    id=f"E{year}-{i:06d}",
                    provider=names[d.provider],
                    receiver=names[d.receiver],
                    direction=d.direction,
                    kind=d.kind,
                    year=year,
                    date=d.date,
                    tech=d.tech,
                    domain=d.domain,
                    reporter=slug[d.reporter],
                    co_reporter=slug[d.co_reporter] if d.co_reporter is not None else None,
                    status="terminated" if d.terminated_on else "active",
                    terminated_on=d.terminated_on,
                    group_id=group_ids.get(d.group) if d.group is not None else None,
                    witnesses=tuple(names[w] for w in d.witnesses),
                )
            )
        events.extend(year_events)
        news.extend(_make_news(seed, year, params, firms, year_events, counts))
    world = World(
        seed=seed,
        preset=preset,
        firms=tuple(firms),
        partners=tuple(growth.partners),
        events=tuple(events),
        news=tuple(news),
        through_year=through_year,
    )
    problems = check_names(world)
    if problems:  # a data file change broke the naming rules: say which names
        raise ValueError(f"name clashes in the generated world ({len(problems)}): " + "; ".join(problems[:20]))
    return world


def step(world: World) -> World:
    """The same world one year later: ``world`` plus the events, partners and news of the next year."""
    return build_world(world.seed, world.preset, world.through_year + 1)


# --------------------------------------------------------------------------------------
# Ground truth
# --------------------------------------------------------------------------------------

#: Columns of the model's events CSV (``urls`` is filled by the renderer when it knows them).
EVENT_CSV_COLUMNS: tuple[str, ...] = (
    "event_id",
    "provider",
    "receiver",
    "direction",
    "kind",
    "status",
    "terminated_on",
    "year",
    "date",
    "tech",
    "domain",
    "provider_kind",
    "receiver_kind",
    "group_id",
    "witnesses",
    "reporters",
    "urls",
)
LIST_SEPARATOR = ";"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value


#: The ``organisations.kind`` the database accepts (db.models.ORG_KINDS) for the model's finer kinds.
DB_KINDS: dict[str, str] = {"automaker": "firm", "manufacturer": "firm", "financial": "other", "sample_firm": "firm"}


def organisation_records(world: World) -> list[dict[str, Any]]:
    """Every organisation (sample firms, then relation nodes) with its names and attributes.

    Each record: ``id``, ``name``, ``is_sample``, ``kind`` ("sample_firm" or a relation kind),
    ``db_kind`` (the database's coarser kind, :data:`DB_KINDS`),
    ``aliases`` (every other name: short, stock short, English, former names, aliases), province,
    city, ``district_code``, ``industry_division`` with its GB/T 4754 section and three-sector
    assignment, ``uscc`` and, for sample firms, the firm attributes of :class:`Firm`.
    """
    divisions = {d.code: d for d in load_industry_divisions()}
    out: list[dict[str, Any]] = []
    for f in world.firms:
        rec = {k: _jsonable(v) for k, v in dataclasses.asdict(f).items()}
        div = divisions[f.industry_division]
        rec |= {"is_sample": True, "kind": "sample_firm", "db_kind": "firm", "aliases": list(f.names[1:]),
                "industry_section": div.section_code, "sector": div.sector}
        out.append(rec)
    for p in world.partners:
        rec = {k: _jsonable(v) for k, v in dataclasses.asdict(p).items()}
        div = divisions[p.industry_division]
        rec |= {"is_sample": False, "db_kind": DB_KINDS.get(p.kind, p.kind), "aliases": list(p.names[1:]),
                "industry_section": div.section_code, "sector": div.sector}
        out.append(rec)
    return out


def event_records(world: World, urls: Mapping[str, Sequence[str]] | None = None) -> list[dict[str, Any]]:
    """Every event with parties, direction, kind, status, dates, categories, group, witnesses, reporters.

    ``urls`` (event id -> document paths), when given, is added as ``urls``.
    """
    kinds = {p.name: p.kind for p in world.partners} | {f.name: "sample" for f in world.firms}
    out = []
    for e in world.events:
        rec = {k: _jsonable(v) for k, v in dataclasses.asdict(e).items()}
        rec |= {"reporters": list(e.reporters), "provider_kind": kinds[e.provider], "receiver_kind": kinds[e.receiver]}
        if urls is not None:
            rec["urls"] = sorted(urls.get(e.id, ()))
        out.append(rec)
    return out


def event_rows(world: World, urls: Mapping[str, Sequence[str]] | None = None) -> list[list[str]]:
    """The rows of the events CSV (columns :data:`EVENT_CSV_COLUMNS`), one per event."""
    rows = []
    for r in event_records(world, urls):
        rows.append([
            r["id"], r["provider"], r["receiver"], r["direction"], r["kind"], r["status"], r["terminated_on"] or "",
            str(r["year"]), r["date"], r["tech"], r["domain"], r["provider_kind"], r["receiver_kind"],
            r["group_id"] or "", LIST_SEPARATOR.join(r["witnesses"]), LIST_SEPARATOR.join(r["reporters"]),
            LIST_SEPARATOR.join(r.get("urls", ())),
        ])
    return rows


def write_truth(world: World, directory: Path, urls: Mapping[str, Sequence[str]] | None = None) -> list[Path]:
    """Write ``organisations.jsonl``, ``events.jsonl`` and ``events.csv`` of the model to ``directory``."""
    import csv
    import io

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    orgs = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in organisation_records(world))
    events = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in event_records(world, urls))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(EVENT_CSV_COLUMNS)
    writer.writerows(event_rows(world, urls))
    for name, text in (("organisations.jsonl", orgs), ("events.jsonl", events), ("events.csv", buf.getvalue())):
        path = directory / name
        path.write_text(text, encoding="utf-8", newline="\n")
        files.append(path)
    return files
