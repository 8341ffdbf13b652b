"""Items the spiders yield: a fetched document, or a recorded failure."""

from __future__ import annotations

import scrapy


class DocumentItem(scrapy.Item):
    """One fetched page with its extracted main text (becomes a ``documents`` row)."""

    source = scrapy.Field()  # source name (crawlers/sources/<name>.yml)
    url = scrapy.Field()  # URL as fetched (after redirects)
    canonical_url = scrapy.Field()  # <link rel=canonical> or the normalised URL
    http_status = scrapy.Field()
    title = scrapy.Field()
    text = scrapy.Field()
    published_on = scrapy.Field()  # datetime.date or None
    language = scrapy.Field()
    encoding = scrapy.Field()
    raw = scrapy.Field()  # raw response bytes


class ErrorItem(scrapy.Item):
    """A failure to record in ``pipeline_errors`` (HTTP error, parse error, oversized page...)."""

    source = scrapy.Field()
    kind = scrapy.Field()
    url = scrapy.Field()
    field = scrapy.Field()
    reason = scrapy.Field()
