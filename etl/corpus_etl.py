"""The real-text corpus through the whole ETL: what a published edition is built from, scored.

``aimap extract`` (and the published figures of :mod:`etl.corpus`) reads each document on its own
with the seed gazetteer. An edition's network is built from what ``aimap etl`` loads, which is more
than the extraction: the loader's gazetteer grows with every organisation it stores (a document is
read with the names of the documents before it), parties are resolved onto stored organisations,
relations are merged into events, and a historical relation without a year is counted and not
loaded. This module runs a labelled part of the corpus through :func:`etl.load.run_etl` into a
throwaway database and turns every document's loaded events back into an extractor record, so that
the same scorer (:func:`etl.corpus.score_corpus`) measures what the report is built from.

How the documents are stored: one ``documents`` row per corpus document, in the part's order, with
its text, title and publication date, under its ``source_url`` (made unique with the document id
when two documents paraphrase one page). 361 of the dev part's 663 documents carry no publication
date (the paraphrases did not keep it), and the ETL quarantines a document whose relation sentence
states no year when it has no publication date either; a crawled page has its date (the crawlers
read it from the page, the feed or the disclosure), so an undated corpus document is given
:data:`FALLBACK_PUBLISHED`: otherwise the figure would measure the corpus' missing metadata rather
than the extraction. Its year is not scored here.

How a document's events become a record: for every event the document is a mention of, one
relation between the event's provider and receiver, each named by the longest of the organisation's
stored names (canonical name and aliases) that the document's text contains (after the extractor's
normalisation: full-width and traditional forms), else by its canonical name; ``direction`` is
``mutual`` for a mutual event, else provider → receiver; ``is_cooperation`` is whether the document
reports any event; categories and domains are the union of its events' labels. The status of a
relation is not recoverable from an event (an event holds a year, not how each document reported
it), so only the figures over all relations mean something here: relation and pair P/R/F1, direction
accuracy, is_cooperation accuracy, category and domain micro-F1 (:func:`etl.corpus.score_corpus`,
``.all``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.bootstrap import prepare_database
from db.models import (
    Alias,
    CooperationEvent,
    Document,
    EventApplicationDomain,
    EventTechCategory,
    Mention,
    Organisation,
)
from db.session import make_engine, session_factory
from etl.corpus import CorpusScores, score_corpus
from etl.load import EtlReport, run_etl
from etl.normalize import normalise

#: The publication date an undated corpus document is stored with (module docstring): a day inside
#: the years the corpus' pages were published in (2018-2025), used only where a sentence states no year.
FALLBACK_PUBLISHED = dt.date(2024, 12, 31)


@dataclass
class EtlCorpusRun:
    """A corpus part loaded by the ETL: one extractor record per document, the run's counts, its time."""

    records: list[dict[str, Any]]
    report: EtlReport
    seconds: float


def _published(doc: Mapping[str, Any]) -> dt.date:
    """The document's publication date; :data:`FALLBACK_PUBLISHED` when it has none. A value that is no
    ISO date is a fault of the corpus, not a missing date: a one-line error naming the document."""
    if not doc.get("published"):
        return FALLBACK_PUBLISHED
    try:
        return dt.date.fromisoformat(str(doc["published"]))
    except ValueError:
        raise ValueError(f"corpus document {doc.get('id')}: field 'published' is {doc['published']!r}, "
                         "not an ISO date (YYYY-MM-DD)") from None


def store_corpus_documents(session: Session, docs: Sequence[Mapping[str, Any]]) -> dict[int, str]:
    """Store ``docs`` as crawled documents (module docstring) and commit; database id -> corpus id."""
    seen: set[str] = set()
    stored: list[tuple[Document, str]] = []
    for d in docs:
        url = str(d.get("source_url") or f"corpus:{d['id']}")
        if url in seen:
            url = f"{url}#{d['id']}"
        seen.add(url)
        row = Document(canonical_url=url, url=url, http_status=200,
                       content_sha256=hashlib.sha256(d["text"].encode()).hexdigest(),
                       published_on=_published(d), title=d.get("title"), text=d["text"], language=d.get("language"))
        session.add(row)
        stored.append((row, str(d["id"])))
    session.flush()
    ids = {row.id: corpus_id for row, corpus_id in stored}
    session.commit()
    return ids


def _names(session: Session) -> dict[int, list[str]]:
    """Organisation id -> its stored names, canonical name first."""
    names: dict[int, list[str]] = defaultdict(list)
    for org_id, name in session.execute(select(Organisation.id, Organisation.name)):
        names[org_id].append(name)
    for org_id, name in session.execute(select(Alias.organisation_id, Alias.name)):
        if name not in names[org_id]:
            names[org_id].append(name)
    return names


def _written(names: list[str], text: str, folded: str) -> str:
    """The longest of ``names`` the document writes (as written, or normalised and case-folded:
    "iFlytek" for a stored "IFLYTEK"), else the canonical name. ``folded`` is the document's text
    normalised (:func:`etl.normalize.normalise`) and case-folded."""
    found = [n for n in names if n and (n in text or normalise(n).text.casefold() in folded)]
    return max(found, key=lambda n: (len(n), n)) if found else names[0]


def loaded_records(session: Session, ids: Mapping[int, str], docs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every stored corpus document's loaded events as an extractor record (module docstring)."""
    texts = {str(d["id"]): (d.get("title") or "") + "\n" + d["text"] for d in docs}
    names = _names(session)
    tech: dict[int, set[str]] = defaultdict(set)
    for event_id, code in session.execute(select(EventTechCategory.event_id, EventTechCategory.category_code)):
        tech[event_id].add(code)
    domains: dict[int, set[str]] = defaultdict(set)
    for event_id, code in session.execute(select(EventApplicationDomain.event_id, EventApplicationDomain.domain_code)):
        domains[event_id].add(code)
    by_doc: dict[int, list[CooperationEvent]] = defaultdict(list)
    rows = session.execute(select(Mention.document_id, CooperationEvent)
                           .join(CooperationEvent, CooperationEvent.id == Mention.event_id)
                           .order_by(Mention.document_id, CooperationEvent.id))
    for doc_id, event in rows:
        by_doc[doc_id].append(event)
    records = []
    for doc_id, corpus_id in sorted(ids.items()):
        text = texts[corpus_id]
        folded = normalise(text).text.casefold()
        relations, labels, fields = [], set(), set()
        for e in by_doc.get(doc_id, []):
            relations.append({"a": _written(names[e.provider_id], text, folded),
                              "b": _written(names[e.receiver_id], text, folded),
                              "direction": "mutual" if e.direction == "mutual" else "a->b", "year": e.year,
                              "kind": e.kind, "status": "terminated" if e.status == "terminated" else "new"})
            labels |= tech[e.id]
            fields |= domains[e.id]
        records.append({"id": corpus_id, "relations": relations, "is_cooperation": bool(relations),
                        "tech_categories": sorted(labels), "application_domains": sorted(fields)})
    return records


def run_corpus_etl(docs: Sequence[Mapping[str, Any]], url: str | None = None) -> EtlCorpusRun:
    """Load ``docs`` (corpus documents, :func:`etl.corpus.read_part`) with the whole ETL into a fresh
    database (``url``, which must be empty; default: a throwaway SQLite file) and read back one
    extractor record per document."""
    with tempfile.TemporaryDirectory(prefix="aimap-corpus-etl-") as tmp:
        engine = make_engine(url or f"sqlite:///{Path(tmp) / 'corpus.db'}")
        try:
            prepare_database(engine)
            with session_factory(engine)() as session:
                if session.scalar(select(func.count()).select_from(Document)):
                    raise ValueError(f"{engine.url.render_as_string(hide_password=True)} already holds documents: "
                                     "the corpus is loaded into an empty database")
                ids = store_corpus_documents(session, docs)
                started = time.perf_counter()
                report = run_etl(session)
                seconds = time.perf_counter() - started
                records = loaded_records(session, ids, docs)
        finally:
            engine.dispose()
    return EtlCorpusRun(records, report, seconds)


def score_through_etl(docs: Sequence[Mapping[str, Any]], url: str | None = None) -> tuple[CorpusScores, EtlCorpusRun]:
    """``docs`` through the whole ETL, scored like ``aimap extract``'s records (use ``.all``: module docstring)."""
    run = run_corpus_etl(docs, url)
    return score_corpus(docs, run.records), run
