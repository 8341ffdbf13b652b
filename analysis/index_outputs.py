"""The outputs of the regional competitiveness index: tables, charts and files of one level.

:func:`index_tables` turns an :class:`~analysis.index.IndexResult` into
:class:`~analysis.presentation.Table` objects (ranking, pillar scores of the top regions,
indicator values raw and normalised, the tree with every weight, sensitivity, drivers, missing
values, imported values with their provenance, method); :func:`radar_chart` and :func:`bar_chart`
draw it; :func:`write_index` writes everything to ``out/<edition>/index/``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from analysis.bundle import write_csv, write_markdown, write_xlsx
from analysis.charts import rc_params
from analysis.index import IndexResult
from analysis.index_tree import DATA_DIR, IndexTree, IndicatorSpec
from analysis.presentation import Chart, Column, Table


def _num(x: float) -> float | None:
    return None if x is None or np.isnan(x) else float(x)


class _View(NamedTuple):
    """What every table of one level shares: the tree, the level's labels and units, regions in order."""

    tree: IndexTree
    lv: str
    sc: float
    inds: tuple[IndicatorSpec, ...]
    names: list[str]
    codes: list[str]
    rank: np.ndarray
    label: str
    what: str
    unit: str


def _ind_name(inds: Sequence[IndicatorSpec], j: int) -> str:
    return inds[j].name


def index_tables(result: IndexResult) -> list[Table]:
    """The index of one level as :class:`~analysis.presentation.Table` objects (ranking first)."""
    lv = result.level
    v = _View(result.tree, lv, result.scale, result.tree.indicators, result.regions.names, result.regions.codes,
              result.rank, "省份 (province)" if lv == "province" else "城市 (city)",
              "provinces" if lv == "province" else "cities",
              "0-100" if result.normalisation == "minmax" else "weighted z-score")
    tables: list[Table] = []
    tables += _ranking_tables(result, v)
    tables += _value_tables(result, v)
    tables += _weights_table(result, v)
    tables += _sensitivity_table(result, v)
    tables += _drivers_table(result, v)
    tables += _missing_table(result, v)
    tables += _imports_table(result, v)
    tables += _method_table(result, v)
    return tables


def _ranking_tables(result: IndexResult, v: _View) -> list[Table]:
    """The ranking (with coverage, strengths and weakness) and the pillar scores of the top regions."""
    tree, lv, sc, inds, names, codes = v.tree, v.lv, v.sc, v.inds, v.names, v.codes
    label, what, unit = v.label, v.what, v.unit
    avail = ~np.isnan(result.raw)
    coverage = 100.0 * (avail * result.weights[None, :]).sum(axis=1) / result.weights.sum()
    tables = []
    rows = []
    for r, i in enumerate(result.order, 1):
        ups, low = result.drivers[i]
        rows.append([r, names[i], codes[i], _num(result.scores.total[i] * sc),
                     *[_num(result.scores.pillars[i, p] * sc) for p in range(len(tree.pillars))],
                     coverage[i], "；".join(f"{_ind_name(inds, d.indicator)} (+{d.points:.2f})" for d in ups),
                     f"{_ind_name(inds, low.indicator)} ({low.points:.2f})" if low else ""])
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
         "Strengths / weakness: omega_ij (x'_ij - mean_j) in score points (analysis.index_method.drivers)."],
        Chart("barh", "region", ("total",), f"总分 ({unit})", limit=drawn)))

    k = int(tree.method.get("radar_regions", 5))
    tables.append(Table(
        f"index_{lv}_radar", f"排名前{k}的{'省份' if lv == 'province' else '城市'}一级指标得分",
        f"Pillar scores of the top {k} {what}",
        [Column("region", label), *[Column(p.code, p.name, "pct") for p in tree.pillars]],
        [[names[i], *[_num(result.scores.pillars[i, p] * sc) for p in range(len(tree.pillars))]]
         for i in result.order[:k]],
        [f"Pillar scores ({unit}) of the {k} highest-ranked {what}; drawn as a radar chart."]))
    return tables


def _value_tables(result: IndexResult, v: _View) -> list[Table]:
    """The indicator values, raw and normalised, in rank order."""
    lv, inds, names, rank, label, what = v.lv, v.inds, v.names, v.rank, v.label, v.what
    tables = []
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
         "(analysis.index_method.minmax / zscore)."]))
    return tables


def _weights_table(result: IndexResult, v: _View) -> list[Table]:
    """The indicator tree with every weight (entropy, expert, the scheme used, per pillar)."""
    tree, lv, inds = v.tree, v.lv, v.inds
    tables = []
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
        ["Entropy method (analysis.index_method.entropy_weights): p_ij = y_ij / sum_i y_ij on the min-max normalised values, "
         "e_j = -(1/ln n_j) sum_i p_ij ln p_ij (0 ln 0 = 0), d_j = 1 - e_j, w_j = d_j / sum d_j; indicators with fewer "
         "than two regions with a value or no variation get 0.",
         "Expert weights: pillar x group x indicator local weights of index.yml, each normalised among siblings.",
         "Weight schemes compared (Spearman of the totals vs the scheme used): "
         + ", ".join(f"{k} {v:.3f}" for k, v in result.scheme_rho.items())]))
    return tables


def _sensitivity_table(result: IndexResult, v: _View) -> list[Table]:
    """How often each top region stays in the top k when the weights are perturbed."""
    lv, names, rank, label, what = v.lv, v.names, v.rank, v.label, v.what
    tables = []
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
    return tables


def _drivers_table(result: IndexResult, v: _View) -> list[Table]:
    """What lifted and what held back each region."""
    lv, inds, names, rank, label = v.lv, v.inds, v.names, v.rank, v.label
    tables = []
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
    return tables


def _missing_table(result: IndexResult, v: _View) -> list[Table]:
    """Every missing value and why it is missing."""
    lv, inds, names, rank, label = v.lv, v.inds, v.names, v.rank, v.label
    tables = []
    rows = [[names[m.region], inds[m.indicator].code, inds[m.indicator].name, inds[m.indicator].source, m.reason]
            for m in sorted(result.missing, key=lambda m: (int(rank[m.region]), m.indicator))]
    tables.append(Table(
        f"index_{lv}_missing", "缺失值 (missing values)", "Missing values",
        [Column("region", label), Column("code", "代码"), Column("indicator", "指标"), Column("source", "来源"),
         Column("reason", "原因 (reason)")], rows,
        [f"{len(rows)} missing values; each is left out of the region's scores and its weight re-distributed within "
         "the pillar (never treated as 0)."]))
    return tables


def _imports_table(result: IndexResult, v: _View) -> list[Table]:
    """The imported values used, with their files and provenance."""
    lv, label = v.lv, v.label
    tables = []
    rows = [[u.indicator, u.region_name, u.region_code, u.year, u.value, u.source, u.note, f"{u.file}:{u.row}"]
            for u in result.used_imports]
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
    return tables


def _method_table(result: IndexResult, v: _View) -> list[Table]:
    """The method's parameters and provenance."""
    tree, lv, names = v.tree, v.lv, v.names
    tables = []
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


PILLAR_COLOURS = ("#c0392b", "#2e86c1", "#27ae60", "#8e44ad", "#f39c12", "#16a085")


def _save(fig: Any, directory: Path, stem: str) -> list[Path]:
    png, svg = directory / f"{stem}.png", directory / f"{stem}.svg"
    fig.savefig(png, format="png", metadata={"Software": None}, bbox_inches="tight")
    fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    return [png, svg]


def radar_chart(result: IndexResult, directory: Path) -> list[Path]:
    """Radar chart of the pillar scores of the top ``method.radar_regions`` regions (PNG and SVG)."""
    import matplotlib  # deferred: heavy, only drawing needs it
    from matplotlib.figure import Figure  # deferred: as above

    tree = result.tree
    k = int(tree.method.get("radar_regions", 5))
    labels = [p.name for p in tree.pillars]
    angles = np.linspace(0, 2 * np.pi, len(labels), endpoint=False)
    closed = np.concatenate([angles, angles[:1]])
    directory.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context(rc_params()):
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
    import matplotlib  # deferred: heavy, only drawing needs it
    from matplotlib.figure import Figure  # deferred: as above

    tree = result.tree
    rows = result.order[: int(tree.method.get("bar_regions", 34))]
    pos = np.arange(len(rows))[::-1]
    directory.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context(rc_params()):
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


