"""Recording pipeline runs: one ``pipeline_runs`` row per step, with its state and counts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from db.models import PipelineRun, utcnow
from db.session import get_engine, session_scope


@contextmanager
def recorded_run(
    flow: str, parameters: dict[str, Any] | None = None, engine: Engine | None = None
) -> Iterator[tuple[Session, PipelineRun]]:
    """Run a step inside a transaction and record it.

    The run row is committed first (state ``running``) so an operator sees it while the step
    works. The step gets its own session; on success its work is committed and the run is
    marked ``completed`` with the ``counts`` the step set on it; on an exception the step's work
    is rolled back and the run is marked ``failed`` with the error message, then the exception
    propagates.
    """
    engine = engine or get_engine()
    with session_scope(engine) as session:
        run = PipelineRun(flow=flow, parameters=parameters or {})
        session.add(run)
        session.flush()
        run_id = run.id
    try:
        with session_scope(engine) as session:
            run = session.get(PipelineRun, run_id)
            assert run is not None
            yield session, run
            run.state, run.finished_at = "completed", utcnow()
    except BaseException as exc:
        with session_scope(engine) as session:
            failed = session.get(PipelineRun, run_id)
            if failed is not None:
                failed.state, failed.finished_at = "failed", utcnow()
                failed.message = f"{type(exc).__name__}: {exc}"[:4000]
        raise
