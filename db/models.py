"""SQLAlchemy 2 typed models: the one schema every stage reads and writes.

The schema is identical on PostgreSQL (production) and SQLite (embedded default): only
portable column types are used (``JSON``, ``LargeBinary``, ``Date``, ``DateTime``), and the
Alembic revisions under ``db/migrations/`` create exactly these tables (a test compares them).

Layout, following GDELT's split of *events* and *mentions*:

- ``organisations`` holds every node of the value network. Sample firms (the institute's
  list, ``is_sample``) carry ``firm_attributes`` and yearly ``firm_financials``; relation
  nodes (partners: firms, universities, research institutes, government bodies, foreign
  suppliers ...) carry only the common columns. Names live in ``aliases``.
- ``documents`` are crawled pages; ``pipeline_errors`` records every bad input.
- ``cooperation_events`` store each cooperation once (provider -> receiver); every document
  that reports it is a row in ``mentions`` (provenance: document, extractor version).
- Taxonomies (technology categories, application domains, GB/T 4754-2017, provinces, cities,
  regional groupings) are seeded from the data files in ``db/data/``.
- ``network_snapshots`` and ``pipeline_runs`` record what the analysis and the flows did.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from common.vocab import ORG_KINDS  # the shared vocabulary (organisations.kind)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: ``ORG_KINDS``, the kinds of organisation (network node), is the shared vocabulary (``common/vocab.py``).
ALIAS_KINDS = ("full", "short", "former", "english", "stock_short")
TECH_LAYERS = ("基础层", "技术层", "应用层")
EXCHANGES = ("SSE", "SZSE", "BSE", "HKEX", "NASDAQ", "NYSE", "OTHER")
EVENT_DIRECTIONS = ("directed", "mutual")
EVENT_STATUSES = ("active", "terminated")


def utcnow() -> dt.datetime:
    """Timezone-aware 'now' used for every timestamp column."""
    return dt.datetime.now(dt.UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


class Base(DeclarativeBase):
    """Declarative base with a naming convention so constraint names match on both engines."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


# --------------------------------------------------------------------------- taxonomies


class TechCategory(Base):
    """One of the report's 24 technology categories (大数据和云计算, 物联网, ...)."""

    __tablename__ = "tech_categories"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    sort_order: Mapped[int] = mapped_column(Integer)


class ApplicationDomain(Base):
    """One of the report's 20 application domains (企业智能管理, 智慧城市, ...)."""

    __tablename__ = "application_domains"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    sort_order: Mapped[int] = mapped_column(Integer)


class IndustrySection(Base):
    """GB/T 4754-2017 section (门类, A-T)."""

    __tablename__ = "industry_sections"
    code: Mapped[str] = mapped_column(String(1), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))


class IndustryDivision(Base):
    """GB/T 4754-2017 division (大类, 01-97) with its three-sector assignment (三次产业)."""

    __tablename__ = "industry_divisions"
    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    section_code: Mapped[str] = mapped_column(ForeignKey("industry_sections.code"), index=True)
    sector: Mapped[str] = mapped_column(String(8))


class Province(Base):
    """Province-level division (GB/T 2260 two-digit code, e.g. 11 = 北京市)."""

    __tablename__ = "provinces"
    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(16), unique=True)
    short_name: Mapped[str] = mapped_column(String(8), unique=True)


class City(Base):
    """Prefecture-level city (six-digit administrative code) within a province."""

    __tablename__ = "cities"
    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(32))
    province_code: Mapped[str] = mapped_column(ForeignKey("provinces.code"), index=True)
    __table_args__ = (UniqueConstraint("province_code", "name"),)


class Region(Base):
    """A regional grouping of provinces used by the report (京津冀, 长江三角洲, ...)."""

    __tablename__ = "regions"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(16), unique=True)
    sort_order: Mapped[int] = mapped_column(Integer)


class RegionProvince(Base):
    """Membership of a province in a regional grouping (a province may be in several)."""

    __tablename__ = "region_provinces"
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), primary_key=True)
    province_code: Mapped[str] = mapped_column(ForeignKey("provinces.code"), primary_key=True)


# --------------------------------------------------------------------------- organisations


class Organisation(Base):
    """A node of the value network: a sample firm or a relation node (any partner)."""

    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    kind: Mapped[str] = mapped_column(String(24), default="firm")
    is_sample: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    province_code: Mapped[str | None] = mapped_column(ForeignKey("provinces.code"), index=True)
    city_code: Mapped[str | None] = mapped_column(ForeignKey("cities.code"))
    industry_section: Mapped[str | None] = mapped_column(ForeignKey("industry_sections.code"))
    industry_division: Mapped[str | None] = mapped_column(ForeignKey("industry_divisions.code"))
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    stock_code: Mapped[str | None] = mapped_column(String(16))
    stock_exchange: Mapped[str | None] = mapped_column(String(8))
    origin: Mapped[str] = mapped_column(String(24), default="registry")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    aliases: Mapped[list[Alias]] = relationship(back_populates="organisation", cascade="all, delete-orphan")
    attributes: Mapped[FirmAttributes | None] = relationship(
        back_populates="organisation", cascade="all, delete-orphan"
    )

    __table_args__ = (
        UniqueConstraint("stock_exchange", "stock_code"),
        CheckConstraint(_in("kind", ORG_KINDS), name="kind"),
        CheckConstraint(
            "stock_exchange IS NULL OR " + _in("stock_exchange", EXCHANGES), name="stock_exchange"
        ),
    )


class FirmAttributes(Base):
    """Attributes of a sample firm from the institute's registry (report section 一)."""

    __tablename__ = "firm_attributes"
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    founded_on: Mapped[dt.date | None] = mapped_column(Date)
    employees: Mapped[int | None] = mapped_column(Integer)
    listed: Mapped[bool] = mapped_column(Boolean, default=False)
    tech_layer: Mapped[str | None] = mapped_column(String(8))
    patents: Mapped[int | None] = mapped_column(Integer)

    organisation: Mapped[Organisation] = relationship(back_populates="attributes")
    __table_args__ = (
        CheckConstraint("tech_layer IS NULL OR " + _in("tech_layer", TECH_LAYERS), name="tech_layer"),
    )


class FirmFinancials(Base):
    """A sample firm's yearly key figures (revenue and R&D expense in CNY) for one fiscal year."""

    __tablename__ = "firm_financials"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    fiscal_year: Mapped[int] = mapped_column(Integer)
    revenue_cny: Mapped[float | None] = mapped_column(Numeric(20, 2))
    rd_expense_cny: Mapped[float | None] = mapped_column(Numeric(20, 2))
    source: Mapped[str] = mapped_column(String(64), default="registry")
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    __table_args__ = (UniqueConstraint("organisation_id", "fiscal_year"),)


class Alias(Base):
    """A name under which an organisation appears (legal, short, former, English, stock short)."""

    __tablename__ = "aliases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(32), default="registry")

    organisation: Mapped[Organisation] = relationship(back_populates="aliases")
    __table_args__ = (
        UniqueConstraint("organisation_id", "name", "kind"),
        CheckConstraint(_in("kind", ALIAS_KINDS), name="kind"),
    )


# --------------------------------------------------------------------------- crawl


class Source(Base):
    """A publisher of documents (a newsroom, an exchange announcement service, a portal, a feed)."""

    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(24))
    publisher: Mapped[str | None] = mapped_column(String(255))
    base_url: Mapped[str | None] = mapped_column(String(1024))
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Document(Base):
    """A crawled page: one row per canonical URL, holding its current content and raw bytes.

    ``content_sha256`` is the hash of the extracted text; the ETL stage records which hash it
    processed (``extracted_sha256``) so a changed page is re-extracted and an unchanged one
    is not.
    """

    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"), index=True)
    canonical_url: Mapped[str] = mapped_column(String(2048), unique=True)
    url: Mapped[str] = mapped_column(String(2048))
    http_status: Mapped[int | None] = mapped_column(Integer)
    content_sha256: Mapped[str] = mapped_column(String(64))
    fetched_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    published_on: Mapped[dt.date | None] = mapped_column(Date)
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str | None] = mapped_column(String(8))
    encoding: Mapped[str | None] = mapped_column(String(32))
    raw_gz: Mapped[bytes | None] = mapped_column(LargeBinary)
    raw_path: Mapped[str | None] = mapped_column(String(1024))
    extracted_sha256: Mapped[str | None] = mapped_column(String(64))
    extractor_version: Mapped[str | None] = mapped_column(String(32))
    extracted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    etag: Mapped[str | None] = mapped_column(String(256))
    last_modified: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    checked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    #: what the source states beside the text (an announcement's 证券代码/证券简称/公告编号; revision 0005)
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class DocumentVersion(Base):
    """An earlier content of a document: kept when a re-crawl finds the page changed.

    ``documents`` always holds the current version (``documents.version``); every replaced
    version is copied here first, so no content a crawl once saw is lost.
    """

    __tablename__ = "document_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content_sha256: Mapped[str] = mapped_column(String(64))
    fetched_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    published_on: Mapped[dt.date | None] = mapped_column(Date)
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text, default="")
    raw_gz: Mapped[bytes | None] = mapped_column(LargeBinary)
    __table_args__ = (UniqueConstraint("document_id", "version"),)


class PipelineError(Base):
    """A recorded bad input or failure: what (stage, kind), where (URL, file:row, field), why."""

    __tablename__ = "pipeline_errors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("pipeline_runs.id", ondelete="SET NULL"))
    stage: Mapped[str] = mapped_column(String(16), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    location: Mapped[str] = mapped_column(String(2048))
    field: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --------------------------------------------------------------------------- events


class CooperationEvent(Base):
    """One technology cooperation, stored once: ``provider`` enables (技术赋能) ``receiver``.

    ``direction`` is ``directed`` when the text says who provides technology to whom and
    ``mutual`` for symmetric agreements; a mutual event is stored with the reporting sample
    firm as provider (``reported_by_id``) and the analysis applies the orientation rule.
    ``event_key`` identifies the event for deduplication (a new document reporting the same
    cooperation becomes a new mention, not a new event).
    """

    __tablename__ = "cooperation_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_key: Mapped[str] = mapped_column(String(64), unique=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    receiver_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    kind: Mapped[str] = mapped_column(String(32))
    direction: Mapped[str] = mapped_column(String(8), default="directed")
    status: Mapped[str] = mapped_column(String(16), default="active")
    year: Mapped[int] = mapped_column(Integer, index=True)
    event_date: Mapped[dt.date | None] = mapped_column(Date)
    terminated_on: Mapped[dt.date | None] = mapped_column(Date)
    #: False while only termination notices report the event (revision 0006, ``etl.events.meet``)
    announced: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    mentions: Mapped[list[Mention]] = relationship(back_populates="event", cascade="all, delete-orphan")
    # Many-to-one links (no back-references): besides navigation they tell the unit of work that
    # new organisations are inserted before new events that name them, when a loader sets only
    # the ids (etl.load writes a batch in one flush).
    provider: Mapped[Organisation] = relationship(foreign_keys=[provider_id])
    receiver: Mapped[Organisation] = relationship(foreign_keys=[receiver_id])
    reported_by: Mapped[Organisation | None] = relationship(foreign_keys=[reported_by_id])
    __table_args__ = (
        CheckConstraint("provider_id <> receiver_id", name="no_self_loop"),
        CheckConstraint(_in("direction", EVENT_DIRECTIONS), name="direction"),
        CheckConstraint(_in("status", EVENT_STATUSES), name="status"),
    )


class EventTechCategory(Base):
    """Technology category of a cooperation event (an event may have several)."""

    __tablename__ = "event_tech_categories"
    event_id: Mapped[int] = mapped_column(
        ForeignKey("cooperation_events.id", ondelete="CASCADE"), primary_key=True
    )
    category_code: Mapped[str] = mapped_column(ForeignKey("tech_categories.code"), primary_key=True)
    event: Mapped[CooperationEvent] = relationship()  # insert order: events before their labels


class EventApplicationDomain(Base):
    """Application domain of a cooperation event (an event may have several)."""

    __tablename__ = "event_application_domains"
    event_id: Mapped[int] = mapped_column(
        ForeignKey("cooperation_events.id", ondelete="CASCADE"), primary_key=True
    )
    domain_code: Mapped[str] = mapped_column(ForeignKey("application_domains.code"), primary_key=True)
    event: Mapped[CooperationEvent] = relationship()  # insert order: events before their labels


class Mention(Base):
    """Evidence: a document reports an event (provenance of every edge)."""

    __tablename__ = "mentions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("cooperation_events.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    extractor_version: Mapped[str] = mapped_column(String(32))
    confidence: Mapped[float] = mapped_column(Float, default=1.0)
    sentence: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    event: Mapped[CooperationEvent] = relationship(back_populates="mentions")
    __table_args__ = (UniqueConstraint("event_id", "document_id"),)


# --------------------------------------------------------------------------- analysis & runs


class NetworkSnapshot(Base):
    """Statistics of one yearly value network as computed from a given version of the data.

    ``window_years`` is ``None`` for the cumulative network (all events up to ``year``) and
    ``k`` for a rolling window of k years. ``data_version`` is a hash of the edge list, so the
    same data computed twice is one snapshot.
    """

    __tablename__ = "network_snapshots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    edition: Mapped[int | None] = mapped_column(Integer)
    year: Mapped[int] = mapped_column(Integer)
    window_years: Mapped[int | None] = mapped_column(Integer)
    data_version: Mapped[str] = mapped_column(String(64))
    sample_nodes: Mapped[int] = mapped_column(Integer)
    relation_nodes: Mapped[int] = mapped_column(Integer)
    nodes: Mapped[int] = mapped_column(Integer)
    edges: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("pipeline_runs.id", ondelete="SET NULL"))
    __table_args__ = (UniqueConstraint("year", "window_years", "data_version"),)


class PipelineRun(Base):
    """One run of a pipeline step or flow: parameters, counts, state, timing."""

    __tablename__ = "pipeline_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flow: Mapped[str] = mapped_column(String(64), index=True)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="running")
    message: Mapped[str | None] = mapped_column(Text)
    prefect_flow_run_id: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class ExtractorVersion(Base):
    """An extractor version the ETL has run, with its measured quality (revision 0004).

    ``quality`` holds the figures measured on the frozen test part of the real-text corpus
    (``etl/data/extractor-quality.json``, written by ``benchmarks/bench_etl.py --record-quality``)
    when they were measured with this very version, else null ("not measured"). The report
    bundle's data-quality section reads it for the versions behind an edition's mentions.
    """

    __tablename__ = "extractor_versions"
    version: Mapped[str] = mapped_column(String(32), primary_key=True)
    quality: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


Index("ix_cooperation_events_pair", CooperationEvent.provider_id, CooperationEvent.receiver_id)

#: Tables whose row counts ``aimap status`` reports, in display order.
STATUS_TABLES = {
    "organisations": Organisation,
    "aliases": Alias,
    "documents": Document,
    "errors": PipelineError,
    "events": CooperationEvent,
    "mentions": Mention,
    "snapshots": NetworkSnapshot,
    "runs": PipelineRun,
}


# --------------------------------------------------------------------------- resolution, dedup, review
# Entity-resolution judgements, document fingerprints and analyst reviews (etl/resolve/,
# etl/dedup.py, etl/review.py; revision 0003).

#: A judgement on a pair of organisation references, as in nomenklatura: ``pending`` is a merge
#: suggestion waiting in the review queue, the three others are settled decisions.
JUDGEMENTS = ("positive", "negative", "unsure", "pending")
#: An analyst's decision on a low-confidence cooperation event.
REVIEW_STATES = ("accepted", "rejected")
#: How a document is linked in its duplicate cluster: to no other document, to one with the same
#: text hash, or to a near copy (MinHash similarity).
DUPLICATE_MATCHES = ("self", "exact", "near")


class Judgement(Base):
    """A decision whether two organisation references denote the same organisation.

    References are portable, so the decisions can be exported and re-applied to another
    database: ``uscc:<统一社会信用代码>``, ``stock:<exchange>:<code>`` or ``name:<name>`` (a name
    is used only when the organisation has no identifier). A pair has one row, with
    ``left_ref < right_ref``; ``left_id``/``right_id`` are the organisations the references
    denoted in this database (re-pointed by merges). ``automatic`` decisions were taken by the
    resolver (``decided_by`` names it), the others by the analyst in ``decided_by``.
    """

    __tablename__ = "judgements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    left_ref: Mapped[str] = mapped_column(String(300))
    right_ref: Mapped[str] = mapped_column(String(300))
    left_name: Mapped[str] = mapped_column(String(255))
    right_name: Mapped[str] = mapped_column(String(255))
    left_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="SET NULL"), index=True)
    right_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="SET NULL"), index=True)
    judgement: Mapped[str] = mapped_column(String(8), index=True)
    score: Mapped[float | None] = mapped_column(Float)
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # insert order: organisations before the judgements that name them (see CooperationEvent)
    left: Mapped[Organisation | None] = relationship(foreign_keys=[left_id])
    right: Mapped[Organisation | None] = relationship(foreign_keys=[right_id])
    __table_args__ = (
        UniqueConstraint("left_ref", "right_ref"),
        CheckConstraint(_in("judgement", JUDGEMENTS), name="judgement"),
    )


class EventReview(Base):
    """An analyst's decision on a cooperation event, keyed by ``event_key``.

    Keyed by the event's deduplication key rather than its id, so the decision survives a
    re-extraction that deletes and re-creates the event: an accepted event is not queued again
    and a rejected one stays excluded from the analysis.
    """

    __tablename__ = "event_reviews"
    event_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(8), index=True)
    decided_by: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (CheckConstraint(_in("state", REVIEW_STATES), name="state"),)


class DocumentFingerprint(Base):
    """A document's MinHash signature and its duplicate cluster (see :mod:`etl.dedup`).

    ``cluster_id`` is the smallest document id of the cluster (documents with the same text
    hash, or connected by a near-duplicate similarity above the threshold); ``match`` and
    ``similarity`` say how this document is linked. The signature is stored (``params`` names
    how it was computed) so the index is rebuilt without re-reading texts; ``content_sha256``
    says which content it was computed from.
    """

    __tablename__ = "document_fingerprints"
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True)
    content_sha256: Mapped[str] = mapped_column(String(64), index=True)
    params: Mapped[str] = mapped_column(String(64))
    minhash: Mapped[bytes | None] = mapped_column(LargeBinary)
    cluster_id: Mapped[int] = mapped_column(Integer, index=True)
    match: Mapped[str] = mapped_column(String(8), default="self")
    similarity: Mapped[float | None] = mapped_column(Float)
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (CheckConstraint(_in("match", DUPLICATE_MATCHES), name="match"),)
