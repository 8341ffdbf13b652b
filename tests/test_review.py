"""The review queue through the command line: list, show, accept, reject, merge, split, export/import."""

from __future__ import annotations

import json

from sqlalchemy import delete, select
from typer.testing import CliRunner

from aimap.cli import app
from common.events import event_key
from db.models import Alias, CooperationEvent, Document, EventReview, Judgement, Mention, Organisation
from db.session import make_engine, session_factory
from etl.resolve import Resolver
from etl.review import list_items, load_config, rejected_event_keys

runner = CliRunner()


def _org(session, name, *short, **values):
    o = Organisation(name=name, kind=values.pop("kind", "firm"), **values)
    o.aliases = [Alias(name=name, kind="full")] + [Alias(name=s, kind="short") for s in short]
    session.add(o)
    session.flush()
    return o


def _event(session, p, r, year, doc, confidence, sentence):
    e = CooperationEvent(event_key=event_key(p, r, "directed", year), provider_id=p, receiver_id=r,
                         kind="strategic_agreement", direction="directed", year=year)
    session.add(e)
    session.flush()
    session.add(Mention(event_id=e.id, document_id=doc.id, extractor_version="test", confidence=confidence,
                        sentence=sentence))
    session.flush()
    return e


def _world(db_url):
    """Three firms, three events (two weak), a pending merge suggestion; returns ids."""
    engine = make_engine(db_url)
    session = session_factory(engine)()
    iflytek = _org(session, "科大讯飞股份有限公司", "讯飞", is_sample=True, origin="registry")
    hospital = _org(session, "安徽省立医院", kind="hospital")
    bank = _org(session, "招商银行股份有限公司", "招商银行", kind="bank")
    doc = Document(canonical_url="https://news.example.test/1", url="https://news.example.test/1", title="讯飞新闻",
                   content_sha256="0" * 64, text="科大讯飞与安徽省立医院签署合作协议。据悉讯飞或与招商银行合作。")
    session.add(doc)
    session.flush()
    weak = _event(session, iflytek.id, hospital.id, 2023, doc, 0.5, "科大讯飞与安徽省立医院签署合作协议。")
    rumour = _event(session, iflytek.id, bank.id, 2023, doc, 0.4, "据悉讯飞或与招商银行合作。")
    strong = _event(session, hospital.id, bank.id, 2022, doc, 0.95, "安徽省立医院与招商银行签署合作协议。")
    r = Resolver(session)
    suggested = r.resolve_detail("科大讯飞信息科技有限公司")  # 科大讯飞 is a prefix: a suggestion
    session.commit()
    ids = {"iflytek": iflytek.id, "hospital": hospital.id, "bank": bank.id, "weak": weak.id, "rumour": rumour.id,
           "strong": strong.id, "new_org": suggested.org_id, "doc": doc.id}
    session.close()
    engine.dispose()
    assert suggested.outcome == "suggested"
    return ids


def _session(db_url):
    return session_factory(make_engine(db_url))()


def _queue():
    result = runner.invoke(app, ["review", "list", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_review_list_show_accept_reject_persist(env_db):
    ids = _world(env_db)
    queue = _queue()
    assert [(i["kind"], i["id"]) for i in queue if i["kind"] == "event"] == [("event", f"E{ids['rumour']}"),
                                                                              ("event", f"E{ids['weak']}")]
    assert f"E{ids['strong']}" not in {i["id"] for i in queue}  # confident enough
    assert all(i["score"] < load_config().low_confidence for i in queue if i["kind"] == "event")
    merge = next(i for i in queue if i["kind"] == "merge")
    assert "科大讯飞信息科技有限公司" in merge["summary"] and "科大讯飞股份有限公司" in merge["summary"]

    table = runner.invoke(app, ["review", "list"])
    assert table.exit_code == 0 and f"E{ids['weak']}" in table.output and "summary" in table.output

    shown = runner.invoke(app, ["review", "show", f"E{ids['weak']}", "--json"])
    assert shown.exit_code == 0, shown.output
    info = json.loads(shown.output)
    assert info["mentions"][0]["sentence"] == "科大讯飞与安徽省立医院签署合作协议。"
    assert info["mentions"][0]["url"] == "https://news.example.test/1"
    assert info["event"]["provider"]["name"] == "科大讯飞股份有限公司"
    text = runner.invoke(app, ["review", "show", merge["id"]])
    assert text.exit_code == 0 and "alias" in text.output and "科大讯飞" in text.output

    ok = runner.invoke(app, ["review", "accept", f"E{ids['weak']}", "--by", "alice", "--note", "checked"])
    assert ok.exit_code == 0, ok.output
    no = runner.invoke(app, ["review", "reject", f"E{ids['rumour']}", "--by", "alice", "--json"])
    assert no.exit_code == 0 and json.loads(no.output)["state"] == "rejected"
    assert {i["id"] for i in _queue() if i["kind"] == "event"} == set()

    # a re-extraction deletes and re-creates the events (new ids, same keys): the decisions stay
    s = _session(env_db)
    for name in ("weak", "rumour"):
        event = s.get(CooperationEvent, ids[name])
        key, p, r, year = event.event_key, event.provider_id, event.receiver_id, event.year
        s.execute(delete(Mention).where(Mention.event_id == event.id))
        s.execute(delete(CooperationEvent).where(CooperationEvent.id == event.id))
        s.flush()
        again = _event(s, p, r, year, s.get(Document, ids["doc"]), 0.45, "again")
        assert again.event_key == key
    s.commit()
    assert {i["id"] for i in _queue() if i["kind"] == "event"} == set()
    rejected = set(s.scalars(rejected_event_keys()))
    assert rejected == {event_key(ids["iflytek"], ids["bank"], "directed", 2023)}
    review = s.get(EventReview, event_key(ids["iflytek"], ids["hospital"], "directed", 2023))
    assert (review.state, review.decided_by, review.note) == ("accepted", "alice", "checked")
    s.close()

    bad = runner.invoke(app, ["review", "accept", "X1"])
    assert bad.exit_code == 1 and "E12" in bad.output
    missing = runner.invoke(app, ["review", "show", "E99999"])
    assert missing.exit_code == 1


def test_review_merge_suggestions(env_db):
    ids = _world(env_db)
    merge_id = next(i["id"] for i in _queue() if i["kind"] == "merge")
    no = runner.invoke(app, ["review", "reject", merge_id, "--by", "bob"])
    assert no.exit_code == 0, no.output
    s = _session(env_db)
    j = s.get(Judgement, int(merge_id[1:]))
    assert (j.judgement, j.decided_by, j.automatic) == ("negative", "bob", False)
    assert not [i for i in list_items(s) if i.kind == "merge"]
    # the resolver never suggests the pair again
    r = Resolver(s)
    assert r.resolve_detail("科大讯飞信息科技有限公司").outcome == "alias"
    s.close()
    again = runner.invoke(app, ["review", "accept", merge_id])
    assert again.exit_code == 1 and "already decided" in again.output

    # a fresh suggestion, accepted: the organisations are merged
    s = _session(env_db)
    r = Resolver(s)
    res = r.resolve_detail("招商银行信用卡中心", kind="bank")
    s.commit()
    s.close()
    assert res.outcome == "suggested"
    item = next(i for i in _queue() if i["kind"] == "merge")
    ok = runner.invoke(app, ["review", "accept", item["id"], "--by", "carol", "--json"])
    assert ok.exit_code == 0, ok.output
    result = json.loads(ok.output)
    assert result["judgement"] == "positive" and result["merge"]["keep_id"] == ids["bank"]
    s = _session(env_db)
    assert s.scalar(select(Organisation).where(Organisation.name == "招商银行信用卡中心")) is None
    names = set(s.scalars(select(Alias.name).where(Alias.organisation_id == ids["bank"])))
    assert "招商银行信用卡中心" in names
    s.close()


def test_review_merge_split_export_import(env_db, tmp_path):
    ids = _world(env_db)
    merged = runner.invoke(app, ["review", "merge", str(ids["iflytek"]), str(ids["new_org"]), "--by", "dan"])
    assert merged.exit_code == 0, merged.output
    assert f"merged {ids['new_org']} into {ids['iflytek']}" in merged.output
    s = _session(env_db)
    alias_id = s.scalar(select(Alias.id).where(Alias.name == "科大讯飞信息科技有限公司"))
    assert s.scalar(select(Alias.organisation_id).where(Alias.id == alias_id)) == ids["iflytek"]
    assert not [i for i in list_items(s) if i.kind == "merge"]  # the suggestion is settled by the merge
    s.close()

    split = runner.invoke(app, ["review", "split", str(alias_id), "--by", "dan", "--json"])
    assert split.exit_code == 0, split.output
    new_id = json.loads(split.output)["new_org_id"]
    s = _session(env_db)
    assert s.get(Organisation, new_id).name == "科大讯飞信息科技有限公司"
    s.close()

    path = tmp_path / "decisions.jsonl"
    out = runner.invoke(app, ["review", "export", str(path)])
    assert out.exit_code == 0, out.output
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    # one decision per pair: the split (negative) replaced the merge (positive) of the same two names
    assert [(d["left_name"], d["right_name"], d["judgement"], d["by"]) for d in lines] == [
        ("科大讯飞信息科技有限公司", "科大讯飞股份有限公司", "negative", "dan")]
    back = runner.invoke(app, ["review", "import", str(path), "--json"])
    assert back.exit_code == 0, back.output
    assert json.loads(back.output)["unchanged"] == len(lines)
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n", encoding="utf-8")
    bad = runner.invoke(app, ["review", "import", str(broken)])
    assert bad.exit_code == 1 and "nothing was imported" in bad.output

    failed = runner.invoke(app, ["review", "split", "999999"])
    assert failed.exit_code == 1 and "no alias" in failed.output
