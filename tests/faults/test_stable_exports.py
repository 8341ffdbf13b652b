"""Two clean builds of the same documents write byte-identical exported files (issue 14, finding 7).

The documents are stored in two different orders — as two crawls of the same sites store them, in
whatever order the pages arrive, so that documents get different ids — then each database is
loaded by one ETL run and its edition built. The exported network files (``nodes.csv``,
``edges.csv``, ``firms.csv``, ``network.xlsx``, every GEXF) must be identical byte for byte: the ids
they carry (organisation and event ids, which ``aimap explain`` and ``aimap review`` take) are
assigned in an order that depends on the documents' content only (publication date, then address:
:func:`etl.load.pending_documents`), and rows are ordered by names (:mod:`analysis.network_files`).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from analysis.report import build_report
from db import migrate
from db.session import make_engine, session_factory
from db.taxonomy import sync_taxonomies
from etl.load import run_etl
from tests.faults import harness
from tests.worldeval import store_world_documents

EXPORTED = (".csv", ".gexf", ".xlsx")


def build(directory: Path, world, documents: list[dict]) -> dict[str, str]:
    """A clean build: a new SQLite database, the documents stored in this order, one ETL run, the
    edition after the last data year; the SHA-256 of every exported file of the bundle."""
    directory.mkdir()
    engine = make_engine(f"sqlite:///{directory / 'aimap.db'}")
    try:
        migrate.upgrade(engine)
        with session_factory(engine)() as session:
            sync_taxonomies(session)
            session.commit()
            store_world_documents(session, world.path, documents)
            run_etl(session, batch_size=50)
            result = build_report(session, directory / "out", charts=False)
            session.commit()
            bundle = result.directory
    finally:
        engine.dispose()
    assert bundle is not None
    return {name: digest for name, digest in harness.file_digests(bundle).items() if name.endswith(EXPORTED)}


#: Two news of one day, each naming two organisations the registry does not know (the ETL creates
#: them): stored in one order or the other, they must not be numbered differently.
SAME_DAY = [
    {"url": "/extra/yunshan.html", "published": "2023-05-10", "title": "云杉数据与松果信息签署战略合作协议",
     "text": "2023年5月10日，北京云杉数据科技有限公司与济南松果信息科技有限公司签署战略合作协议，"
             "北京云杉数据科技有限公司将为济南松果信息科技有限公司提供大数据和云计算技术支撑。"},
    {"url": "/extra/qingning.html", "published": "2023-05-10", "title": "青柠智能与白桦网络签署战略合作协议",
     "text": "2023年5月10日，上海青柠智能科技有限公司与杭州白桦网络科技有限公司签署战略合作协议，"
             "上海青柠智能科技有限公司将为杭州白桦网络科技有限公司提供人工智能技术支撑。"},
]


@pytest.mark.parametrize("seed", [2])
def test_two_clean_builds_export_identical_files(seed, fault_world, tmp_path):
    first = build(tmp_path / "a", fault_world, [*fault_world.documents, *SAME_DAY])
    shuffled = list(fault_world.documents)
    random.Random(seed).shuffle(shuffled)
    second = build(tmp_path / "b", fault_world, [*shuffled, *SAME_DAY[::-1]])
    assert any(name.endswith("edges.csv") for name in first) and any(name.endswith(".gexf") for name in first)
    assert harness.differences({"files": first}, {"files": second}) == []
