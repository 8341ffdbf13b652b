"""PDF text of Chinese announcements (crawlers/pdftext.py): page order, running headers/footers removed,
the 证券代码/公告编号 header kept as metadata; scanned, empty, encrypted, truncated and non-PDF files
give an error kind with its reason, never an exception of another type."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from crawlers.pdftext import PdfTextError, extract_pdf_text

pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
HEADER = "证券代码：300750    证券简称：某某科技    公告编号：2024-017"


def _pdf(pages: list[list[str]], *, header: str | None = HEADER, footer: bool = True, image: bool = False,
         encrypt: str | None = None) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, encrypt=encrypt)
    for number, lines in enumerate(pages, 1):
        if header:
            c.setFont("STSong-Light", 10)
            c.drawString(60, 800, header)
        c.setFont("STSong-Light", 12)
        for i, line in enumerate(lines):
            c.drawString(60, 770 - 20 * i, line)
        if image:
            c.drawImage(ImageReader(Image.new("RGB", (40, 40), "gray")), 100, 400, 200, 200)
        if footer:
            c.setFont("STSong-Light", 9)
            c.drawString(270, 40, f"第 {number} 页 共 {len(pages)} 页")
        c.showPage()
    c.save()
    return buf.getvalue()


BODY = [[f"第{p}页正文第{i}行：本公司与合作方就人工智能平台建设达成一致意见，详见附件{p}{i}。" for i in range(8)]
        for p in range(1, 4)]


def test_text_in_page_order_without_running_headers_and_footers():
    result = extract_pdf_text(_pdf(BODY))
    assert result.pages == 3
    assert result.header == {"stock_code": "300750", "stock_name": "某某科技", "notice_no": "2024-017"}
    lines = result.text.splitlines()
    assert lines == [line for page in BODY for line in page]  # every body line, in order, once
    assert "证券代码" not in result.text and "页 共" not in result.text
    assert result.removed_lines == 6 and result.header_line() == "证券代码：300750 证券简称：某某科技 公告编号：2024-017"


def test_traditional_header_and_a_single_page():
    result = extract_pdf_text(_pdf([["本公司與某公司訂立戰略合作框架協議。"]], header="股份代號：00700  公告編號：2024-01"))
    assert result.header == {"stock_code": "00700", "notice_no": "2024-01"}
    assert result.text == "本公司與某公司訂立戰略合作框架協議。"


@pytest.mark.parametrize(("make", "kind", "words"), [
    (lambda: _pdf([[], []], header=None, footer=False, image=True), "scanned", "without a text layer"),
    (lambda: _pdf([[], []], header=None, footer=False), "empty", "without any text"),
    (lambda: _pdf(BODY, encrypt="secret"), "encrypted", "password"),
    (lambda: _pdf(BODY)[:3000], "truncated", "truncated download"),
    (lambda: b"<html><body>not found</body></html>", "unreadable", "not a PDF"),
    (lambda: b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n", "unreadable", "PDFium"),
])
def test_pdf_faults_are_recorded_errors_with_a_reason(make, kind, words):
    with pytest.raises(PdfTextError) as caught:
        extract_pdf_text(make())
    assert caught.value.kind == kind and words in caught.value.reason
