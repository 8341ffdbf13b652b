"""PDF text extraction on Chinese announcements: pypdfium2 (ours) versus pdfminer.six, one core, one run.

    .venv/bin/python benchmarks/bench_pdf.py [--docs 40] [--pages 4] [--dir DIR_WITH_PDFS]

The PDFs are the demo web's kind of announcement: Chinese text in reportlab's built-in CID font
(STSong-Light, the font real announcements' Adobe-GB1 CID text resembles), the 证券代码/证券简称/
公告编号 header on every page and a page-number footer. ``--dir`` measures PDFs found there instead
(e.g. a generated demo world's static PDF host). Printed per library: pages/s and documents/s on
one core, and a check that the text holds the body (every library gets the same files):

- ours: :func:`crawlers.pdftext.extract_pdf_text` (pypdfium2 text + header/footer removal +
  paragraph joining — the whole step the crawler runs);
- pdfminer.six: ``pdfminer.high_level.extract_text`` (layout analysis, text only).

Target (issue 15): >= 20 pages/s on one core.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pdfminer.high_level import extract_text as pdfminer_text
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawlers.pdftext import extract_pdf_text  # noqa: E402

PHRASES = ["本公司与", "签订了《战略合作框架协议》", "双方将在人工智能、云计算和大数据领域", "开展全面合作",
           "共同建设联合实验室", "推动智能制造解决方案落地", "本协议为框架性协议", "具体合作事项以后续签订的协议为准",
           "敬请广大投资者注意投资风险", "特此公告", "董事会", "合作期限为三年"]


def make_pdf(rng: random.Random, pages: int, code: str) -> bytes:
    """A Chinese announcement of ``pages`` pages with header and footer (reportlab, CID font)."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    for p in range(pages):
        c.setFont("STSong-Light", 10)
        c.drawString(60, 800, f"证券代码：{code}    证券简称：某某科技    公告编号：2024-{rng.randint(1, 99):03d}")
        c.setFont("STSong-Light", 12)
        y = 770
        for _ in range(32):
            line = "".join(rng.choice(PHRASES) for _ in range(3))[:38] + "。"
            c.drawString(60, y, line)
            y -= 21
        c.setFont("STSong-Light", 9)
        c.drawString(270, 40, f"第 {p + 1} 页 共 {pages} 页")
        c.showPage()
    c.save()
    return buf.getvalue()


def measure(name: str, files: list[bytes], pages: int, fn: Callable[[bytes], str]) -> float:
    """Time ``fn`` over every file; print pages/s and documents/s; return pages/s."""
    start = time.process_time()
    chars = sum(len(fn(data)) for data in files)
    elapsed = max(time.process_time() - start, 1e-9)
    rate = pages / elapsed
    print(f"{name:<14} {len(files):>4} docs {pages:>5} pages  {elapsed:7.2f} s CPU  "
          f"{rate:8.1f} pages/s  {len(files) / elapsed:7.1f} docs/s  {chars:,} chars")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=40)
    parser.add_argument("--pages", type=int, default=4)
    parser.add_argument("--dir", type=Path, help="measure the PDFs under this directory instead")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    if args.dir:
        files = [p.read_bytes() for p in sorted(args.dir.rglob("*")) if p.suffix.lower() == ".pdf"]
    else:
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
        rng = random.Random(7)
        files = [make_pdf(rng, args.pages, f"{300000 + i:06d}") for i in range(args.docs)]
    readable, pages = [], 0
    for data in files:
        try:
            pages += extract_pdf_text(data).pages
            readable.append(data)
        except ValueError:
            continue
    print(f"{len(files)} PDFs, {len(readable)} with text, {pages} pages (CPU time, one core)")
    ours = measure("pypdfium2", readable, pages, lambda d: extract_pdf_text(d).text)
    other = measure("pdfminer.six", readable, pages, lambda d: pdfminer_text(io.BytesIO(d)))
    sample = extract_pdf_text(readable[0]).text if readable else ""
    print(f"ratio pypdfium2 / pdfminer.six: {ours / max(other, 1e-9):.1f}x; target >= 20 pages/s: "
          f"{'met' if ours >= 20 else 'NOT met'}; header/footer lines left in the first text: "
          f"{sum(1 for line in sample.splitlines() if '证券代码' in line or '页 共' in line)}")


if __name__ == "__main__":
    main()
