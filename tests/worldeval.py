"""The world-evaluation harness: the pipeline run over the demo world, scored against its ground truth.

The demo world (:mod:`demosite`) is the oracle and imports no stage of the pipeline; the ETL's
scorer (:mod:`etl.evaluate`) is generic and knows nothing of the world. This module is where the
two meet, for the tests and the benchmarks (``benchmarks/bench_etl.py``, ``bench_etl_load.py``):

- :func:`world_gold` / :func:`score_world`: the world's truth (:func:`demosite.evaluation.world_gold_records`)
  as :class:`etl.evaluate.GoldDocument` objects, its kinds renamed to the extractor's
  (:data:`WORLD_KINDS`), and the extractor's output scored against it;
- :func:`store_world_documents`: a rendered world's registry and documents stored as a crawl
  would have (no crawl), to measure and test the ETL on the world's truth;
- :func:`etl_entity_clusters` / :func:`etl_duplicate_clusters`: the loaded database's entity and
  duplicate-document clusterings, to compare with :func:`demosite.evaluation.world_entity_clusters`
  and :func:`~demosite.evaluation.world_duplicate_clusters` by :func:`etl.evaluate.pairwise_f1`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Document
from demosite import evaluation as world_truth
from demosite.evaluation import world_documents
from etl.dedup import story_clusters
from etl.evaluate import (
    ANY_DIRECTION,
    GoldDocument,
    Relation,
    Scores,
    label_codes,
    read_records,
    score_documents,
)
from etl.registry import import_registry
from etl.resolve import Resolver

#: The demo world's event kinds (demosite/data/world-model.yml) that the extractor names differently.
WORLD_KINDS = {"procurement": "bid_award", "alliance": "alliance_membership", "supply": "product_adoption"}


def world_gold(
    truth_dir: Path | str, *, reachable_only: bool = True, complete_groups: bool = True,
    background_direction: bool = False,
) -> list[GoldDocument]:
    """The world's ground truth as gold documents (see :func:`demosite.evaluation.world_gold_records`).

    Kinds are renamed to the extractor's vocabulary (:data:`WORLD_KINDS`), the world's "any
    direction" becomes :data:`etl.evaluate.ANY_DIRECTION`, category and domain names become
    taxonomy codes (:func:`etl.evaluate.label_codes`), and predicted names are resolved through
    each document's ``surfaces``.
    """
    out = []
    for doc in world_truth.world_gold_records(truth_dir, reachable_only=reachable_only,
                                              complete_groups=complete_groups,
                                              background_direction=background_direction):
        relations = tuple(
            Relation(r["a"], r["b"], ANY_DIRECTION if r["direction"] == world_truth.ANY_DIRECTION else r["direction"],
                     r["year"], WORLD_KINDS.get(r["kind"], r["kind"]), r["status"])
            for r in doc["relations"])
        out.append(GoldDocument(
            id=doc["id"],
            relations=relations,
            is_cooperation=doc["is_cooperation"],
            tech_categories=label_codes(doc["tech_categories"], "tech"),
            application_domains=label_codes(doc["application_domains"], "domain"),
            non_parties=tuple(doc["non_parties"]),
            negative_pairs=tuple(doc["negative_pairs"]),
            surfaces=doc["surfaces"],
        ))
    return out


def score_world(
    truth_dir: Path | str,
    predictions: Path | str | Iterable[Mapping[str, Any]],
    *,
    reachable_only: bool = True,
    complete_groups: bool = True,
    background_direction: bool = False,
) -> Scores:
    """Score extractor output for the world's documents against the world's ground truth.

    Gold documents from :func:`world_gold`; predicted names are mapped to canonical
    organisations through each document's ``surfaces`` (:func:`etl.evaluate.surface_resolver`), so
    a relation matches when both resolved parties and the direction match (any direction for
    background and termination relations). Kind accuracy is measured on news events only
    (``kind_statuses={"new"}``): the world's background and termination sentences do not name
    the kind. Every other figure as in :func:`etl.evaluate.score_documents`.
    """
    gold = world_gold(truth_dir, reachable_only=reachable_only, complete_groups=complete_groups,
                      background_direction=background_direction)
    return score_documents(gold, read_records(predictions), kind_statuses={"new"})


def etl_entity_clusters(session: Session, names: Iterable[str]) -> dict[str, int]:
    """The loaded database's entity clustering of ``names``: name -> organisation id.

    Each name is resolved read-only by :class:`etl.resolve.Resolver` (aliases after folding
    traditional/full-width forms, identifiers, recorded judgements, automatic fuzzy merges) —
    what the ETL would attach the name to. Names it cannot resolve are left out (singletons
    for :func:`etl.evaluate.pairwise_f1`).
    """
    resolver = Resolver(session)
    out: dict[str, int] = {}
    for name in names:
        if name.strip():
            org_id = resolver.lookup(name)
            if org_id is not None:
                out[name] = org_id
    return out


def etl_duplicate_clusters(session: Session) -> dict[str, int]:
    """The loaded database's duplicate-document clustering: document URL -> story cluster.

    See :func:`etl.dedup.story_clusters` (text duplicates joined with documents reporting the
    same news cooperations). Keyed by ``documents.url`` (the path for the demo site).
    """
    clusters = story_clusters(session)
    return {url: clusters[doc_id] for doc_id, url in session.execute(select(Document.id, Document.url))
            if doc_id in clusters}


def store_world_documents(session: Session, world_dir: Path | str,
                          documents: Iterable[Mapping[str, Any]] | None = None,
                          *, base_url: str = "http://127.0.0.1") -> int:
    """Store a rendered world's registry and documents as a crawl would have (no crawl), and commit.

    For measuring and testing the ETL on the world's truth without crawling: ``firms.csv`` is
    imported, then each document (default: the reachable ones, :func:`demosite.evaluation.world_documents`)
    becomes a ``documents`` row with its text, content hash, title and publication date; ``url``
    is the page path and ``canonical_url`` ``base_url`` + path. Returns the number of documents stored.
    """
    world = Path(world_dir)
    import_registry(session, world / "firms.csv")
    docs = list(documents) if documents is not None else world_documents(world / "truth")
    for d in docs:
        session.add(Document(
            canonical_url=base_url + d["url"], url=d["url"], http_status=200,
            content_sha256=hashlib.sha256(d["text"].encode()).hexdigest(),
            published_on=dt.date.fromisoformat(d["published"]) if d.get("published") else None,
            title=d.get("title"), text=d["text"], language=d.get("language"), encoding=d.get("encoding"),
        ))
    session.commit()
    return len(docs)
