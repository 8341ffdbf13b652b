"""The ``site`` spider: a newsroom or portal read from its sitemaps, RSS/Atom feeds and list pages,
with no selectors — trafilatura finds each article's main text, title and date.

A source file names ``sitemaps`` (an index or urlsets; ``<lastmod>`` drives incremental crawls; an
entry ending in ``/robots.txt`` means "the sitemaps its ``Sitemap:`` lines name"),
``feeds`` (RSS 2.0 or Atom) and/or ``list_pages`` (plain news lists: every same-site link that looks
like an article is followed, and the "next page" link up to ``api.max_list_pages`` pages). Optional
``url_patterns`` (regular expressions) restrict which URLs count as articles, and an optional
``title_filter`` skips feed entries by title before they are downloaded.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.utils.sitemap import Sitemap

from crawlers.items import DocumentItem
from crawlers.prefilter import load_filter
from crawlers.spiders.base import SourceSpider, _header, request_url
from crawlers.spiders.feed import _date

_NEXT_TEXT = re.compile(r"^\s*(下一页|下页|下一頁|下頁|next|next page|›|»|>)\s*$", re.IGNORECASE)
_ARTICLE_PATH = re.compile(r"(\d{4,}|/20\d{2}[-/]?\d{2}|\.s?html?$|/t\d{8}_\d+)", re.IGNORECASE)
_SKIP_EXT = re.compile(r"\.(jpg|jpeg|png|gif|svg|css|js|zip|rar|mp4|mp3|xls|xlsx|doc|docx)$", re.IGNORECASE)


class SiteSpider(SourceSpider):
    """Sitemaps, feeds and list pages -> article pages read by trafilatura."""

    name = "site"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.title_filter = load_filter(self.source.title_filter, f"{self.source.path}: title_filter")
        self.patterns = [re.compile(p) for p in self.source.url_patterns]

    async def start(self) -> AsyncIterator[Any]:
        """Unfinished requests of an interrupted run, then every sitemap, feed and list page."""
        for request in self.resumed_requests():
            yield request
        resolve = self.source.resolve
        for url in self.source.sitemaps:
            callback = self.parse_robots if url.endswith("/robots.txt") else self.parse_sitemap
            yield scrapy.Request(resolve(url, self.base_url), callback=callback, errback=self.on_error)
        for url in self.source.feeds:
            yield scrapy.Request(resolve(url, self.base_url), callback=self.parse_feed, errback=self.on_error)
        for url in self.source.list_pages:
            yield scrapy.Request(resolve(url, self.base_url), callback=self.parse_list, errback=self.on_error,
                                 cb_kwargs={"depth": 1})

    def _fresh(self, day: dt.date | None) -> bool:
        return self.since is None or day is None or day >= self.since

    def wanted(self, url: str) -> bool:
        """Whether ``url`` counts as an article of this source (declared patterns, else its shape)."""
        path = urlsplit(url).path
        if _SKIP_EXT.search(path):
            return False
        if self.patterns:
            return any(p.search(url) for p in self.patterns)
        return bool(_ARTICLE_PATH.search(path))

    def parse_robots(self, response: Response) -> Iterator[Any]:
        """A robots.txt: follow the sitemaps its ``Sitemap:`` lines name."""
        found = [line.split(":", 1)[1].strip() for line in response.text.splitlines()
                 if line.lower().startswith("sitemap:")]
        if not found:
            yield self.error(response.url, "parse_error", "robots.txt names no Sitemap")
        for url in found:
            yield response.follow(url, callback=self.parse_sitemap, errback=self.on_error)

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        """A sitemap index (follow its sitemaps) or a urlset (follow its article URLs), by lastmod."""
        try:
            sitemap = Sitemap(response.body)
        except Exception as exc:  # lxml raises several types on broken XML
            yield self.error(response.url, "parse_error", f"unreadable sitemap: {exc}")
            return
        for entry in sitemap:
            if not self._fresh(_date(entry.get("lastmod"))):
                self.crawler.stats.inc_value("aimap/site/older_than_since")
                continue
            if sitemap.type == "sitemapindex":
                yield response.follow(entry["loc"], callback=self.parse_sitemap, errback=self.on_error)
            elif not self.patterns or self.wanted(entry["loc"]):
                yield response.follow(entry["loc"], callback=self.parse_article, errback=self.on_error)

    def parse_feed(self, response: Response) -> Iterator[Any]:
        """RSS ``<item>`` / Atom ``<entry>``: follow each new link whose title passes the filter."""
        response.selector.remove_namespaces()
        entries = response.xpath("//item") or response.xpath("//entry")
        if not entries:
            yield self.error(response.url, "parse_error", "feed without items or entries")
            return
        for entry in entries:
            link = entry.xpath("link/@href").get() or entry.xpath("link/text()").get()
            day = _date(entry.xpath("pubDate/text()").get() or entry.xpath("updated/text()").get()
                        or entry.xpath("published/text()").get())
            title = entry.xpath("title/text()").get()
            if not link or not self._fresh(day):
                continue
            decision = self.title_filter.decide(title)
            if not decision.download:
                self.crawler.stats.inc_value("aimap/prefilter/skipped")
                self.crawler.stats.inc_value(f"aimap/prefilter/skipped/{decision.reason}")
                continue
            yield response.follow(link.strip(), callback=self.parse_article, errback=self.on_error)

    def parse_list(self, response: Response, depth: int = 1) -> Iterator[Any]:
        """A list page: follow same-site article links, and the next page."""
        if not isinstance(response, TextResponse):
            yield self.error(response.url, "not_html", "list page is not HTML")
            return
        here = urlsplit(response.url)
        for anchor in response.css("a[href]"):
            href = response.urljoin(anchor.attrib["href"])
            target = urlsplit(href)
            if target.scheme not in ("http", "https") or target.hostname != here.hostname:
                continue
            text = " ".join(anchor.css("::text").getall()).strip()
            rel = (anchor.attrib.get("rel") or "").lower()
            if (rel == "next" or _NEXT_TEXT.match(text)) and depth < int(self.source.api.get("max_list_pages", 20)):
                yield scrapy.Request(href, callback=self.parse_list, errback=self.on_error, cb_kwargs={"depth": depth + 1})
            elif href != response.url and self.wanted(href) and len(text) >= 4:
                yield scrapy.Request(href, callback=self.parse_article, errback=self.on_error)

    def parse_article(self, response: Response) -> Iterator[Any]:
        """An article page: main text, title and date by trafilatura."""
        if not isinstance(response, TextResponse):
            yield self.error(response.url, "not_html", f"non-HTML article ({response.headers.get('Content-Type')})")
            return
        response, note = self.decoded(response)
        if note and note.startswith("cannot decode"):
            yield self.error(response.url, "decode_error", note)
            return
        import trafilatura  # deferred: heavy (lxml, justext); only this kind and `body: auto` sources need it

        raw = trafilatura.extract(response.text, output_format="json", with_metadata=True, include_comments=False,
                                  favor_precision=True, url=response.url)
        meta = json.loads(raw) if raw else {}
        text = (meta.get("text") or "").strip()
        if not text:
            yield self.error(response.url, "parse_error", "no main text found on the article page", "text",
                             request_url=request_url(response))
            return
        day = _date(meta.get("date"))
        if not self._fresh(day):
            return
        declared = response.css('link[rel="canonical"]::attr(href)').get()
        yield DocumentItem(
            source=self.source.name, url=response.url, request_url=request_url(response) or response.url,
            canonical_url=self.canonical(response.urljoin(declared) if declared else response.url),
            http_status=response.status, title=meta.get("title"), text=text, published_on=day,
            language=response.css("html::attr(lang)").get() or self.source.language, encoding=response.encoding,
            raw=response.body, etag=_header(response, "ETag"), last_modified=_header(response, "Last-Modified"),
        )
