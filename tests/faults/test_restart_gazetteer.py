"""A restarted ETL reads the next documents exactly as a run that did not stop (issue 14, finding 3).

The loader's gazetteer grows while it runs (new organisations, aliases the resolver writes); a run
restarted after a kill rebuilds it from the database instead. The two must be equal after every
committed batch — names, the key each maps to (canonical name, kind, province code, id) and the
ambiguous names — or the restarted run extracts differently: on the ``small`` world a name the
resolver had attached in-run carried no kind, the reloaded one ``other``, and a relation
(``腾讯云 -> 中国中``, 2018) appeared only after a restart.
"""

from __future__ import annotations

from db.session import make_engine, session_factory
from etl.load import LoaderState, _database_gazetteer, pending_documents, run_etl_ids
from tests.faults.conftest import BATCH


def test_the_loaders_gazetteer_equals_a_reload_after_every_batch(fault_db):
    db = fault_db()
    engine = make_engine(db.url)
    try:
        with session_factory(engine)() as session:
            ids = pending_documents(session)
            state = LoaderState(session)
            compared = 0
            for start in range(0, len(ids), BATCH):
                run_etl_ids(session, ids[start:start + BATCH], batch_size=BATCH, state=state, dedup=False)
                with session_factory(engine)() as fresh:
                    reloaded = _database_gazetteer(fresh)[0]
                live_names, live_ambiguous = state.gazetteer.entries()
                names, ambiguous = reloaded.entries()
                differing = sorted(n for n in set(live_names) | set(names) if live_names.get(n) != names.get(n))
                assert not differing, (start, [(n, live_names.get(n), names.get(n)) for n in differing[:5]])
                assert live_ambiguous == ambiguous
                compared += 1
            assert compared >= 10 and len(state.refs) > 20
    finally:
        engine.dispose()
