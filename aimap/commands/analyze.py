"""``aimap analyze`` and ``aimap index``: the report of an edition and the regional competitiveness
index (``aimap netstats`` lives in :mod:`aimap.commands.netstats`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import typer
from rich.table import Table

from aimap.runtime import console, err, fail, prepared, stop_on_signals, tagged
from analysis.compare import diff_editions, write_comparison, write_diff
from analysis.figures import load_figures
from analysis.index import IndexResult, build_index, compare_published, default_edition, published_ranking
from analysis.index_data import load_index_source
from analysis.index_imports import IndexImportError, record_errors
from analysis.index_outputs import write_index
from analysis.loaders import check_edition
from analysis.report import build_report
from common.config import out_dir
from db.runs import recorded_run, recorded_step
from db.session import session_scope


def analyze(
    edition: Annotated[int | None, typer.Option(help="Report edition (data up to edition-1). Default: latest data year + 1 "
                                                     "(with --compare: the published file's edition).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Bundle root (default: $AIMAP_OUT); files go to OUT/<edition>/.",
                                             file_okay=False)] = None,
    window: Annotated[int | None, typer.Option(help="Rolling window of K years instead of cumulative networks.")] = None,
    mutual: Annotated[Literal["reporter", "both"], typer.Option(help="Orientation of mutual events.")] = "reporter",
    compare: Annotated[Path | None, typer.Option(
        "--compare", metavar="FIGURES.yaml", exists=True, dir_okay=False,
        help="Put the rebuilt figures beside a published edition's (format: common/data/report-2024-figures.yaml) "
             "and flag internal inconsistencies of either side; writes compare.md/.csv into the bundle.")] = None,
    diff: Annotated[tuple[int, int] | None, typer.Option(
        "--diff", metavar="A B", help="Compare two editions rebuilt before (OUT/A and OUT/B): firms and relations added "
                                      "and removed, hubs that rose or fell, shares that moved; writes OUT/diff_A_B/.")] = None,
    allow_partial: Annotated[bool, typer.Option(
        "--allow-partial", help="Build an edition the data cannot support in full (its cut-off has not passed, or no "
                                "event is dated in its last year); the front page says so.")] = False,
) -> None:
    """Rebuild the report of an edition from the database: every table and figure, written to OUT/<edition>/.

    The bundle: report.html (self-contained; front page, sections with key findings, methods
    appendix), report.md, report.xlsx (a sheet per table), every table as CSV, charts as PNG and
    SVG, one GEXF per year for Gephi (and Fig. 13's, laid out), nodes/edges/firms CSV and
    network.xlsx with each edge's evidence, figures.yaml; each yearly network is recorded in
    network_snapshots. Running it twice on the same data gives the same files and no new snapshot.
    An edition the data cannot support (cut-off not passed, no event in its last year) is refused
    unless --allow-partial.
    """
    root = out.resolve() if out else out_dir()
    if diff is not None:
        a, b = diff
        try:
            result_diff = diff_editions(root / str(a), root / str(b))
        except (FileNotFoundError, ValueError, KeyError) as exc:
            fail(str(exc))
        files = write_diff(result_diff, root / f"diff_{a}_{b}")
        table = Table("change", "count")
        for key, value in result_diff.summary.items():
            table.add_row(key.replace("_", " "), f"{value:,}")
        console.print(f"edition {a} -> {b}", highlight=False)
        console.print(table)
        for t in result_diff.tables:
            if t.key == "diff_hubs":
                for row in [r for r in t.rows if r[-1] != "same"][:10]:
                    console.print(f"  {row[0]} hub {row[1]}: rank {row[2]} -> {row[3]} ({row[-1]})", highlight=False)
        console.print(f"written: {files[-1].parent}", highlight=False)
        return

    published = None
    if compare is not None:
        try:
            published = load_figures(compare)
        except (FileNotFoundError, ValueError) as exc:
            fail(str(exc))
        edition = edition or int(published["edition"])
    prepared()
    params = {"edition": edition, "window": window, "mutual": mutual, "out": str(root),
              **({"compare": str(compare)} if compare else {}), **({"allow_partial": True} if allow_partial else {})}
    try:
        with stop_on_signals(), recorded_step("analyze", params) as run, session_scope() as session:
            result = build_report(session, root, edition=edition, window=window, mutual=mutual, run_id=run.id,
                                  progress=lambda m: err.print(f"analyze: {m}", highlight=False),
                                  allow_partial=allow_partial)
            run.counts = {"years": len(result.rows), "snapshots_new": result.snapshots_new, "files": len(result.files)}
    except ValueError as exc:
        fail(str(exc))
    bundle = root / str(result.edition)
    console.print((bundle / "table1.md").read_text(encoding="utf-8"), highlight=False)
    console.print(f"edition {result.edition}: {len(result.files)} files in {bundle} (report.html, report.xlsx, report.md, "
                  f"CSV, charts/, gexf/); new snapshots: {result.snapshots_new}", highlight=False)
    if compare is not None:
        assert result.stats is not None
        files, compared, flags = write_comparison(compare, result.stats.figures, bundle)
        differing = sum(1 for r in compared.rows if r[4] not in (None, 0))
        console.print(f"compared with {compare}: {len(compared.rows)} figures, {differing} differ; "
                      f"{len(flags.rows)} internal inconsistencies:", highlight=False)
        for side, path, message in flags.rows:
            console.print(f"  [{side}] {path}: {message}", highlight=False, markup=False)
        console.print(f"written: {', '.join(str(f) for f in files)}", highlight=False)


def index_cmd(
    edition: Annotated[int | None, typer.Option(help="Report edition (network of edition-1). Default: latest data "
                                                     "year + 1.")] = None,
    level: Annotated[Literal["province", "city", "all"], typer.Option(help="Regions ranked.")] = "province",
    weights: Annotated[Literal["entropy", "expert", "mix"] | None,
                       typer.Option(help="Weighting (default: analysis/data/index.yml).")] = None,
    normalisation: Annotated[Literal["minmax", "zscore"] | None, typer.Option(help="Default: index.yml.")] = None,
    imports: Annotated[Path | None, typer.Option(
        "--imports", metavar="DIR", exists=True, file_okay=False,
        help="Directory of imported indicators (CSV/XLSX; format in analysis/data/index_imports/README.md).")] = None,
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="Use the good import rows; write bad ones to "
                                                              "OUT/<edition>/index/rejects/.")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Output root (default: $AIMAP_OUT); files go to "
                                             "OUT/<edition>/index/.", file_okay=False)] = None,
    compare: Annotated[Path | None, typer.Option(
        "--compare", metavar="FIGURES.yaml", exists=True, dir_okay=False,
        help="Print the top 10 beside a published ranking (competitiveness_index of a figures file).")] = None,
    allow_partial: Annotated[bool, typer.Option(
        "--allow-partial", help="Rank for an edition the data cannot support in full (cut-off not passed, or no "
                                "event in its last year).")] = False,
) -> None:
    """The regional competitiveness index: six pillars, 24 indicators, provinces or cities, explained.

    Indicators, definitions and expert weights: analysis/data/index.yml; method: docs/index.md.
    Writes OUT/<edition>/index/: index_<level>_*.csv (ranking, values, normalised, weights,
    sensitivity, drivers, missing, imports, method), index_<level>.xlsx, index_<level>.md and
    charts/ (radar of pillar scores, bar chart of totals). Missing values are reported, never zero.
    """
    levels = ["province", "city"] if level == "all" else [level]
    root = out.resolve() if out else out_dir()
    prepared()
    params = {"edition": edition, "level": level, "weights": weights, "normalisation": normalisation,
              "imports": str(imports) if imports else None, "skip_bad": skip_bad, "out": str(root)}
    results = []
    try:
        with recorded_run("index", params) as (session, run):
            edition = edition or default_edition(session)
            for reason in check_edition(session, edition, allow_partial=allow_partial):
                err.print(tagged("warning:", "yellow", f"partial edition {edition}: {reason}"), highlight=False)
            target = root / str(edition) / "index"
            source = load_index_source(session, edition)
            for lv in levels:
                result = build_index(session, level=lv, weights=weights, normalisation=normalisation,
                                     imports=imports, skip_bad=skip_bad, rejects_dir=target / "rejects",
                                     source=source, progress=lambda m: err.print(f"index: {m}", highlight=False))
                files = write_index(result, target)
                results.append((result, files))
            first = results[0][0].imports
            if first is not None and first.errors:
                record_errors(session, first, run.id)
            run.counts = {r.level: len(r.regions) for r, _ in results}
    except IndexImportError as exc:
        fail(f"{exc}\nfix the rows or pass --skip-bad.")
    except ValueError as exc:  # IndexBuildError: bad parameters, too few regions
        fail(str(exc))
    figures = None
    if compare is not None:
        try:
            figures = load_figures(compare)
        except ValueError as exc:
            fail(str(exc))
    for result, files in results:
        _print_index(result, files, figures)


def _print_index(result: IndexResult, files: list[Path], figures: dict | None) -> None:
    """Print one level's ranking (top 10 with pillar scores and coverage), its sensitivity, warnings
    and, given a published figures file, the comparison with the published ranking."""
    imp = result.imports
    if imp is not None:
        console.print(f"imports {imp.directory}: {len(imp.files)} files, {len(imp.values)} values read, "
                      f"{len(result.used_imports)} used" + (f", {len({(f, e.row) for f, e in imp.errors})} bad rows "
                                                             f"skipped ({', '.join(map(str, imp.rejects))})"
                                                             if imp.errors else ""), highlight=False)
    table = Table("rank", result.level, "total", *[p.name[:2] for p in result.tree.pillars], "cov%", box=None,
                  title=f"{result.edition} {result.level} index ({result.scheme}, {result.normalisation}); "
                        f"pillars {'、'.join(p.name for p in result.tree.pillars)}")
    cover = (~np.isnan(result.raw) * result.weights).sum(axis=1) * 100
    for rank, i in enumerate(result.order[:10], 1):
        table.add_row(str(rank), result.regions.names[i], f"{result.scores.total[i] * result.scale:.2f}",
                      *[f"{result.scores.pillars[i, p] * result.scale:.2f}" for p in range(len(result.tree.pillars))],
                      f"{cover[i]:.0f}")
    console.print(table)
    s = result.sensitivity
    console.print(f"{len(result.regions)} {result.level} regions ranked, {len(result.missing)} missing values "
                  f"(re-weighted, see index_{result.level}_missing.csv); sensitivity: Spearman mean "
                  f"{s.rho.mean():.3f}, min {s.rho.min():.3f} over {s.draws} weight draws", highlight=False)
    for warning in result.warnings:
        err.print(tagged("warning:", "yellow", f"{warning}"), highlight=False)
    if figures is not None:
        published = published_ranking(figures, result.level)
        if published:
            c = compare_published(result, published)
            console.print(f"published {result.level} ranking: "
                          + "、".join(f"{n} (aimap {c.our_rank[n] or '-'})" for n in published)
                          + f"; Spearman over the regions both top lists name {c.rho_common:.3f} "
                          f"(n = {len(c.common)}), over the published regions {c.rho_published:.3f}",
                          highlight=False)
    console.print(f"written: {len(files)} files in {files[0].parent}", highlight=False)
