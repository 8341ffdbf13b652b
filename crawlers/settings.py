"""Scrapy settings for aimap's crawlers (https://docs.scrapy.org/en/latest/topics/settings.html).

Politeness defaults: robots.txt obeyed (per real host, also through a host map), an identifying
User-Agent with the operator's contact (``AIMAP_CRAWL_CONTACT``, set by :mod:`crawlers.run`), at least
1 s between requests to one host, AutoThrottle on (off for a crawl that only talks to loopback addresses,
:func:`crawlers.run.loopback_only`), retries with backoff on 5xx/429 and timeouts
(a host answering 429/503 is slowed down, :class:`crawlers.middlewares.BackoffMiddleware`), a
per-page size cap, and a daily request budget per source (``politeness.daily_request_budget``).
A source file may tighten them.
"""

BOT_NAME = "aimap"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

USER_AGENT = "aimap-crawler/0.1 (+https://aimap.example.org/bot; research on public AI cooperation announcements)"
ROBOTSTXT_OBEY = True

CONCURRENT_REQUESTS = 8
#: Items (and follow-up requests) of one response handled at once. Scrapy's default of 100 starts 101
#: asyncio tasks for every response, however few things it yields — the largest single cost of a page
#: in the profile (benchmarks/README.md, issue 17); the pipelines are synchronous, so 4 lose nothing.
CONCURRENT_ITEMS = 4
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 1.0  # per host (download slot); a source's politeness.download_delay overrides it
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 5 * 1024 * 1024
#: The largest page cap a source may declare (``politeness.max_page_bytes``; exchange PDFs reach ~20 MB).
AIMAP_PAGE_BYTES_CEILING = 32 * 1024 * 1024
DOWNLOAD_WARNSIZE = 1 * 1024 * 1024

AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0

RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]

COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"

DOWNLOADER_MIDDLEWARES = {
    "crawlers.middlewares.HostUnmapMiddleware": 40,
    "crawlers.middlewares.AllowedHostsMiddleware": 50,
    # after RobotsTxtMiddleware (100): robots.txt is asked of the real host (itself mapped)
    "crawlers.middlewares.HostMapMiddleware": 120,
    "crawlers.middlewares.ConditionalRequestMiddleware": 560,
    # its process_response runs before RetryMiddleware's (550): the slot slows down, then the retry
    "crawlers.middlewares.BackoffMiddleware": 570,
}
SPIDER_MIDDLEWARES = {
    "crawlers.middlewares.JournalSpiderMiddleware": 5,
    # links longer than documents.url are recorded as errors instead of dropped with a log line
    "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware": None,
    "crawlers.middlewares.LongUrlMiddleware": 800,
}
#: With JOBDIR: Scrapy's dupefilter plus the crash-safe journal of crawlers/journal.py.
DUPEFILTER_CLASS = "crawlers.journal.JournalDupeFilter"
#: Send conditional requests (If-None-Match / If-Modified-Since) for stored documents.
AIMAP_CONDITIONAL = True
ITEM_PIPELINES = {
    "crawlers.pipelines.ValidationPipeline": 100,
    "crawlers.pipelines.DatabasePipeline": 800,
}
EXTENSIONS = {
    "crawlers.extensions.StatsFileExtension": 500,
}

#: Documents are written in batches of this many items per transaction.
AIMAP_DB_BATCH_SIZE = 50
#: A lost database connection is retried this many times, waiting AIMAP_DB_RETRY_DELAY seconds, doubling.
AIMAP_DB_RETRIES = 4
AIMAP_DB_RETRY_DELAY = 1.0
#: When set (by ``aimap crawl``), the final crawl stats are written to this JSON file.
AIMAP_STATS_FILE = None
#: The ``pipeline_runs`` id of this crawl (set by ``aimap crawl``); recorded errors link to it.
AIMAP_RUN_ID = None
#: Hosts a request may go to; anything else is refused (no request leaves the allow-list).
#: ``None`` = the spider's ``allowed_domains``.
AIMAP_ALLOWED_HOSTS = None
#: Host map (JSON host -> base URL, ``*`` for every host): requests for a real host go to
#: ``{base}/_hosts/<host>/...`` (crawlers/hostmap.py); set by ``aimap crawl --base-url`` / ``AIMAP_CRAWL_HOSTS``.
AIMAP_HOST_MAP = None
#: Longest delay (seconds) a host's 429/503 answers can push its download slot to.
AIMAP_BACKOFF_MAX = 300.0

FEED_EXPORT_ENCODING = "utf-8"
