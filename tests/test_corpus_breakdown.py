"""etl.corpus.breakdown: the extractor's relation figures by relation kind, genre and script."""

from __future__ import annotations

from etl.corpus import breakdown, read_part


def _perfect(doc: dict) -> dict:
    """The record an extractor would write that finds exactly the gold relations of ``doc``."""
    return {"id": doc["id"], "relations": [dict(r) for r in doc["gold"]["relations"]]}


def test_breakdown_counts_a_relation_given_another_kind_under_both_kinds():
    docs = [d for d in read_part("dev") if len({r["kind"] for r in d["gold"]["relations"]}) >= 2][:3]
    assert docs, "the dev part has documents with relations of two kinds"
    perfect = [_perfect(d) for d in docs]
    parts = breakdown(docs, perfect)
    kinds = {r["kind"] for d in docs for r in d["gold"]["relations"]}
    assert set(parts["kind"]) == kinds
    assert all(c["f1"] == 1.0 and c["fp"] == 0 and c["fn"] == 0 for c in parts["kind"].values())
    total = sum(len(d["gold"]["relations"]) for d in docs)
    assert sum(c["tp"] for c in parts["kind"].values()) == total
    # one relation found with the wrong kind: missed under its gold kind, spurious under the other
    wrong = [dict(p, relations=[dict(r) for r in p["relations"]]) for p in perfect]
    relation = wrong[0]["relations"][0]
    gold_kind = relation["kind"]
    other = "other" if gold_kind != "other" else "investment"
    relation["kind"] = other
    parts = breakdown(docs, wrong)
    assert parts["kind"][gold_kind]["fn"] == 1 and parts["kind"][gold_kind]["fp"] == 0
    assert parts["kind"][other]["fp"] == 1
    # genre and script: the documents of each, every relation found
    for facet in ("genre", "lang"):
        cells = breakdown(docs, perfect)[facet]
        assert sum(c["documents"] for c in cells.values()) == len(docs)
        assert sum(c["tp"] for c in cells.values()) == total
        assert all(c["is_cooperation_accuracy"] == 1.0 for c in cells.values())
