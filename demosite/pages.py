"""Page records shared by the site renderers: what a page is, and what it truly says.

Each renderer (newsrooms, exchange, government portals, media) returns :class:`Page` objects;
:mod:`demosite.render` writes them, sets their modification times (served as
``Last-Modified``) and exports every :class:`DocTruth` as the documents' ground truth.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field
from typing import Any

from demosite.phrasing import Written

escape = html.escape


@dataclass
class DocTruth:
    """Ground truth of one document (an article-like page a crawler should store).

    ``events`` are the cooperation events the page reports as news; ``historical`` the earlier
    events it recalls as background (still relations of their own year); ``terminated`` the
    events whose end it announces; ``negatives`` pairs named together without a cooperation.
    ``syndicates`` names the event whose report this page rewrites (the same event on several
    sites). ``crawlable`` is False for robots-disallowed pages; ``fault`` names an injected
    server fault (``gone`` pages are listed but answer 404).
    """

    url: str
    site: str
    source: str
    kind: str
    title: str
    published: dt.date
    language: str = "zh-Hans"
    encoding: str = "utf-8"
    events: list[str] = field(default_factory=list)
    historical: list[str] = field(default_factory=list)
    terminated: list[str] = field(default_factory=list)
    negatives: list[tuple[str, str]] = field(default_factory=list)
    syndicates: str | None = None
    crawlable: bool = True
    fault: str | None = None
    malformed: bool = False
    written: Written = field(default_factory=Written)
    text: str = ""

    def as_json(self) -> dict[str, Any]:
        """JSON-ready, deterministic form."""
        return {
            "url": self.url,
            "site": self.site,
            "source": self.source,
            "kind": self.kind,
            "title": self.title,
            "published": self.published.isoformat(),
            "language": self.language,
            "encoding": self.encoding,
            "events": self.events,
            "historical": self.historical,
            "terminated": self.terminated,
            "negatives": [list(p) for p in self.negatives],
            "syndicates": self.syndicates,
            "crawlable": self.crawlable,
            "fault": self.fault,
            "malformed": self.malformed,
            **self.written.as_json(),
            "text": self.text,
        }


@dataclass
class Page:
    """A file of the site: its path, bytes, modification date and, for documents, its truth."""

    path: str  # site-relative, starting with "/"
    body: bytes
    modified: dt.date
    truth: DocTruth | None = None


def html_page(
    title: str,
    body: str,
    *,
    body_class: str = "",
    head_extra: str = "",
    lang: str = "zh-CN",
    charset: str = "utf-8",
) -> str:
    """A complete HTML document (the caller encodes it)."""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{lang}">\n<head>\n<meta charset="{charset}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n{head_extra}</head>\n"
        f'<body class="{body_class}">\n{body}</body>\n</html>\n'
    )


def malform(document: str) -> str:
    """Break an HTML document the way sloppy CMSs do: unclosed paragraphs and a stray tag."""
    return document.replace("</p>", "", 2).replace("</body>", "<div class=\"ad\"><span>广告</body>", 1)
