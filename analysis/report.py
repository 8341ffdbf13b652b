"""The report bundle: Table 1 (value-network structure per year) as CSV and Markdown.

Table 1 of the 2024 report lists, for each year 2014-2023, the sample nodes, relation nodes,
nodes and edges of the cumulative value network (and Gephi's statistics, added by the analysis
issue). Each computed network is also stored as a ``network_snapshots`` row, keyed by the hash
of its edge list so recomputing unchanged data adds nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analysis.network import NetworkCounts, count, data_version, load_events, sample_ids, yearly_network
from db.models import CooperationEvent, NetworkSnapshot

TABLE1_COLUMNS = ["year", "sample_nodes", "relation_nodes", "nodes", "edges", "avg_degree"]
TABLE1_HEADERS_ZH = ["年份", "样本节点数", "关系节点数", "节点数", "边数", "平均度"]


@dataclass
class ReportResult:
    """What :func:`build_report` wrote."""

    edition: int
    rows: list[NetworkCounts]
    files: list[Path]
    snapshots_new: int


def edition_years(session: Session, edition: int, first_year: int | None = None) -> list[int]:
    """Years of an edition's Table 1: from the first event year (or ``first_year``) to edition - 1.

    The 2024 edition covers data up to 31 December 2023.
    """
    last = edition - 1
    first = first_year or session.scalar(select(func.min(CooperationEvent.year))) or last
    return list(range(min(first, last), last + 1))


def table1(
    session: Session, years: list[int], *, window: int | None = None, mutual: str = "reporter"
) -> tuple[list[NetworkCounts], list[tuple[NetworkCounts, str]]]:
    """Table 1 rows for ``years`` and, per row, the data version of its network."""
    events = load_events(session)
    samples = sample_ids(session)
    rows, versions = [], []
    for year in years:
        graph = yearly_network(events, year, window=window, mutual=mutual)
        counts = count(graph, year, samples)
        rows.append(counts)
        versions.append((counts, data_version(graph)))
    return rows, versions


def store_snapshots(
    session: Session,
    versions: list[tuple[NetworkCounts, str]],
    *,
    edition: int,
    window: int | None,
    run_id: int | None = None,
) -> int:
    """Record one snapshot per (year, window, data version) not stored yet; return how many."""
    new = 0
    for counts, version in versions:
        exists = session.scalars(
            select(NetworkSnapshot.id).where(
                NetworkSnapshot.year == counts.year,
                NetworkSnapshot.window_years.is_(None) if window is None else NetworkSnapshot.window_years == window,
                NetworkSnapshot.data_version == version,
            )
        ).first()
        if exists:
            continue
        session.add(
            NetworkSnapshot(
                edition=edition,
                year=counts.year,
                window_years=window,
                data_version=version,
                sample_nodes=counts.sample_nodes,
                relation_nodes=counts.relation_nodes,
                nodes=counts.nodes,
                edges=counts.edges,
                metrics={"avg_degree": counts.avg_degree},
                run_id=run_id,
            )
        )
        new += 1
    session.flush()
    return new


def _fmt(value: float) -> str:
    """Three decimals, rounded half-even as Gephi displays them."""
    from decimal import ROUND_HALF_EVEN, Decimal

    return str(Decimal(repr(value)).quantize(Decimal("0.001"), rounding=ROUND_HALF_EVEN))


def write_table1(rows: list[NetworkCounts], directory: Path, *, edition: int, note: str = "") -> list[Path]:
    """Write ``table1.csv`` (UTF-8 with BOM so Excel opens it) and ``table1.md`` to ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    csv_path = directory / "table1.csv"
    with csv_path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(TABLE1_COLUMNS)
        for r in rows:
            writer.writerow([r.year, r.sample_nodes, r.relation_nodes, r.nodes, r.edges, _fmt(r.avg_degree)])
    md_path = directory / "table1.md"
    lines = [
        f"# 表1 价值网络结构统计指标 — Table 1, edition {edition}",
        "",
        "Cumulative directed value network per year (edges = unique provider -> receiver pairs;",
        "average degree = edges / nodes, Gephi 0.9.2 convention).",
        "",
        "| " + " | ".join(f"{zh} ({en})" for zh, en in zip(TABLE1_HEADERS_ZH, TABLE1_COLUMNS, strict=True)) + " |",
        "|" + "---:|" * len(TABLE1_COLUMNS),
    ]
    for r in rows:
        cells = [r.year, r.sample_nodes, r.relation_nodes, r.nodes, r.edges, _fmt(r.avg_degree)]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    if note:
        lines += ["", note]
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [csv_path, md_path]


def build_report(
    session: Session,
    out_dir: Path,
    *,
    edition: int | None = None,
    window: int | None = None,
    mutual: str = "reporter",
    run_id: int | None = None,
) -> ReportResult:
    """Compute Table 1 for an edition, store snapshots, write the bundle to ``out_dir/<edition>/``.

    ``edition`` defaults to the year after the latest event year (the 2024 edition reports
    data up to 2023).
    """
    if edition is None:
        latest = session.scalar(select(func.max(CooperationEvent.year)))
        edition = (latest or dt.date.today().year - 1) + 1
    years = edition_years(session, edition)
    rows, versions = table1(session, years, window=window, mutual=mutual)
    new = store_snapshots(session, versions, edition=edition, window=window, run_id=run_id)
    note = f"Computed by aimap from {sum(1 for _ in versions)} yearly networks; mutual-event rule: {mutual}."
    if window:
        note += f" Rolling window of {window} years."
    files = write_table1(rows, out_dir / str(edition), edition=edition, note=note)
    return ReportResult(edition=edition, rows=rows, files=files, snapshots_new=new)
