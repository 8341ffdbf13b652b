"""Downloader middlewares."""

from __future__ import annotations

from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest


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
