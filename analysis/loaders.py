"""What the report's statistics read from the database, loaded in a few bulk queries.

:func:`load_report_data` gathers the events (:func:`analysis.network.load_event_table`), every
organisation (:class:`OrgTable`, with display names), the taxonomy tables as seeded from
``db/data`` (:class:`Taxonomy`), the events' technology categories and application domains, and
the sample firms' attributes and financials (:class:`FirmRows`). No per-row ORM loads.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analysis.edition import ReportError
from analysis.network import EventTable, load_event_table
from db.models import (
    Alias,
    ApplicationDomain,
    City,
    CooperationEvent,
    Document,
    EventApplicationDomain,
    EventTechCategory,
    ExtractorVersion,
    FirmAttributes,
    FirmFinancials,
    IndustryDivision,
    IndustrySection,
    Mention,
    Organisation,
    Province,
    Region,
    RegionProvince,
    TechCategory,
)

#: First year of Table 1 in the report (the series starts in 2014).
FIRST_YEAR = 2014


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
    city: list[str] = field(default_factory=list)  # city name ("" unknown), aligned with ``ids``

    def index(self, ids: np.ndarray) -> np.ndarray:
        """Row positions of organisation ``ids`` (all must exist)."""
        return np.searchsorted(self.ids, ids)

    @cached_property
    def rank(self) -> np.ndarray:
        """Per row, its position in an order that does not depend on database ids.

        Order: display name, full name, kind, province, city, then id (the id only separates
        organisations equal in everything else). Database ids depend on the order in which the ETL
        met the organisations, so two builds of the same data may number them differently; the
        exported node and edge lists, the GEXF files and Fig. 13's layout follow this order instead,
        and two such builds write the same rows in the same order.
        """
        n = len(self.name)
        city = self.city or [""] * n
        order = sorted(range(n), key=lambda r: (self.display[r], self.name[r], self.kind[r], self.province[r] or "",
                                                city[r], int(self.ids[r])))
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n, dtype=np.int64)
        return rank


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
        Organisation.industry_section, Organisation.industry_division, City.name)
        .outerjoin(City, City.code == Organisation.city_code).order_by(Organisation.id)).all()
    short = display_names(session)
    cols = list(zip(*rows, strict=True)) if rows else [[] for _ in range(8)]
    ids = np.asarray(cols[0], dtype=np.int64)
    return OrgTable(ids=ids, name=list(cols[1]), display=[short.get(i, n) for i, n in zip(cols[0], cols[1],
                                                                                          strict=True)],
                    kind=list(cols[2]), is_sample=np.asarray(cols[3], dtype=bool), province=list(cols[4]),
                    section=list(cols[5]), division=list(cols[6]), city=[c or "" for c in cols[7]])


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


@dataclass(frozen=True)
class ExtractorUse:
    """An extractor version behind the database's mentions: how many, and its measured quality.

    ``quality`` is the ``extractor_versions`` row's figures (measured on the frozen real-text test
    part with this very version), or None when that version was never measured.
    """

    version: str
    mentions: int
    quality: dict[str, Any] | None


@dataclass
class EventEvidence:
    """Per event row of an :class:`EventTable`: mention count, document date range, first document."""

    mentions: np.ndarray
    first_date: list[dt.date | None]
    last_date: list[dt.date | None]
    first_url: list[str]

    @classmethod
    def empty(cls, n: int) -> EventEvidence:
        """No evidence for ``n`` events (every count 0)."""
        return cls(np.zeros(n, dtype=np.int64), [None] * n, [None] * n, [""] * n)


def load_event_evidence(session: Session, events: EventTable) -> EventEvidence:
    """Mention count, first/last document date and first document address of every event (one query).

    The first document is the earliest dated one (undated after dated), ties broken by the smallest
    address — not by document id, which depends on the order the crawl stored the pages in.
    """
    evidence = EventEvidence.empty(len(events))
    if not len(events):
        return evidence
    rows = session.execute(
        select(Mention.event_id, Document.published_on, Document.canonical_url)
        .join(Document, Document.id == Mention.document_id)).all()
    best: dict[int, tuple[bool, dt.date, str]] = {}
    for event_id, published, url in rows:
        pos = int(np.searchsorted(events.event_id, event_id))
        if pos >= len(events) or events.event_id[pos] != event_id:
            continue  # a rejected event (not in the table)
        evidence.mentions[pos] += 1
        if published is not None:
            lo, hi = evidence.first_date[pos], evidence.last_date[pos]
            evidence.first_date[pos] = published if lo is None or published < lo else lo
            evidence.last_date[pos] = published if hi is None or published > hi else hi
        key = (published is None, published or dt.date.max, url or "")  # ties by address, not by id
        if pos not in best or key < best[pos]:
            best[pos] = key
            evidence.first_url[pos] = url
    return evidence


@dataclass
class ReportData:
    """Everything the edition's statistics read from the database (loaded once, no per-row ORM loads)."""

    events: EventTable
    orgs: OrgTable
    taxonomy: Taxonomy
    tech_pairs: tuple[np.ndarray, np.ndarray]  # (event row, index into taxonomy.tech)
    domain_pairs: tuple[np.ndarray, np.ndarray]
    firms: FirmRows
    extractors: list[ExtractorUse] = field(default_factory=list)
    evidence: EventEvidence | None = None  # per event: mentions, document dates, first document


def load_extractors(session: Session) -> list[ExtractorUse]:
    """Every extractor version of the stored mentions (most mentions first) with its quality."""
    counts = session.execute(select(Mention.extractor_version, func.count()).group_by(Mention.extractor_version)).all()
    quality = dict(session.execute(select(ExtractorVersion.version, ExtractorVersion.quality)).all())
    return [ExtractorUse(v, int(n), quality.get(v)) for v, n in sorted(counts, key=lambda vn: (-vn[1], vn[0]))]


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
        extractors=load_extractors(session),
        evidence=load_event_evidence(session, events),
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



def edition_shortfalls(session: Session, edition: int, today: dt.date | None = None) -> list[str]:
    """Why the data cannot support ``edition`` in full (empty when it can).

    An edition reports the networks up to 31 December of ``edition - 1``. It is *partial* when
    that cut-off has not passed yet (``today`` <= cut-off: the year is still being reported) or
    when no cooperation event is dated in its last year (its Table 1 row would copy the year
    before). ``aimap analyze`` and ``aimap index`` refuse a partial edition unless told
    ``--allow-partial``; the front page then states these reasons.
    """
    today = today or dt.date.today()
    last = edition - 1
    cutoff = dt.date(last, 12, 31)
    reasons = []
    if cutoff >= today:
        reasons.append(f"数据截止日 {cutoff} 尚未过去（今天 {today}）(the data cut-off {cutoff} has not passed; "
                       f"today is {today})")
    in_last = session.scalar(select(func.count()).select_from(CooperationEvent).where(CooperationEvent.year == last))
    if not in_last:
        reasons.append(f"{last} 年没有任何合作事件 (no cooperation event is dated {last})")
    return reasons


def check_edition(session: Session, edition: int, *, allow_partial: bool = False,
                  today: dt.date | None = None) -> list[str]:
    """:func:`edition_shortfalls`; raise :class:`ReportError` (one line) unless ``allow_partial``."""
    reasons = edition_shortfalls(session, edition, today)
    if reasons and not allow_partial:
        english = "; ".join(r.split("(", 1)[-1].rstrip(")") for r in reasons)
        raise ReportError(f"edition {edition} is not supported by the data: {english}; choose another --edition "
                          "or pass --allow-partial (stated on the front page)")
    return reasons
