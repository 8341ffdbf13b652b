"""Small helpers the spiders share: URL canonicalisation, date parsing, main text."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit, urlunsplit

from parsel import Selector

_WS = re.compile(r"[ \t\r\f\v\u3000\xa0]+")


def canonical_url(url: str) -> str:
    """Normalise a URL for identity: lower-case scheme/host, no fragment, no default port,
    ``/index.html`` kept (a server may treat it differently from ``/``)."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    port = parts.port
    netloc = host if port is None or (parts.scheme, port) in {("http", 80), ("https", 443)} else f"{host}:{port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


def parse_date(text: str | None, formats: list[str]) -> dt.date | None:
    """The first date in ``text`` readable with one of ``formats`` (None when there is none).

    Prefixes such as ``发布时间：`` are tolerated: each format is tried on every date-looking
    substring (``2019-03-12``, ``2019年3月12日``, ``2019/03/12``).
    """
    if not text:
        return None
    candidates = re.findall(r"\d{4}\s*[-/年.]\s*\d{1,2}\s*[-/月.]\s*\d{1,2}\s*日?", text)
    for candidate in candidates:
        cleaned = re.sub(r"\s+", "", candidate)
        for fmt in formats:
            try:
                return dt.datetime.strptime(cleaned, fmt).date()
            except ValueError:
                continue
    return None


def main_text(selector: Selector, css: str) -> str:
    """Paragraph texts under ``css`` joined by newlines, whitespace collapsed."""
    paragraphs = []
    for node in selector.css(css):
        text = _WS.sub(" ", " ".join(node.css("::text").getall())).strip()
        if text:
            paragraphs.append(text)
    return "\n".join(paragraphs)
