"""Announcement PDFs of the demo web's disclosure services (cninfo, HKEXnews), generated with reportlab.

A PDF is described by a *spec* (a JSON-ready dict the renderer writes to ``<out>/server/pdfs.json``);
:func:`build_pdf` turns a spec into bytes. The server builds a PDF on its first request and keeps it
(see :mod:`demosite.server`): rendering a world stays fast however many announcements it has, and the
bytes are deterministic (reportlab's ``invariant`` mode: fixed creation date and document id), so
ETags are stable across server restarts.

Fonts are reportlab's built-in CID fonts (no font file, no download): ``STSong-Light`` (Adobe-GB1,
simplified Chinese), ``MSung-Light`` (Adobe-CNS1, traditional Chinese) and Helvetica for English.

Every page carries the header line (证券代码/证券简称/公告编号 on cninfo, 股份代號 on HKEX) and a page
footer (第 x 页 共 n 页); the first page the company name and the title. :func:`body_text` is the text a
perfect extractor returns without headers and footers (the ground truth's ``text``).

Faults (``spec["fault"]``), recorded in the ground truth:

- ``scanned``: each page is an image of text lines (no text layer);
- ``empty``: one blank page, no text at all;
- ``encrypted``: RC4/AES-protected with a user password the crawler does not have;
- ``truncated``: a valid PDF whose download the server cuts short (Content-Length promises the whole
  file, the connection closes half-way) — the bytes here are complete.
"""

from __future__ import annotations

import io
import random
from functools import lru_cache
from typing import Any

from PIL import Image, ImageDraw
from reportlab.lib.pagesizes import A4
from reportlab.lib.pdfencrypt import StandardEncryption
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

FAULTS: tuple[str, ...] = ("scanned", "empty", "encrypted", "truncated")
FONTS = {"zh-Hans": "STSong-Light", "zh-Hant": "MSung-Light", "en": "Helvetica"}
FOOTERS = {"zh-Hans": "第 {page} 页 共 {pages} 页", "zh-Hant": "第 {page} 頁 共 {pages} 頁", "en": "Page {page} of {pages}"}
USER_PASSWORD = "aimap-demo-user"  # nobody crawling has it: the encrypted fault cannot be read
_WIDTH, _HEIGHT = A4
_MARGIN = 60.0
_BODY_SIZE = 12.0
_LEADING = 20.0
_TOP = _HEIGHT - 90.0
_BOTTOM = 70.0
_registered: set[str] = set()
_NO_LINE_START = set("，。、；：？！）》」』”’,.;:?!)")


def _font(language: str) -> str:
    name = FONTS.get(language, FONTS["zh-Hans"])
    if name != "Helvetica" and name not in _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(name))
        _registered.add(name)
    return name


@lru_cache(maxsize=20000)
def _char_width(ch: str, font: str, size: float) -> float:
    return pdfmetrics.stringWidth(ch, font, size)


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` (CJK anywhere; Latin at spaces when it can)."""
    lines: list[str] = []
    for raw in text.split("\n"):
        line, used = "", 0.0
        for ch in raw:
            w = _char_width(ch, font, size)
            if used + w <= width:
                line, used = line + ch, used + w
                continue
            if ch in _NO_LINE_START:  # Chinese typesetting: closing punctuation hangs, never opens a line
                line, used = line + ch, used + w
                continue
            cut = line.rfind(" ") if ch != " " and font == "Helvetica" else -1
            if cut > 0:
                lines.append(line[:cut])
                line = line[cut + 1:] + ch
            else:
                lines.append(line)
                line = ch.lstrip()
            used = pdfmetrics.stringWidth(line, font, size)
        lines.append(line)
    return lines


def padded_paragraphs(spec: dict[str, Any]) -> list[str]:
    """The body paragraphs, extended with numbered filler sections up to the spec's page count."""
    paragraphs = list(spec["paragraphs"])
    target = int(spec.get("pages", 1))
    if target <= 1:
        return paragraphs
    font = _font(spec.get("language", "zh-Hans"))
    rng = random.Random(spec.get("seed", spec["title"]))
    english = spec.get("language") == "en"
    width = _WIDTH - 2 * _MARGIN
    per_page = int((_TOP - _BOTTOM) // _LEADING)
    lines = sum(len(_layout(spec, paragraphs, font)[i]) for i in range(len(_layout(spec, paragraphs, font))))
    section = 1
    while lines <= (target - 1) * per_page:
        base = rng.choice(spec["paragraphs"]) if spec["paragraphs"] else spec["title"]
        if english:
            extra = f"Section {section}. {base} Details are set out in this announcement."
        else:
            extra = f"（{section}）{base}具体情况详见本公告正文相关内容。"
        paragraphs.append(extra)
        lines += len(_wrap(extra, font, _BODY_SIZE, width))
        section += 1
    return paragraphs


def body_text(spec: dict[str, Any]) -> str:
    """What a perfect extractor reads: the body paragraphs in order, one per line ("" for faulty PDFs)."""
    if spec.get("fault") in ("scanned", "empty", "encrypted"):
        return ""
    return "\n".join(padded_paragraphs(spec))


def _layout(spec: dict[str, Any], paragraphs: list[str], font: str) -> list[list[tuple[str, float, bool]]]:
    """Pages of (line, size, centred); the first page opens with the company and the title."""
    width = _WIDTH - 2 * _MARGIN
    items: list[tuple[str, float, bool]] = []
    for text, size in ((spec.get("company", ""), 15.0), (spec["title"], 15.0)):
        items += [(line, size, True) for line in _wrap(text, font, size, width) if line]
    items.append(("", _BODY_SIZE, False))
    for p in paragraphs:
        items += [(line, _BODY_SIZE, False) for line in _wrap(p, font, _BODY_SIZE, width)]
    per_page = int((_TOP - _BOTTOM) // _LEADING)
    return [items[i:i + per_page] for i in range(0, len(items), per_page)] or [[]]


def _scanned_page(seed: str, lines: int) -> ImageReader:
    """A grey "photocopy" of text lines: bars of ink, no characters, no text layer."""
    rng = random.Random(seed)
    img = Image.new("L", (496, 702), 250)
    draw = ImageDraw.Draw(img)
    y = 60
    for _ in range(min(lines, 30)):
        x = 40
        while x < 440:
            w = rng.randint(8, 14)
            draw.rectangle((x, y, x + w, y + 10), fill=rng.randint(40, 90))
            x += w + rng.randint(2, 5)
        y += 20
    return ImageReader(img)


def build_pdf(spec: dict[str, Any]) -> bytes:
    """The PDF of ``spec`` (deterministic bytes; see the module docstring for the faults)."""
    language = spec.get("language", "zh-Hans")
    font = _font(language)
    fault = spec.get("fault")
    buf = io.BytesIO()
    encrypt = StandardEncryption(USER_PASSWORD, ownerPassword=USER_PASSWORD + "-owner", strength=128) \
        if fault == "encrypted" else None
    pdf = canvas.Canvas(buf, pagesize=A4, invariant=1, pageCompression=1, encrypt=encrypt)
    pdf.setTitle(spec["title"])
    if fault == "empty":
        pdf.showPage()
        pdf.save()
        return buf.getvalue()
    pages = _layout(spec, padded_paragraphs(spec), font)
    for number, lines in enumerate(pages, start=1):
        if fault == "scanned":
            pdf.drawImage(_scanned_page(f"{spec['title']}:{number}", len(lines)), 0, 0, _WIDTH, _HEIGHT)
            pdf.showPage()
            continue
        pdf.setFont(font, 9)
        pdf.drawString(_MARGIN, _HEIGHT - 50, spec.get("header", ""))
        pdf.line(_MARGIN, _HEIGHT - 56, _WIDTH - _MARGIN, _HEIGHT - 56)
        y = _TOP
        for line, size, centred in lines:
            pdf.setFont(font, size)
            if centred:
                pdf.drawCentredString(_WIDTH / 2, y, line)
            else:
                pdf.drawString(_MARGIN, y, line)
            y -= _LEADING
        pdf.setFont(font, 9)
        pdf.drawCentredString(_WIDTH / 2, 40, FOOTERS.get(language, FOOTERS["zh-Hans"])
                              .format(page=number, pages=len(pages)))
        pdf.showPage()
    pdf.save()
    return buf.getvalue()


def page_count(spec: dict[str, Any]) -> int:
    """Pages of the PDF of ``spec`` (1 for the empty fault)."""
    if spec.get("fault") == "empty":
        return 1
    return len(_layout(spec, padded_paragraphs(spec), _font(spec.get("language", "zh-Hans"))))
