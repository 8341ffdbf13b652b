"""The demo world's vocabulary and records: sample firms, relation nodes, events, company news.

Plain frozen dataclasses and the constants they draw from; :class:`World` is one generated world
(:func:`demosite.world.build_world`). Nothing here draws random numbers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from db.taxonomy import load_application_domains, load_tech_categories
from demosite import targets

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
EVENT_KINDS: tuple[str, ...] = tuple(targets.model()["event_kinds"])
DIRECTIONS: tuple[str, ...] = ("directed", "mutual")
STATUSES: tuple[str, ...] = ("active", "terminated")
NEWS_KINDS: tuple[str, ...] = ("product_launch", "award", "milestone")
FIRST_YEAR = targets.FIRST_YEAR
LAST_YEAR = targets.LAST_YEAR  # the report's data cut-off year (default ``through_year``)
MAX_YEAR = targets.MAX_YEAR  # the last year :func:`step` can reach
FISCAL_YEAR = 2022


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

