"""The same documents delivered in another order, or split across several incremental ETL runs,
must give the same edges (provider, receiver, year, direction, status) and the same Table 1 as one
run over all of them in crawl order (issue 14, finding 3).

Within one run, documents are loaded in publication order, so a shuffled crawl order gives the
same result. Split across runs it does not (finding 3, not fixed here): with seed 1, a termination
notice arrives in an earlier run than the cooperation it ends, makes an event of its own, and 2023
has 56 edges instead of 55. That test is a strict expected failure, visible until event identity
is made order-independent (then it passes, fails as XPASS, and the marker comes off).
``benchmarks/bench_faults.py`` runs many seeds.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from analysis.loaders import edition_years, load_report_data
from analysis.stats import compute_edition
from db.session import make_engine, session_factory, session_scope
from etl import pipeline
from tests.faults import harness
from tests.faults.conftest import BATCH
from tests.worldeval import store_world_documents

FINDING_3 = ("issue 14 finding 3: event identity depends on arrival order across runs (a termination notice "
             "loaded in a run before its announcement's makes an event of its own)")


def etl(url: str) -> None:
    """One ETL pass over every pending document, in this process (the CLI's serial path)."""
    pipeline.run_pipeline(url, pipeline.pending(url), batch_size=BATCH, wave_batches=1)


def outcome(url: str) -> dict[str, Any]:
    """The edges and Table 1 (of the edition after the latest event year) of the database ``url``."""
    edges = harness.content(url)["edges"]
    edition = max(e[2] for e in edges) + 1
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            stats = compute_edition(load_report_data(session, edition), edition, edition_years(session, edition))
    finally:
        engine.dispose()
    return {"edges": edges, "table1": [list(map(str, row)) for row in stats.tables["table1"].rows]}


def store(url: str, world, documents: list[dict[str, Any]]) -> None:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            store_world_documents(session, world.path, documents)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def reference(fault_template, pg_admin) -> dict[str, Any]:
    """One ETL run over every document of the world, stored in crawl order."""
    name = harness.create_database(pg_admin, fault_template)
    try:
        etl(harness.pg_url(name))
        return outcome(harness.pg_url(name))
    finally:
        harness.drop_database(pg_admin, name)


@pytest.mark.parametrize("seed", [1])
def test_shuffled_order_gives_the_same_edges_and_table1(seed, fault_world, fault_db, reference):
    db = fault_db(empty=True)
    documents = list(fault_world.documents)
    random.Random(seed).shuffle(documents)
    store(db.url, fault_world, documents)
    etl(db.url)
    got = outcome(db.url)
    assert harness.differences(reference, got) == []


@pytest.mark.xfail(strict=True, reason=FINDING_3)
@pytest.mark.parametrize("seed", [1])
def test_five_incremental_runs_give_the_same_edges_and_table1(seed, fault_world, fault_db, reference):
    db = fault_db(empty=True)
    documents = list(fault_world.documents)
    random.Random(seed).shuffle(documents)
    for part in range(5):
        store(db.url, fault_world, documents[part::5])
        etl(db.url)
    got = outcome(db.url)
    assert harness.differences(reference, got) == []
