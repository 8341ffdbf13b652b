"""Item pipelines: validate items, then write them to the database in batches.

:class:`DatabasePipeline` is idempotent: a canonical URL is stored once; re-crawling an
unchanged page changes nothing (its validators are refreshed), a changed page (different text
hash) keeps its previous content as a ``document_versions`` row, becomes version n+1 and is
re-extracted by the ETL stage. Annual-report items also upsert ``firm_financials`` of the firm
with that stock code. Error items become ``pipeline_errors`` rows. After each committed batch
the crawl journal marks the batch's requests finished (see :mod:`crawlers.journal`). Counts go
to the crawl stats (``aimap/documents/new`` ...).
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
from decimal import Decimal
from typing import Any

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawlers.items import DocumentItem, ErrorItem
from db.models import Document, DocumentVersion, FirmFinancials, Organisation, PipelineError, Source, utcnow
from db.session import get_engine, session_factory


class ValidationPipeline:
    """Drop (and record) document items that miss what a document needs."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidationPipeline:
        return cls(crawler)

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        """Return the item, or turn it into an error item naming the missing field."""
        if isinstance(item, DocumentItem):
            for key in ("source", "url", "canonical_url", "text"):
                if not item.get(key):
                    self.crawler.stats.inc_value("aimap/dropped/invalid")
                    return ErrorItem(source=item.get("source"), kind="invalid_item", url=item.get("url") or "",
                                     request_url=item.get("request_url"), field=key,
                                     reason=f"document item without {key}")
            if item.get("published_on") is not None and not isinstance(item["published_on"], dt.date):
                raise DropItem(f"published_on is not a date: {item.get('url')}")
        return item


class DatabasePipeline:
    """Batch-write documents and errors to the database configured by ``DATABASE_URL``."""

    def __init__(self, crawler: Crawler, batch_size: int) -> None:
        self.crawler = crawler
        self.batch_size = batch_size
        self.run_id = crawler.settings.getint("AIMAP_RUN_ID") or None
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
        """Write the buffered items in one transaction, then journal their requests as done."""
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
                    doc, outcome = self._upsert_document(session, item)
                    stats.inc_value(f"aimap/documents/{outcome}")
                    if item.get("financials"):
                        session.flush()
                        stats.inc_value(f"aimap/financials/{_upsert_financials(session, doc, item['financials'])}")
        journal = getattr(self.crawler, "aimap_journal", None)
        if journal is not None:
            journal.done([i.get("request_url") or i.get("url") for i in items if i.get("request_url") or i.get("url")])

    def _upsert_document(self, session: Session, item: DocumentItem) -> tuple[Document, str]:
        text = item["text"]
        sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
        existing = session.scalars(select(Document).where(Document.canonical_url == item["canonical_url"])).first()
        now = utcnow()
        if existing is not None and existing.content_sha256 == sha:
            existing.checked_at = now
            existing.etag = item.get("etag") or existing.etag
            existing.last_modified = item.get("last_modified") or existing.last_modified
            return existing, "unchanged"
        if existing is not None:  # keep the replaced content
            session.add(DocumentVersion(
                document_id=existing.id, version=existing.version, content_sha256=existing.content_sha256,
                fetched_at=existing.fetched_at, published_on=existing.published_on, title=existing.title,
                text=existing.text, raw_gz=existing.raw_gz,
            ))
            existing.version += 1
        doc = existing or Document(canonical_url=item["canonical_url"], version=1)
        doc.source_id = self.sources.get(item["source"])
        doc.url = item["url"]
        doc.http_status = item.get("http_status")
        doc.content_sha256 = sha
        doc.fetched_at = doc.checked_at = now
        doc.published_on = item.get("published_on")
        doc.title = item.get("title")
        doc.text = text
        doc.language = item.get("language")
        doc.encoding = item.get("encoding")
        doc.etag = item.get("etag")
        doc.last_modified = item.get("last_modified")
        doc.meta = item.get("meta")
        doc.raw_gz = gzip.compress(item["raw"], mtime=0) if item.get("raw") else None
        if existing is None:
            session.add(doc)
            return doc, "new"
        return doc, "changed"


def _upsert_financials(session: Session, doc: Document, figures: dict[str, Any]) -> str:
    """Store an annual report's key figures for the listed firm with that stock code."""
    org = session.scalars(select(Organisation).where(Organisation.stock_code == figures["stock_code"])).first()
    if org is None:
        session.add(PipelineError(stage="crawl", kind="unknown_stock_code", location=doc.canonical_url,
                                  field="stock_code", reason=f"no organisation with stock code {figures['stock_code']}"))
        return "unmatched"
    year = int(figures["fiscal_year"])
    row = session.scalars(select(FirmFinancials).where(
        FirmFinancials.organisation_id == org.id, FirmFinancials.fiscal_year == year)).first()
    revenue = Decimal(str(figures["revenue_cny"])) if figures.get("revenue_cny") is not None else None
    rd = Decimal(str(figures["rd_expense_cny"])) if figures.get("rd_expense_cny") is not None else None
    if row is None:
        session.add(FirmFinancials(organisation_id=org.id, fiscal_year=year, revenue_cny=revenue, rd_expense_cny=rd,
                                   source="exchange", document_id=doc.id))
        return "new"
    if row.revenue_cny == revenue and row.rd_expense_cny == rd:
        if row.document_id is None:  # same figures: keep them, add the exchange document as evidence
            row.document_id = doc.id
        return "unchanged"
    row.revenue_cny, row.rd_expense_cny, row.source, row.document_id = revenue, rd, "exchange", doc.id
    return "updated"


def _ensure_source(session: Session, name: str, kind: str, publisher: str, config: dict[str, Any]) -> int:
    source = session.scalars(select(Source).where(Source.name == name)).first()
    if source is None:
        source = Source(name=name, kind=kind, publisher=publisher, config=config)
        session.add(source)
        session.flush()
    elif source.config != config or source.publisher != publisher or source.kind != kind:
        source.config, source.publisher, source.kind = config, publisher, kind
    return source.id
