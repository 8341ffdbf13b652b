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
Names are resolved to organisations by :mod:`etl.resolve` (identifiers, aliases, fuzzy matching
with recorded judgements); new names become organisations
with kind, place and industry from :mod:`etl.gazetteer`.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, text, update
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from common.events import event_key
from db.ids import IdAllocator
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
from etl.ahead import Precomputed, SnapshotVersion, same_names
from etl.dedup import assign_clusters
from etl.events import meet
from etl.extract import Extraction, Relation
from etl.gazetteer import division_sections, industry_of, place_of, seed_organisations
from etl.lexicon import EXTRACTOR_VERSION, load_lexicon
from etl.mentions import Gazetteer, OrgRef, is_place_name
from etl.pairs import extract_with_model
from etl.quality import record_extractor_version
from etl.resolve import OrgInfo, Resolver


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
    duplicate_documents: int = 0
    quarantined: int = 0
    #: historical relations whose start year the text does not state (ANNOTATION.md lets their year be
    #: null): no yearly network can hold them, so they are counted here and not loaded
    undated_historical: int = 0
    error_messages: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        """Counts only (for run records, artifacts and ``--json``)."""
        return {k: v for k, v in self.__dict__.items() if isinstance(v, int)}

    def add(self, other: EtlReport) -> None:
        """Add the counts and messages of ``other`` (a later slice of the same run) to these."""
        for name, value in other.as_dict().items():
            setattr(self, name, getattr(self, name) + value)
        self.error_messages += other.error_messages


def _database_gazetteer(session: Session) -> tuple[Gazetteer, dict[str, int], set[int], dict[int, OrgRef]]:
    """The gazetteer of every organisation, alias and seed name in the database now; names -> ids;
    sample ids; ids -> the key each organisation's names map to.

    Precedence: an organisation's name (two organisations of one name make it ambiguous), then
    aliases in the order they were written (the first wins), then seed names not created yet. A
    province or city named alone (an organisation "珠海", the city's government in the text it came
    from) is not looked for: it begins other organisations' names and would cut them ("珠海华发集团").
    :class:`LoaderState` keeps its gazetteer equal to this one while it adds organisations and
    aliases (:meth:`LoaderState.learn_alias`), so a run that restarts from the database extracts
    exactly as one that did not stop (issue 14).
    """
    gazetteer = Gazetteer()
    sample: set[int] = set()
    refs: dict[int, OrgRef] = {}
    by_name: dict[str, int] = {}
    for org_id, name, is_sample, kind, prov in session.execute(
        select(Organisation.id, Organisation.name, Organisation.is_sample, Organisation.kind,
               Organisation.province_code).order_by(Organisation.id)
    ):
        refs[org_id] = OrgRef(name, kind, prov, org_id, sample=bool(is_sample))
        by_name.setdefault(name, org_id)
        if not is_place_name(name):  # "珠海" would be found in "珠海华发集团" and cut it
            gazetteer.add(name, refs[org_id])
        if is_sample:
            sample.add(org_id)
    for org_id, name in session.execute(select(Alias.organisation_id, Alias.name).order_by(Alias.id)):
        if org_id in refs and name not in gazetteer and not is_place_name(name):
            gazetteer.add(name, refs[org_id])
    for seed in seed_organisations():
        ref = OrgRef(seed.name, seed.kind, seed.province)
        for name in (seed.name, *seed.aliases):
            if name not in gazetteer:
                gazetteer.add(name, ref)
    return gazetteer, by_name, sample, refs


class LoaderState:
    """What the loader keeps in memory while it runs: names -> organisation ids (creating
    organisations for new names), the resolver, the events and their labels.

    Built from the database once (:func:`run_etl_ids` builds one per call); a caller that loads
    many slices of documents in a row on one session (the ETL flow's waves) passes the same
    state to each call instead of reloading everything per slice. Only this state may write
    organisations, aliases and events to the database while it lives (it does not see others'
    writes); :meth:`reset` reloads it.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.reset()

    def reset(self) -> None:
        """(Re)load everything from the database (after a rollback, or to see others' writes)."""
        session = self.session
        self.gazetteer, self.by_name, self.sample, self.refs = _database_gazetteer(session)
        self.seeds = {s.name: s for s in seed_organisations()}
        self.provinces = {name: code for code, name in session.execute(select(Province.code, Province.name))}
        self.cities = {(name, prov): code for code, name, prov in session.execute(
            select(City.code, City.name, City.province_code))}
        self.resolver = Resolver(session)
        self.tech_codes = {name: code for code, name in session.execute(select(TechCategory.code, TechCategory.name))}
        self.domain_codes = {name: code for code, name in session.execute(
            select(ApplicationDomain.code, ApplicationDomain.name))}
        self.mentioned: dict[tuple[int, int], Any] = {}  # this document's: a Mention, or its row when staging
        self.stage_mentions: list[dict[str, Any]] = []  # staged rows (bulk load), written by write_stage
        self.stage_labels: list[tuple[Any, int, str]] = []  # (table, event id, code)
        self.created: dict[int, tuple[Organisation, list[str]]] = {}  # created, not yet adopted by the resolver
        self.merges = 0  # names attached to an existing organisation by similarity or judgement (see _store)
        self.new_org_id: Callable[[], int | None] = lambda: None
        self.new_event_id: Callable[[], int | None] = lambda: None
        self.allocating = False
        self.bulk = getattr(self, "bulk", True)  # mentions and labels staged and written set-based
        self.load_events()

    def allocate_ids(self) -> None:
        """Give new organisations and events their ids up front, so a batch is written in one flush."""
        self.new_org_id = IdAllocator(self.session, Organisation.__table__)
        self.new_event_id = IdAllocator(self.session, CooperationEvent.__table__)
        self.allocating = True

    def stage_document(self) -> None:
        """Stage the mentions the current document made (bulk load); they are written with the batch."""
        if self.bulk:
            self.stage_mentions += [{**row, "event_id": e, "document_id": d} for (e, d), row in self.mentioned.items()]
        self.mentioned = {}

    def write_stage(self, *_: object) -> None:
        """Write the staged mentions and labels set-based: ``COPY`` on PostgreSQL, ``executemany`` on SQLite.

        Called after every flush of the session (so SQL that runs after a flush, e.g. an
        :mod:`etl.events` fold, sees them) and at the end of each batch; the new events they
        name are inserted by the flush before.
        """
        mentions, labels = self.stage_mentions, self.stage_labels
        if not (mentions or labels):
            return
        self.stage_mentions, self.stage_labels = [], []
        conn = self.session.connection()
        by_table: dict[Any, list[tuple[int, str]]] = {}
        for table, event_id, code in labels:
            by_table.setdefault(table, []).append((event_id, code))
        if conn.dialect.name == "postgresql":
            cursor = conn.connection.driver_connection.cursor()
            with cursor.copy("COPY mentions (event_id, document_id, extractor_version, confidence, sentence, "
                             "created_at) FROM STDIN") as copy:
                for m in mentions:
                    copy.write_row((m["event_id"], m["document_id"], m["extractor_version"], m["confidence"],
                                    m["sentence"], m["created_at"]))
            for table, rows in by_table.items():
                code = next(c.name for c in table.primary_key.columns if c.name != "event_id")
                with cursor.copy(f"COPY {table.name} (event_id, {code}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            cursor.close()
            return
        if mentions:
            conn.execute(insert(Mention.__table__), mentions)
        for table, rows in by_table.items():
            code = next(c.name for c in table.primary_key.columns if c.name != "event_id")
            conn.execute(insert(table), [{"event_id": e, code: c} for e, c in rows])

    def flush(self) -> None:
        """Send everything loaded so far to the database (the ORM's rows, then the staged ones)."""
        self.session.flush()
        self.write_stage()

    def drop_events(self, rows: list[tuple[int, str, int, int]]) -> None:
        """Forget events deleted from the database (``(id, event_key, provider, receiver)``), without a reload."""
        for event_id, key, p, r in rows:
            if self.events.get(key) == event_id:
                del self.events[key]
            pair = self.pair_events.get((p, r))
            if pair is not None:
                pair[:] = [(y, i) for y, i in pair if i != event_id]
            self.tech_of.pop(event_id, None)
            self.domain_of.pop(event_id, None)
            obj = self.event_objs.pop(event_id, None)
            if obj is not None and obj in self.session:
                self.session.expunge(obj)

    def load_events(self) -> None:
        """Index the events and their labels once per run (no query per relation)."""
        session = self.session
        self.events: dict[str, int] = {}
        self.event_objs: dict[int, CooperationEvent] = {}  # created or touched in this run
        self.pair_events: dict[tuple[int, int], list[tuple[int, int]]] = {}  # (provider, receiver) -> [(year, id)]
        for key, event_id, p, r, year in session.execute(select(
                CooperationEvent.event_key, CooperationEvent.id, CooperationEvent.provider_id,
                CooperationEvent.receiver_id, CooperationEvent.year)):
            self.events[key] = event_id
            self.pair_events.setdefault((p, r), []).append((year, event_id))
        self.tech_of: dict[int, set[str]] = {}
        for event_id, code in session.execute(select(EventTechCategory.event_id, EventTechCategory.category_code)):
            self.tech_of.setdefault(event_id, set()).add(code)
        self.domain_of: dict[int, set[str]] = {}
        for event_id, code in session.execute(
                select(EventApplicationDomain.event_id, EventApplicationDomain.domain_code)):
            self.domain_of.setdefault(event_id, set()).add(code)

    def resolve(self, key: object, name: str, kind: str | None) -> int:
        """Organisation id for a mention, creating the organisation when it is new."""
        if isinstance(key, OrgRef) and key.org_id is not None:
            return key.org_id
        if isinstance(key, OrgRef) and key.canonical in self.seeds:
            seed = self.seeds[key.canonical]
            names = [("full", seed.name)] + [("english" if a.isascii() else "short", a) for a in seed.aliases]
            org_id = self._create(seed.name, seed.kind, "seed", seed.province, seed.city, seed.division, names)
        else:
            match = self.resolver.match(name, kind=kind)
            if match.org_id is not None:  # an alias, an identifier, a judgement or an automatic merge
                self.merges += int(match.outcome in ("auto_merge", "judgement"))
                if match.alias is not None:
                    self.learn_alias(match.alias, match.org_id)
                return match.org_id
            province, city = place_of(name)
            _section, division = industry_of(name, kind or "other")
            org_id = self._create(name, kind or "other", "extracted", province, city, division, [("full", name)])
        made = self.created.pop(org_id, None)  # the resolver indexes it and stores merge suggestions for review
        if made is None:
            self.resolver.adopt(org_id, name)
        else:
            org, aliases = made
            info = OrgInfo(org_id, org.name, org.kind, org.province_code, org.city_code, None, None, None, False)
            self.resolver.adopt(org_id, name, info=info, aliases=aliases)
        return org_id

    def event(self, event_id: int) -> CooperationEvent | None:
        """The event with this id (from this run's objects, else the database)."""
        event = self.event_objs.pop(event_id, None)
        if event is not None:
            self.event_objs[event_id] = event  # the most recently used last (:meth:`keep_recent_events`)
        else:
            with self.session.no_autoflush:  # a flush here would split the batch's one flush (was 93% of flushes)
                event = self.session.get(CooperationEvent, event_id)
            if event is not None:
                self.event_objs[event_id] = event
        return event

    def prefetch_events(self, pairs: set[tuple[int, int]]) -> None:
        """Read the stored events of these organisation pairs (either way round) that this state does
        not hold, in one query per 500, instead of one :meth:`event` read each while the batch stores
        its relations (issue 17: ~1,200 single-row reads per 20,000 documents at report scale).

        Only when they are read changes, not what: the session returns the object it already holds
        for an id, so :meth:`event` gives the same objects as without the prefetch."""
        wanted = sorted({i for a, b in pairs for pair in ((a, b), (b, a)) for _y, i in self.pair_events.get(pair, ())
                         if i not in self.event_objs})
        with self.session.no_autoflush:  # as in :meth:`event`: the batch is flushed once, at its end
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                for event in self.session.scalars(select(CooperationEvent).where(CooperationEvent.id.in_(chunk))):
                    self.event_objs.setdefault(event.id, event)

    #: Events kept in memory between batches, the most recently used (:meth:`keep_recent_events`).
    EVENTS_KEPT = 5_000

    def keep_recent_events(self) -> None:
        """After a batch is committed, forget all but the :data:`EVENTS_KEPT` most recently used events.

        The next documents mostly report what the last ones did (the same news, a termination of a
        recent agreement), so those are kept instead of being read again one query each; the
        bound keeps a long run's memory flat. (The session does not expire objects on commit, and
        only this state writes events while it lives.)
        """
        excess = len(self.event_objs) - self.EVENTS_KEPT
        if excess > 0:
            for event_id in list(itertools.islice(self.event_objs, excess)):
                del self.event_objs[event_id]

    def add_event(self, event: CooperationEvent) -> int:
        """Register a new event (its id is allocated, or assigned by a flush when ids are not allocated)."""
        event.id = self.new_event_id()
        self.session.add(event)
        if event.id is None:
            self.session.flush()
        self.events[event.event_key] = event.id
        self.event_objs[event.id] = event
        self.pair_events.setdefault((event.provider_id, event.receiver_id), []).append((event.year, event.id))
        return event.id

    def latest_event(self, a: int, b: int, year: int) -> CooperationEvent | None:
        """The latest event of the pair (either direction) of ``year`` or before (what a termination ends)."""
        found = [(y, i) for pair in ((a, b), (b, a)) for y, i in self.pair_events.get(pair, ()) if y <= year]
        for _y, event_id in sorted(found, key=lambda t: (-t[0], t[1])):
            event = self.event(event_id)
            if event is not None:
                return event
        return None

    def _create(self, name: str, kind: str, origin: str, province: str | None, city: str | None,
                division: str | None, names: list[tuple[str, str]]) -> int:
        existing = self.by_name.get(name)
        if existing is not None:
            org_id = existing
        else:
            prov_code = self.provinces.get(province or "")
            section = None
            if division:
                section = division_sections().get(division)
            org = Organisation(
                id=self.new_org_id(), name=name, kind=kind, is_sample=False, origin=origin, province_code=prov_code,
                city_code=self.cities.get((city or "", prov_code)) if prov_code else None,
                industry_section=section, industry_division=division if section else None,
            )
            org.aliases = [Alias(name=n, kind=k, source=origin) for k, n in _unique(names)]
            self.session.add(org)
            if org.id is None:
                self.session.flush()
            org_id = org.id
            self.by_name[name] = org_id
            self.created[org_id] = (org, [n for _k, n in names])
            self.refs[org_id] = OrgRef(name, kind, prov_code, org_id)  # as the database gives it back
            if not is_place_name(name):  # as _database_gazetteer
                self.gazetteer.replace(name, self.refs[org_id])  # a name comes before every alias
            for _, alias in _unique(names):
                self.learn_alias(alias, org_id)
        return org_id

    def learn_alias(self, alias: str, org_id: int) -> None:
        """Put an alias just written for ``org_id`` into the gazetteer the way a reload would.

        :func:`_database_gazetteer` lets an alias in only where no organisation's name and no
        earlier alias holds the name (seed names that are not organisations yet come last). The
        gazetteer of a run that goes on must equal the one a restarted run reloads, or the two
        would read the next documents differently (a key of another kind or place changes which
        relations are found).
        """
        current = self.gazetteer.get(alias)
        ref = self.refs.get(org_id)
        if (ref is None or is_place_name(alias) or self.gazetteer.ambiguous(alias)
                or (isinstance(current, OrgRef) and current.org_id is not None)):
            return  # (an organisation this state has not loaded: the next reload brings it and its alias)
        self.gazetteer.replace(alias, ref)


def _unique(names: list[tuple[str, str]]) -> list[tuple[str, str]]:
    seen, out = set(), []
    for kind, name in names:
        if (kind, name) not in seen:
            seen.add((kind, name))
            out.append((kind, name))
    return out


def pending_documents(session: Session, limit: int | None = None, reprocess: bool = False) -> list[int]:
    """Ids of documents whose current text this extractor version has not processed, oldest news first.

    Ordered by publication date (undated last), then address: a termination notice is then loaded
    after the cooperation it ends, whatever order the crawler stored them in, so a run's events do
    not depend on crawl order; and new organisations and events get their ids in an order that
    depends on the documents only, so two clean builds of the same documents number them alike
    (exported ids are stable, issue 14).
    """
    stmt = select(Document.id).order_by(Document.published_on.is_(None), Document.published_on,
                                        Document.canonical_url, Document.id)
    if not reprocess:
        stmt = stmt.where(or_(
            Document.extracted_sha256.is_(None),
            Document.extracted_sha256 != Document.content_sha256,
            Document.extractor_version != EXTRACTOR_VERSION,
        ))
    if limit:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def _store(session: Session, doc: Document, rel: Relation, orgs: LoaderState, report: EtlReport) -> None:
    year = rel.year
    if year is None:
        raise ValueError("no date in the sentence and no publication date")
    # by the organisation each mention stands for (its identity), not the words the sentence used:
    # "研究院" for "鸥玛软件人工智能创新研究院（以下简称"研究院"）" would otherwise become an organisation
    # of its own and a gazetteer name found inside every later "…研究院"
    p = orgs.resolve(rel.provider.key, rel.provider.identity, rel.provider.kind)
    r = orgs.resolve(rel.receiver.key, rel.receiver.identity, rel.receiver.kind)
    report.merges, orgs.merges = report.merges + orgs.merges, 0
    if p == r:
        return
    reporter = None
    if rel.direction == "mutual":
        if r in orgs.sample and p not in orgs.sample:
            p, r = r, p
        reporter = p if p in orgs.sample else None
    if rel.status == "terminated":
        existing = orgs.latest_event(p, r, year)
        ended = doc.published_on or dt.date(year, 12, 31)
        if existing is not None:
            meet(orgs, existing, ended, report)
            _labels(session, existing, rel, orgs)
            _mention(session, existing, doc, rel, report, orgs)
            return
    key = event_key(p, r, rel.direction, year)
    known = orgs.events.get(key)
    event = orgs.event(known) if known is not None else None
    if event is None:
        event = CooperationEvent(
            event_key=key, provider_id=p, receiver_id=r, reported_by_id=reporter, kind=rel.kind,
            direction=rel.direction, year=year, event_date=rel.event_date,
            status="terminated" if rel.status == "terminated" else "active",
            terminated_on=(doc.published_on or dt.date(year, 12, 31)) if rel.status == "terminated" else None,
        )
        orgs.add_event(event)
        report.events_new += 1
    else:
        changed = False
        if event.kind == "other" and rel.kind != "other":
            event.kind, changed = rel.kind, True
        if event.event_date is None and rel.event_date is not None:
            event.event_date, changed = rel.event_date, True
        report.events_updated += int(changed)
    meet(orgs, event, event.terminated_on if rel.status == "terminated" else None, report)  # etl.events
    _labels(session, event, rel, orgs)
    _mention(session, event, doc, rel, report, orgs)


def _labels(session: Session, event: CooperationEvent, rel: Relation, orgs: LoaderState) -> None:
    tech = orgs.tech_of.setdefault(event.id, set())
    for code in sorted({orgs.tech_codes[n] for n in rel.tech_categories if n in orgs.tech_codes} - tech):
        if orgs.bulk:
            orgs.stage_labels.append((EventTechCategory.__table__, event.id, code))
        else:
            session.add(EventTechCategory(event_id=event.id, category_code=code))
        tech.add(code)
    domains = orgs.domain_of.setdefault(event.id, set())
    for code in sorted({orgs.domain_codes[n] for n in rel.application_domains if n in orgs.domain_codes} - domains):
        if orgs.bulk:
            orgs.stage_labels.append((EventApplicationDomain.__table__, event.id, code))
        else:
            session.add(EventApplicationDomain(event_id=event.id, domain_code=code))
        domains.add(code)


def _mention(session: Session, event: CooperationEvent, doc: Document, rel: Relation, report: EtlReport,
             orgs: LoaderState) -> None:
    exists = orgs.mentioned.get((event.id, doc.id))
    if exists is None:
        if orgs.bulk:  # staged: written with the batch (LoaderState.write_stage)
            orgs.mentioned[(event.id, doc.id)] = {
                "extractor_version": EXTRACTOR_VERSION, "confidence": rel.confidence,
                "sentence": rel.sentence[:2000], "created_at": utcnow()}
        else:
            mention = Mention(
                event_id=event.id, document_id=doc.id, extractor_version=EXTRACTOR_VERSION,
                confidence=rel.confidence, sentence=rel.sentence[:2000],
            )
            session.add(mention)
            orgs.mentioned[(event.id, doc.id)] = mention
        report.mentions_new += 1
    elif isinstance(exists, dict):
        exists["confidence"] = max(exists["confidence"], rel.confidence)
    elif rel.confidence > exists.confidence:
        exists.confidence = rel.confidence


def _forget_previous(session: Session, doc_id: int, orgs: LoaderState) -> int:
    """Remove this document's earlier mentions, and events left without any evidence.

    What the batch loaded so far is written first (its mentions are evidence too); the removed
    events leave the loader's indexes one by one (:meth:`LoaderState.drop_events`), not by a
    reload of every event — a weekly run re-extracts its changed documents at that cost only.
    """
    orgs.flush()
    event_ids = set(session.scalars(select(Mention.event_id).where(Mention.document_id == doc_id)))
    if not event_ids:
        return 0
    session.execute(delete(Mention).where(Mention.document_id == doc_id))
    still = set(session.scalars(select(Mention.event_id).where(Mention.event_id.in_(event_ids))))
    orphans = event_ids - still
    if orphans:
        rows = [tuple(r) for r in session.execute(select(
            CooperationEvent.id, CooperationEvent.event_key, CooperationEvent.provider_id,
            CooperationEvent.receiver_id).where(CooperationEvent.id.in_(orphans)))]
        session.execute(delete(EventTechCategory).where(EventTechCategory.event_id.in_(orphans)))
        session.execute(delete(EventApplicationDomain).where(EventApplicationDomain.event_id.in_(orphans)))
        session.execute(delete(CooperationEvent).where(CooperationEvent.id.in_(orphans)),
                        execution_options={"synchronize_session": False})
        orgs.drop_events(rows)
    return len(orphans)


def run_etl(
    session: Session,
    *,
    batch_size: int = 200,
    limit: int | None = None,
    reprocess: bool = False,
    run_id: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    bulk: bool = True,
) -> EtlReport:
    """Extract events from every pending document; commit after each batch.

    ``progress(done, total)`` is called after each batch (CLI progress, Prefect artifacts);
    ``bulk`` as in :func:`run_etl_ids`.
    """
    ids = pending_documents(session, limit, reprocess)
    return run_etl_ids(session, ids, batch_size=batch_size, run_id=run_id, progress=progress, bulk=bulk)


def gazetteer_snapshot(session: Session) -> Gazetteer:
    """The gazetteer :func:`run_etl` starts from: every organisation, alias and seed name in the database now."""
    return _database_gazetteer(session)[0]


def _extraction(doc: Document, orgs: LoaderState, ready: dict[int, Precomputed],
                snapshot: Gazetteer | SnapshotVersion | None, lexicon: Any) -> Extraction:
    """The document's extraction (made ahead when still valid, see :func:`run_etl_ids`), checked for loading.

    Raises (and the document is quarantined) when extraction fails or a new or terminated relation
    has no year; nothing has been written for the document at that point.
    """
    pre = ready.get(doc.id)  # without a snapshot to compare with, an extraction made ahead is trusted
    if (pre is not None and pre.content_sha256 == doc.content_sha256
            and pre.extractor_version in (None, EXTRACTOR_VERSION)
            and (snapshot is None or same_names(doc.text, snapshot, orgs.gazetteer))):
        if pre.error is not None:
            raise pre.error
        assert pre.extraction is not None
        extraction = pre.extraction
    else:
        if not doc.text.strip():
            raise ValueError("document has no text")
        extraction = extract_with_model(doc.text, doc.published_on, orgs.gazetteer, lexicon, doc.title)
    if any(rel.year is None and rel.status != "historical" for rel in extraction.relations):
        raise ValueError("no date in the sentence and no publication date")
    return extraction


def _load_batch(session: Session, batch: list[int], orgs: LoaderState, report: EtlReport,
                ready: dict[int, Precomputed], snapshot: Gazetteer | SnapshotVersion | None, lexicon: Any,
                run_id: int | None,
                *, careful: bool) -> None:
    """Load one batch of documents (the caller commits).

    The fast way (``careful=False``) checks each document's extraction before writing anything
    for it and writes the batch set-based: new organisations, aliases and events (ids allocated
    up front) in one flush of the session, table by table; the mentions and labels, staged as
    plain rows, by ``COPY`` (PostgreSQL) or ``executemany`` (SQLite) after it
    (:meth:`LoaderState.write_stage`); the documents' extraction marks by one statement. A
    document that fails extraction is quarantined, any other error aborts the batch, which the
    caller rolls back and loads again carefully — each document in a savepoint of its own, its
    rows written before the savepoint ends, so that a database error quarantines that document
    only. Both ways leave the same state (tests/test_etl_bulk.py compares them).
    """
    docs = {d.id: d for d in session.scalars(select(Document).where(Document.id.in_(batch)))}
    if not careful:
        orgs.prefetch_events(_known_pairs(ready.get(i) for i in batch))
    done: list[Document] = []
    for doc_id in batch:
        doc = docs.get(doc_id)
        if doc is None:
            continue
        report.documents += 1
        orgs.mentioned = {}  # mentions of this document (two relations may report one event)
        savepoint = session.begin_nested() if careful else None
        counts = report.as_dict()
        try:
            if doc.extracted_sha256 is not None:  # a document never extracted has no mentions yet
                report.events_removed += _forget_previous(session, doc.id, orgs)
            try:
                extraction = _extraction(doc, orgs, ready, snapshot, lexicon)
            except Exception as exc:
                if savepoint is not None:
                    savepoint.commit()  # only the removal of its earlier mentions so far
                _quarantine(session, doc, exc, report, run_id)
            else:
                report.relations += len(extraction.relations)
                for rel in extraction.relations:
                    if rel.year is None:  # historical, its year unstated (:class:`EtlReport`)
                        report.undated_historical += 1
                        continue
                    _store(session, doc, rel, orgs, report)
                orgs.stage_document()
                if savepoint is not None:
                    orgs.flush()  # inside the savepoint: a database error is this document's
                    savepoint.commit()
        except Exception as exc:
            if savepoint is None:
                raise
            savepoint.rollback()
            for name, value in counts.items():  # what the document added is gone again
                setattr(report, name, value)
            orgs.reset()  # organisations created in the savepoint are gone
            _quarantine(session, doc, exc, report, run_id)
        done.append(doc)
    orgs.flush()
    _mark_extracted(session, done, orgs.bulk)


def _known_pairs(extractions: Iterable[Precomputed | None]) -> set[tuple[int, int]]:
    """The pairs of organisation ids the extractions made ahead name as parties (where both are known)."""
    pairs: set[tuple[int, int]] = set()
    for pre in extractions:
        for rel in pre.extraction.relations if pre is not None and pre.extraction is not None else ():
            p, r = rel.provider.key, rel.receiver.key
            if isinstance(p, OrgRef) and isinstance(r, OrgRef) and p.org_id is not None and r.org_id is not None:
                pairs.add((p.org_id, r.org_id))
    return pairs


def _mark_extracted(session: Session, docs: list[Document], bulk: bool) -> None:
    """Record that ``docs`` were extracted from their current text by this extractor version.

    Set-based when loading in bulk (one ``UPDATE ... FROM unnest`` on PostgreSQL, ``executemany``
    on SQLite; the loaded objects are updated without becoming dirty), else through the ORM.
    """
    now = utcnow()
    if not bulk:
        for doc in docs:
            doc.extracted_sha256, doc.extractor_version, doc.extracted_at = doc.content_sha256, EXTRACTOR_VERSION, now
        return
    if not docs:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(
            "UPDATE documents AS d SET extracted_sha256 = v.sha, extractor_version = :version, extracted_at = :now "
            "FROM unnest(CAST(:ids AS integer[]), CAST(:shas AS varchar[])) AS v(id, sha) WHERE d.id = v.id"),
            {"ids": [d.id for d in docs], "shas": [d.content_sha256 for d in docs], "version": EXTRACTOR_VERSION,
             "now": now})
    else:
        table = Document.__table__
        session.connection().execute(
            update(table).where(table.c.id == text(":doc_id")).values(
                extracted_sha256=text(":sha"), extractor_version=EXTRACTOR_VERSION, extracted_at=now),
            [{"doc_id": d.id, "sha": d.content_sha256} for d in docs])
    for doc in docs:
        for name, value in (("extracted_sha256", doc.content_sha256), ("extractor_version", EXTRACTOR_VERSION),
                            ("extracted_at", now)):
            set_committed_value(doc, name, value)


def _quarantine(session: Session, doc: Document, exc: Exception, report: EtlReport, run_id: int | None) -> None:
    """Record a document that could not be processed (``pipeline_errors``); the run goes on."""
    report.quarantined += 1
    report.error_messages.append(f"{doc.canonical_url}: {type(exc).__name__}: {exc}")
    session.add(PipelineError(
        run_id=run_id, stage="etl", kind="extraction_failed", location=doc.canonical_url,
        field="text", reason=f"{type(exc).__name__}: {exc}", payload={"document_id": doc.id},
    ))


def run_etl_ids(
    session: Session,
    ids: list[int],
    *,
    batch_size: int = 200,
    run_id: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    extractions: list[Precomputed] | None = None,
    snapshot: Gazetteer | SnapshotVersion | None = None,
    state: LoaderState | None = None,
    dedup: bool = True,
    bulk: bool = True,
) -> EtlReport:
    """Process the documents ``ids`` in this order (see :func:`run_etl`); commit after each batch.

    ``extractions`` (from :func:`etl.ahead.extract_documents` against the gazetteer ``snapshot``) are
    used instead of extracting again, for documents whose text has not changed since and in
    whose normalised text the snapshot and the gazetteer of this run (which grows with every
    organisation the run adds) match the same names with the same organisations; any other
    document is extracted here with the current gazetteer, exactly as :func:`run_etl` would.
    So a batch extracted ahead, in parallel, loads to the same database state as the serial
    run. Without ``snapshot`` the extractions are used as they are. ``snapshot`` may also be a
    :class:`SnapshotVersion` of this run's own gazetteer (the extraction pool's waves): then the
    names changed since that version are looked for instead (:func:`etl.ahead.same_names`).

    ``state`` (built on ``session``) carries the loader's memory over from an earlier call, so a
    caller loading documents slice by slice does not reload the database each time; ``dedup``
    False leaves duplicate clustering (:func:`etl.dedup.assign_clusters`) to the caller, e.g.
    once after the last slice.

    ``bulk`` (default) loads each batch set-based in one transaction and falls back to the
    careful per-document path only for a batch that failed (see :func:`_load_batch`);
    ``bulk=False`` loads every document the careful way with ORM rows — the reference the
    bulk path is compared with (tests/test_etl_bulk.py, benchmarks/bench_etl_load.py).
    """
    report = EtlReport()
    lexicon = load_lexicon()
    record_extractor_version(session)
    orgs = state if state is not None else LoaderState(session)
    if orgs.session is not session:
        raise ValueError("the loader state belongs to another session")
    orgs.bulk = bulk
    if not orgs.allocating:
        orgs.allocate_ids()
    orgs_before = session.scalar(select(func.count()).select_from(Organisation)) or 0
    ready = {p.document_id: p for p in extractions or []}
    sa_event.listen(session, "after_flush", orgs.write_stage)  # staged rows follow every flush
    try:
        for start in range(0, len(ids), batch_size):
            batch = ids[start : start + batch_size]
            before = EtlReport(**{**report.__dict__, "error_messages": list(report.error_messages)})
            try:
                _load_batch(session, batch, orgs, report, ready, snapshot, lexicon, run_id, careful=not bulk)
                session.commit()
                orgs.keep_recent_events()
            except Exception:  # a database error in the batch: redo it document by document
                if not bulk:
                    raise
                session.rollback()
                report = before
                orgs.reset()
                _load_batch(session, batch, orgs, report, ready, snapshot, lexicon, run_id, careful=True)
                session.commit()
                orgs.reset()
                orgs.allocate_ids()
            if progress:
                progress(min(start + batch_size, len(ids)), len(ids))
    finally:
        sa_event.remove(session, "after_flush", orgs.write_stage)
    report.organisations_new = (session.scalar(select(func.count()).select_from(Organisation)) or 0) - orgs_before
    if dedup:  # near-duplicate documents (syndicated copies): a signal for analysts, nothing is deleted
        # ``include_stale``: also every document an earlier, killed run loaded and never fingerprinted
        # (issue 14) — even when this run has nothing new to load.
        found = assign_clusters(session, ids, include_stale=True)
        report.duplicate_documents = found.exact + found.near
        session.commit()
    return report
