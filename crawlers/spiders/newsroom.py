"""The ``newsroom`` spider: corporate newsrooms (hub -> list pages -> pagination -> articles).

Everything site-specific comes from the source file: start URLs, hub/list/next selectors and
article selectors. Run it as ``scrapy crawl newsroom -a source=demo-newsrooms -a base_url=...``
or, as aimap does, through ``aimap crawl`` (one process per crawl).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawlers.items import DocumentItem, ErrorItem
from crawlers.sources import SourceConfig, load_source
from crawlers.textutil import canonical_url, main_text, parse_date


class NewsroomSpider(scrapy.Spider):
    """Generic newsroom crawler driven by a source file."""

    name = "newsroom"

    def __init__(self, source: str, base_url: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source: SourceConfig = load_source(source)
        self.base_url = base_url
        self.allowed_domains = list(self.source.allowed_domains)
        self.start_urls = self.source.resolved_start_urls(base_url)

    async def start(self) -> Any:
        """Yield the start requests (Scrapy >= 2.13 async start)."""
        for url in self.start_urls:
            yield scrapy.Request(url, callback=self.parse, errback=self.on_error)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        """Any page: emit an article if it is one, and follow hub, list and next links."""
        cfg = self.source
        if not hasattr(response, "css"):
            yield self._error(response.url, "not_html", f"non-HTML response ({response.headers.get('Content-Type')})")
            return
        if response.css(cfg.article["body"]):
            yield from self.parse_article(response)
        selectors = [cfg.follow.get("hubs"), cfg.list.get("items"), cfg.list.get("next")]
        for css in filter(None, selectors):
            for href in response.css(css).getall():
                yield response.follow(href, callback=self.parse, errback=self.on_error)

    def parse_article(self, response: Response) -> Iterator[Any]:
        """Build a :class:`DocumentItem` from an article page (or an :class:`ErrorItem`)."""
        cfg = self.source
        title = self._first(response, cfg.article.get("title", []))
        text = main_text(response, cfg.article["body"])
        published = None
        for css in cfg.article.get("published", []):
            published = parse_date(response.css(css).get(), cfg.date_formats)
            if published:
                break
        canonical = response.css('link[rel="canonical"]::attr(href)').get()
        canonical = canonical_url(response.urljoin(canonical) if canonical else response.url)
        if self.base_url and cfg.canonical_base_url and canonical.startswith(canonical_url(self.base_url).rstrip("/")):
            canonical = cfg.canonical_base_url.rstrip("/") + canonical[len(canonical_url(self.base_url).rstrip("/")) :]
        if not text:
            yield self._error(response.url, "parse_error", "article body selector matched but no text", "text")
            return
        yield DocumentItem(
            source=cfg.name,
            url=response.url,
            canonical_url=canonical,
            http_status=response.status,
            title=title,
            text=text,
            published_on=published,
            language=response.css("html::attr(lang)").get() or cfg.language,
            encoding=getattr(response, "encoding", None),
            raw=response.body,
        )

    def on_error(self, failure: Failure) -> Iterator[ErrorItem]:
        """Record every failed request (HTTP error status, DNS, timeout...) as an error item."""
        request = failure.request  # type: ignore[attr-defined]
        if failure.check(HttpError):
            status = failure.value.response.status
            yield self._error(request.url, "http_error", f"HTTP {status}")
        elif failure.check(IgnoreRequest):
            yield self._error(request.url, "ignored", f"request refused: {failure.getErrorMessage()}")
        else:
            yield self._error(request.url, "fetch_error", f"{failure.type.__name__}: {failure.getErrorMessage()}")

    def _error(self, url: str, kind: str, reason: str, field: str | None = None) -> ErrorItem:
        self.crawler.stats.inc_value(f"aimap/errors/{kind}")
        return ErrorItem(source=self.source.name, kind=kind, url=url, reason=reason, field=field)

    @staticmethod
    def _first(response: Response, selectors: list[str]) -> str | None:
        for css in selectors:
            value = response.css(css).get()
            if value and value.strip():
                return value.strip()
        return None
