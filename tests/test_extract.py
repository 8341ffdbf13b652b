"""Rule-based relation extraction on hand-written sentences (no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from etl.extract import Gazetteer, extract_document, find_date, load_lexicon, split_sentences

GAZ = {"星云智能": 1, "北京星云智能科技有限公司": 1, "清华大学": 2, "中国移动": 3}


@pytest.fixture
def gazetteer():
    return Gazetteer(GAZ)


def _pairs(text, gazetteer, published=dt.date(2021, 6, 1)):
    return [
        (r.provider.name, r.receiver.name, r.direction, r.year)
        for r in extract_document(text, published, gazetteer, load_lexicon())
    ]


def test_directed_provide(gazetteer):
    text = "2020年5月1日，星云智能与杭州云帆数据有限公司达成合作，星云智能将为杭州云帆数据有限公司提供大数据技术。"
    assert _pairs(text, gazetteer) == [("星云智能", "杭州云帆数据有限公司", "directed", 2020)]


def test_directed_adopt_reverses_roles(gazetteer):
    assert _pairs("中国移动引入星云智能的物联网解决方案。", gazetteer) == [("星云智能", "中国移动", "directed", 2021)]


def test_mutual_agreement_and_categories(gazetteer):
    text = "2019年3月12日，北京星云智能科技有限公司与清华大学签署战略合作协议，双方将在计算机视觉、智能教育等领域开展深度合作。"
    (rel,) = extract_document(text, None, gazetteer, load_lexicon())
    assert (rel.provider.key, rel.receiver.key, rel.direction, rel.kind) == (1, 2, "mutual", "strategic_agreement")
    assert rel.event_date == dt.date(2019, 3, 12)
    assert rel.tech_categories == ["计算机视觉"] and rel.application_domains == ["智能教育"]


def test_no_cooperation_phrase_no_relation(gazetteer):
    assert _pairs("星云智能和清华大学的代表出席了论坛。", gazetteer) == []


def test_single_organisation_no_relation(gazetteer):
    assert _pairs("星云智能发布新一代计算机视觉平台并达成多项合作。", gazetteer) == []


def test_discovered_names_keep_institutional_suffix(gazetteer):
    rels = extract_document("星云智能携手同济大学，围绕多模态展开合作。", None, gazetteer, load_lexicon())
    assert [(r.receiver.name, r.receiver.key, r.receiver.kind) for r in rels] == [("同济大学", None, "university")]


def test_longest_alias_wins():
    g = Gazetteer({"星云": 9, "星云智能": 1})
    assert g.find("星云智能发布") == [(0, 4, "星云智能")]


def test_ambiguous_alias_not_matched():
    g = Gazetteer()
    g.add("华云", 1)
    g.add("华云", 2)
    assert g.find("华云与清华") == []


def test_dates_and_sentences():
    assert find_date("于2023-11-21签约") == (dt.date(2023, 11, 21), 2023)
    assert find_date("2022年7月起") == (None, 2022)
    assert find_date("2023年2月30日") == (None, 2023)
    assert split_sentences("甲。乙！\n丙") == ["甲。", "乙！", "丙"]


def test_abbreviation_declaration_is_transparent(gazetteer):
    text = "2016年7月5日，北京星云智能科技有限公司（以下简称“星云智能”）携手中国移动，围绕物联网展开合作。"
    assert _pairs(text, gazetteer) == [("北京星云智能科技有限公司", "中国移动", "mutual", 2016)]


def test_procurement_of_unknown_supplier(gazetteer):
    text = "2017年7月21日，星云智能采购深圳市骏华新能源有限公司的大数据和云计算产品，用于智能能源业务。"
    assert _pairs(text, gazetteer) == [("深圳市骏华新能源有限公司", "星云智能", "directed", 2017)]


def test_unknown_name_after_abbreviation(gazetteer):
    text = "2021年2月3日，北京星云智能科技有限公司（以下简称“星云智能”）向上海嘉润医疗器械集团有限公司提供网络安全产品。"
    assert _pairs(text, gazetteer) == [("北京星云智能科技有限公司", "上海嘉润医疗器械集团有限公司", "directed", 2021)]
