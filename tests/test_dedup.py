"""Exact and near-duplicate documents: MinHash + LSH clusters, boilerplate, incremental updates."""

from __future__ import annotations

import dataclasses
import hashlib

import opencc
from sqlalchemy import select

from db.models import Document, DocumentFingerprint
from etl.dedup import (
    SignatureSet,
    assign_clusters,
    cluster_texts,
    clusters_of,
    jaccard,
    load_config,
    normalise_text,
    shingles,
    signature,
)

ORIGINAL = (
    "2023年11月21日，华为技术有限公司与深圳市人工智能研究院在深圳签署战略合作协议。根据协议，华为将向研究院"
    "提供昇腾AI计算平台与云服务，双方将在智慧城市、智能制造等领域开展联合研发，共同推动人工智能技术在产业中的"
    "落地应用。研究院院长表示，此次合作将加速科研成果转化。华为云相关负责人表示，将持续为合作伙伴提供全栈AI能力。"
)
# A syndicated copy: another intro, a few words changed, the last sentence dropped.
REWRITTEN = (
    "据华为消息，2023年11月21日，华为技术有限公司与深圳市人工智能研究院在深圳正式签署战略合作协议。根据协议，"
    "华为将向研究院提供昇腾AI计算平台及云服务，双方将在智慧城市、智能制造等领域开展联合研发，共同推动人工智能"
    "技术在产业中的落地应用。研究院院长表示，本次合作将加速科研成果转化。"
)
# Another copy, rewritten differently (title line added, one phrase reworded).
REWRITTEN_2 = (
    "华为与深圳市人工智能研究院达成战略合作\n2023年11月21日，华为技术有限公司与深圳市人工智能研究院在深圳签署"
    "战略合作协议。根据协议，华为将向研究院提供昇腾AI计算平台与云服务，双方将在智慧城市、智能制造等领域开展联合"
    "研发，推动人工智能技术在产业中的落地应用。华为云相关负责人表示，将持续为合作伙伴提供全栈AI能力。"
)
UNRELATED = (
    "科大讯飞股份有限公司与安徽省立医院于2023年5月签署合作协议，讯飞将为医院部署智慧医疗语音电子病历系统，"
    "提升门诊效率。双方还将共建医疗人工智能联合实验室，探索大模型在辅助诊断中的应用。医院负责人表示，合作将推动"
    "医疗服务数字化转型。"
)
TEMPLATE = (
    "本公司董事会及全体董事保证本公告内容不存在任何虚假记载、误导性陈述或者重大遗漏。一、协议签订的基本情况：{date}，"
    "{a}与{b}签署战略合作协议。二、对上市公司的影响：本次合作有利于公司拓展业务，预计对公司本年度经营业绩不构成"
    "重大影响。三、风险提示：本协议为框架性协议，具体合作内容以后续签订的正式合同为准，敬请广大投资者注意投资风险。"
    "特此公告。"
)
PARTIES = [("北京盛翔科技股份有限公司", "中国联合网络通信有限公司"), ("上海瀚海智能股份有限公司", "招商银行股份有限公司"),
           ("杭州远景数据股份有限公司", "浙江大学"), ("深圳凯泰软件股份有限公司", "腾讯云计算（北京）有限责任公司"),
           ("成都卓越信息股份有限公司", "四川省人民医院"), ("南京启明电子股份有限公司", "东南大学"),
           ("武汉天宇通信股份有限公司", "中国移动通信集团湖北有限公司"), ("苏州博安机器人股份有限公司", "苏州市人民政府")]


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_normalised_text_and_shingles():
    assert normalise_text("華為 ＡＩ，平台！") == "华为ai平台"
    assert shingles("abcdef", 4) == {"abcd", "bcde", "cdef"}
    assert shingles("ab", 4) == {"ab"} and shingles("", 4) == set()
    assert signature("太短了") is None  # below min_chars: matched by hash only
    traditional = opencc.OpenCC("s2t").convert(ORIGINAL)
    assert jaccard(signature(ORIGINAL), signature(traditional)) == 1.0


def test_rewritten_copies_cluster_and_unrelated_text_does_not():
    a, b, c, d = (signature(t) for t in (ORIGINAL, REWRITTEN, REWRITTEN_2, UNRELATED))
    cfg = load_config()
    assert jaccard(a, b) >= cfg.threshold and jaccard(a, c) >= cfg.threshold
    assert jaccard(a, d) < 0.2 and jaccard(b, d) < 0.2
    out = cluster_texts([(1, sha(ORIGINAL), ORIGINAL), (2, sha(UNRELATED), UNRELATED),
                         (3, sha(REWRITTEN), REWRITTEN), (4, sha(REWRITTEN_2), REWRITTEN_2),
                         (5, sha(ORIGINAL), ORIGINAL)])
    assert {d: (a.cluster_id, a.match) for d, a in out.items()} == {
        1: (1, "exact"), 2: (2, "self"), 3: (1, "near"), 4: (1, "near"), 5: (1, "exact")}
    assert 0.5 <= out[3].similarity < 1.0


def test_template_announcements_are_not_duplicates():
    """Boilerplate shared by a template family does not make its documents duplicates."""
    texts = [TEMPLATE.format(date=f"2023年{i + 1}月{i + 3}日", a=a, b=b) for i, (a, b) in enumerate(PARTIES)]
    sigs = [signature(t) for t in texts]
    assert jaccard(sigs[0], sigs[1]) >= 0.6  # plain MinHash would call them copies
    cfg = dataclasses.replace(load_config(), common_min_df=5)
    out = cluster_texts([(i + 1, sha(t), t) for i, t in enumerate(texts)], cfg)
    assert all(a.match == "self" for a in out.values())
    # ... while a copy of one announcement still is one
    copy = texts[0].replace("特此公告。", "特此公告。董事会") + "二〇二三年"
    out = cluster_texts([(i + 1, sha(t), t) for i, t in enumerate([*texts, copy])], cfg)
    assert out[len(texts) + 1].cluster_id == 1 and out[len(texts) + 1].match == "near"
    sigset = SignatureSet({i: s for i, s in enumerate(sigs)}, cfg)
    assert sigset.common.mean() > 0.5
    assert sigset.near_pairs(range(len(sigs))) == []


def _add(session, n, text):
    doc = Document(canonical_url=f"https://example.test/{n}", url=f"https://example.test/{n}", content_sha256=sha(text),
                   text=text)
    session.add(doc)
    session.flush()
    return doc.id


def _clusters(session):
    return {fp.document_id: fp.cluster_id for fp in session.scalars(select(DocumentFingerprint))}


def test_assign_clusters_incremental(session):
    original = _add(session, 1, ORIGINAL)
    unrelated = _add(session, 2, UNRELATED)
    empty_1, empty_2 = _add(session, 3, ""), _add(session, 4, "")
    exact = _add(session, 5, ORIGINAL)
    session.commit()
    report = assign_clusters(session)
    session.commit()
    assert (report.fingerprinted, report.exact, report.near, report.alone) == (5, 2, 0, 3)
    assert _clusters(session) == {original: original, unrelated: unrelated, empty_1: empty_1, empty_2: empty_2,
                                  exact: original}
    fp = session.get(DocumentFingerprint, original)
    assert fp.match == "exact" and len(fp.minhash) == 4 * load_config().num_perm and fp.params == load_config().params

    again = assign_clusters(session)  # nothing new: nothing to do
    assert (again.fingerprinted, again.unchanged) == (0, 5)

    rewritten = _add(session, 6, REWRITTEN)  # a new syndicated copy joins the cluster
    session.commit()
    report = assign_clusters(session)
    session.commit()
    assert (report.fingerprinted, report.near) == (1, 1)
    assert _clusters(session)[rewritten] == original
    assert session.get(DocumentFingerprint, rewritten).match == "near"
    assert clusters_of(session) == {original: sorted([original, exact, rewritten])}

    # the original page changes completely: it leaves; its copies stay together
    doc = session.get(Document, original)
    doc.text, doc.content_sha256 = UNRELATED + "（更新）", sha(UNRELATED + "（更新）")
    session.commit()
    report = assign_clusters(session)
    session.commit()
    assert report.fingerprinted == 1 and report.clusters_reformed == 1
    clusters = _clusters(session)
    assert clusters[exact] == clusters[rewritten] == exact
    assert clusters[original] == clusters[unrelated] == original  # now a near copy of the unrelated text

    # rebuilding from scratch gives the same clusters
    before = _clusters(session)
    assign_clusters(session, rebuild=True)
    session.commit()
    assert _clusters(session) == before



def test_signatures_made_ahead_stand_for_the_texts(session, monkeypatch):
    """The extraction workers' signatures (etl.ahead.Precomputed.minhash) give the clustering the same
    rows as hashing the texts; a signature of an older text of the document is not used."""
    import etl.dedup as dedup_module

    ids = [_add(session, n, text) for n, text in enumerate([ORIGINAL, REWRITTEN, UNRELATED, REWRITTEN_2, ""])]
    session.commit()
    cfg = load_config()
    given = {ids[0]: (sha(ORIGINAL), signature(ORIGINAL, cfg)), ids[1]: (sha(REWRITTEN), signature(REWRITTEN, cfg)),
             ids[2]: (sha("an older text"), signature(REWRITTEN, cfg))}  # stale: the document changed since
    read: list[int] = []
    texts = dedup_module._texts
    monkeypatch.setattr(dedup_module, "_texts", lambda s, todo: (read.extend(todo), texts(s, todo))[1])
    report = assign_clusters(session, ids, signatures=given)
    session.commit()
    assert sorted(read) == sorted([ids[2], ids[3], ids[4]])  # only the texts without a current signature
    rows = {fp.document_id: (fp.cluster_id, fp.match, fp.similarity, bytes(fp.minhash or b""))
            for fp in session.scalars(select(DocumentFingerprint))}
    assert _clusters(session)[ids[1]] == _clusters(session)[ids[0]] != _clusters(session)[ids[2]]

    assign_clusters(session, rebuild=True)  # every text hashed here
    session.commit()
    assert {fp.document_id: (fp.cluster_id, fp.match, fp.similarity, bytes(fp.minhash or b""))
            for fp in session.scalars(select(DocumentFingerprint))} == rows
    assert report.fingerprinted == 5
