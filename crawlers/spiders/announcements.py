"""What the exchange-disclosure spiders (``cninfo``, ``hkex``) share: which stocks to ask for, the
title pre-filter with its counts, and turning a downloaded announcement (PDF or HTML) into a
document — or into a recorded error with its reason.

Stocks: the Scrapy setting ``AIMAP_STOCKS`` (``all`` = every stock the service lists, or a comma
list of codes), else the source's ``api.stocks`` list, else the listed sample firms of the firm
registry in the database whose code fits the source (``api.code_pattern``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

from scrapy.http import Response, TextResponse
from sqlalchemy import select

from crawlers.items import DocumentItem, ErrorItem
from crawlers.pdftext import PdfTextError, extract_pdf_text
from crawlers.prefilter import Decision, clean_title, load_filter
from crawlers.spiders.base import SourceSpider, _header, key_figures, request_url
from db.models import Organisation
from db.session import get_engine, session_factory

ANNUAL_REPORT = "annual_report"


class AnnouncementSpider(SourceSpider):
    """Base of the disclosure-service spiders."""

    def __init__(self, *args: Any, stock_codes: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.title_filter = load_filter(self.source.title_filter, f"{self.source.path}: title_filter")
        self.stock_codes_arg = stock_codes

    # ------------------------------------------------------------------ stocks

    def wanted_stocks(self) -> list[str] | None:
        """Stock codes to query; None = every stock the service lists."""
        setting = (self.stock_codes_arg or self.crawler.settings.get("AIMAP_STOCKS") or "").strip()
        if setting.lower() == "all":
            return None
        if setting:
            return [c.strip() for c in setting.split(",") if c.strip()]
        declared = self.source.api.get("stocks")
        if declared == "all":
            return None
        if isinstance(declared, list) and declared:
            return [str(c) for c in declared]
        pattern = re.compile(self.source.api.get("code_pattern", r"^\d{6}$"))
        with session_factory(get_engine())() as session:
            codes = session.scalars(select(Organisation.stock_code).where(
                Organisation.is_sample.is_(True), Organisation.stock_code.is_not(None)))
            return sorted({c for c in codes if pattern.match(c)})

    # ------------------------------------------------------------------ pre-filter

    def decide(self, title: str | None) -> Decision:
        """The title pre-filter's decision, counted in the stats by reason."""
        decision = self.title_filter.decide(title)
        stats = self.crawler.stats
        stats.inc_value("aimap/prefilter/listed")
        if decision.download:
            stats.inc_value(f"aimap/prefilter/{'financials' if decision.action == 'financials' else 'kept'}")
        else:
            stats.inc_value("aimap/prefilter/skipped")
            stats.inc_value(f"aimap/prefilter/skipped/{decision.reason}")
        return decision

    # ------------------------------------------------------------------ documents

    def announcement(
        self, response: Response, title: str | None = None, published: str | None = None, code: str | None = None,
        doc_type: str | None = None, language: str | None = None,
    ) -> Iterator[DocumentItem | ErrorItem]:
        """A downloaded announcement (PDF, or an HTML page) as a document, or an error with its reason."""
        url = response.url
        body = response.body or b""
        title = clean_title(title) or None
        day = dt.date.fromisoformat(published) if published else None
        if self.since and day and day < self.since:
            return
        if body.lstrip()[:5].startswith(b"%PDF") or url.lower().endswith(".pdf"):
            try:
                pdf = extract_pdf_text(body)
            except PdfTextError as exc:
                yield self.error(url, f"pdf_{exc.kind}", exc.reason, "text", request_url=request_url(response))
                return
            self.crawler.stats.inc_value("aimap/pdf/pages", pdf.pages)
            header = pdf.header_line()
            text = f"{header}\n{pdf.text}" if header else pdf.text
            meta = dict(pdf.header) or None
            encoding = None
        elif isinstance(response, TextResponse):
            meta = None
            response, _ = self.decoded(response)
            text = self.auto_text(response)
            title = title or self.first(response, ["title::text", "h1::text"])
            encoding = response.encoding
            if not text:
                yield self.error(url, "parse_error", "no main text in the announcement page", "text",
                                 request_url=request_url(response))
                return
        else:
            kind = (response.headers.get("Content-Type") or b"?").decode("latin-1")
            yield self.error(url, "unsupported_document", f"announcement is neither PDF nor HTML ({kind})",
                             request_url=request_url(response))
            return
        item = DocumentItem(
            source=self.source.name, url=url, request_url=request_url(response) or url,
            canonical_url=self.canonical(url), http_status=response.status, title=title, text=text,
            published_on=day, language=language or self.source.language, encoding=encoding, raw=body,
            etag=_header(response, "ETag"), last_modified=_header(response, "Last-Modified"), doc_type=doc_type,
            meta=meta,
        )
        if doc_type == ANNUAL_REPORT and self.source.financials:
            figures = key_figures(self.source.financials, text, title or "", code)
            if figures is None:
                yield self.error(url, "parse_error", "annual-report summary without readable key figures",
                                 "financials", request_url=request_url(response))
            else:
                item["financials"] = figures
        yield item
