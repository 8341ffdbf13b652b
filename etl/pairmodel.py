"""The pair model's stored form: logistic-regression weights over named binary features, applied
without scikit-learn (``etl/models/pairs.json``, written by ``python -m etl.models.train``).

:mod:`etl.pairs` builds the features and decides with these models; keeping the file format here
keeps that module to the reading of documents.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

MODEL_FILE = Path(__file__).resolve().parent / "models" / "pairs.json"


@dataclass(frozen=True)
class LinearModel:
    """A logistic-regression model over named binary features: one weight vector per class.

    Binary models have one class (the positive one; P = sigmoid(w·x + b)); multi-class models give
    softmax probabilities over ``classes``.
    """

    classes: tuple[str, ...]
    intercept: tuple[float, ...]
    weights: Mapping[str, tuple[float, ...]]

    def scores(self, features: Iterable[str]) -> list[float]:
        """w·x + b per class (features not in the model weigh nothing)."""
        weights = self.weights
        if len(self.intercept) == 1:  # a binary model (party, status, kind): the same sums, one accumulator
            score = self.intercept[0]
            for f in features:
                w = weights.get(f)
                if w is not None:
                    score += w[0]
            return [score]
        total = list(self.intercept)
        for f in features:
            w = weights.get(f)
            if w is not None:
                for k, v in enumerate(w):
                    total[k] += v
        return total

    def probabilities(self, features: Iterable[str]) -> dict[str, float]:
        """P(class | features): sigmoid for a binary model, softmax otherwise."""
        z = self.scores(features)
        if len(self.classes) == 1:
            return {self.classes[0]: 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z[0]))))}
        top = max(z)
        exp = [math.exp(v - top) for v in z]
        norm = sum(exp)
        return {c: e / norm for c, e in zip(self.classes, exp, strict=True)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LinearModel:
        """From ``{"classes", "intercept", "weights": {feature: [w per class]}}``."""
        return cls(tuple(data["classes"]), tuple(data["intercept"]),
                   {f: tuple(w) for f, w in data["weights"].items()})

    def to_json(self) -> dict[str, Any]:
        """The JSON form read by :meth:`from_json` (weights rounded to 5 decimals)."""
        return {"classes": list(self.classes), "intercept": [round(v, 5) for v in self.intercept],
                "weights": {f: [round(v, 5) for v in w] for f, w in sorted(self.weights.items())}}


@dataclass(frozen=True)
class PairModel:
    """The four decisions (party, direction, status, kind) and their thresholds."""

    party: LinearModel
    direction: LinearModel
    status: Mapping[str, LinearModel]
    kind: Mapping[str, LinearModel]
    thresholds: Mapping[str, float]
    version: str = ""

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> PairModel:
        """Read ``etl/models/pairs.json`` (written by ``python -m etl.models.train``)."""
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(LinearModel.from_json(data["party"]), LinearModel.from_json(data["direction"]),
                   {k: LinearModel.from_json(v) for k, v in data["status"].items()},
                   {k: LinearModel.from_json(v) for k, v in data["kind"].items()},
                   dict(data["thresholds"]), str(data.get("version", "")))

    def to_json(self) -> dict[str, Any]:
        """The JSON form :meth:`load` reads."""
        return {"version": self.version, "thresholds": dict(self.thresholds), "party": self.party.to_json(),
                "direction": self.direction.to_json(),
                "status": {k: v.to_json() for k, v in self.status.items()},
                "kind": {k: v.to_json() for k, v in self.kind.items()}}


@lru_cache(maxsize=1)
def default_model() -> PairModel | None:
    """The shipped model, or None when ``etl/models/pairs.json`` is absent (rules only)."""
    return PairModel.load() if MODEL_FILE.exists() else None
