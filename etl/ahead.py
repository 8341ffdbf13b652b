"""Extraction made ahead of loading: what the extraction pool's workers return and how the loader checks it.

:func:`extract_documents` extracts documents against a gazetteer snapshot without writing
anything (so batches can be extracted in parallel: processes, a Dask cluster);
:class:`Precomputed` is what it returns; :func:`same_names` tells the loader
(:func:`etl.load.run_etl_ids`) whether such an extraction is still the one it would make now,
with the gazetteer it has grown since, or must be made again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Document
from etl.dedup import load_config, signature
from etl.extract import Extraction
from etl.lexicon import EXTRACTOR_VERSION, load_lexicon
from etl.mentions import Gazetteer
from etl.normalize import normalise
from etl.pairs import extract_with_model


@dataclass
class Precomputed:
    """The extraction of one document made ahead of loading (:func:`extract_documents`).

    ``content_sha256`` is the text it was made from: :func:`etl.load.run_etl_ids` uses it only while the
    document still has that text. ``error`` is the exception extraction raised (the document is
    then quarantined with it, exactly as if extraction had failed during loading).
    """

    document_id: int
    content_sha256: str | None
    extraction: Extraction | None = None
    error: Exception | None = None
    #: the extractor that made it (a worker on another machine or install may differ: then unused)
    extractor_version: str | None = None
    #: the text's MinHash signature (:func:`etl.dedup.signature`) and the parameters it was computed
    #: with (:attr:`etl.dedup.DedupConfig.params`), made where the text already is, so that the
    #: duplicate clustering at the end of the run (one process) need not read and hash it again
    #: (issue 17); ``None`` when the text is too short for one (the clustering reads it then)
    minhash: Any = None
    minhash_params: str | None = None


def extract_documents(
    session: Session,
    ids: list[int],
    gazetteer: Gazetteer,
    lexicon: Any = None,
) -> list[Precomputed]:
    """Extract (without loading anything) the documents ``ids`` against one gazetteer snapshot
    (the database's: :func:`etl.load.gazetteer_snapshot`; or a copy of the loader's).

    Read-only, so batches can be extracted in parallel (threads, processes, a Dask cluster) and
    then loaded in document order by :func:`etl.load.run_etl_ids`; with the same snapshot every
    runner gives the same result. Unlike :func:`etl.load.run_etl`, names that earlier documents of
    the same run add to the database are not in the snapshot (the extractor discovers them again
    by their suffixes; the loader extracts again where that matters, :func:`same_names`). Each
    extracted document's MinHash signature is made here too (:attr:`Precomputed.minhash`).
    """
    lexicon = lexicon or load_lexicon()
    dedup = load_config()
    out: list[Precomputed] = []
    docs: dict[int, Document] = {}
    for start in range(0, len(ids), 500):  # one query per 500 documents, not one per document
        docs.update((d.id, d) for d in session.scalars(select(Document).where(Document.id.in_(ids[start:start + 500]))))
    for doc_id in ids:
        doc = docs.get(doc_id)
        if doc is None:
            continue
        try:
            if not doc.text.strip():
                raise ValueError("document has no text")
            extraction = extract_with_model(doc.text, doc.published_on, gazetteer, lexicon, doc.title)
            out.append(Precomputed(doc_id, doc.content_sha256, extraction, extractor_version=EXTRACTOR_VERSION,
                                   minhash=signature(doc.text, dedup), minhash_params=dedup.params))
        except Exception as exc:  # carried to the load step, which quarantines the document
            out.append(Precomputed(doc_id, doc.content_sha256, error=exc, extractor_version=EXTRACTOR_VERSION))
    return out


@dataclass(frozen=True)
class SnapshotVersion:
    """A snapshot named by the loader's own gazetteer at a version (:attr:`etl.mentions.Gazetteer.version`).

    What :class:`etl.pipeline.ExtractionPool` extracts a wave against is a pickled copy of the
    loading process's gazetteer; the loader then needs no copy of its own to tell which
    documents to extract again, only the names it has changed since (see :func:`same_names`).
    """

    lineage: str
    version: int


def same_names(text: str, before: Gazetteer | SnapshotVersion, now: Gazetteer) -> bool:
    """Whether both gazetteers match the same names, for the same organisations, in ``text`` (normalised).

    With ``before`` a :class:`SnapshotVersion` of ``now``: whether none of the names ``now`` changed
    since that version occurs anywhere in the text. A gazetteer only gains names or changes their
    match, so where none of those occurs both find the same names with the same keys; where one
    occurs (even inside a longer name) the document counts as changed — never fewer documents than
    the comparison of whole gazetteers, and the same wherever a changed name is matched.
    """
    norm = normalise(text).text
    if isinstance(before, SnapshotVersion):
        changed = now.changed_in(norm, before.version) if before.lineage == now.lineage else None
        return changed is False  # (None: not this gazetteer's copy, nothing to compare with: extract again)
    return all(before.get(name) == now.get(name) for g in (before, now) for _s, _e, name in g.find(norm))
