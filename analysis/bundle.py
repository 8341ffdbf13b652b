"""Generic writers of tables as files: CSV, XLSX, Markdown and HTML (the report, the index, the comparison).

Every writer is deterministic: the same tables give byte-identical files (no timestamps in file
contents; the XLSX zip entries and document properties carry a fixed date, the edition's data
cutoff; chart files are reproducible, see :mod:`analysis.charts`).

- **CSV**: UTF-8 with a byte-order mark (Excel opens it as UTF-8), machine column names in the
  header, values as displayed (shares 2 decimals, Gephi statistics 3 decimals half-even).
- **XLSX**: one sheet per table (sheet name = table key, or the names given), header row, numbers
  as numbers with a number format (shares as real percentages, ``0.00%``), an autofilter on the
  header, notes under the table; a first sheet ``contents`` lists every table with a link to it.
- **Markdown / HTML**: every table with its title, notes (Chinese, then English) and chart; long
  tables cut (Markdown) or collapsed (HTML). Text from the data is escaped: HTML entirely
  (``html.escape``), Markdown by :func:`md_text` / :func:`md_cell` (no raw HTML tag survives, a
  ``|`` or line break in a name does not break a table).
- **Formula injection**: every text cell of every CSV and XLSX goes through :func:`safe_cell`
  (OWASP "CSV Injection": a cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return
  gets a leading single quote, so no spreadsheet evaluates it); numbers stay numbers.
- The HTML is self-contained: charts embedded as base64
  PNG, and the CJK font embedded as a WOFF subset (Noto Sans CJK SC from ``mplfonts``, only the
  characters the page uses), so Chinese renders without missing-glyph boxes on a machine without
  CJK fonts; print CSS gives A4 pages, one section per page.

The report's own document (front page, sections, findings, methods) is :mod:`analysis.document`;
the network files (GEXF, node/edge lists) are :mod:`analysis.network_files`.
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
from analysis.metrics import gephi_round
from analysis.presentation import Table
from common.tabular import safe_cell


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


# --------------------------------------------------------------------------- safe text
# (formula neutralisation of exported cells: :func:`common.tabular.safe_cell`, the one home shared with etl/)


def is_number(value: Any) -> bool:
    """A real number (Python or numpy), not a bool."""
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool | np.bool_)


_ENTITY = re.compile(r"&(?=#?\w+;)")
_PIPE = re.compile(r"(\\*)\|")


def md_text(text: str) -> str:
    """Data text for Markdown: no raw HTML (``<``, ``>`` and an entity-like ``&`` escaped as entities).

    A name such as ``<script>`` shows as text in every Markdown renderer instead of becoming a tag.
    """
    return _ENTITY.sub("&amp;", str(text)).replace("<", "&lt;").replace(">", "&gt;")


def md_cell(text: str) -> str:
    """Data text for a Markdown table cell: :func:`md_text` on one line, ``|`` escaped (it would end the cell)."""
    one_line = md_text(text).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return _PIPE.sub(lambda m: m.group(1) * 2 + "\\|", one_line)  # backslashes before a pipe doubled too


def _csv_cells(table: Table) -> list[list[str]]:
    """Rows of a table as CSV fields: displayed values, text made safe (:func:`safe_cell`), numbers as they are."""
    return [[format_value(v, c.fmt) if is_number(v) else safe_cell(format_value(v, c.fmt))
             for v, c in zip(row, table.columns, strict=True)] for row in table.rows]


# --------------------------------------------------------------------------- CSV / XLSX


def write_csv(table: Table, directory: Path) -> Path:
    """``<key>.csv`` (UTF-8 with BOM), header = machine column names."""
    path = directory / f"{table.key}.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow([c.name for c in table.columns])
        writer.writerows(_csv_cells(table))
    return path


def write_rows_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    """A plain CSV (UTF-8 with BOM); text fields made safe (:func:`safe_cell`)."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow([safe_cell(h) for h in header])
        writer.writerows([safe_cell(v) for v in row] for row in rows)
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


def _xlsx_value(value: Any, fmt: str, percent: bool) -> Any:
    """A cell value for Excel: numpy scalars as Python numbers; with ``percent``, shares (0-100) as fractions."""
    if isinstance(value, np.generic):
        value = value.item()
    if percent and fmt == "pct" and isinstance(value, int | float) and not isinstance(value, bool):
        return value / 100.0
    return safe_cell(value)


def write_xlsx(tables: Sequence[Table], path: Path, *, title: str, when: tuple[int, int, int],
               sheet_names: Sequence[str] | None = None, front: Sequence[tuple[str, str]] | None = None,
               percent: bool = False) -> Path:
    """An XLSX: (a ``封面`` front-page sheet,) a ``contents`` sheet linking every table, one sheet per table.

    ``sheet_names`` default to the table keys (at most 31 characters). Every table sheet has its
    title, a header row with an autofilter, frozen panes, number formats and its notes below.
    ``percent``: shares (``pct`` columns, 0-100) become real percentages (value / 100, ``0.00%``).
    Every text cell goes through :func:`safe_cell` (a name starting with ``=`` is text, not a formula).
    """
    from openpyxl import Workbook  # deferred: heavy, only the XLSX files need it
    from openpyxl.styles import Font  # deferred: as above
    from openpyxl.worksheet.hyperlink import Hyperlink  # deferred: as above

    names = [n[:31] for n in (sheet_names or [t.key for t in tables])]
    wb = Workbook()
    contents = wb.active
    if front:
        contents.title = "封面"
        contents.append([safe_cell(title)])
        contents["A1"].font = Font(bold=True, size=14)
        for label, text in front:
            contents.append([safe_cell(label), safe_cell(text)])
        contents.column_dimensions["A"].width = 36
        contents.column_dimensions["B"].width = 110
        contents = wb.create_sheet("contents")
    contents.title = "contents"
    contents.append([safe_cell(title)])
    contents["A1"].font = Font(bold=True)
    contents.append(["sheet", "title", "title (en)"])
    for table, name in zip(tables, names, strict=True):
        contents.append([safe_cell(name), safe_cell(table.title), safe_cell(table.title_en)])
        link = contents.cell(row=contents.max_row, column=1)
        link.hyperlink = Hyperlink(ref=link.coordinate, location=f"'{name}'!A1", display=name)  # in-workbook
        link.font = Font(color="0563C1", underline="single")
        ws = wb.create_sheet(name)
        ws.append([safe_cell(table.title)])
        ws["A1"].font = Font(bold=True)
        ws.append([safe_cell(c.header) for c in table.columns])
        for row in table.rows:
            ws.append([_xlsx_value(v, c.fmt, percent) for v, c in zip(row, table.columns, strict=True)])
        for j, col in enumerate(table.columns, 1):
            fmt = "0.00%" if percent and col.fmt == "pct" else _XLSX_FORMATS.get(col.fmt)
            if fmt:
                for (cell,) in ws.iter_rows(min_row=3, max_row=ws.max_row, min_col=j, max_col=j):
                    cell.number_format = fmt
            ws.column_dimensions[cell_letter(j)].width = max(10, min(40, len(col.header) * 2))
        ws.auto_filter.ref = f"A2:{cell_letter(len(table.columns))}{len(table.rows) + 2}"
        if table.notes:
            ws.append([])
            for note in table.notes:
                for line in split_note(note):
                    if line:
                        ws.append([safe_cell(line)])
        ws.freeze_panes = "A3"
    contents.column_dimensions["A"].width = 16
    contents.column_dimensions["B"].width = 60
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
    lines = ["| " + " | ".join(md_cell(c.header) for c in table.columns) + " |",
             "|" + "|".join("---:" if c.fmt in ("int", "pct", "gephi", "float") else "---" for c in table.columns) + "|"]
    for cells in _cells(table):
        lines.append("| " + " | ".join(md_cell(c) for c in cells) + " |")
    return lines


def split_note(note: str) -> tuple[str, str]:
    """A note's Chinese text and its English (after the first line break; "" when it has none)."""
    zh, _, en = note.partition("\n")
    return zh, en


def note_markdown(note: str) -> list[str]:
    """A note as Markdown quote lines: the Chinese, then the English in italics."""
    zh, en = split_note(note)
    return [f"> {md_text(zh)}"] + ([">", f"> *{md_text(en)}*"] if en else [])


#: Tables longer than this are collapsed in the HTML (<details>) and cut in the Markdown.
LONG_TABLE = 40


def table_markdown(t: Table, charts: dict[str, str], *, heading: str = "##") -> list[str]:
    """One table's Markdown block: anchor, title, English title, notes, chart, rows (long ones cut)."""
    lines = ["", f'<a id="{t.key}"></a>', "", f"{heading} {md_text(t.title)}", "", f"*{md_text(t.title_en)}*", ""]
    for n in t.notes:
        lines += [*note_markdown(n), ""]
    if t.key in charts:
        lines += [f"![{md_text(t.title)}]({charts[t.key]})", ""]
    table = markdown_table(t)
    if len(t.rows) > LONG_TABLE:
        table = table[: 2 + LONG_TABLE // 2] + [
            "", f"*（仅列前 {LONG_TABLE // 2} 行，全部 {len(t.rows)} 行见 {t.key}.csv / first {LONG_TABLE // 2} of "
                f"{len(t.rows)} rows; all in {t.key}.csv）*"]
    return lines + table


def write_markdown(tables: Sequence[Table], path: Path, *, title: str, intro: Sequence[str],
                   charts: dict[str, str]) -> Path:
    """A Markdown document: every table with its notes and chart (relative link to the PNG)."""
    lines = [f"# {md_text(title)}", "", *[md_text(p) for p in intro], "", "## 目录 (contents)", ""]
    lines += [f"- [{md_text(t.title)}](#{t.key})" for t in tables]
    for t in tables:
        lines += table_markdown(t, charts)
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
       sans-serif; margin: 2em auto; max-width: 1100px; color: #222; line-height: 1.6; padding: 0 1em; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; } h2 { font-size: 1.35em; margin-top: 2.4em; border-bottom: 2px solid #c0392b; }
h3 { font-size: 1.1em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.8em 0; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; vertical-align: top; } th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #444; font-size: 0.9em; margin: 0.3em 0; } .note .en { display: block; }
img { max-width: 100%; } .en { color: #777; font-style: italic; }
.front { border: 1px solid #bbb; background: #fafafa; padding: 0.8em 1.2em; margin: 1em 0 2em; }
.front table { width: 100%; font-size: 0.9em; } .front th { width: 26%; text-align: left; background: #f0f0f0; }
.warn { color: #a00; font-weight: bold; } .findings { background: #f6f9fc; border-left: 4px solid #2e86c1;
  padding: 0.5em 1em; } .findings li { margin: 0.2em 0; }
details summary { cursor: pointer; color: #2e86c1; margin: 0.4em 0; }
nav.toc { font-size: 0.9em; } nav.toc ul ul { columns: 2; margin-bottom: 0.4em; }
ul.related { font-size: 0.9em; margin-top: 0; } .methods p { text-align: justify; }
@media print {
  body { max-width: none; margin: 0; font-size: 10.5pt; } a { color: inherit; text-decoration: none; }
  h2 { break-before: page; } h3, .front, figure, img { break-inside: avoid; } tr { break-inside: avoid; }
  nav.toc, details summary { display: none; } details > table { display: table; }
  @page { size: A4; margin: 18mm 15mm; }
}
"""


def table_html(t: Table, images: dict[str, Path], *, heading: str = "h2") -> list[str]:
    """One table's HTML block: title, English title, notes (Chinese, then English), chart, rows.

    Tables longer than :data:`LONG_TABLE` rows are collapsed into a ``<details>`` element.
    """
    esc = html.escape
    body = [f'<{heading} id="{t.key}">{esc(t.title)}</{heading}>', f"<p class='en'>{esc(t.title_en)}</p>"]
    for n in t.notes:
        zh, en = split_note(n)
        body.append(f"<p class='note'>{esc(zh)}" + (f"<span class='en'>{esc(en)}</span>" if en else "") + "</p>")
    if t.key in images:
        data = base64.b64encode(images[t.key].read_bytes()).decode("ascii")
        body.append(f'<img alt="{esc(t.title)}" src="data:image/png;base64,{data}">')
    numeric = [c.fmt in ("int", "pct", "gephi", "float") for c in t.columns]
    rows = ["<table><thead><tr>" + "".join(f"<th>{esc(c.header)}</th>" for c in t.columns) + "</tr></thead><tbody>"]
    for cells in _cells(t):
        rows.append("<tr>" + "".join(f"<td class='num'>{esc(v)}</td>" if num else f"<td>{esc(v)}</td>"
                                     for v, num in zip(cells, numeric, strict=True)) + "</tr>")
    rows.append("</tbody></table>")
    if len(t.rows) > LONG_TABLE:
        rows = [f"<details><summary>展开全部 {len(t.rows)} 行 (show all {len(t.rows)} rows)</summary>", *rows,
                "</details>"]
    return body + rows


def html_page(title: str, body: Sequence[str]) -> str:
    """A self-contained HTML page: the CJK font subset to the page's characters, the report CSS."""
    esc = html.escape
    text = "\n".join(body)
    visible = re.sub(r"<[^>]+>|data:[^\"']+", " ", text)
    return ("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{esc(title)}</title>\n<style>\n{font_face_css(html.unescape(visible) + title)}\n{_CSS}</style>\n"
            f"</head>\n<body>\n{text}\n</body>\n</html>\n")


def write_html(tables: Sequence[Table], path: Path, *, title: str, intro: Sequence[str],
               images: dict[str, Path]) -> Path:
    """A self-contained HTML document of ``tables`` (charts as base64 PNG, CJK font subset embedded)."""
    esc = html.escape
    body = [f"<h1>{esc(title)}</h1>", *[f"<p class='note'>{esc(p)}</p>" for p in intro], "<h2>目录 (contents)</h2>", "<ul>"]
    body += [f'<li><a href="#{t.key}">{esc(t.title)}</a></li>' for t in tables]
    body.append("</ul>")
    for t in tables:
        body += table_html(t, images)
    path.write_text(html_page(title, body), encoding="utf-8")
    return path
