"""Sentence structures (etl/structures.py): funding rounds, tender results, co-building.

The readers are tested on sentences of the real-text dev part (tests/data/realtext/dev.jsonl) with
their names placed by hand, and end to end through the extractor (etl.pairs.extract_with_model):
investors of one round are never paired with each other, and each goes to the funded firm.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from etl.gazetteer import seed_gazetteer
from etl.lexicon import load_lexicon
from etl.normalize import normalise, sentences
from etl.pairs import extract_with_model
from etl.structures import (
    Name,
    history_lists,
    load_patterns,
    read_cobuild,
    read_funding,
    read_structures,
    read_tender,
    triggered,
)


def names_of(sentence: str, *spans: tuple[str, str]) -> list[Name]:
    """Names placed at their first occurrence: (surface, kind) pairs, ids in order."""
    out = []
    for i, (surface, kind) in enumerate(spans):
        start = sentence.index(surface)
        out.append(Name(i, start, start + len(surface), kind))
    return out


FUNDING = ("成立仅50天的具身智能技术公司它石智航在还没有公开产品的情况下,完成了1.2亿美元天使轮融资,"
           "由蓝驰创投与启明创投联合领投,线性资本、恒旭资本和高瓴创投跟投")


def test_funding_round_each_investor_to_the_funded_firm() -> None:
    spans = [("它石智航", "unknown"), ("蓝驰创投", "investor"), ("启明创投", "investor"), ("线性资本", "investor"),
             ("恒旭资本", "investor"), ("高瓴创投", "investor")]
    found = read_funding(FUNDING, names_of(FUNDING, *spans), load_patterns())
    assert found is not None
    assert {(link.provider, link.receiver) for link in found.links} == {(i, 0) for i in range(1, 6)}
    assert all(link.kind == "investment" and link.direction == "directed" and link.status == "new" for link in found.links)
    assert found.covered == set(range(6))


def test_funding_subject_is_funded_not_the_earlier_investor() -> None:
    sentence = "智元机器人继2024年9月引入软通动力和蓝驰创投之后,近日又完成B轮融资,由腾讯投资领投"
    spans = [("智元机器人", "unknown"), ("软通动力", "firm"), ("蓝驰创投", "investor"), ("腾讯投资", "investor")]
    found = read_funding(sentence, names_of(sentence, *spans), load_patterns())
    assert found is not None
    assert {link.receiver for link in found.links} == {0}
    assert {link.provider for link in found.links} == {1, 2, 3}


def test_lead_investor_named_first_and_followers_taking_part() -> None:
    """"A成了Y首轮融资的领投方, B、C等也参与其中" (dev rt5e-005): Y is funded, A, B and C invest."""
    sentence = "源码资本成了光年之外首轮向机构开放融资的领投方,红杉资本、五源资本、腾讯、真格基金等也参与其中"
    spans = [("源码资本", "investor"), ("光年之外", "unknown"), ("红杉资本", "investor"), ("五源资本", "investor"),
             ("腾讯", "unknown"), ("真格基金", "investor")]
    found = read_funding(sentence, names_of(sentence, *spans), load_patterns())
    assert found is not None
    assert {(link.provider, link.receiver) for link in found.links} == {(i, 1) for i in (0, 2, 3, 4, 5)}


def test_funding_adviser_and_english_round() -> None:
    sentence = "Cambricon raised $100 million in a Series B round led by SDIC Venture Capital, with Alibaba also participating"
    spans = [("Cambricon", "unknown"), ("SDIC Venture Capital", "investor"), ("Alibaba", "firm")]
    found = read_funding(sentence, names_of(sentence, *spans), load_patterns())
    assert found is not None and {(link.provider, link.receiver) for link in found.links} == {(1, 0), (2, 0)}
    adviser = "小冰公司完成新一轮融资,由网易领投,华兴资本担任本轮融资的独家财务顾问"
    spans = [("小冰公司", "unknown"), ("网易", "firm"), ("华兴资本", "investor")]
    found = read_funding(adviser, names_of(adviser, *spans), load_patterns())
    assert found is not None and {(link.provider, link.receiver) for link in found.links} == {(1, 0)}
    assert 2 in found.covered  # accounted for: never paired with the others


def test_followers_in_the_next_sentence_use_the_funded_firm_named_before() -> None:
    first = "面壁智能宣布完成新一轮数亿元融资"
    second = "本轮由春华创投领投,清科创投和国中资本跟投"
    found = read_structures([(first, names_of(first, ("面壁智能", "unknown"))),
                             (second, [Name(1, 3, 7, "investor"), Name(2, 11, 15, "investor"), Name(3, 16, 20, "investor")])])
    assert found[0] is None  # one name: nothing to pair, but the funded firm is remembered
    assert found[1] is not None and {(link.provider, link.receiver) for link in found[1].links} == {(1, 0), (2, 0), (3, 0)}
    listed = "本轮由春华创投领投,清科创投和国中资本跟投"
    alone = read_funding(listed, names_of(listed, ("春华创投", "investor"), ("清科创投", "investor"),
                                          ("国中资本", "investor")), load_patterns(), funded_hint=None)
    assert alone is not None and alone.links == [] and alone.covered == {0, 1, 2}


def test_tender_winners_to_the_buyer_agent_and_losers_no_parties() -> None:
    sentence = ("采购人深圳市宝安区建筑工务署公布结果,广东捷起建设工程有限公司中标,招标代理机构深圳市宝安区建设工程监理有限公司,"
                "未中标单位为中建科工")
    spans = [("深圳市宝安区建筑工务署", "government"), ("广东捷起建设工程有限公司", "firm"),
             ("深圳市宝安区建设工程监理有限公司", "firm"), ("中建科工", "firm")]
    found = read_tender(sentence, names_of(sentence, *spans), load_patterns())
    assert found is not None
    assert [(link.provider, link.receiver, link.kind) for link in found.links] == [(1, 0, "bid_award")]
    assert found.covered == {0, 1, 2, 3}


def test_cobuild_needs_a_list_of_three_right_before_the_verb() -> None:
    sentence = "西安交通大学、西北工业大学和科大讯飞共建陕西省人工智能联合实验室"
    spans = [("西安交通大学", "university"), ("西北工业大学", "university"), ("科大讯飞", "firm")]
    found = read_cobuild(sentence, names_of(sentence, *spans), load_patterns())
    assert found is not None
    assert {frozenset((link.provider, link.receiver)) for link in found.links} == {frozenset(p) for p in itertools.combinations(range(3), 2)}
    assert {link.kind for link in found.links} == {"joint_lab"} and {link.direction for link in found.links} == {"mutual"}
    two = "西安交通大学与科大讯飞共建联合实验室"
    assert read_cobuild(two, names_of(two, ("西安交通大学", "university"), ("科大讯飞", "firm")), load_patterns()) is None


def test_cobuild_takes_in_the_party_that_leads_the_list() -> None:
    """"该联盟由A牵头，联合B、C、D等…共同倡议组建": A builds the alliance with them; the alliance named
    first gives the kind (dev rtd-015)."""
    sentence = "该联盟由东莞市机器人产业协会牵头，联合奥普特、三姆森、速美达等十多家代表企业共同倡议组建"
    spans = [("东莞市机器人产业协会", "alliance"), ("奥普特", "unknown"), ("三姆森", "unknown"), ("速美达", "unknown")]
    found = read_cobuild(sentence, names_of(sentence, *spans), load_patterns())
    assert found is not None
    assert {frozenset((link.provider, link.receiver)) for link in found.links} == {frozenset(p) for p in itertools.combinations(range(4), 2)}
    assert {link.kind for link in found.links} == {"alliance_membership"}


def test_a_hub_building_with_a_list_jointly_adds_the_pairs_of_the_list() -> None:
    """"A当天与B、C、D在上海共同发起成立…联盟": the rules pair A with each; every pair of the list
    is a pair of co-founders too (dev rtd-020)."""
    text = ("上海交通大学医学院附属瑞金医院当天与北京协和医院、复旦大学附属中山医院、四川大学华西医院在上海共同发起"
            "成立医疗人工智能联盟。")
    relations = extract_with_model(text, dt.date(2024, 10, 13), seed_gazetteer(), load_lexicon()).relations
    pairs = {frozenset((r.provider.identity, r.receiver.identity)) for r in relations if r.kind == "alliance_membership"}
    listed = ["北京协和医院", "复旦大学附属中山医院", "四川大学华西医院"]
    assert all(frozenset((a, b)) in pairs for a, b in itertools.combinations(listed, 2))
    assert sum(1 for p in pairs if "上海交通大学医学院附属瑞金医院" in p) == 3


def test_triggered() -> None:
    assert triggered(FUNDING) and triggered("华为中标中国移动集采项目") and not triggered("双方举行座谈")


@pytest.fixture(scope="module")
def readers():
    return seed_gazetteer(), load_lexicon()


def test_extractor_never_pairs_investors_of_one_round(readers) -> None:
    gazetteer, lexicon = readers
    text = ("天脉网报道:成立仅50天的具身智能技术公司它石智航在还没有公开产品的情况下,完成了1.2亿美元天使轮融资,"
            "由蓝驰创投与启明创投联合领投,线性资本、恒旭资本、洪泰基金、联想创投、襄禾资本和高瓴创投跟投。")
    extraction = extract_with_model(text, None, gazetteer, lexicon)
    investors = {"蓝驰创投", "启明创投", "线性资本", "恒旭资本", "洪泰基金", "联想创投", "襄禾资本", "高瓴创投"}
    pairs = {(r.provider.name, r.receiver.name) for r in extraction.relations}
    assert not [p for p in pairs if p[0] in investors and p[1] in investors]
    funded = {r.receiver.name for r in extraction.relations if r.provider.name in investors}
    assert len(funded) == 1 and "石智航" in funded.pop()
    assert {r.provider.name for r in extraction.relations} >= investors


def test_an_investor_list_in_the_next_sentence_funds_the_firm_named_before() -> None:
    first = "The Beijing Humanoid Robot Innovation Center has completed its first financing round, raising 700 million yuan"
    second = "Investors include Baidu, Xiaomi and the Beijing Artificial Intelligence Industry Investment Fund"
    found = read_structures([
        (first, names_of(first, ("Beijing Humanoid Robot Innovation Center", "unknown"))),
        (second, [Name(i + 1, n.start, n.end, n.kind) for i, n in enumerate(names_of(
            second, ("Baidu", "firm"), ("Xiaomi", "firm"), ("Beijing Artificial Intelligence Industry Investment Fund", "investor")))]),
    ])
    assert found[1] is not None
    assert {(link.provider, link.receiver, link.kind) for link in found[1].links} == {
        (1, 0, "investment"), (2, 0, "investment"), (3, 0, "investment")}
    listed = "投资方包括洪泰基金、国中资本和茅台基金"
    alone = read_funding(listed, names_of(listed, ("洪泰基金", "investor"), ("国中资本", "investor"), ("茅台基金", "investor")),
                         load_patterns(), funded_hint=7)
    assert alone is not None and {(link.provider, link.receiver) for link in alone.links} == {(0, 7), (1, 7), (2, 7)}


def test_a_sentence_announcing_tender_results_names_the_buyer_of_the_winners_listed_next() -> None:
    first = "China Telecom released the bidding results for GPU servers in its Intel and AMD series"
    second = "The successful bidders include Huawei, H3C and Inspur"
    spans = names_of(first, ("China Telecom", "firm"), ("Intel", "firm"), ("AMD", "firm"))
    winners = [Name(i + 3, n.start, n.end, n.kind) for i, n in enumerate(
        names_of(second, ("Huawei", "firm"), ("H3C", "firm"), ("Inspur", "firm")))]
    found = read_structures([(first, spans), (second, winners)])
    assert found[0] is not None and found[0].links == [] and found[0].covered == {0, 1, 2}  # Intel, AMD: no bidders
    assert found[1] is not None
    assert {(link.provider, link.receiver, link.kind) for link in found[1].links} == {
        (3, 0, "bid_award"), (4, 0, "bid_award"), (5, 0, "bid_award")}


def test_the_headline_names_the_funded_firm_of_sentences_that_only_list_investors(readers) -> None:
    """dev rt5e-001: the text writes the round as "…天使轮融资已经完成" and lists "天使轮由A领投, B、C跟投";
    only the headline says "X完成…融资"; and dev rt5e-027: LAC does not read 思必驰 as a name in the text."""
    gazetteer, lexicon = readers
    text = ("7月29日消息,上海昉擎科技有限公司(下称“昉擎科技”)宣布,累计数亿元人民币的天使轮融资已经完成。"
            "天使+轮改由蔚来资本领投,明势资本继续跟投;天使++轮则由临港科创投领投,华业天成、高捷资本等机构共同参与。")
    extraction = extract_with_model(text, None, gazetteer, lexicon, title="昉擎科技完成总计数亿元天使轮融资")
    pairs = {(r.provider.name, r.receiver.name, r.kind) for r in extraction.relations}
    funded = "上海昉擎科技有限公司"
    assert {(i, funded, "investment") for i in ("明势资本", "临港科创投", "高捷资本")} <= pairs
    text = ("27日下午,思必驰CMO龙梦竹发长文回应,称思必驰第四轮融资达5亿元,由元禾控股、中民投资本领投,富士康、"
            "深创投、MTK跟投。")
    extraction = extract_with_model(text, None, gazetteer, lexicon, title="思必驰完成5亿元融资 与云知声朋友圈隔空掐架")
    pairs = {(r.provider.name, r.receiver.name) for r in extraction.relations}
    assert {(i, "思必驰") for i in ("元禾控股", "中民投资本", "富士康", "深创投", "MTK")} <= pairs
    assert not {p for p in pairs if "龙梦竹" in p or "CMO" in p}  # no investor cue before them or in their clause


def test_title_funded_and_headline_subjects() -> None:
    from etl.structures import headline_subjects, title_funded

    assert "芯擎科技" in headline_subjects("吉利又捧出芯片独角兽:芯擎科技完成近5亿元A+轮融资")[0]
    assert headline_subjects("Chinese lidar maker Hesai lands $300M led by Hillhouse, Xiaomi, Meituan") == ["Hesai"]
    assert headline_subjects("地平线与比亚迪签署战略合作协议") == []
    title = "Robotera raises $200M+ in round led by SF Group"
    names = names_of(title, ("Robotera", "unknown"), ("SF Group", "firm"))
    assert title_funded(title, names) == 0
    assert title_funded("Baidu inks partnership to build 1,000 robotaxis", names_of("Baidu inks", ("Baidu", "firm"))) is None


def test_english_appositive_and_participants_with_the_funded_firm_known() -> None:
    """dev rt7o-012: a place in the funded firm's appositive is no investor; "Other participants were …"
    and "led by A, the arm of P, together with B" fund the firm named before; P, a parent, invests nothing."""
    first = ("Hesai, a lidar maker founded in Shanghai in 2014 that also has an office in Palo Alto, has raised more "
             "than $300 million in a Series D round.")
    second = ("The round was led by GL Ventures, the venture capital arm of Hillhouse Capital, together with smartphone "
              "maker Xiaomi and CPE, the private equity platform of Citic.")
    third = "Other participants were Lightspeed China Partners and Qiming Venture Partners."
    fourth = "The story also notes that Innovusion, a lidar startup, raised $64 million in a round led by Temasek in May."
    found = read_structures([
        (first, names_of(first, ("Hesai", "unknown"), ("Palo Alto", "unknown"))),
        (second, [Name(i + 2, n.start, n.end, n.kind) for i, n in enumerate(names_of(
            second, ("GL Ventures", "investor"), ("Hillhouse Capital", "investor"), ("Xiaomi", "unknown"),
            ("CPE", "unknown"), ("Citic", "unknown")))]),
        (third, [Name(i + 7, n.start, n.end, n.kind) for i, n in enumerate(names_of(
            third, ("Lightspeed China Partners", "investor"), ("Qiming Venture Partners", "investor")))]),
        (fourth, [Name(i + 9, n.start, n.end, n.kind) for i, n in enumerate(names_of(
            fourth, ("Innovusion", "unknown"), ("Temasek", "unknown")))]),
    ])
    links = {(link.provider, link.receiver) for s in found if s for link in s.links}
    assert links == {(2, 0), (4, 0), (5, 0), (7, 0), (8, 0), (9 + 1, 9)}  # Temasek -> Innovusion, not to Hesai


def test_a_bracketed_name_in_the_other_script_is_the_same_organisation(readers) -> None:
    """dev rt5e-015: "新石器公司(Neolix)正式宣布完成…融资" paired Neolix with 新石器 as its investor."""
    gazetteer, lexicon = readers
    text = ("10月23日,L4级无人城配企业新石器公司(Neolix)正式宣布完成逾6亿美元D轮融资。"
            "本轮由阿联酋磊石资本(StoneVenture)领投,朝希资本联合领投。")
    extraction = extract_with_model(text, None, gazetteer, lexicon, title="新石器完成逾6亿美元D轮融资")
    names = {(r.provider.name, r.receiver.name) for r in extraction.relations}
    assert not {p for p in names if "Neolix" in p[0] or ("StoneVenture" in p[0] and "磊石资本" in p[1])}
    assert any("朝希资本" == p[0] and "新石器" in p[1] for p in names)


def test_a_hub_signing_with_a_list_separately_or_jointly() -> None:
    """dev rt4d-011 ("分别与A、B…签署": the hub with each), rtx-005 ("与A、B…共同签订": every pair) and
    rtm-073 ("还与A、B、C和D四家企业签约": each, the four no pair of their own)."""
    from etl.structures import read_hub

    patterns = load_patterns()
    separately = "会上,省委网信办分别与湖北电信、湖北移动和新华网三家企业签署了战略合作框架协议"
    found = read_hub(separately, names_of(separately, ("省委网信办", "government"), ("湖北电信", "firm"),
                                          ("湖北移动", "firm"), ("新华网", "unknown")), patterns)
    assert found is not None and found.anchor == 0
    assert {(link.provider, link.receiver) for link in found.links} == {(0, 1), (0, 2), (0, 3)}
    jointly = "推介会上,燧原科技与庆阳市人民政府、弘信电子、美图公司共同签订了《共建东数西算算力网络和系统战略合作框架协议》"
    found = read_hub(jointly, names_of(jointly, ("燧原科技", "firm"), ("庆阳市人民政府", "government"),
                                       ("弘信电子", "firm"), ("美图公司", "firm")), patterns)
    assert found is not None
    assert {frozenset((link.provider, link.receiver)) for link in found.links} == {
        frozenset(p) for p in itertools.combinations(range(4), 2)}
    assert {link.kind for link in found.links} == {"strategic_agreement"}
    four = "签约现场,无锡技师学院还与无锡嘉环科技股份有限公司、无锡酉云科技有限公司和无锡新因素信息科技有限公司三家企业签约"
    found = read_hub(four, names_of(four, ("无锡技师学院", "university"), ("无锡嘉环科技股份有限公司", "firm"),
                                    ("无锡酉云科技有限公司", "firm"), ("无锡新因素信息科技有限公司", "firm")), patterns)
    assert found is not None and {(link.provider, link.receiver) for link in found.links} == {(0, 1), (0, 2), (0, 3)}
    lab = "润达医疗近期已分别与哈尔滨医科大学附属第四医院和佳木斯大学附属第一医院签订合作协议,共建精准检验实验室"
    found = read_hub(lab, names_of(lab, ("润达医疗", "firm"), ("哈尔滨医科大学附属第四医院", "hospital"),
                                   ("佳木斯大学附属第一医院", "hospital")), patterns)
    assert found is not None and {link.kind for link in found.links} == {"strategic_agreement", "joint_lab"}
    assert read_hub("百度与腾讯、阿里巴巴都在布局大模型", names_of("百度与腾讯、阿里巴巴都在布局大模型", ("百度", "firm"),
                                                      ("腾讯", "firm"), ("阿里巴巴", "firm")), patterns) is None


def test_a_hub_and_its_list_building_one_thing_jointly() -> None:
    """dev rtd-020: "瑞金医院当天与A、B、C在上海共同发起成立医疗人工智能联盟" signs nothing: the hub and the list
    found the alliance together, every pair, of the kind of the thing built only (ANNOTATION.md: N parties
    jointly building one thing); dev rt5g-028: the list may be described after 等 before the verb."""
    from etl.structures import read_cobuild, read_hub

    patterns = load_patterns()
    hub = "瑞金医院当天与北京协和医院、北京医院、四川大学华西医院在上海共同发起成立医疗人工智能联盟,推动数据共享"
    found = read_hub(hub, names_of(hub, ("瑞金医院", "hospital"), ("北京协和医院", "hospital"), ("北京医院", "hospital"),
                                   ("四川大学华西医院", "hospital")), patterns)
    assert found is not None
    assert {frozenset((link.provider, link.receiver)) for link in found.links} == {
        frozenset(p) for p in itertools.combinations(range(4), 2)}
    assert {link.kind for link in found.links} == {"alliance_membership"}
    described = "联盟由广州无线电集团、华为、TCL集团和华南理工大学等人工智能领域的企业、高校及服务机构共同发起"
    found = read_cobuild(described, names_of(described, ("广州无线电集团", "firm"), ("华为", "firm"), ("TCL集团", "firm"),
                                             ("华南理工大学", "university")), patterns)
    assert found is not None and len(found.links) == 6
    assert {link.kind for link in found.links} == {"alliance_membership"}
    # a description that is a clause of its own ends the list: "…等企业,并于次年共同发起" stays unread
    clause = "广州无线电集团、华为和TCL集团等企业,于次年共同发起成立联盟"
    assert read_cobuild(clause, names_of(clause, ("广州无线电集团", "firm"), ("华为", "firm"), ("TCL集团", "firm")),
                        patterns) is None


def test_a_tender_headline_names_the_buyer_of_the_shares_listed_in_the_text() -> None:
    """dev rtx-050: "按金额算, 浪潮信息拿下最大份额, 其后依次是中兴通讯、新华三…" names no 中标; the headline
    "中国移动PC服务器集采…中标候选人公示" names the buyer."""
    from etl.structures import title_buyer

    title = "中国移动PC服务器集采第二批次中标候选人公示"
    assert title_buyer(title, names_of(title, ("中国移动", "firm"))) == 0
    assert title_buyer("中国移动发布年报", names_of("中国移动发布年报", ("中国移动", "firm"))) is None
    sentence = "按金额算,浪潮信息拿下最大份额,约14.1亿元,其后依次是中兴通讯、新华三和曙光信息等"
    names = [Name(i + 1, n.start, n.end, n.kind) for i, n in enumerate(names_of(
        sentence, ("浪潮信息", "firm"), ("中兴通讯", "unknown"), ("新华三", "unknown"), ("曙光信息", "firm")))]
    found = read_structures([(sentence, names)], buyer_hint=0)[0]
    assert found is not None and {(link.provider, link.receiver, link.kind) for link in found.links} == {
        (i, 0, "bid_award") for i in (1, 2, 3, 4)}
    assert read_structures([(sentence, names)])[0] is None  # no buyer known: no tender


def test_english_hub_with_the_verb_before_the_list(readers) -> None:
    """dev rt7p-018: "signing separate memoranda of understanding with three local organisations: A (a), B (b)
    and C (c)": the hub with each; a bracketed short name is the same organisation, never its partner."""
    gazetteer, lexicon = readers
    text = ("SenseTime has entered Singapore by signing separate memoranda of understanding with three local "
            "organisations: Nanyang Technological University (NTU), the National Supercomputing Centre of Singapore "
            "(NSCC) and Singapore Telecommunications Limited (Singtel).")
    extraction = extract_with_model(text, None, gazetteer, lexicon)
    pairs = {frozenset((r.provider.name, r.receiver.name)) for r in extraction.relations if r.status == "new"}
    partners = {next(iter(p - {"SenseTime"})) for p in pairs if "SenseTime" in p}
    assert {"Nanyang Technological University", "National Supercomputing Centre of Singapore",
            "Singapore Telecommunications Limited"} <= {n.removeprefix("the ") for n in partners}
    assert not [p for p in pairs if "SenseTime" not in p]  # no pair inside the list, none with an alias


def test_alliance_members_listed_after_a_members_cue() -> None:
    """dev rtb-023: "its members include A, B, C" and "an alliance … groups … with GPU makers including A, B, C
    and D": every pair of one list, never across the two lists; "including" alone needs an alliance."""
    from etl.structures import read_members

    patterns = load_patterns()
    first = ("One of them, the Model-Chip Ecosystem Innovation Alliance, groups large language model developers "
             "with GPU makers including Huawei, Biren, Moore Threads and Enflame, all of which face US sanctions.")
    names = names_of(first, ("Model-Chip Ecosystem Innovation Alliance", "alliance"), ("Huawei", "unknown"),
                     ("Biren", "unknown"), ("Moore Threads", "unknown"), ("Enflame", "unknown"))
    found = read_members(first, names, patterns)
    assert found is not None
    assert {frozenset((link.provider, link.receiver)) for link in found.links} == {
        frozenset(p) for p in itertools.combinations(range(1, 5), 2)}
    assert {link.kind for link in found.links} == {"alliance_membership"}
    second = "Its members include SenseTime, StepFun, MiniMax and Metax."
    assert read_members(second, names_of(second, ("SenseTime", "unknown"), ("StepFun", "unknown"),
                                         ("MiniMax", "unknown"), ("Metax", "unknown")), patterns) is not None
    plain = "The chips are sold to carmakers including BYD, Geely and Chery."
    assert read_members(plain, names_of(plain, ("BYD", "unknown"), ("Geely", "unknown"), ("Chery", "unknown")),
                        patterns) is None
    assert triggered("its members include SenseTime, StepFun, MiniMax and Metax.")


def test_alliance_founders_and_council_members_before_or_after_their_cue() -> None:
    """Members named by other words than 成员 ("发起单位包括", "理事单位有", "founding members are") and a
    list before its cue ("A、B、C等12家单位成为联盟首批成员单位", "A, B and C became founding members"):
    every pair; one firm joining an alliance is no list; a list of customers is none."""
    from etl.structures import read_members

    patterns = load_patterns()
    cases = [
        ("联盟发起单位包括华为、腾讯、百度和科大讯飞。", ("华为", "腾讯", "百度", "科大讯飞")),
        ("首批理事单位有华为、腾讯和百度。", ("华为", "腾讯", "百度")),
        ("华为、腾讯、百度等12家单位成为联盟首批成员单位。", ("华为", "腾讯", "百度")),
        ("華為、騰訊與百度共同當選聯盟理事單位。", ("華為", "騰訊", "百度")),
        ("Its founding members are SenseTime, StepFun and MiniMax.", ("SenseTime", "StepFun", "MiniMax")),
        ("SenseTime, StepFun and MiniMax became founding members of the alliance.", ("SenseTime", "StepFun", "MiniMax")),
    ]
    for sentence, listed in cases:
        text = normalise(sentence).text
        names = names_of(text, *((normalise(n).text, "unknown") for n in listed))
        found = read_members(text, names, patterns)
        assert found is not None, sentence
        assert {frozenset((link.provider, link.receiver)) for link in found.links} == {
            frozenset(p) for p in itertools.combinations(range(len(listed)), 2)}, sentence
        assert triggered(text), sentence
    one = "华为成为联盟首批成员单位。"
    assert read_members(one, names_of(one, ("华为", "unknown")), patterns) is None
    customers = "公司客户包括比亚迪、吉利和奇瑞。"
    assert read_members(customers, names_of(customers, ("比亚迪", "unknown"), ("吉利", "unknown"), ("奇瑞", "unknown")),
                        patterns) is None


def test_names_in_a_book_title_are_no_winners() -> None:
    """dev rtx-032: "长三角" and "EPCO" inside 《…中标候选人公示》 are part of the notice's title."""
    from etl.structures import in_book_title

    sentence = "最新公示的《中国移动长三角数据中心EPCO框架采购项目_中标候选人公示》显示,中兴通讯牵头中标"
    names = names_of(sentence, ("中国移动", "firm"), ("长三角", "unknown"), ("EPCO", "unknown"), ("中兴通讯", "firm"))
    assert [in_book_title(sentence, n) for n in names] == [True, True, True, False]
    found = read_tender(sentence, names, load_patterns(), buyer_hint=0)
    assert found is not None and {(link.provider, link.receiver) for link in found.links} == {(3, 0)}


def test_a_winner_before_its_purchase_is_not_the_buyer() -> None:
    """dev rtx-025: "佳都科技(600728)入围长沙市轨道交通6号线…采购与集成服务项目中标候选人": 佳都科技 won; a
    trading centre where the result is published bids for nothing."""
    from etl.structures import buyer_name

    patterns = load_patterns()
    sentence = "称佳都科技(600728)入围长沙市轨道交通6号线通信子系统采购与集成服务项目中标候选人"
    assert buyer_name(sentence, names_of(sentence, ("佳都科技", "firm")), patterns) is None
    sentence = "采购人为长沙市轨道交通集团有限公司,由广东华之源信息工程有限公司中标,详情可查长沙公共资源交易中心"
    names = names_of(sentence, ("长沙市轨道交通集团有限公司", "firm"), ("广东华之源信息工程有限公司", "firm"),
                     ("长沙公共资源交易中心", "research"))
    found = read_tender(sentence, names, patterns)
    assert found is not None and {(link.provider, link.receiver) for link in found.links} == {(1, 0)}


def test_items_of_a_list_of_earlier_rounds_are_historical(readers) -> None:
    """dev rtm-068: "此前公开过三次融资:" opens a list whose items the semicolons split into sentences;
    the rounds in every item are history beside the news (the new round of the first sentence)."""
    text = ("近日,面壁智能宣布完成数亿元新融资,由洪泰基金、国中资本和茅台基金联合投资。"
            "面壁智能成立于2022年8月,此前公开过三次融资:2023年4月天使轮由知乎领投、智谱跟投;"
            "2024年4月数亿元融资由春华创投领投,清科创投跟投;"
            "2024年12月又一轮融资由龙芯创投、鼎晖百孚联合领投。面壁与股东智谱同出清华系。")
    bounds = sentences(text)
    listed = [text[a:b] for a, b in sorted(history_lists(text, bounds))]
    assert listed == ["2024年4月数亿元融资由春华创投领投,清科创投跟投;", "2024年12月又一轮融资由龙芯创投、鼎晖百孚联合领投。"]
    gazetteer, lexicon = readers
    extraction = extract_with_model(text, dt.date(2025, 3, 1), gazetteer, lexicon, title="面壁智能完成数亿元新融资")
    status = {(r.provider.name, r.receiver.name): (r.status, r.year) for r in extraction.relations}
    assert status.get(("春华创投", "面壁智能")) == ("historical", 2024)
    assert status.get(("龙芯创投", "面壁智能")) == ("historical", 2024)
    assert status[("洪泰基金", "面壁智能")][0] == "new"
    # a colon without a history cue opens no such list
    plain = "本轮融资的投资方如下:A轮由甲领投;B轮由乙领投。"
    assert not history_lists(plain, sentences(plain))
    # ... nor a history cue without a colon after it
    plain = "双方此前已在智慧城市领域合作;今年3月又签署了战略合作协议。"
    assert not history_lists(plain, sentences(plain))


def test_a_roles_patterns_joined_match_where_one_of_them_does() -> None:
    """``Patterns.any`` searches a role's patterns as one alternation: the same answer as one by one."""
    import re

    from etl.structures import _joined, load_patterns

    patterns = load_patterns()
    sentences = ["A公司领投，B资本跟投，C公司完成亿元B轮融资。", "某市公共资源交易中心发布中标结果公告，D公司为第一中标候选人。",
                 "E大学、F公司和G研究院共建联合实验室。", "H Corp raised $20 million led by I Capital.", "今天天气很好。"]
    for structure, roles in patterns.groups.items():
        for role, value in roles.items():
            if isinstance(value, tuple) and value and isinstance(value[0], re.Pattern):
                for text in sentences:
                    assert patterns.any(structure, role, text) == any(p.search(text) for p in value)
    assert _joined((re.compile("(?P<name>甲)"), re.compile("乙"))) is None  # named groups: one by one
    assert _joined((re.compile(r"(甲)\1"), re.compile("乙"))) is None  # a back-reference: one by one
    assert _joined((re.compile("甲", re.I), re.compile("乙"))) is None  # different flags
    assert _joined((re.compile("(甲)?(?(1)乙|丙)"), re.compile("丁"))) is None  # a conditional on a group
    assert _joined((re.compile("乙"), re.compile("(?i)甲"))) is None  # a global flag cannot be joined
    assert _joined((re.compile("甲"), re.compile("乙"))).search("一乙")  # type: ignore[union-attr]
