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

from crawlers.fields import WIDTH
from crawlers.hostmap import HostMap
from crawlers.items import DocumentItem, ErrorItem
from db.models import Document, Source
from db.session import get_engine, session_factory


class NotModified(IgnoreRequest):
    """The server answered 304: the stored document is current (not an error)."""


class AllowedHostsMiddleware:
    """Refuse any request whose host is not allowed for the spider.

    Scrapy's offsite filtering only applies to followed links; this middleware also guards
    start URLs and redirects, so a source file can never make aimap contact an address it did
    not declare (in tests and CI: only 127.0.0.1). With a host map, the spider's ``allowed_domains``
    are checked against the real host, ``AIMAP_ALLOWED_HOSTS`` against the host the request is sent to.
    """

    def __init__(self, hosts: list[str] | None, hostmap: HostMap | None = None) -> None:
        self.hosts = hosts
        self.hostmap = hostmap or HostMap()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AllowedHostsMiddleware:
        return cls(crawler.settings.getlist("AIMAP_ALLOWED_HOSTS") or None, HostMap.from_settings(crawler.settings))

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        """Raise :class:`IgnoreRequest` for a host outside the allow-list."""
        allowed = self.hosts or list(getattr(spider, "allowed_domains", None) or [])
        if not allowed:
            return None
        real = _real_url(request)
        # the spider's allowed_domains name real hosts; an explicit AIMAP_ALLOWED_HOSTS is a network
        # allow-list: there the host a mapped request really goes to counts
        target = (self.hostmap.map(real) or real) if self.hosts else real
        host = urlsplit(target).hostname or ""
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
        url = _real_url(request)
        canonical = spider.canonical(url) if hasattr(spider, "canonical") else url
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


class LongUrlMiddleware:
    """Links longer than a document URL may be are recorded as ``url_too_long`` errors, not fetched.

    It takes the place of Scrapy's ``UrlLengthMiddleware``, which drops such links with only a log
    line: a page the crawl cannot store is never lost silently. The limit is the width of
    ``documents.url`` (2,048); the full URL stays in the error's payload.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LongUrlMiddleware:
        return cls(crawler)

    def _check(self, element: Any, response: Response | None) -> Any:
        if not isinstance(element, Request) or len(element.url) <= WIDTH["url"]:
            return element
        self.crawler.stats.inc_value("aimap/errors/url_too_long")
        source = getattr(getattr(self.crawler.spider, "source", None), "name", None)
        origin = _real_url(response.request) if response is not None and response.request is not None else element.url
        return ErrorItem(source=source, kind="url_too_long", url=element.url, request_url=origin, field="url",
                         reason=f"link of {len(element.url):,} characters, longer than the {WIDTH['url']:,} a "
                                "document URL may have: not fetched")

    def process_spider_output(self, response: Response, result: Iterable[Any], spider: Spider | None = None) -> Iterator[Any]:
        """Pass everything through, over-long links as error items."""
        for element in result:
            yield self._check(element, response)

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any], spider: Spider | None = None
    ) -> AsyncIterator[Any]:
        """Async variant of :meth:`process_spider_output`."""
        async for element in result:
            yield self._check(element, response)


def _real_url(request: Request) -> str:
    """The real URL of a request (the host map changes only where it is sent)."""
    return request.meta.get("aimap_real_url") or request.url


class HostUnmapMiddleware:
    """First in the chain: a request that carries a mapped URL (a retry or redirect copy of a mapped
    request) gets its real URL back, so robots.txt, the allow-list and the dupefilter see real hosts."""

    def __init__(self, hosts: HostMap) -> None:
        self.hosts = hosts

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostUnmapMiddleware:
        return cls(HostMap.from_settings(crawler.settings))

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        """Restore the real URL of a request whose URL is a mapped one."""
        if not self.hosts:
            return None
        real = self.hosts.unmap(request.url, request.meta.get("aimap_real_url"))
        if real is not None and real != request.url:
            request.meta["aimap_real_url"] = real
            request._set_url(real)  # same object: its fingerprint and journal line stay the real URL's
        return None


class HostMapMiddleware:
    """Send a request for real host H to ``{base}/_hosts/H{path}`` (the demo web, or a mirror) and give
    the response its real URL back: documents are stored, linked and followed under real URLs.

    Runs after robots.txt (which therefore asks the real host's robots.txt, itself mapped) and sets
    the download slot to the real host, so per-host politeness holds through the mapping.
    """

    def __init__(self, hosts: HostMap) -> None:
        self.hosts = hosts

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostMapMiddleware:
        return cls(HostMap.from_settings(crawler.settings))

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        """Rewrite the request's URL in place when its host is mapped."""
        if not self.hosts:
            return None
        mapped = self.hosts.map(request.url)
        if mapped is None:
            return None
        request.meta["aimap_real_url"] = request.url
        request.meta.setdefault("download_slot", urlsplit(request.url).hostname or "")
        request._set_url(mapped)
        return None

    def process_response(self, request: Request, response: Response, spider: Spider | None = None) -> Response:
        """The response (and its request) under the real URL."""
        real = request.meta.get("aimap_real_url")
        if real and request.url != real and response.url == request.url:
            request._set_url(real)
            return response.replace(url=real)
        return response

    def process_exception(self, request: Request, exception: Exception, spider: Spider | None = None) -> None:
        """A failed request is reported under its real URL."""
        real = request.meta.get("aimap_real_url")
        if real and request.url != real:
            request._set_url(real)
        return None


class BackoffMiddleware:
    """Back off from a host that answers 429 or 503: its download slot's delay is doubled (at least
    the ``Retry-After`` it asks for, at most ``AIMAP_BACKOFF_MAX`` seconds); the retry middleware then
    retries the request later. Counted as ``aimap/backoff/<status>``."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.ceiling = crawler.settings.getfloat("AIMAP_BACKOFF_MAX", 300.0)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response, spider: Spider | None = None) -> Response:
        """Slow the host's slot down on 429/503."""
        if response.status not in (429, 503):
            return response
        self.crawler.stats.inc_value(f"aimap/backoff/{response.status}")
        downloader = getattr(getattr(self.crawler, "engine", None), "downloader", None)
        key = request.meta.get("download_slot") or urlsplit(request.url).hostname or ""
        slot = downloader.slots.get(key) if downloader is not None else None
        if slot is not None:
            asked = _retry_after(response.headers.get("Retry-After"))
            slot.delay = min(self.ceiling, max(slot.delay * 2, 1.0, asked))
        return response


def _retry_after(value: bytes | None) -> float:
    try:
        return float(value.decode("latin-1")) if value else 0.0
    except ValueError:
        return 0.0
