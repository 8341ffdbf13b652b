"""Item pipelines: validate items and fit them to the schema, then write them to the database in batches.

:class:`DatabasePipeline` is idempotent: a canonical URL is stored once; re-crawling an
unchanged page changes nothing (its validators are refreshed), a changed page (different text
hash) keeps its previous content as a ``document_versions`` row, becomes version n+1 and is
re-extracted by the ETL stage. Annual-report items also upsert ``firm_financials`` of the firm
with that stock code. Error items become ``pipeline_errors`` rows; a *permanent* error (a 404, an
oversized or unreadable page...) met again by a later crawl is not recorded again: its row counts
the repeats and moves to the latest run (:func:`record_error`).

Nothing is lost silently: a batch is written in one transaction; when that fails, every item is
written again in a transaction of its own, so one bad page costs one ``store_error`` row, never its
neighbours. A dropped database connection is retried (the pool reconnects) with backoff; items that
still cannot be written are counted as ``aimap/documents/lost``, are not journaled as finished (the
next, resumed crawl fetches them again) and the crawl is closed with ``database_unavailable``, so it
never ends ``completed``. Counts go to the crawl stats (``aimap/documents/new`` ...) only after their
transaction committed.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.utils.defer import deferred_from_coro
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from crawlers.fields import ERROR_WIDTH, clean_text, clip, fit_document
from crawlers.items import DocumentItem, ErrorItem
from db.models import Document, DocumentVersion, FirmFinancials, Organisation, PipelineError, Source, utcnow
from db.session import get_engine, session_factory

logger = logging.getLogger(__name__)

#: Error kinds that a later crawl of the same URL meets again unchanged (recorded once, repeats counted).
#: ``fetch_error``, ``truncated`` and HTTP 5xx/408/429 are transient: recorded by every crawl that meets them.
TRANSIENT_KINDS = frozenset({"fetch_error", "truncated", "store_error"})
TRANSIENT_HTTP = ("HTTP 5", "HTTP 408", "HTTP 429")


class ValidationPipeline:
    """Turn document items that miss what a document needs, or cannot be stored, into error items, and fit
    the others to the schema (:func:`crawlers.fields.fit_document`)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidationPipeline:
        return cls(crawler)

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        """Return the (fitted) item, or an error item naming the field and the reason."""
        if not isinstance(item, DocumentItem):
            return item
        for key in ("source", "url", "canonical_url", "text"):
            if not item.get(key):
                self.crawler.stats.inc_value("aimap/dropped/invalid")
                return ErrorItem(source=item.get("source"), kind="invalid_item", url=item.get("url") or "",
                                 request_url=item.get("request_url"), field=key,
                                 reason=f"document item without {key}")
        if item.get("published_on") is not None and not isinstance(item["published_on"], dt.date):
            self.crawler.stats.inc_value("aimap/dropped/invalid")  # recorded with its reason, not dropped
            return ErrorItem(source=item.get("source"), kind="invalid_item", url=item["url"],
                             request_url=item.get("request_url"), field="published_on",
                             reason=f"published_on is not a date: {item['published_on']!r}")
        spider = spider or getattr(self.crawler, "spider", None)
        cfg = getattr(spider, "source", None)
        changed, refused = fit_document(item, getattr(cfg, "language", None), getattr(spider, "canonical", None))
        for key in changed:
            self.crawler.stats.inc_value(f"aimap/fitted/{key}")
        if refused:
            self.crawler.stats.inc_value("aimap/errors/url_too_long")
            return ErrorItem(source=item.get("source"), kind="url_too_long", url=item["url"],
                             request_url=item.get("request_url"), field="url", reason=f"{refused}: not stored")
        return item


def is_disconnect(exc: BaseException) -> bool:
    """Whether ``exc`` says the database connection was lost or could not be made (worth a retry)."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OperationalError | InterfaceError)


class DatabasePipeline:
    """Batch-write documents and errors to the database configured by ``DATABASE_URL``."""

    def __init__(self, crawler: Crawler, batch_size: int) -> None:
        self.crawler = crawler
        self.batch_size = batch_size
        self.run_id = crawler.settings.getint("AIMAP_RUN_ID") or None
        self.retries = crawler.settings.getint("AIMAP_DB_RETRIES", 4)
        self.retry_delay = crawler.settings.getfloat("AIMAP_DB_RETRY_DELAY", 1.0)
        self.buffer: list[Any] = []
        self.sources: dict[str, int] = {}
        self.session_factory = session_factory(get_engine())
        self.unavailable = False
        #: the batch's stored documents read with one query (false: one SELECT per item, the previous path)
        self.batched_lookup = crawler.settings.getbool("AIMAP_CRAWL_FAST_PATH", True)

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
        """Buffer the item; flush a full batch."""
        self.buffer.append(item)
        if len(self.buffer) >= self.batch_size:
            self.flush()
        return item

    def close_spider(self, spider: Spider | None = None) -> None:
        """Flush what is left."""
        self.flush()

    def flush(self) -> None:
        """Write the buffered items (one transaction, or item by item when that fails), count what was
        committed, then journal the requests whose outcome is stored as done."""
        if not self.buffer:
            return
        items, self.buffer = self.buffer, []
        try:
            counts = self._write(items)
            safe = items
        except Exception as exc:  # noqa: BLE001 - any failure of the batch: retry item by item
            logger.warning("batch of %d items failed (%s: %s); writing them one by one", len(items),
                           type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
            self.crawler.stats.inc_value("aimap/store/batch_fallbacks")
            counts, safe = self._write_one_by_one(items)
        for key, n in counts.items():
            self.crawler.stats.inc_value(key, n)
        journal = getattr(self.crawler, "aimap_journal", None)
        if journal is not None:
            journal.done([i.get("request_url") or i.get("url") for i in safe if i.get("request_url") or i.get("url")])

    def _write(self, items: list[Any]) -> Counter[str]:
        """Write ``items`` in one transaction; return the stats it adds (applied by the caller after commit)."""
        counts: Counter[str] = Counter()
        with self.session_factory() as session, session.begin():
            known = known_errors(session, [i["url"] for i in items if isinstance(i, ErrorItem)])
            stored = stored_documents(session, [i["canonical_url"] for i in items if isinstance(i, DocumentItem)]) \
                if self.batched_lookup else None
            for item in items:
                if isinstance(item, ErrorItem):
                    outcome = record_error(session, run_id=self.run_id, kind=item["kind"], location=item["url"],
                                           field=item.get("field"), reason=item["reason"], source=item.get("source"),
                                           known=known)
                    counts["aimap/errors/recorded"] += 1
                    counts["aimap/errors_repeated"] += outcome == "repeated"
                elif isinstance(item, DocumentItem):
                    doc, outcome = self._upsert_document(session, item, stored)
                    counts[f"aimap/documents/{outcome}"] += 1
                    if item.get("financials"):
                        session.flush()
                        counts[f"aimap/financials/{_upsert_financials(session, doc, item['financials'], self.run_id)}"] += 1
        return +counts

    def _write_one_by_one(self, items: list[Any]) -> tuple[Counter[str], list[Any]]:
        """Write each item in its own transaction; an item that fails for itself becomes a ``store_error``
        row, a lost connection is retried. Return the stats and the items whose outcome is stored."""
        counts: Counter[str] = Counter()
        safe: list[Any] = []
        for item in items:
            failure: BaseException | None = None
            if not self.unavailable or self._reachable():
                try:
                    counts += self._retrying(lambda it=item: self._write([it]))
                    safe.append(item)
                    continue
                except Exception as exc:  # noqa: BLE001 - recorded below, or counted as lost
                    failure = exc
            if failure is not None and not is_disconnect(failure):  # the item's own fault: one error row
                error = ErrorItem(source=item.get("source"), kind="store_error", url=item.get("url") or "",
                                  field=None, reason=f"could not be stored: {type(failure).__name__}: "
                                  f"{(str(failure).splitlines() or [''])[0]}")
                try:
                    counts += self._retrying(lambda e=error: self._write([e]))
                    counts["aimap/errors/store_error"] += 1
                    safe.append(item)
                    continue
                except Exception as exc:  # noqa: BLE001 - counted as lost below
                    failure = exc
            counts["aimap/documents/lost"] += isinstance(item, DocumentItem)
            counts["aimap/errors_lost"] += isinstance(item, ErrorItem)
            if failure is not None:
                self._give_up(failure)
        return +counts, safe

    def _retrying(self, write: Callable[[], Counter[str]]) -> Counter[str]:
        """Call ``write()``; on a lost connection retry up to ``AIMAP_DB_RETRIES`` times with doubling delays."""
        for attempt in range(self.retries + 1):
            try:
                return write()
            except Exception as exc:
                if not is_disconnect(exc) or attempt == self.retries:
                    raise
                self.crawler.stats.inc_value("aimap/store/reconnects")
                logger.warning("database connection lost (%s); retry %d of %d", type(exc).__name__, attempt + 1,
                               self.retries)
                time.sleep(self.retry_delay * 2 ** attempt)
        raise AssertionError("unreachable")

    def _reachable(self) -> bool:
        """Whether the database answers again (after it was given up)."""
        try:
            with self.session_factory() as session:
                session.execute(select(1))
        except Exception:  # noqa: BLE001 - still down
            return False
        self.unavailable = False
        return True

    def _give_up(self, failure: BaseException) -> None:
        """The database cannot be written: stop the crawl (what it fetched now would be lost too)."""
        if self.unavailable:
            return
        self.unavailable = True
        logger.error("database unavailable (%s: %s): closing the crawl; the next crawl resumes it",
                     type(failure).__name__, (str(failure).splitlines() or [""])[0])
        engine = getattr(self.crawler, "engine", None)
        if engine is not None and getattr(engine, "spider", None) is not None:
            deferred_from_coro(engine.close_spider_async(reason="database_unavailable"))

    def _upsert_document(self, session: Session, item: DocumentItem,
                         stored: dict[str, Document] | None = None) -> tuple[Document, str]:
        """Insert, update (keeping the replaced version) or touch the document of ``item``; return it and
        ``new``/``changed``/``unchanged``. ``stored``: the batch's documents by canonical URL
        (:func:`stored_documents`, kept up to date here), else the document is looked up by itself."""
        text = item["text"]
        sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
        if stored is None:
            existing = session.scalars(select(Document).where(Document.canonical_url == item["canonical_url"])).first()
        else:
            existing = stored.get(item["canonical_url"])
        now = utcnow()
        if existing is not None and existing.content_sha256 == sha:
            existing.checked_at = now
            existing.etag = item.get("etag") or existing.etag
            existing.last_modified = item.get("last_modified") or existing.last_modified
            return existing, "unchanged"
        if existing is not None:  # keep the replaced content
            if existing.id is None:  # added earlier in this batch: it needs its id first
                session.flush()
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
            if stored is not None:
                stored[item["canonical_url"]] = doc
            return doc, "new"
        return doc, "changed"


def stored_documents(session: Session, canonical_urls: list[str]) -> dict[str, Document]:
    """The stored documents with these canonical URLs, by canonical URL, in one query per 500 (a batch's
    documents are looked up at once instead of one ``SELECT`` — and one autoflush — per item)."""
    wanted = sorted(set(canonical_urls))
    found: dict[str, Document] = {}
    for start in range(0, len(wanted), 500):
        for doc in session.scalars(select(Document).where(Document.canonical_url.in_(wanted[start:start + 500]))):
            found[doc.canonical_url] = doc
    return found


def is_permanent(kind: str, reason: str) -> bool:
    """Whether an error of ``kind`` with ``reason`` would be met again unchanged by the next crawl."""
    return kind not in TRANSIENT_KINDS and not (kind == "http_error" and reason.startswith(TRANSIENT_HTTP))


#: (kind, location, reason) -> the latest crawl error row with them.
KnownErrors = dict[tuple[str, str, str], PipelineError]


def known_errors(session: Session, locations: list[str]) -> KnownErrors:
    """The latest crawl error rows at these addresses, in one query (a batch's repeats are looked up here)."""
    wanted = sorted({clip(clean_text(loc or ""), ERROR_WIDTH["location"]) or "" for loc in locations})
    known: KnownErrors = {}
    for start in range(0, len(wanted), 500):
        for row in session.scalars(select(PipelineError).where(
                PipelineError.stage == "crawl", PipelineError.location.in_(wanted[start:start + 500]))
                .order_by(PipelineError.id)):
            known[(row.kind, row.location, row.reason)] = row
    return known


def record_error(session: Session, *, run_id: int | None, kind: str, location: str, reason: str,
                 field: str | None = None, source: str | None = None, known: KnownErrors | None = None) -> str:
    """Record a crawl problem; return ``recorded``, or ``repeated`` for a permanent one already recorded.

    A permanent problem (:func:`is_permanent`) with the same kind, address and reason as an earlier row
    is not recorded again: that row counts it (``payload.repeats``, ``payload.last_seen``) and moves to
    ``run_id`` (so the latest run's causes still show it; ``payload.first_run_id`` keeps the first).
    An address longer than the column is cut; the full one stays in ``payload.url``. ``known``
    (:func:`known_errors` of the batch's addresses) saves a query per error.
    """
    location, reason = clean_text(location or ""), clean_text(reason or "")
    clipped = clip(location, ERROR_WIDTH["location"]) or ""
    kind = clip(kind, ERROR_WIDTH["kind"]) or "error"
    if is_permanent(kind, reason):
        row = known.get((kind, clipped, reason)) if known is not None else session.scalars(
            select(PipelineError).where(PipelineError.stage == "crawl", PipelineError.kind == kind,
                                        PipelineError.location == clipped, PipelineError.reason == reason)
            .order_by(PipelineError.id.desc()).limit(1)).first()
        if row is not None:
            payload = dict(row.payload or {})
            payload.setdefault("first_run_id", row.run_id)
            payload["repeats"] = int(payload.get("repeats", 0)) + 1
            payload["last_seen"] = utcnow().isoformat(timespec="seconds")
            row.payload, row.run_id = payload, run_id or row.run_id
            return "repeated"
    payload: dict[str, Any] = {"source": source}
    if clipped != location:
        payload["url"] = location
    row = PipelineError(run_id=run_id, stage="crawl", kind=kind, location=clipped,
                        field=clip(field, ERROR_WIDTH["field"]), reason=reason, payload=payload)
    session.add(row)
    if known is not None:
        known[(kind, clipped, reason)] = row
    return "recorded"


def _upsert_financials(session: Session, doc: Document, figures: dict[str, Any], run_id: int | None = None) -> str:
    """Store an annual report's key figures for the listed firm with that stock code."""
    org = session.scalars(select(Organisation).where(Organisation.stock_code == figures["stock_code"])).first()
    if org is None:
        record_error(session, run_id=run_id, kind="unknown_stock_code", location=doc.canonical_url,
                     field="stock_code", reason=f"no organisation with stock code {figures['stock_code']}")
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
