"""Entity resolution: normalisation, resolver paths, judgements, export/import, merge, split, scale."""

from __future__ import annotations

import datetime as dt
import json
import random
import time

import opencc
import pytest
from sqlalchemy import func, insert, select

from common.events import event_key
from db import migrate
from db.models import (
    Alias,
    CooperationEvent,
    Document,
    EventReview,
    EventTechCategory,
    FirmAttributes,
    FirmFinancials,
    Judgement,
    Mention,
    Organisation,
    TechCategory,
)
from db.session import make_engine, session_factory
from db.taxonomy import sync_taxonomies
from etl.resolve import (
    NEGATIVE,
    PENDING,
    POSITIVE,
    Party,
    ResolveError,
    Resolver,
    alias_kind,
    export_decisions,
    fold_name,
    import_decisions,
    load_config,
    merge_organisations,
    name_key,
    name_ref,
    normalise_name,
    record_judgement,
    split_alias,
)

HUAWEI_USCC = "914403001922038216"


def org(session, name, *aliases, kind="firm", **values):
    """An organisation with its full name and ``aliases`` as (name, kind) pairs or short names."""
    o = Organisation(name=name, kind=kind, **values)
    o.aliases = [Alias(name=name, kind="full")] + [
        Alias(name=a, kind="short") if isinstance(a, str) else Alias(name=a[0], kind=a[1]) for a in aliases
    ]
    session.add(o)
    session.flush()
    return o


def registry(session):
    """Two sample firms and a university, as a registry import would leave them."""
    huawei = org(session, "华为技术有限公司", "华为", ("Huawei Technologies Co., Ltd.", "english"),
                 is_sample=True, uscc=HUAWEI_USCC, province_code="44", origin="registry")
    tencent = org(session, "深圳市腾讯计算机系统有限公司", "腾讯", is_sample=True, province_code="44",
                  stock_exchange="HKEX", stock_code="00700", origin="registry")
    pku = org(session, "北京大学", kind="university", province_code="11", origin="seed")
    session.commit()
    return huawei, tencent, pku


# --------------------------------------------------------------------------- normalisation


@pytest.mark.parametrize(("name", "expected"), [
    ("华为技术有限公司", "华为技术"),
    ("華為技術有限公司", "华为技术"),                       # traditional -> simplified
    ("华为技术股份有限公司", "华为技术"),
    ("深圳市腾讯计算机系统有限公司", "腾讯计算机系统"),       # city prefix with 市
    ("深圳腾讯计算机系统有限责任公司", "腾讯计算机系统"),     # city stem
    ("广东省深圳市华为技术有限公司", "华为技术"),            # province + city
    ("西门子（中国）有限公司", "西门子"),                    # full-width brackets
    ("微软(中国)有限公司", "微软"),
    ("ＡＢＢ（中國）有限公司", "abb"),                       # full width + traditional
    ("Huawei Technologies Co., Ltd.", "huaweitechnologies"),
    ("NVIDIA Corporation", "nvidia"),
    ("Alibaba Group Holding Limited", "alibaba"),
    ("阿里巴巴集团控股有限公司", "阿里巴巴"),                  # suffixes stripped repeatedly
    ("中国移动通信集团有限公司", "中国移动通信"),
    ("北京大学", "北京大学"),                                # the place is the identity
    ("浙江大学", "浙江大学"),
    ("北京银行", "北京银行"),
    ("上海市人民政府", "上海市人民政府"),
    ("北京", "北京"),                                        # nothing would remain
    ("有限公司", "有限公司"),
    ("科大讯飞股份有限公司", "科大讯飞"),
])
def test_normalise_name(name, expected):
    assert normalise_name(name) == expected


def test_name_key_place_and_fold():
    key = name_key("深圳市腾讯计算机系统有限公司")
    assert (key.province, key.city, key.stripped) == ("44", "440300", True)
    assert name_key("北京大学").province == "11" and not name_key("北京大学").stripped
    assert name_key("西门子（中国）有限公司").province is None
    assert fold_name(" 華為  Technologies ") == "华为 technologies"
    assert alias_kind("Huawei") == "english"
    assert alias_kind("华为技术有限公司") == "full"
    assert alias_kind("华为") == "short"


# --------------------------------------------------------------------------- resolver paths


def test_exact_alias_and_identifier_paths(session):
    huawei, tencent, _ = registry(session)
    r = Resolver(session)
    assert r.resolve_detail("華為").outcome == "alias"
    assert r.resolve("華為") == huawei.id
    assert r.resolve("HUAWEI TECHNOLOGIES CO., LTD.") == huawei.id
    # an identifier wins over the name, and the new name becomes an alias
    res = r.resolve_detail("华为终端", uscc=HUAWEI_USCC)
    assert (res.org_id, res.outcome) == (huawei.id, "identifier")
    res = r.resolve_detail("騰訊控股", stock_code="700", exchange="HKEX")
    assert (res.org_id, res.outcome) == (tencent.id, "identifier")
    session.commit()
    names = set(session.scalars(select(Alias.name).where(Alias.organisation_id == huawei.id)))
    assert "华为终端" in names
    assert Resolver(session).resolve_detail("华为终端").outcome == "alias"


def test_fuzzy_auto_merge_is_recorded(session):
    huawei, tencent, _ = registry(session)
    r = Resolver(session)
    res = r.resolve_detail("华为技术股份有限公司")
    assert (res.org_id, res.outcome) == (huawei.id, "auto_merge") and res.score == 1.0
    res = r.resolve_detail("腾讯计算机系统有限公司")  # region prefix dropped, province unknown
    assert (res.org_id, res.outcome) == (tencent.id, "auto_merge")
    session.commit()
    rows = session.scalars(select(Judgement).order_by(Judgement.id)).all()
    assert [(j.judgement, j.automatic, j.decided_by) for j in rows] == [(POSITIVE, True, "resolver-1")] * 2
    assert {j.left_ref for j in rows} | {j.right_ref for j in rows} >= {f"uscc:{HUAWEI_USCC}",
                                                                         name_ref("华为技术股份有限公司")}
    assert r.stats["auto_merge"] == 2


def test_suggestion_new_and_conflicts(session):
    huawei, tencent, pku = registry(session)
    r = Resolver(session)
    res = r.resolve_detail("华为云计算技术有限公司")  # 华为 is a prefix: suggest, never auto-merge
    assert res.outcome == "suggested" and res.candidates == (huawei.id,) and res.org_id != huawei.id
    assert load_config().suggest <= res.score < load_config().auto_merge
    # same normalised name but another province: not the same firm
    res = r.resolve_detail("上海腾讯计算机系统有限公司")
    assert res.outcome != "auto_merge" and res.org_id != tencent.id
    # a kind conflict pulls the score down (a university is not a firm)
    res = r.resolve_detail("北京大学有限公司", kind="firm")
    assert res.org_id != pku.id
    # a different USCC on the mention: never the organisation that has another one
    res = r.resolve_detail("华为技术有限责任公司", uscc="91110108MA01XXXXX0")  # invalid -> ignored
    assert res.org_id == huawei.id
    res = r.resolve_detail("华为技术有限责任公司", uscc="91110000802100433B")
    assert res.org_id != huawei.id and res.created
    res = r.resolve_detail("百度在线网络技术（北京）有限公司")
    assert res.outcome == "new"
    # one different character in a long Chinese name: another organisation, at most a suggestion
    zhiyuan = r.resolve("北京智源人工智能研究院", kind="research_institute")
    res = r.resolve_detail("北京智谱人工智能研究院", kind="research_institute")
    assert res.org_id != zhiyuan and res.outcome == "suggested" and res.score == load_config().cjk_unequal_cap
    assert r.lookup("完全陌生的名字有限公司") is None
    session.commit()
    cloud = r.lookup("华为云计算技术有限公司")
    pending = session.scalars(select(Judgement).where(Judgement.judgement == PENDING)).all()
    assert {frozenset((j.left_id, j.right_id)) for j in pending} >= {frozenset((huawei.id, cloud))}
    assert all(j.decided_at is None and j.automatic for j in pending)
    new = session.scalar(select(Organisation).where(Organisation.name == "华为技术有限责任公司",
                                                    Organisation.uscc == "91110000802100433B"))
    assert new is not None and new.origin == "extracted"


def test_match_then_adopt_lets_the_caller_create(session):
    huawei, _, _ = registry(session)
    r = Resolver(session)
    res = r.match("华为云计算技术有限公司")
    assert (res.org_id, res.outcome, res.candidates) == (None, "suggested", (huawei.id,))
    assert session.scalar(select(func.count()).select_from(Organisation)) == 3  # nothing created
    own = org(session, "华为云计算技术有限公司", origin="extracted", province_code="44")  # the caller's own way
    r.adopt(own.id, "华为云计算技术有限公司")
    session.commit()
    j = session.scalar(select(Judgement).where(Judgement.judgement == PENDING))
    assert {j.left_id, j.right_id} == {own.id, huawei.id} and j.score == res.score
    assert r.resolve_detail("华为云计算技术有限公司").outcome == "alias"
    assert r.match("华为技术股份有限公司").outcome == "auto_merge" and r.merges == 1
    assert r.match("全新名称科技有限公司").outcome == "new"


def test_settled_judgements_are_not_asked_again(session):
    huawei, tencent, _ = registry(session)
    # an analyst said no: the auto-merge that would otherwise happen does not
    record_judgement(session, Party(name_ref("华为技术股份有限公司"), "华为技术股份有限公司"), Party.of(huawei),
                     NEGATIVE, by="alice")
    # and yes: a name that scores nothing is forced onto the organisation
    record_judgement(session, Party(name_ref("鹅厂"), "鹅厂"), Party.of(tencent), POSITIVE, by="alice")
    session.commit()
    r = Resolver(session)
    res = r.resolve_detail("华为技术股份有限公司")
    assert res.org_id != huawei.id and res.outcome == "new"  # no suggestion either
    assert r.resolve_detail("鹅厂").outcome == "judgement"
    assert r.resolve("鹅厂") == tencent.id
    session.commit()
    assert session.scalar(select(func.count()).select_from(Judgement).where(Judgement.judgement == PENDING)) == 0
    # an automatic decision never overwrites the analyst's
    row = record_judgement(session, Party(name_ref("华为技术股份有限公司"), "x"), Party.of(huawei), POSITIVE,
                           by="resolver-1", automatic=True)
    assert row.judgement == NEGATIVE and row.decided_by == "alice"
    with pytest.raises(ResolveError):
        record_judgement(session, Party.of(huawei), Party.of(huawei), NEGATIVE, by="alice")


# --------------------------------------------------------------------------- export / import

NAMES = ["華為技術股份有限公司", "腾讯计算机系统有限公司", "华为云计算技术有限公司", "腾讯云", "鹅厂", "北京大学医学部"]


def _decide(session):
    """Resolver decisions plus analyst decisions on the suggestions."""
    huawei, tencent, pku = registry(session)
    r = Resolver(session)
    for name in NAMES[:4]:
        r.resolve(name)
    session.commit()
    cloud = session.scalar(select(Judgement).where(Judgement.judgement == PENDING,
                                                   Judgement.left_name.contains("华为云")
                                                   | Judgement.right_name.contains("华为云")))
    qq = session.scalar(select(Judgement).where(Judgement.judgement == PENDING,
                                                Judgement.left_name.contains("腾讯云")
                                                | Judgement.right_name.contains("腾讯云")))
    from etl.review import decide

    decide(session, f"M{cloud.id}", False, by="alice", note="a separate brand")
    decide(session, f"M{qq.id}", True, by="bob")
    record_judgement(session, Party(name_ref("鹅厂"), "鹅厂"), Party.of(tencent), POSITIVE, by="bob")
    session.commit()


def _mapping(session):
    r = Resolver(session)
    return {n: (lambda o: o.name if o else None)(r.organisation(r.lookup(n)) if r.lookup(n) else None)
            for n in NAMES}


def fresh_database(tmp_path, name):
    engine = make_engine(f"sqlite:///{tmp_path / name}")
    migrate.upgrade(engine)
    sess = session_factory(engine)()
    sync_taxonomies(sess)
    sess.commit()
    return engine, sess


def test_export_import_round_trip(session, tmp_path):
    _decide(session)
    first = tmp_path / "decisions.jsonl"
    n = export_decisions(session, first)
    lines = [json.loads(line) for line in first.read_text(encoding="utf-8").splitlines()]
    assert n == len(lines) >= 5
    assert [(d["left"], d["right"]) for d in lines] == sorted((d["left"], d["right"]) for d in lines)
    assert not any(k.endswith("_id") for d in lines for k in d)  # portable: no database ids
    assert {d["judgement"] for d in lines} == {POSITIVE, NEGATIVE}
    before = _mapping(session)

    engine, fresh = fresh_database(tmp_path, "fresh.db")
    try:
        registry(fresh)
        report = import_decisions(fresh, first)
        fresh.commit()
        assert report.created == n and report.kept_existing == 0
        r = Resolver(fresh)
        for name in NAMES[:4]:
            r.resolve(name)  # the same extraction again: every question is already settled
        fresh.commit()
        assert fresh.scalar(select(func.count()).select_from(Judgement).where(Judgement.judgement == PENDING)) == 0
        assert _mapping(fresh) == before
        second = tmp_path / "again.jsonl"
        export_decisions(fresh, second)
        assert second.read_text(encoding="utf-8") == first.read_text(encoding="utf-8")
        again = import_decisions(fresh, second)
        assert (again.unchanged, again.created, again.updated) == (n, 0, 0)
    finally:
        fresh.close()
        engine.dispose()


def test_import_applies_to_present_organisations(session, tmp_path):
    huawei, tencent, _ = registry(session)
    cloud = org(session, "华为云计算技术有限公司", origin="extracted")
    org(session, "腾讯科技（深圳）有限公司", origin="extracted")
    wrong = Alias(organisation_id=huawei.id, name="华为海洋网络有限公司", kind="former")
    session.add(wrong)
    session.commit()
    path = tmp_path / "d.jsonl"
    at = "2026-01-02T03:04:05+00:00"
    path.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in [
        {"left": name_ref("腾讯科技（深圳）有限公司"), "right": "stock:HKEX:00700", "judgement": POSITIVE,
         "by": "carol", "at": at, "automatic": False},
        {"left": name_ref("华为海洋网络有限公司"), "right": f"uscc:{HUAWEI_USCC}", "judgement": NEGATIVE,
         "by": "carol", "at": at},
        {"left": name_ref("华为云计算技术有限公司"), "right": f"uscc:{HUAWEI_USCC}", "judgement": "unsure",
         "by": "carol", "at": at},
    ]) + "\n", encoding="utf-8")
    report = import_decisions(session, path)
    session.commit()
    assert (report.created, report.merged, report.split) == (3, 1, 1)
    assert session.scalar(select(Organisation).where(Organisation.name == "腾讯科技（深圳）有限公司")) is None
    assert "腾讯科技（深圳）有限公司" in set(session.scalars(select(Alias.name).where(Alias.organisation_id == tencent.id)))
    split_off = session.scalar(select(Alias.organisation_id).where(Alias.name == "华为海洋网络有限公司"))
    assert split_off != huawei.id
    assert session.get(Organisation, cloud.id) is not None  # unsure: nothing to do
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"left": "name:a", "right": "name:a", "judgement": "positive"}\n', encoding="utf-8")
    with pytest.raises(ResolveError, match="bad.jsonl:1"):
        import_decisions(session, bad)


# --------------------------------------------------------------------------- merge / split


def _doc(session, n, text="甲与乙签署战略合作协议。"):
    d = Document(canonical_url=f"https://example.test/{n}", url=f"https://example.test/{n}", content_sha256=f"{n:064d}",
                 text=text)
    session.add(d)
    session.flush()
    return d


def _event(session, p, r, year, *docs, direction="directed", confidence=0.9, sentence=None, **values):
    e = CooperationEvent(event_key=event_key(p, r, direction, year), provider_id=p, receiver_id=r, kind="strategic_agreement",
                         direction=direction, year=year, **values)
    session.add(e)
    session.flush()
    for i, d in enumerate(docs):
        session.add(Mention(event_id=e.id, document_id=d.id, extractor_version="t", confidence=confidence - 0.1 * i,
                            sentence=sentence))
    session.flush()
    return e


def test_merge_repoints_and_merges_duplicate_events(session):
    keep = org(session, "科大讯飞股份有限公司", "讯飞", is_sample=True, origin="registry")
    drop = org(session, "安徽科大讯飞信息科技股份有限公司", ("iFLYTEK", "english"), uscc="91340000711771143J",
               province_code="34", origin="extracted")
    other = org(session, "安徽省立医院", kind="hospital")
    d1, d2, d3 = _doc(session, 1), _doc(session, 2), _doc(session, 3)
    e_keep = _event(session, keep.id, other.id, 2022, d1, confidence=0.6)
    e_drop = _event(session, drop.id, other.id, 2022, d2, d1, confidence=0.95, status="terminated",
                    terminated_on=dt.date(2023, 1, 1))
    cats = session.scalars(select(TechCategory.code).order_by(TechCategory.sort_order)).all()[:2]
    session.add_all([EventTechCategory(event_id=e_keep.id, category_code=cats[0]),
                     EventTechCategory(event_id=e_drop.id, category_code=cats[1])])
    loop = _event(session, drop.id, keep.id, 2021, d3)
    mutual = _event(session, other.id, drop.id, 2023, d3, direction="mutual")
    session.add(EventReview(event_key=e_drop.event_key, state="rejected", decided_by="alice"))
    session.add(FirmAttributes(organisation_id=drop.id, employees=500, patents=12))
    session.add_all([FirmFinancials(organisation_id=drop.id, fiscal_year=2022, revenue_cny=10),
                     FirmFinancials(organisation_id=keep.id, fiscal_year=2022, rd_expense_cny=2),
                     FirmFinancials(organisation_id=drop.id, fiscal_year=2021, revenue_cny=8)])
    session.commit()

    drop_id, loop_id, mutual_id, d1_id, d2_id = drop.id, loop.id, mutual.id, d1.id, d2.id
    report = merge_organisations(session, keep.id, drop_id, "alice")
    session.commit()
    assert session.get(Organisation, drop_id) is None
    kept = session.get(Organisation, keep.id)
    assert kept.uscc == "91340000711771143J" and kept.province_code == "34" and kept.is_sample
    names = {a.name for a in kept.aliases}
    assert {"科大讯飞股份有限公司", "讯飞", "安徽科大讯飞信息科技股份有限公司", "iFLYTEK"} <= names
    assert (report.events_merged, report.self_loops_removed) == (1, 1)
    assert session.get(CooperationEvent, loop_id) is None
    # the two 2022 events are one now, with both documents as mentions (d1 once, best confidence)
    events = session.scalars(select(CooperationEvent).where(CooperationEvent.year == 2022)).all()
    assert len(events) == 1
    merged = events[0]
    assert merged.provider_id == keep.id and merged.event_key == event_key(keep.id, other.id, "directed", 2022)
    assert merged.status == "terminated" and merged.terminated_on == dt.date(2023, 1, 1)
    mentions = {m.document_id: m.confidence for m in session.scalars(select(Mention).where(Mention.event_id == merged.id))}
    assert set(mentions) == {d1_id, d2_id} and mentions[d1_id] == pytest.approx(0.85)
    assert set(session.scalars(select(EventTechCategory.category_code).where(
        EventTechCategory.event_id == merged.id))) == set(cats)
    assert session.get(EventReview, merged.event_key).state == "rejected"  # the review followed the key
    m = session.get(CooperationEvent, mutual_id)
    assert {m.provider_id, m.receiver_id} == {other.id, keep.id}
    assert m.event_key == event_key(other.id, keep.id, "mutual", 2023)
    assert session.get(FirmAttributes, keep.id).employees == 500
    fin = {f.fiscal_year: f for f in session.scalars(select(FirmFinancials).where(FirmFinancials.organisation_id == keep.id))}
    assert set(fin) == {2021, 2022} and fin[2022].rd_expense_cny == 2 and fin[2022].revenue_cny == 10
    j = session.scalar(select(Judgement).where(Judgement.judgement == POSITIVE))
    assert j.decided_by == "alice" and not j.automatic
    assert Resolver(session).resolve("iflytek") == keep.id


def test_merge_refuses_two_credit_codes(session):
    a = org(session, "甲科技有限公司", uscc="91440300708461136T")
    b = org(session, "甲科技股份有限公司", uscc="91340000711771143J")
    session.commit()
    with pytest.raises(ResolveError, match="统一社会信用代码"):
        merge_organisations(session, a.id, b.id, "alice")
    with pytest.raises(ResolveError):
        merge_organisations(session, a.id, a.id, "alice")


def test_split_alias(session):
    huawei, tencent, _ = registry(session)
    wrong = Alias(organisation_id=tencent.id, name="腾讯音乐娱乐集团", kind="short")
    session.add(wrong)
    d1, d2 = _doc(session, 1), _doc(session, 2)
    _event(session, tencent.id, huawei.id, 2022, d1, sentence="腾讯音乐娱乐集团与华为签署合作协议。")
    _event(session, tencent.id, huawei.id, 2021, d2, sentence="腾讯与华为签署合作协议。")
    for d in (d1, d2):
        d.extracted_sha256 = d.content_sha256
    session.commit()
    report = split_alias(session, wrong.id, "alice", note="a separate listed company")
    session.commit()
    new = session.get(Organisation, report.new_org_id)
    assert new.name == "腾讯音乐娱乐集团" and new.kind == "firm" and new.origin == "split"
    assert session.get(Alias, wrong.id).organisation_id == new.id
    assert report.documents_requeued == 1
    assert session.get(Document, d1.id).extracted_sha256 is None
    assert session.get(Document, d2.id).extracted_sha256 is not None
    j = session.scalar(select(Judgement))
    assert j.judgement == NEGATIVE and j.note == "a separate listed company"
    r = Resolver(session)
    assert r.resolve("腾讯音乐娱乐集团") == new.id
    assert r.resolve("腾讯") == tencent.id
    with pytest.raises(ResolveError, match="only name"):
        only = org(session, "孤名科技有限公司")
        split_alias(session, only.aliases[0].id, "alice")


# --------------------------------------------------------------------------- scale

_CHARS = ("安邦宝博昌晨驰创达鼎东方飞丰峰福富广国海瀚航浩和恒弘宏华辉汇佳嘉金锦京景骏凯康朗乐力立联良林霖龙隆"
          "迈美明铭南鹏平启谦融瑞睿润森盛世仕顺思泰腾天通同拓万旺威维伟文翔祥新信星兴旭轩雅扬耀亿益毅英盈永优"
          "宇远跃云泽展兆哲振正志智中众卓梓")
_TRADES = ["科技", "信息技术", "智能科技", "数据科技", "软件", "网络科技", "电子", "通信", "机器人", "芯片"]
_FORMS = ["有限公司", "股份有限公司", "有限责任公司", "集团有限公司"]
_PLACES = ["北京", "上海市", "深圳市", "杭州", "广州市", "成都", "南京市", "武汉", "苏州", "合肥市"]


def test_resolution_scale_30k(tmp_path, capsys):
    """30,000 synthetic firms (60,000 aliases): accuracy of resolution, and the time per name (printed)."""
    rng = random.Random(5)
    brands: set[str] = set()
    while len(brands) < 30_000:
        brands.add("".join(rng.sample(_CHARS, 3)))
    firms = []
    for brand in sorted(brands):
        firms.append((rng.choice(_PLACES) + brand + rng.choice(_TRADES) + rng.choice(_FORMS), brand))
    engine, sess = fresh_database(tmp_path, "scale.db")
    try:
        sess.execute(insert(Organisation), [{"id": i + 1, "name": n, "kind": "firm", "origin": "registry"}
                                            for i, (n, _) in enumerate(firms)])
        sess.execute(insert(Alias), [{"organisation_id": i + 1, "name": n, "kind": "full"} for i, (n, _) in enumerate(firms)]
                     + [{"organisation_id": i + 1, "name": b + "科技", "kind": "short"} for i, (_, b) in enumerate(firms)])
        sess.commit()
        started = time.perf_counter()
        r = Resolver(sess)
        loaded = time.perf_counter() - started
        s2t = opencc.OpenCC("s2t")
        sample = rng.sample(range(len(firms)), 1500)
        queries = []
        for i in sample:
            name, brand = firms[i]
            variant = rng.choice([
                name.replace("有限公司", "股份有限公司") if "股份" not in name else name.replace("股份有限公司", "有限公司"),
                s2t.convert(name),
                name[name.index(brand):],  # region prefix dropped
            ])
            queries.append((variant, i + 1))
        strangers = []  # new firms: brands of the same characters, one of them often shared, same trades
        while len(strangers) < 500:
            base = firms[rng.randrange(len(firms))][1]
            brand = base[:2] + rng.choice(_CHARS) if rng.random() < 0.5 else "".join(rng.sample(_CHARS, 3))
            if brand not in brands:
                strangers.append((rng.choice(_PLACES) + brand + rng.choice(_TRADES) + rng.choice(_FORMS), None))
        started = time.perf_counter()
        results = [(r.lookup(q), want) for q, want in queries + strangers]
        per_name_ms = (time.perf_counter() - started) / len(results) * 1000
        correct = sum(1 for got, want in results[: len(queries)] if got == want)
        false_merges = sum(1 for got, _ in results[len(queries):] if got is not None)
        with capsys.disabled():
            print(f"\nresolver at 30k organisations / 60k aliases: load {loaded:.2f} s, "
                  f"{per_name_ms:.3f} ms per name ({len(results)} names), "
                  f"variants resolved {correct}/{len(queries)}, strangers merged {false_merges}/{len(strangers)}")
        assert correct == len(queries)
        assert false_merges == 0
    finally:
        sess.close()
        engine.dispose()


def test_kinds_of_one_family_do_not_conflict(session):
    """A short name guessed as ``firm`` joins the ``foreign_firm`` of the same key (kind_families)."""
    from etl.resolve import Resolver, load_config

    assert load_config().same_family("firm", "foreign_firm")
    assert not load_config().same_family("firm", "university")
    org = Organisation(name="埃森哲（中国）有限公司", kind="foreign_firm", is_sample=False, origin="extracted")
    uni = Organisation(name="埃森哲大学", kind="university", is_sample=False, origin="extracted")
    session.add_all([org, uni])
    session.flush()
    resolver = Resolver(session)
    assert resolver.lookup("埃森哲", kind="firm") == org.id
    assert resolver.lookup("埃森哲", kind="hospital") != org.id  # another family: a conflict
