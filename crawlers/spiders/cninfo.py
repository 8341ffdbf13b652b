"""The ``cninfo`` spider: 巨潮资讯 (cninfo.com.cn) disclosure search, the service behind SZSE, SSE
and BSE announcements, as its public web client speaks it (fields verified, docs/crawlers.md):

1. the stock list ``GET {api.stock_list}`` -> ``{"stockList": [{"code", "orgId", "zwjc", ...}]}``
   gives each stock's ``orgId``;
2. per stock, ``POST {api.query_url}`` (form-encoded) with ``pageNum`` (1-based), ``pageSize``,
   ``column`` (szse/sse/bj), ``tabName=fulltext``, ``plate``, ``stock="<code>,<orgId>"``,
   ``searchkey``, ``secid``, ``category``, ``trade``, ``seDate="YYYY-MM-DD~YYYY-MM-DD"``,
   ``sortName``, ``sortType``, ``isHLtitle`` -> ``{"announcements": [...] | null, "hasMore",
   "totalAnnouncement", "totalpages", ...}``; pages follow while ``hasMore``;
3. every announcement whose title passes the source's pre-filter is downloaded from
   ``{api.static_base}{adjunctUrl}`` (static.cninfo.com.cn) and stored with its PDF text; the
   annual-report summary is kept for the firm's key figures (``firm_financials``).

``api.stocks: column`` queries the whole column by date instead of stock by stock.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import FormRequest, Response

from crawlers.spiders.announcements import ANNUAL_REPORT, AnnouncementSpider

#: Announcement times are epoch milliseconds; the day is Beijing's.
BEIJING = dt.timezone(dt.timedelta(hours=8))
DEFAULT_START = "2015-01-01"


class CninfoSpider(AnnouncementSpider):
    """Stock list -> paged query per stock -> pre-filtered PDF announcements."""

    name = "cninfo"

    async def start(self) -> AsyncIterator[Any]:
        """Unfinished requests of an interrupted run, then the stock list (or the column query)."""
        for request in self.resumed_requests():
            yield request
        api = self.source.api
        if api.get("stocks") == "column":
            yield self.query(None, None, 1)
            return
        yield scrapy.Request(api["stock_list"], callback=self.parse_stocks, errback=self.on_error)

    def parse_stocks(self, response: Response) -> Iterator[Any]:
        """Map codes to orgIds; query every wanted stock the list holds."""
        try:
            listed = {str(s["code"]): s for s in json.loads(response.text)["stockList"]}
        except (ValueError, KeyError, TypeError) as exc:
            yield self.error(response.url, "parse_error", f"unexpected stock list: {exc}")
            return
        wanted = self.wanted_stocks()
        codes = sorted(listed) if wanted is None else wanted
        prefixes = tuple(str(p) for p in self.source.api.get("code_prefixes", []))
        if prefixes:
            codes = [c for c in codes if c.startswith(prefixes)]
        missing = [c for c in codes if c not in listed]
        stats = self.crawler.stats
        stats.set_value("aimap/cninfo/stocks", len(codes) - len(missing))
        if missing:
            stats.set_value("aimap/cninfo/stocks_not_listed", len(missing))
            self.logger.warning("%d stock code(s) not in the stock list: %s", len(missing), ", ".join(missing[:20]))
        if not codes:
            self.logger.warning("no stocks to query (registry has no listed sample firm for this column)")
        for code in codes:
            if code in listed:
                yield self.query(code, str(listed[code]["orgId"]), 1)

    def query(self, code: str | None, org_id: str | None, page: int) -> FormRequest:
        """The query form for one stock (or the whole column) and page."""
        api = self.source.api
        start = self.since.isoformat() if self.since else str(api.get("start_date", DEFAULT_START))
        form = {
            "pageNum": str(page), "pageSize": str(api.get("page_size", 30)), "column": api["column"],
            "tabName": "fulltext", "plate": api.get("plate", ""), "stock": f"{code},{org_id}" if code else "",
            "searchkey": api.get("searchkey", ""), "secid": "", "category": api.get("category", ""),
            "trade": "", "seDate": f"{start}~{dt.date.today().isoformat()}", "sortName": "", "sortType": "",
            "isHLtitle": "true",
        }
        return FormRequest(api["query_url"], formdata=form, callback=self.parse_query, errback=self.on_error,
                           cb_kwargs={"code": code, "org_id": org_id, "page": page})

    def parse_query(self, response: Response, code: str | None = None, org_id: str | None = None,
                    page: int = 1) -> Iterator[Any]:
        """One page of announcements: download those the pre-filter keeps, then the next page."""
        try:
            data = json.loads(response.text)
            rows = data.get("announcements") or []
        except (ValueError, AttributeError) as exc:
            yield self.error(response.url, "parse_error", f"unexpected query answer (stock {code}, page {page}): {exc}")
            return
        base = self.source.api["static_base"].rstrip("/") + "/"
        for row in rows:
            decision = self.decide(row.get("announcementTitle"))
            if not decision.download:
                continue
            if not row.get("adjunctUrl"):
                yield self.error(response.url, "parse_error", f"announcement {row.get('announcementId')} "
                                 "without adjunctUrl", "adjunctUrl")
                continue
            millis = row.get("announcementTime")
            day = dt.datetime.fromtimestamp(millis / 1000, BEIJING).date().isoformat() if millis else None
            yield scrapy.Request(base + str(row["adjunctUrl"]).lstrip("/"), callback=self.parse_announcement,
                                 errback=self.on_error, cb_kwargs={
                                     "title": row.get("announcementTitle"), "published": day,
                                     "code": row.get("secCode") or code,
                                     "doc_type": ANNUAL_REPORT if decision.action == "financials" else None})
        # ``hasMore`` decides, as in the public clients (``totalpages`` is not the page count: it can be
        # one less than the pages there are)
        if data.get("hasMore") and rows and page < int(self.source.api.get("max_pages", 500)):
            yield self.query(code, org_id, page + 1)

    def parse_announcement(self, response: Response, title: str | None = None, published: str | None = None,
                           code: str | None = None, doc_type: str | None = None) -> Iterator[Any]:
        """A downloaded announcement."""
        yield from self.announcement(response, title, published, code, doc_type)
