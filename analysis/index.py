"""The regional competitiveness index (新一代人工智能科技产业区域竞争力评价指数): provinces and cities, computed and explained.

The 2024 report ranks provinces and cities with an index of six pillars (企业能力, 学术生态,
资本环境, 国际开放度, 链接能力, 政府响应能力) over 24 third-level indicators, without printing the
indicators or their weights. aimap makes them explicit: the tree, every definition, unit,
direction, source and expert weight are data (``analysis/data/index.yml``,
:func:`analysis.index_tree.load_tree`);
computed indicators come from the database (:mod:`analysis.index_data`), imported ones from
validated CSV/XLSX files (:mod:`analysis.index_imports`). :func:`build_index` runs the method
below for one level (``province`` or ``city``); :func:`analysis.index_outputs.write_index` writes the outputs to
``out/<edition>/index/`` (CSV per table, one XLSX, Markdown, radar and bar charts as PNG/SVG).

Method (each step in the docstring of its function in :mod:`analysis.index_method`, all in
docs/index.md):

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
6. **Ranking** — total descending, then region name, then code (:func:`analysis.presentation.rank_order`).
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
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analysis.index_data import LEVELS, IndexSource, Regions, computed_indicators, load_index_source
from analysis.index_imports import ImportedValue, ImportResult, read_imports
from analysis.index_method import (
    Aggregate,
    Driver,
    EntropyWeights,
    Sensitivity,
    aggregate,
    drivers,
    entropy_weights,
    expert_weights,
    normalise,
    ranking,
    scheme_weights,
    sensitivity,
    spearman,
)
from analysis.index_tree import NORMALISATIONS, WEIGHTINGS, IndexBuildError, IndexTree, load_tree
from db.models import CooperationEvent

Progress = Callable[[str], None]


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
    values = _indicator_values(session, tree, source, level, imports, skip_bad, rejects_dir)
    regions, raw, warnings = values.regions, values.raw, values.warnings
    timings["indicators"] = time.perf_counter() - started
    say(f"{level}: {len(regions)} regions ranked ({values.not_ranked} without sample firms left out), "
        f"{len(tree.indicators)} indicators in {timings['indicators']:.2f} s")

    started = time.perf_counter()
    missing = _missing_values(raw, tree, level, edition, warnings)
    higher = [i.direction == "higher" for i in tree.indicators]
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
                       order, expl, sens, rho, missing, values.imports, values.used, values.not_ranked,
                       warnings, timings)


@dataclass
class _IndicatorValues:
    """The raw indicator matrix of the ranked regions and where its imported part came from."""

    regions: Regions
    raw: np.ndarray  # n x J, nan = missing
    not_ranked: int
    imports: ImportResult | None
    used: list[ImportedValue]
    warnings: list[str]


def _indicator_values(session: Session, tree: IndexTree, source: IndexSource, level: str, imports: Path | None,
                      skip_bad: bool, rejects_dir: Path | None) -> _IndicatorValues:
    """Step 1 of the method: the regions ranked, and every indicator's value for each (computed or imported)."""
    edition = source.edition
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
    return _IndicatorValues(regions, raw, len(all_regions) - int(keep.size), result_imports, used, warnings)


def _missing_values(raw: np.ndarray, tree: IndexTree, level: str, edition: int, warnings: list[str]) -> list[Missing]:
    """Step 2 of the method: every missing value with its reason; a warning (appended) per empty indicator."""
    indicators = tree.indicators
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
    return missing


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

