"""The same documents delivered in another order, or split across several incremental ETL runs,
must give the same edges (provider, receiver, year, direction, status) and the same Table 1 as one
run over all of them in crawl order (issue 14, finding 3).

Within one run, documents are loaded in publication order, so a shuffled crawl order gives the
same result. Split across runs, a termination notice may arrive in an earlier run than the
cooperation it ends (seed 1 here: it made an event of its own and 2023 had 56 edges instead of 55,
finding 3); :func:`etl.events.meet` makes them meet whichever comes first. The two cases below are
also done by hand in :func:`test_a_termination_loaded_first_meets_its_announcement` (SQLite).
``benchmarks/bench_faults.py`` runs many seeds.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis.loaders import edition_years, load_report_data
from analysis.stats import compute_edition
from db import migrate
from db.models import CooperationEvent, Document, Mention, Organisation
from db.session import make_engine, session_factory, session_scope
from db.taxonomy import sync_taxonomies
from etl import pipeline
from etl.load import run_etl
from tests.faults import harness
from tests.faults.conftest import BATCH
from tests.worldeval import store_world_documents


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


# --------------------------------------------------------------------------- the rule by hand (SQLite)

#: An announcement, its termination, and a later termination notice of the same pair (extracted as a
#: directed 2022 cooperation, a mutual termination of 2022, a mutual termination of 2024).
NOTICES = {
    "A": ("2022-11-21", "2022年11月21日，北京云杉数据科技有限公司与济南松果信息科技有限公司签署战略合作协议，"
                        "北京云杉数据科技有限公司将为济南松果信息科技有限公司提供大数据和云计算技术支撑，助力其智能金融发展。"),
    "T": ("2022-12-15", "12月15日，北京云杉数据科技有限公司公告称，因业务调整，公司与济南松果信息科技有限公司"
                        "于2022年签订的合作协议已终止。"),
    "T2": ("2024-03-02", "3月2日，北京云杉数据科技有限公司公告称，公司与济南松果信息科技有限公司于2023年续签的合作协议已终止。"),
}


def _load_runs(session: Session, runs: list[str]) -> list[tuple]:
    """Load the notices ``runs`` ("A|T": one run of A and T), one ETL run each; the events and their mentions."""
    for run in runs:
        for label in run.split("|"):
            published, text = NOTICES[label]
            session.add(Document(canonical_url=f"http://127.0.0.1/{label}", url=f"/{label}", http_status=200,
                                 content_sha256=label, published_on=dt.date.fromisoformat(published), text=text))
        session.commit()
        run_etl(session, batch_size=1)
    names = dict(session.execute(select(Organisation.id, Organisation.name)).all())
    urls = dict(session.execute(select(Document.id, Document.url)).all())
    return sorted((names[e.provider_id], names[e.receiver_id], e.year, e.direction, e.status, e.terminated_on,
                   e.announced, tuple(sorted(urls[m.document_id] for m in session.scalars(
                       select(Mention).where(Mention.event_id == e.id)))))
                  for e in session.scalars(select(CooperationEvent)))


@pytest.mark.parametrize("empty_db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("runs", "reference"), [
    (["T", "A"], ["A|T"]),             # the termination a run before its announcement (finding 3)
    (["T2", "T"], ["T|T2"]),           # two terminations without an announcement, the later first
    (["T2", "T", "A"], ["A|T|T2"]),    # both, then the announcement
    (["T", "T2", "A"], ["A", "T", "T2"]),
])
def test_a_termination_loaded_first_meets_its_announcement(runs, reference, session, tmp_path):
    got = _load_runs(session, runs)
    engine = make_engine(f"sqlite:///{tmp_path / 'reference.db'}")  # the reference, in a database of its own
    try:
        migrate.upgrade(engine)
        with session_factory(engine)() as ref:
            sync_taxonomies(ref)
            expected = _load_runs(ref, reference)
    finally:
        engine.dispose()
    assert got == expected
    assert len(got) == 1 and got[0][4] == "terminated"
    assert got[0][6] is ("A" in runs)  # announced
