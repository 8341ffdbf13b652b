"""Items the spiders yield: a fetched document, or a recorded failure."""

from __future__ import annotations

import scrapy


class DocumentItem(scrapy.Item):
    """One fetched page with its extracted main text (becomes a ``documents`` row)."""

    source = scrapy.Field()  # source name (the source file's stem)
    url = scrapy.Field()  # URL as fetched (after redirects)
    request_url = scrapy.Field()  # URL as requested (the crawl journal's key)
    canonical_url = scrapy.Field()  # <link rel=canonical> or the normalised URL
    http_status = scrapy.Field()
    title = scrapy.Field()
    text = scrapy.Field()
    published_on = scrapy.Field()  # datetime.date or None
    language = scrapy.Field()
    encoding = scrapy.Field()
    raw = scrapy.Field()  # raw response bytes
    etag = scrapy.Field()  # validators for conditional re-crawls
    last_modified = scrapy.Field()
    doc_type = scrapy.Field()  # e.g. "annual_report" for exchange annual-report summaries
    financials = scrapy.Field()  # {"stock_code", "fiscal_year", "revenue_cny", "rd_expense_cny"}
    meta = scrapy.Field()  # what the source states beside the text: {"stock_code", "stock_name", "notice_no"}


class ErrorItem(scrapy.Item):
    """A failure to record in ``pipeline_errors`` (HTTP error, parse error, oversized page...)."""

    source = scrapy.Field()
    kind = scrapy.Field()
    url = scrapy.Field()
    request_url = scrapy.Field()
    field = scrapy.Field()
    reason = scrapy.Field()
