"""The extractor's scorer (etl/evaluate.py) on hand-checkable cases, and the labelled gold set's validity."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pytest

from db.taxonomy import load_application_domains, load_tech_categories
from demosite.evaluation import (
    world_documents,
    world_duplicate_clusters,
    world_entity_clusters,
    world_gold_records,
)
from etl.evaluate import (
    KINDS,
    PRF,
    Relation,
    category_f1,
    duplicate_document_f1,
    entity_resolution_f1,
    gold_documents,
    match_relations,
    name_match,
    normalise_name,
    pairwise_f1,
    read_jsonl,
    score_gold,
    surface_resolver,
)
from tests.worldeval import score_world

GOLD_FILE = Path(__file__).parent / "data" / "announcements_gold.jsonl"


def rel(a, b, direction="mutual", year=2023, kind="strategic_agreement", status="new"):
    return {"a": a, "b": b, "direction": direction, "year": year, "kind": kind, "status": status}


def item(id_, relations, tech=(), domains=(), non_parties=(), text="text"):
    orgs = [{"name": n, "role": "party", "kind": "firm"} for r in relations for n in (r["a"], r["b"])]
    orgs += [{"name": n, "role": "non_party", "kind": "government"} for n in non_parties]
    return {"id": id_, "text": text, "gold": {"is_cooperation": bool(relations), "relations": relations,
                                              "tech_categories": list(tech), "application_domains": list(domains),
                                              "organisations": orgs}}


def pred(id_, relations, tech=(), domains=(), is_cooperation=None):
    record = {"id": id_, "relations": relations, "tech_categories": list(tech), "application_domains": list(domains)}
    if is_cooperation is not None:
        record["is_cooperation"] = is_cooperation
    return record


# ------------------------------------------------------------------------------------------ names


@pytest.mark.parametrize(("name", "expected"), [
    ("騰訊雲計算（北京）有限責任公司", "腾讯云计算"),  # t2s, bracketed region, legal form
    ("深圳市腾讯计算机系统有限公司", "腾讯计算机系统"),  # region prefix after a legal form
    ("北京大学", "北京大学"),  # no legal form: the region is part of the name
    ("ＢＹＤ Company Limited", "byd"),  # full-width letters, English legal words, case
    ("UBTech Robotics Corp., Ltd.", "ubtechrobotics"),
    ("英特尔（中国）有限公司", "英特尔"),
    ("东方电气集团", "东方电气"),
])
def test_normalise_name(name, expected):
    assert normalise_name(name) == expected


def test_name_match_exact_alias_and_none():
    assert name_match("华为技术有限公司", "华为技术") == 2
    assert name_match("华为", "华为技术有限公司") == 1  # a contained alias
    assert name_match("騰訊", "腾讯控股有限公司") == 2  # traditional; 控股 is a legal form
    assert name_match("騰訊", "腾讯云计算（北京）有限责任公司") == 1  # traditional short name
    assert name_match("UBTech", "UBTech Robotics Corp., Ltd.") == 1
    assert name_match("华为", "华润") == 0
    assert name_match("AI", "OpenAI") == 0  # Latin aliases need four characters


def test_surface_resolver_maps_written_names_to_canonical():
    resolve = surface_resolver({"苏州璐棠视觉技术有限公司": ["Lutang Vision Technology Co., Ltd.", "璐棠视觉"],
                                "工业和信息化部": ["工信部"]})
    assert resolve("Lutang Vision Technology Co., Ltd.") == "苏州璐棠视觉技术有限公司"
    assert resolve("Lutang Vision") == "苏州璐棠视觉技术有限公司"  # alias of a written form
    assert resolve("璐棠视觉技术有限公司") == "苏州璐棠视觉技术有限公司"
    assert resolve("工信部") == "工业和信息化部"
    assert resolve("华为") is None


# -------------------------------------------------------------------------------------- relations


def test_wrong_direction_missing_and_spurious_relations():
    gold = [item("d1", [rel("甲科技有限公司", "乙银行", "a->b"), rel("丙大学", "丁研究院"),
                        rel("戊集团", "己医院", "a->b")])]
    predictions = [pred("d1", [
        rel("乙银行", "甲科技有限公司", "a->b"),  # the pair, wrong direction
        rel("丁研究院", "丙大学"),  # correct (mutual, order irrelevant)
        rel("庚公司", "辛公司"),  # spurious
    ])]  # 戊集团 -> 己医院 missing
    s = score_gold(gold, predictions)
    assert s.relations == PRF(tp=1, fp=2, fn=2)
    assert s.relations.precision == pytest.approx(1 / 3) and s.relations.f1 == pytest.approx(1 / 3)
    assert s.pairs == PRF(tp=2, fp=1, fn=1)
    assert s.pairs.f1 == pytest.approx(2 / 3)
    assert (s.direction.correct, s.direction.total) == (1, 2)
    assert s.recall_by_status["new"].value == pytest.approx(1 / 3)
    [errors] = s.errors
    assert len(errors.missed) == 2 and len(errors.spurious) == 2


def test_b_to_a_is_the_same_relation_and_mutual_is_not_directed():
    gold = [item("d1", [rel("华为技术有限公司", "某某汽车股份有限公司", "a->b")]),
            item("d2", [rel("清华大学", "腾讯公司")])]
    predictions = [pred("d1", [rel("某某汽车股份有限公司", "华为", "b->a")]),  # same relation, written backwards
                   pred("d2", [rel("清华大学", "腾讯", "a->b")])]  # mutual in the text
    s = score_gold(gold, predictions)
    assert s.relations == PRF(tp=1, fp=1, fn=1)
    assert s.pairs == PRF(tp=2, fp=0, fn=0)
    assert s.direction.value == pytest.approx(0.5)


def test_alias_names_match_across_scripts_and_legal_forms():
    gold = [item("d1", [rel("騰訊雲計算（北京）有限責任公司", "智匯數碼（深圳）有限公司", "a->b")]),
            item("d2", [rel("UBTech Robotics Corp., Ltd.", "BYD Company Limited", "a->b")])]
    predictions = [pred("d1", [rel("腾讯云", "智汇数码（深圳）有限公司", "a->b")]),
                   pred("d2", [rel("UBTech", "BYD", "a->b")])]
    assert score_gold(gold, predictions).relations == PRF(tp=2, fp=0, fn=0)


def test_attributes_of_two_relations_of_one_pair_are_matched_by_agreement():
    gold = [item("d1", [rel("东方电气集团", "清华大学", year=2023),
                        rel("东方电气集团", "清华大学", year=2015, kind="other", status="historical")])]
    predictions = [pred("d1", [rel("清华大学", "东方电气集团", year=2015, kind="other", status="historical"),
                               rel("东方电气", "清华大学", year=2023, kind="joint_development")])]
    s = score_gold(gold, predictions)
    assert s.relations == PRF(tp=2, fp=0, fn=0)
    assert (s.year.correct, s.year.total) == (2, 2)
    assert (s.status.correct, s.status.total) == (2, 2)
    assert (s.kind.correct, s.kind.total) == (1, 2)


def test_match_relations_is_one_to_one():
    gold = [Relation("甲公司", "乙公司", "mutual")]
    predicted = [Relation("甲公司", "乙公司", "mutual"), Relation("乙公司", "甲公司", "mutual")]
    assert len(match_relations(gold, predicted, strict=True)) == 1


def test_document_level_cooperation_and_missing_predictions():
    gold = [item("d1", [rel("甲公司", "乙公司")]), item("d2", []), item("d3", []), item("d4", [rel("丙公司", "丁公司")])]
    predictions = [pred("d1", [rel("甲公司", "乙公司")]),
                   pred("d2", [], is_cooperation=True),  # says cooperation without relations
                   pred("d3", []),  # is_cooperation defaults to "has relations"
                   pred("d9", [])]  # unknown id; d4 missing
    s = score_gold(gold, predictions)
    assert (s.is_cooperation.correct, s.is_cooperation.total) == (2, 4)
    assert s.missing == ["d4"] and s.unexpected == ["d9"]
    assert s.relations == PRF(tp=1, fp=0, fn=1)


def test_non_parties_used_as_parties():
    gold = [item("d1", [rel("中国移动通信集团江苏有限公司", "无锡某某科技股份有限公司", "b->a")],
                 non_parties=["中国移动通信集团有限公司", "省经济和信息化厅"])]
    # the subsidiary as a party does not count against its parent; the witness does
    predictions = [pred("d1", [rel("无锡某某科技股份有限公司", "中国移动通信集团江苏有限公司", "a->b"),
                               rel("省经济和信息化厅", "无锡某某科技股份有限公司")])]
    s = score_gold(gold, predictions)
    assert (s.non_party_as_party.correct, s.non_party_as_party.total) == (1, 2)


def test_category_micro_f1_multi_label():
    gold = [item("d1", [rel("甲公司", "乙公司")], tech=["computer_vision", "large_models"], domains=["smart_city"]),
            item("d2", [rel("丙公司", "丁公司")], tech=["ai_chips"]),
            item("d3", [])]  # not a cooperation: its labels are not scored
    predictions = [pred("d1", [], tech=["大模型", "自然语言处理"], domains=["智慧城市"]),  # Chinese names are accepted
                   pred("d2", []),
                   pred("d3", [], tech=["区块链"])]
    s = score_gold(gold, predictions)
    assert s.tech_categories == PRF(tp=1, fp=1, fn=2)
    assert s.tech_categories.precision == pytest.approx(0.5)
    assert s.tech_categories.recall == pytest.approx(1 / 3)
    assert s.tech_categories.f1 == pytest.approx(0.4)
    assert s.application_domains == PRF(tp=1, fp=0, fn=0)
    assert category_f1([{"x", "y"}, {"z"}], [{"x"}, {"z", "w"}]) == PRF(tp=2, fp=1, fn=1)


def test_unknown_labels_and_empty_ratios():
    assert PRF().precision == 1.0 and PRF().recall == 1.0 and PRF().f1 == 1.0
    assert PRF(0, 0, 3).f1 == 0.0
    s = score_gold([item("d1", [rel("甲公司", "乙公司")], tech=["iot"])],
                   [pred("d1", [], tech=["物联网", "不存在的类别"])])
    assert s.tech_categories == PRF(tp=1, fp=1, fn=0)
    assert s.year.value is None  # nothing matched


# ----------------------------------------------------------------------------------- clusterings


def test_pairwise_f1_of_clusterings():
    gold = {"a": 1, "b": 1, "c": 1, "d": 2}
    predicted = {"a": "x", "b": "x", "c": "y", "d": "y", "zzz": "y"}  # zzz is not a gold item
    s = pairwise_f1(gold, predicted)  # gold pairs ab ac bc; predicted ab cd
    assert s == PRF(tp=1, fp=1, fn=2)
    assert entity_resolution_f1(gold, {"a": 1, "b": 1}) == PRF(tp=1, fp=0, fn=2)  # c, d singletons
    assert duplicate_document_f1({"u1": "s", "u2": "s"}, {"u1": 1, "u2": 1}) == PRF(tp=1, fp=0, fn=0)


# -------------------------------------------------------------------------------------- the world


def _write_world(truth: Path) -> None:
    events = [
        {"id": "E1", "provider": "北京甲智能科技有限公司", "receiver": "上海乙银行股份有限公司", "direction": "directed",
         "kind": "procurement", "year": 2021, "tech": "计算机视觉", "domain": "智能金融", "group_id": None},
        {"id": "E2", "provider": "北京甲智能科技有限公司", "receiver": "丙大学", "direction": "mutual",
         "kind": "joint_lab", "year": 2019, "tech": "大模型", "domain": "智能教育", "group_id": None},
        {"id": "E3", "provider": "北京甲智能科技有限公司", "receiver": "丙大学", "direction": "mutual",
         "kind": "alliance", "year": 2022, "tech": "物联网", "domain": "智慧城市", "group_id": "G1"},
        {"id": "E4", "provider": "北京甲智能科技有限公司", "receiver": "丁研究院", "direction": "mutual",
         "kind": "alliance", "year": 2022, "tech": "物联网", "domain": "智慧城市", "group_id": "G1"},
    ]
    surfaces = {"北京甲智能科技有限公司": ["甲智能", "Jia AI Technology Co., Ltd."], "上海乙银行股份有限公司": ["乙银行"],
                "丙大学": ["丙大学"], "工业和信息化部": ["工信部"]}
    docs = [
        {"url": "/n/1", "text": "t1", "title": "x", "published": "2021-05-01", "crawlable": True, "fault": None,
         "events": ["E1"], "historical": ["E2"], "terminated": [], "negatives": [], "non_parties": ["工业和信息化部"],
         "surfaces": surfaces},
        {"url": "/n/2", "text": "t2", "published": "2022-03-01", "crawlable": True, "fault": None,
         "events": ["E3", "E4"], "historical": [], "terminated": [], "negatives": [], "non_parties": [],
         "surfaces": {"北京甲智能科技有限公司": ["甲智能"], "丙大学": ["丙大学"], "丁研究院": ["丁研究院"]}},
        {"url": "/n/3", "text": "t3", "published": "2022-04-01", "crawlable": True, "fault": None,
         "events": [], "historical": [], "terminated": [], "negatives": [["北京甲智能科技有限公司", "丙大学"]],
         "non_parties": [], "surfaces": {"北京甲智能科技有限公司": ["甲智能"], "丙大学": ["丙大学"]}},
        {"url": "/n/4", "text": "t4", "published": "2022-04-01", "crawlable": False, "fault": None,
         "events": ["E1"], "historical": [], "terminated": [], "negatives": [], "non_parties": [], "surfaces": {}},
    ]
    orgs = [{"name": "北京甲智能科技有限公司", "aliases": {"full": "北京甲智能科技有限公司", "short": "甲智能"}},
            {"name": "丙大学", "aliases": {"full": "丙大学"}}]
    truth.mkdir()
    for name, rows in (("events.jsonl", events), ("documents.jsonl", docs), ("organisations.jsonl", orgs)):
        (truth / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def test_score_world_maps_surfaces_groups_and_negatives(tmp_path):
    truth = tmp_path / "truth"
    _write_world(truth)
    predictions = [
        {"id": "/n/1", "is_cooperation": True, "tech_categories": ["计算机视觉"], "application_domains": ["智能金融"],
         "relations": [rel("Jia AI Technology Co., Ltd.", "乙银行", "a->b", 2021, "bid_award"),
                       rel("丙大学", "甲智能", "b->a", 2019, "joint_lab", "historical"),  # direction not in text
                       rel("工信部", "甲智能")]},  # a witness made a party
        {"id": "/n/2", "is_cooperation": True,
         "relations": [rel("甲智能", "丙大学", year=2022, kind="alliance_membership"),
                       rel("甲智能", "丁研究院", year=2022, kind="alliance_membership"),
                       rel("丙大学", "丁研究院", year=2022, kind="alliance_membership")]},  # the group's third pair
        {"id": "/n/3", "is_cooperation": True, "relations": [rel("甲智能", "丙大学")]},  # a negative pair
    ]
    s = score_world(truth, predictions)
    assert s.documents == 3  # /n/4 is not crawlable
    assert s.relations == PRF(tp=5, fp=2, fn=0)
    assert (s.kind.correct, s.kind.total) == (4, 4)  # procurement = bid_award, alliance = alliance_membership
    assert (s.non_party_as_party.correct, s.non_party_as_party.total) == (1, 1)
    assert (s.negative_pair_as_relation.correct, s.negative_pair_as_relation.total) == (1, 1)
    assert (s.is_cooperation.correct, s.is_cooperation.total) == (2, 3)
    assert s.tech_categories == PRF(tp=1, fp=0, fn=1)  # /n/2's 物联网 not predicted
    assert (s.direction.correct, s.direction.total) == (4, 4)  # the background relation has no direction
    assert score_world(truth, predictions, complete_groups=False).relations == PRF(tp=4, fp=3, fn=0)
    assert score_world(truth, predictions, background_direction=True).relations == PRF(tp=4, fp=3, fn=1)


def test_world_gold_directs_a_signing_with_an_adopter(tmp_path):
    """ANNOTATION.md, Direction: a sample firm's strategic agreement written as a signing of equals is
    labelled firm -> partner when the partner adopts (a hospital, a bank, a steelworks: world-model.yml
    ``adopters``), and stays mutual with a university or a software firm (no clear provider)."""
    truth = tmp_path / "truth"
    truth.mkdir()
    partners = {"甲医院": ("hospital", "84"), "乙银行": ("bank", "66"), "丙钢铁有限公司": ("manufacturer", "31"),
                "丁大学": ("university", "83"), "戊软件有限公司": ("firm", "65")}
    events = [{"id": f"E{i}", "provider": "北京甲智能科技有限公司", "receiver": name, "direction": "mutual",
               "kind": "strategic_agreement", "year": 2022} for i, name in enumerate(partners)]
    events.append({"id": "E9", "provider": "北京甲智能科技有限公司", "receiver": "甲医院", "direction": "mutual",
                   "kind": "joint_lab", "year": 2022})  # a co-built lab has no provider
    docs = [{"url": "/n/1", "text": "t", "events": [e["id"] for e in events], "surfaces": {}}]
    orgs = [{"name": "北京甲智能科技有限公司", "kind": "firm", "industry_division": "65"}] + [
        {"name": name, "kind": kind, "industry_division": division} for name, (kind, division) in partners.items()]
    for name, rows in (("events.jsonl", events), ("documents.jsonl", docs), ("organisations.jsonl", orgs)):
        (truth / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    (record,) = world_gold_records(truth)
    direction = {(r["b"], r["kind"]): r["direction"] for r in record["relations"]}
    assert direction == {("甲医院", "strategic_agreement"): "a->b", ("乙银行", "strategic_agreement"): "a->b",
                         ("丙钢铁有限公司", "strategic_agreement"): "a->b", ("丁大学", "strategic_agreement"): "mutual",
                         ("戊软件有限公司", "strategic_agreement"): "mutual", ("甲医院", "joint_lab"): "mutual"}


def test_world_clusterings(tmp_path):
    truth = tmp_path / "truth"
    _write_world(truth)
    entities = world_entity_clusters(truth)
    assert entities["甲智能"] == entities["Jia AI Technology Co., Ltd."] == "北京甲智能科技有限公司"
    assert entities["工信部"] == "工业和信息化部"
    assert world_duplicate_clusters(truth) == {"/n/1": "events:E1", "/n/2": "events:E3,E4", "/n/3": "/n/3"}
    docs = world_documents(truth)  # the extractor's input: reachable pages only, no null fields
    assert [d["id"] for d in docs] == ["/n/1", "/n/2", "/n/3"] and "title" not in docs[1]


# ---------------------------------------------------------------------------------- the gold file


def test_gold_file_is_valid():
    items = read_jsonl(GOLD_FILE)
    tech = {c.code for c in load_tech_categories()}
    domains = {d.code for d in load_application_domains()}
    assert len(items) >= 100
    assert len({i["id"] for i in items}) == len(items)
    negatives = sum(1 for i in items if not i["gold"]["is_cooperation"])
    assert negatives >= 0.2 * len(items)
    for i in items:
        where, text, gold = i["id"], i["text"], i["gold"]
        assert text.strip() and set(gold) >= {"is_cooperation", "relations", "tech_categories",
                                              "application_domains", "organisations"}, where
        if "published" in i:
            dt.date.fromisoformat(i["published"])
        assert gold["is_cooperation"] == bool(gold["relations"]), where
        parties = set()
        for r in gold["relations"]:
            assert r["direction"] in ("a->b", "b->a", "mutual"), where
            assert r["status"] in ("new", "terminated", "historical"), where
            assert r["kind"] in KINDS, where
            assert isinstance(r["year"], int) and 1990 <= r["year"] <= 2030, where
            assert r["a"] != r["b"] and r["a"] in text and r["b"] in text, where
            parties.update((r["a"], r["b"]))
        assert set(gold["tech_categories"]) <= tech, where
        assert set(gold["application_domains"]) <= domains, where
        if not gold["is_cooperation"]:
            assert not gold["tech_categories"] and not gold["application_domains"], where
        roles = {o["name"]: o["role"] for o in gold["organisations"]}
        assert all(o["name"] in text and o["role"] in ("party", "non_party") and o["kind"] for o in
                   gold["organisations"]), where
        assert {n for n, role in roles.items() if role == "party"} == parties, where


def test_gold_file_covers_the_hard_cases():
    items = read_jsonl(GOLD_FILE)
    relations = [r for i in items for r in i["gold"]["relations"]]
    statuses = Counter(r["status"] for r in relations)
    assert statuses["historical"] >= 5 and statuses["terminated"] >= 3
    assert set(KINDS) - {"other"} <= {r["kind"] for r in relations}
    multi = [i for i in items if len({n for r in i["gold"]["relations"] for n in (r["a"], r["b"])}) >= 3]
    assert len(multi) >= 8
    assert sum(1 for i in items if any(o["role"] == "non_party" for o in i["gold"]["organisations"])
               and i["gold"]["is_cooperation"]) >= 20
    assert sum(1 for i in items if i["text"].isascii()) >= 10  # English releases
    assert sum(1 for i in items if any(c in i["text"] for c in "與協議據為於")) >= 10  # traditional Chinese


def test_gold_scored_against_itself_and_with_directions_erased():
    items = read_jsonl(GOLD_FILE)
    perfect = [{"id": i["id"], **i["gold"]} for i in items]
    s = score_gold(items, perfect)
    assert s.relations.f1 == 1.0 and s.direction.value == 1.0 and s.tech_categories.f1 == 1.0
    assert s.is_cooperation.value == 1.0 and s.non_party_as_party.correct == 0
    total = sum(len(i["gold"]["relations"]) for i in items)
    mutual = sum(r["direction"] == "mutual" for i in items for r in i["gold"]["relations"])
    erased = [{**p, "relations": [{**r, "direction": "mutual"} for r in p["relations"]]} for p in perfect]
    s = score_gold(items, erased)
    assert s.relations == PRF(tp=mutual, fp=total - mutual, fn=total - mutual)
    assert s.pairs == PRF(tp=total, fp=0, fn=0)
    assert (s.direction.correct, s.direction.total) == (mutual, total)
    assert len(gold_documents(items)) == len(items)
