"""The regional competitiveness index (新一代人工智能科技产业区域竞争力评价指数): provinces and cities, computed and explained.

The 2024 report ranks provinces and cities with an index of six pillars (企业能力, 学术生态,
资本环境, 国际开放度, 链接能力, 政府响应能力) over 24 third-level indicators, without printing the
indicators or their weights. aimap makes them explicit: the tree, every definition, unit,
direction, source and expert weight are data (``analysis/data/index.yml``, :func:`load_tree`);
computed indicators come from the database (:mod:`analysis.index_data`), imported ones from
validated CSV/XLSX files (:mod:`analysis.index_imports`). :func:`build_index` runs the method
below for one level (``province`` or ``city``); :func:`write_index` writes the outputs to
``out/<edition>/index/`` (CSV per table, one XLSX, Markdown, radar and bar charts as PNG/SVG).

Method (each step in the docstring of its function, all in docs/index.md):

1. **Regions ranked** — the regions of the level with at least ``method.min_sample_firms`` sample
   firms located there (default 1). Normalisation and weights use exactly these n regions.
2. **Missing values** — an indicator without a value for a region (no import row; a sum over
   attributes none of its firms has; see each definition) is *missing*, never zero: it is listed
   in the ``missing`` table, left out of that region's scores, and its weight is re-distributed
   over the region's available indicators of the same pillar (a pillar with none over the other
   pillars) — :func:`aggregate`. Each region's ``coverage`` is the share of the total weight its
   available indicators carry.
3. **Normalisation** — :func:`minmax` (default; scores 0-100) or :func:`zscore`, per indicator over
   the regions with a value, oriented by its direction.
4. **Weights** — :func:`entropy_weights` (default), :func:`expert_weights` from the tree, or
   ``mix`` = a * entropy + (1 - a) * expert with a = ``method.mix_entropy_share``.
5. **Aggregation** — :func:`aggregate`: pillar score = weighted mean of the pillar's available
   normalised indicators; total = weighted mean of the available pillar scores with pillar weight =
   the sum of its indicators' weights (= sum_j w_j x'_ij when nothing is missing).
6. **Ranking** — total descending, then region name, then code (:func:`analysis.stats.rank_order`).
7. **Explanation** — :func:`drivers` (what lifted or held back each region relative to the average
   region) and :func:`sensitivity` (seeded weight perturbations: Spearman correlation with the
   baseline ranks, how often each top-k region stays in the top k).

References: C. E. Shannon, "A mathematical theory of communication", Bell System Technical
Journal 27, 1948 (entropy); the entropy-weight method as used for composite regional indices,
e.g. Y. Zhu, D. Tian and F. Yan, "Effectiveness of entropy weight method in decision-making",
Mathematical Problems in Engineering 2020, 3564835; OECD/JRC, *Handbook on Constructing Composite
Indicators* (2008), sections 5 (normalisation), 6 (weighting and aggregation), 7 (uncertainty and
sensitivity analysis); C. Spearman, "The proof and measurement of association between two
things", American Journal of Psychology 15(1), 1904.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analysis.bundle import write_csv, write_markdown, write_xlsx
from analysis.index_data import LEVELS, IndexSource, Regions, computed_indicators, load_index_source
from analysis.index_imports import (
    ImportableIndicator,
    ImportedValue,
    ImportResult,
    read_imports,
)
from analysis.stats import Chart, Column, Table, rank_order
from common.datafiles import read_yaml
from db.models import CooperationEvent

DATA_DIR = Path(__file__).resolve().parent / "data"
TREE_FILE = DATA_DIR / "index.yml"
IMPORTS_DIR = DATA_DIR / "index_imports"
NORMALISATIONS = ("minmax", "zscore")
WEIGHTINGS = ("entropy", "expert", "mix")
DIRECTIONS = ("higher", "lower")
SOURCES = ("computed", "imported")

Progress = Callable[[str], None]


class IndexBuildError(ValueError):
    """The index cannot be built (no data, too few regions, a bad parameter); the message says why."""


# --------------------------------------------------------------------------- the tree (data file)


@dataclass(frozen=True)
class IndicatorSpec:
    """A third-level indicator of the tree (fields as in ``index.yml``)."""

    code: str
    name: str
    name_en: str
    definition: str
    unit: str
    direction: str
    source: str
    expert_weight: float
    pillar: str
    group: str


@dataclass(frozen=True)
class GroupSpec:
    """A second-level group: its indicators and local expert weight."""

    code: str
    name: str
    name_en: str
    expert_weight: float
    indicators: tuple[IndicatorSpec, ...]


@dataclass(frozen=True)
class PillarSpec:
    """A first-level pillar: its groups and local expert weight."""

    code: str
    name: str
    name_en: str
    expert_weight: float
    groups: tuple[GroupSpec, ...]

    @property
    def indicators(self) -> tuple[IndicatorSpec, ...]:
        """The pillar's indicators, in tree order."""
        return tuple(i for g in self.groups for i in g.indicators)


@dataclass(frozen=True)
class IndexTree:
    """The validated indicator tree, method defaults and parameters of ``index.yml``."""

    version: str
    method: dict[str, Any]
    parameters: dict[str, Any]
    pillars: tuple[PillarSpec, ...]
    path: str

    @property
    def indicators(self) -> tuple[IndicatorSpec, ...]:
        """All third-level indicators, in tree order."""
        return tuple(i for p in self.pillars for i in p.indicators)

    def pillar_index(self) -> np.ndarray:
        """Per indicator (tree order), the position of its pillar."""
        pos = {p.code: k for k, p in enumerate(self.pillars)}
        return np.asarray([pos[i.pillar] for i in self.indicators], dtype=np.int64)

    def group_of(self, indicator: IndicatorSpec) -> GroupSpec:
        """The group holding ``indicator``."""
        return next(g for p in self.pillars for g in p.groups if g.code == indicator.group)

    def importable(self) -> dict[str, ImportableIndicator]:
        """The imported indicators, as :mod:`analysis.index_imports` validates them."""
        return {i.code: ImportableIndicator(i.code, i.name, i.unit) for i in self.indicators if i.source == "imported"}


def _weight(raw: Mapping[str, Any], where: str) -> float:
    w = raw.get("expert_weight")
    if not isinstance(w, int | float) or isinstance(w, bool) or not w > 0:
        raise ValueError(f"{where}: expert_weight must be a number > 0, got {w!r}")
    return float(w)


def _text(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: {key} is required (non-empty text)")
    return value.strip()


def load_tree(path: Path = TREE_FILE) -> IndexTree:
    """Read and validate the indicator tree: unique codes, known directions and sources, positive
    expert weights, a computation for every computed indicator, valid method defaults."""
    from analysis.index_data import COMPUTED

    raw = read_yaml(Path(path))
    where = str(path)
    method = dict(raw.get("method") or {})
    if method.get("normalisation", "minmax") not in NORMALISATIONS:
        raise ValueError(f"{where}: method.normalisation must be one of {NORMALISATIONS}")
    if method.get("weights", "entropy") not in WEIGHTINGS:
        raise ValueError(f"{where}: method.weights must be one of {WEIGHTINGS}")
    share = method.get("mix_entropy_share", 0.5)
    if not 0 <= float(share) <= 1:
        raise ValueError(f"{where}: method.mix_entropy_share must be within 0..1")
    seen: set[str] = set()
    pillars = []
    for p in raw.get("pillars") or []:
        pw = f"{where}: pillar {p.get('code')!r}"
        groups = []
        for g in p.get("groups") or []:
            gw = f"{pw}, group {g.get('code')!r}"
            indicators = []
            for i in g.get("indicators") or []:
                iw = f"{gw}, indicator {i.get('code')!r}"
                code = _text(i, "code", iw)
                if code in seen:
                    raise ValueError(f"{iw}: code used twice")
                seen.add(code)
                if i.get("direction") not in DIRECTIONS:
                    raise ValueError(f"{iw}: direction must be one of {DIRECTIONS}")
                if i.get("source") not in SOURCES:
                    raise ValueError(f"{iw}: source must be one of {SOURCES}")
                if i["source"] == "computed" and code not in COMPUTED:
                    raise ValueError(f"{iw}: computed, but analysis/index_data.py has no function {code!r}")
                indicators.append(IndicatorSpec(
                    code, _text(i, "name", iw), str(i.get("name_en", "")), _text(i, "definition", iw),
                    _text(i, "unit", iw), i["direction"], i["source"], _weight(i, iw), p["code"], g["code"]))
            if not indicators:
                raise ValueError(f"{gw}: no indicators")
            code = _text(g, "code", gw)
            if code in seen:
                raise ValueError(f"{gw}: code used twice")
            seen.add(code)
            groups.append(GroupSpec(code, _text(g, "name", gw), str(g.get("name_en", "")), _weight(g, gw),
                                    tuple(indicators)))
        if not groups:
            raise ValueError(f"{pw}: no groups")
        code = _text(p, "code", pw)
        if code in seen:
            raise ValueError(f"{pw}: code used twice")
        seen.add(code)
        pillars.append(PillarSpec(code, _text(p, "name", pw), str(p.get("name_en", "")), _weight(p, pw),
                                  tuple(groups)))
    if not pillars:
        raise ValueError(f"{where}: no pillars")
    return IndexTree(str(raw.get("version", "")), method, dict(raw.get("parameters") or {}), tuple(pillars), where)


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


# --------------------------------------------------------------------------- building the index


@dataclass(frozen=True)
class Missing:
    """A missing value: region position, indicator position and why it is missing."""

    region: int
    indicator: int
    reason: str


@dataclass
class IndexResult:
    """The index of one level: inputs, weights, scores, ranking, explanation and provenance."""

    edition: int
    level: str
    tree: IndexTree
    normalisation: str
    scheme: str
    regions: Regions  # the ranked regions
    raw: np.ndarray  # n x J, nan = missing
    normalised: np.ndarray
    entropy: EntropyWeights
    expert: np.ndarray
    weights: np.ndarray
    scores: Aggregate
    order: list[int]  # region positions in rank order
    drivers: list[tuple[list[Driver], Driver | None]]
    sensitivity: Sensitivity
    scheme_rho: dict[str, float]  # Spearman of the totals under each weighting scheme vs the one used
    missing: list[Missing]
    imports: ImportResult | None
    used_imports: list[ImportedValue]
    not_ranked: int  # regions of the level left out (fewer sample firms than the minimum)
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def scale(self) -> float:
        """Score units: 100 for min-max (scores 0-100), 1 for z-scores."""
        return 100.0 if self.normalisation == "minmax" else 1.0

    @property
    def rank(self) -> np.ndarray:
        """Rank (1 = best) of every region position."""
        out = np.empty(len(self.order), dtype=np.int64)
        out[self.order] = np.arange(1, len(self.order) + 1)
        return out

    def top(self, k: int = 10) -> list[tuple[int, str, float]]:
        """The first ``k`` regions as (rank, name, total in score units)."""
        return [(r + 1, self.regions.names[i], float(self.scores.total[i]) * self.scale)
                for r, i in enumerate(self.order[:k])]


def _select_imports(result: ImportResult, level: str, regions: Regions, data_year: int,
                    codes: Sequence[str]) -> tuple[dict[str, np.ndarray], list[ImportedValue], list[str]]:
    """Per imported indicator, the value of every ranked region: the row with the latest year <= data_year."""
    pos = {c: i for i, c in enumerate(regions.codes)}
    chosen: dict[tuple[str, int], ImportedValue] = {}
    later = 0
    elsewhere: list[str] = []
    for v in result.values:
        if v.level != level:
            continue
        if v.year > data_year:
            later += 1
            continue
        if v.region_code not in pos:
            elsewhere.append(v.region_name)
            continue
        key = (v.indicator, pos[v.region_code])
        if key not in chosen or chosen[key].year < v.year:
            chosen[key] = v
    out = {c: np.full(len(regions), np.nan) for c in codes}
    for (code, i), v in chosen.items():
        if code in out:
            out[code][i] = v.value
    warnings = []
    if later:
        warnings.append(f"{later} imported {level} value(s) for years after {data_year} ignored (after the data cutoff)")
    if elsewhere:
        names = sorted(set(elsewhere))
        warnings.append(f"imported {level} values for {len(names)} region(s) that are not ranked (no sample firms) "
                        f"ignored: {'、'.join(names[:8])}{' ...' if len(names) > 8 else ''}")
    used = sorted(chosen.values(), key=lambda v: (v.indicator, regions.codes.index(v.region_code)))
    return out, used, warnings


def default_edition(session: Session) -> int:
    """The year after the latest event year (the 2024 edition reports data up to 2023)."""
    latest = session.scalar(select(func.max(CooperationEvent.year)))
    return (latest or dt.date.today().year - 1) + 1


def build_index(
    session: Session,
    *,
    edition: int | None = None,
    level: str = "province",
    weights: str | None = None,
    normalisation: str | None = None,
    imports: Path | None = None,
    skip_bad: bool = False,
    rejects_dir: Path | None = None,
    tree: IndexTree | None = None,
    source: IndexSource | None = None,
    progress: Progress | None = None,
) -> IndexResult:
    """Compute the index of ``level`` for ``edition`` (method in the module docstring).

    ``weights`` / ``normalisation`` default to the tree's ``method``; ``imports`` is a directory of
    import files (validated; :class:`~analysis.index_imports.IndexImportError` when a row is bad and
    ``skip_bad`` is false). ``source`` lets callers computing both levels load the database once.
    Raises :class:`IndexBuildError` for bad parameters or too few regions. Reads only.
    """
    say = progress or (lambda _msg: None)
    tree = tree or load_tree()
    weights = weights or tree.method.get("weights", "entropy")
    normalisation = normalisation or tree.method.get("normalisation", "minmax")
    if level not in LEVELS:
        raise IndexBuildError(f"unknown level {level!r}; expected one of {', '.join(LEVELS)}")
    if weights not in WEIGHTINGS:
        raise IndexBuildError(f"unknown weighting {weights!r}; expected one of {', '.join(WEIGHTINGS)}")
    if normalisation not in NORMALISATIONS:
        raise IndexBuildError(f"unknown normalisation {normalisation!r}; expected one of {', '.join(NORMALISATIONS)}")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    if source is None:
        edition = edition or default_edition(session)
        source = load_index_source(session, edition)
    elif edition is not None and edition != source.edition:
        raise IndexBuildError(f"the loaded data is for edition {source.edition}, not {edition}")
    edition = source.edition
    timings["load"] = time.perf_counter() - started

    started = time.perf_counter()
    indicators = tree.indicators
    computed = [i.code for i in indicators if i.source == "computed"]
    values = computed_indicators(source, level, computed, tree.parameters)
    all_regions = source.regions(level)
    firms = values.get("sample_firms")
    if firms is None:
        firms = computed_indicators(source, level, ["sample_firms"], tree.parameters)["sample_firms"]
    minimum = int(tree.method.get("min_sample_firms", 1))
    keep = np.flatnonzero(firms >= max(minimum, 1))
    if keep.size < 2:
        raise IndexBuildError(
            f"edition {edition}, level {level}: {keep.size} region(s) with at least {max(minimum, 1)} sample firm(s); "
            "the index ranks at least two (import the firm registry and run `aimap etl` first)")
    regions = Regions(level, [all_regions.codes[i] for i in keep], [all_regions.names[i] for i in keep],
                      [all_regions.province[i] for i in keep])
    warnings: list[str] = []
    result_imports: ImportResult | None = None
    used: list[ImportedValue] = []
    imported_codes = [i.code for i in indicators if i.source == "imported"]
    imported = {c: np.full(keep.size, np.nan) for c in imported_codes}
    if imports is not None:
        result_imports = read_imports(session, Path(imports), tree.importable(),
                                      computed=[x for i in indicators if i.source == "computed" for x in (i.code, i.name)],
                                      skip_bad=skip_bad, rejects_dir=rejects_dir)
        warnings += result_imports.warnings
        imported, used, more = _select_imports(result_imports, level, regions, edition - 1, imported_codes)
        warnings += more
    raw = np.column_stack([values[i.code][keep] if i.source == "computed" else imported[i.code] for i in indicators])
    timings["indicators"] = time.perf_counter() - started
    say(f"{level}: {keep.size} regions ranked ({len(all_regions) - keep.size} without sample firms left out), "
        f"{len(indicators)} indicators in {timings['indicators']:.2f} s")

    started = time.perf_counter()
    missing = []
    for j, ind in enumerate(indicators):
        for i in np.flatnonzero(np.isnan(raw[:, j])).tolist():
            reason = (f"no import row for {edition - 1} or earlier" if ind.source == "imported"
                      else "no known value (see the definition)")
            missing.append(Missing(i, j, reason))
    for j, ind in enumerate(indicators):
        if np.isnan(raw[:, j]).all():
            warnings.append(f"indicator {ind.code} ({ind.name}) has no value for any {level}"
                            + (" (no import file provides it)" if ind.source == "imported" else ""))
    higher = [i.direction == "higher" for i in indicators]
    xn = normalise(raw, higher, normalisation)
    entropy = entropy_weights(normalise(raw, higher, "minmax"))
    expert = expert_weights(tree)
    w = scheme_weights(weights, entropy, expert, float(tree.method.get("mix_entropy_share", 0.5)))
    if not w.sum() > 0:
        raise IndexBuildError(f"{level}: no indicator separates the regions, the {weights} weights are all 0")
    w = w / w.sum()
    pillar = tree.pillar_index()
    n_p = len(tree.pillars)
    scores = aggregate(xn, w, pillar, n_p)
    order = ranking(regions.names, regions.codes, scores.total)
    scale = 100.0 if normalisation == "minmax" else 1.0
    expl = drivers(xn, scores.effective, int(tree.method.get("drivers", 3)), scale)
    rho = {}
    for other in WEIGHTINGS:
        ow = scheme_weights(other, entropy, expert, float(tree.method.get("mix_entropy_share", 0.5)))
        if ow.sum() > 0:
            rho[other] = spearman(scores.total, aggregate(xn, ow / ow.sum(), pillar, n_p).total)
    timings["method"] = time.perf_counter() - started
    started = time.perf_counter()
    sens_spec = tree.method.get("sensitivity") or {}
    sens = sensitivity(xn, w, pillar, n_p, regions.names, regions.codes, draws=int(sens_spec.get("draws", 1000)),
                       spread=float(sens_spec.get("spread", 0.2)), seed=int(sens_spec.get("seed", 2024)),
                       top=int(sens_spec.get("top", 10)))
    timings["sensitivity"] = time.perf_counter() - started
    say(f"{level}: weights {weights}, normalisation {normalisation}; sensitivity {sens.draws} draws, "
        f"Spearman mean {np.nanmean(sens.rho):.3f} in {timings['sensitivity']:.2f} s")
    return IndexResult(edition, level, tree, normalisation, weights, regions, raw, xn, entropy, expert, w, scores,
                       order, expl, sens, rho, missing, result_imports, used, len(all_regions) - int(keep.size),
                       warnings, timings)


# --------------------------------------------------------------------------- comparison with a published ranking


@dataclass(frozen=True)
class PublishedComparison:
    """Our ranking beside a published one (see :func:`compare_published`)."""

    level: str
    published: list[str]
    ours: list[tuple[int, str, float]]  # our top k: (rank, name, total)
    our_rank: dict[str, int | None]  # our rank of every published region (None: not ranked)
    common: list[str]  # regions in both top lists
    rho_common: float  # Spearman over the regions both lists name (ranks within each list)
    rho_published: float  # Spearman of the published order and our ranks of the published regions


def published_ranking(figures: Mapping[str, Any], level: str) -> list[str]:
    """The published ranking of ``level`` from a figures file (``competitiveness_index``)."""
    ci = figures.get("competitiveness_index") or {}
    key = "top5_provinces" if level == "province" else "top10_cities"
    return [str(x) for x in ci.get(key) or []]


def compare_published(result: IndexResult, published: Sequence[str], k: int = 10) -> PublishedComparison:
    """Our top ``k`` beside a published ranking.

    ``rho_common``: Spearman's rho (:func:`spearman`) between the positions in the published list
    and in our top ``k`` of the regions both name (nan with fewer than two). ``rho_published``:
    between the published positions and our full ranks of the published regions we rank.
    """
    rank = result.rank
    by_name = {result.regions.names[i]: int(rank[i]) for i in range(len(result.regions))}
    ours = result.top(k)
    top_names = [n for _, n, _ in ours]
    common = [n for n in published if n in top_names]
    rho_common = spearman([published.index(n) for n in common], [top_names.index(n) for n in common])
    ranked = [n for n in published if n in by_name]
    rho_pub = spearman([published.index(n) for n in ranked], [by_name[n] for n in ranked])
    return PublishedComparison(result.level, list(published), ours, {n: by_name.get(n) for n in published},
                               common, rho_common, rho_pub)


# --------------------------------------------------------------------------- outputs


def _num(x: float) -> float | None:
    return None if x is None or np.isnan(x) else float(x)


def index_tables(result: IndexResult) -> list[Table]:
    """The index of one level as :class:`~analysis.stats.Table` objects (ranking first)."""
    tree, lv, sc = result.tree, result.level, result.scale
    inds = tree.indicators
    names = result.regions.names
    codes = result.regions.codes
    rank = result.rank
    label = "省份 (province)" if lv == "province" else "城市 (city)"
    what = "provinces" if lv == "province" else "cities"
    unit = "0-100" if result.normalisation == "minmax" else "weighted z-score"
    avail = ~np.isnan(result.raw)
    coverage = 100.0 * (avail * result.weights[None, :]).sum(axis=1) / result.weights.sum()
    tables = []

    def ind_name(j: int) -> str:
        return inds[j].name

    rows = []
    for r, i in enumerate(result.order, 1):
        ups, low = result.drivers[i]
        rows.append([r, names[i], codes[i], _num(result.scores.total[i] * sc),
                     *[_num(result.scores.pillars[i, p] * sc) for p in range(len(tree.pillars))],
                     coverage[i], "；".join(f"{ind_name(d.indicator)} (+{d.points:.2f})" for d in ups),
                     f"{ind_name(low.indicator)} ({low.points:.2f})" if low else ""])
    drawn = int(tree.method.get("bar_regions", 34))
    tables.append(Table(
        f"index_{lv}_ranking", f"新一代人工智能科技产业区域竞争力评价指数（{'省级' if lv == 'province' else '城市'}）",
        f"Regional competitiveness index, {what}, edition {result.edition}",
        [Column("rank", "排名 (rank)", "int"), Column("region", label), Column("code", "代码 (code)"),
         Column("total", f"总分 (total, {unit})", "pct"),
         *[Column(p.code, f"{p.name} ({p.name_en})", "pct") for p in tree.pillars],
         Column("coverage", "数据覆盖% (weight with data)", "pct"),
         Column("strengths", "主要拉动指标 (lifted most, points)"), Column("weakness", "主要拖累指标 (held back most)")],
        rows,
        [f"Regions ranked: the {len(names)} {what} with at least {int(tree.method.get('min_sample_firms', 1))} sample "
         f"firm(s) ({result.not_ranked} others left out). Normalisation {result.normalisation}, weights "
         f"{result.scheme}; tree {Path(tree.path).name} version {tree.version}. Ties: total, then name.",
         "Pillar score = weighted mean of the pillar's available normalised indicators; total = weighted mean of the "
         "pillar scores with pillar weight = sum of its indicators' weights. Missing values are re-weighted within "
         "the pillar (coverage = share of the weight with data), never counted as 0.",
         "Strengths / weakness: omega_ij (x'_ij - mean_j) in score points (analysis.index.drivers)."],
        Chart("barh", "region", ("total",), f"总分 ({unit})", limit=drawn)))

    k = int(tree.method.get("radar_regions", 5))
    tables.append(Table(
        f"index_{lv}_radar", f"排名前{k}的{'省份' if lv == 'province' else '城市'}一级指标得分",
        f"Pillar scores of the top {k} {what}",
        [Column("region", label), *[Column(p.code, p.name, "pct") for p in tree.pillars]],
        [[names[i], *[_num(result.scores.pillars[i, p] * sc) for p in range(len(tree.pillars))]]
         for i in result.order[:k]],
        [f"Pillar scores ({unit}) of the {k} highest-ranked {what}; drawn as a radar chart."]))

    head = [Column("rank", "排名", "int"), Column("region", label)]
    ind_cols = [Column(i.code, f"{i.name} ({i.unit})", "float") for i in inds]
    tables.append(Table(
        f"index_{lv}_values", "三级指标原始值 (indicator values)", f"Indicator values, {what}",
        [*head, *ind_cols],
        [[int(rank[i]), names[i], *[_num(result.raw[i, j]) for j in range(len(inds))]] for i in result.order],
        [f"Raw values; blank = missing (see index_{lv}_missing). Network of {result.edition - 1}, listed-firm "
         f"financials of fiscal year {result.edition - 2}; imported values: the latest year <= {result.edition - 1}."]))
    tables.append(Table(
        f"index_{lv}_normalised", "三级指标标准化值 (normalised)", f"Normalised indicator values, {what}",
        [*head, *[Column(i.code, i.name, "float") for i in inds]],
        [[int(rank[i]), names[i], *[_num(result.normalised[i, j]) for j in range(len(inds))]] for i in result.order],
        [f"{result.normalisation}: per indicator over the ranked {what} with a value, oriented so that higher is better "
         "(analysis.index.minmax / zscore)."]))

    pw = {p.code: 0.0 for p in tree.pillars}
    for j, ind in enumerate(inds):
        pw[ind.pillar] += result.weights[j]
    e = result.entropy
    rows = []
    for j, ind in enumerate(inds):
        p = next(p for p in tree.pillars if p.code == ind.pillar)
        rows.append([p.name, tree.group_of(ind).name, ind.code, ind.name, ind.unit, ind.direction, ind.source,
                     int(e.n[j]), float(e.e[j]), float(e.d[j]), 100 * float(e.w[j]), 100 * float(result.expert[j]),
                     100 * float(result.weights[j]), 100 * pw[ind.pillar], ind.definition])
    tables.append(Table(
        f"index_{lv}_weights", "指标体系与权重 (indicator tree and weights)", "Indicator tree and weights",
        [Column("pillar", "一级指标"), Column("group", "二级指标"), Column("code", "代码"), Column("indicator", "三级指标"),
         Column("unit", "单位"), Column("direction", "方向"), Column("source", "来源"),
         Column("regions", "有值地区数 (n_j)", "int"), Column("entropy", "熵值 e_j", "float"),
         Column("divergence", "差异系数 d_j", "float"), Column("entropy_weight", "熵权% (entropy)", "pct"),
         Column("expert_weight", "专家权重% (expert)", "pct"), Column("weight", f"采用权重% ({result.scheme})", "pct"),
         Column("pillar_weight", "一级指标权重%", "pct"), Column("definition", "定义 (definition)")],
        rows,
        ["Entropy method (analysis.index.entropy_weights): p_ij = y_ij / sum_i y_ij on the min-max normalised values, "
         "e_j = -(1/ln n_j) sum_i p_ij ln p_ij (0 ln 0 = 0), d_j = 1 - e_j, w_j = d_j / sum d_j; indicators with fewer "
         "than two regions with a value or no variation get 0.",
         "Expert weights: pillar x group x indicator local weights of index.yml, each normalised among siblings.",
         "Weight schemes compared (Spearman of the totals vs the scheme used): "
         + ", ".join(f"{k} {v:.3f}" for k, v in result.scheme_rho.items())]))

    s = result.sensitivity
    rows = [[int(rank[i]), names[i], 100 * float(s.top_share[i]), float(s.rank_median[i]), float(s.rank_p5[i]),
             float(s.rank_p95[i])] for i in result.order[: max(s.top, 1)]]
    rho = s.rho[~np.isnan(s.rho)]
    summary = (f"Spearman rho (perturbed vs baseline ranks of all {len(names)} {what}): mean {rho.mean():.4f}, "
               f"5th percentile {np.percentile(rho, 5):.4f}, minimum {rho.min():.4f}." if rho.size else "")
    tables.append(Table(
        f"index_{lv}_sensitivity", f"权重敏感性分析 (top {s.top} stability)", "Sensitivity of the ranking to the weights",
        [Column("rank", "排名", "int"), Column("region", label), Column("top_share", f"保持前{s.top}的比例%", "pct"),
         Column("median_rank", "排名中位数", "float"), Column("rank_p5", "排名5%分位", "float"),
         Column("rank_p95", "排名95%分位", "float")], rows,
        [f"{s.draws} draws: every weight multiplied by U({1 - s.spread:g}, {1 + s.spread:g}) and renormalised "
         f"(numpy default_rng seed {s.seed}); totals re-aggregated and re-ranked.", summary]))

    rows = []
    for i in result.order:
        ups, low = result.drivers[i]
        for d in ups:
            rows.append([int(rank[i]), names[i], "strength", inds[d.indicator].name, d.points,
                         _num(result.raw[i, d.indicator])])
        if low:
            rows.append([int(rank[i]), names[i], "weakness", inds[low.indicator].name, low.points,
                         _num(result.raw[i, low.indicator])])
    tables.append(Table(
        f"index_{lv}_drivers", "各地区主要拉动与拖累指标 (drivers)", "What moved each region most",
        [Column("rank", "排名", "int"), Column("region", label), Column("kind", "类型"), Column("indicator", "指标"),
         Column("points", "贡献 (points)", "float"), Column("value", "原始值 (value)", "float")], rows,
        ["points = omega_ij (x'_ij - mean_j) x scale: the indicator's pull on the total relative to an average value "
         "of that indicator, under the region's effective weights."]))

    rows = [[names[m.region], inds[m.indicator].code, inds[m.indicator].name, inds[m.indicator].source, m.reason]
            for m in sorted(result.missing, key=lambda m: (int(rank[m.region]), m.indicator))]
    tables.append(Table(
        f"index_{lv}_missing", "缺失值 (missing values)", "Missing values",
        [Column("region", label), Column("code", "代码"), Column("indicator", "指标"), Column("source", "来源"),
         Column("reason", "原因 (reason)")], rows,
        [f"{len(rows)} missing values; each is left out of the region's scores and its weight re-distributed within "
         "the pillar (never treated as 0)."]))

    rows = [[v.indicator, v.region_name, v.region_code, v.year, v.value, v.source, v.note, f"{v.file}:{v.row}"]
            for v in result.used_imports]
    notes = ["Imported values used (the latest year <= the data year per region and indicator)."]
    if result.imports is not None:
        notes += [f"{f.path}: sha256 {f.sha256[:16]}, {f.rows} rows, {f.accepted} accepted, {f.rejected} rejected"
                  for f in result.imports.files]
    else:
        notes.append("No --imports directory given: every imported indicator is missing.")
    tables.append(Table(
        f"index_{lv}_imports", "导入指标来源 (imported values and provenance)", "Imported values and their sources",
        [Column("indicator", "指标"), Column("region", label), Column("code", "代码"), Column("year", "年份", "int"),
         Column("value", "数值", "float"), Column("source", "来源 (source)"), Column("note", "备注"),
         Column("file", "文件:行 (file:row)")], rows, notes))

    method_rows = [["edition", str(result.edition)], ["level", lv], ["data_year (network)", str(result.edition - 1)],
                   ["fiscal_year (financials)", str(result.edition - 2)], ["normalisation", result.normalisation],
                   ["weights", result.scheme],
                   ["tree", f"{display_path(tree.path)} (version {tree.version}, sha256 {tree_digest(tree)[:16]})"],
                   ["regions ranked", str(len(names))], ["regions left out", str(result.not_ranked)],
                   ["missing values", str(len(result.missing))],
                   ["imports", result.imports.directory if result.imports else "none"],
                   *[["warning", w] for w in result.warnings]]
    tables.append(Table(f"index_{lv}_method", "方法与参数 (method and parameters)", "Method and parameters",
                        [Column("key", "项目"), Column("value", "值")], method_rows, []))
    return tables


def tree_digest(tree: IndexTree) -> str:
    """SHA-256 of the tree file (recorded with the outputs: which version of the definitions was used)."""
    return hashlib.sha256(Path(tree.path).read_bytes()).hexdigest()


def display_path(path: str | Path) -> str:
    """``path`` relative to the repository when inside it (outputs carry no machine-specific prefix)."""
    p = Path(path).resolve()
    root = DATA_DIR.parents[1]
    return p.relative_to(root).as_posix() if p.is_relative_to(root) else str(path)


def _rc() -> dict[str, Any]:
    from analysis.charts import _rc as charts_rc

    return charts_rc()


PILLAR_COLOURS = ("#c0392b", "#2e86c1", "#27ae60", "#8e44ad", "#f39c12", "#16a085")


def _save(fig: Any, directory: Path, stem: str) -> list[Path]:
    png, svg = directory / f"{stem}.png", directory / f"{stem}.svg"
    fig.savefig(png, format="png", metadata={"Software": None}, bbox_inches="tight")
    fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    return [png, svg]


def radar_chart(result: IndexResult, directory: Path) -> list[Path]:
    """Radar chart of the pillar scores of the top ``method.radar_regions`` regions (PNG and SVG)."""
    import matplotlib
    from matplotlib.figure import Figure

    tree = result.tree
    k = int(tree.method.get("radar_regions", 5))
    labels = [p.name for p in tree.pillars]
    angles = np.linspace(0, 2 * np.pi, len(labels), endpoint=False)
    closed = np.concatenate([angles, angles[:1]])
    directory.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context(_rc()):
        fig = Figure(figsize=(7.5, 7.5), dpi=150)
        ax = fig.add_subplot(projection="polar")
        for n, i in enumerate(result.order[:k]):
            vals = np.nan_to_num(result.scores.pillars[i] * result.scale)
            colour = PILLAR_COLOURS[n % len(PILLAR_COLOURS)]
            ax.plot(closed, np.concatenate([vals, vals[:1]]), color=colour, linewidth=1.5,
                    label=f"{n + 1}. {result.regions.names[i]}")
            ax.fill(closed, np.concatenate([vals, vals[:1]]), color=colour, alpha=0.08)
        ax.set_xticks(angles, labels)
        if result.normalisation == "minmax":
            ax.set_ylim(0, 100)
        ax.tick_params(axis="x", pad=10)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), frameon=False, fontsize=9, ncol=min(k, 5))
        fig.suptitle(f"一级指标得分：排名前{k}的{'省份' if result.level == 'province' else '城市'}（{result.edition}）",
                     fontsize=11)
        fig.tight_layout()
        return _save(fig, directory, f"index_{result.level}_radar")


def bar_chart(result: IndexResult, directory: Path) -> list[Path]:
    """Horizontal bars of the totals in rank order (top ``method.bar_regions``), stacked by pillar
    contribution with min-max scores (the segments add up to the total)."""
    import matplotlib
    from matplotlib.figure import Figure

    tree = result.tree
    rows = result.order[: int(tree.method.get("bar_regions", 34))]
    pos = np.arange(len(rows))[::-1]
    directory.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context(_rc()):
        fig = Figure(figsize=(8, max(3.5, 0.26 * len(rows) + 1.5)), dpi=150)
        ax = fig.add_subplot()
        names = [result.regions.names[i] for i in rows]
        if result.normalisation == "minmax":
            left = np.zeros(len(rows))
            for p, pillar in enumerate(tree.pillars):
                seg = np.asarray([result.scores.contribution[i, p] * result.scale for i in rows])
                ax.barh(pos, seg, left=left, color=PILLAR_COLOURS[p % len(PILLAR_COLOURS)], label=pillar.name)
                left += seg
            ax.legend(frameon=False, fontsize=8, ncol=3, loc="lower right")
        else:
            ax.barh(pos, [result.scores.total[i] for i in rows], color=PILLAR_COLOURS[1])
        for p, i in zip(pos, rows, strict=True):
            ax.text(result.scores.total[i] * result.scale, p, f" {result.scores.total[i] * result.scale:.1f}",
                    va="center", fontsize=7)
        ax.set_yticks(pos, names, fontsize=8)
        ax.set_xlabel("总分 (0-100)" if result.normalisation == "minmax" else "总分 (weighted z-score)")
        fig.suptitle(f"新一代人工智能科技产业区域竞争力评价指数（{'省级' if result.level == 'province' else '城市'}，"
                     f"{result.edition}）", fontsize=11)
        fig.tight_layout()
        return _save(fig, directory, f"index_{result.level}_bar")


def write_index(result: IndexResult, directory: Path, *, charts: bool = True) -> list[Path]:
    """Write one level's outputs to ``directory`` (``out/<edition>/index/``); return the files.

    ``index_<level>_<table>.csv`` for every table of :func:`index_tables` (UTF-8 with BOM),
    ``index_<level>.xlsx`` (a contents sheet and one sheet per table), ``index_<level>.md`` and
    ``charts/index_<level>_radar`` and ``_bar`` (PNG and SVG). Deterministic: the same inputs give
    the same files (XLSX dates fixed to the data cutoff, charts without timestamps).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tables = index_tables(result)
    files = [write_csv(t, directory) for t in tables]
    title = f"新一代人工智能科技产业区域竞争力评价指数·{result.edition}（aimap，{'省级' if result.level == 'province' else '城市'}）"
    files.append(write_xlsx(tables, directory / f"index_{result.level}.xlsx", title=title,
                            when=(result.edition - 1, 12, 31)))
    images: dict[str, str] = {}
    if charts:
        bar = bar_chart(result, directory / "charts")
        radar = radar_chart(result, directory / "charts")
        files += bar + radar
        images = {f"index_{result.level}_ranking": f"charts/{bar[0].name}",
                  f"index_{result.level}_radar": f"charts/{radar[0].name}"}
    intro = [f"Rebuilt by aimap from its database (network of {result.edition - 1}, listed-firm financials of "
             f"{result.edition - 2}) and the imported indicators; tree {Path(result.tree.path).name} version "
             f"{result.tree.version}; normalisation {result.normalisation}, weights {result.scheme}.",
             "Definitions of every indicator: the weights table and analysis/data/index.yml; method: docs/index.md."]
    files.append(write_markdown(tables, directory / f"index_{result.level}.md", title=title, intro=intro,
                                charts=images))
    return files


