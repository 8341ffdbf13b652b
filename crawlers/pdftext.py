"""Text of a PDF announcement: pages in order, running headers and footers removed once, the
listed-company header (证券代码 / 证券简称 / 公告编号) kept as metadata.

The library is ``pypdfium2`` (Google's PDFium): chosen by measurement on Chinese (CID-font)
announcements against ``pdfminer.six`` (``benchmarks/bench_pdf.py``; figures in docs/crawlers.md).

A PDF that gives no text is never a crash: :func:`extract_pdf_text` raises :class:`PdfTextError`
with a ``kind`` the crawl records as an error with its reason:

- ``truncated``  — the file ends before its ``%%EOF`` marker (an interrupted download);
- ``encrypted``  — it needs a password;
- ``unreadable`` — PDFium cannot parse it;
- ``scanned``    — pages hold images but no text layer (needs OCR, which aimap does not do);
- ``empty``      — no pages, or pages without any text or image.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

#: The listed-company header printed on announcements (simplified and traditional forms).
HEADER_FIELDS = {
    "stock_code": r"(?:证券代码|證券代碼|股票代码|股票代碼|股份代號)\s*[：:]\s*([0-9A-Za-z]{4,6})",
    "stock_name": r"(?:证券简称|證券簡稱|股票简称|股票簡稱)\s*[：:]\s*(\S+?)(?=\s|公告编号|公告編號|$)",
    "notice_no": r"(?:公告编号|公告編號)\s*[：:]\s*([0-9A-Za-z\-－—_]+)",
}
_HEADER_ANY = re.compile(r"证券代码|證券代碼|股票代码|股票代碼|公告编号|公告編號|证券简称|證券簡稱")
#: Page-number footers: 第 3 页 共 9 页, - 3 -, 3/9, Page 3 of 9.
_PAGE_NO = re.compile(r"^(?:第\s*\d+\s*[页頁](?:\s*[，,/]?\s*共\s*\d+\s*[页頁])?|[-—–]\s*\d+\s*[-—–]|\d+\s*/\s*\d+|"
                      r"(?:page\s*)?\d+(?:\s*of\s*\d+)?)$", re.IGNORECASE)
#: How many lines at the top and bottom of a page may be a running header or footer.
EDGE_LINES = 3
_SENTENCE_END = tuple("。！？；：!?;:」』）)》”\"")


class PdfTextError(ValueError):
    """A PDF that gives no text; ``kind`` says why (truncated, encrypted, unreadable, scanned, empty)."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass
class PdfText:
    """The text of a PDF, its page count, the listed-company header and what was removed."""

    text: str
    pages: int
    header: dict[str, str] = field(default_factory=dict)
    removed_lines: int = 0

    def header_line(self) -> str:
        """The header as one line (证券代码：… 证券简称：… 公告编号：…), empty when there is none."""
        labels = {"stock_code": "证券代码", "stock_name": "证券简称", "notice_no": "公告编号"}
        return " ".join(f"{labels[k]}：{v}" for k, v in self.header.items() if v)


def extract_pdf_text(data: bytes) -> PdfText:
    """Text of the PDF ``data`` in page order without repeated headers/footers; raise :class:`PdfTextError`."""
    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise PdfTextError("unreadable", "not a PDF file (no %PDF signature)")
    if b"%%EOF" not in data[-2048:]:
        raise PdfTextError("truncated", f"PDF ends without %%EOF after {len(data):,} bytes (truncated download)")
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        message = str(exc)
        if "password" in message.lower():
            raise PdfTextError("encrypted", "PDF is encrypted (needs a password)") from exc
        raise PdfTextError("unreadable", f"PDFium cannot open the PDF: {message}") from exc
    try:
        pages, images = _page_lines(pdf)
    finally:
        pdf.close()
    if not pages:
        raise PdfTextError("empty", "PDF has no pages")
    if not any(pages):
        if images:
            raise PdfTextError("scanned", f"{len(pages)} page(s) of images without a text layer (scanned; no OCR)")
        raise PdfTextError("empty", f"{len(pages)} page(s) without any text")
    header = _header(pages)
    body, removed = _strip_running_lines(pages)
    text = "\n".join(_join_wrapped(lines) for lines in body if lines).strip()
    if not text:
        raise PdfTextError("empty", "PDF holds only headers and footers")
    return PdfText(text=text, pages=len(pages), header=header, removed_lines=removed)


def _page_lines(pdf: pdfium.PdfDocument) -> tuple[list[list[str]], int]:
    """Non-empty lines of every page, and how many pages hold images."""
    pages: list[list[str]] = []
    images = 0
    for index in range(len(pdf)):
        page = pdf[index]
        try:
            textpage = page.get_textpage()
            try:
                raw = textpage.get_text_range() if textpage.count_chars() else ""
            finally:
                textpage.close()
            if not raw.strip() and any(True for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2)):
                images += 1
        finally:
            page.close()
        lines = [re.sub(r"[ \t\u3000\xa0]+", " ", line).strip() for line in re.split(r"\r\n|\r|\n", raw)]
        pages.append([line for line in lines if line])
    return pages, images


def _header(pages: list[list[str]]) -> dict[str, str]:
    """证券代码 / 证券简称 / 公告编号 from the top of the first page that has them."""
    for lines in pages:
        top = " ".join(lines[:EDGE_LINES + 2])
        found = {key: m.group(1) for key, rx in HEADER_FIELDS.items() if (m := re.search(rx, top))}
        if found:
            return found
    return {}


def _shape(line: str) -> str:
    """A line's identity across pages: short lines (running titles, dates, page numbers) with digits
    generalised, longer lines exactly (body lines that differ only in a number are not running)."""
    return re.sub(r"\d+", "#", line) if len(line) <= 30 else line


def _strip_running_lines(pages: list[list[str]]) -> tuple[list[list[str]], int]:
    """Remove lines at a page's edges that repeat on many pages, page numbers and the company header."""
    counts: Counter[str] = Counter()
    for lines in pages:
        n = _edge(lines)
        counts.update({_shape(line) for line in lines[:n] + lines[len(lines) - n:]})
    threshold = max(2, (len(pages) + 1) // 2)
    repeated = {shape for shape, n in counts.items() if n >= threshold}
    removed = 0
    out: list[list[str]] = []
    for lines in pages:
        keep = []
        n = _edge(lines)
        for i, line in enumerate(lines):
            edge = i < n or i >= len(lines) - n
            if edge and (_shape(line) in repeated or _PAGE_NO.match(line) or
                         (i < n and _HEADER_ANY.search(line) and len(line) < 80)):
                removed += 1
                continue
            keep.append(line)
        out.append(keep)
    return out, removed


def _edge(lines: list[str]) -> int:
    """How many lines at each end of a page may be running ones: up to :data:`EDGE_LINES`, fewer on a
    short page so that its body is never taken for a header or footer."""
    return max(1, min(EDGE_LINES, len(lines) // 3))


def _join_wrapped(lines: list[str]) -> str:
    """Join lines a paragraph was wrapped into (a full-width line not ending a sentence continues)."""
    if not lines:
        return ""
    width = max(len(line) for line in lines)
    paragraphs = [lines[0]]
    for prev, line in zip(lines, lines[1:], strict=False):
        if len(prev) >= 0.8 * width and not prev.endswith(_SENTENCE_END):
            paragraphs[-1] += line
        else:
            paragraphs.append(line)
    return "\n".join(paragraphs)
