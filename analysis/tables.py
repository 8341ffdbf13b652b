"""Every table and figure of the report, built from an edition's networks and the loaded data.

One builder per group of the report — Table 1 (:func:`table1`), Tables 2/3 (:func:`hub_tables`),
Fig. 14 (:func:`degree_tables`), Figs. 15-20 (:func:`category_tables`, :func:`industry_tables`),
Tables 6/7 (:func:`province_tables`), Figs. 1-12 (:func:`firm_tables`) and Fig. 13
(:func:`network_drawing_table`) — each returning :class:`~analysis.presentation.Table` objects
whose notes state the population. The statistics themselves are defined in
:mod:`analysis.measures`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from analysis.edition import YearResult
from analysis.loaders import FirmRows, OrgTable, ReportData, Taxonomy
from analysis.measures import (
    assignment_shares,
    degree_concentration,
    degree_distribution,
    drawing_layout,
    drawing_subgraph,
    power_law_fit,
    province_flows,
    top_nodes,
)
from analysis.network import YearEdges
from analysis.presentation import Chart, Column, Table, bucket_table, pct, rank_order, share_rows
from analysis.spec import ReportSpec
from db.models import TECH_LAYERS
from db.taxonomy import SECONDARY, SECTORS, TERTIARY

#: GB/T 4754-2017 section of manufacturing (制造业), whose divisions Fig. 20 ranks.
MANUFACTURING = "C"


# --------------------------------------------------------------------------- Table 1


def table1(networks: Mapping[int, YearResult], years: Sequence[int], window: int | None) -> Table:
    """表1 价值网络结构性统计指标: counts (:mod:`analysis.network`) and Gephi statistics (:mod:`analysis.metrics`)."""
    columns = [
        Column("year", "年份 (year)", "int"), Column("sample_nodes", "样本节点总数 (sample nodes)", "int"),
        Column("relation_nodes", "关系节点总数 (relation nodes)", "int"), Column("nodes", "节点总数 (nodes)", "int"),
        Column("edges", "总边数 (edges)", "int"), Column("avg_degree", "平均度 (avg degree)", "gephi"),
        Column("diameter", "网络直径 (diameter)", "int"),
        Column("avg_path_length", "平均路径长度 (avg path length)", "gephi"),
        Column("avg_clustering", "平均聚类系数 (avg clustering)", "gephi"),
    ]
    rows = []
    for y in years:
        c, s = networks[y].counts, networks[y].stats
        rows.append([y, c.sample_nodes, c.relation_nodes, c.nodes, c.edges, c.avg_degree, s.diameter,
                     s.avg_path_length, s.avg_clustering])
    scope = f"rolling {window}-year window" if window else "cumulative"
    notes = [f"各年有向价值网络（{'滚动' + str(window) + '年窗口' if window else '累计'}）：边为唯一的“技术赋能方→技术输入方”有序对；平均度 = 边数/节点数；网络直径与平均路径长度按可达有序节点对计算；平均聚类系数为 Gephi 0.9.2 有向聚类系数的全节点平均；数值按 Gephi 0.9.2 的显示方式保留三位小数（四舍六入五成双）。\n"
             f"Directed value network per year ({scope}): edges = unique provider -> receiver pairs; "
             "avg degree = edges / nodes; diameter and avg path length over reachable ordered pairs; "
             "avg clustering = Gephi 0.9.2 directed clustering averaged over all nodes. "
             "Values shown with 3 decimals rounded half-even, as Gephi 0.9.2 displays them."]
    return Table("table1", f"表1 {years[0]}-{years[-1]}年价值网络结构性统计指标的动态变化",
                 "Table 1 Structure of the value network per year", columns, rows, notes)


#: The extractor's figures shown in the data-quality table, in order, with their Chinese labels.
QUALITY_FIGURES = (
    ("relation F1 (new)", "新合作关系 F1"), ("relation P (new)", "新合作关系 精确率"),
    ("relation R (new)", "新合作关系 召回率"), ("relation F1 (all)", "全部关系 F1"),
    ("direction accuracy", "方向准确率"), ("is_cooperation accuracy", "合作文档判别准确率"),
    ("category micro-F1", "技术类别 micro-F1"), ("domain micro-F1", "应用领域 micro-F1"),
)
#: The same test part through the whole ETL (``quality['through_etl']``, :mod:`etl.corpus_etl`): what
#: an edition is built from. Figures over all relations only: a loaded event keeps no per-document status.
ETL_QUALITY_FIGURES = (
    ("relation F1 (all)", "全流程 全部关系 F1"), ("pair F1 (all)", "全流程 合作对 F1（不计方向）"),
    ("direction accuracy", "全流程 方向准确率"), ("is_cooperation accuracy", "全流程 合作文档判别准确率"),
    ("category micro-F1", "全流程 技术类别 micro-F1"), ("domain micro-F1", "全流程 应用领域 micro-F1"),
)

#: The breakdown of the extractor's relation F1 (``quality['breakdown']``, :func:`etl.corpus.breakdown`):
#: facet -> (Chinese, English) heading. Values are written as stored (kind codes as in the exported
#: events' ``kind`` column; genre and script as in the corpus).
BREAKDOWN_LABELS = {"kind": ("按合作类型", "by kind"), "genre": ("按来源类型", "by genre"), "lang": ("按文字", "by script")}


def data_quality_table(data: ReportData) -> Table:
    """表8 数据质量: the measured error of every extractor version behind the edition's mentions.

    For each version (most mentions first): its mention count and the figures measured on the frozen
    test part of the real-text corpus (tests/data/realtext; ``benchmarks/bench_etl.py``), beside the
    rule extractor alone as the baseline; "not measured" when that version was never scored.
    Definitions: relation P/R/F1 with both parties and the direction right (:mod:`etl.evaluate`),
    over all relations and over ``new`` ones; direction accuracy over matched pairs; is_cooperation
    accuracy over documents; micro-F1 over document label sets. Rows "through the ETL" score the same
    documents loaded by the whole ETL, each document's events read back (:mod:`etl.corpus_etl`): what
    the edition's network is built from; pair F1 counts a pair whatever its direction.
    """
    columns = [Column("extractor_version", "抽取器版本 (extractor version)"),
               Column("mentions", "证据条数 (mentions)", "int"), Column("figure", "指标 (figure)"),
               Column("value", "实测值 (measured)", "float"), Column("rules_only", "仅规则基线 (rules only)", "float")]
    rows: list[list[Any]] = []
    notes = ["关系抽取器在真实公告上的实测误差：真实文本语料的冻结测试部分（按 ANNOTATION.md 标注的真实公开网页改写；任何规则、特征或阈值均未在其上调整）。本版的每一条边均由下列抽取器版本抽取。\n"
             "Measured error of the relation extractor on real announcements: the frozen test part of the "
             "real-text corpus (paraphrases of real public pages labelled per ANNOTATION.md; no rule, feature "
             "or threshold is tuned on it). Every edge of this edition was extracted by the versions listed.",
             "“全流程”各行：同一批文档经完整 ETL 入库后按文档读回其合作事件再评分，即本版网络所依据的数据；合作对 F1 不计方向。\n"
             "Rows “through the ETL”: the same documents loaded by the whole ETL and each document's events read "
             "back and scored: what this edition's network is built from; pair F1 counts a pair whatever its direction.",
             "“按合作类型/来源类型/文字”各行：同一测试部分的全部关系 F1 分项；按类型时只比较该类型的标注与抽取关系（类型判错的关系在两类中各计一次），可知总体数字对哪些关系成立。\n"
             "Rows “by kind / genre / script”: the same test part's relation F1 (all) broken down; by kind, only "
             "gold and extracted relations of that kind are compared (a relation given another kind counts in "
             "both), so a reader knows which relations the overall figure holds for."]
    for use in data.extractors:
        if use.quality is None:
            rows.append([use.version, use.mentions, "not measured", None, None])
            continue
        figures, baseline = use.quality.get("figures", {}), use.quality.get("rules_only", {})
        for key, label in QUALITY_FIGURES:
            rows.append([use.version, use.mentions, f"{label} ({key})", figures.get(key), baseline.get(key)])
        through = use.quality.get("through_etl") or {}
        rows += [[use.version, use.mentions, f"{label} ({key}, through the ETL)", through[key], None]
                 for key, label in ETL_QUALITY_FIGURES if key in through]
        parts = use.quality.get("breakdown") or {}
        for facet, (zh, en) in BREAKDOWN_LABELS.items():
            cells = sorted((parts.get(facet) or {}).items(), key=lambda kv: (-(kv[1]["tp"] + kv[1]["fn"]), kv[0]))
            rows += [[use.version, use.mentions,
                      f"全部关系 F1，{zh}：{value} (relation F1 (all), {en}: {value}; "
                      f"{c['tp'] + c['fn']} gold, {c['tp'] + c['fp']} found)", c.get("f1"), None]
                     for value, c in cells]
        notes.append(f"{use.version}：{use.quality.get('measured_on')} 在 {use.quality.get('corpus')}（{use.quality.get('documents')} 篇文档）上实测。\n"
                     f"{use.version}: measured {use.quality.get('measured_on')} on {use.quality.get('corpus')}, "
                     f"{use.quality.get('documents')} documents.")
    return Table("table8_data_quality", "表8 数据质量：关系抽取的实测误差",
                 "Table 8 Data quality: the relation extractor's measured error on real text", columns, rows, notes)


# --------------------------------------------------------------------------- Tables 2/3, Fig. 14


def hub_tables(edges: YearEdges, orgs: OrgTable, spec: ReportSpec) -> tuple[dict[str, Table], list[int]]:
    """表2/表3: the top-k sample / relation nodes by degree centrality on the latest network.

    Degree centrality = in-degree + out-degree (连入度 + 连出度) on the unique-pair graph of year
    E-1. Ranked by degree descending, then display name, then id (:func:`top_nodes`). Names:
    the display name (short alias, :func:`display_names`) and the full name.
    """
    k = int(spec.top["nodes"])
    in_deg, out_deg = edges.degrees()
    rows_idx = orgs.index(edges.nodes)
    labels = [orgs.display[i] for i in rows_idx]
    is_sample = orgs.is_sample[rows_idx]
    out: dict[str, Table] = {}
    hubs: list[int] = []
    for key, title, title_en, mask in (
        ("table2_top_sample_nodes", f"表2 度数中心度排名前{k}的样本企业",
         f"Table 2 Top {k} sample firms by degree centrality", is_sample),
        ("table3_top_relation_nodes", f"表3 关系节点度数 TOP{k}", f"Table 3 Top {k} relation nodes by degree",
         ~is_sample),
    ):
        pos = np.flatnonzero(mask)
        top = top_nodes(edges.nodes[pos], [labels[i] for i in pos], in_deg[pos], out_deg[pos], k)
        rows = []
        for rank, t in enumerate(top, 1):
            i = pos[t]
            hubs.append(int(edges.nodes[i]))
            rows.append([rank, labels[i], orgs.name[rows_idx[i]], int(in_deg[i]), int(out_deg[i]),
                         int(in_deg[i] + out_deg[i])])
        out[key] = Table(key, title, title_en, [
            Column("rank", "排名 (rank)", "int"), Column("name", "名称 (name)"), Column("full_name", "全称 (full name)"),
            Column("in_degree", "连入度 (in)", "int"), Column("out_degree", "连出度 (out)", "int"),
            Column("degree", "度数中心度 (degree)", "int")], rows,
            [f"{edges.year}年网络；度数中心度 = 连入度 + 连出度（按唯一有序对计）；并列时按度数降序、名称、编号排序。\n"
             f"Network of {edges.year}; degree centrality = in-degree + out-degree on unique pairs; "
             "ties: degree descending, then name, then id."])
    return out, hubs


#: Fig. 14's note when the power law cannot be fitted (the English note gives the reason).
NO_FIT_ZH = "幂律拟合不适用（节点或不同的度数太少）。"


def degree_tables(edges: YearEdges, spec: ReportSpec) -> dict[str, Table]:
    """图14: degree distribution (log-log) with a power-law fit and the degree concentration.

    Points: for every degree centrality k present, the share of nodes with degree k. Fit:
    :func:`power_law_fit`; where it is not applicable (a small network) the notes say so and why,
    and the fit table holds only the node count and the concentration. Concentration:
    :func:`degree_concentration` with the fraction in ``buckets.yml`` (report: 20% of nodes hold
    about 75% of all degree).
    """
    in_deg, out_deg = edges.degrees()
    degree = in_deg + out_deg
    fraction = float(spec.top["concentration_share"])
    fit, why_not = power_law_fit(degree)
    share = degree_concentration(degree, fraction)
    fit_rows: list[list[Any]] = [["nodes", edges.n_nodes], [f"top_{round(fraction * 100)}pct_degree_share", share]]
    if fit:
        fit_rows += [["alpha", fit.alpha], ["alpha_sigma", fit.sigma], ["xmin", fit.xmin], ["n_tail", fit.n_tail],
                     ["loglikelihood_ratio_R_vs_lognormal", fit.R], ["p_value", fit.p]]
    payload = {"alpha": fit.alpha, "xmin": fit.xmin, "R": fit.R, "p": fit.p} if fit else {}
    payload["concentration"] = share
    dist = Table("fig14_degree_distribution", "图14 价值网络度数中心度幂律分布特征图",
                 "Fig. 14 Degree distribution (log-log) with power-law fit",
                 [Column("degree", "度数中心度 k (degree)", "int"), Column("nodes", "节点数 (nodes)", "int"),
                  Column("share", "占比% P(k)", "pct")], degree_distribution(degree),
                 [f"{edges.year}年网络：度数中心度 = 连入度 + 连出度。\nNetwork of {edges.year}: degree centrality = in + out degree.",
                  f"度数最高的 {fraction:.0%} 节点拥有全网 {share:.2f}% 的连接度。{'' if fit else NO_FIT_ZH}\n"
                  f"Top {fraction:.0%} of nodes hold {share:.2f}% of all degree."
                  + (f" Power law (discrete MLE, powerlaw package): alpha = {fit.alpha:.3f} ± {fit.sigma:.3f}, "
                     f"xmin = {fit.xmin:g} ({fit.n_tail} nodes in the tail); vs lognormal: R = {fit.R:.3f}, "
                     f"p = {fit.p:.3f} (R > 0 favours the power law)." if fit
                     else f" Power-law fit not applicable: {why_not}.")],
                 Chart("loglog", "degree", ("share",), "P(k)", payload=payload))
    fit_table = Table("fig14_power_law_fit", "图14附表 幂律拟合参数与度数集中度", "Fig. 14 Power-law fit and degree concentration",
                      [Column("statistic", "统计量 (statistic)"), Column("value", "值 (value)", "float")], fit_rows,
                      ["alpha、xmin：Clauset-Shalizi-Newman（2009）离散最大似然估计；R：幂律相对对数正态分布的对数似然比，p：Vuong 检验（powerlaw 软件包，Alstott 等 2014）。\n"
                       "alpha, xmin: Clauset-Shalizi-Newman (2009) discrete maximum likelihood; R: log-likelihood "
                       "ratio power law vs lognormal, p: Vuong test (powerlaw package, Alstott et al. 2014)."]
                      + ([] if fit else [f"{NO_FIT_ZH}\nPower-law fit not applicable: {why_not}."]))
    return {dist.key: dist, fit_table.key: fit_table}


# --------------------------------------------------------------------------- Figs. 15-20


def category_tables(data: ReportData, edges: YearEdges, tax: Taxonomy) -> dict[str, Table]:
    """图15/图16: shares of technology categories / application domains (:func:`assignment_shares`)."""
    active = np.unique(edges.contrib_event)
    out = {}
    for key, title, title_en, pairs, labels in (
        ("fig15_tech_categories", "图15 技术类别的技术合作密度分布", "Fig. 15 Cooperation by technology category",
         data.tech_pairs, tax.tech),
        ("fig16_application_domains", "图16 人工智能技术合作关系的应用领域分布",
         "Fig. 16 Cooperation by application domain", data.domain_pairs, tax.domains),
    ):
        counts, total, missing = assignment_shares(active, pairs[0], pairs[1], len(labels))
        names = [n for _, n in labels]
        order = rank_order(names, counts.tolist(), list(range(len(names))))
        rows = [[names[i], int(counts[i]), pct(int(counts[i]), total)] for i in order]
        out[key] = Table(key, title, title_en, [Column("name", "类别 (category)"), Column("events", "合作事件 (events)", "int"),
                                                Column("share", "占比% (share)", "pct")], rows,
                         [f"单位：{edges.year}年网络中的 {active.size} 个合作事件；一个事件有多个类别时在每个类别中各计一次，占比的分母为 {total} 个（事件，类别）对；{missing} 个无类别的事件不计入。\n"
                          f"Unit: the {active.size} cooperation events of the network of {edges.year}, each with its "
                          f"categories; an event with several categories counts once in each; shares are over "
                          f"the {total} (event, category) assignments. {missing} events without a category are "
                          "left out. Ties: count, then name."],
                         Chart("barh", "name", ("share",), "占比 (%)"))
    return out


def industry_tables(edges: YearEdges, orgs: OrgTable, tax: Taxonomy, sector: np.ndarray,
                    section: list[str | None], sector_rows: list[list[Any]], spec: ReportSpec) -> dict[str, Table]:
    """图17-20: industry of the technology-receiving side (GB/T 4754-2017), unit = cooperation relations (edges).

    Fig. 17: per year, share of the year's edges in each sector of the receiver (:func:`sector_shares`).
    Figs. 18/19 (year E-1): among edges whose receiver is tertiary / secondary, share per
    GB/T 4754 section of the receiver. Fig. 20: among edges whose receiver has a division in
    section C (制造业), share per division, top 20.
    """
    recv = orgs.index(edges.receiver_ids())
    out: dict[str, Table] = {}
    out["fig17_sectors_by_year"] = Table(
        "fig17_sectors_by_year", f"图17 {sector_rows[0][0]}-{sector_rows[-1][0]}年人工智能技术合作关系在三次产业的分布",
        "Fig. 17 Cooperation relations by sector of the receiver, per year",
        [Column("year", "年份 (year)", "int"), *[Column(f"share_{i + 1}", f"{s}% ", "pct") for i, s in enumerate(SECTORS)],
         Column("relations", "关系数 (relations with known industry)", "int"),
         Column("unknown", "行业未知 (unknown industry)", "int")],
        sector_rows,
        ["单位：各年网络的边（唯一的技术赋能方→技术输入方有序对），按技术输入方所属三次产业（GB/T 4754-2017 行业大类，《三次产业划分规定》2018）统计；行业未知的输入方不计入。\n"
         "Unit: edges (unique provider -> receiver pairs) of each year's network, by the sector of the receiver "
         "(GB/T 4754-2017 division, 三次产业划分规定 2018); receivers of unknown industry are left out."],
        Chart("line", "year", tuple(f"share_{i + 1}" for i in range(3)), "占比 (%)",
              payload={"labels": list(SECTORS)}))
    for key, title, title_en, wanted in (
        ("fig18_tertiary_sections", "图18 人工智能技术合作关系第三产业分布", "Fig. 18 Tertiary sector by section",
         SECTORS.index(TERTIARY)),
        ("fig19_secondary_sections", "图19 人工智能技术合作关系第二产业分布", "Fig. 19 Secondary sector by section",
         SECTORS.index(SECONDARY)),
    ):
        counts = Counter(tax.sections[section[r]] for r in recv if sector[r] == wanted)
        out[key] = Table(key, title, title_en, [Column("section", "门类 (section)"), Column("relations", "关系数", "int"),
                                                Column("share", "占比% (share)", "pct")], share_rows(counts),
                         [f"单位：{edges.year}年网络中技术输入方属于{SECTORS[wanted]}的边；按输入方的 GB/T 4754-2017 门类计占比。\n"
                          f"Unit: edges of the network of {edges.year} whose receiver is in the "
                          f"{SECTORS[wanted]}; share per GB/T 4754-2017 section of the receiver."],
                         Chart("barh", "section", ("share",), "占比 (%)"))
    divisions = Counter(tax.divisions[orgs.division[r]][0] for r in recv
                        if orgs.division[r] and tax.divisions.get(orgs.division[r], ("", ""))[1] == MANUFACTURING)
    no_division = sum(1 for r in recv if section[r] == MANUFACTURING and not orgs.division[r])
    k = int(spec.top["manufacturing"])
    total = sum(divisions.values())
    out["fig20_manufacturing_divisions"] = Table(
        "fig20_manufacturing_divisions", f"图20 人工智能技术合作关系在制造业排名前{k}的行业",
        f"Fig. 20 Top {k} manufacturing divisions",
        [Column("division", "大类 (division)"), Column("relations", "关系数", "int"), Column("share", "占比% (share)", "pct")],
        share_rows(divisions, total=total)[:k],
        [f"单位：{edges.year}年网络中技术输入方属于制造业（C 门类）且有行业大类的边，N = {total}；按大类计占比，取前 {k} 位。"
         + (f"另有 {no_division} 条输入方属制造业但无大类的边不计入。" if no_division else "") + "\n"
         f"Unit: edges of the network of {edges.year} whose receiver has a GB/T 4754-2017 division in section C "
         f"(制造业), N = {total}; share per division, top {k}."
         + (f" {no_division} edges to manufacturing receivers without a division are left out." if no_division else "")],
        Chart("barh", "division", ("share",), "占比 (%)"))
    return out


def province_tables(edges: YearEdges, orgs: OrgTable, tax: Taxonomy, spec: ReportSpec) -> dict[str, Table]:
    """表6/表7: provinces of technology enabling (provider side) and technology input (receiver side), flows.

    Unit: edges of the network of year E-1. Table 6: share of the edges whose provider (技术赋能)
    / receiver (技术输入) is in a province, among edges whose provider / receiver province is
    known; top 20 each. Table 7: share of the edges per (provider province, receiver province)
    among edges with both known; top 20, marked 省内 (intra-provincial: same province) or 跨省.
    Reference: the report's section 三 (Tables 6 and 7); provinces by GB/T 2260 (db/data/provinces.yml).
    """
    src = [orgs.province[i] for i in orgs.index(edges.provider_ids())]
    dst = [orgs.province[i] for i in orgs.index(edges.receiver_ids())]
    name = tax.provinces
    k = int(spec.top["provinces"])
    enabling = Counter(name[p] for p in src if p)
    inputs = Counter(name[p] for p in dst if p)
    e_rows, i_rows = share_rows(enabling)[:k], share_rows(inputs)[:k]
    rows = []
    for rank in range(max(len(e_rows), len(i_rows))):
        e = e_rows[rank] if rank < len(e_rows) else [None, None, None]  # blank, not a padded 0
        i = i_rows[rank] if rank < len(i_rows) else [None, None, None]
        rows.append([rank + 1, e[0], e[1], e[2], i[0], i[1], i[2]])
    core = spec.core_provinces
    e_total, i_total = sum(enabling.values()), sum(inputs.values())
    core_e, core_i = pct(sum(enabling[p] for p in core), e_total), pct(sum(inputs[p] for p in core), i_total)
    t6 = Table("table6_provinces", f"表6 技术合作关系占比排名前{k}的省级行政区",
               f"Table 6 Top {k} provinces by technology enabling and technology input",
               [Column("rank", "排名 (rank)", "int"), Column("enabling_province", "技术赋能省份 (provider)"),
                Column("enabling_relations", "技术赋能关系数", "int"), Column("enabling_share", "技术赋能占比%", "pct"),
                Column("input_province", "技术输入省份 (receiver)"), Column("input_relations", "技术输入关系数", "int"),
                Column("input_share", "技术输入占比%", "pct")], rows,
               [f"单位：{edges.year}年网络的边。技术赋能 = 技术提供方所在省份（N = {e_total}）；技术输入 = 技术接受方所在省份（N = {i_total}）；省份未知的不计入。\n"
                f"Unit: edges of the network of {edges.year}. Enabling = provider's province (N = {e_total}); "
                f"input = receiver's province (N = {i_total}); unknown provinces left out.",
                f"四大核心节点（{'、'.join(core)}）：技术赋能合计 {core_e:.2f}%，技术输入合计 {core_i:.2f}%。\n"
                f"Core four ({'、'.join(core)}): enabling {core_e:.2f}%, input {core_i:.2f}%."])
    flows = province_flows(src, dst)
    f_total = sum(flows.values())
    labels = [f"{name[a]}-{name[b]}" for a, b in flows]
    keys = list(flows)
    order = rank_order(labels, [flows[key] for key in keys])[: int(spec.top["flows"])]
    f_rows = [[n + 1, name[keys[i][0]], name[keys[i][1]], flows[keys[i]], pct(flows[keys[i]], f_total),
               "省内技术流动" if keys[i][0] == keys[i][1] else "跨省技术流动"] for n, i in enumerate(order)]
    t7 = Table("table7_flows", f"表7 技术合作流向排名前{int(spec.top['flows'])}的省级行政区",
               "Table 7 Top province-to-province technology flows",
               [Column("rank", "排名 (rank)", "int"), Column("from_province", "技术赋能地 (provider)"),
                Column("to_province", "技术输入地 (receiver)"), Column("relations", "关系数", "int"),
                Column("share", "占比% (share)", "pct"), Column("type", "类型 (intra/inter-provincial)")], f_rows,
               [f"单位：{edges.year}年网络中双方省份均已知的边（N = {f_total}）；省内 = 提供方与接受方在同一省份，否则为跨省。\n"
                f"Unit: edges of the network of {edges.year} with both provinces known (N = {f_total}); "
                "省内 = provider and receiver in the same province, 跨省 otherwise."])
    return {t6.key: t6, t7.key: t7}


# --------------------------------------------------------------------------- Figs. 1-12


def firm_tables(firms: FirmRows, tax: Taxonomy, spec: ReportSpec) -> dict[str, Table]:
    """图1-12: attributes of the sample firms (``is_sample``); each table's notes state its population.

    Definitions (report section 一): Fig. 1 share of firms per founding year (of firms with a date);
    Figs. 2/3 share of firms per region / province (of firms with a province; regions may overlap);
    Fig. 4 head-count buckets; Fig. 5 listed vs unlisted (of all sample firms); Figs. 6-8 revenue,
    R&D expense and R&D intensity (R&D / revenue) buckets of listed firms, fiscal year edition-2;
    Fig. 9 technology layers; Fig. 10 patent-count buckets; Figs. 11/12 share of all patents per
    province (top 10) and per layer. Buckets: :class:`Bucket` and ``buckets.yml``.
    """
    n_firms = len(firms.org_id)
    k10 = int(spec.top["firm_provinces"])
    out: dict[str, Table] = {}
    out.update(_founding_table(firms, spec, n_firms))
    out.update(_location_tables(firms, tax, n_firms, k10))
    out["fig04_employees"] = bucket_table(
        "fig04_employees", f"图4 {n_firms}家人工智能企业员工规模分布（单位：人）", "Fig. 4 Sample firms by head count",
        [e for e in firms.employees if e is not None], spec.buckets["employees"],
        "sample firms with a known head count", "人 (persons)", "员工人数已知的样本企业")
    out.update(_listed_tables(firms, spec, n_firms))
    out.update(_layer_and_patent_tables(firms, tax, spec, n_firms, k10))
    return out


def _founding_table(firms: FirmRows, spec: ReportSpec, n_firms: int) -> dict[str, Table]:
    """图1: share of the sample firms (with a founding date) per founding year."""
    out: dict[str, Table] = {}
    years = Counter(y for y in firms.founded_year if y is not None)
    n_known = sum(years.values())
    lo, hi = spec.founding_span
    span = pct(sum(c for y, c in years.items() if lo <= y <= hi), n_known)
    peak = min(years, key=lambda y: (-years[y], y)) if years else None
    out["fig01_founding_years"] = Table(
        "fig01_founding_years", f"图1 {n_firms}家人工智能样本企业的创建时间分布", "Fig. 1 Founding years of the sample firms",
        [Column("year", "创建年份 (year)", "int"), Column("firms", "企业数 (firms)", "int"), Column("share", "占比%", "pct")],
        [[y, years[y], pct(years[y], n_known)] for y in sorted(years)],
        [f"统计对象：有创建日期的样本企业（N = {n_known}，共 {n_firms} 家）。\nPopulation: sample firms with a founding date (N = {n_known} of {n_firms}).",
         f"{lo}—{hi} 年（含）创建的企业占 {span:.2f}%。" + (f"创建高峰为 {peak} 年（{pct(years[peak], n_known):.2f}%）。" if peak else "") + "\n"
         f"Founded {lo}-{hi} (inclusive): {span:.2f}%."
         + (f" Peak year {peak}: {pct(years[peak], n_known):.2f}% (ties: earlier year)." if peak else "")],
        Chart("bar", "year", ("share",), "占比 (%)", payload={"time_axis": True, "xlabel": "创建年份 (year)"}))
    return out


def _location_tables(firms: FirmRows, tax: Taxonomy, n_firms: int, k10: int) -> dict[str, Table]:
    """图2/图3: share of the sample firms (with a province) per region and per province."""
    out: dict[str, Table] = {}
    prov_counts = Counter(p for p in firms.province if p)
    n_prov = sum(prov_counts.values())
    region_counts = {name: sum(prov_counts[p] for p in members) for name, members in tax.regions}
    region_rows = [[name, c, pct(c, n_prov)] for name, c in region_counts.items()]
    region_rows = [region_rows[i] for i in rank_order([r[0] for r in region_rows], [r[1] for r in region_rows])]
    out["fig02_regions"] = Table(
        "fig02_regions", f"图2 {n_firms}家人工智能企业在全国都市圈的分布", "Fig. 2 Sample firms by metropolitan region",
        [Column("region", "地区 (region)"), Column("firms", "企业数", "int"), Column("share", "占比%", "pct")], region_rows,
        [f"统计对象：有省份信息的样本企业（N = {n_prov}）。都市圈及其所含省份见 db/data/regions.yml；一个省份可属于多个都市圈，故占比之和不等于 100%。\n"
         f"Population: sample firms with a province (N = {n_prov}). Regions and member provinces from "
         "db/data/regions.yml; a province may belong to several regions, so shares do not add up to 100%."],
        Chart("bar", "region", ("share",), "占比 (%)"))
    out["fig03_provinces"] = Table(
        "fig03_provinces", f"图3 {n_firms}家人工智能企业在省市自治区的分布", "Fig. 3 Sample firms by province",
        [Column("province", "省份 (province)"), Column("firms", "企业数", "int"), Column("share", "占比%", "pct")],
        share_rows(Counter({tax.provinces[p]: c for p, c in prov_counts.items()})),
        [f"统计对象：有省份信息的样本企业（N = {n_prov}）；图中显示前 {k10} 位。\nPopulation: sample firms with a province (N = {n_prov}); the chart shows the top {k10}."],
        Chart("bar", "province", ("share",), "占比 (%)", limit=k10))
    return out


def _listed_tables(firms: FirmRows, spec: ReportSpec, n_firms: int) -> dict[str, Table]:
    """图5-8: listed share, and revenue / R&D expense / R&D intensity buckets of the listed firms."""
    out: dict[str, Table] = {}
    listed = sum(firms.listed)
    out["fig05_listed"] = Table(
        "fig05_listed", "图5 人工智能上市公司占比", "Fig. 5 Listed share of the sample firms",
        [Column("status", "类别 (status)"), Column("firms", "企业数", "int"), Column("share", "占比%", "pct")],
        [["上市公司 (listed)", listed, pct(listed, n_firms)],
         ["非上市公司 (unlisted)", n_firms - listed, pct(n_firms - listed, n_firms)]],
        [f"统计对象：全部样本企业（N = {n_firms}）；上市与否取自企业属性。\nPopulation: all sample firms (N = {n_firms}); listed = firm_attributes.listed."],
        Chart("pie", "status", ("firms",)))
    fy = firms.fiscal_year
    listed_ids = [o for o, is_listed in zip(firms.org_id, firms.listed, strict=True) if is_listed]
    rev = [firms.revenue[o] / spec.units["revenue"] for o in listed_ids if o in firms.revenue]
    rd = [firms.rd_expense[o] / spec.units["rd_expense"] for o in listed_ids if o in firms.rd_expense]
    intensity = [pct(firms.rd_expense[o], firms.revenue[o]) for o in listed_ids
                 if o in firms.rd_expense and firms.revenue.get(o, 0) > 0]
    n_listed = len(listed_ids)
    out["fig06_revenue"] = bucket_table(
        "fig06_revenue", f"图6 {n_listed}家人工智能上市公司营业收入分布情况（单位：亿人民币）",
        f"Fig. 6 Listed firms by revenue, fiscal year {fy}", rev, spec.buckets["revenue"],
        f"listed sample firms with revenue for fiscal year {fy}", "亿元",
        f"有 {fy} 财年营业收入数据的上市样本企业")
    out["fig07_rd_expense"] = bucket_table(
        "fig07_rd_expense", f"图7 {n_listed}家人工智能上市公司研发费用分布情况（单位：亿人民币）",
        f"Fig. 7 Listed firms by R&D expense, fiscal year {fy}", rd, spec.buckets["rd_expense"],
        f"listed sample firms with R&D expense for fiscal year {fy}", "亿元",
        f"有 {fy} 财年研发费用数据的上市样本企业")
    out["fig08_rd_intensity"] = bucket_table(
        "fig08_rd_intensity", f"图8 {n_listed}家上市公司研发强度分布", f"Fig. 8 Listed firms by R&D intensity, fiscal year {fy}",
        intensity, spec.buckets["rd_intensity"],
        f"listed sample firms with revenue > 0 and R&D expense for fiscal year {fy}; intensity = R&D / revenue",
        "%", f"{fy} 财年营业收入大于 0 且有研发费用数据的上市样本企业；研发强度 = 研发费用 / 营业收入")
    return out


def _layer_and_patent_tables(firms: FirmRows, tax: Taxonomy, spec: ReportSpec, n_firms: int,
                             k10: int) -> dict[str, Table]:
    """图9-12: technology layers, patent-count buckets, patents per province (top k) and per layer."""
    out: dict[str, Table] = {}
    layers = Counter(dict.fromkeys(TECH_LAYERS, 0))
    layers.update(t for t in firms.tech_layer if t)
    out["fig09_tech_layers"] = Table(
        "fig09_tech_layers", f"图9 {n_firms}家人工智能企业技术层次分布", "Fig. 9 Sample firms by technology layer",
        [Column("layer", "技术层次 (layer)"), Column("firms", "企业数", "int"), Column("share", "占比%", "pct")],
        share_rows(layers), [f"统计对象：有技术层次信息的样本企业（N = {sum(layers.values())}）。\nPopulation: sample firms with a technology layer (N = {sum(layers.values())})."],
        Chart("pie", "layer", ("firms",)))
    out["fig10_patents"] = bucket_table(
        "fig10_patents", f"图10 {n_firms}家企业的专利数分布（单位：项）", "Fig. 10 Sample firms by patent count",
        [p for p in firms.patents if p is not None], spec.buckets["patents"], "sample firms with a known patent count",
        "项 (patents)", "专利数已知的样本企业")
    by_prov: Counter[str] = Counter()
    by_layer: Counter[str] = Counter(dict.fromkeys(TECH_LAYERS, 0))
    for p, layer, n in zip(firms.province, firms.tech_layer, firms.patents, strict=True):
        if n and p:
            by_prov[tax.provinces[p]] += n
        if n and layer:
            by_layer[layer] += n
    patents_total = sum(by_prov.values())
    prov_rows = share_rows(by_prov)
    top_share = sum(r[2] for r in prov_rows[:k10])
    out["fig11_patents_by_province"] = Table(
        "fig11_patents_by_province", f"图11 {n_firms}家样本企业专利数地区分布（前{k10}）",
        f"Fig. 11 Patents of the sample firms by province (top {k10})",
        [Column("province", "省份 (province)"), Column("patents", "专利数 (patents)", "int"), Column("share", "占比%", "pct")],
        prov_rows[:k10],
        [f"占有省份与专利数信息的样本企业专利总数的比例（N = {patents_total} 项）；前 {k10} 位合计 {top_share:.2f}%。\n"
         f"Share of all patents of sample firms with a province and a patent count (N = {patents_total} patents); "
         f"the top {k10} hold {top_share:.2f}%."],
        Chart("bar", "province", ("share",), "占比 (%)"))
    out["fig12_patents_by_layer"] = Table(
        "fig12_patents_by_layer", "图12 各技术层次企业专利数占比", "Fig. 12 Patents by technology layer",
        [Column("layer", "技术层次 (layer)"), Column("patents", "专利数", "int"), Column("share", "占比%", "pct")],
        share_rows(by_layer),
        [f"占有技术层次与专利数信息的样本企业专利总数的比例（N = {sum(by_layer.values())} 项）。\nShare of all patents of sample firms with a layer and a patent count (N = {sum(by_layer.values())})."],
        Chart("pie", "layer", ("patents",)))
    return out


# --------------------------------------------------------------------------- Fig. 13


def network_drawing_table(edges: YearEdges, orgs: OrgTable, spec: ReportSpec) -> Table:
    """图13: the latest network drawn (rule in :func:`drawing_subgraph`, layout :func:`drawing_layout`).

    The ``labels`` highest-degree nodes (:func:`top_nodes`) are numbered 1..k in the drawing and
    keyed to this table's rows (name, sample or relation node, degree) — numbers do not pile up
    where names would. The payload carries the positions, reused by ``gexf/fig13_network.gexf``, and
    ``order`` / ``edge_order``: the nodes and edges in the order of their names
    (:attr:`analysis.loaders.OrgTable.rank`), in which they are laid out, drawn and exported, so the
    picture does not depend on database ids.
    """
    max_nodes, n_labels = spec.drawing["max_nodes"], spec.drawing["labels"]
    rows_idx = orgs.index(edges.nodes)
    rank = orgs.rank[rows_idx]  # nodes and edges in an order independent of database ids (stable layout)
    keep, s, t = drawing_subgraph(edges, max_nodes, rank)
    order = keep[np.argsort(rank[keep], kind="stable")]  # drawn, laid out and exported in this order
    by_pair = np.lexsort((rank[t], rank[s]))
    in_deg, out_deg = edges.degrees()
    degree = in_deg + out_deg
    labels = [orgs.display[i] for i in rows_idx]
    hubs = top_nodes(edges.nodes, labels, in_deg, out_deg, n_labels)
    rows = [[r + 1, labels[i], bool(orgs.is_sample[rows_idx[i]]), int(degree[i])] for r, i in enumerate(hubs)]
    degree_list = degree.tolist()
    payload = {
        "nodes": keep.tolist(), "sources": s.tolist(), "targets": t.tolist(),
        "degree": degree_list, "sample": orgs.is_sample[rows_idx].tolist(),
        "labels": {int(i): labels[i] for i in hubs}, "numbers": {int(i): r + 1 for r, i in enumerate(hubs)},
        "seed": spec.drawing["seed"], "org_ids": {int(i): int(edges.nodes[i]) for i in keep.tolist()},
        "names": {int(i): labels[i] for i in keep.tolist()},
        "order": order.tolist(), "edge_order": by_pair.tolist(),
        "pos": drawing_layout(order.tolist(), s[by_pair].tolist(), t[by_pair].tolist(), degree_list,
                              spec.drawing["seed"]),
    }
    whole = keep.size == edges.n_nodes
    drawn_zh = "全部节点" if whole else f"度数最高的 {keep.size} 个节点"
    drawn = "the whole network" if whole else f"its {keep.size} highest-degree nodes"
    return Table("fig13_network", "图13 人工智能企业簇群价值网络图", "Fig. 13 The value network (hubs numbered)",
                 [Column("rank", "编号 (number)", "int"), Column("name", "标注节点 (numbered hub)"),
                  Column("is_sample", "样本节点 (sample)", "str"), Column("degree", "度数中心度 (degree)", "int")],
                 rows,
                 [f"{edges.year}年网络（{edges.n_nodes} 个节点、{edges.n_edges} 条边）；图中绘出{drawn_zh}及其间的 "
                  f"{s.size} 条边（ForceAtlas2 布局，固定随机种子）；节点大小随度数增大，箭头由技术赋能方指向技术输入方；"
                  f"红色为样本节点，蓝色为关系节点；度数最高的 {len(hubs)} 个节点按编号标注，编号对应下表。"
                  "高分辨率 PNG、SVG 与带布局的 Gephi 文件见 charts/ 与 gexf/fig13_network.gexf。\n"
                  f"Network of {edges.year} ({edges.n_nodes} nodes, {edges.n_edges} edges); drawn: {drawn} and the "
                  f"{s.size} edges among them (ForceAtlas2 layout, fixed seed); node size ~ degree; arrows point "
                  f"from provider to receiver; the {len(hubs)} highest-degree nodes are numbered as in this table. "
                  "Sample nodes red, relation nodes blue."],
                 Chart("network", "name", ("degree",), payload=payload))
