"""The ``hkex`` spider: HKEXnews title search (披露易), for sample firms listed in Hong Kong, as the
site's search page calls it (fields verified, docs/crawlers.md):

1. the stock id: ``GET {api.prefix_url}?callback=callback&lang=ZH&type=A&name=<code>&market=SEHK``
   -> JSONP ``callback({"more": "0", "stockInfo": [{"stockId": 7609, "code": "00700", "name": ...}]});``
2. the search: ``GET {api.search_url}?sortDir=0&sortByOptions=DateTime&category=0&market=SEHK&
   stockId=<id>&documentType=-1&fromDate=YYYYMMDD&toDate=YYYYMMDD&title=&searchType=0&t1code=-2&
   t2Gcode=-2&t2code=-2&rowRange=<n>&lang=<zh|en>`` -> ``{"result": "<JSON string of rows>",
   "hasNextRow", "rowRange", "loadedRecord", "recordCnt"}``; each row has ``TITLE``, ``FILE_LINK``
   (``/listedco/listconews/sehk/YYYY/MMDD/<id>_c.pdf`` or ``.htm``), ``DATE_TIME`` (dd/mm/yyyy HH:MM),
   ``STOCK_CODE``, ``STOCK_NAME``, ``FILE_TYPE``, ``NEWS_ID``. More rows: the same search with a
   larger ``rowRange`` (what the page's "load more" does) while ``hasNextRow``;
3. documents the pre-filter keeps are downloaded from the site (PDF or HTML; traditional Chinese
   for ``lang=zh``, English for ``lang=en``).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlencode

import scrapy
from scrapy.http import Response

from crawlers.spiders.announcements import ANNUAL_REPORT, AnnouncementSpider

_JSONP = re.compile(r"^[\w$.]*\((.*)\)\s*;?\s*$", re.S)
LANGUAGES = {"zh": "zh-Hant", "en": "en"}


class HkexSpider(AnnouncementSpider):
    """Stock id lookup -> title search per language -> pre-filtered documents."""

    name = "hkex"

    async def start(self) -> AsyncIterator[Any]:
        """Unfinished requests of an interrupted run, then a stock id lookup per stock."""
        for request in self.resumed_requests():
            yield request
        codes = self.wanted_stocks() or []
        self.crawler.stats.set_value("aimap/hkex/stocks", len(codes))
        if not codes:
            self.logger.warning("no Hong Kong stock codes to query (api.stocks or the registry)")
        api = self.source.api
        for code in codes:
            params = {"callback": "callback", "lang": "ZH", "type": "A", "name": code,
                      "market": api.get("market", "SEHK")}
            yield scrapy.Request(f"{api['prefix_url']}?{urlencode(params)}", callback=self.parse_prefix,
                                 errback=self.on_error, cb_kwargs={"code": code})

    def parse_prefix(self, response: Response, code: str = "") -> Iterator[Any]:
        """The stock id of ``code``; then the title search in every configured language."""
        match = _JSONP.match(response.text.strip())
        try:
            info = json.loads(match.group(1) if match else response.text)["stockInfo"]
            stock_id = next(s["stockId"] for s in info if str(s.get("code")).lstrip("0") == code.lstrip("0"))
        except (ValueError, KeyError, TypeError) as exc:
            yield self.error(response.url, "parse_error", f"unexpected stock id answer for {code}: {exc}")
            return
        except StopIteration:
            yield self.error(response.url, "unknown_stock", f"HKEXnews lists no stock {code}", "stock_code")
            return
        for lang in self.source.api.get("languages", ["zh"]):
            yield self.search(code, stock_id, lang, int(self.source.api.get("row_range", 100)), 0)

    def search(self, code: str, stock_id: Any, lang: str, rows: int, done: int) -> scrapy.Request:
        """The title search for one stock and language, asking for ``rows`` rows (``done`` already read)."""
        api = self.source.api
        start = self.since or dt.date.fromisoformat(str(api.get("start_date", "2015-01-01")))
        params = {"sortDir": "0", "sortByOptions": "DateTime", "category": "0", "market": api.get("market", "SEHK"),
                  "stockId": stock_id, "documentType": "-1", "fromDate": start.strftime("%Y%m%d"),
                  "toDate": dt.date.today().strftime("%Y%m%d"), "title": "", "searchType": "0", "t1code": "-2",
                  "t2Gcode": "-2", "t2code": "-2", "rowRange": str(rows), "lang": lang}
        return scrapy.Request(f"{api['search_url']}?{urlencode(params)}", callback=self.parse_search,
                              errback=self.on_error,
                              cb_kwargs={"code": code, "stock_id": stock_id, "lang": lang, "rows": rows, "done": done})

    def parse_search(self, response: Response, code: str = "", stock_id: Any = None, lang: str = "zh",
                     rows: int = 100, done: int = 0) -> Iterator[Any]:
        """Rows of a search answer not read before: download what the pre-filter keeps; ask for more."""
        try:
            data = json.loads(response.text)
            result = data.get("result")
            listed = json.loads(result) if isinstance(result, str) and result not in ("", "null") else (result or [])
        except (ValueError, AttributeError) as exc:
            yield self.error(response.url, "parse_error", f"unexpected title search answer: {exc}")
            return
        for row in listed[done:]:
            decision = self.decide(row.get("TITLE"))
            if not decision.download:
                continue
            link = row.get("FILE_LINK")
            if not link:
                yield self.error(response.url, "parse_error", f"row {row.get('NEWS_ID')} without FILE_LINK", "FILE_LINK")
                continue
            yield response.follow(link, callback=self.parse_announcement, errback=self.on_error, cb_kwargs={
                "title": row.get("TITLE"), "published": _day(row.get("DATE_TIME")), "code": row.get("STOCK_CODE") or code,
                "doc_type": ANNUAL_REPORT if decision.action == "financials" else None, "lang": lang})
        step = int(self.source.api.get("row_range", 100))
        if data.get("hasNextRow") and len(listed) > done and rows < int(self.source.api.get("max_rows", 5000)):
            yield self.search(code, stock_id, lang, rows + step, len(listed))

    def parse_announcement(self, response: Response, title: str | None = None, published: str | None = None,
                           code: str | None = None, doc_type: str | None = None, lang: str = "zh") -> Iterator[Any]:
        """A downloaded document (PDF or HTML)."""
        yield from self.announcement(response, title, published, code, doc_type, LANGUAGES.get(lang, lang))


def _day(value: str | None) -> str | None:
    """``dd/mm/yyyy HH:MM`` -> ``yyyy-mm-dd``."""
    try:
        return dt.datetime.strptime((value or "").strip()[:10], "%d/%m/%Y").date().isoformat()
    except ValueError:
        return None
