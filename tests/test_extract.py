"""Rule-based relation extraction on hand-written sentences (no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from etl.extract import extract_document
from etl.lexicon import load_lexicon, negated
from etl.mentions import Gazetteer, Mention, OrgRef, coordinated_names
from etl.normalize import find_dates, history_year, normalise, sentences

REF = {"星云": OrgRef("北京星云智能科技有限公司", "firm"), "清华": OrgRef("清华大学", "university"),
       "移动": OrgRef("中国移动通信集团有限公司", "telecom"), "腾讯": OrgRef("深圳市腾讯计算机系统有限公司", "firm"),
       "腾讯云": OrgRef("腾讯云计算（北京）有限责任公司", "firm"), "杭州": OrgRef("杭州市人民政府", "government")}
GAZ = {"星云智能": REF["星云"], "北京星云智能科技有限公司": REF["星云"], "清华大学": REF["清华"],
       "中国移动": REF["移动"], "腾讯": REF["腾讯"], "腾讯云": REF["腾讯云"], "杭州市人民政府": REF["杭州"]}


@pytest.fixture
def gazetteer():
    return Gazetteer(GAZ)


def _rel(text, gazetteer, published=dt.date(2023, 12, 1)):
    ex = extract_document(text, published, gazetteer, load_lexicon())
    return [(r.provider.surface, r.receiver.surface, r.direction, r.kind, r.status, r.year) for r in ex.relations]


def test_mutual_agreement_with_date_and_labels(gazetteer):
    text = "2019年3月12日，北京星云智能科技有限公司与清华大学签署战略合作协议，双方将在计算机视觉、智能教育等领域开展深度合作。"
    ex = extract_document(text, None, gazetteer, load_lexicon())
    (rel,) = ex.relations
    assert (rel.provider.key, rel.receiver.key, rel.direction, rel.kind) == (REF["星云"], REF["清华"], "mutual",
                                                                             "strategic_agreement")
    assert rel.event_date == dt.date(2019, 3, 12) and rel.year == 2019
    assert rel.tech_categories == ["计算机视觉"] and rel.application_domains == ["智能教育"]


@pytest.mark.parametrize("text, expected", [
    ("2020年5月1日，星云智能将为杭州云帆数据有限公司提供大数据技术。", ("星云智能", "杭州云帆数据有限公司", "directed", "product_adoption", "new", 2020)),
    ("中国移动引入星云智能的物联网解决方案。", ("星云智能", "中国移动", "directed", "product_adoption", "new", 2023)),
    ("杭州云帆数据有限公司基于星云智能的计算机视觉平台打造了解决方案。", ("星云智能", "杭州云帆数据有限公司", "directed", "product_adoption", "new", 2023)),
    ("二〇二三年十一月二十一日，星云智能中标中国移动智算中心采购项目。", ("星云智能", "中国移动", "directed", "bid_award", "new", 2023)),
    ("星云智能与清华大学自2016年起开展合作，此次是双方合作的进一步深化。", ("星云智能", "清华大学", "mutual", "other", "historical", 2016)),
    ("星云智能公告称，因业务调整，公司与清华大學於2019年簽訂的合作協議已終止。", ("星云智能", "清华大學", "mutual", "strategic_agreement", "terminated", 2019)),
])
def test_directions_kinds_statuses(gazetteer, text, expected):
    assert _rel(text, gazetteer) == [expected]


def test_witness_is_not_a_party(gazetteer):
    ex = extract_document("在杭州市人民政府有关领导的见证下，星云智能与清华大学签署合作协议。", dt.date(2023, 1, 5),
                          gazetteer, load_lexicon())
    assert [(r.provider.name, r.receiver.name) for r in ex.relations] == [("星云智能", "清华大学")]
    assert ex.non_parties == {"杭州市人民政府"}


def test_talks_and_rumours_are_not_cooperations(gazetteer):
    assert _rel("星云智能与清华大学就大模型合作进行了初步洽谈，双方表示将继续探讨合作的可能性。", gazetteer) == []
    assert _rel("有媒体报道称星云智能将与中国移动合作，星云智能对此予以否认。", gazetteer) == []


def test_a_signing_after_talks_or_a_report_is_a_cooperation_a_denial_is_not(gazetteer):
    """Talk, visit and report cues yield to a signing in the same sentence (ANNOTATION.md ex-01);
    rumour and denial cues do not (etl.lexicon.negated)."""
    for text in ("星云智能与清华大学召开合作座谈会并签订战略合作框架协议。", "浙江发布消息称，星云智能和清华大学签订了战略合作框架协议。"):
        assert [r[:2] for r in _rel(text, gazetteer)] == [("星云智能", "清华大学")], text
    lexicon = load_lexicon()
    assert negated("有媒体报道称星云智能与清华大学签署协议，星云智能予以否认。", lexicon)
    assert negated("双方就合作进行了洽谈。", lexicon) and not negated("双方洽谈后签署了协议。", lexicon)


def test_english_names_joined_by_and_are_two_names() -> None:
    assert coordinated_names("Chizhou Municipal Government and DeepBlue Technology") == [
        (0, "Chizhou Municipal Government"), (33, "DeepBlue Technology")]
    assert coordinated_names("Ministry of Industry and Information Technology") == [
        (0, "Ministry of Industry and Information Technology")]
    # two fields of a body's remit before its head word: one name (dev rth-065, rte-018)
    assert coordinated_names("National Development and Reform Commission") == [
        (0, "National Development and Reform Commission")]
    assert coordinated_names("Alibaba and Tencent") == [(0, "Alibaba"), (12, "Tencent")]


def test_multiparty_signing_gives_every_pair(gazetteer):
    pairs = {(a, b) for a, b, *_ in _rel("星云智能、清华大学和中国移动共同签署5G/6G产业合作协议。", gazetteer)}
    assert pairs == {("星云智能", "清华大学"), ("星云智能", "中国移动"), ("清华大学", "中国移动")}


def test_parent_and_subsidiary_are_not_a_cooperation(gazetteer):
    assert _rel("腾讯旗下腾讯云与清华大学签约。", gazetteer) == [("腾讯云", "清华大学", "mutual", "strategic_agreement", "new", 2023)]
    assert _rel("腾讯与腾讯云签署合作协议。", gazetteer) == []


def test_declared_short_name_and_unknown_names(gazetteer):
    text = ("2021年2月3日，北京凌澄科技股份有限公司（以下简称“凌澄科技”）向上海嘉润医疗器械集团有限公司提供网络安全产品。"
            "凌澄科技还与清华大学签署了合作协议。")
    assert _rel(text, gazetteer) == [
        ("北京凌澄科技股份有限公司", "上海嘉润医疗器械集团有限公司", "directed", "product_adoption", "new", 2021),
        ("凌澄科技", "清华大学", "mutual", "strategic_agreement", "new", 2021),
    ]


def test_english_release(gazetteer):
    text = "SenseTime Group Inc. will provide computer vision solutions to Acme Robotics Co., Ltd. for smart factories."
    assert _rel(text, gazetteer) == [("SenseTime Group Inc.", "Acme Robotics Co., Ltd.", "directed", "product_adoption",
                                      "new", 2023)]


def test_gazetteer_longest_match_and_ambiguity():
    g = Gazetteer({"星云": 9, "星云智能": 1})
    assert g.find("星云智能发布") == [(0, 4, "星云智能")]
    g.add("华云", 1)
    g.add("华云", 2)
    assert [n for *_, n in g.find("华云与星云")] == ["星云"]
    assert Gazetteer({"AMD": 1}).find("AMDs and AMD chips") == [(9, 12, "AMD")]


def _leftmost_longest(names: set[str], text: str) -> list[tuple[int, int, str]]:
    """Leftmost-longest matching by brute force: the definition :meth:`Gazetteer.find` must meet."""
    found, at = [], 0
    while at < len(text):
        hits = [n for n in names if text.startswith(n, at)]
        if hits:
            name = max(hits, key=len)
            found.append((at, at + len(name), name))
            at += len(name)
        else:
            at += 1
    return found


def test_gazetteer_finds_the_same_names_whichever_automaton_holds_them():
    """Names added while the gazetteer is searched sit in its main, middle or recent automaton
    (issue 17: the loader's gazetteer grows by thousands of names a run); what it finds is the
    leftmost-longest matching over every name all the same, as for one built at once."""
    import random

    rng = random.Random(17)
    for _ in range(40):
        names = {"".join(rng.choice("甲乙丙丁") for _ in range(rng.randint(2, 5))) for _ in range(rng.randint(3, 40))}
        texts = ["".join(rng.choice("甲乙丙丁戊") for _ in range(rng.randint(5, 40))) for _ in range(20)]
        grown = Gazetteer()
        grown.RECENT_MAX, grown.REBUILD_AFTER = 2, 5  # every level in use on a small set
        for i, name in enumerate(sorted(names)):
            grown.add(name, i)
            grown.find(texts[i % len(texts)])  # searched between additions: names land in all three automata
        at_once = Gazetteer({n: i for i, n in enumerate(sorted(names))})
        for text in texts:
            assert grown.find(text) == at_once.find(text) == _leftmost_longest(names, text)
    # an ambiguous long name hides nothing: the shorter names inside it are found
    g = Gazetteer({"星云智能": 1, "星云": 2})
    g.find("星云")
    g.add("星云智能", 3)
    assert g.find("星云智能发布") == [(0, 2, "星云")]


def test_normalisation_keeps_offsets_and_reads_dates():
    norm = normalise("ＡＩ與清華大學，２０２３年")
    assert norm.text == "AI与清华大学，2023年" and norm.original_text(3, 7) == "清華大學"
    assert sentences("甲。乙！\n丙") == [(0, 2), (2, 4), (5, 6)]
    pub = dt.date(2023, 3, 1)
    assert [(d.day, d.year, d.kind) for d in find_dates("于2023-11-21签约", pub)] == [(dt.date(2023, 11, 21), 2023, "full")]
    assert [(d.day, d.year) for d in find_dates("2022年7月起", pub)] == [(None, 2022)]
    assert [d.day for d in find_dates("2月28日签约", pub)] == [dt.date(2023, 2, 28)]
    assert [d.day for d in find_dates("11月5日签约", pub)] == [dt.date(2022, 11, 5)]  # after the publication: last year
    assert [d.day for d in find_dates("近日，双方签约", pub)] == [pub]


def test_a_history_is_dated_by_a_year_its_sentence_gives_relative_to_the_publication_or_in_english():
    """``history_year``: what a historical relation's sentence says when ``find_dates`` finds no year
    in it (a history without a year is not loaded: no yearly network can hold it)."""
    pub = dt.date(2024, 7, 3)
    assert history_year("九州大学去年9月已和阳明交大、工研院锁定半导体等领域合作", pub) == 2023
    assert history_year("由鸿海集团与工研院在三年前共同发起的联盟", pub) == 2021
    assert history_year("双方曾于两年前签约", pub) == 2022
    assert history_year("In 2018 Tencent and Nio Capital joined an undisclosed round", pub) == 2018
    assert history_year("Last month chipmaker Qualcomm said it would work with SenseTime", dt.date(2024, 1, 9)) == 2023
    assert history_year("The lab was set up in May by the fund", dt.date(2024, 3, 1)) == 2023  # the last May
    assert history_year("Earlier this month Luminar said it was partnering with SAIC", pub) == 2024
    # no year: amounts, a year after the publication, none written
    assert history_year("It raised $2018 million in 2030", pub) is None
    assert history_year("双方此前已在多个领域合作", pub) is None
    assert history_year("去年双方签约", None) is None and history_year("In 2019 they signed", None) == 2019


def test_a_short_name_stands_for_another_only_beyond_a_shared_place_or_beginning():
    """etl.extract._unify_short_names on a real dev document (rth-005: "天津市与科学技术部、教育部、中国工程院等
    分别签约"): 天津市 is not 天津大学 and 中国工程院 is not 中国华电集团, names of the same text that begin alike."""
    from etl.corpus import read_part
    from etl.gazetteer import seed_gazetteer

    doc = next(d for d in read_part("dev") if d["id"] == "rth-005")
    ex = extract_document(doc["text"], dt.date.fromisoformat(doc["published"]) if doc.get("published") else None,
                          seed_gazetteer(), load_lexicon(), doc.get("title"))
    pairs = {frozenset((r.provider.identity, r.receiver.identity)) for r in ex.relations}
    assert frozenset(("天津市", "中国工程院")) in pairs and frozenset(("天津市", "科学技术部")) in pairs
    assert not any(p & {"天津大学", "中国华电集团"} for p in pairs)
    # past the shared beginning the names must still begin alike: 上海电气电站 stands for 上海电气集团…
    from etl.extract import Relation, _unify_short_names

    def unified(short: str, full: str, kind: str = "firm") -> str:
        a, b = Mention(0, len(full), full, None, kind), Mention(30, 30 + len(short), short, None, "firm")
        c = Mention(50, 54, "清华大学", None, "university")
        relations = _unify_short_names([Relation(b, c, "mutual", "strategic_agreement", "new", None, None)],
                                       [a, b, c], load_lexicon())
        return relations[0].provider.identity if relations else ""

    assert unified("上海电气电站", "上海电气集团股份有限公司") == "上海电气集团股份有限公司"
    assert unified("智谱AI", "北京智谱华章科技有限公司") == "北京智谱华章科技有限公司"
    assert unified("上海微电子", "上海电气集团股份有限公司") == "上海微电子"
    assert unified("中国工程院", "中国华电集团有限公司") == "中国工程院"
