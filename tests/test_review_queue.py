"""The review queue (issue 16, item 7): the blocking rule, ranking by evidence, filters, bulk decisions and
the XLSX round trip — every decision in the judgement store."""

from __future__ import annotations

import json

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from aimap.cli import app
from common.events import event_key
from db.models import Alias, CooperationEvent, Document, EventReview, Judgement, Mention, Organisation
from db.session import make_engine, session_factory
from etl.resolve import PENDING, Resolver, distinct_reason
from etl.review import list_items

runner = CliRunner()


@pytest.mark.parametrize(("a", "b", "reason"), [
    ("上海市第一人民医院", "上海市第三人民医院", "different numbers: 1 / 3"),
    ("上海市第一人民医院", "第三人民医院", "different numbers: 1 / 3"),
    ("中国电子科技集团公司第十四研究所", "中国电子科技集团公司第三十八研究所", "different numbers: 14 / 38"),
    ("中国电子科技集团公司第十四研究所", "中国电子科技集团公司", "different numbers: 14 / none"),
    ("杭州日报社", "青岛日报社", "different places: 杭州 / 青岛"),
    ("成都市人工智能产业协会", "深圳市人工智能产业协会", "different places: 成都市 / 深圳市"),
    ("广东省深圳市云帆科技有限公司", "广州云帆科技有限公司", "different places: 广东省深圳市 / 广州"),
    ("北京桦喜网络科技有限公司", "北京熠澍网络科技有限公司", "different brands: 桦喜 / 熠澍"),
])
def test_distinct_names(a, b, reason):
    assert distinct_reason(a, b) == reason
    assert distinct_reason(b, a) is not None  # symmetric in effect


@pytest.mark.parametrize(("a", "b"), [
    ("中国电子科技集团公司第十四研究所", "中国电子科技集团公司第14研究所"),  # 第十四 = 第14
    ("深圳市腾讯计算机系统有限公司", "腾讯计算机系统"),  # a place in front of one name only
    ("成都海南宝科技有限公司", "海南宝科技"),  # the brand begins with a place name
    ("广东省深圳市云帆科技有限公司", "深圳云帆科技"),  # province + city vs city
    ("北京智源人工智能研究院", "北京智谱人工智能研究院"),  # one character apart: a suggestion
    ("科大讯飞股份有限公司", "科大讯飞信息科技有限公司"),  # a short name
    ("中国联通", "中国联合网络通信集团有限公司"),  # an abbreviation sharing characters
])
def test_names_that_may_be_one_organisation(a, b):
    assert distinct_reason(a, b) is None


def _org(session, name, kind="firm", **values):
    org = Organisation(name=name, kind=kind, **values)
    org.aliases = [Alias(name=name, kind="full")]
    session.add(org)
    session.flush()
    return org


def test_resolver_never_suggests_distinct_names(session):
    for name, kind in (("上海市第一人民医院", "hospital"), ("杭州日报社", "other"), ("成都市人工智能产业协会", "industry_body"),
                       ("科大讯飞股份有限公司", "firm")):
        _org(session, name, kind)
    session.commit()
    resolver = Resolver(session)
    for name in ("上海市第三人民医院", "青岛日报社", "深圳市人工智能产业协会"):
        res = resolver.resolve_detail(name)
        assert res.outcome == "new" and res.candidates == (), (name, res)
    assert resolver.resolve_detail("科大讯飞信息科技有限公司").outcome == "suggested"
    session.commit()
    pending = session.scalars(select(Judgement).where(Judgement.judgement == PENDING)).all()
    assert [(j.left_name, j.right_name) for j in pending] == [("科大讯飞信息科技有限公司", "科大讯飞股份有限公司")]


def _queue_world(db_url: str) -> dict[str, int]:
    """Organisations with events, and pending suggestions stored as an older resolver left them."""
    engine = make_engine(db_url)
    with session_factory(engine)() as s:
        hub = _org(s, "科大讯飞股份有限公司", is_sample=True, origin="registry")
        twin = _org(s, "科大讯飞信息科技有限公司")
        small_a, small_b = _org(s, "云帆数据有限公司"), _org(s, "云帆数据科技有限公司")
        h1, h3 = _org(s, "上海市第一人民医院", "hospital"), _org(s, "上海市第三人民医院", "hospital")
        p1, p2 = _org(s, "杭州日报社", "other"), _org(s, "青岛日报社", "other")
        partners = [_org(s, f"合作单位{c}有限公司") for c in "甲乙丙丁戊"]
        doc = Document(canonical_url="https://news.example.test/q", url="https://news.example.test/q", title="t",
                       content_sha256="1" * 64, text="x")
        s.add(doc)
        s.flush()
        for i, partner in enumerate(partners):  # the hub: five partners; its twin one event
            e = CooperationEvent(event_key=event_key(hub.id, partner.id, "directed", 2020 + i), provider_id=hub.id,
                                 receiver_id=partner.id, kind="strategic_agreement", direction="directed",
                                 year=2020 + i)
            s.add(e)
            s.flush()
            s.add(Mention(event_id=e.id, document_id=doc.id, extractor_version="t", confidence=0.9, sentence="s"))
        e = CooperationEvent(event_key=event_key(twin.id, small_a.id, "directed", 2022), provider_id=twin.id,
                             receiver_id=small_a.id, kind="strategic_agreement", direction="directed", year=2022)
        s.add(e)
        s.flush()
        s.add(Mention(event_id=e.id, document_id=doc.id, extractor_version="t", confidence=0.9, sentence="s"))
        weak = CooperationEvent(event_key=event_key(small_b.id, partners[0].id, "directed", 2023), provider_id=small_b.id,
                                receiver_id=partners[0].id, kind="strategic_agreement", direction="directed", year=2023)
        s.add(weak)
        s.flush()
        s.add(Mention(event_id=weak.id, document_id=doc.id, extractor_version="t", confidence=0.2, sentence="据悉"))
        ids = {"weak": weak.id}
        for key, left, right, score in (("hub", twin, hub, 0.80), ("small", small_b, small_a, 0.88),
                                        ("hospital", h3, h1, 0.90), ("paper", p2, p1, 0.78)):
            j = Judgement(left_ref=f"name:{left.name}", right_ref=f"name:{right.name}", left_id=left.id,
                          right_id=right.id, left_name=left.name, right_name=right.name, judgement=PENDING,
                          automatic=True, decided_by="resolver-0", score=score)
            s.add(j)
            s.flush()
            ids[key] = j.id
        ids.update(hub_org=hub.id, twin_org=twin.id)
        s.commit()
    engine.dispose()
    return ids


def test_queue_hides_distinct_ranks_by_evidence_and_filters(env_db):
    ids = _queue_world(env_db)
    engine = make_engine(env_db)
    with session_factory(engine)() as s:
        merges = list_items(s, kind="merge")
    engine.dispose()
    # the 第一/第三 hospitals and the two newspapers are hidden; the hub pair (6 events) before the better score
    assert [i.id for i in merges] == [f"M{ids['hub']}", f"M{ids['small']}"]
    assert [(i.evidence, i.degree) for i in merges] == [(6, 5), (2, 1)]
    listed = runner.invoke(app, ["review", "list", "--kind", "merge"])
    assert listed.exit_code == 0, listed.output
    assert "2 stored suggestion(s) between distinct names" in listed.output
    for args, expected in ((["--min-score", "0.85"], ["small"]), (["--max-score", "0.85"], ["hub"]),
                           (["--match", "云帆"], ["small"]), (["--min-degree", "2"], ["hub"])):
        out = runner.invoke(app, ["review", "list", "--kind", "merge", "--json", *args])
        assert out.exit_code == 0, out.output
        assert [i["id"] for i in json.loads(out.output)] == [f"M{ids[k]}" for k in expected], args
    bad = runner.invoke(app, ["review", "list", "--match", "("])
    assert bad.exit_code == 1 and "not a regular expression" in bad.output


def test_bulk_decisions_and_the_xlsx_round_trip(env_db, tmp_path):
    ids = _queue_world(env_db)
    assert runner.invoke(app, ["review", "bulk", "reject"]).exit_code == 1  # no filter, no --yes: refused
    rejected = runner.invoke(app, ["review", "bulk", "reject", "--kind", "merge", "--match", "云帆", "--yes",
                                   "--by", "ana", "--note", "two firms"])
    assert rejected.exit_code == 0, rejected.output
    assert "1 decided" in rejected.output

    sheet = tmp_path / "queue.xlsx"
    exported = runner.invoke(app, ["review", "export-xlsx", str(sheet)])
    assert exported.exit_code == 0, exported.output
    book = load_workbook(sheet)
    rows = list(book["queue"].iter_rows(values_only=True))
    header = list(rows[0])
    assert header[:3] == ["id", "kind", "score"] and "decision" in header and "note" in header
    assert [r[0] for r in rows[1:]] == [f"M{ids['hub']}", f"E{ids['weak']}"]  # the rejected one left the queue
    book["queue"].cell(2, header.index("decision") + 1, "接受")
    book["queue"].cell(2, header.index("note") + 1, "same firm, short name")
    book["queue"].cell(3, header.index("decision") + 1, "Reject")
    book.save(sheet)

    bad = tmp_path / "bad.xlsx"
    book["queue"].cell(2, header.index("decision") + 1, "maybe")
    book.save(bad)
    refused = runner.invoke(app, ["review", "import-xlsx", str(bad)])
    assert refused.exit_code == 1 and "row 2, column decision" in refused.output and "nothing imported" in refused.output

    taken = runner.invoke(app, ["review", "import-xlsx", str(sheet), "--by", "excel-user"])
    assert taken.exit_code == 0, taken.output
    assert "2 decisions stored" in taken.output
    again = runner.invoke(app, ["review", "import-xlsx", str(sheet), "--by", "excel-user"])
    assert again.exit_code == 0 and "2 skipped" in again.output  # settled: importing twice changes nothing

    engine = make_engine(env_db)
    with session_factory(engine)() as s:
        small = s.get(Judgement, ids["small"])
        assert (small.judgement, small.decided_by, small.note, small.automatic) == ("negative", "ana", "two firms", False)
        hub = s.get(Judgement, ids["hub"])
        assert (hub.judgement, hub.decided_by, hub.note) == ("positive", "excel-user", "same firm, short name")
        assert s.get(Organisation, ids["twin_org"]) is None  # merged into the sample firm
        assert s.scalar(select(CooperationEvent.provider_id).where(CooperationEvent.year == 2022)) == ids["hub_org"]
        review = s.scalar(select(EventReview))
        assert (review.state, review.decided_by) == ("rejected", "excel-user")
    engine.dispose()
