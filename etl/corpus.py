"""The real-text labelled corpus (``tests/data/realtext``): reading it and scoring the extractor on it.

Documents are paraphrases of real public pages labelled by ``../shared/ANNOTATION.md`` (each
relation names its parties ``a``/``b`` and every surface form the text uses for them,
``a_names``/``b_names``). The corpus is split once into a frozen ``test`` part and a ``dev`` part
(``tests/data/realtext/assemble.py``; README beside it). Scoring uses :func:`etl.evaluate.score_documents`
with the document's surface forms: a predicted name counts for the gold party one of whose written
forms it matches (:func:`etl.evaluate.surface_resolver`).

Figures (definitions in :func:`etl.evaluate.score_documents`): relation P/R/F1 over all relations
and over ``new`` ones only (gold and predictions both restricted to status ``new``), direction
accuracy on matched pairs, document-level is_cooperation accuracy, category and domain micro-F1.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from etl.evaluate import KINDS, GoldDocument, Relation, Scores, label_codes, score_documents

CORPUS_DIR = Path(__file__).resolve().parents[1] / "tests" / "data" / "realtext"
PARTS = ("dev", "test")


def read_part(part: str, directory: Path = CORPUS_DIR) -> list[dict[str, Any]]:
    """The documents of ``dev`` or ``test`` (``tests/data/realtext/<part>.jsonl``)."""
    if part not in PARTS:
        raise ValueError(f"unknown corpus part {part!r} (use one of {', '.join(PARTS)})")
    path = directory / f"{part}.jsonl"
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def extractor_record(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The ``aimap extract --in`` record of a corpus document (``url`` = its ``source_url``)."""
    record = {"id": doc["id"], "text": doc["text"], "title": doc.get("title"), "published": doc.get("published"),
              "url": doc.get("source_url")}
    return {k: v for k, v in record.items() if v}


def surfaces(doc: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Gold party -> every name the text writes for it (from ``a_names``/``b_names``)."""
    out: dict[str, set[str]] = {}
    for r in doc["gold"]["relations"]:
        out.setdefault(r["a"], set()).update(r.get("a_names") or ())
        out.setdefault(r["b"], set()).update(r.get("b_names") or ())
    return {k: tuple(sorted(v)) for k, v in out.items()}


def gold_document(doc: Mapping[str, Any], status: str | None = None) -> GoldDocument:
    """One labelled document in the scorer's form; with ``status`` only relations of that status."""
    gold = doc["gold"]
    relations = [r for r in gold["relations"] if status is None or r["status"] == status]
    return GoldDocument(
        id=str(doc["id"]),
        relations=tuple(Relation.from_record(r) for r in relations),
        is_cooperation=bool(gold["is_cooperation"]),
        tech_categories=label_codes(gold.get("tech_categories", ()), "tech"),
        application_domains=label_codes(gold.get("application_domains", ()), "domain"),
        non_parties=tuple(gold.get("non_parties", ())),
        surfaces=surfaces(doc),
    )


@dataclass
class CorpusScores:
    """Scores over all relations and over ``new`` relations only."""

    all: Scores
    new: Scores

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures (``all`` and ``new`` as :meth:`Scores.as_dict`)."""
        return {"all": self.all.as_dict(), "new": self.new.as_dict()}


def score_corpus(docs: Iterable[Mapping[str, Any]], predictions: Iterable[Mapping[str, Any]]) -> CorpusScores:
    """Score extractor records against labelled corpus documents (module docstring)."""
    docs = list(docs)
    predictions = list(predictions)
    new_predictions = [dict(p, relations=[r for r in p.get("relations") or () if r.get("status") == "new"])
                       for p in predictions]
    return CorpusScores(score_documents([gold_document(d) for d in docs], predictions),
                        score_documents([gold_document(d, "new") for d in docs], new_predictions))


#: The facets of :func:`breakdown`: a relation's ``kind``, a corpus document's ``genre`` (exchange,
#: media, newsroom, government) and ``lang`` (zh-Hans, zh-Hant, en).
BREAKDOWN_FACETS = ("kind", "genre", "lang")


def breakdown(docs: Iterable[Mapping[str, Any]], predictions: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Relation precision/recall/F1 over all statuses (both parties and the direction right, as in
    :func:`score_corpus`), broken down so that a reader knows which relations the overall figure is
    reliable for.

    - ``kind``: gold and predicted relations of one kind only (ANNOTATION.md's eight kinds). A relation
      found with another kind counts as missed under the gold kind and spurious under its own, so the
      kinds' counts add up to more than the overall figure's.
    - ``genre`` and ``lang``: the documents of one genre or script only (the corpus's ``genre`` and
      ``lang`` fields), with their count and is_cooperation accuracy.

    Each cell: ``tp``, ``fp``, ``fn``, ``precision``, ``recall``, ``f1`` (:meth:`etl.evaluate.PRF.as_dict`);
    a kind that neither the gold nor the predictions hold is left out.
    """
    docs = list(docs)
    predictions = list(predictions)
    golds = [gold_document(d) for d in docs]
    out: dict[str, dict[str, dict[str, Any]]] = {facet: {} for facet in BREAKDOWN_FACETS}
    for kind in KINDS:
        gold = [replace(g, relations=tuple(r for r in g.relations if r.kind == kind)) for g in golds]
        predicted = [dict(p, relations=[r for r in p.get("relations") or () if r.get("kind") == kind])
                     for p in predictions]
        prf = score_documents(gold, predicted).relations
        if prf.tp + prf.fp + prf.fn:
            out["kind"][kind] = prf.as_dict()
    for facet in ("genre", "lang"):
        for value in sorted({str(d[facet]) for d in docs if d.get(facet)}):
            chosen = [g for g, d in zip(golds, docs, strict=True) if str(d.get(facet)) == value]
            scores = score_documents(chosen, predictions)
            out[facet][value] = scores.relations.as_dict() | {
                "documents": len(chosen), "is_cooperation_accuracy": scores.is_cooperation.as_dict()["value"]}
    return out
