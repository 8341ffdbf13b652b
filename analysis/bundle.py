"""Writers of the report bundle ``out/<edition>/``: CSV, XLSX, Markdown, HTML, GEXF and the edition's node/edge lists.

Every writer is deterministic: the same tables give byte-identical files (no timestamps in file
contents; the XLSX zip entries and document properties carry a fixed date, the edition's data
cutoff; chart files are reproducible, see :mod:`analysis.charts`).

- **CSV**: UTF-8 with a byte-order mark (Excel opens it as UTF-8), machine column names in the
  header, values as displayed (shares 2 decimals, Gephi statistics 3 decimals half-even).
- **XLSX**: one sheet per table (sheet name = table key), header row, numbers as numbers with a
  number format, notes under the table; a first sheet ``contents`` lists every table.
- **report.md / report.html**: every table with its title, notes and chart. The HTML is
  self-contained: charts embedded as base64 PNG, and the CJK font embedded as a WOFF subset
  (Noto Sans CJK SC from ``mplfonts``, only the characters the page uses), so Chinese renders
  without missing-glyph boxes on a machine without CJK fonts.
- **GEXF** (one per year): GEXF 1.2draft, which Gephi 0.9.2 opens; node attributes kind,
  province, is_sample, industry, sector, in_degree, out_degree, full_name; edges carry the
  native ``weight`` (number of events) and attributes first_year and kinds (event kinds,
  sorted, ``;``-separated).
- **nodes.csv / edges.csv / firms.csv**: the last year's network and the sample firms, read back
  by ``aimap analyze --diff``.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from analysis.charts import font_path
from analysis.loaders import OrgTable, Taxonomy
from analysis.measures import org_sectors
from analysis.metrics import gephi_round
from analysis.network import EventTable, YearEdges
from analysis.presentation import Table
from db.taxonomy import SECTORS

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def format_value(value: Any, fmt: str) -> str:
    """A cell as displayed: ``gephi`` 3 decimals half-even, ``pct`` 2 decimals, ``float`` 4 decimals."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if fmt == "gephi":
        return gephi_round(value)
    if fmt == "pct" and isinstance(value, int | float):
        return f"{value:.2f}"
    if fmt == "float" and isinstance(value, float):
        return f"{value:.0f}" if value.is_integer() else f"{value:.4f}"
    return str(value)


def _cells(table: Table) -> list[list[str]]:
    return [[format_value(v, c.fmt) for v, c in zip(row, table.columns, strict=True)] for row in table.rows]


# --------------------------------------------------------------------------- CSV / XLSX


def write_csv(table: Table, directory: Path) -> Path:
    """``<key>.csv`` (UTF-8 with BOM), header = machine column names."""
    path = directory / f"{table.key}.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow([c.name for c in table.columns])
        writer.writerows(_cells(table))
    return path


def write_rows_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    """A plain CSV (UTF-8 with BOM)."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


_XLSX_FORMATS = {"pct": "0.00", "gephi": "0.000", "float": "0.0000", "int": "0"}


def normalise_zip(data: bytes, when: tuple[int, int, int]) -> bytes:
    """Rewrite an OOXML zip with fixed entry dates and fixed created/modified properties (reproducible)."""
    stamp = f"{when[0]:04d}-{when[1]:02d}-{when[2]:02d}T00:00:00Z"
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = body.decode("utf-8")
                text = re.sub(r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)", rf"\g<1>{stamp}\g<3>", text)
                body = text.encode("utf-8")
            entry = zipfile.ZipInfo(info.filename, date_time=(*when, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, body)
    return out.getvalue()


def write_xlsx(tables: Sequence[Table], path: Path, *, title: str, when: tuple[int, int, int]) -> Path:
    """``report.xlsx``: a ``contents`` sheet, then one sheet per table (name = key, <= 31 characters)."""
    from openpyxl import Workbook  # deferred: heavy, only the XLSX files need it
    from openpyxl.styles import Font  # deferred: as above

    wb = Workbook()
    contents = wb.active
    contents.title = "contents"
    contents.append([title])
    contents["A1"].font = Font(bold=True)
    contents.append(["sheet", "title", "title (en)"])
    for table in tables:
        contents.append([table.key[:31], table.title, table.title_en])
        ws = wb.create_sheet(table.key[:31])
        ws.append([table.title])
        ws["A1"].font = Font(bold=True)
        ws.append([c.header for c in table.columns])
        for row in table.rows:
            ws.append([v if not isinstance(v, np.generic) else v.item() for v in row])
        for j, col in enumerate(table.columns, 1):
            fmt = _XLSX_FORMATS.get(col.fmt)
            if fmt:
                for (cell,) in ws.iter_rows(min_row=3, max_row=ws.max_row, min_col=j, max_col=j):
                    cell.number_format = fmt
            ws.column_dimensions[cell_letter(j)].width = max(10, min(40, len(col.header) * 2))
        if table.notes:
            ws.append([])
            for note in table.notes:
                ws.append([note])
        ws.freeze_panes = "A3"
    wb.properties.creator = "aimap"
    buffer = io.BytesIO()
    wb.save(buffer)
    path.write_bytes(normalise_zip(buffer.getvalue(), when))
    return path


def cell_letter(index: int) -> str:
    """Excel column letter of a 1-based column index."""
    from openpyxl.utils import get_column_letter  # deferred: heavy, only the XLSX files need it

    return get_column_letter(index)


# --------------------------------------------------------------------------- Markdown / HTML


def markdown_table(table: Table) -> list[str]:
    """The table as GitHub-flavoured Markdown lines."""
    lines = ["| " + " | ".join(c.header for c in table.columns) + " |",
             "|" + "|".join("---:" if c.fmt in ("int", "pct", "gephi", "float") else "---" for c in table.columns) + "|"]
    for cells in _cells(table):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return lines


def write_markdown(tables: Sequence[Table], path: Path, *, title: str, intro: Sequence[str],
                   charts: dict[str, str]) -> Path:
    """``report.md``: every table with its notes and chart (relative link to the PNG)."""
    lines = [f"# {title}", "", *intro, "", "## 目录 (contents)", ""]
    lines += [f"- [{t.title}](#{t.key})" for t in tables]
    for t in tables:
        lines += ["", f'<a id="{t.key}"></a>', "", f"## {t.title}", "", f"*{t.title_en}*", ""]
        lines += [f"> {n}" for n in t.notes]
        if t.key in charts:
            lines += ["", f"![{t.title}]({charts[t.key]})"]
        lines += ["", *markdown_table(t)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def font_face_css(text: str) -> str:
    """A ``@font-face`` rule embedding Noto Sans CJK SC, subset to the characters of ``text``, as WOFF."""
    from fontTools import subset  # deferred: heavy, only the HTML report embeds a font

    options = subset.Options()
    options.flavor = "woff"
    font = subset.load_font(str(font_path()), options)
    font.recalcTimestamp = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(set(text))))
    subsetter.subset(font)
    buffer = io.BytesIO()
    subset.save_font(font, buffer, options)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'@font-face {{ font-family: "aimap CJK"; src: url(data:font/woff;base64,{data}) format("woff"); '
            "font-weight: normal; font-style: normal; }")


_CSS = """
body { font-family: "aimap CJK", "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
       sans-serif; margin: 2em auto; max-width: 1100px; color: #222; line-height: 1.5; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2.2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.8em 0; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; } th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #555; font-size: 0.9em; } img { max-width: 100%; } .en { color: #777; font-style: italic; }
"""


def write_html(tables: Sequence[Table], path: Path, *, title: str, intro: Sequence[str],
               images: dict[str, Path]) -> Path:
    """``report.html``: self-contained (charts as base64 PNG, CJK font subset embedded)."""
    esc = html.escape
    body = [f"<h1>{esc(title)}</h1>", *[f"<p class='note'>{esc(p)}</p>" for p in intro], "<h2>目录 (contents)</h2>", "<ul>"]
    body += [f'<li><a href="#{t.key}">{esc(t.title)}</a></li>' for t in tables]
    body.append("</ul>")
    for t in tables:
        body += [f'<h2 id="{t.key}">{esc(t.title)}</h2>', f"<p class='en'>{esc(t.title_en)}</p>"]
        body += [f"<p class='note'>{esc(n)}</p>" for n in t.notes]
        if t.key in images:
            data = base64.b64encode(images[t.key].read_bytes()).decode("ascii")
            body.append(f'<img alt="{esc(t.title)}" src="data:image/png;base64,{data}">')
        numeric = [c.fmt in ("int", "pct", "gephi", "float") for c in t.columns]
        body.append("<table><thead><tr>" + "".join(f"<th>{esc(c.header)}</th>" for c in t.columns) + "</tr></thead><tbody>")
        for cells in _cells(t):
            body.append("<tr>" + "".join(f"<td class='num'>{esc(v)}</td>" if num else f"<td>{esc(v)}</td>"
                                         for v, num in zip(cells, numeric, strict=True)) + "</tr>")
        body.append("</tbody></table>")
    text = "\n".join(body)
    visible = re.sub(r"<[^>]+>|data:[^\"']+", " ", text)
    page = ("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{esc(title)}</title>\n<style>\n{font_face_css(html.unescape(visible) + title)}\n{_CSS}</style>\n"
            f"</head>\n<body>\n{text}\n</body>\n</html>\n")
    path.write_text(page, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- GEXF and node/edge lists


def _attr(value: str) -> str:
    return html.escape(_XML_INVALID.sub("", value), quote=True)


class NodeInfo:
    """Per-organisation strings for the GEXF and CSV node lists (computed once per edition)."""

    def __init__(self, orgs: OrgTable, tax: Taxonomy) -> None:
        sector, section = org_sectors(orgs, tax)
        self.orgs = orgs
        self.province = [tax.provinces.get(p, "") if p else "" for p in orgs.province]
        self.industry = []
        for div, sec in zip(orgs.division, section, strict=True):
            if div and div in tax.divisions:
                self.industry.append(f"{div} {tax.divisions[div][0]}")
            elif sec:
                self.industry.append(f"{sec} {tax.sections.get(sec, '')}")
            else:
                self.industry.append("")
        self.sector = [SECTORS[s] if s >= 0 else "" for s in sector]


def edge_kinds(edges: YearEdges, events: EventTable) -> list[str]:
    """Per edge, the sorted distinct kinds of its events joined by ``;``."""
    if not edges.n_edges:
        return []
    n_kinds = max(len(events.kinds), 1)
    keys = np.unique(edges.contrib_edge * n_kinds + events.kind[edges.contrib_event])
    out: list[list[str]] = [[] for _ in range(edges.n_edges)]
    for key in keys.tolist():
        out[key // n_kinds].append(events.kinds[key % n_kinds])
    return [";".join(sorted(k)) for k in out]


def write_gexf(edges: YearEdges, events: EventTable, info: NodeInfo, path: Path, *, description: str) -> Path:
    """One yearly network as GEXF 1.2draft (attributes in the module docstring)."""
    orgs = info.orgs
    rows = orgs.index(edges.nodes)
    in_deg, out_deg = edges.degrees()
    kinds = edge_kinds(edges, events)
    out = io.StringIO()
    w = out.write
    w('<?xml version="1.0" encoding="UTF-8"?>\n'
      '<gexf xmlns="http://www.gexf.net/1.2draft" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
      'xsi:schemaLocation="http://www.gexf.net/1.2draft http://www.gexf.net/1.2draft/gexf.xsd" version="1.2">\n'
      f'  <meta>\n    <creator>aimap</creator>\n    <description>{_attr(description)}</description>\n  </meta>\n'
      '  <graph defaultedgetype="directed" mode="static">\n'
      '    <attributes class="node" mode="static">\n'
      '      <attribute id="kind" title="kind" type="string"/>\n'
      '      <attribute id="province" title="province" type="string"/>\n'
      '      <attribute id="is_sample" title="is_sample" type="boolean"/>\n'
      '      <attribute id="industry" title="industry" type="string"/>\n'
      '      <attribute id="sector" title="sector" type="string"/>\n'
      '      <attribute id="in_degree" title="in_degree" type="integer"/>\n'
      '      <attribute id="out_degree" title="out_degree" type="integer"/>\n'
      '      <attribute id="full_name" title="full_name" type="string"/>\n'
      '    </attributes>\n'
      '    <attributes class="edge" mode="static">\n'
      '      <attribute id="first_year" title="first_year" type="integer"/>\n'
      '      <attribute id="kinds" title="kinds" type="string"/>\n'
      '    </attributes>\n    <nodes>\n')
    for i, r in enumerate(rows.tolist()):
        w(f'      <node id="{int(edges.nodes[i])}" label="{_attr(orgs.display[r])}"><attvalues>'
          f'<attvalue for="kind" value="{_attr(orgs.kind[r])}"/>'
          f'<attvalue for="province" value="{_attr(info.province[r])}"/>'
          f'<attvalue for="is_sample" value="{"true" if orgs.is_sample[r] else "false"}"/>'
          f'<attvalue for="industry" value="{_attr(info.industry[r])}"/>'
          f'<attvalue for="sector" value="{_attr(info.sector[r])}"/>'
          f'<attvalue for="in_degree" value="{int(in_deg[i])}"/><attvalue for="out_degree" value="{int(out_deg[i])}"/>'
          f'<attvalue for="full_name" value="{_attr(orgs.name[r])}"/></attvalues></node>\n')
    w("    </nodes>\n    <edges>\n")
    src, dst = edges.provider_ids().tolist(), edges.receiver_ids().tolist()
    for e, (s, t, wt, fy) in enumerate(zip(src, dst, edges.weight.tolist(), edges.first_year.tolist(), strict=True)):
        w(f'      <edge id="{e}" source="{s}" target="{t}" weight="{wt}"><attvalues>'
          f'<attvalue for="first_year" value="{fy}"/><attvalue for="kinds" value="{_attr(kinds[e])}"/>'
          "</attvalues></edge>\n")
    w("    </edges>\n  </graph>\n</gexf>\n")
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def write_network_lists(edges: YearEdges, events: EventTable, info: NodeInfo, directory: Path) -> list[Path]:
    """``nodes.csv`` and ``edges.csv`` of the last year's network (read back by the edition diff)."""
    orgs = info.orgs
    rows = orgs.index(edges.nodes)
    in_deg, out_deg = edges.degrees()
    nodes = [[int(edges.nodes[i]), orgs.display[r], orgs.name[r], orgs.kind[r],
              "true" if orgs.is_sample[r] else "false", info.province[r], info.industry[r], int(in_deg[i]),
              int(out_deg[i]), int(in_deg[i] + out_deg[i])] for i, r in enumerate(rows.tolist())]
    names = {int(n): orgs.display[r] for n, r in zip(edges.nodes.tolist(), rows.tolist(), strict=True)}
    kinds = edge_kinds(edges, events)
    edge_rows = [[s, names[s], t, names[t], w, f, kinds[e]] for e, (s, t, w, f) in enumerate(zip(
        edges.provider_ids().tolist(), edges.receiver_ids().tolist(), edges.weight.tolist(),
        edges.first_year.tolist(), strict=True))]
    return [
        write_rows_csv(directory / "nodes.csv", ["id", "name", "full_name", "kind", "is_sample", "province", "industry",
                                                 "in_degree", "out_degree", "degree"], nodes),
        write_rows_csv(directory / "edges.csv", ["source_id", "source", "target_id", "target", "weight", "first_year",
                                                 "kinds"], edge_rows),
    ]


def write_firms(info: NodeInfo, directory: Path) -> Path:
    """``firms.csv``: every sample firm (id, names, province) — the edition's sample."""
    orgs = info.orgs
    rows = [[int(orgs.ids[r]), orgs.display[r], orgs.name[r], info.province[r]]
            for r in np.flatnonzero(orgs.is_sample).tolist()]
    return write_rows_csv(directory / "firms.csv", ["id", "name", "full_name", "province"], rows)

