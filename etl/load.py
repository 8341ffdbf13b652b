"""Load extracted relations: documents -> organisations, cooperation events and mentions.

:func:`run_etl` processes every document whose current text has not been extracted by this
extractor version yet (new documents, changed documents, or a new extractor version), in
batches, each batch one transaction. It is idempotent: re-running on unchanged documents
changes nothing. Every event keeps its provenance as ``mentions`` (document, extractor
version, sentence). A document that cannot be processed becomes a ``pipeline_errors`` row and
the run goes on.

Event identity (deduplication): a *directed* event is (provider, receiver, year); a *mutual*
event is the unordered pair and the year. A second document reporting the same cooperation adds
a mention to the existing event. A mutual event is stored with the sample firm as provider
(the firm whose announcement reported it; when both or neither are sample firms, the first one
named) — the orientation rule the analysis documents.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from db.models import (
    Alias,
    ApplicationDomain,
    City,
    CooperationEvent,
    Document,
    EventApplicationDomain,
    EventTechCategory,
    IndustryDivision,
    Mention,
    Organisation,
    PipelineError,
    Province,
    TechCategory,
    utcnow,
)
from etl.extract import EXTRACTOR_VERSION, LEXICON_DIR, Gazetteer, Relation, extract_document, load_lexicon

SEED_FILE = LEXICON_DIR / "seed_organisations.yml"


@dataclass
class EtlReport:
    """Counts of one ETL run."""

    documents: int = 0
    relations: int = 0
    events_new: int = 0
    mentions_new: int = 0
    organisations_new: int = 0
    errors: int = 0
    error_messages: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        """Counts only (for run records and artifacts)."""
        return {k: v for k, v in self.__dict__.items() if isinstance(v, int)}


class _Resolver:
    """Maps mention names to organisation ids, creating organisations for new names."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.gazetteer = Gazetteer()
        self.sample: set[int] = set()
        for org_id, name, is_sample in session.execute(
            select(Organisation.id, Organisation.name, Organisation.is_sample)
        ):
            self.gazetteer.add(name, org_id)
            if is_sample:
                self.sample.add(org_id)
        for org_id, name in session.execute(select(Alias.organisation_id, Alias.name)):
            self.gazetteer.add(name, org_id)
        self.provinces = {name: code for code, name in session.execute(select(Province.code, Province.name))}
        self.province_short = {
            short: code for code, short in session.execute(select(Province.code, Province.short_name))
        }
        self.cities = {(name, prov): code for code, name, prov in session.execute(
            select(City.code, City.name, City.province_code)
        )}
        self.divisions = {code: section for code, section in session.execute(
            select(IndustryDivision.code, IndustryDivision.section_code)
        )}
        self.seed = {entry["name"]: entry for entry in yaml.safe_load(SEED_FILE.read_text(encoding="utf-8"))}
        for entry in self.seed.values():
            for name in [entry["name"], *entry.get("aliases", [])]:
                if name not in self.gazetteer:
                    self.gazetteer.add(name, ("seed", entry["name"]))

    def locate(self, name: str) -> tuple[str | None, str | None]:
        """Province and city codes named at the start of an organisation's name."""
        for (city, prov), code in self.cities.items():
            stem = city.removesuffix("市")
            if len(stem) >= 2 and name.startswith(stem):
                return prov, code
        for pname, code in {**self.provinces, **self.province_short}.items():
            if name.startswith(pname):
                return code, None
        return None, None

    def resolve(self, key: object, name: str, kind: str | None) -> int:
        """Organisation id for a mention, creating the organisation when it is new."""
        if isinstance(key, int):
            return key
        if isinstance(key, tuple) and key[0] == "seed":
            entry = self.seed[key[1]]
            province = self.provinces.get(entry.get("province", ""))
            city = self.cities.get((entry.get("city", ""), province)) if entry.get("city") else None
            division = entry.get("division")
            org = Organisation(
                name=entry["name"],
                kind=entry.get("kind", "other"),
                is_sample=False,
                origin="seed",
                province_code=province,
                city_code=city,
                industry_division=division if division in self.divisions else None,
                industry_section=self.divisions.get(division) if division else None,
            )
            aliases = [("full", entry["name"])] + [
                ("english" if a.isascii() else "short", a) for a in entry.get("aliases", [])
            ]
        else:
            province, city = self.locate(name)
            org = Organisation(
                name=name, kind=kind or "other", is_sample=False, origin="extracted",
                province_code=province, city_code=city,
            )
            aliases = [("full", name)]
        org.aliases = [Alias(name=n, kind=k, source=org.origin) for k, n in aliases]
        self.session.add(org)
        self.session.flush()
        for _, alias in aliases:
            self.gazetteer.replace(alias, org.id)
        return org.id


def event_key(provider_id: int, receiver_id: int, direction: str, year: int) -> str:
    """Deduplication key of an event (see module docstring)."""
    if direction == "mutual":
        a, b = sorted((provider_id, receiver_id))
        raw = f"mutual|{a}|{b}|{year}"
    else:
        raw = f"directed|{provider_id}|{receiver_id}|{year}"
    return hashlib.sha256(raw.encode()).hexdigest()


def pending_documents(session: Session, limit: int | None = None) -> list[int]:
    """Ids of documents whose current text this extractor version has not processed."""
    stmt = (
        select(Document.id)
        .where(
            or_(
                Document.extracted_sha256.is_(None),
                Document.extracted_sha256 != Document.content_sha256,
                Document.extractor_version != EXTRACTOR_VERSION,
            )
        )
        .order_by(Document.id)
    )
    if limit:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def _store(session: Session, doc: Document, rel: Relation, resolver: _Resolver, report: EtlReport) -> None:
    year = rel.year
    if year is None:
        raise ValueError("no date in the sentence and no publication date")
    p = resolver.resolve(rel.provider.key, rel.provider.name, rel.provider.kind)
    r = resolver.resolve(rel.receiver.key, rel.receiver.name, rel.receiver.kind)
    if p == r:
        return
    reporter = None
    if rel.direction == "mutual":
        if r in resolver.sample and p not in resolver.sample:
            p, r = r, p
        reporter = p if p in resolver.sample else None
    key = event_key(p, r, rel.direction, year)
    event = session.scalars(select(CooperationEvent).where(CooperationEvent.event_key == key)).first()
    if event is None:
        event = CooperationEvent(
            event_key=key, provider_id=p, receiver_id=r, reported_by_id=reporter, kind=rel.kind,
            direction=rel.direction, year=year, event_date=rel.event_date,
        )
        session.add(event)
        session.flush()
        report.events_new += 1
    tech = set(session.scalars(select(EventTechCategory.category_code).where(EventTechCategory.event_id == event.id)))
    for code in _codes(session, TechCategory, rel.tech_categories) - tech:
        session.add(EventTechCategory(event_id=event.id, category_code=code))
    domains = set(session.scalars(
        select(EventApplicationDomain.domain_code).where(EventApplicationDomain.event_id == event.id)
    ))
    for code in _codes(session, ApplicationDomain, rel.application_domains) - domains:
        session.add(EventApplicationDomain(event_id=event.id, domain_code=code))
    exists = session.scalars(
        select(Mention.id).where(Mention.event_id == event.id, Mention.document_id == doc.id)
    ).first()
    if exists is None:
        session.add(Mention(
            event_id=event.id, document_id=doc.id, extractor_version=EXTRACTOR_VERSION,
            confidence=rel.confidence, sentence=rel.sentence[:2000],
        ))
        session.flush()
        report.mentions_new += 1


def _codes(session: Session, model: type[TechCategory] | type[ApplicationDomain], names: list[str]) -> set[str]:
    if not names:
        return set()
    return set(session.scalars(select(model.code).where(model.name.in_(names))))


def _forget_previous(session: Session, doc_id: int) -> None:
    """Remove this document's earlier mentions, and events left without any evidence."""
    event_ids = set(session.scalars(select(Mention.event_id).where(Mention.document_id == doc_id)))
    if not event_ids:
        return
    session.execute(delete(Mention).where(Mention.document_id == doc_id))
    still = set(session.scalars(select(Mention.event_id).where(Mention.event_id.in_(event_ids))))
    orphans = event_ids - still
    if orphans:
        session.execute(delete(EventTechCategory).where(EventTechCategory.event_id.in_(orphans)))
        session.execute(delete(EventApplicationDomain).where(EventApplicationDomain.event_id.in_(orphans)))
        session.execute(delete(CooperationEvent).where(CooperationEvent.id.in_(orphans)))


def run_etl(
    session: Session,
    *,
    batch_size: int = 200,
    limit: int | None = None,
    run_id: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> EtlReport:
    """Extract events from every pending document; commit after each batch.

    ``progress(done, total)`` is called after each batch (for CLI progress bars and Prefect
    progress artifacts).
    """
    report = EtlReport()
    orgs_before = _count_orgs(session)
    lexicon = load_lexicon()
    resolver = _Resolver(session)
    ids = pending_documents(session, limit)
    for start in range(0, len(ids), batch_size):
        for doc_id in ids[start : start + batch_size]:
            doc = session.get(Document, doc_id)
            if doc is None:
                continue
            report.documents += 1
            savepoint = session.begin_nested()
            try:
                _forget_previous(session, doc.id)
                if not doc.text.strip():
                    raise ValueError("document has no text")
                relations = extract_document(doc.text, doc.published_on, resolver.gazetteer, lexicon)
                report.relations += len(relations)
                for rel in relations:
                    _store(session, doc, rel, resolver, report)
                savepoint.commit()
            except Exception as exc:  # recorded, never crashes the run
                savepoint.rollback()
                resolver = _Resolver(session)  # organisations created in the savepoint are gone
                report.errors += 1
                message = f"{doc.canonical_url}: {type(exc).__name__}: {exc}"
                report.error_messages.append(message)
                session.add(PipelineError(
                    run_id=run_id, stage="etl", kind="extraction_failed", location=doc.canonical_url,
                    field="text", reason=f"{type(exc).__name__}: {exc}", payload={"document_id": doc.id},
                ))
            doc.extracted_sha256 = doc.content_sha256
            doc.extractor_version = EXTRACTOR_VERSION
            doc.extracted_at = utcnow()
        session.commit()
        if progress:
            progress(min(start + batch_size, len(ids)), len(ids))
    report.organisations_new = _count_orgs(session) - orgs_before
    return report


def _count_orgs(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Organisation)) or 0


def seed_file_path() -> Path:
    """Path of the seed gazetteer (documented in the README)."""
    return SEED_FILE
