"""Rebuild the pair model (``etl/models/pairs.json``) from the real-text dev part.

    .venv/bin/python -m etl.models.train [--folds 5] [--out etl/models/pairs.json] [--check]

Reads ``tests/data/realtext/dev.jsonl`` only: the frozen test part is never read here (it is
scored by ``benchmarks/bench_etl.py`` and the floor test). Every document is read as the
extractor reads it (:func:`etl.pairs.read_document` with the seed gazetteer, as ``aimap extract``
without ``--registry``); its pair occurrences are labelled from the gold relations
(:func:`etl.pairs.training_rows`).

Models: L2-regularised logistic regression (scikit-learn ``liblinear`` for the binary models,
``lbfgs`` multinomial for the direction; both deterministic) over binary
features seen in at least two occurrences: party (binary, balanced class weights), direction
(three classes over party occurrences), one binary model per status and per kind. The
regularisation strength C, the party threshold and the veto threshold (below which the model
overrules a relation the rules found; :func:`etl.pairs.decide`) are chosen by document-grouped k-fold
cross-validation on the dev part, maximising relation F1 over ``new`` relations: among the settings
within 0.01 of the best (the noise of cross-validation on a few hundred documents), the highest party
threshold, then the smallest C, wins; the chosen figures are printed. ``--check`` rebuilds in memory and fails when the file in the repository
differs beyond the rounding of its weights (:func:`model_differences`: the model is a deterministic
function of the dev part, the features and this script, up to the last stored decimal, which the
solvers on another CPU can move).

scikit-learn is needed here only (a ``dev`` extra); the extractor applies the stored weights itself.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from etl.corpus import read_part, score_corpus, surfaces
from etl.evaluate import surface_resolver
from etl.extract import Extraction
from etl.gazetteer import seed_gazetteer
from etl.lexicon import load_lexicon
from etl.offline import to_record
from etl.pairmodel import MODEL_FILE, LinearModel, PairModel
from etl.pairs import (
    DIRECTIONS,
    KINDS,
    STATUSES,
    DocumentView,
    decide,
    load_cues,
    read_document,
    training_rows,
)

C_GRID = (0.3, 1.0)
PARTY_THRESHOLDS = (0.4, 0.5, 0.6)
VETO_THRESHOLDS = (0.0,)  # never overrule the rules: they are precise on the phrasings they know (demo world, regression set)
MIN_COUNT = 2
#: A feature whose weights are all below this (in absolute value) is left out of the stored model.
WEIGHT_CUTOFF = 1e-4
KIND_THRESHOLD = 0.8
#: The model may add a pair in a sentence where the rules found another relation only above this
#: probability. Fixed, not chosen by cross-validation: on dev a lower one (0.6) gains a little
#: more, but costs the demo world's figure 0.017 (0.8 costs it 0.002; the rules are right there).
RULED_PARTY_THRESHOLD = 0.8
#: A mutual relation the rules found is directed when the model gives one direction at least this
#: share of its votes (:func:`etl.pairs._model_direction`). Fixed like the one above: dev 0.7 and
#: 0.8 tie (relation F1 (new) 0.388), 0.6 gives 0.382; the demo world loses 0.001 at 0.7.
RULE_DIRECTION_THRESHOLD = 0.8
#: A document with no relation above the thresholds reports its most likely pair at or above this
#: probability (:func:`etl.pairs._fallback`). Fixed like the ones above, from the dev part's 5-fold
#: cross-validation: relation F1 (new) 0.385 -> 0.384, is_cooperation accuracy 0.783 -> 0.822 at 0.3;
#: with the relative threshold below, 0.3 / 0.2 / 0.1 give F1 0.397 / 0.397 / 0.395 and
#: is_cooperation 0.821 / 0.833 / 0.843 (category F1 0.724 / 0.732 / 0.742).
FALLBACK_THRESHOLD = 0.2
#: The model's own pairs in a document are kept only at or above this share of its best pair's
#: probability: a document reports few relations, and a pair far below the best one is more often a
#: bystander. Dev 5-fold: relation F1 (new) 0.393 -> 0.397 at 0.9 (precision 0.383 -> 0.412; 0.7:
#: 0.395; 0.95: 0.396; 1.0, the best pair only: 0.383).
RELATIVE_THRESHOLD = 0.9


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def read_views(docs: Sequence[dict[str, Any]]) -> list[DocumentView]:
    """Every document read as the extractor reads it (seed gazetteer, shipped lexicons)."""
    gazetteer, lexicon, cues = seed_gazetteer(), load_lexicon(), load_cues()
    return [read_document(d["text"], _date(d.get("published")), gazetteer, lexicon, d.get("title"), cues)
            for d in docs]


def _fit(rows: list[dict[str, Any]], target: Any, classes: Sequence[str] | None, c: float,
         vocabulary: dict[str, int], balanced: bool = False) -> LinearModel:
    import numpy as np  # deferred: training only
    from scipy.sparse import csr_matrix  # deferred: training only
    from sklearn.linear_model import LogisticRegression  # deferred: training only (dev extra)

    indptr, indices = [0], []
    for row in rows:
        cols = sorted({vocabulary[f] for f in row["features"] if f in vocabulary})
        indices += cols
        indptr.append(len(indices))
    x = csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(rows), len(vocabulary)))
    y = [target(r) for r in rows]
    names = sorted(vocabulary, key=vocabulary.get)
    if len(set(y)) < 2:  # one class only in this fold: a constant model
        constant = 10.0 if y and y[0] in (True, (classes or [None])[0]) else -10.0
        return LinearModel(tuple(classes or ["yes"]), (constant,) * max(1, len(classes or [])), {})
    model = LogisticRegression(C=c, solver="liblinear" if classes is None else "lbfgs",
                               class_weight="balanced" if balanced else None, max_iter=2000)
    model.fit(x, y)
    if classes is None:  # binary: one weight vector for the positive class
        coef, intercept, labels = model.coef_[0:1], model.intercept_[0:1], ("yes",)
    else:
        fitted = [str(k) for k in model.classes_]
        if len(fitted) == 2:  # liblinear gives one vector for two classes: expand to a softmax pair
            coef = np.vstack([-model.coef_[0] / 2, model.coef_[0] / 2])
            intercept = np.array([-model.intercept_[0] / 2, model.intercept_[0] / 2])
        else:
            coef, intercept = model.coef_, model.intercept_
        labels = tuple(fitted)
    weights = {}
    for j, name in enumerate(names):
        w = tuple(float(v) for v in coef[:, j])
        if any(abs(v) >= WEIGHT_CUTOFF for v in w):
            weights[name] = w
    return LinearModel(labels, tuple(float(v) for v in intercept), weights)


def train(rows: list[dict[str, Any]], c: float, party_threshold: float, version: str = "",
          veto: float = 0.0) -> PairModel:
    """The pair model fitted on labelled occurrences (module docstring)."""
    counts = Counter(f for r in rows for f in set(r["features"]))
    vocabulary = {f: i for i, f in enumerate(sorted(f for f, n in counts.items() if n >= MIN_COUNT))}
    positive = [r for r in rows if r["party"]]
    party = _fit(rows, lambda r: r["party"], None, c, vocabulary, balanced=True)
    direction = _fit(positive, lambda r: r["direction"], DIRECTIONS, c, vocabulary)
    status = {s: _fit(positive, lambda r, s=s: s in r["statuses"], None, c, vocabulary, balanced=s != "new")
              for s in STATUSES}
    kind = {k: _fit(positive, lambda r, k=k: k in r["kinds"], None, c, vocabulary, balanced=True) for k in KINDS}
    thresholds = {"party": party_threshold, "veto": veto, "ruled_party": RULED_PARTY_THRESHOLD,
                  "rule_direction": RULE_DIRECTION_THRESHOLD, "fallback": FALLBACK_THRESHOLD,
                  "relative": RELATIVE_THRESHOLD}
    thresholds |= {f"status_{s}": 0.5 for s in STATUSES}
    thresholds |= {f"kind_{k}": KIND_THRESHOLD for k in KINDS}
    return PairModel(party, direction, status, kind, thresholds, version)


def _rows(docs: Sequence[dict[str, Any]], views: Sequence[DocumentView]) -> list[list[dict[str, Any]]]:
    return [training_rows(v, surface_resolver(surfaces(d)), d["gold"]["relations"]) for d, v in zip(docs, views,
                                                                                                   strict=True)]


def _predict(docs: Sequence[dict[str, Any]], views: Sequence[DocumentView], model: PairModel) -> list[dict]:
    out = []
    for d, v in zip(docs, views, strict=True):
        relations = decide(v, model)
        mentions = [m for e in v.entities for m in e.mentions]
        tech, domains = (v.rules.tech_categories, v.rules.application_domains) if relations else ([], [])
        out.append(to_record(d["id"], Extraction(relations, mentions, set(), set(), tech, domains)))
    return out


def cross_validate(docs: Sequence[dict[str, Any]], views: Sequence[DocumentView], rows: list[list[dict[str, Any]]],
                   folds: int) -> dict[tuple[float, float, float], dict[str, float]]:
    """(C, party threshold, veto threshold) -> dev cross-validated relation F1 (all, new), direction.

    Documents are assigned to folds by a hash of their id; each fold's model is trained once per C
    on the other folds and decoded with every pair of thresholds.
    """
    order = sorted(range(len(docs)), key=lambda i: hashlib.sha256(docs[i]["id"].encode()).hexdigest())
    fold_of = {i: n % folds for n, i in enumerate(order)}
    results: dict[tuple[float, float, float], dict[str, float]] = {}
    for c in C_GRID:
        models = {k: train([r for i in range(len(docs)) if fold_of[i] != k for r in rows[i]], c, 0.5)
                  for k in range(folds)}
        for t in PARTY_THRESHOLDS:
            for veto in VETO_THRESHOLDS:
                predictions: list[dict] = []
                held: list[int] = []
                for k, model in models.items():
                    tuned = replace(model, thresholds=dict(model.thresholds, party=t, veto=veto))
                    ids = [i for i in range(len(docs)) if fold_of[i] == k]
                    held += ids
                    predictions += _predict([docs[i] for i in ids], [views[i] for i in ids], tuned)
                scores = score_corpus([docs[i] for i in held], predictions)
                results[c, t, veto] = {"f1_all": scores.all.relations.f1, "f1_new": scores.new.relations.f1,
                                       "direction": scores.all.direction.value}
    return results


#: How far a rebuilt weight may be from the stored one for ``--check``: weights are stored rounded to 5
#: decimals, and the solvers on another CPU (vector instructions, BLAS) can land a weight on the other
#: side of a rounding, 1e-5 away (seen on 2026-12-07: 159 of ~50,000 weights); a weight near
#: :data:`WEIGHT_CUTOFF`, below which :func:`_fit` leaves a feature out may be present in one and absent in the other.
CHECK_TOLERANCE = 2e-5


def model_differences(stored: Any, rebuilt: Any, path: str = "", tolerance: float = CHECK_TOLERANCE) -> list[str]:
    """Where two models in their JSON form differ beyond rounding (``--check``): ``path: stored != rebuilt``.

    Numbers differ when they are further apart than ``tolerance``; a feature's weights present in one
    model only count as zero in the other (so they may be at most :data:`WEIGHT_CUTOFF` + ``tolerance`` away from zero);
    everything else (classes, thresholds, the version) must be equal.
    """
    if isinstance(stored, dict) and isinstance(rebuilt, dict):
        out = []
        for key in sorted(set(stored) | set(rebuilt)):
            if key in stored and key in rebuilt:
                out += model_differences(stored[key], rebuilt[key], f"{path}/{key}", tolerance)
            elif path.endswith("/weights"):  # a feature one model leaves out: its weights were below the cut-off
                present = stored.get(key, rebuilt.get(key))
                if any(abs(v) > WEIGHT_CUTOFF + tolerance for v in present):
                    out.append(f"{path}/{key}: {stored.get(key)} != {rebuilt.get(key)}")
            else:
                out.append(f"{path}/{key}: {stored.get(key)} != {rebuilt.get(key)}")
        return out
    if isinstance(stored, list) and isinstance(rebuilt, list) and len(stored) == len(rebuilt):
        return [d for i, (a, b) in enumerate(zip(stored, rebuilt, strict=True))
                for d in model_differences(a, b, f"{path}[{i}]", tolerance)]
    numbers = (int, float)
    if (isinstance(stored, numbers) and isinstance(rebuilt, numbers) and not isinstance(stored, bool)
            and not isinstance(rebuilt, bool)):
        return [] if abs(stored - rebuilt) <= tolerance else [f"{path}: {stored} != {rebuilt}"]
    return [] if stored == rebuilt else [f"{path}: {stored} != {rebuilt}"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    parser.add_argument("--check", action="store_true", help="fail when the stored model differs")
    args = parser.parse_args(argv)
    docs = read_part("dev")
    print(f"dev part: {len(docs)} documents", flush=True)
    views = read_views(docs)
    rows = _rows(docs, views)
    flat = [r for doc_rows in rows for r in doc_rows]
    print(f"pair occurrences: {len(flat)} ({sum(r['party'] for r in flat)} party)", flush=True)
    results = cross_validate(docs, views, rows, args.folds)
    for (c, t, veto), figures in sorted(results.items()):
        print(f"  C={c:<4} party={t:.1f} veto={veto:.1f}: relation F1 all {figures['f1_all']:.3f}, "
              f"new {figures['f1_new']:.3f}, direction {figures['direction']:.3f}")
    # within 0.01 of the best dev F1 (new) — cross-validation noise on a few hundred documents — the
    # most conservative setting wins: the highest party threshold, then the strongest regularisation
    top = max(figures["f1_new"] for figures in results.values())
    (c, t, veto), best = max(((k, v) for k, v in results.items() if v["f1_new"] >= top - 0.01),
                             key=lambda kv: (kv[0][1], -kv[0][0], kv[0][2]))
    print(f"chosen C={c}, party threshold={t}, veto={veto}: {args.folds}-fold dev F1 (new) {best['f1_new']:.3f}")
    digest = hashlib.sha256(json.dumps([d["id"] for d in docs] + [c, t, veto]).encode()).hexdigest()[:12]
    model = train(flat, c, t, version=f"pairs-{digest}", veto=veto)
    text = json.dumps(model.to_json(), ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
    if args.check:
        stored = json.loads(args.out.read_text(encoding="utf-8")) if args.out.exists() else {}
        differences = model_differences(stored, json.loads(text))
        if differences:
            print(f"{args.out} differs from the model rebuilt from the dev part at {len(differences)} place(s), "
                  f"e.g. {'; '.join(differences[:3])}", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(text) // 1024} KiB, {len(model.party.weights)} party features)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
