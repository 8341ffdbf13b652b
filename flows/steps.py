"""The step ledger of a refresh: which steps of an edition's annual refresh have finished.

Every step of :func:`flows.refresh.annual_refresh` (``crawl:<source>``, ``etl``, ``gate``,
``analyze``, ``publish``) is one ``pipeline_runs`` row with ``flow = "refresh-step"`` and
``parameters = {"edition": E, "step": ...}``: written as ``running`` when the step starts and
set to ``completed`` (with the step's counts) or ``failed`` (with the message) when it ends.
Re-running the refresh of an edition reads the ledger and skips what has completed, so a
refresh resumes from the step that failed; a ``fresh`` start (``refresh-start`` row with
``fresh: true``) hides every earlier step record of the edition. Using the existing
``pipeline_runs`` table keeps the schema as it is; the rows are few (a handful per edition and
source), so they are filtered in Python, the same way on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select

from db.models import PipelineRun, utcnow
from db.session import get_engine, session_scope

STEP_FLOW = "refresh-step"
START_FLOW = "refresh-start"
OVERRIDE_FLOW = "gate-override"
PUBLISH_STEP = "publish"


def _prefect_run_id() -> str | None:
    """The id of the Prefect flow run we are in (None outside a flow run)."""
    try:
        from prefect.runtime import flow_run

        run_id = flow_run.get_id()
    except Exception:  # noqa: BLE001 - outside Prefect there is simply no run
        return None
    return str(run_id) if run_id else None


@dataclass
class Step:
    """One ledger row, detached from the session."""

    id: int
    step: str
    state: str
    counts: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    message: str | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None

    @classmethod
    def of(cls, run: PipelineRun) -> Step:
        """The :class:`Step` of a ``pipeline_runs`` row."""
        return cls(run.id, str(run.parameters.get("step")), run.state, dict(run.counts or {}),
                   dict(run.parameters or {}), run.message, run.started_at, run.finished_at)


def start_run(flow: str, parameters: dict[str, Any], engine: Engine | None = None) -> int:
    """Insert a ``running`` pipeline run (committed at once, so operators see it); return its id.

    A short transaction of its own: a step whose work happens in other sessions (tasks,
    worker processes) must not keep one session open across it (on SQLite a read transaction
    that outlives other writers cannot write any more).
    """
    with session_scope(engine or get_engine()) as session:
        run = PipelineRun(flow=flow, parameters=parameters, prefect_flow_run_id=_prefect_run_id())
        session.add(run)
        session.flush()
        return run.id


def finish_run(run_id: int, *, counts: dict[str, Any] | None = None, state: str = "completed",
               message: str | None = None, engine: Engine | None = None) -> None:
    """Close a pipeline run with its counts (``completed``) or its error (``failed``)."""
    with session_scope(engine or get_engine()) as session:
        run = session.get(PipelineRun, run_id)
        if run is None:
            raise LookupError(f"no pipeline run {run_id}")
        run.state, run.finished_at = state, utcnow()
        if counts is not None:
            run.counts = counts
        if message is not None:
            run.message = message[:4000]


class Ledger:
    """The step records of one edition's refresh (see the module docstring)."""

    def __init__(self, edition: int, engine: Engine | None = None) -> None:
        self.edition = int(edition)
        self.engine = engine or get_engine()

    def _rows(self, flow: str) -> list[PipelineRun]:
        with session_scope(self.engine) as session:
            rows = list(session.scalars(select(PipelineRun).where(PipelineRun.flow == flow).order_by(PipelineRun.id)))
            session.expunge_all()
        return [r for r in rows if r.parameters.get("edition") == self.edition]

    def epoch(self) -> int:
        """Id of the latest fresh start of this edition (0 if none): older step rows do not count."""
        starts = [r.id for r in self._rows(START_FLOW) if r.parameters.get("fresh")]
        return max(starts, default=0)

    def steps(self) -> list[Step]:
        """Every step record since the latest fresh start, oldest first."""
        epoch = self.epoch()
        return [Step.of(r) for r in self._rows(STEP_FLOW) if r.id > epoch]

    def latest(self, step: str) -> Step | None:
        """The most recent record of ``step`` (any state)."""
        found = [s for s in self.steps() if s.step == step]
        return found[-1] if found else None

    def completed(self, step: str) -> Step | None:
        """The most recent completed record of ``step``, or None when it has not completed."""
        found = [s for s in self.steps() if s.step == step and s.state == "completed"]
        return found[-1] if found else None

    def completed_all(self, prefix: str) -> list[Step]:
        """Every completed record whose step starts with ``prefix`` (e.g. every ``etl`` pass)."""
        return [s for s in self.steps() if s.step.startswith(prefix) and s.state == "completed"]

    def begin(self, *, fresh: bool = False, **parameters: Any) -> int:
        """Record that a refresh of the edition starts (``fresh`` forgets earlier steps)."""
        with session_scope(self.engine) as session:
            run = PipelineRun(flow=START_FLOW, parameters={"edition": self.edition, "fresh": fresh, **parameters},
                              state="completed", finished_at=utcnow(), prefect_flow_run_id=_prefect_run_id())
            session.add(run)
            session.flush()
            return run.id

    def start(self, step: str, **parameters: Any) -> int:
        """Record that ``step`` starts (state ``running``); return the record's id."""
        return start_run(STEP_FLOW, {"edition": self.edition, "step": step, **parameters}, self.engine)

    def finish(self, record_id: int, *, counts: dict[str, Any] | None = None, state: str = "completed",
               message: str | None = None) -> None:
        """Close a step record with its counts (``completed``) or its error (``failed``)."""
        finish_run(record_id, counts=counts, state=state, message=message, engine=self.engine)

    def overrides(self) -> list[PipelineRun]:
        """Gate overrides recorded for this edition (any time), oldest first."""
        return self._rows(OVERRIDE_FLOW)


def last_published(edition: int, engine: Engine | None = None) -> Step | None:
    """The most recent completed ``publish`` step of ``edition`` (any epoch), or None."""
    ledger = Ledger(edition, engine)
    published = [Step.of(r) for r in ledger._rows(STEP_FLOW)
                 if r.parameters.get("step") == PUBLISH_STEP and r.state == "completed"]
    return published[-1] if published else None
