"""Issue 17: the bulk load and the extraction process pool give the same database as the serial path.

Both engines (``db_url`` is parametrised over SQLite and PostgreSQL). Each test loads the tiny
demo world's documents twice — once the fast way, once the reference way into a twin database
on the same engine — and compares the content by natural keys (ids may differ): organisations
by name, aliases, events (provider, receiver, year, kind, status, ...), mentions, labels, the
documents' extraction marks and the quarantine. The bulk test then applies a weekly-style
increment (new documents, changed documents, a document that lost its cooperation) to both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import etl.ahead as ahead
import etl.load as load
from db.models import Alias, Document, Mention, Organisation, PipelineError
from db.session import make_engine, session_factory
from demosite.evaluation import world_documents
from demosite.render import render_site
from demosite.world import build_world
from etl import pipeline
from tests.conftest import create_pg_database, drop_pg_database, prepare_url
from tests.test_etl_load import _state
from tests.worldeval import store_world_documents


@pytest.fixture(scope="module")
def tiny_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    out = render_site(build_world(seed=7, preset="tiny"), tmp_path_factory.mktemp("w") / "w").out_dir
    return out, world_documents(out / "truth")


@pytest.fixture
def twin_url(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A second migrated database on the same engine as ``db_url`` (for the reference load)."""
    if db_url.startswith("sqlite"):
        url, name, admin = f"sqlite:///{tmp_path / 'twin.db'}", None, None
    else:
        admin = request.getfixturevalue("pg_admin")
        name, url = create_pg_database(admin)
    prepare_url(url)
    try:
        yield url
    finally:
        if name is not None:
            from db.session import _cached_engine

            _cached_engine.cache_clear()
            drop_pg_database(admin, name)


def _content(session: Session) -> dict[str, object]:
    """Everything the ETL writes, by natural keys: :func:`tests.test_etl_load._state` and more."""
    state = _state(session)
    names = dict(session.execute(select(Organisation.id, Organisation.name)).all())
    state["aliases"] = sorted((names[a.organisation_id], a.name, a.kind, a.source) for a in session.scalars(select(Alias)))
    state["organisation_rows"] = sorted(
        (o.name, o.kind, o.origin, o.province_code or "", o.city_code or "", o.industry_division or "")
        for o in session.scalars(select(Organisation)))
    state["event_rows"] = sorted(
        (names[e.provider_id], names[e.receiver_id], e.year, e.kind, e.status, e.direction, str(e.event_date),
         str(e.terminated_on), names.get(e.reported_by_id, ""), bool(e.announced))
        for e in session.scalars(select(load.CooperationEvent)))
    state["confidence"] = sorted(round(m.confidence, 6) for m in session.scalars(select(Mention)))
    state["documents"] = sorted(
        (d.canonical_url, d.extracted_sha256 or "", d.extractor_version or "") for d in session.scalars(select(Document)))
    state["quarantine"] = sorted((e.location, e.reason) for e in session.scalars(select(PipelineError)))
    return state


def _change(session: Session, docs: list[Document]) -> None:
    """A weekly update's changes: one document loses its cooperation, two swap their texts."""
    quiet = "本公司董事会于今日召开例行会议，审议通过了年度预算报告。"
    first, second, third = docs
    second_text, third_text = second.text, third.text
    for doc, text in ((first, quiet), (second, third_text), (third, second_text)):
        doc.text, doc.content_sha256 = text, hashlib.sha256(text.encode()).hexdigest()
    session.commit()


def _store_in_both(urls: tuple[str, ...], world: Path, docs: list[dict]) -> None:
    """The documents as a crawl stores them, into each database."""
    for url in urls:
        engine = make_engine(url)
        with session_factory(engine)() as session:
            store_world_documents(session, world, docs)
        engine.dispose()


def _content_of(url: str, serial_batch: int | None = None) -> tuple[dict[str, object], load.EtlReport | None]:
    """:func:`_content` of the database ``url``, after a serial ``run_etl`` in batches of ``serial_batch`` if given."""
    engine = make_engine(url)
    with session_factory(engine)() as session:
        report = load.run_etl(session, batch_size=serial_batch) if serial_batch else None
        content = _content(session)
    engine.dispose()
    return content, report


def test_bulk_load_equals_the_per_document_load(db_url: str, twin_url: str, tiny_world) -> None:
    world, docs = tiny_world
    cut = len(docs) * 9 // 10
    results = {}
    for url, bulk in ((db_url, True), (twin_url, False)):
        engine = make_engine(url)
        with session_factory(engine)() as session:
            store_world_documents(session, world, docs[:cut])
            first = load.run_etl(session, batch_size=25, bulk=bulk)
            loaded = _content(session)
            with_mentions = [d for d in session.scalars(select(Document).order_by(Document.canonical_url))
                             if d.id in set(session.scalars(select(Mention.document_id)))]
            _change(session, [with_mentions[3], with_mentions[10], with_mentions[20]])
            store_world_documents(session, world, docs[cut:])  # (the registry import is idempotent)
            second = load.run_etl(session, batch_size=25, bulk=bulk)
            results[bulk] = (first, loaded, second, _content(session))
        engine.dispose()
    (first, loaded, second, final), (ref_first, ref_loaded, ref_second, ref_final) = results[True], results[False]
    assert first.documents == len(docs[:cut]) and first.events_new > 50 and first.quarantined == 0
    assert second.documents == len(docs) - cut + 3  # the new ones and the three changed ones only
    assert loaded == ref_loaded
    assert final == ref_final
    assert first.as_dict() == ref_first.as_dict() and second.as_dict() == ref_second.as_dict()
    assert final["mentions"] != loaded["mentions"]  # the increment did change something


def test_process_pool_equals_the_serial_path(db_url: str, twin_url: str, tiny_world,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """``aimap etl``'s path with two extraction processes = the serial loader, and the workers did extract."""
    world, docs = tiny_world
    _store_in_both((db_url, twin_url), world, docs)
    extracted_here = []  # documents the loading process extracted itself (their names changed in the wave)
    original = load.extract_with_model
    monkeypatch.setattr(load, "extract_with_model", lambda *a, **k: extracted_here.append(1) or original(*a, **k))
    ids = pipeline.pending(db_url)
    pooled = pipeline.run_pipeline(db_url, ids, batch_size=20, wave_batches=2, workers=2)
    monkeypatch.undo()
    assert pooled.documents == len(docs) and len(extracted_here) < len(docs) / 2
    reference, serial = _content_of(twin_url, serial_batch=20)
    assert _content_of(db_url)[0] == reference
    assert serial is not None and pooled.as_dict() == serial.as_dict()


def test_a_run_asked_to_stop_ends_after_its_wave_and_leaves_the_rest_pending(db_url: str, twin_url: str,
                                                                           tiny_world) -> None:
    """``stop`` (the refresh's pass beside the crawl, once the crawl ended): the run ends after the wave it
    loaded, the other documents stay pending, and a later run that takes them ends where one run would."""
    world, docs = tiny_world
    _store_in_both((db_url, twin_url), world, docs)
    ids = pipeline.pending(db_url)
    asked = []
    first = pipeline.run_pipeline(db_url, ids, batch_size=20, wave_batches=2, stop=lambda: asked.append(1) or True)
    assert len(asked) == 1 and first.documents == 40
    assert pipeline.pending(db_url) == ids[40:]
    rest = pipeline.run_pipeline(db_url, ids[40:], batch_size=20, wave_batches=2, stop=lambda: False)
    assert rest.documents == len(ids) - 40 and pipeline.pending(db_url) == []
    assert _content_of(db_url)[0] == _content_of(twin_url, serial_batch=20)[0]


def test_names_changed_since_a_snapshot_decide_which_documents_are_extracted_again() -> None:
    """The loader compares a document with the names its gazetteer changed since the pool's copy
    (``SnapshotVersion``): as strict as comparing whole gazetteers, without reading the copy back."""
    import pickle

    from etl.mentions import Gazetteer, OrgRef

    now = Gazetteer({"甲乙科技有限公司": OrgRef("甲乙科技有限公司", "firm", "11", 1)})
    copy = pickle.loads(pickle.dumps(now))  # what the workers extract with
    assert copy.lineage == now.lineage and copy.version == now.version and copy.changed_since(0) is None
    since = ahead.SnapshotVersion(now.lineage, now.version)
    now.add("丙丁智能有限公司", OrgRef("丙丁智能有限公司", "firm", "31", 2))  # a new organisation
    now.replace("甲乙科技有限公司", OrgRef("甲乙科技有限公司", "firm", "11", 1))  # the same key again: no change
    assert now.changed_since(since.version) == {"丙丁智能有限公司"}
    for text in ("甲乙科技有限公司发布年报。", "丙丁智能有限公司与甲乙科技有限公司签约。",
                 "北京丙丁智能有限公司子公司成立。"):  # the last: inside a longer, unknown name
        assert ahead.same_names(text, since, now) == ahead.same_names(text, copy, now) == ("丙丁" not in text)
    # a name made ambiguous leaves the automata; it still counts where it occurs
    since = ahead.SnapshotVersion(now.lineage, now.version)
    now.add("甲乙科技有限公司", OrgRef("甲乙科技有限公司", "firm", "11", 9))
    assert now.changed_since(since.version) == {"甲乙科技有限公司"} and now.get("甲乙科技有限公司") is None
    assert not ahead.same_names("甲乙科技有限公司发布年报。", since, now)
    assert ahead.same_names("丙丁智能有限公司发布年报。", since, now)
    # more changes than are looked for one by one: the automaton over the changed names
    since = ahead.SnapshotVersion(now.lineage, now.version)
    for i in range(2 * now.CHANGED_PENDING):
        now.add(f"第{i}号智能有限公司", OrgRef(f"第{i}号智能有限公司", "firm", None, 100 + i))
        assert ahead.same_names("丙丁智能有限公司发布年报。", since, now)
    assert not ahead.same_names("第0号智能有限公司发布年报。", since, now)
    assert not ahead.same_names(f"第{2 * now.CHANGED_PENDING - 1}号智能有限公司发布年报。", since, now)
    # another gazetteer's version (the loader reloaded after a rollback): extract again
    assert not ahead.same_names("丙丁智能有限公司发布年报。", ahead.SnapshotVersion("other", 0), now)


def test_the_workers_signatures_serve_the_clustering_and_outlive_no_run(db_url: str, twin_url: str, tiny_world,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The pool's workers make the texts' MinHash signatures and the run's clustering uses them; none stays
    in the loading process after the run, even when the clustering took none (a hook clustering elsewhere,
    as a Dask worker's does)."""
    world, docs = tiny_world
    _store_in_both((db_url, twin_url), world, docs)
    given: list[int] = []
    original = pipeline.assign_clusters
    monkeypatch.setattr(pipeline, "assign_clusters",
                        lambda *a, **k: given.append(len(k.get("signatures") or {})) or original(*a, **k))
    ids = pipeline.pending(db_url)
    pipeline.run_pipeline(db_url, ids[:60], batch_size=20, wave_batches=2, workers=2)
    assert given and given[0] > 0 and pipeline._signatures == {}
    pipeline.run_pipeline(db_url, ids[60:], batch_size=20, wave_batches=2, workers=2, dedup=lambda loaded: 0)
    assert len(given) == 1 and pipeline._signatures == {}


def test_a_later_run_reads_the_stored_events_of_its_pairs_per_batch(db_url: str, twin_url: str, tiny_world,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A run after an earlier one meets stored events between organisations it knows: the loader reads
    them per batch in one query (:meth:`etl.load.LoaderState.prefetch_events`), and the database ends
    as the serial path's, which reads each event when it needs it (issue 17)."""
    world, docs = tiny_world
    cut = len(docs) // 2
    _store_in_both((db_url, twin_url), world, docs[:cut])
    pipeline.run_pipeline(db_url, pipeline.pending(db_url), batch_size=20, workers=2)
    _content_of(twin_url, serial_batch=20)
    _store_in_both((db_url, twin_url), world, docs[cut:])
    fetched = []
    original = load.LoaderState.prefetch_events

    def counting(state: load.LoaderState, pairs: set[tuple[int, int]]) -> None:
        before = len(state.event_objs)
        original(state, pairs)
        fetched.append(len(state.event_objs) - before)

    monkeypatch.setattr(load.LoaderState, "prefetch_events", counting)
    later = pipeline.run_pipeline(db_url, pipeline.pending(db_url), batch_size=20, workers=2)
    monkeypatch.undo()
    assert later.documents == len(docs) - cut and sum(fetched) > 0  # stored events were read ahead
    reference, serial = _content_of(twin_url, serial_batch=20)
    assert _content_of(db_url)[0] == reference
    assert serial is not None and later.as_dict() == serial.as_dict()
