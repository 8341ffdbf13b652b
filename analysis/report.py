"""The report bundle of an edition: every table and figure of the report, rebuilt from the database.

:func:`build_report` loads what it needs in a few bulk queries (:func:`analysis.loaders.load_report_data`),
builds the yearly networks (2014 .. edition-1) and every table and figure
(:func:`analysis.stats.compute_edition`), records each yearly network as a ``network_snapshots``
row with its Gephi statistics in ``metrics`` (keyed by the hash of its edge list, so recomputing
unchanged data adds nothing), and writes ``<out>/<edition>/``:

- ``report.md``, ``report.html`` (self-contained), ``report.xlsx`` (a front-page sheet, linked
  contents, a sheet per table named 图N / 表N) — :mod:`analysis.document`;
- ``front_page.json``: the front page as data (:mod:`analysis.frontpage`);
- every table as ``<key>.csv`` (``table1.csv`` = Table 1; UTF-8 with BOM) and ``table1.md``;
- ``charts/<key>.png`` and ``.svg`` for every figure, ``charts/fig13_network_hires.png`` (300 dpi);
- ``gexf/network_<year>.gexf`` for every year and ``gexf/fig13_network.gexf`` (Gephi) —
  :mod:`analysis.network_files`;
- ``nodes.csv``, ``edges.csv`` (with each edge's evidence), ``network.xlsx``, ``firms.csv``,
  ``figures.yaml`` (the edition as data, for ``aimap analyze --compare`` and ``--diff``).

The bundle is written to a directory beside ``<out>/<edition>`` and moved into place when complete
(:mod:`analysis.staging`): a reader, or a run killed half-way, never leaves half an edition; the
previous edition stays until the new one is complete. Rows of the node, edge and firm lists follow
an order independent of database ids (:attr:`analysis.loaders.OrgTable.rank`).

Running it twice on the same data writes the same files and adds no snapshot. Definitions of
every statistic: :mod:`analysis.network`, :mod:`analysis.metrics`, :mod:`analysis.measures`,
:mod:`analysis.tables`.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analysis.bundle import markdown_table, write_csv
from analysis.charts import render_chart
from analysis.document import ReportDocument, write_report_html, write_report_markdown, write_report_xlsx
from analysis.edition import EditionStats, ReportError
from analysis.evidence import edge_evidence, evidence_index
from analysis.figures import dump_figures
from analysis.frontpage import front_page, front_page_lines
from analysis.loaders import EventEvidence, ReportData, check_edition, edition_years, load_report_data
from analysis.narrative import methods, sections
from analysis.network import NetworkCounts
from analysis.network_files import NodeInfo, write_drawing_gexf, write_firms, write_gexf, write_network_lists
from analysis.presentation import Table
from analysis.publish import FRONT_PAGE
from analysis.staging import staged_directory
from analysis.stats import compute_edition
from db.models import CooperationEvent, NetworkSnapshot

__all__ = ["TABLE1_COLUMNS", "ReportError", "ReportResult", "build_report", "edition_years", "store_snapshots",
           "write_bundle"]

#: Columns of ``table1.csv`` (the first six are the historical Table 1 columns).
TABLE1_COLUMNS = ["year", "sample_nodes", "relation_nodes", "nodes", "edges", "avg_degree", "diameter",
                  "avg_path_length", "avg_clustering"]
METRIC_KEYS = ("avg_degree", "diameter", "avg_path_length", "avg_clustering")

Progress = Callable[[str], None]


@dataclass
class ReportResult:
    """What :func:`build_report` computed and wrote."""

    edition: int
    rows: list[NetworkCounts]
    files: list[Path]
    snapshots_new: int
    stats: EditionStats | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def directory(self) -> Path | None:
        """The bundle directory."""
        return self.files[0].parent if self.files else None


def store_snapshots(
    session: Session,
    stats: EditionStats,
    *,
    run_id: int | None = None,
) -> int:
    """One ``network_snapshots`` row per (year, window, data version); return how many are new.

    ``metrics`` holds the network's statistics (avg_degree, diameter, avg_path_length,
    avg_clustering at full precision). A snapshot that exists already is not duplicated; its
    metrics are filled in if it was recorded without them.
    """
    window = stats.window
    existing = {
        (s.year, s.data_version): s
        for s in session.scalars(
            select(NetworkSnapshot).where(
                NetworkSnapshot.year.in_(stats.years),
                NetworkSnapshot.window_years.is_(None) if window is None else NetworkSnapshot.window_years == window,
            )
        )
    }
    new = 0
    for year in stats.years:
        net = stats.networks[year]
        metrics = {k: float(v) if k != "diameter" else int(v) for k, v in net.stats.as_dict().items()
                   if k in METRIC_KEYS}
        found = existing.get((year, net.version))
        if found is not None:
            if found.metrics != metrics:
                found.metrics = metrics
            continue
        c = net.counts
        session.add(NetworkSnapshot(
            edition=stats.edition, year=year, window_years=window, data_version=net.version,
            sample_nodes=c.sample_nodes, relation_nodes=c.relation_nodes, nodes=c.nodes, edges=c.edges,
            metrics=metrics, run_id=run_id))
        new += 1
    session.flush()
    return new


def _intro(stats: EditionStats, data: ReportData) -> list[str]:
    last = stats.edition - 1
    scope = f"rolling {stats.window}-year window" if stats.window else "cumulative"
    scope_zh = f"滚动 {stats.window} 年窗口" if stats.window else "累计网络"
    return [
        f"由 aimap 从数据库重建：{len(data.events)} 个合作事件，{int(data.orgs.is_sample.sum())} 家样本企业；"
        f"数据截至 {last}-12-31；网络 {stats.years[0]}-{last} 年（{scope_zh}；对等合作按规则“{stats.mutual}”定向）。\n"
        f"Rebuilt by aimap from its database: {len(data.events)} cooperation events, "
        f"{int(data.orgs.is_sample.sum())} sample firms; data up to {last}-12-31; networks {stats.years[0]}-{last} "
        f"({scope}; mutual agreements oriented by rule '{stats.mutual}').",
    ]


def write_table1_md(table: Table, directory: Path, note: str) -> Path:
    """``table1.md``: Table 1 alone (what the demo flow shows operators)."""
    path = directory / "table1.md"
    notes = [line for n in table.notes for line in n.split("\n")]
    lines = [f"# {table.title}", "", table.title_en, "", *markdown_table(table), "", *notes, "", *note.split("\n")]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _network_files(stats: EditionStats, data: ReportData, directory: Path,
                   when: tuple[int, int, int]) -> list[Path]:
    """GEXF per year (with each edge's evidence), Fig. 13's GEXF, node/edge lists, network.xlsx, firms.csv."""
    info = NodeInfo(data.orgs, data.taxonomy)
    evidence = data.evidence or EventEvidence.empty(len(data.events))
    (directory / "gexf").mkdir(exist_ok=True)
    files = []
    scope = f"window {stats.window}" if stats.window else "cumulative"
    index = evidence_index(data.events, evidence, data.taxonomy, data.tech_pairs, data.domain_pairs)
    for year in stats.years:
        net = stats.networks[year]
        rows = edge_evidence(net.edges, index)
        files.append(write_gexf(net.edges, data.events, info, directory / "gexf" / f"network_{year}.gexf",
                                description=f"aimap value network {year} (edition {stats.edition}, {scope}, "
                                            f"mutual rule {stats.mutual})", evidence=rows))
    files.append(write_drawing_gexf(stats.tables["fig13_network"], info, directory / "gexf" / "fig13_network.gexf",
                                    description=f"Fig. 13 of edition {stats.edition}: the drawn part of the network "
                                                f"of {stats.years[-1]} with the printed ForceAtlas2 layout"))
    files += write_network_lists(stats.latest.edges, data.events, info, directory, rows, when=when)
    files.append(write_firms(info, directory))
    return files


def write_bundle(stats: EditionStats, data: ReportData, directory: Path, *, charts: bool = True,
                 progress: Progress | None = None, front: dict[str, Any] | None = None) -> tuple[list[Path], dict[str, float]]:
    """Write every file of the bundle to ``directory``; return the files and seconds per stage.

    Order: tables as CSV, charts, network files, figures.yaml and front_page.json, then the
    documents (report.html / .md / .xlsx), which link to the files written before them.
    """
    say = progress or (lambda _msg: None)
    directory.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    tables = list(stats.tables.values())
    title = f"中国新一代人工智能科技产业发展报告·{stats.edition}（aimap 重建）"
    intro = _intro(stats, data)
    last = stats.edition - 1
    when = (last, 12, 31)
    front = front or {"edition": stats.edition, "data_cutoff": f"{last}-12-31"}

    started = time.perf_counter()
    files = [write_csv(t, directory) for t in tables]
    files.append(write_table1_md(stats.tables["table1"], directory, intro[0]))
    timings["csv"] = time.perf_counter() - started

    images: dict[str, Path] = {}
    if charts:
        started = time.perf_counter()
        for t in tables:
            drawn = render_chart(t, directory / "charts")
            if drawn:
                images[t.key] = drawn[0]
                files += drawn
        timings["charts"] = time.perf_counter() - started
        say(f"charts: {len(images)} figures as PNG and SVG in {timings['charts']:.1f} s")

    started = time.perf_counter()
    files += _network_files(stats, data, directory, when)
    figures = directory / "figures.yaml"
    dump_figures(stats.figures, figures)
    files.append(figures)
    front_file = directory / FRONT_PAGE
    front_file.write_text(json.dumps(front, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    files.append(front_file)
    timings["gexf_and_lists"] = time.perf_counter() - started
    say(f"GEXF for {len(stats.years)} years, node/edge lists, figures.yaml in {timings['gexf_and_lists']:.1f} s")

    started = time.perf_counter()
    rows = front_page_lines(front) if "gate" in front else [("版次 (edition)", str(stats.edition))]
    doc = ReportDocument(title, front, rows, sections(stats), methods(stats))
    files.append(write_report_xlsx(doc, directory / "report.xlsx", when=when))
    files.append(write_report_markdown(doc, directory / "report.md", {k: f"charts/{p.name}" for k, p in images.items()}))
    files.append(write_report_html(doc, directory / "report.html", images))
    timings["documents"] = time.perf_counter() - started
    say(f"report.md, report.html, report.xlsx written in {timings['documents']:.1f} s")
    return files, timings


def build_report(
    session: Session,
    out_dir: Path,
    *,
    edition: int | None = None,
    window: int | None = None,
    mutual: str = "reporter",
    run_id: int | None = None,
    first_year: int | None = None,
    charts: bool = True,
    progress: Progress | None = None,
    allow_partial: bool = False,
    today: dt.date | None = None,
) -> ReportResult:
    """Compute every table and figure of an edition, store snapshots, write the bundle to ``out_dir/<edition>/``
    (written beside it and moved into place when complete, see :mod:`analysis.staging`).

    ``edition`` defaults to the year after the latest event year (the 2024 edition reports
    data up to 2023). Raises :class:`~analysis.edition.ReportError` (a ``ValueError``) when the
    edition has no data or a parameter is invalid, and when the data cannot support it in full
    (:func:`~analysis.loaders.edition_shortfalls`: cut-off not passed, no event in its last year)
    unless ``allow_partial`` — the front page then says why the edition is partial.
    """
    say = progress or (lambda _msg: None)
    if window is not None and window < 1:
        raise ReportError(f"--window must be at least 1 year, got {window}")
    if edition is None:
        latest = session.scalar(select(func.max(CooperationEvent.year)))
        edition = (latest or dt.date.today().year - 1) + 1
    years = edition_years(session, edition, first_year)
    partial = check_edition(session, edition, allow_partial=allow_partial, today=today)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    data = load_report_data(session, edition)
    timings["load"] = time.perf_counter() - started
    say(f"edition {edition}: loaded {len(data.events)} events, {data.orgs.ids.size} organisations "
        f"in {timings['load']:.1f} s; networks {years[0]}-{years[-1]}")
    stats = compute_edition(data, edition, years, window=window, mutual=mutual, progress=say)
    timings.update(stats.timings)
    front = front_page(session, stats, data, partial=partial)
    started = time.perf_counter()
    new = store_snapshots(session, stats, run_id=run_id)
    timings["snapshots"] = time.perf_counter() - started
    target = Path(out_dir) / str(edition)
    with staged_directory(target) as staging:
        written, write_timings = write_bundle(stats, data, staging, charts=charts, progress=say, front=front)
    files = [target / f.relative_to(staging) for f in written]
    timings.update(write_timings)
    rows = [stats.networks[y].counts for y in years]
    return ReportResult(edition=edition, rows=rows, files=files, snapshots_new=new, stats=stats, timings=timings)
