"""Portable references to organisations and the judgement store: recording one decision on a pair."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import (
    JUDGEMENTS,
    Judgement,
    Organisation,
    utcnow,
)
from etl.resolve.names import ResolveError, fold_name

POSITIVE, NEGATIVE, UNSURE, PENDING = JUDGEMENTS
#: Judgements that settle a question (a pending one is a suggestion still to decide).
SETTLED = frozenset({POSITIVE, NEGATIVE, UNSURE})

@dataclass
class OrgInfo:
    """What the resolver keeps in memory about an organisation."""

    id: int
    name: str
    kind: str | None
    province: str | None
    city: str | None
    uscc: str | None
    stock_exchange: str | None
    stock_code: str | None
    is_sample: bool


# --------------------------------------------------------------------------- references


def name_ref(name: str) -> str:
    """Portable reference of a name: ``name:<folded name>``."""
    return "name:" + fold_name(name)


def identifier_refs(uscc: str | None, exchange: str | None, stock_code: str | None) -> list[str]:
    """Portable references of identifiers: ``uscc:<code>`` and ``stock:<exchange>:<code>``."""
    refs = []
    if uscc:
        refs.append(f"uscc:{uscc}")
    if exchange and stock_code:
        refs.append(f"stock:{exchange}:{stock_code}")
    return refs


def org_ref(org: Organisation | OrgInfo) -> str:
    """An organisation's portable reference: its USCC, else its stock code, else its name."""
    refs = identifier_refs(org.uscc, org.stock_exchange, org.stock_code)
    return refs[0] if refs else name_ref(org.name)


@dataclass(frozen=True)
class Party:
    """One side of a judgement: a portable reference, a display name, the organisation here."""

    ref: str
    name: str
    org_id: int | None = None

    @classmethod
    def of(cls, org: Organisation | OrgInfo) -> Party:
        """The party for an organisation (its :func:`org_ref`)."""
        return cls(org_ref(org), org.name, org.id)


def decision_time() -> dt.datetime:
    """Now, to the second: decisions are exported with seconds, so a round trip is exact."""
    return utcnow().replace(microsecond=0)


def record_judgement(
    session: Session,
    a: Party,
    b: Party,
    judgement: str,
    *,
    by: str | None,
    automatic: bool = False,
    score: float | None = None,
    note: str | None = None,
    at: dt.datetime | None = None,
    rows: dict[tuple[str, str], Judgement] | None = None,
) -> Judgement:
    """Store a decision on the pair (a, b) — one row per unordered pair of references.

    Precedence: an analyst's settled decision is not overwritten by an automatic one, and a
    pending suggestion never replaces a settled decision; otherwise the new decision replaces
    the stored one. Returns the row (new or existing). ``rows`` is a complete in-memory index
    of the stored rows by (left_ref, right_ref), kept up to date here: given, it replaces the
    query for the existing row (the resolver's bulk loads write many judgements per batch).
    """
    if judgement not in JUDGEMENTS:
        raise ResolveError(f"unknown judgement {judgement!r} (expected one of {', '.join(JUDGEMENTS)})")
    if a.ref == b.ref:
        raise ResolveError(f"a judgement needs two different references, got {a.ref!r} twice")
    left, right = sorted((a, b), key=lambda p: p.ref)
    if rows is not None:
        row = rows.get((left.ref, right.ref))
    else:
        row = session.scalars(
            select(Judgement).where(Judgement.left_ref == left.ref, Judgement.right_ref == right.ref)
        ).first()
    if row is None:
        row = Judgement(left_ref=left.ref, right_ref=right.ref)
        session.add(row)
        if rows is not None:
            rows[(left.ref, right.ref)] = row
    elif row.judgement in SETTLED and (judgement == PENDING or (automatic and not row.automatic)):
        return row
    row.left_name, row.right_name = left.name[:255], right.name[:255]
    if left.org_id is not None:
        row.left_id = left.org_id
    if right.org_id is not None:
        row.right_id = right.org_id
    row.judgement = judgement
    row.automatic = automatic
    row.decided_by = by
    row.decided_at = None if judgement == PENDING else (at or decision_time())
    if score is not None:
        row.score = round(float(score), 4)
    row.note = note
    return row



def bulk_execute(session: Session, statement: Any) -> None:
    """Run a bulk UPDATE/DELETE without evaluating it against every object in the session
    (the callers expire what they change); ``synchronize_session`` would scan the identity map."""
    session.execute(statement, execution_options={"synchronize_session": False})


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite returns naive datetimes for timezone-aware columns: read them as UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value
