"""Run records: completed with counts, or failed with the error and the step's work rolled back."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db.models import PipelineRun, Source
from db.runs import recorded_run
from db.session import session_factory


def test_completed_and_failed_runs(engine):
    with recorded_run("step", {"x": 1}, engine=engine) as (session, run):
        session.add(Source(name="kept", kind="newsroom", config={}))
        run.counts = {"n": 1}
    with pytest.raises(RuntimeError, match="boom"):
        with recorded_run("step", engine=engine) as (session, run):
            session.add(Source(name="rolled-back", kind="newsroom", config={}))
            session.flush()
            raise RuntimeError("boom")
    with session_factory(engine)() as s:
        runs = s.scalars(select(PipelineRun).order_by(PipelineRun.id)).all()
        assert [(r.state, r.counts, r.parameters) for r in runs] == [("completed", {"n": 1}, {"x": 1}),
                                                                     ("failed", {}, {})]
        assert runs[1].message == "RuntimeError: boom" and runs[1].finished_at is not None
        assert s.scalars(select(Source.name)).all() == ["kept"]
        assert s.scalar(select(func.count()).select_from(Source)) == 1
