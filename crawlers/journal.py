"""Crash-safe resumption of a crawl: which requests were scheduled, and which are finished.

Scrapy's ``JOBDIR`` keeps the scheduler queue and the seen-request fingerprints on disk, so a
crawl stopped and restarted with the same directory continues where it was. A crawl killed with
SIGKILL, however, loses the requests that were in flight (already marked seen, response not
processed) and the items still buffered for the next database batch. This journal closes that
gap:

- ``seen.tsv``: every request the dupefilter admits (URL and callback), one line, flushed;
- ``done.tsv``: every request whose outcome is safe — its document committed to the database
  (written by the item pipeline after the commit), its failure recorded, or, for pages that
  yield no document (list pages, API pages), the moment their follow-up requests are scheduled.

On restart :meth:`Journal.unfinished` returns seen-but-not-done requests; the spider schedules
them again (``dont_filter``), so the resumed crawl ends with the same documents as an
uninterrupted one. Re-fetching a request that was still queued is harmless: documents are
upserted by canonical URL.
"""

from __future__ import annotations

from pathlib import Path

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.dupefilters import RFPDupeFilter
from scrapy.utils.job import job_dir


class Journal:
    """Append-only, line-buffered record of scheduled and finished requests in a job directory."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._seen = (directory / "seen.tsv").open("a", encoding="utf-8", buffering=1)
        self._done = (directory / "done.tsv").open("a", encoding="utf-8", buffering=1)

    def seen(self, request: Request) -> None:
        """Record a newly scheduled request."""
        callback = getattr(request.callback, "__name__", "") if request.callback else ""
        self._seen.write(f"{request.url}\t{callback}\n")

    def done(self, urls: list[str]) -> None:
        """Record finished requests (by URL)."""
        if urls:
            self._done.write("".join(f"{u}\n" for u in urls))

    def unfinished(self) -> list[tuple[str, str]]:
        """(URL, callback name) of requests scheduled by an earlier process but never finished."""
        done = set((self.directory / "done.tsv").read_text(encoding="utf-8").splitlines())
        pending: dict[str, str] = {}
        for line in (self.directory / "seen.tsv").read_text(encoding="utf-8").splitlines():
            url, _, callback = line.partition("\t")
            if url and url not in done:
                pending[url] = callback
        return sorted(pending.items())

    def close(self) -> None:
        """Close the files."""
        self._seen.close()
        self._done.close()


class JournalDupeFilter(RFPDupeFilter):
    """Scrapy's fingerprint dupefilter that also journals every admitted request (with JOBDIR).

    The journal is exposed as ``crawler.aimap_journal`` for the spider and the item pipeline.
    """

    journal: Journal | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> JournalDupeFilter:
        dupefilter = super().from_crawler(crawler)
        directory = job_dir(crawler.settings)
        if directory:
            existing = getattr(crawler, "aimap_journal", None)
            dupefilter.journal = existing or Journal(Path(directory))
            crawler.aimap_journal = dupefilter.journal  # type: ignore[attr-defined]
        return dupefilter

    def request_seen(self, request: Request) -> bool:
        """Scrapy's check, plus a journal line for every request admitted."""
        seen = super().request_seen(request)
        # only GETs are journaled: a POST (an API query page) is not a URL that can be re-requested;
        # a resumed crawl issues its queries again from the start
        if not seen and self.journal is not None and request.method == "GET":
            self.journal.seen(request)
        return seen

    def close(self, reason: str) -> None:
        super().close(reason)
        if self.journal is not None:
            self.journal.close()
