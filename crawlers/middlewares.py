"""Downloader and spider middlewares of the aimap crawlers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from sqlalchemy import select

from crawlers.items import DocumentItem, ErrorItem
from db.models import Document, Source
from db.session import get_engine, session_factory


class NotModified(IgnoreRequest):
    """The server answered 304: the stored document is current (not an error)."""


class AllowedHostsMiddleware:
    """Refuse any request whose host is not allowed for the spider.

    Scrapy's offsite filtering only applies to followed links; this middleware also guards
    start URLs and redirects, so a source file can never make aimap contact an address it did
    not declare (in tests and CI: only 127.0.0.1).
    """

    def __init__(self, hosts: list[str] | None) -> None:
        self.hosts = hosts

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AllowedHostsMiddleware:
        return cls(crawler.settings.getlist("AIMAP_ALLOWED_HOSTS") or None)

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        """Raise :class:`IgnoreRequest` for a host outside the allow-list."""
        allowed = self.hosts or list(getattr(spider, "allowed_domains", None) or [])
        if not allowed:
            return None
        host = urlsplit(request.url).hostname or ""
        if any(host == h or host.endswith("." + h) for h in allowed):
            return None
        raise IgnoreRequest(f"host {host!r} is not in the allowed hosts {allowed}")


class ConditionalRequestMiddleware:
    """Re-crawls send conditional requests for documents already stored, and skip 304s.

    At spider start the validators (``ETag``, ``Last-Modified``) of the source's stored
    documents are loaded by canonical URL; a request for such a document carries
    ``If-None-Match`` / ``If-Modified-Since``, and a ``304 Not Modified`` answer ends it with
    :class:`NotModified` (counted as ``aimap/documents/not_modified``; no body is transferred).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.validators: dict[str, tuple[str | None, str | None]] = {}
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalRequestMiddleware:
        return cls(crawler)

    def spider_opened(self, spider: Spider) -> None:
        """Load the validators of this source's documents."""
        if not self.crawler.settings.getbool("AIMAP_CONDITIONAL", True):
            return
        name = getattr(getattr(spider, "source", None), "name", None)
        with session_factory(get_engine())() as session:
            rows = session.execute(
                select(Document.canonical_url, Document.etag, Document.last_modified)
                .join(Source, Source.id == Document.source_id)
                .where(Source.name == name)
            )
            self.validators = {url: (etag, modified) for url, etag, modified in rows if etag or modified}

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        """Add the stored validators to a request for a known document."""
        spider = spider or self.crawler.spider
        canonical = spider.canonical(request.url) if hasattr(spider, "canonical") else request.url
        known = self.validators.get(canonical)
        if known is None or request.meta.get("aimap_unconditional"):
            return None
        etag, modified = known
        if etag:
            request.headers.setdefault("If-None-Match", etag)
        if modified:
            request.headers.setdefault("If-Modified-Since", modified)
        request.meta["aimap_conditional"] = True
        return None

    def process_response(self, request: Request, response: Response, spider: Spider | None = None) -> Response:
        """Turn a 304 for a conditional request into :class:`NotModified`."""
        if response.status == 304 and request.meta.get("aimap_conditional"):
            self.crawler.stats.inc_value("aimap/documents/not_modified")
            raise NotModified(f"not modified: {request.url}")
        return response


class JournalSpiderMiddleware:
    """Marks a response finished in the crawl journal once its outcome is safe.

    Responses that yield documents or errors are marked by the item pipeline after the database
    commit; responses that yield only requests (list pages, API pages) are marked here, after
    their follow-up requests have been scheduled.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> JournalSpiderMiddleware:
        return cls(crawler)

    def _finish(self, response: Response, produced_item: bool) -> None:
        journal = getattr(self.crawler, "aimap_journal", None)
        if journal is not None and not produced_item and response is not None:
            journal.done([response.request.url if response.request else response.url])

    def process_spider_output(self, response: Response, result: Iterable[Any], spider: Spider | None = None) -> Iterator[Any]:
        """Pass everything through; journal the response at the end."""
        produced = False
        for element in result:
            produced = produced or isinstance(element, DocumentItem | ErrorItem)
            yield element
        self._finish(response, produced)

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any], spider: Spider | None = None
    ) -> AsyncIterator[Any]:
        """Async variant of :meth:`process_spider_output`."""
        produced = False
        async for element in result:
            produced = produced or isinstance(element, DocumentItem | ErrorItem)
            yield element
        self._finish(response, produced)
