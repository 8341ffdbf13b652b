"""Root causes for operators: recorded problems (``pipeline_errors``) grouped by where and why.

A failed source says "delivered 0 documents"; its cause is in ``pipeline_errors`` ("connection
refused" six times on one address). :func:`top_reasons` groups the recorded problems per stage
and source (the source of a crawl error is its crawl run's ``source`` parameter) and per reason,
with the count and one example address, most frequent first — for the refresh artifact
(:mod:`flows.refresh`), ``aimap gate show``, ``aimap errors`` and ``aimap status``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import PipelineError, PipelineRun
from db.runs import Step

#: The longest reason shown (the first line of it); longer ones end with "…".
REASON_WIDTH = 200


@dataclass(frozen=True)
class Reason:
    """One cause: ``count`` problems of ``kind`` with this ``reason``, e.g. at ``example``."""

    stage: str
    source: str | None
    kind: str
    reason: str
    count: int
    example: str
    last_at: dt.datetime | None

    def as_dict(self) -> dict[str, object]:
        """JSON form."""
        return {"stage": self.stage, "source": self.source, "kind": self.kind, "reason": self.reason,
                "count": self.count, "example": self.example,
                "last_at": self.last_at.isoformat() if self.last_at else None}


def short_reason(text: str | None) -> str:
    """The first line of a reason, at most :data:`REASON_WIDTH` characters."""
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= REASON_WIDTH else line[: REASON_WIDTH - 1] + "…"


def run_sources(session: Session, run_ids: Iterable[int]) -> dict[int, str | None]:
    """The ``source`` parameter of each of these runs (crawl runs have one)."""
    ids = sorted({i for i in run_ids if i is not None})
    found: dict[int, str | None] = {}
    for start in range(0, len(ids), 500):
        for run_id, params in session.execute(select(PipelineRun.id, PipelineRun.parameters)
                                              .where(PipelineRun.id.in_(ids[start:start + 500]))):
            found[run_id] = (params or {}).get("source")
    return found


def top_reasons(
    session: Session, *, stage: str | None = None, source: str | None = None, since: dt.datetime | None = None,
    run_ids: Iterable[int] | None = None, per_group: int = 3,
) -> dict[tuple[str, str | None], list[Reason]]:
    """Per (stage, source), its ``per_group`` most frequent reasons with counts and an example address.

    Filters: ``stage`` (crawl, etl, registry ...), ``source`` (a crawl source's name), ``since``
    (recorded at or after), ``run_ids`` (only problems of these runs). Groups are ordered by
    their total count, largest first; reasons are compared by their first line.
    """
    stmt = (select(PipelineError.stage, PipelineError.run_id, PipelineError.kind, PipelineError.reason,
                   func.count(), func.min(PipelineError.location), func.max(PipelineError.created_at))
            .group_by(PipelineError.stage, PipelineError.run_id, PipelineError.kind, PipelineError.reason))
    stmt = _where(stmt, stage, since, run_ids)
    if stmt is None:
        return {}
    rows = session.execute(stmt).all()
    sources = run_sources(session, (r[1] for r in rows))
    merged: dict[tuple[str, str | None, str, str], list] = {}
    for stage_, run_id, kind, reason, count, example, last in rows:
        src = sources.get(run_id) if run_id is not None else None
        if source is not None and src != source:
            continue
        key = (stage_, src, kind, short_reason(reason))
        entry = merged.setdefault(key, [0, example, last])
        entry[0] += count
        if last is not None and (entry[2] is None or last > entry[2]):
            entry[1], entry[2] = example, last
    groups: dict[tuple[str, str | None], list[Reason]] = defaultdict(list)
    for (stage_, src, kind, reason), (count, example, last) in merged.items():
        groups[(stage_, src)].append(Reason(stage_, src, kind, reason, count, example or "", last))
    ordered = sorted(groups.items(), key=lambda kv: (-sum(r.count for r in kv[1]), kv[0][0], kv[0][1] or ""))
    return {k: sorted(v, key=lambda r: (-r.count, r.kind, r.reason))[:per_group] for k, v in ordered}


def error_count(session: Session, *, stage: str | None = None, run_ids: Iterable[int] | None = None,
                since: dt.datetime | None = None) -> int:
    """How many problems were recorded (by stage, runs, time)."""
    stmt = _where(select(func.count()).select_from(PipelineError), stage, since, run_ids)
    return 0 if stmt is None else int(session.scalar(stmt) or 0)


def _where(stmt: Any, stage: str | None, since: dt.datetime | None, run_ids: Iterable[int] | None) -> Any:
    """``stmt`` over ``pipeline_errors`` restricted by stage, time and runs; None when no run is wanted."""
    if stage:
        stmt = stmt.where(PipelineError.stage == stage)
    if since is not None:
        stmt = stmt.where(PipelineError.created_at >= since)
    if run_ids is not None:
        wanted = sorted(set(run_ids))
        if not wanted:
            return None
        stmt = stmt.where(PipelineError.run_id.in_(wanted))
    return stmt


def recent_errors(session: Session, *, stage: str | None = None, limit: int = 20) -> list[PipelineError]:
    """The newest recorded problems (detached from nothing: read them inside the session)."""
    stmt = select(PipelineError).order_by(PipelineError.id.desc()).limit(limit)
    if stage:
        stmt = stmt.where(PipelineError.stage == stage)
    return list(session.scalars(stmt))


def crawl_run_ids(session: Session, source: str, since: dt.datetime | None = None,
                  until: dt.datetime | None = None) -> list[int]:
    """Ids of the crawl runs of ``source`` started in [since, until] (the runs of one ledger step)."""
    stmt = select(PipelineRun.id, PipelineRun.parameters, PipelineRun.started_at).where(PipelineRun.flow == "crawl")
    if since is not None:
        stmt = stmt.where(PipelineRun.started_at >= since)
    if until is not None:
        stmt = stmt.where(PipelineRun.started_at <= until)
    return [run_id for run_id, params, _ in session.execute(stmt) if (params or {}).get("source") == source]


@dataclass(frozen=True)
class SourceCauses:
    """What went wrong in one source's latest crawl step of an edition: problems recorded, top reasons."""

    source: str
    state: str
    failed_requests: int
    reasons: list[Reason]


def source_causes(session: Session, steps: Iterable[Step], per_group: int = 3) -> dict[str, SourceCauses]:
    """Per source, the problems its crawl runs recorded during its latest ``crawl:<source>`` step
    (every retry of that step included), with the ``per_group`` most frequent reasons."""
    latest: dict[str, Step] = {}
    for s in steps:
        if s.step.startswith("crawl:"):
            latest[s.step.split(":", 1)[1]] = s
    return {source: _causes(session, source, step.state, crawl_run_ids(session, source, step.started_at,
                                                                       step.finished_at), per_group)
            for source, step in sorted(latest.items())}


def _causes(session: Session, source: str, state: str, ids: list[int], per_group: int) -> SourceCauses:
    """One source's problems over the crawl runs ``ids``: count and the most frequent reasons."""
    reasons = [r for group in top_reasons(session, run_ids=ids, per_group=per_group).values() for r in group]
    reasons.sort(key=lambda r: (-r.count, r.kind, r.reason))
    return SourceCauses(source, state, error_count(session, run_ids=ids), reasons[:per_group])


def crawl_causes(session: Session, states: dict[str, str], since: dt.datetime, per_group: int = 3) -> dict[str, SourceCauses]:
    """Per source of one crawl (``states``: source -> completed/failed), the problems its crawl
    runs started since ``since`` recorded, with the ``per_group`` most frequent reasons: the crawl
    flow's own root causes when it runs outside a refresh ledger."""
    return {source: _causes(session, source, state, crawl_run_ids(session, source, since), per_group)
            for source, state in sorted(states.items())}


def cause_lines(causes: dict[str, SourceCauses], *, only_problems: bool = True) -> list[str]:
    """One markdown bullet per source with problems: its state, count and reasons (for artifacts)."""
    lines = []
    for c in causes.values():
        if only_problems and not c.reasons and c.state == "completed":
            continue
        head = f"- **{c.source}** ({'FAILED' if c.state != 'completed' else c.state}): {c.failed_requests} " \
               "problem(s) recorded"
        lines.append(head + ("" if c.reasons else " — no recorded cause; see the step's message and the crawl log"))
        lines += [f"  - {r.reason} ×{r.count} ({r.kind}), e.g. `{r.example}`" for r in c.reasons]
    return lines
