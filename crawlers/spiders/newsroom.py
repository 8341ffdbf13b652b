"""The ``newsroom`` spider: hub pages -> list pages -> pagination -> article pages.

Used for corporate newsrooms and government portals alike: everything site-specific comes from
the source file (start URLs, hub/list/next selectors, article selectors, date formats,
encoding fallbacks). ``scrapy crawl newsroom -a source=NAME_OR_PATH -a base_url=...``; aimap runs
it through ``aimap crawl`` (one process per source).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import Response, TextResponse

from crawlers.spiders.base import SourceSpider


class NewsroomSpider(SourceSpider):
    """Generic list-and-article crawler driven by a source file."""

    name = "newsroom"

    async def start(self) -> AsyncIterator[Any]:
        """Requests left unfinished by an interrupted run first, then the start URLs."""
        for request in self.resumed_requests():
            yield request
        for url in self.start_urls:
            yield scrapy.Request(url, callback=self.parse, errback=self.on_error)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        """Any page: emit an article if it is one, and follow hub, list and next links."""
        if not isinstance(response, TextResponse):
            yield self.error(response.url, "not_html", f"non-HTML response ({response.headers.get('Content-Type')})")
            return
        if self.is_article(response):
            yield from self.article(response)
        cfg = self.source
        for css in filter(None, [cfg.follow.get("hubs"), cfg.list.get("items"), cfg.list.get("next")]):
            for href in response.css(css).getall():
                yield response.follow(href, callback=self.parse, errback=self.on_error)
