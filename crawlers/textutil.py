"""Small helpers the spiders share: URL canonicalisation, date parsing, main text."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit, urlunsplit

from lxml import etree
from parsel import Selector

_WS = re.compile(r"[ \t\r\f\v\u3000\xa0]+")
#: What parsel's ``::text`` selects (``descendant-or-self::text()``), compiled once, plain strings.
_TEXT_NODES = etree.XPath("descendant-or-self::text()", smart_strings=False)


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


def main_text(selector: Selector, css: str, fast: bool = True) -> str:
    """Paragraph texts under ``css`` joined by newlines, whitespace collapsed.

    Each matched node's text nodes are read with one compiled XPath on its lxml element (``fast``),
    the same text nodes as parsel's ``node.css("::text").getall()`` (``fast=False``, the previous
    path) without a Selector object per node and text node: the same result at a fraction of the cost.
    """
    paragraphs = []
    for node in selector.css(css):
        root = node.root
        if fast and isinstance(root, etree._Element):
            parts = _TEXT_NODES(root)
        else:  # a selector that ends in ::text or @attr selects strings
            parts = node.css("::text").getall()
        text = _WS.sub(" ", " ".join(parts)).strip()
        if text:
            paragraphs.append(text)
    return "\n".join(paragraphs)
