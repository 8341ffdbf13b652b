"""The analyst review queue: low-confidence events and the resolver's merge suggestions.

Items (ids are prefixed by kind, so one ``show``/``accept``/``reject`` serves both):

- ``E<event id>`` — a cooperation event whose *best* evidence is weak: the highest
  ``mentions.confidence`` of its mentions (set by the extractor, 0..1) is below
  ``low_confidence`` (``etl/data/review.yml``), and no analyst has decided on it yet. Score =
  that best confidence. Accepting keeps it (it is not queued again); rejecting marks it so the
  analysis can exclude it (:func:`rejected_event_keys`).
- ``M<judgement id>`` — a pending merge suggestion of :class:`etl.resolve.Resolver` (two
  organisations whose names scored between the suggestion and the auto-merge thresholds).
  Score = that similarity. Accepting merges them (:func:`etl.resolve.merge_organisations`) and
  stores a positive judgement; rejecting stores a negative one, so the resolver never suggests
  or merges the pair again (also after export/import into another database).

Decisions on events are stored in ``event_reviews`` keyed by the event's deduplication key, not
its id: a re-extraction that deletes and re-creates an event finds its decision again, so a
rejected cooperation is never resurrected and an accepted one is never re-queued.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from common.datafiles import read_yaml
from db.models import (
    Alias,
    ApplicationDomain,
    CooperationEvent,
    Document,
    EventApplicationDomain,
    EventReview,
    EventTechCategory,
    Judgement,
    Mention,
    Organisation,
    TechCategory,
    utcnow,
)
from etl.resolve import (
    NEGATIVE,
    PENDING,
    POSITIVE,
    ResolveError,
    choose_survivor,
    decision_time,
    distinct_reason,
    merge_organisations,
)

CONFIG_FILE = Path(__file__).resolve().parent / "data" / "review.yml"
EVENT, MERGE = "event", "merge"
ACCEPTED, REJECTED = "accepted", "rejected"
_PREFIX = {"E": EVENT, "M": MERGE}


class ReviewError(ValueError):
    """An unknown item, or a decision that cannot be taken (the message says why)."""


@dataclass(frozen=True)
class ReviewConfig:
    """Queue settings (``etl/data/review.yml``)."""

    version: int
    low_confidence: float


@lru_cache(maxsize=4)
def load_config(path: Path = CONFIG_FILE) -> ReviewConfig:
    """Read and check the queue settings."""
    raw = read_yaml(path) or {}
    try:
        cfg = ReviewConfig(int(raw["version"]), float(raw["low_confidence"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ReviewError(f"{path}: missing or malformed setting: {exc}") from exc
    if not 0 < cfg.low_confidence <= 1:
        raise ReviewError(f"{path}: low_confidence must be in (0, 1]")
    return cfg


@dataclass(frozen=True)
class ReviewItem:
    """One line of the queue.

    ``evidence``: for a merge suggestion, the events of both organisations (what a merge would
    re-point or join: the network changes by that much); for an event, its mentions. ``degree``:
    the larger number of distinct partners of the item's two organisations. ``names``: the two
    names (suggestion) or parties (event); ``orgs`` their organisation ids.
    """

    kind: str
    id: str
    score: float
    summary: str
    evidence: int = 0
    degree: int = 0
    names: tuple[str, str] = ("", "")
    orgs: tuple[int | None, int | None] = (None, None)

    def as_dict(self) -> dict[str, Any]:
        """JSON form (the first four keys are the original interface; the rest were added after)."""
        return {"kind": self.kind, "id": self.id, "score": round(self.score, 4), "summary": self.summary,
                "evidence": self.evidence, "degree": self.degree}


@dataclass(frozen=True)
class QueueFilter:
    """Which queue items to list, export or decide in bulk (every given condition must hold).

    ``pattern`` is a regular expression searched in either name (or the summary); ``min_degree``
    asks that one of the two organisations has at least that many distinct partners.
    """

    kind: str | None = None
    min_score: float | None = None
    max_score: float | None = None
    pattern: str | None = None
    min_degree: int | None = None

    def compiled(self) -> re.Pattern[str] | None:
        """The pattern, compiled; a bad one is a :class:`ReviewError`."""
        if self.kind not in (None, EVENT, MERGE):
            raise ReviewError(f"kind must be {EVENT} or {MERGE}, not {self.kind!r}")
        if self.pattern is None:
            return None
        try:
            return re.compile(self.pattern)
        except re.error as exc:
            raise ReviewError(f"--match {self.pattern!r} is not a regular expression: {exc}") from exc

    def keeps(self, item: ReviewItem, pattern: re.Pattern[str] | None) -> bool:
        """Whether ``item`` passes every condition."""
        if self.min_score is not None and item.score < self.min_score:
            return False
        if self.max_score is not None and item.score > self.max_score:
            return False
        if self.min_degree is not None and item.degree < self.min_degree:
            return False
        return pattern is None or any(pattern.search(t) for t in (*item.names, item.summary))


def parse_item_id(item_id: str) -> tuple[str, int]:
    """``E12`` -> (``event``, 12); ``m3`` -> (``merge``, 3)."""
    text = item_id.strip()
    kind = _PREFIX.get(text[:1].upper())
    if kind is None or not text[1:].isdigit():
        raise ReviewError(f"item ids look like E12 (an event) or M3 (a merge suggestion), not {item_id!r}")
    return kind, int(text[1:])


def rejected_event_keys() -> Select[tuple[str]]:
    """``SELECT event_key`` of rejected events, for the analysis to exclude them::

        select(CooperationEvent).where(CooperationEvent.event_key.not_in(rejected_event_keys()))
    """
    return select(EventReview.event_key).where(EventReview.state == REJECTED)


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))).all())


def _event_summary(event: CooperationEvent, names: dict[int, str]) -> str:
    arrow = "<->" if event.direction == "mutual" else "->"
    status = "" if event.status == "active" else f", {event.status}"
    return (f"{names.get(event.provider_id, event.provider_id)} {arrow} {names.get(event.receiver_id, event.receiver_id)}"
            f" ({event.kind}, {event.year}{status})")


def low_confidence_events(session: Session, config: ReviewConfig | None = None) -> list[tuple[CooperationEvent, float]]:
    """Undecided events whose best mention confidence is below the threshold, weakest first."""
    cfg = config or load_config()
    best = (select(Mention.event_id, func.max(Mention.confidence).label("best"))
            .group_by(Mention.event_id)
            .having(func.max(Mention.confidence) < cfg.low_confidence)
            .subquery())
    stmt = (select(CooperationEvent, best.c.best)
            .join(best, best.c.event_id == CooperationEvent.id)
            .where(CooperationEvent.event_key.not_in(select(EventReview.event_key)))
            .order_by(best.c.best, CooperationEvent.id))
    return [(event, float(score)) for event, score in session.execute(stmt).all()]


def pending_merges(session: Session, *, hidden: list[Judgement] | None = None) -> list[Judgement]:
    """Pending merge suggestions between two distinct organisations still present, best score first.

    Suggestions between *distinct* names (another leading place, another number:
    :func:`etl.resolve.distinct_reason`) are left out — stored before the rule existed — and
    appended to ``hidden`` when given.
    """
    stmt = (select(Judgement)
            .where(Judgement.judgement == PENDING, Judgement.left_id.is_not(None), Judgement.right_id.is_not(None),
                   Judgement.left_id != Judgement.right_id)
            .order_by(Judgement.score.desc(), Judgement.id))
    kept = []
    for j in session.scalars(stmt):
        if distinct_reason(j.left_name or "", j.right_name or ""):
            if hidden is not None:
                hidden.append(j)
            continue
        kept.append(j)
    return kept


def organisation_stats(session: Session) -> tuple[Counter[int], dict[int, int]]:
    """Per organisation, its number of events (as provider or receiver) and of distinct partners."""
    events: Counter[int] = Counter()
    partners: dict[int, set[int]] = defaultdict(set)
    rows = session.execute(select(CooperationEvent.provider_id, CooperationEvent.receiver_id, func.count())
                           .group_by(CooperationEvent.provider_id, CooperationEvent.receiver_id))
    for provider, receiver, n in rows:
        events[provider] += n
        if receiver != provider:
            events[receiver] += n
            partners[provider].add(receiver)
            partners[receiver].add(provider)
    return events, {k: len(v) for k, v in partners.items()}


def list_items(
    session: Session, *, kind: str | None = None, limit: int | None = None, config: ReviewConfig | None = None,
    where: QueueFilter | None = None,
) -> list[ReviewItem]:
    """The queue: merge suggestions (most evidence first, then best score), then low-confidence events
    (weakest first), those passing ``where`` (``kind`` is a shorthand for its kind)."""
    where = where or QueueFilter(kind=kind)
    if kind is not None and where.kind is None:
        where = QueueFilter(kind, where.min_score, where.max_score, where.pattern, where.min_degree)
    pattern = where.compiled()
    events_of, degree = organisation_stats(session)
    items: list[ReviewItem] = []
    if where.kind in (None, MERGE):
        merges = pending_merges(session)
        names = _names(session, {i for j in merges for i in (j.left_id, j.right_id) if i is not None})
        found = []
        for j in merges:
            assert j.left_id is not None and j.right_id is not None
            left, right = names.get(j.left_id, j.left_name), names.get(j.right_id, j.right_name)
            found.append(ReviewItem(MERGE, f"M{j.id}", j.score or 0.0, f"{left} [{j.left_id}] ≈ {right} [{j.right_id}]",
                                    events_of[j.left_id] + events_of[j.right_id],
                                    max(degree.get(j.left_id, 0), degree.get(j.right_id, 0)),
                                    (left, right), (j.left_id, j.right_id)))
        found.sort(key=lambda i: (-i.evidence, -i.score, int(i.id[1:])))
        items += found
    if where.kind in (None, EVENT):
        events = low_confidence_events(session, config)
        names = _names(session, {e.provider_id for e, _ in events} | {e.receiver_id for e, _ in events})
        mentions = dict(session.execute(select(Mention.event_id, func.count()).group_by(Mention.event_id)).all()
                        ) if events else {}
        for event, score in events:
            items.append(ReviewItem(EVENT, f"E{event.id}", score, _event_summary(event, names),
                                    int(mentions.get(event.id, 0)),
                                    max(degree.get(event.provider_id, 0), degree.get(event.receiver_id, 0)),
                                    (names.get(event.provider_id, ""), names.get(event.receiver_id, "")),
                                    (event.provider_id, event.receiver_id)))
    items = [i for i in items if where.keeps(i, pattern)]
    return items[:limit] if limit else items


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _org_card(session: Session, org_id: int, sentences: int = 3) -> dict[str, Any]:
    org = session.get(Organisation, org_id)
    if org is None:
        raise ReviewError(f"organisation {org_id} no longer exists")
    events = select(CooperationEvent.id).where(or_(CooperationEvent.provider_id == org_id,
                                                   CooperationEvent.receiver_id == org_id))
    n_events = session.scalar(select(func.count()).select_from(events.subquery())) or 0
    evidence = session.execute(
        select(Mention.sentence, Document.canonical_url)
        .join(Document, Document.id == Mention.document_id)
        .where(Mention.event_id.in_(events), Mention.sentence.is_not(None))
        .order_by(Mention.confidence.desc(), Mention.id).limit(sentences)
    ).all()
    return {
        "id": org.id, "name": org.name, "kind": org.kind, "is_sample": org.is_sample, "origin": org.origin,
        "province": org.province_code, "city": org.city_code, "uscc": org.uscc,
        "stock": f"{org.stock_exchange}:{org.stock_code}" if org.stock_code else None,
        "aliases": [{"id": a.id, "name": a.name, "kind": a.kind, "source": a.source}
                    for a in sorted(org.aliases, key=lambda a: a.id)],
        "events": n_events,
        "evidence": [{"sentence": s, "url": u} for s, u in evidence],
    }


def show_item(session: Session, item_id: str) -> dict[str, Any]:
    """The evidence behind an item, as a JSON-able dict.

    Event: parties, kind, direction, status, year, categories, domains, review state and every
    mention (document URL, title, publication date, confidence, extractor version, sentence).
    Merge suggestion: both organisations (names, aliases, identifiers, place, number of events,
    example evidence sentences) and the score.
    """
    kind, number = parse_item_id(item_id)
    if kind == EVENT:
        event = session.get(CooperationEvent, number)
        if event is None:
            raise ReviewError(f"no event {number}")
        names = _names(session, {event.provider_id, event.receiver_id})
        review = session.get(EventReview, event.event_key)
        mentions = session.execute(
            select(Mention, Document).join(Document, Document.id == Mention.document_id)
            .where(Mention.event_id == event.id).order_by(Mention.confidence.desc(), Mention.id)
        ).all()
        tech = session.scalars(select(TechCategory.name).join(
            EventTechCategory, EventTechCategory.category_code == TechCategory.code)
            .where(EventTechCategory.event_id == event.id).order_by(TechCategory.sort_order)).all()
        domains = session.scalars(select(ApplicationDomain.name).join(
            EventApplicationDomain, EventApplicationDomain.domain_code == ApplicationDomain.code)
            .where(EventApplicationDomain.event_id == event.id).order_by(ApplicationDomain.sort_order)).all()
        return {
            "id": f"E{event.id}", "kind": EVENT, "summary": _event_summary(event, names),
            "score": max((m.confidence for m, _ in mentions), default=None),
            "event": {
                "provider": {"id": event.provider_id, "name": names.get(event.provider_id)},
                "receiver": {"id": event.receiver_id, "name": names.get(event.receiver_id)},
                "kind": event.kind, "direction": event.direction, "status": event.status, "year": event.year,
                "event_date": _iso(event.event_date), "terminated_on": _iso(event.terminated_on),
                "tech_categories": list(tech), "application_domains": list(domains),
            },
            "review": None if review is None else {
                "state": review.state, "by": review.decided_by, "at": _iso(review.decided_at), "note": review.note},
            "mentions": [{
                "document_id": d.id, "url": d.canonical_url, "title": d.title, "published_on": _iso(d.published_on),
                "confidence": m.confidence, "extractor_version": m.extractor_version, "sentence": m.sentence,
            } for m, d in mentions],
        }
    judgement = session.get(Judgement, number)
    if judgement is None:
        raise ReviewError(f"no merge suggestion {number}")
    sides = {}
    for side, org_id, name, ref in (("left", judgement.left_id, judgement.left_name, judgement.left_ref),
                                    ("right", judgement.right_id, judgement.right_name, judgement.right_ref)):
        card = _org_card(session, org_id) if org_id is not None else {"id": None, "name": name}
        sides[side] = {"ref": ref, **card}
    return {
        "id": f"M{judgement.id}", "kind": MERGE, "score": judgement.score, "judgement": judgement.judgement,
        "decided_by": judgement.decided_by, "decided_at": _iso(judgement.decided_at), "note": judgement.note,
        "summary": f"{judgement.left_name} ≈ {judgement.right_name}", **sides,
    }


def set_event_review(session: Session, event: CooperationEvent, state: str, *, by: str,
                     note: str | None = None) -> EventReview:
    """Store (or change) the analyst's decision on an event, keyed by its ``event_key``."""
    if state not in (ACCEPTED, REJECTED):
        raise ReviewError(f"state must be {ACCEPTED} or {REJECTED}")
    names = _names(session, {event.provider_id, event.receiver_id})
    review = session.get(EventReview, event.event_key)
    if review is None:
        review = EventReview(event_key=event.event_key)
        session.add(review)
    review.state = state
    review.decided_by = by
    review.decided_at = utcnow()
    review.note = note
    review.summary = _event_summary(event, names)
    session.flush()
    return review


def decide(session: Session, item_id: str, accept: bool, *, by: str, note: str | None = None) -> dict[str, Any]:
    """Accept or reject an item; returns what was done (JSON-able). Runs in the caller's transaction."""
    kind, number = parse_item_id(item_id)
    if kind == EVENT:
        event = session.get(CooperationEvent, number)
        if event is None:
            raise ReviewError(f"no event {number}")
        review = set_event_review(session, event, ACCEPTED if accept else REJECTED, by=by, note=note)
        return {"id": f"E{number}", "kind": EVENT, "state": review.state, "event_key": event.event_key,
                "summary": review.summary}
    judgement = session.get(Judgement, number)
    if judgement is None:
        raise ReviewError(f"no merge suggestion {number}")
    if judgement.judgement != PENDING:
        raise ReviewError(f"M{number} was already decided ({judgement.judgement} by {judgement.decided_by}); "
                          "use `aimap review merge` or `split` to change organisations")
    result: dict[str, Any] = {"id": f"M{number}", "kind": MERGE}
    if accept:
        if judgement.left_id is None or judgement.right_id is None:
            raise ReviewError(f"M{number}: one of the organisations no longer exists")
        keep, drop = choose_survivor(session, judgement.left_id, judgement.right_id)
        try:
            report = merge_organisations(session, keep, drop, by, note=note, record=False)
        except ResolveError as exc:
            raise ReviewError(str(exc)) from exc
        judgement = session.get(Judgement, number)  # merge_organisations expired the session
        assert judgement is not None
        judgement.left_id = judgement.right_id = keep
        result["merge"] = report.as_dict()
    judgement.judgement = POSITIVE if accept else NEGATIVE
    judgement.automatic = False
    judgement.decided_by = by
    judgement.decided_at = decision_time()
    judgement.note = note
    session.flush()
    result.update(judgement=judgement.judgement, summary=f"{judgement.left_name} ≈ {judgement.right_name}")
    return result


@dataclass
class BulkReport:
    """What a bulk decision did: items decided, skipped (settled meanwhile, e.g. by an earlier merge of
    the same set) and failed (with the reason), each as ``(item id, message)``."""

    decided: list[tuple[str, str]]
    skipped: list[tuple[str, str]]
    failed: list[tuple[str, str]]

    def as_dict(self) -> dict[str, Any]:
        """JSON form: counts and the messages."""
        return {"decided": len(self.decided), "skipped": len(self.skipped), "failed": len(self.failed),
                "skipped_items": [list(x) for x in self.skipped], "failed_items": [list(x) for x in self.failed]}


def decide_many(session: Session, decisions: list[tuple[str, bool, str | None]], *, by: str) -> BulkReport:
    """Take many decisions ``(item id, accept, note)`` in one transaction, each in a savepoint.

    An item that is no longer pending (a merge earlier in the list settled it, or it was decided
    before — a suggestion or an event alike, so applying one sheet twice changes nothing) is skipped; one that cannot be decided (an organisation gone) is reported as failed
    and the others go on. Every decision is stored as :func:`decide` stores one.
    """
    report = BulkReport([], [], [])
    for item_id, accept, note in decisions:
        kind, number = parse_item_id(item_id)
        if kind == MERGE:
            j = session.get(Judgement, number)
            if j is not None and (j.judgement != PENDING or j.left_id == j.right_id):
                report.skipped.append((item_id, f"already {j.judgement} ({j.decided_by or 'merged meanwhile'})"))
                continue
        else:
            event = session.get(CooperationEvent, number)
            review = session.get(EventReview, event.event_key) if event is not None else None
            if review is not None:
                report.skipped.append((item_id, f"already {review.state} by {review.decided_by}"))
                continue
        try:
            with session.begin_nested():
                result = decide(session, item_id, accept, by=by, note=note)
        except ReviewError as exc:
            report.failed.append((item_id, str(exc)))
            continue
        report.decided.append((item_id, str(result.get("state") or result.get("judgement"))))
    return report


def alias_card(session: Session, alias_id: int) -> dict[str, Any]:
    """An alias with its organisation (for confirmation messages)."""
    alias = session.get(Alias, alias_id)
    if alias is None:
        raise ReviewError(f"no alias {alias_id}")
    return {"id": alias.id, "name": alias.name, "kind": alias.kind, "organisation_id": alias.organisation_id,
            "organisation": alias.organisation.name}
