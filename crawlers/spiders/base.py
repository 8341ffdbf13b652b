"""What every source spider shares: reading its source file, decoding, articles, errors.

A spider is generic per *kind* of source; everything site-specific comes from the source file
(:mod:`crawlers.sources`). This base class turns a response into a :class:`DocumentItem` with
the source's article selectors (or ``trafilatura`` when the source says ``body: auto``), fixes
decoding (GBK/GB2312 pages are decoded as gb18030, and a page whose declared charset does not
decode falls back to the source's ``encoding_fallbacks``), maps URLs to canonical ones, and
records every failure as an :class:`ErrorItem` — nothing is dropped silently.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.defer import CancelledError
from twisted.python.failure import Failure

from crawlers.items import DocumentItem, ErrorItem
from crawlers.middlewares import NotModified
from crawlers.sources import SourceConfig, load_source
from crawlers.textutil import canonical_url, main_text, parse_date

#: Declared charsets that are subsets of gb18030 (decode them as gb18030).
GB_FAMILY = {"gbk", "gb2312", "gb_2312-80", "cp936", "x-gbk", "euc-cn", "hz-gb-2312"}


class SourceSpider(scrapy.Spider):
    """Base class: ``-a source=NAME_OR_PATH [-a sources_dir=DIR] [-a base_url=URL] [-a since=DATE]``."""

    def __init__(
        self,
        source: str,
        base_url: str | None = None,
        sources_dir: str | None = None,
        since: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source: SourceConfig = load_source(source, sources_dir)
        self.base_url = base_url
        self.since: dt.date | None = dt.date.fromisoformat(since) if since else None
        self.allowed_domains = list(self.source.allowed_domains)
        self.start_urls = self.source.resolved_start_urls(base_url)

    # ------------------------------------------------------------------ helpers

    @property
    def fast_path(self) -> bool:
        """Whether the cheaper per-page path is on (setting ``AIMAP_CRAWL_FAST_PATH``, default true; false
        = the previous path, kept as the benchmark's baseline: benchmarks/bench_crawl.py)."""
        crawler = getattr(self, "crawler", None)
        return crawler is None or crawler.settings.getbool("AIMAP_CRAWL_FAST_PATH", True)

    def resumed_requests(self) -> Iterator[scrapy.Request]:
        """Requests an interrupted run scheduled but never finished (see :mod:`crawlers.journal`)."""
        journal = getattr(self.crawler, "aimap_journal", None)
        if journal is None:
            return
        unfinished = journal.unfinished()
        if unfinished:
            self.logger.info("resuming: %d requests unfinished by the interrupted run", len(unfinished))
            self.crawler.stats.set_value("aimap/resumed_requests", len(unfinished))
        for url, callback in unfinished:
            method = getattr(self, callback, None) if callback else None
            yield scrapy.Request(url, callback=method or self.parse, errback=self.on_error, dont_filter=True)

    def canonical(self, url: str) -> str:
        """Canonical URL; a source served at a variable address maps to its stable base."""
        canonical = canonical_url(url)
        base = canonical_url(self.base_url).rstrip("/") if self.base_url else None
        if base and self.source.canonical_base_url and canonical.startswith(base):
            return self.source.canonical_base_url.rstrip("/") + canonical[len(base) :]
        return canonical

    def decoded(self, response: Response) -> tuple[Response, str | None]:
        """The response with an encoding that decodes its bytes, and a note when it had to fall back.

        Declared GB encodings become gb18030 (a superset). When the declared charset does not
        decode the bytes strictly (e.g. a GBK page that says ``<meta charset="utf-8">``), the
        source's ``encoding_fallbacks`` are tried in order; ``None`` note = no fallback needed.
        """
        if not isinstance(response, TextResponse):
            return response, None
        declared = (response.encoding or "utf-8").lower()
        encoding = "gb18030" if declared in GB_FAMILY else declared
        candidates = [encoding] + [e for e in self.source.encoding_fallbacks if e != encoding]
        for candidate in candidates:
            try:
                response.body.decode(candidate)
            except (UnicodeDecodeError, LookupError):
                continue
            if candidate == declared:
                return response, None
            note = None if candidate == encoding else f"declared {declared}, decoded as {candidate}"
            return response.replace(encoding=candidate), note
        return response, f"cannot decode as any of {candidates}"

    def article(self, response: Response, **extra: Any) -> Iterator[DocumentItem | ErrorItem]:
        """A document item from an article page, by the source's selectors."""
        response, note = self.decoded(response)
        if note and note.startswith("cannot decode"):
            yield self.error(response.url, "decode_error", note)
            return
        if note:
            self.crawler.stats.inc_value("aimap/encoding/fallback")
            self.logger.info("%s: %s", response.url, note)
        cfg = self.source
        title = self.first(response, cfg.article.get("title", []))
        body_css = cfg.article["body"]
        text = self.auto_text(response) if body_css == "auto" else main_text(response, body_css, fast=self.fast_path)
        published = None
        for css in cfg.article.get("published", []):
            published = parse_date(response.css(css).get(), cfg.date_formats)
            if published:
                break
        if not text:
            yield self.error(response.url, "parse_error", "no main text found on the article page", "text",
                             request_url=request_url(response))
            return
        declared = response.css('link[rel="canonical"]::attr(href)').get()
        yield DocumentItem(
            source=cfg.name,
            url=response.url,
            request_url=request_url(response) or response.url,
            canonical_url=self.canonical(response.urljoin(declared) if declared else response.url),
            http_status=response.status,
            title=title,
            text=text,
            published_on=published,
            language=response.css("html::attr(lang)").get() or cfg.language,
            encoding=getattr(response, "encoding", None),
            raw=response.body,
            etag=_header(response, "ETag"),
            last_modified=_header(response, "Last-Modified"),
            **extra,
        )

    @staticmethod
    def auto_text(response: Response) -> str:
        """Main text by ``trafilatura`` (for sources without a body selector)."""
        import trafilatura  # deferred: heavy (lxml, justext), only sources with ``body: auto`` need it

        return (trafilatura.extract(response.text, include_comments=False, favor_precision=True) or "").strip()

    def is_article(self, response: Response) -> bool:
        """Whether the page has the source's article body."""
        if not isinstance(response, TextResponse):
            return False
        body_css = self.source.article["body"]
        return body_css == "auto" or bool(response.css(body_css))

    def on_error(self, failure: Failure) -> Iterator[ErrorItem]:
        """Record every failed request (HTTP status, refused, DNS, timeout...) as an error item.

        A 304 for a stored document (:class:`~crawlers.middlewares.NotModified`) is not a
        failure: the request is journaled as finished and nothing is recorded.
        """
        request = failure.request  # type: ignore[attr-defined]
        real = request.meta.get("aimap_real_url")
        if real and request.url != real:  # failed before the host map could restore it
            request = request.replace(url=real)
        if failure.check(NotModified):
            journal = getattr(self.crawler, "aimap_journal", None)
            if journal is not None:
                journal.done([request.url])
            return
        if failure.check(HttpError):
            status = failure.value.response.status
            yield self.error(request.url, "http_error", f"HTTP {status}", request_url=request.url)
        elif failure.check(DownloadCancelledError, CancelledError):
            limit = self.crawler.settings.getint("DOWNLOAD_MAXSIZE")
            yield self.error(request.url, "oversized", f"page larger than the {limit:,}-byte cap: download cancelled",
                             request_url=request.url)
        elif failure.check(IgnoreRequest):
            yield self.error(request.url, "ignored", f"request refused: {failure.getErrorMessage()}",
                             request_url=request.url)
        elif "DataLoss" in failure.type.__name__:  # the connection closed before Content-Length bytes came
            retries = request.meta.get("retry_times", 0)
            yield self.error(request.url, "truncated", "download truncated: the connection closed before the "
                             f"announced Content-Length (after {retries} retries)", request_url=request.url)
        else:
            yield self.error(request.url, "fetch_error", f"{failure.type.__name__}: {failure.getErrorMessage()}",
                             request_url=request.url)

    def error(
        self, url: str, kind: str, reason: str, field: str | None = None, request_url: str | None = None
    ) -> ErrorItem:
        """An error item (also counted in the crawl stats)."""
        self.crawler.stats.inc_value(f"aimap/errors/{kind}")
        return ErrorItem(source=self.source.name, kind=kind, url=url, reason=reason, field=field,
                         request_url=request_url or url)

    @staticmethod
    def first(response: Response, selectors: list[str]) -> str | None:
        """The first non-empty value of ``selectors``."""
        for css in selectors:
            value = response.css(css).get()
            if value and value.strip():
                return value.strip()
        return None


def request_url(response: Response) -> str | None:
    """The real URL the response was requested under (the crawl journal's key), None without a request."""
    if response.request is None:
        return None
    return response.request.meta.get("aimap_real_url") or response.request.url


def key_figures(patterns: dict[str, str], text: str, title: str, code: str | None) -> dict[str, Any] | None:
    """Fiscal year, revenue and R&D expense (yuan) of an annual-report summary by a source's
    ``financials`` patterns (one capture group each), or None when one is missing."""
    values: dict[str, Any] = {"stock_code": code}
    for key in ("fiscal_year", "revenue_cny", "rd_expense_cny"):
        match = re.search(patterns[key], f"{title}\n{text}")
        if match is None:
            return None
        values[key] = int(match.group(1).replace(",", ""))
    return values


def _header(response: Response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
