"""Corrections by analysts: merging two organisations and splitting an alias off into a new one."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from common.events import event_key
from db.models import (
    Alias,
    Base,
    CooperationEvent,
    Document,
    EventApplicationDomain,
    EventReview,
    EventTechCategory,
    FirmAttributes,
    FirmFinancials,
    Judgement,
    Mention,
    Organisation,
)
from etl.resolve.judgements import (
    NEGATIVE,
    PENDING,
    POSITIVE,
    Party,
    as_utc,
    bulk_execute,
    decision_time,
    name_ref,
    record_judgement,
)
from etl.resolve.names import ResolveError, alias_kind, fold_name, load_name_rules, name_key

# --------------------------------------------------------------------------- corrections


@dataclass
class MergeReport:
    """What :func:`merge_organisations` changed."""

    keep_id: int
    drop_id: int
    aliases_moved: int = 0
    events_repointed: int = 0
    events_merged: int = 0
    self_loops_removed: int = 0
    mentions_moved: int = 0

    def as_dict(self) -> dict[str, int]:
        """Plain counts (CLI, JSON)."""
        return dict(self.__dict__)


def choose_survivor(session: Session, a_id: int, b_id: int) -> tuple[int, int]:
    """(keep, drop) for merging two organisations: sample firm, then identifiers, registry origin, oldest."""
    rows = {o.id: o for o in session.scalars(select(Organisation).where(Organisation.id.in_((a_id, b_id))))}
    missing = {a_id, b_id} - set(rows)
    if missing:
        raise ResolveError(f"no organisation with id {', '.join(map(str, sorted(missing)))}")

    def rank(org: Organisation) -> tuple[int, int, int, int]:
        return (int(not org.is_sample), int(not (org.uscc or org.stock_code)), int(org.origin != "registry"), org.id)

    keep, drop = sorted(rows.values(), key=rank)
    return keep.id, drop.id


def merge_organisations(
    session: Session, keep_id: int, drop_id: int, by: str, *, note: str | None = None, force: bool = False,
    record: bool = True,
) -> MergeReport:
    """Merge organisation ``drop_id`` into ``keep_id`` and delete it.

    - aliases move to ``keep`` (a name+kind it already has is dropped);
    - identifiers, place, industry and kind fill what ``keep`` lacks; ``is_sample`` is or-ed;
    - firm attributes and yearly financials move (for a year both have, ``keep``'s values win
      and its missing values are filled);
    - cooperation events: provider, receiver and reporter are re-pointed and their key
      recomputed (:func:`common.events.event_key`); events that now share a key are merged into the
      oldest, keeping every mention (one per document: the higher confidence), the union of
      categories and domains, and a termination; events between the two (now a self-relation)
      are removed; analyst reviews follow their events' keys;
    - judgements are re-pointed; pending suggestions between the two become positive;
    - with ``record``, a positive judgement by ``by`` is stored for the pair.

    Two organisations with different 统一社会信用代码 are different legal persons: refused
    unless ``force``. Runs in the caller's transaction (flushes, does not commit).
    """
    if keep_id == drop_id:
        raise ResolveError("cannot merge an organisation into itself")
    session.flush()
    session.expire_all()  # read the current rows, not collections loaded earlier
    keep, drop = session.get(Organisation, keep_id), session.get(Organisation, drop_id)
    if keep is None or drop is None:
        raise ResolveError(f"no organisation with id {drop_id if keep else keep_id}")
    if keep.uscc and drop.uscc and keep.uscc != drop.uscc and not force:
        raise ResolveError(f"{keep.name} and {drop.name} have different 统一社会信用代码 ({keep.uscc}, {drop.uscc}); "
                           "pass force to merge them anyway")
    keep_party, drop_party = Party.of(keep), Party.of(drop)
    report = MergeReport(keep_id, drop_id)

    # aliases
    have = {(a.name, a.kind) for a in keep.aliases}
    names = {a.name for a in keep.aliases}
    for alias in list(drop.aliases):
        if (alias.name, alias.kind) in have:
            bulk_execute(session, delete(Alias).where(Alias.id == alias.id))
        else:
            bulk_execute(session, update(Alias).where(Alias.id == alias.id).values(organisation_id=keep_id))
            have.add((alias.name, alias.kind))
            names.add(alias.name)
            report.aliases_moved += 1
    if drop.name not in names:
        session.execute(insert(Alias).values(organisation_id=keep_id, name=drop.name, kind=alias_kind(drop.name),
                                             source="merge"))

    # identifiers and descriptive columns
    fill: dict[str, Any] = {}
    clear: dict[str, Any] = {}
    if not keep.uscc and drop.uscc:
        fill["uscc"], clear["uscc"] = drop.uscc, None
    if not keep.stock_code and drop.stock_code:
        fill.update(stock_exchange=drop.stock_exchange, stock_code=drop.stock_code)
        clear.update(stock_exchange=None, stock_code=None)
    for attr in ("province_code", "city_code", "industry_section", "industry_division"):
        if getattr(keep, attr) is None and getattr(drop, attr) is not None:
            fill[attr] = getattr(drop, attr)
    if keep.kind == "other" and drop.kind != "other":
        fill["kind"] = drop.kind
    if drop.is_sample and not keep.is_sample:
        fill["is_sample"] = True
    if clear:
        bulk_execute(session, update(Organisation).where(Organisation.id == drop_id).values(**clear))
    if fill:
        bulk_execute(session, update(Organisation).where(Organisation.id == keep_id).values(**fill))

    _merge_attributes(session, keep_id, drop_id)
    _merge_financials(session, keep_id, drop_id)
    _merge_events(session, keep_id, drop_id, report)

    # judgements
    for column in (Judgement.left_id, Judgement.right_id):
        bulk_execute(session, update(Judgement).where(column == drop_id).values({column.key: keep_id}))
    session.execute(
        update(Judgement)
        .where(Judgement.judgement == PENDING, Judgement.left_id == keep_id, Judgement.right_id == keep_id)
        .values(judgement=POSITIVE, automatic=False, decided_by=by, decided_at=decision_time(), note=note)
    )
    _repoint_other_references(session, keep_id, drop_id)
    bulk_execute(session, delete(Organisation).where(Organisation.id == drop_id))
    session.expire_all()
    if record and keep_party.ref != drop_party.ref:
        record_judgement(session, Party(keep_party.ref, keep_party.name, keep_id),
                         Party(drop_party.ref, drop_party.name, keep_id), POSITIVE, by=by, note=note)
    session.flush()
    return report


def _merge_attributes(session: Session, keep_id: int, drop_id: int) -> None:
    mine, theirs = session.get(FirmAttributes, keep_id), session.get(FirmAttributes, drop_id)
    if theirs is None:
        return
    if mine is None:
        bulk_execute(session, update(FirmAttributes).where(FirmAttributes.organisation_id == drop_id)
                        .values(organisation_id=keep_id))
        return
    values = {c: getattr(theirs, c) for c in ("founded_on", "employees", "tech_layer", "patents")
              if getattr(mine, c) is None and getattr(theirs, c) is not None}
    if theirs.listed and not mine.listed:
        values["listed"] = True
    bulk_execute(session, delete(FirmAttributes).where(FirmAttributes.organisation_id == drop_id))
    if values:
        bulk_execute(session, update(FirmAttributes).where(FirmAttributes.organisation_id == keep_id).values(**values))


def _merge_financials(session: Session, keep_id: int, drop_id: int) -> None:
    mine = {f.fiscal_year: f for f in session.scalars(select(FirmFinancials).where(
        FirmFinancials.organisation_id == keep_id))}
    for theirs in session.scalars(select(FirmFinancials).where(FirmFinancials.organisation_id == drop_id)).all():
        own = mine.get(theirs.fiscal_year)
        if own is None:
            bulk_execute(session, update(FirmFinancials).where(FirmFinancials.id == theirs.id).values(organisation_id=keep_id))
            continue
        values = {c: getattr(theirs, c) for c in ("revenue_cny", "rd_expense_cny", "document_id")
                  if getattr(own, c) is None and getattr(theirs, c) is not None}
        bulk_execute(session, delete(FirmFinancials).where(FirmFinancials.id == theirs.id))
        if values:
            bulk_execute(session, update(FirmFinancials).where(FirmFinancials.id == own.id).values(**values))


def _delete_events(session: Session, ids: list[int]) -> None:
    if not ids:
        return
    bulk_execute(session, delete(Mention).where(Mention.event_id.in_(ids)))
    bulk_execute(session, delete(EventTechCategory).where(EventTechCategory.event_id.in_(ids)))
    bulk_execute(session, delete(EventApplicationDomain).where(EventApplicationDomain.event_id.in_(ids)))
    bulk_execute(session, delete(CooperationEvent).where(CooperationEvent.id.in_(ids)))


def _merge_events(session: Session, keep_id: int, drop_id: int, report: MergeReport) -> None:
    E = CooperationEvent
    rows = session.execute(select(E.id, E.provider_id, E.receiver_id, E.reported_by_id, E.direction, E.year,
                                  E.event_key).where(or_(E.provider_id == drop_id, E.receiver_id == drop_id,
                                                         E.reported_by_id == drop_id))).all()
    if not rows:
        return
    new_values: dict[int, dict[str, Any]] = {}
    groups: dict[str, list[int]] = defaultdict(list)
    key_moves: dict[str, str] = {}
    self_loops: list[int] = []
    for row in rows:
        p = keep_id if row.provider_id == drop_id else row.provider_id
        r = keep_id if row.receiver_id == drop_id else row.receiver_id
        rep = keep_id if row.reported_by_id == drop_id else row.reported_by_id
        if p == r:
            self_loops.append(row.id)
            continue
        key = event_key(p, r, row.direction, row.year)
        new_values[row.id] = {"provider_id": p, "receiver_id": r, "reported_by_id": rep, "event_key": key}
        groups[key].append(row.id)
        key_moves[row.event_key] = key
    for event_id, key in session.execute(select(E.id, E.event_key).where(E.event_key.in_(list(groups)))):
        if event_id not in new_values:
            groups[key].append(event_id)
    report.self_loops_removed = len(self_loops)
    _delete_events(session, self_loops)
    survivors: dict[int, str] = {}
    for key, ids in groups.items():
        survivor, *others = sorted(ids)
        survivors[survivor] = key
        for other in others:
            report.mentions_moved += _fold_event(session, survivor, other)
            report.events_merged += 1
    for event_id, values in new_values.items():
        if event_id in survivors:
            bulk_execute(session, update(E).where(E.id == event_id).values(**values))
            report.events_repointed += 1
    _move_reviews(session, key_moves)


def _fold_event(session: Session, survivor: int, other: int) -> int:
    """Move everything of event ``other`` onto ``survivor`` and delete ``other``; returns mentions moved."""
    E, M = CooperationEvent, Mention
    mine = {doc: (mid, conf) for mid, doc, conf in session.execute(
        select(M.id, M.document_id, M.confidence).where(M.event_id == survivor))}
    moved = 0
    for mid, doc, conf, sentence in session.execute(
        select(M.id, M.document_id, M.confidence, M.sentence).where(M.event_id == other)
    ).all():
        own = mine.get(doc)
        if own is None:
            bulk_execute(session, update(M).where(M.id == mid).values(event_id=survivor))
            moved += 1
            continue
        if conf > own[1]:
            values: dict[str, Any] = {"confidence": conf}
            if sentence:
                values["sentence"] = sentence
            bulk_execute(session, update(M).where(M.id == own[0]).values(**values))
        bulk_execute(session, delete(M).where(M.id == mid))
    for model, column in ((EventTechCategory, "category_code"), (EventApplicationDomain, "domain_code")):
        col = getattr(model, column)
        have = set(session.scalars(select(col).where(model.event_id == survivor)))
        for code in session.scalars(select(col).where(model.event_id == other)).all():
            if code not in have:
                session.execute(insert(model).values(event_id=survivor, **{column: code}))
    cols = (E.status, E.terminated_on, E.event_date, E.reported_by_id)
    a = session.execute(select(*cols).where(E.id == survivor)).one()
    b = session.execute(select(*cols).where(E.id == other)).one()
    changes: dict[str, Any] = {}
    if b.status == "terminated" and a.status != "terminated":
        changes.update(status="terminated", terminated_on=b.terminated_on)
    if b.event_date and (a.event_date is None or b.event_date < a.event_date):
        changes["event_date"] = b.event_date
    if a.reported_by_id is None and b.reported_by_id is not None:
        changes["reported_by_id"] = b.reported_by_id
    _delete_events(session, [other])
    if changes:
        bulk_execute(session, update(E).where(E.id == survivor).values(**changes))
    return moved


def _move_reviews(session: Session, key_moves: dict[str, str]) -> None:
    """Reviews follow their event's new key; when two meet, the later decision stays."""
    moves = {old: new for old, new in key_moves.items() if old != new}
    if not moves:
        return
    reviews = {r.event_key: r for r in session.scalars(
        select(EventReview).where(EventReview.event_key.in_(list(moves) + list(set(moves.values())))))}
    for old, new in moves.items():
        review = reviews.get(old)
        if review is None:
            continue
        target = reviews.get(new)
        if target is not None and as_utc(target.decided_at) >= as_utc(review.decided_at):
            bulk_execute(session, delete(EventReview).where(EventReview.event_key == old))
            continue
        if target is not None:
            bulk_execute(session, delete(EventReview).where(EventReview.event_key == new))
        bulk_execute(session, update(EventReview).where(EventReview.event_key == old).values(event_key=new))
        reviews[new] = review
    session.expire_all()


_HANDLED_TABLES = {"organisations", "aliases", "firm_attributes", "firm_financials", "cooperation_events", "judgements"}


def _repoint_other_references(session: Session, keep_id: int, drop_id: int) -> None:
    """Re-point foreign keys to organisations in tables this module does not know (added later)."""
    for table in Base.metadata.sorted_tables:
        if table.name in _HANDLED_TABLES:
            continue
        for fk in table.foreign_keys:
            if fk.column.table.name == "organisations":
                bulk_execute(session, update(table).where(fk.parent == drop_id).values({fk.parent.name: keep_id}))


@dataclass
class SplitReport:
    """What :func:`split_alias` changed."""

    alias_id: int
    old_org_id: int
    new_org_id: int
    aliases_moved: int
    documents_requeued: int

    def as_dict(self) -> dict[str, int]:
        """Plain counts (CLI, JSON)."""
        return dict(self.__dict__)


def split_alias(
    session: Session, alias_id: int, by: str, *, note: str | None = None, record: bool = True
) -> SplitReport:
    """Move an alias (and every alias of the same organisation with the same folded name) to a new
    organisation, and store a negative judgement between the name and the old organisation.

    The new organisation copies the old one's kind and takes its place from the name. Events
    stay with the old organisation, but every document whose evidence sentence for one of its
    events contains the name is queued for re-extraction (``documents.extracted_sha256`` is
    cleared), so the next ETL run attributes those cooperations to the right organisation.
    Refused when the alias is the organisation's only name. ``record=False`` skips the
    judgement (when the caller applies one that is already stored).
    """
    session.flush()
    session.expire_all()  # read the current rows, not collections loaded earlier
    alias = session.get(Alias, alias_id)
    if alias is None:
        raise ResolveError(f"no alias with id {alias_id}")
    org = session.get(Organisation, alias.organisation_id)
    assert org is not None
    names = session.scalars(select(Alias).where(Alias.organisation_id == org.id).order_by(Alias.id)).all()
    folded = fold_name(alias.name)
    moving = [a for a in names if fold_name(a.name) == folded]
    remaining = [a for a in names if fold_name(a.name) != folded]
    if not remaining:
        raise ResolveError(f"alias {alias_id} ({alias.name}) is the only name of organisation {org.id}; nothing to split")
    old_party = Party.of(org)
    rules = load_name_rules()
    key = name_key(alias.name, rules)
    new = Organisation(name=alias.name, kind=org.kind, is_sample=False, origin="split",
                       province_code=key.province, city_code=key.city)
    session.add(new)
    session.flush()
    bulk_execute(session, update(Alias).where(Alias.id.in_([a.id for a in moving])).values(organisation_id=new.id))
    if fold_name(org.name) == folded:
        order = {"full": 0, "short": 1, "stock_short": 2, "english": 3, "former": 4}
        best = min(remaining, key=lambda a: (order.get(a.kind, 9), a.id))
        bulk_execute(session, update(Organisation).where(Organisation.id == org.id).values(name=best.name))
        if old_party.ref.startswith("name:"):
            old_party = Party(name_ref(best.name), best.name, org.id)
    event_ids = select(CooperationEvent.id).where(
        or_(CooperationEvent.provider_id == org.id, CooperationEvent.receiver_id == org.id))
    doc_ids = set(session.scalars(select(Mention.document_id).where(
        and_(Mention.event_id.in_(event_ids), Mention.sentence.contains(alias.name)))))
    if doc_ids:
        bulk_execute(session, update(Document).where(Document.id.in_(doc_ids)).values(extracted_sha256=None))
    session.expire_all()
    if record:
        record_judgement(session, Party(name_ref(alias.name), alias.name, new.id), old_party, NEGATIVE,
                         by=by, note=note)
    session.flush()
    return SplitReport(alias_id, old_party.org_id or org.id, new.id, len(moving), len(doc_ids))
