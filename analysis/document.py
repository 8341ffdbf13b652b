"""The report as a publication: report.html, report.md and report.xlsx of an edition.

Layout (Chinese first, English beside it): the title; the **front page** (:mod:`analysis.frontpage`:
edition, cut-off, what was crawled, the data-quality verdict with failed or overridden checks,
sources that failed or fell short, the extractor's measured precision/recall, aimap version and
commit; a partial edition is flagged in red); the **related files** (the network for Excel and
Gephi, the printable Fig. 13, the competitiveness index and the comparison with the published
edition when they exist); the contents; each **section** (:mod:`analysis.narrative`) with its key
findings generated from the figures, then its tables and figures; the **methods appendix** in prose.
XLSX sheets are named by the figure or table number (图1 … 表8) and linked from the contents sheet.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.bundle import html_page, md_cell, md_text, table_html, table_markdown, write_xlsx
from analysis.narrative import Section

#: Files of a bundle the report links to when they exist: (path, Chinese label, English label).
RELATED = (
    ("network.xlsx", "网络节点与边（含每条边的证据）", "nodes and edges with each edge's evidence (Excel)"),
    ("edges.csv", "边列表 CSV（含证据列）", "edge list with evidence columns"),
    ("gexf/fig13_network.gexf", "图13 的 Gephi 文件（含布局、颜色、大小）", "Fig. 13 for Gephi, laid out"),
    ("charts/fig13_network_hires.png", "图13 高分辨率 PNG（300 dpi）", "Fig. 13, 300 dpi PNG"),
    ("charts/fig13_network.svg", "图13 矢量图 SVG", "Fig. 13 as SVG"),
    ("index/index_province.md", "区域竞争力指数（省级）", "regional competitiveness index, provinces"),
    ("index/index_city.md", "区域竞争力指数（城市）", "regional competitiveness index, cities"),
    ("compare.md", "与已发布版本的对照", "comparison with the published edition"),
)


@dataclass
class ReportDocument:
    """Everything report.html / .md / .xlsx show, in order."""

    title: str
    front: dict[str, Any]
    front_rows: list[tuple[str, str]]
    sections: list[Section]
    methods: list[tuple[str, str, str]]  # (heading, Chinese, English)

    @property
    def tables(self) -> list[Any]:
        """Every table in document order."""
        return [t for s in self.sections for t in s.tables]


def related_files(directory: Path) -> list[tuple[str, str, str, bool]]:
    """(path, Chinese label, English label, exists) of :data:`RELATED` in ``directory``."""
    return [(p, zh, en, (directory / p).exists()) for p, zh, en in RELATED]


def sheet_name(title: str, taken: set[str]) -> str:
    """A sheet name from a table title: its number (图13, 表1, 图14附表), unique, <= 31 characters."""
    base = title.split(" ", 1)[0][:28] or "sheet"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name)
    return name


def _related_note(exists: bool, path: str) -> str:
    if exists:
        return ""
    if path.startswith("index/"):
        return "（未生成：运行 aimap index --edition 本版次 / not generated: run `aimap index`）"
    if path == "compare.md":
        return "（未生成：运行 aimap analyze --compare 已发布版本.yaml / not generated: run `aimap analyze --compare`）"
    return "（未生成 / not generated）"


def write_report_html(doc: ReportDocument, path: Path, images: dict[str, Path]) -> Path:
    """``report.html`` (self-contained; see the module docstring)."""
    esc = html.escape
    body = [f"<h1>{esc(doc.title)}</h1>", "<section class='front'><h2 style='margin-top:0.5em;break-before:auto'>"
            "封面信息 <span class='en'>(front page)</span></h2><table>"]
    for label, text in doc.front_rows:
        warn = " class='warn'" if label.startswith("⚠") or "FAIL" in text else ""
        body.append(f"<tr><th>{esc(label)}</th><td{warn}>{esc(text)}</td></tr>")
    body.append("</table><p><b>相关文件</b> <span class='en'>(related files)</span></p><ul class='related'>")
    for rel, zh, en, exists in related_files(path.parent):
        link = f'<a href="{esc(rel)}">{esc(zh)}</a>' if exists else esc(zh)
        body.append(f"<li>{link} <span class='en'>{esc(en)}</span>{esc(_related_note(exists, rel))}</li>")
    body.append("</ul></section>")
    body.append("<nav class='toc'><h2 style='break-before:auto'>目录 <span class='en'>(contents)</span></h2><ul>")
    for s in doc.sections:
        body.append(f'<li><a href="#section-{s.id}">{esc(s.title)}</a><ul>')
        body += [f'<li><a href="#{t.key}">{esc(t.title)}</a></li>' for t in s.tables]
        body.append("</ul></li>")
    body.append('<li><a href="#methods">附录 方法说明</a></li></ul></nav>')
    for s in doc.sections:
        body += [f'<h2 id="section-{s.id}">{esc(s.title)} <span class="en">{esc(s.title_en)}</span></h2>']
        if s.findings:
            body.append("<div class='findings'><p><b>主要发现</b> <span class='en'>(key findings)</span></p><ul>")
            body += [f"<li>{esc(f)}</li>" for f in s.findings]
            body.append("</ul></div>")
        for t in s.tables:
            body += table_html(t, images, heading="h3")
    body.append("<h2 id='methods'>附录 方法说明 <span class='en'>Appendix: methods</span></h2><div class='methods'>")
    for heading, zh, en in doc.methods:
        body += [f"<h3>{esc(heading)}</h3>", f"<p>{esc(zh)}</p>", f"<p class='en'>{esc(en)}</p>"]
    body.append("</div>")
    path.write_text(html_page(doc.title, body), encoding="utf-8")
    return path


def write_report_markdown(doc: ReportDocument, path: Path, charts: dict[str, str]) -> Path:
    """``report.md`` (the same content as the HTML; charts linked as relative PNG paths).

    Every text that can carry data (names in findings and tables, front-page values) is escaped
    (:func:`analysis.bundle.md_text`, :func:`analysis.bundle.md_cell`): no raw HTML from the data.
    """
    lines = [f"# {md_text(doc.title)}", "", "## 封面信息 (front page)", "", "| 项目 | 内容 |", "|---|---|"]
    lines += [f"| {md_cell(label)} | {md_cell(text.replace('|', '/'))} |" for label, text in doc.front_rows]
    lines += ["", "相关文件 (related files)：", ""]
    for rel, zh, en, exists in related_files(path.parent):
        lines.append(f"- {f'[{zh}]({rel})' if exists else zh} *{en}*{_related_note(exists, rel)}")
    lines += ["", "## 目录 (contents)", ""]
    for s in doc.sections:
        lines.append(f"- [{md_text(s.title)}](#section-{s.id})")
        lines += [f"  - [{md_text(t.title)}](#{t.key})" for t in s.tables]
    lines.append("- [附录 方法说明](#methods)")
    for s in doc.sections:
        lines += ["", f'<a id="section-{s.id}"></a>', "", f"## {md_text(s.title)}", "", f"*{md_text(s.title_en)}*", ""]
        if s.findings:
            lines += ["**主要发现 (key findings)**", "", *[f"- {md_text(f)}" for f in s.findings]]
        for t in s.tables:
            lines += table_markdown(t, charts, heading="###")
    lines += ["", '<a id="methods"></a>', "", "## 附录 方法说明 (appendix: methods)"]
    for heading, zh, en in doc.methods:
        lines += ["", f"### {md_text(heading)}", "", md_text(zh), "", f"*{md_text(en)}*"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_report_xlsx(doc: ReportDocument, path: Path, *, when: tuple[int, int, int]) -> Path:
    """``report.xlsx``: 封面 (front page), contents with links, one sheet per table named 图N / 表N."""
    taken: set[str] = {"封面", "contents"}
    tables = doc.tables
    names = [sheet_name(t.title, taken) for t in tables]
    front: Sequence[tuple[str, str]] = doc.front_rows
    return write_xlsx(tables, path, title=doc.title, when=when, sheet_names=names, front=front, percent=True)
