"""The ``exchange`` spider: a stock exchange's announcement search API, queried per listed firm.

For every listed sample firm (stock codes from the firm registry in the database, or
``-a stock_codes=600123,000001``) it pages through the JSON search API for the date range
(``-a since=YYYY-MM-DD`` .. today), follows each announcement to its detail page and stores it
as a document. Annual-report summaries also yield the firm's key figures (revenue, R&D expense)
by the source's ``financials`` patterns, which the pipeline writes to ``firm_financials``.

The API's shape (parameter names, where the items, page count and item URL are) is declared
in the source file's ``api`` section, so another exchange is a YAML change.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import scrapy
from scrapy.http import Response
from sqlalchemy import select

from crawlers.spiders.base import SourceSpider, key_figures
from db.models import Organisation
from db.session import get_engine, session_factory


class ExchangeSpider(SourceSpider):
    """Per-firm announcement search -> detail pages (+ annual-report key figures)."""

    name = "exchange"

    def __init__(self, *args: Any, stock_codes: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stock_codes = [c.strip() for c in stock_codes.split(",") if c.strip()] if stock_codes else None

    def registry_codes(self) -> list[str]:
        """Stock codes of the listed sample firms in the database (the firm registry)."""
        with session_factory(get_engine())() as session:
            return sorted(session.scalars(select(Organisation.stock_code).where(
                Organisation.is_sample.is_(True), Organisation.stock_code.is_not(None))))

    def api_request(self, code: str, page: int) -> scrapy.Request:
        """The search request for one stock code and page."""
        api = self.source.api
        names = api.get("params", {})
        params = {
            names.get("code", "stock_code"): code,
            names.get("start", "start"): (self.since or dt.date(1990, 1, 1)).isoformat(),
            names.get("end", "end"): dt.date.today().isoformat(),
            names.get("page", "page"): page,
            names.get("page_size", "page_size"): api.get("page_size", 50),
        }
        url = self.source.resolve(api["url"], self.base_url) + "?" + urlencode(params)
        return scrapy.Request(url, callback=self.parse_api, errback=self.on_error, cb_kwargs={"code": code})

    async def start(self) -> AsyncIterator[Any]:
        """Unfinished requests of an interrupted run, then page 1 for every stock code."""
        for request in self.resumed_requests():
            yield request
        codes = self.stock_codes if self.stock_codes is not None else self.registry_codes()
        self.crawler.stats.set_value("aimap/exchange/stock_codes", len(codes))
        if not codes:
            self.logger.warning("no listed sample firms in the registry: nothing to query")
        for code in codes:
            yield self.api_request(code, 1)

    def parse_api(self, response: Response, code: str | None = None) -> Iterator[Any]:
        """One page of search results: follow every announcement, then the next page."""
        api = self.source.api
        code = code or _query_value(response.url, api.get("params", {}).get("code", "stock_code"))
        try:
            data = json.loads(response.text)
            items = data[api.get("items", "items")]
            pages = int(data.get(api.get("pages", "pages"), 1))
        except (ValueError, KeyError, TypeError) as exc:
            yield self.error(response.url, "parse_error", f"unexpected API answer: {exc}",
                             request_url=response.request.url if response.request else None)
            return
        for entry in items:
            day = entry.get(api.get("item_date", "date"), "")
            if self.since and day and day < self.since.isoformat():
                continue
            yield response.follow(
                entry[api.get("item_url", "url")], callback=self.parse_detail, errback=self.on_error,
                cb_kwargs={"code": code, "doc_type": entry.get(api.get("item_type", "type"))},
            )
        page = int(_query_value(response.url, api.get("params", {}).get("page", "page")) or 1)
        if page < pages and code:
            yield self.api_request(code, page + 1)

    def parse_detail(self, response: Response, code: str | None = None, doc_type: str | None = None) -> Iterator[Any]:
        """An announcement page; annual reports carry the firm's key figures."""
        for item in self.article(response, doc_type=doc_type):
            if doc_type == self.source.financials.get("type") and "text" in item.fields and item.get("text"):
                figures = self.financials(item["text"], item.get("title") or "", code)
                if figures is None:
                    yield self.error(response.url, "parse_error", "annual report without readable key figures",
                                     "financials", request_url=response.request.url if response.request else None)
                else:
                    item["financials"] = figures
            yield item

    def financials(self, text: str, title: str, code: str | None) -> dict[str, Any] | None:
        """Fiscal year, revenue and R&D expense (yuan) by the source's patterns, or None."""
        return key_figures(self.source.financials, text, title, code)


def _query_value(url: str, name: str) -> str | None:
    values = parse_qs(urlsplit(url).query).get(name)
    return values[-1] if values else None
