"""``aimap analyze`` killed (SIGKILL to its process group) at a seeded moment, or its database
connections dropped, then re-run: the bundle ends identical, file by file, to an uninterrupted
build of the same database, and no run is left ``running`` (issue 14)."""

from __future__ import annotations

import random
import shutil

import pytest

from tests.faults import harness
from tests.faults.conftest import BATCH


@pytest.fixture
def analysed(fault_db):
    """A loaded database and its uninterrupted bundle (file digests)."""
    db = fault_db()
    assert db.aimap("etl", "--batch-size", str(BATCH * 5)).returncode == 0
    done = db.aimap("analyze", "--out", str(db.home / "bundle"))
    assert done.returncode == 0, done.stderr
    digests = harness.file_digests(db.home / "bundle")
    shutil.rmtree(db.home / "bundle")  # the interrupted build writes the same place (paths may be in files)
    return db, digests


@pytest.mark.parametrize(("kind", "seed"), [("kill", 11)])  # ("drop", 12) and more seeds: bench_faults.py
def test_analyze_interrupted_then_rerun_gives_the_same_bundle(kind, seed, analysed, pg_admin):
    db, reference = analysed
    rng = random.Random(seed)
    after = rng.uniform(3.0, 9.0)  # the CLI needs ~3 s to start; the whole build ~13 s on 2 cores
    moment = harness.Moment(after=after) if kind == "kill" else harness.Moment(
        after=after, drop=lambda: harness.drop_connections(pg_admin, db.name))
    out = db.home / "bundle"
    first = db.aimap("analyze", "--out", str(out), moment=moment)
    if first.returncode not in (0, -9):
        assert "Traceback" not in first.stderr, first.stderr
    again = db.aimap("analyze", "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert harness.differences({"files": reference}, {"files": harness.file_digests(out)}) == [], \
        f"{kind} after {after:.1f} s"
    assert harness.content(db.url)["running"] == []
