"""The ``feed`` spider: RSS/Atom feeds and XML sitemaps, incremental by date.

Feed entries and sitemap URLs carry dates (``pubDate``/``updated``, ``<lastmod>``); with
``-a since=YYYY-MM-DD`` older entries (and sitemaps of a sitemap index whose ``lastmod`` is
older) are skipped, so a weekly crawl reads only what is new. Articles are read with the
source's selectors (or ``body: auto`` for trafilatura).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from email.utils import parsedate_to_datetime
from typing import Any

import scrapy
from scrapy.http import Response
from scrapy.utils.sitemap import Sitemap

from crawlers.spiders.base import SourceSpider


def _date(text: str | None) -> dt.date | None:
    """A feed or sitemap date (RFC 822 or ISO 8601) as a date."""
    if not text:
        return None
    text = text.strip()
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text).date()
    except (TypeError, ValueError):
        return None


class FeedSpider(SourceSpider):
    """Feeds and sitemaps -> article pages."""

    name = "feed"

    async def start(self) -> AsyncIterator[Any]:
        """Unfinished requests of an interrupted run, then every feed and sitemap."""
        for request in self.resumed_requests():
            yield request
        for url in self.source.feeds:
            yield scrapy.Request(self.source.resolve(url, self.base_url), callback=self.parse_feed, errback=self.on_error)
        for url in self.source.sitemaps:
            yield scrapy.Request(self.source.resolve(url, self.base_url), callback=self.parse_sitemap,
                                 errback=self.on_error)

    def _fresh(self, day: dt.date | None) -> bool:
        return self.since is None or day is None or day >= self.since

    def parse_feed(self, response: Response) -> Iterator[Any]:
        """RSS 2.0 ``<item>`` or Atom ``<entry>``: follow each link newer than ``since``."""
        response.selector.remove_namespaces()
        entries = response.xpath("//item") or response.xpath("//entry")
        if not entries:
            yield self.error(response.url, "parse_error", "feed without items or entries",
                             request_url=response.request.url if response.request else None)
            return
        for entry in entries:
            link = entry.xpath("link/@href").get() or entry.xpath("link/text()").get()
            day = _date(entry.xpath("pubDate/text()").get() or entry.xpath("updated/text()").get())
            if link and self._fresh(day):
                yield response.follow(link.strip(), callback=self.parse_article, errback=self.on_error)

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        """A sitemap index (follow its sitemaps) or a urlset (follow its URLs), by lastmod."""
        try:
            sitemap = Sitemap(response.body)
        except Exception as exc:  # lxml raises several types on broken XML
            yield self.error(response.url, "parse_error", f"unreadable sitemap: {exc}",
                             request_url=response.request.url if response.request else None)
            return
        for entry in sitemap:
            if not self._fresh(_date(entry.get("lastmod"))):
                continue
            if sitemap.type == "sitemapindex":
                yield response.follow(entry["loc"], callback=self.parse_sitemap, errback=self.on_error)
            else:
                yield response.follow(entry["loc"], callback=self.parse_article, errback=self.on_error)

    def parse_article(self, response: Response) -> Iterator[Any]:
        """An article page."""
        if not self.is_article(response):
            yield self.error(response.url, "parse_error", "page has no article body",
                             request_url=response.request.url if response.request else None)
            return
        yield from self.article(response)
