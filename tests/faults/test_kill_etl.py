"""``aimap etl`` killed (SIGKILL to its process group) at seeded moments — at random, right after a
batch commit, once every document is loaded (the fingerprint phase) — or its database connections
dropped (``pg_terminate_backend``), then re-run: it ends equal by content to one uninterrupted run
(documents, organisations, edges, mentions, fingerprints), with no run left ``running``
(issue 14, findings 5 and 7; the long version is ``benchmarks/bench_faults.py``).
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from db.models import Document, DocumentFingerprint, PipelineRun
from db.runs import PROCESS_KEY
from db.session import make_engine, session_factory
from etl import pipeline
from etl.load import run_etl_ids
from tests.faults import harness
from tests.faults.conftest import BATCH

COMPARED = ("documents", "organisations", "edges", "mentions", "fingerprints")


# CI's seeded subset: a kill right after a batch commit (the restart the loader's gazetteer must survive:
# tests/faults/test_restart_gazetteer.py), a kill in the fingerprint phase, a connection drop; kills at
# random moments too in benchmarks/bench_faults.py (8 runs of each kind on the small world)
@pytest.mark.parametrize(("kind", "seed"), [("boundary", 3), ("loaded", 4), ("drop", 5)])
def test_etl_interrupted_then_rerun_equals_an_uninterrupted_run(kind, seed, fault_db, etl_reference, pg_admin):
    db = fault_db()
    total = db.count("SELECT count(*) FROM documents")
    first = db.aimap("etl", "--batch-size", str(BATCH), moment=harness.etl_moment(kind, seed, db.name, total, BATCH, pg_admin))
    if kind == "drop" and first.returncode != 0:  # a flapping database: one line with the URL, never a traceback
        assert "Traceback" not in first.stderr, first.stderr
        assert "error:" in first.stderr and db.name in first.stderr and "re-run" in first.stderr, first.stderr
    again = db.aimap("etl", "--batch-size", str(BATCH))
    assert again.returncode == 0, again.stderr
    got = harness.content(db.url)
    assert harness.differences(etl_reference, got, COMPARED) == [], f"{kind} seed {seed}: {first.returncode}"
    assert got["running"] == [], "a run of the killed process is still marked running"


def test_every_entry_point_fingerprints_what_a_killed_run_left(fault_db):
    """A run killed after loading, before fingerprinting (finding 5): the next pass fingerprints
    every document without one, whichever entry point runs it, even with nothing new to load."""
    db = fault_db()
    engine = make_engine(db.url)
    try:
        with session_factory(engine)() as session:
            ids = pipeline.pending(db.url)
            run_etl_ids(session, ids, batch_size=50, dedup=False)  # loaded; the kill came before dedup
            assert session.scalar(select(DocumentFingerprint.document_id).limit(1)) is None
            assert pipeline.pending(db.url) == []
            run_etl_ids(session, [], batch_size=50)  # the serial loader with nothing pending
            fingerprinted = set(session.scalars(select(DocumentFingerprint.document_id)))
            assert fingerprinted == set(session.scalars(select(Document.id)))
    finally:
        engine.dispose()


def test_a_run_left_running_by_a_dead_process_is_marked_interrupted(fault_db):
    """Killed runs stayed `running` forever (finding 7): the next run, and `aimap status`, mark them."""
    db = fault_db()
    killed = db.aimap("etl", "--batch-size", str(BATCH), moment=harness.Moment(when=lambda: db.count() >= BATCH))
    assert killed.struck and killed.killed
    engine = make_engine(db.url)
    try:
        with session_factory(engine)() as s:
            stale = s.scalars(select(PipelineRun).where(PipelineRun.state == "running")).all()
            assert [r.flow for r in stale] == ["etl"] and PROCESS_KEY in stale[0].counts
            s.add(PipelineRun(flow="crawl", state="running", parameters={}, counts={  # another host, long silent
                PROCESS_KEY: {"pid": 1, "host": "elsewhere", "started": 0}, "heartbeat": "2020-01-01T00:00:00+00:00"}))
            s.commit()
        status = db.aimap("status", "--json")
        assert status.returncode == 0, status.stderr
        assert len(json.loads(status.stdout)["stale_runs_marked"]) == 2
        with session_factory(engine)() as s:
            states = {r.flow: (r.state, r.message) for r in s.scalars(select(PipelineRun))}
            assert states["etl"][0] == "interrupted" and "ended without finishing" in states["etl"][1]
            assert states["crawl"][0] == "interrupted" and "no sign of life" in states["crawl"][1]
    finally:
        engine.dispose()
