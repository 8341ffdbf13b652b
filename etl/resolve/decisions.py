"""Exporting and importing decisions (judgements) as JSON lines, re-applied to another database."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import (
    JUDGEMENTS,
    Alias,
    Judgement,
    Organisation,
)
from etl.resolve.corrections import choose_survivor, merge_organisations, split_alias
from etl.resolve.judgements import NEGATIVE, PENDING, POSITIVE, SETTLED, as_utc
from etl.resolve.names import ResolveError, fold_name
from etl.resolve.resolver import Resolver

# --------------------------------------------------------------------------- export / import

_FIELDS = ("left", "left_name", "right", "right_name", "judgement", "automatic", "by", "at", "score", "note")


def _decision_line(row: Judgement) -> dict[str, Any]:
    at = as_utc(row.decided_at)
    return {
        "left": row.left_ref, "left_name": row.left_name, "right": row.right_ref, "right_name": row.right_name,
        "judgement": row.judgement, "automatic": bool(row.automatic), "by": row.decided_by,
        "at": at.astimezone(dt.UTC).replace(microsecond=0).isoformat() if at else None,
        "score": row.score, "note": row.note,
    }


def export_decisions(session: Session, path: Path | str, *, include_pending: bool = False) -> int:
    """Write every settled judgement (and pending ones with ``include_pending``) as JSON lines.

    One object per line with the keys ``left``, ``left_name``, ``right``, ``right_name``,
    ``judgement``, ``automatic``, ``by``, ``at`` (UTC, seconds), ``score``, ``note``; sorted by
    (left, right) with sorted keys, so the file diffs cleanly under version control and
    refers to organisations by identifiers or names only (no database ids). Returns the count.
    """
    wanted = set(SETTLED) | ({PENDING} if include_pending else set())
    rows = session.scalars(select(Judgement).where(Judgement.judgement.in_(sorted(wanted)))).all()
    lines = sorted((_decision_line(r) for r in rows), key=lambda d: (d["left"], d["right"]))
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text("".join(json.dumps(d, ensure_ascii=False, sort_keys=True) + "\n" for d in lines), encoding="utf-8")
    os.replace(tmp, target)
    return len(lines)


@dataclass
class ImportReport:
    """Counts of :func:`import_decisions`."""

    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept_existing: int = 0
    merged: int = 0
    split: int = 0

    def as_dict(self) -> dict[str, int]:
        """Plain counts (CLI, JSON)."""
        return dict(self.__dict__)


def _parse_decisions(path: Path) -> list[dict[str, Any]]:
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ResolveError(f"{where}: not JSON: {exc}") from exc
        if not isinstance(item, dict):
            raise ResolveError(f"{where}: expected an object")
        unknown = set(item) - set(_FIELDS)
        if unknown:
            raise ResolveError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
        for k in ("left", "right", "judgement"):
            if not isinstance(item.get(k), str) or not item[k]:
                raise ResolveError(f"{where}: {k} is required")
        for k in ("left", "right"):
            if item[k].partition(":")[0] not in ("uscc", "stock", "name") or not item[k].partition(":")[2]:
                raise ResolveError(f"{where}: {k} must be uscc:<code>, stock:<exchange>:<code> or name:<name>")
        if item["judgement"] not in JUDGEMENTS:
            raise ResolveError(f"{where}: judgement must be one of {', '.join(JUDGEMENTS)}")
        if item["left"] == item["right"]:
            raise ResolveError(f"{where}: left and right are the same reference")
        at = item.get("at")
        try:
            item["at"] = as_utc(dt.datetime.fromisoformat(at)) if at else None
        except ValueError as exc:
            raise ResolveError(f"{where}: at is not an ISO date-time: {at!r}") from exc
        score = item.get("score")
        if score is not None and not isinstance(score, int | float):
            raise ResolveError(f"{where}: score must be a number")
        out.append(item)
    return out


def import_decisions(session: Session, path: Path | str, *, apply: bool = True) -> ImportReport:
    """Re-apply decisions written by :func:`export_decisions` (the whole file is checked first).

    Each decision is stored unless the database holds a more authoritative one for the pair
    (an analyst's over an automatic one, else the later one; ties keep the stored one). With
    ``apply``, stored decisions also act on the organisations present now: a positive one
    whose references denote two organisations merges them (:func:`choose_survivor`), a
    negative one whose references denote one organisation through a name alias splits that
    alias off. Decisions about names not seen yet are applied by the :class:`Resolver` when
    the names appear. Runs in the caller's transaction.
    """
    items = _parse_decisions(Path(path))
    report = ImportReport(read=len(items))
    stored: list[Judgement] = []
    for item in items:
        left, right = sorted(((item["left"], item.get("left_name") or item["left"]),
                              (item["right"], item.get("right_name") or item["right"])))
        row = session.scalars(select(Judgement).where(Judgement.left_ref == left[0],
                                                      Judgement.right_ref == right[0])).first()
        never = dt.datetime.min.replace(tzinfo=dt.UTC)
        incoming = (not item.get("automatic", False), (item["at"] or never).replace(microsecond=0))
        if row is not None:
            current = (not row.automatic, (as_utc(row.decided_at) or never).replace(microsecond=0))
            same = (row.judgement == item["judgement"] and bool(row.automatic) == bool(item.get("automatic"))
                    and row.decided_by == item.get("by") and current[1] == incoming[1])
            if same:
                report.unchanged += 1
                stored.append(row)
                continue
            if (row.judgement in SETTLED and item["judgement"] == PENDING) or incoming <= current:
                report.kept_existing += 1
                continue
            report.updated += 1
        else:
            row = Judgement(left_ref=left[0], right_ref=right[0])
            session.add(row)
            report.created += 1
        row.left_name, row.right_name = left[1][:255], right[1][:255]
        row.judgement = item["judgement"]
        row.automatic = bool(item.get("automatic", False))
        row.decided_by = item.get("by")
        row.decided_at = item["at"]
        row.score = item.get("score")
        row.note = item.get("note")
        stored.append(row)
    session.flush()
    if apply and stored:
        resolver = Resolver(session)
        for row in stored:
            _apply(session, resolver, row, report)
    session.flush()
    return report


def _apply(session: Session, resolver: Resolver, row: Judgement, report: ImportReport) -> None:
    left, right = resolver.orgs_for_ref(row.left_ref), resolver.orgs_for_ref(row.right_ref)
    if len(left) == 1:
        row.left_id = next(iter(left))
    if len(right) == 1:
        row.right_id = next(iter(right))
    if len(left) != 1 or len(right) != 1:
        return
    a, b = next(iter(left)), next(iter(right))
    by = row.decided_by or "import"
    if row.judgement == POSITIVE and a != b:
        keep, drop = choose_survivor(session, a, b)
        merge_organisations(session, keep, drop, by, note=row.note, record=False, force=True)
        resolver.note_merge(keep, drop)
        row.left_id = row.right_id = keep
        report.merged += 1
    elif row.judgement == NEGATIVE and a == b:
        org_name = session.scalar(select(Organisation.name).where(Organisation.id == a)) or ""
        names = [ref[5:] for ref in (row.left_ref, row.right_ref) if ref.startswith("name:")]
        names.sort(key=lambda folded: folded == fold_name(org_name))  # split a non-canonical name first
        aliases = session.scalars(select(Alias).where(Alias.organisation_id == a).order_by(Alias.id)).all()
        for folded in names:
            alias = next((al for al in aliases if fold_name(al.name) == folded), None)
            if alias is None or all(fold_name(al.name) == folded for al in aliases):
                continue
            name = alias.name
            result = split_alias(session, alias.id, by, note=row.note, record=False)
            new = session.get(Organisation, result.new_org_id)
            assert new is not None
            resolver.note_split(name, a, new)
            if row.left_ref == "name:" + folded:
                row.left_id = new.id
            else:
                row.right_id = new.id
            report.split += 1
            break
