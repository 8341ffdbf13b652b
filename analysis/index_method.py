"""The method of the regional competitiveness index as plain functions over region x indicator matrices.

Normalisation (:func:`minmax`, :func:`zscore`), weights (:func:`entropy_weights`,
:func:`expert_weights`, :func:`scheme_weights`), aggregation with missing values re-weighted
(:func:`aggregate`), ranking (:func:`ranking`, :func:`spearman`) and the explanation
(:func:`drivers`, :func:`sensitivity`); each definition and its reference in the docstring.
:func:`analysis.index.build_index` applies them in order (steps in :mod:`analysis.index`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from analysis.index_tree import NORMALISATIONS, WEIGHTINGS, IndexBuildError, IndexTree
from analysis.presentation import rank_order

# --------------------------------------------------------------------------- normalisation


def minmax(x: np.ndarray, higher: bool = True) -> np.ndarray:
    """Min-max normalisation of one indicator over the regions with a value (nan = missing, kept).

    Definition: x'_i = (x_i - min) / (max - min) when higher is better, (max - x_i) / (max - min)
    when lower is better, so 1 is always the best region and 0 the worst; min and max over the
    non-missing values. A constant indicator (max = min) gives 0 for every region (it cannot
    separate them; its entropy weight is 0). Reference: OECD/JRC Handbook (2008), section 5.
    """
    x = np.asarray(x, dtype=np.float64)
    out = np.full_like(x, np.nan)
    ok = ~np.isnan(x)
    if not ok.any():
        return out
    lo, hi = x[ok].min(), x[ok].max()
    if hi == lo:
        out[ok] = 0.0
    else:
        out[ok] = (x[ok] - lo) / (hi - lo) if higher else (hi - x[ok]) / (hi - lo)
    return out


def zscore(x: np.ndarray, higher: bool = True) -> np.ndarray:
    """Z-score (standardisation) of one indicator over the regions with a value (nan kept).

    Definition: x'_i = (x_i - mean) / sd with the population standard deviation (divisor n, the
    number of regions with a value), negated when lower is better; sd = 0 gives 0 for every region.
    Reference: OECD/JRC Handbook (2008), section 5.
    """
    x = np.asarray(x, dtype=np.float64)
    out = np.full_like(x, np.nan)
    ok = ~np.isnan(x)
    if not ok.any():
        return out
    mean, sd = x[ok].mean(), x[ok].std()
    out[ok] = 0.0 if sd == 0 else (x[ok] - mean) / sd * (1.0 if higher else -1.0)
    return out


def normalise(x: np.ndarray, higher: Sequence[bool], method: str = "minmax") -> np.ndarray:
    """Normalise every column of ``x`` (regions x indicators) with :func:`minmax` or :func:`zscore`."""
    if method not in NORMALISATIONS:
        raise IndexBuildError(f"unknown normalisation {method!r}; expected one of {', '.join(NORMALISATIONS)}")
    f = minmax if method == "minmax" else zscore
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    for j in range(x.shape[1]):
        out[:, j] = f(x[:, j], bool(higher[j]))
    return out


# --------------------------------------------------------------------------- weights


@dataclass(frozen=True)
class EntropyWeights:
    """Per indicator: regions with a value ``n``, entropy ``e``, divergence ``d`` and weight ``w``."""

    n: np.ndarray
    e: np.ndarray
    d: np.ndarray
    w: np.ndarray


def entropy_weights(y: np.ndarray) -> EntropyWeights:
    """Entropy weights of the indicators (columns) of a min-max normalised matrix ``y`` (nan = missing).

    Definition, per indicator j over the n_j regions i with a value:
    p_ij = y_ij / sum_i y_ij;  e_j = -k * sum_i p_ij ln p_ij with k = 1 / ln n_j;  d_j = 1 - e_j;
    w_j = d_j / sum_j d_j. Zeros: p_ij = 0 contributes 0 (the limit p ln p -> 0 as p -> 0; y is
    not shifted), so an indicator whose whole value sits in one region has e_j = 0 and the largest
    weight. An indicator that carries no information gets e_j = 1, d_j = 0, w_j = 0: fewer than
    two regions with a value (k undefined), or all normalised values 0 (constant indicator, or no
    data at all). Missing values are left out of the sums (n_j counts the regions with a value).
    When no indicator carries information every weight is 0 (:class:`IndexBuildError` in
    :func:`build_index`). The matrix must be non-negative: scores normalised by z-score still take
    their entropy weights from the min-max normalised matrix.
    Reference: Shannon (1948); Zhu, Tian and Yan (2020), equations (1)-(4).
    """
    y = np.asarray(y, dtype=np.float64)
    m = y.shape[1]
    n = (~np.isnan(y)).sum(axis=0)
    e = np.ones(m)
    for j in range(m):
        col = y[~np.isnan(y[:, j]), j]
        if (col < 0).any():
            raise ValueError("entropy weights need non-negative (min-max normalised) values")
        if col.size < 2 or col.sum() <= 0:
            continue
        p = col / col.sum()
        nz = p[p > 0]
        e[j] = float(-(nz * np.log(nz)).sum() / np.log(col.size))
    d = 1.0 - e
    total = d.sum()
    w = d / total if total > 0 else np.zeros(m)
    return EntropyWeights(n=n, e=e, d=d, w=w)


def expert_weights(tree: IndexTree) -> np.ndarray:
    """Global expert weight of every indicator (tree order): pillar x group x indicator weight.

    Definition: each ``expert_weight`` in the tree is local, normalised among its siblings
    (pillars among pillars, groups within their pillar, indicators within their group); an
    indicator's global weight is the product of the three normalised local weights, so the global
    weights sum to 1 and a pillar's weight is its normalised pillar weight.
    """
    total_p = sum(p.expert_weight for p in tree.pillars)
    out = []
    for p in tree.pillars:
        total_g = sum(g.expert_weight for g in p.groups)
        for g in p.groups:
            total_i = sum(i.expert_weight for i in g.indicators)
            out += [p.expert_weight / total_p * g.expert_weight / total_g * i.expert_weight / total_i
                    for i in g.indicators]
    return np.asarray(out)


def scheme_weights(scheme: str, entropy: EntropyWeights, expert: np.ndarray, mix_share: float) -> np.ndarray:
    """The indicator weights of a scheme: ``entropy``, ``expert`` or ``mix`` = a * entropy + (1 - a) * expert."""
    if scheme == "entropy":
        return entropy.w.copy()
    if scheme == "expert":
        return expert.copy()
    if scheme == "mix":
        return mix_share * entropy.w + (1.0 - mix_share) * expert
    raise IndexBuildError(f"unknown weighting {scheme!r}; expected one of {', '.join(WEIGHTINGS)}")


# --------------------------------------------------------------------------- aggregation


@dataclass(frozen=True)
class Aggregate:
    """Scores of every region: ``pillars`` (n x P, nan = no available indicator), ``total`` (n),
    ``effective`` weights (n x J, the weight each indicator carries in the region's total after
    re-weighting; rows sum to 1) and ``contribution`` of each pillar to the total (n x P)."""

    pillars: np.ndarray
    total: np.ndarray
    effective: np.ndarray
    contribution: np.ndarray


def _aggregate_many(xn: np.ndarray, weights: np.ndarray, pillar: np.ndarray, n_pillars: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised over weight vectors ``weights`` (D x J): (S, T, A, den, WP) as in :func:`aggregate`."""
    avail = ~np.isnan(xn)
    x0 = np.where(avail, xn, 0.0)
    member = np.zeros((xn.shape[1], n_pillars))
    member[np.arange(xn.shape[1]), pillar] = 1.0
    num = np.einsum("ij,dj,jp->dip", x0, weights, member)
    den = np.einsum("ij,dj,jp->dip", avail.astype(np.float64), weights, member)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    wp = weights @ member  # D x P
    b = den > 0
    wpb = wp[:, None, :] * b
    norm = wpb.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(norm > 0, (wpb * np.nan_to_num(s)).sum(axis=2) / np.where(norm > 0, norm, 1.0), np.nan)
    return s, t, avail, den, wpb / np.where(norm > 0, norm, 1.0)[:, :, None]


def aggregate(xn: np.ndarray, weights: np.ndarray, pillar: np.ndarray, n_pillars: int) -> Aggregate:
    """Pillar scores and totals of normalised indicators ``xn`` (n x J, nan = missing).

    Definition, with a_ij = 1 when region i has indicator j: pillar weight W_P = sum_{j in P} w_j;
    pillar score S_iP = sum_{j in P} w_j a_ij x'_ij / sum_{j in P} w_j a_ij (missing when the
    denominator is 0); total T_i = sum_P W_P b_iP S_iP / sum_P W_P b_iP with b_iP = 1 when S_iP
    exists. Without missing values T_i = sum_j w_j x'_ij (sum w = 1). The effective weight of j for i
    is omega_ij = (W_P b_iP / sum_Q W_Q b_iQ) * (w_j a_ij / sum_{k in P} w_k a_ik), so
    T_i = sum_j omega_ij x'_ij: a missing indicator's weight goes to the region's other indicators
    of the same pillar, a missing pillar's to its other pillars (OECD/JRC Handbook 2008, section 6:
    re-weighting over available sub-indicators).
    """
    w = np.asarray(weights, dtype=np.float64)[None, :]
    s, t, avail, den, pillar_share = _aggregate_many(xn, w, pillar, n_pillars)
    s, t, den, pillar_share = s[0], t[0], den[0], pillar_share[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        within = np.where(avail, w[0][None, :] / np.where(den > 0, den, 1.0)[:, pillar], 0.0)
    effective = pillar_share[:, pillar] * within
    return Aggregate(pillars=s, total=t, effective=effective, contribution=pillar_share * np.nan_to_num(s))


# --------------------------------------------------------------------------- ranking and explanation


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``values`` ascending, ties sharing the average of their ranks (Spearman's convention)."""
    v = np.asarray(values, dtype=np.float64)
    order = np.argsort(v, kind="stable")
    ranks = np.empty(v.size)
    sorted_v = v[order]
    i = 0
    while i < v.size:
        j = i
        while j + 1 < v.size and sorted_v[j + 1] == sorted_v[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rank correlation of two equally long sequences.

    Definition: the Pearson correlation of the average ranks (:func:`average_ranks`) of ``a`` and
    of ``b``; without ties this equals 1 - 6 sum d_i^2 / (n (n^2 - 1)). nan when n < 2 or when one
    side is constant. Reference: Spearman (1904).
    """
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.size != y.size:
        raise ValueError("spearman needs two sequences of the same length")
    if x.size < 2:
        return float("nan")
    rx, ry = average_ranks(x) - (x.size + 1) / 2.0, average_ranks(y) - (y.size + 1) / 2.0
    denom = np.sqrt((rx * rx).sum() * (ry * ry).sum())
    return float((rx * ry).sum() / denom) if denom > 0 else float("nan")


def ranking(names: Sequence[str], codes: Sequence[str], total: np.ndarray) -> list[int]:
    """Region positions in rank order: total descending, then name, then code (regions without a
    total last, by name)."""
    t = np.where(np.isnan(total), -np.inf, total)
    return rank_order(list(names), t.tolist(), list(codes))


@dataclass(frozen=True)
class Driver:
    """One indicator's pull on a region's total: ``points`` = omega_ij (x'_ij - mean_j) in score units."""

    indicator: int
    points: float


def drivers(xn: np.ndarray, effective: np.ndarray, k: int, scale: float = 1.0
            ) -> list[tuple[list[Driver], Driver | None]]:
    """Per region, the ``k`` indicators that lifted its total most and the one that held it back most.

    Definition: the pull of indicator j on region i is omega_ij * (x'_ij - m_j) * scale, where
    omega_ij is the effective weight (:func:`aggregate`), x'_ij the normalised value and m_j the mean
    normalised value over the regions that have j; the pulls add up to T_i - sum_j omega_ij m_j,
    the region's distance from an average profile under its own weights. Strengths: the k largest
    positive pulls (descending); weakness: the most negative pull (None if none is negative).
    Missing indicators pull 0.
    """
    mean = np.nanmean(np.where(np.isnan(xn).all(axis=0, keepdims=True), 0.0, xn), axis=0)
    pull = effective * np.nan_to_num(xn - mean[None, :]) * scale
    out = []
    for row in pull:
        order = np.argsort(-row, kind="stable")
        ups = [Driver(int(j), float(row[j])) for j in order[:k] if row[j] > 0]
        low = int(np.argmin(row))
        out.append((ups, Driver(low, float(row[low])) if row[low] < 0 else None))
    return out


@dataclass(frozen=True)
class Sensitivity:
    """Rank stability under weight perturbations (see :func:`sensitivity`)."""

    draws: int
    spread: float
    seed: int
    top: int
    rho: np.ndarray  # per draw: Spearman of the perturbed and the baseline ranks
    top_share: np.ndarray  # per region: share of draws in the top k
    rank_p5: np.ndarray
    rank_median: np.ndarray
    rank_p95: np.ndarray


def sensitivity(xn: np.ndarray, weights: np.ndarray, pillar: np.ndarray, n_pillars: int, names: Sequence[str],
                codes: Sequence[str], *, draws: int = 1000, spread: float = 0.2, seed: int = 2024,
                top: int = 10) -> Sensitivity:
    """How stable the ranking is when the weights change.

    Definition: ``draws`` perturbed weight vectors w'_j = w_j u_j / sum_k w_k u_k with u_j drawn
    independently from U(1 - spread, 1 + spread) (``numpy.random.default_rng(seed)``); for each, the
    totals are re-aggregated (:func:`aggregate`, same normalised values and missing-value rule) and
    re-ranked (same tie rule as :func:`ranking`). Reported: per draw, Spearman's rho between the
    perturbed and the baseline ranks of all regions; per region, the share of draws in which it
    ranks within the top ``top``, and the 5th percentile, median and 95th percentile of its rank.
    Reference: OECD/JRC Handbook (2008), section 7 (uncertainty analysis of the weights).
    """
    if not 0 <= spread < 1:
        raise IndexBuildError(f"sensitivity spread must be within 0..1, got {spread}")
    n = len(names)
    rng = np.random.default_rng(seed)
    u = rng.uniform(1.0 - spread, 1.0 + spread, size=(draws, weights.size))
    w = weights[None, :] * u
    w /= np.where(w.sum(axis=1, keepdims=True) > 0, w.sum(axis=1, keepdims=True), 1.0)
    base = ranking(names, codes, aggregate(xn, weights, pillar, n_pillars).total)
    base_rank = np.empty(n, dtype=np.int64)
    base_rank[base] = np.arange(1, n + 1)
    # the tie rule: order regions by (name, code) once, then a stable sort by -total keeps it
    by_name = np.asarray(sorted(range(n), key=lambda i: (names[i], codes[i])), dtype=np.int64)
    _, totals, _, _, _ = _aggregate_many(xn, w, pillar, n_pillars)
    totals = np.where(np.isnan(totals), -np.inf, totals)[:, by_name]
    order = by_name[np.argsort(-totals, axis=1, kind="stable")]
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, n + 1)[None, :].repeat(draws, axis=0), axis=1)
    d = (ranks - base_rank[None, :]).astype(np.float64)
    rho = 1.0 - 6.0 * (d * d).sum(axis=1) / (n * (n * n - 1.0)) if n > 1 else np.full(draws, np.nan)
    return Sensitivity(draws, spread, seed, top, rho, (ranks <= top).mean(axis=0),
                       np.percentile(ranks, 5, axis=0), np.median(ranks, axis=0), np.percentile(ranks, 95, axis=0))

