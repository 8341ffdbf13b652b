"""The report's prose: sections, generated key findings and the methods appendix.

The section layout and the methods appendix are data (``analysis/data/report_text.yml``); the key
findings of each section are sentences generated here from the computed tables, in the style of
the printed report (e.g. "北京、广东、浙江、上海四个核心节点合计占技术赋能关系的 x%"; "20% 的节点拥有
网络中约 x% 的连接度"). A finding is left out when its figure is missing (an empty table), never
written with a placeholder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from analysis.edition import EditionStats
from analysis.presentation import Table
from analysis.spec import ReportSpec, load_spec
from common.datafiles import read_yaml

TEXT_FILE = Path(__file__).resolve().parent / "data" / "report_text.yml"
MUTUAL_ZH = {"reporter": "由报告方（样本企业）指出", "both": "双向各计一条边"}


@dataclass(frozen=True)
class Section:
    """A section of the report: its title, its tables (in report order) and its key findings."""

    id: str
    title: str
    title_en: str
    tables: list[Table]
    findings: list[str]


@lru_cache(maxsize=2)
def load_text(path: Path = TEXT_FILE) -> dict[str, Any]:
    """The sections and methods of ``report_text.yml``."""
    return read_yaml(Path(path))


def _pct(x: float) -> str:
    return f"{x:.2f}%"


def _names(rows: list[dict[str, Any]], label: str, value: str, k: int) -> str:
    return "、".join(f"{r[label]}（{_pct(r[value])}）" for r in rows[:k] if r[label])


def _firm_findings(t: Mapping[str, Table], spec: ReportSpec) -> list[str]:
    out = []
    founding = t["fig01_founding_years"].records()
    if founding:
        lo, hi = spec.founding_span
        span = sum(r["share"] for r in founding if lo <= r["year"] <= hi)
        peak = min(founding, key=lambda r: (-r["firms"], r["year"]))
        out.append(f"样本企业中 {_pct(span)} 创建于 {lo}—{hi} 年，{peak['year']} 年为创建高峰（{_pct(peak['share'])}）。")
    provinces = t["fig03_provinces"].records()
    if provinces:
        out.append(f"样本企业最集中的省份依次为{_names(provinces, 'province', 'share', 5)}。")
    listed = t["fig05_listed"].rows
    if listed and (listed[0][1] or listed[1][1]):
        out.append(f"上市公司占样本企业的 {_pct(listed[0][2])}。")
    patents = t["fig11_patents_by_province"].records()
    if patents:
        top = sum(r["share"] for r in patents)
        out.append(f"专利数排名前 {len(patents)} 的省份合计拥有样本企业 {_pct(top)} 的专利。")
    return out


def _network_findings(ed: EditionStats, spec: ReportSpec) -> list[str]:
    t = ed.tables
    out = []
    rows = t["table1"].records()
    if rows:
        last = rows[-1]
        text = f"{last['year']} 年价值网络共有 {last['nodes']} 个节点（其中样本节点 {last['sample_nodes']} 个）、{last['edges']} 条边"
        if len(rows) > 1 and rows[-2]["nodes"] and rows[-2]["edges"]:
            prev = rows[-2]
            text += (f"，较 {prev['year']} 年节点增长 {_pct(100 * (last['nodes'] - prev['nodes']) / prev['nodes'])}、"
                     f"边增长 {_pct(100 * (last['edges'] - prev['edges']) / prev['edges'])}")
        out.append(text + f"；平均路径长度 {last['avg_path_length']:.3f}，网络直径 {last['diameter']}。")
    fit = dict(t["fig14_power_law_fit"].rows)
    share = next((v for k, v in fit.items() if str(k).endswith("_degree_share")), None)
    if share is not None and last_nodes(rows):
        text = f"度数最高的 {spec.top['concentration_share']:.0%} 节点拥有网络中 {_pct(share)} 的连接度（图14）"
        if "alpha" in fit:
            text += f"，度分布的幂律指数 α = {fit['alpha']:.2f}"
        out.append(text + "，网络呈现“极核”结构。")
    hubs = t["table2_top_sample_nodes"].records()
    if hubs:
        out.append("度数中心度最高的样本企业依次为" + "、".join(f"{r['name']}（{r['degree']}）" for r in hubs[:5]) + "（表2）。")
    relation = t["table3_top_relation_nodes"].records()
    if relation:
        out.append("度数最高的关系节点依次为" + "、".join(f"{r['name']}（{r['degree']}）" for r in relation[:5]) + "（表3）。")
    return out


def last_nodes(rows: list[dict[str, Any]]) -> int:
    """Nodes of the last row of Table 1 (0 without rows)."""
    return int(rows[-1]["nodes"]) if rows else 0


def _cooperation_findings(t: Mapping[str, Table]) -> list[str]:
    out = []
    tech = t["fig15_tech_categories"].records()
    if tech and tech[0]["events"]:
        out.append(f"技术合作最密集的技术类别为{_names(tech, 'name', 'share', 3)}（图15）。")
    domains = t["fig16_application_domains"].records()
    if domains and domains[0]["events"]:
        out.append(f"应用领域以{_names(domains, 'name', 'share', 3)}为主（图16）。")
    sectors = t["fig17_sectors_by_year"].records()
    if sectors and sectors[-1]["relations"]:
        r = sectors[-1]
        out.append(f"{r['year']} 年技术输入方属于第三产业的合作关系占 {_pct(r['share_3'])}，第二产业占 {_pct(r['share_2'])}，"
                   f"第一产业占 {_pct(r['share_1'])}（图17）。")
    manufacturing = t["fig20_manufacturing_divisions"].records()
    if manufacturing:
        out.append(f"制造业中合作最多的行业为{_names(manufacturing, 'division', 'share', 3)}（图20）。")
    return out


def _spatial_findings(t: Mapping[str, Table], spec: ReportSpec) -> list[str]:
    out = []
    rows = t["table6_provinces"].records()
    if rows:
        core = spec.core_provinces
        e = sum(r["enabling_share"] or 0 for r in rows if r["enabling_province"] in core)
        i = sum(r["input_share"] or 0 for r in rows if r["input_province"] in core)
        out.append(f"{'、'.join(p.rstrip('省市') for p in core)}四个核心节点合计占技术赋能关系的 {_pct(e)}、"
                   f"技术输入关系的 {_pct(i)}（表6）。")
        out.append(f"技术赋能最多的省份为{_names(rows, 'enabling_province', 'enabling_share', 3)}；"
                   f"技术输入最多的省份为{_names(rows, 'input_province', 'input_share', 3)}。")
    flows = t["table7_flows"].records()
    if flows:
        first = flows[0]
        intra = sum(r["share"] for r in flows if r["type"] == "省内技术流动")
        out.append(f"最大的技术流向为{first['from_province']}→{first['to_province']}（{_pct(first['share'])}）；"
                   f"前 {len(flows)} 位流向中省内流动合计 {_pct(intra)}（表7）。")
    return out


def key_findings(ed: EditionStats, spec: ReportSpec | None = None) -> dict[str, list[str]]:
    """Per section id, the key-finding sentences generated from the edition's tables."""
    spec = spec or load_spec()
    t = ed.tables
    return {"firms": _firm_findings(t, spec), "network": _network_findings(ed, spec),
            "cooperation": _cooperation_findings(t), "spatial": _spatial_findings(t, spec), "quality": []}


def sections(ed: EditionStats, spec: ReportSpec | None = None) -> list[Section]:
    """The report's sections with their tables and findings; a table no section names goes last."""
    text = load_text()
    findings = key_findings(ed, spec)
    placed: set[str] = set()
    out = []
    for entry in text["sections"]:
        prefixes = entry["tables"]
        tables = [tab for key, tab in ed.tables.items() if key.split("_")[0] in prefixes]
        placed.update(tab.key for tab in tables)
        out.append(Section(entry["id"], entry["title"], entry["title_en"], tables, findings.get(entry["id"], [])))
    rest = [tab for key, tab in ed.tables.items() if key not in placed]
    if rest:
        out.append(Section("other", "其他", "Other", rest, []))
    return out


def methods(ed: EditionStats) -> list[tuple[str, str, str]]:
    """The methods appendix: (heading, Chinese paragraph, English paragraph) with the edition's parameters."""
    last = ed.edition - 1
    values = {"edition": ed.edition, "last": last, "cutoff": f"{last}-12-31", "first": ed.years[0],
              "scope": f"滚动{ed.window}年窗口" if ed.window else "累计网络",
              "scope_en": f"rolling {ed.window}-year window" if ed.window else "cumulative",
              "mutual": ed.mutual, "mutual_zh": MUTUAL_ZH.get(ed.mutual, ed.mutual)}
    return [(m["heading"], str(m["zh"]).format(**values), str(m["en"]).format(**values))
            for m in load_text()["methods"]]
