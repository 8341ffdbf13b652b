"""Load extracted relations: documents -> organisations, cooperation events and mentions.

:func:`run_etl` processes every document whose current text this extractor version has not
processed (new documents, changed documents, or a new extractor version; ``reprocess=True``
takes all), in batches, each batch one transaction. It is idempotent: re-running on unchanged
documents changes nothing, and a changed document first withdraws its own earlier mentions
(events left without evidence are removed), so it re-extracts only what it affects. Every event
keeps its provenance as ``mentions`` (document, extractor version, confidence, the sentence).
A document that cannot be processed becomes a ``pipeline_errors`` row (quarantine) and the run
goes on.

Event identity (deduplication, GDELT style: one event, many mentions): a *directed* event is
(provider, receiver, year); a *mutual* event is the unordered pair and the year. A second
document reporting the same cooperation adds a mention. A mutual event is stored with the
sample firm as provider (when both or neither are sample firms, the first one named) — the
orientation rule the analysis documents. A *terminated* relation marks the pair's existing
event terminated (``terminated_on`` = the document's date) instead of adding an edge; a
*historical* one (a cooperation recalled with its own year) is an event of that year.
Names are resolved to organisations by :mod:`etl.resolve` when available (identifiers, aliases,
fuzzy matching with recorded judgements), else by exact alias; new names become organisations
with kind, place and industry from :mod:`etl.gazetteer`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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
    Mention,
    Organisation,
    PipelineError,
    Province,
    TechCategory,
    utcnow,
)
from etl.extract import EXTRACTOR_VERSION, Gazetteer, OrgRef, Relation, extract_document, load_lexicon
from etl.gazetteer import industry_of, place_of, seed_organisations


@dataclass
class EtlReport:
    """Counts of one ETL run."""

    documents: int = 0
    relations: int = 0
    events_new: int = 0
    events_updated: int = 0
    events_terminated: int = 0
    events_removed: int = 0
    mentions_new: int = 0
    organisations_new: int = 0
    merges: int = 0
    quarantined: int = 0
    error_messages: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        """Counts only (for run records, artifacts and ``--json``)."""
        return {k: v for k, v in self.__dict__.items() if isinstance(v, int)}


class _Organisations:
    """Maps mention names to organisation ids, creating organisations for new names."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.gazetteer = Gazetteer()
        self.sample: set[int] = set()
        refs: dict[int, OrgRef] = {}
        for org_id, name, is_sample, kind, prov in session.execute(
            select(Organisation.id, Organisation.name, Organisation.is_sample, Organisation.kind,
                   Organisation.province_code)
        ):
            refs[org_id] = OrgRef(name, kind, prov, org_id)
            self.gazetteer.add(name, refs[org_id])
            if is_sample:
                self.sample.add(org_id)
        for org_id, name in session.execute(select(Alias.organisation_id, Alias.name)):
            if org_id in refs and name not in self.gazetteer:
                self.gazetteer.add(name, refs[org_id])
        self.seeds = {s.name: s for s in seed_organisations()}
        for seed in self.seeds.values():
            ref = OrgRef(seed.name, seed.kind, seed.province)
            for name in (seed.name, *seed.aliases):
                if name not in self.gazetteer:
                    self.gazetteer.add(name, ref)
        self.provinces = {name: code for code, name in session.execute(select(Province.code, Province.name))}
        self.cities = {(name, prov): code for code, name, prov in session.execute(
            select(City.code, City.name, City.province_code))}
        self.resolver = _optional_resolver(session)

    def resolve(self, key: object, name: str, kind: str | None) -> int:
        """Organisation id for a mention, creating the organisation when it is new."""
        if isinstance(key, OrgRef) and key.org_id is not None:
            return key.org_id
        if isinstance(key, OrgRef) and key.canonical in self.seeds:
            seed = self.seeds[key.canonical]
            names = [("full", seed.name)] + [("english" if a.isascii() else "short", a) for a in seed.aliases]
            org_id = self._create(seed.name, seed.kind, "seed", seed.province, seed.city, seed.division, names)
        else:
            if self.resolver is not None:
                found = self.resolver.resolve(name, kind_hint=kind)
                if found is not None:
                    self.gazetteer.replace(name, OrgRef(name, kind, None, found))
                    return found
            province, city = place_of(name)
            _section, division = industry_of(name, kind or "other")
            org_id = self._create(name, kind or "other", "extracted", province, city, division, [("full", name)])
        return org_id

    def _create(self, name: str, kind: str, origin: str, province: str | None, city: str | None,
                division: str | None, names: list[tuple[str, str]]) -> int:
        existing = self.session.scalars(select(Organisation.id).where(Organisation.name == name)).first()
        if existing is not None:
            org_id = existing
        else:
            prov_code = self.provinces.get(province or "")
            section = None
            if division:
                from etl.gazetteer import division_sections

                section = division_sections().get(division)
            org = Organisation(
                name=name, kind=kind, is_sample=False, origin=origin, province_code=prov_code,
                city_code=self.cities.get((city or "", prov_code)) if prov_code else None,
                industry_section=section, industry_division=division if section else None,
            )
            org.aliases = [Alias(name=n, kind=k, source=origin) for k, n in _unique(names)]
            self.session.add(org)
            self.session.flush()
            org_id = org.id
            if self.resolver is not None:
                self.resolver.register(org_id, name)
        ref = OrgRef(name, kind, province, org_id)
        for _, alias in names:
            self.gazetteer.replace(alias, ref)
        return org_id


def _unique(names: list[tuple[str, str]]) -> list[tuple[str, str]]:
    seen, out = set(), []
    for kind, name in names:
        if (kind, name) not in seen:
            seen.add((kind, name))
            out.append((kind, name))
    return out


def _optional_resolver(session: Session) -> Any:
    """The entity resolver of :mod:`etl.resolve` if it is installed (it is optional here)."""
    try:
        from etl.resolve import Resolver
    except ImportError:
        return None
    if not (hasattr(Resolver, "resolve") and hasattr(Resolver, "register")):
        return None
    return Resolver(session)


def event_key(provider_id: int, receiver_id: int, direction: str, year: int) -> str:
    """Deduplication key of an event (see module docstring)."""
    if direction == "mutual":
        a, b = sorted((provider_id, receiver_id))
        raw = f"mutual|{a}|{b}|{year}"
    else:
        raw = f"directed|{provider_id}|{receiver_id}|{year}"
    return hashlib.sha256(raw.encode()).hexdigest()


def pending_documents(session: Session, limit: int | None = None, reprocess: bool = False) -> list[int]:
    """Ids of documents whose current text this extractor version has not processed."""
    stmt = select(Document.id).order_by(Document.id)
    if not reprocess:
        stmt = stmt.where(or_(
            Document.extracted_sha256.is_(None),
            Document.extracted_sha256 != Document.content_sha256,
            Document.extractor_version != EXTRACTOR_VERSION,
        ))
    if limit:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def _codes(session: Session, model: type[TechCategory] | type[ApplicationDomain], names: list[str]) -> set[str]:
    if not names:
        return set()
    return set(session.scalars(select(model.code).where(model.name.in_(names))))


def _store(session: Session, doc: Document, rel: Relation, orgs: _Organisations, report: EtlReport) -> None:
    year = rel.year
    if year is None:
        raise ValueError("no date in the sentence and no publication date")
    p = orgs.resolve(rel.provider.key, rel.provider.name, rel.provider.kind)
    r = orgs.resolve(rel.receiver.key, rel.receiver.name, rel.receiver.kind)
    if p == r:
        return
    reporter = None
    if rel.direction == "mutual":
        if r in orgs.sample and p not in orgs.sample:
            p, r = r, p
        reporter = p if p in orgs.sample else None
    if rel.status == "terminated":
        pair = [(p, r), (r, p)]
        existing = session.scalars(
            select(CooperationEvent).where(
                or_(*[(CooperationEvent.provider_id == a) & (CooperationEvent.receiver_id == b) for a, b in pair]),
                CooperationEvent.year <= year,
            ).order_by(CooperationEvent.year.desc())
        ).first()
        ended = doc.published_on or dt.date(year, 12, 31)
        if existing is not None:
            if existing.status != "terminated" or existing.terminated_on != ended:
                existing.status, existing.terminated_on = "terminated", ended
                report.events_terminated += 1
            _mention(session, existing, doc, rel, report)
            return
    key = event_key(p, r, rel.direction, year)
    event = session.scalars(select(CooperationEvent).where(CooperationEvent.event_key == key)).first()
    if event is None:
        event = CooperationEvent(
            event_key=key, provider_id=p, receiver_id=r, reported_by_id=reporter, kind=rel.kind,
            direction=rel.direction, year=year, event_date=rel.event_date,
            status="terminated" if rel.status == "terminated" else "active",
            terminated_on=(doc.published_on or dt.date(year, 12, 31)) if rel.status == "terminated" else None,
        )
        session.add(event)
        session.flush()
        report.events_new += 1
    else:
        changed = False
        if event.kind == "other" and rel.kind != "other":
            event.kind, changed = rel.kind, True
        if event.event_date is None and rel.event_date is not None:
            event.event_date, changed = rel.event_date, True
        report.events_updated += int(changed)
    _labels(session, event, rel)
    _mention(session, event, doc, rel, report)


def _labels(session: Session, event: CooperationEvent, rel: Relation) -> None:
    tech = set(session.scalars(select(EventTechCategory.category_code).where(EventTechCategory.event_id == event.id)))
    for code in _codes(session, TechCategory, rel.tech_categories) - tech:
        session.add(EventTechCategory(event_id=event.id, category_code=code))
    domains = set(session.scalars(
        select(EventApplicationDomain.domain_code).where(EventApplicationDomain.event_id == event.id)))
    for code in _codes(session, ApplicationDomain, rel.application_domains) - domains:
        session.add(EventApplicationDomain(event_id=event.id, domain_code=code))


def _mention(session: Session, event: CooperationEvent, doc: Document, rel: Relation, report: EtlReport) -> None:
    exists = session.scalars(
        select(Mention).where(Mention.event_id == event.id, Mention.document_id == doc.id)
    ).first()
    if exists is None:
        session.add(Mention(
            event_id=event.id, document_id=doc.id, extractor_version=EXTRACTOR_VERSION,
            confidence=rel.confidence, sentence=rel.sentence[:2000],
        ))
        session.flush()
        report.mentions_new += 1
    elif rel.confidence > exists.confidence:
        exists.confidence = rel.confidence


def _forget_previous(session: Session, doc_id: int) -> int:
    """Remove this document's earlier mentions, and events left without any evidence."""
    event_ids = set(session.scalars(select(Mention.event_id).where(Mention.document_id == doc_id)))
    if not event_ids:
        return 0
    session.execute(delete(Mention).where(Mention.document_id == doc_id))
    still = set(session.scalars(select(Mention.event_id).where(Mention.event_id.in_(event_ids))))
    orphans = event_ids - still
    if orphans:
        session.execute(delete(EventTechCategory).where(EventTechCategory.event_id.in_(orphans)))
        session.execute(delete(EventApplicationDomain).where(EventApplicationDomain.event_id.in_(orphans)))
        session.execute(delete(CooperationEvent).where(CooperationEvent.id.in_(orphans)))
    return len(orphans)


def run_etl(
    session: Session,
    *,
    batch_size: int = 200,
    limit: int | None = None,
    reprocess: bool = False,
    run_id: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> EtlReport:
    """Extract events from every pending document; commit after each batch.

    ``progress(done, total)`` is called after each batch (CLI progress, Prefect artifacts).
    """
    report = EtlReport()
    lexicon = load_lexicon()
    orgs = _Organisations(session)
    orgs_before = session.scalar(select(func.count()).select_from(Organisation)) or 0
    ids = pending_documents(session, limit, reprocess)
    for start in range(0, len(ids), batch_size):
        for doc_id in ids[start : start + batch_size]:
            doc = session.get(Document, doc_id)
            if doc is None:
                continue
            report.documents += 1
            savepoint = session.begin_nested()
            try:
                report.events_removed += _forget_previous(session, doc.id)
                if not doc.text.strip():
                    raise ValueError("document has no text")
                extraction = extract_document(doc.text, doc.published_on, orgs.gazetteer, lexicon, doc.title)
                report.relations += len(extraction.relations)
                for rel in extraction.relations:
                    _store(session, doc, rel, orgs, report)
                savepoint.commit()
            except Exception as exc:  # recorded (quarantine), never crashes the run
                savepoint.rollback()
                orgs = _Organisations(session)  # organisations created in the savepoint are gone
                report.quarantined += 1
                report.error_messages.append(f"{doc.canonical_url}: {type(exc).__name__}: {exc}")
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
    report.organisations_new = (session.scalar(select(func.count()).select_from(Organisation)) or 0) - orgs_before
    if orgs.resolver is not None:
        report.merges = getattr(orgs.resolver, "merges", 0)
    return report
