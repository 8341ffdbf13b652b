"""Scrapy extensions."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from scrapy import Spider, signals
from scrapy.crawler import Crawler


class StatsFileExtension:
    """Write the crawl's final stats as JSON to ``AIMAP_STATS_FILE`` when the spider closes.

    ``aimap crawl`` runs Scrapy in a child process and reads this file back to record the run
    (requests, responses by status, items, dropped, errors) in ``pipeline_runs``.
    """

    def __init__(self, crawler: Crawler, path: str | None) -> None:
        self.crawler = crawler
        self.path = Path(path) if path else None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StatsFileExtension:
        ext = cls(crawler, crawler.settings.get("AIMAP_STATS_FILE"))
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """Dump the stats (JSON-safe) with the close reason."""
        if self.path is None:
            return
        stats = dict(self.crawler.stats.get_stats())
        stats["finish_reason"] = reason

        def _safe(value: object) -> object:
            if isinstance(value, dt.datetime | dt.date):
                return value.isoformat()
            if isinstance(value, int | float | str | bool) or value is None:
                return value
            return str(value)

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps({k: _safe(v) for k, v in stats.items()}, ensure_ascii=False, indent=1))
