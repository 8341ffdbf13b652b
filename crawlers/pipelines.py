"""Item pipelines: validate items, then write them to the database in batches.

:class:`DatabasePipeline` is idempotent: a canonical URL is stored once; re-crawling an
unchanged page changes nothing, a changed page (different text hash) updates the row in place
and resets its extraction mark so the ETL stage re-reads it. Error items become
``pipeline_errors`` rows. Counts go to the crawl stats (``aimap/documents/new`` ...).
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
from typing import Any

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawlers.items import DocumentItem, ErrorItem
from db.models import Document, PipelineError, Source, utcnow
from db.session import get_engine, session_factory


class ValidationPipeline:
    """Drop (and record) document items that miss what a document needs."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidationPipeline:
        return cls(crawler)

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        """Return the item, or raise :class:`DropItem` naming the missing field."""
        if isinstance(item, DocumentItem):
            for key in ("source", "url", "canonical_url", "text"):
                if not item.get(key):
                    self.crawler.stats.inc_value("aimap/dropped/invalid")
                    raise DropItem(f"document item without {key}: {item.get('url')}")
            if item.get("published_on") is not None and not isinstance(item["published_on"], dt.date):
                raise DropItem(f"published_on is not a date: {item.get('url')}")
        return item


class DatabasePipeline:
    """Batch-write documents and errors to the database configured by ``DATABASE_URL``."""

    def __init__(self, crawler: Crawler, batch_size: int) -> None:
        self.crawler = crawler
        self.run_id = crawler.settings.getint("AIMAP_RUN_ID") or None
        self.batch_size = batch_size
        self.buffer: list[Any] = []
        self.sources: dict[str, int] = {}
        self.session_factory = session_factory(get_engine())

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DatabasePipeline:
        return cls(crawler, crawler.settings.getint("AIMAP_DB_BATCH_SIZE", 50))

    def open_spider(self, spider: Spider | None = None) -> None:
        """Register the spider's source in ``sources`` (idempotent)."""
        spider = spider or self.crawler.spider
        cfg = getattr(spider, "source", None)
        if cfg is None:
            return
        with self.session_factory() as session, session.begin():
            self.sources[cfg.name] = _ensure_source(session, cfg.name, cfg.kind, cfg.publisher, cfg.raw)

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        """Buffer the item; flush a full batch in one transaction."""
        self.buffer.append(item)
        if len(self.buffer) >= self.batch_size:
            self.flush()
        return item

    def close_spider(self, spider: Spider | None = None) -> None:
        """Flush what is left."""
        self.flush()

    def flush(self) -> None:
        """Write the buffered items in one transaction."""
        if not self.buffer:
            return
        items, self.buffer = self.buffer, []
        stats = self.crawler.stats
        with self.session_factory() as session, session.begin():
            for item in items:
                if isinstance(item, ErrorItem):
                    session.add(
                        PipelineError(
                            run_id=self.run_id,
                            stage="crawl",
                            kind=item["kind"],
                            location=item["url"],
                            field=item.get("field"),
                            reason=item["reason"],
                            payload={"source": item.get("source")},
                        )
                    )
                    stats.inc_value("aimap/errors/recorded")
                elif isinstance(item, DocumentItem):
                    outcome = self._upsert_document(session, item)
                    stats.inc_value(f"aimap/documents/{outcome}")

    def _upsert_document(self, session: Session, item: DocumentItem) -> str:
        text = item["text"]
        sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
        source_id = self.sources.get(item["source"])
        existing = session.scalars(select(Document).where(Document.canonical_url == item["canonical_url"])).first()
        if existing is not None and existing.content_sha256 == sha:
            return "unchanged"
        doc = existing or Document(canonical_url=item["canonical_url"])
        doc.source_id = source_id
        doc.url = item["url"]
        doc.http_status = item.get("http_status")
        doc.content_sha256 = sha
        doc.fetched_at = utcnow()
        doc.published_on = item.get("published_on")
        doc.title = item.get("title")
        doc.text = text
        doc.language = item.get("language")
        doc.encoding = item.get("encoding")
        doc.raw_gz = gzip.compress(item["raw"], mtime=0) if item.get("raw") else None
        if existing is None:
            session.add(doc)
            return "new"
        return "changed"


def _ensure_source(session: Session, name: str, kind: str, publisher: str, config: dict[str, Any]) -> int:
    source = session.scalars(select(Source).where(Source.name == name)).first()
    if source is None:
        source = Source(name=name, kind=kind, publisher=publisher, config=config)
        session.add(source)
        session.flush()
    elif source.config != config or source.publisher != publisher or source.kind != kind:
        source.config, source.publisher, source.kind = config, publisher, kind
    return source.id
