"""Seeded drawing helpers of the world model: quotas, weighted picks, deficit samplers, preferential
attachment and values inside histogram buckets.

Every function takes its ``random.Random`` explicitly; none keeps global state, so a draw
depends only on the generator passed in (see "Determinism" in :mod:`demosite.world`).
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Mapping, Sequence
from typing import Any


def quota(weights: Sequence[float], total: int, minimum: int = 0) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (largest remainder; ties to earlier items)."""
    if total < minimum * len(weights):
        raise ValueError("total too small for the minimum")
    wsum = sum(weights)
    if wsum <= 0:
        raise ValueError("weights must not all be zero")
    scale = (total - minimum * len(weights)) / wsum
    raw = [minimum + w * scale for w in weights]
    quota = [math.floor(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - quota[i]), i))
    for i in order[: total - sum(quota)]:
        quota[i] += 1
    return quota


def by_year(value: Any, year: int) -> float:
    """A parameter that is a number or a {year: number} table (the latest year <= ``year`` applies)."""
    if not isinstance(value, Mapping):
        return float(value)
    years = sorted(int(y) for y in value)
    chosen = years[0]
    for y in years:
        if y <= year:
            chosen = y
    return float(value[chosen] if chosen in value else value[str(chosen)])


def pick_weighted(rng: random.Random, keys: Sequence[Any], weights: Sequence[float]) -> Any:
    """One of ``keys`` with probability proportional to ``weights`` (uniform if all are zero)."""
    cum = list(itertools.accumulate(weights))
    total = cum[-1] if cum else 0.0
    if total <= 0:
        return keys[rng.randrange(len(keys))]
    i = bisect.bisect_right(cum, rng.random() * total)
    return keys[min(i, len(keys) - 1)]


class Deficit:
    """Draw categories so that running counts follow target shares (see module docstring).

    ``draw`` picks category i with probability proportional to
    ``max(0, share_i * (n + 1) - count_i) * bias_i`` (falling back to ``share_i * bias_i`` when
    every biased deficit is zero), where n is the number of draws so far.
    """

    def __init__(self, shares: Mapping[str, float]) -> None:
        self.keys = list(shares)
        self.index = {k: i for i, k in enumerate(self.keys)}
        total = sum(shares.values())
        self.shares = [shares[k] / total for k in self.keys]
        self.counts = [0] * len(self.keys)
        self.n = 0

    def set_shares(self, shares: Mapping[str, float]) -> None:
        """Replace the target shares (keys must be the same)."""
        total = sum(shares.values())
        self.shares = [shares.get(k, 0.0) / total for k in self.keys]

    def weights(self, bias: Mapping[str, float] | None = None) -> list[float]:
        n1 = self.n + 1
        w = [d if (d := s * n1 - c) > 0 else 0.0 for s, c in zip(self.shares, self.counts, strict=True)]
        if bias:
            w = [x * bias.get(k, 1.0) for x, k in zip(w, self.keys, strict=True)]
        return w

    def draw(self, rng: random.Random, bias: Mapping[str, float] | None = None) -> str:
        w = self.weights(bias)
        if sum(w) <= 0:
            w = [s * (bias.get(k, 1.0) if bias else 1.0) for s, k in zip(self.shares, self.keys, strict=True)]
        key = pick_weighted(rng, self.keys, w)
        self.add(key)
        return key

    def add(self, key: str) -> None:
        self.counts[self.index[key]] += 1
        self.n += 1


class Picker:
    """Preferential attachment in O(1): nodes drawn with probability proportional to degree + a.

    ``reps`` holds a node once per unit of degree; with probability a*n / (a*n + len(reps)) a
    node is drawn uniformly from ``nodes``, otherwise uniformly from ``reps``.
    """

    __slots__ = ("nodes", "reps", "offset")

    def __init__(self, offset: float) -> None:
        self.nodes: list[int] = []
        self.reps: list[int] = []
        self.offset = offset

    def pick(self, rng: random.Random) -> int | None:
        if not self.nodes:
            return None
        a = self.offset * len(self.nodes)
        if rng.random() * (a + len(self.reps)) < a:
            return self.nodes[rng.randrange(len(self.nodes))]
        return self.reps[rng.randrange(len(self.reps))]

    def weight(self) -> float:
        return self.offset * len(self.nodes) + len(self.reps)


def bucket_values(rng: random.Random, buckets: Mapping[str, Sequence[float]], counts: Sequence[int],
                   log: bool = True, integer: bool = True, tail_alpha: float | None = None) -> list[float]:
    """Values for histogram buckets: ``counts[i]`` draws inside bucket i's inclusive range."""
    out: list[float] = []
    keys = list(buckets)
    for i, (key, n) in enumerate(zip(keys, counts, strict=True)):
        lo, hi = buckets[key]
        for _ in range(n):
            if tail_alpha is not None and i == len(keys) - 1:
                x = min(hi, lo * rng.random() ** (-1.0 / tail_alpha))
            elif log and lo > 0:
                x = math.exp(rng.uniform(math.log(lo), math.log(hi + (1 if integer else 0))))
            else:
                x = rng.uniform(lo, hi + (1 if integer else 0))
            out.append(min(hi, max(lo, int(x))) if integer else min(hi, max(lo, x)))
    return out


def bucket_of(value: float, buckets: Mapping[str, Sequence[float]]) -> str:
    keys = list(buckets)
    for key in keys:
        lo, hi = buckets[key]
        if lo <= value < hi or (key == keys[-1] and value >= lo):
            return key
    return keys[0] if value < buckets[keys[0]][0] else keys[-1]

