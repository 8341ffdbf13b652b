"""Compute an edition: its yearly networks, every table and figure of the report, its figures file.

Every table and figure of the report (中国新一代人工智能科技产业发展报告, edition E; data up to
31 December of E-1) becomes a :class:`~analysis.presentation.Table`. :func:`compute_edition`
runs the stages, each in its own module:

- **loading** — :mod:`analysis.loaders` (events, organisations, taxonomies, sample firms; a few
  bulk queries);
- **networks** — :mod:`analysis.network` (cumulative yearly networks, unique pairs, mutual rule);
  Table 1's statistics — :mod:`analysis.metrics` (Gephi 0.9.2 conventions);
- **statistics** — :mod:`analysis.measures` (each definition in its function's docstring);
- **tables** — :mod:`analysis.tables` (one builder per group of tables and figures), with the
  bucket edges and display parameters of :mod:`analysis.spec`;
- **presentation** — :mod:`analysis.presentation` (tables as data), drawn by
  :mod:`analysis.charts`, written by :mod:`analysis.bundle`, exported in the published-figures
  format by :mod:`analysis.figures` and put beside a published edition by :mod:`analysis.compare`.

Definitions that hold across the tables:

- **Cooperation relation** (技术合作关系) — an edge of the network of a year: one unique ordered
  pair provider -> receiver. Shares by sector, industry and province (Figs. 17-20, Tables 6/7)
  count edges. **Technology categories and application domains** (Figs. 15/16) are attributes of
  events, so those shares count (event, category) assignments of the events of the edition's
  network (see :func:`analysis.measures.assignment_shares`).
- **Shares** are percentages of the stated population (0-100, full precision in the data,
  2 decimals when displayed). Ordering and **ties**: by count descending, then by name (Unicode
  code point order), then by id — the same rule for every top-k
  (:func:`analysis.presentation.rank_order`).
- **Sample firms** (Figs. 1-12) are the organisations with ``is_sample``; their attributes come
  from ``firm_attributes`` and, for listed firms, ``firm_financials`` of fiscal year E-2 (the
  2024 report uses 2022 figures: listed firms publish their accounts late).
- **Buckets** — edges in ``analysis/data/buckets.yml`` (see :class:`analysis.spec.Bucket` for the
  inclusive / exclusive rule).

References: the 2024 report, sections 一-三 (transcribed in ``common/data/report-2024-figures.yaml``);
GB/T 4754-2017 and 国家统计局《三次产业划分规定》(2018) for sectors; J. Alstott, E. Bullmore and
D. Plenz, "powerlaw: a Python package for analysis of heavy-tailed distributions", PLoS ONE 9(1),
2014 and A. Clauset, C. R. Shalizi and M. E. J. Newman, "Power-law distributions in empirical
data", SIAM Review 51(4), 2009 for Fig. 14.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from analysis.edition import EditionStats, ReportError, YearResult
from analysis.figures import figures_of
from analysis.loaders import ReportData
from analysis.measures import org_sectors, sector_shares
from analysis.metrics import compute_netstats
from analysis.network import count_edges, data_version_edges, yearly_edges
from analysis.presentation import Table, pct
from analysis.spec import ReportSpec, load_spec
from analysis.tables import (
    category_tables,
    data_quality_table,
    degree_tables,
    firm_tables,
    hub_tables,
    industry_tables,
    network_drawing_table,
    province_tables,
    table1,
)

Progress = Callable[[str], None]


def compute_edition(
    data: ReportData,
    edition: int,
    years: Sequence[int],
    *,
    window: int | None = None,
    mutual: str = "reporter",
    spec: ReportSpec | None = None,
    progress: Progress | None = None,
) -> EditionStats:
    """Compute every table and figure of ``edition`` for ``years`` (the last one is edition - 1)."""
    spec = spec or load_spec()
    say = progress or (lambda _msg: None)
    if not years or years[-1] != edition - 1:
        raise ReportError(f"years of edition {edition} must end with {edition - 1}, got {list(years)}")
    orgs, tax = data.orgs, data.taxonomy
    sector, section = org_sectors(orgs, tax)

    started = time.perf_counter()
    networks, sector_rows = yearly_networks(data, years, window=window, mutual=mutual, sector=sector, progress=say)
    latest = networks[years[-1]]
    timings = {"networks_table1": time.perf_counter() - started}
    started = time.perf_counter()
    tables: dict[str, Table] = {}

    tables["table1"] = table1(networks, years, window)
    node_tables, hubs = hub_tables(latest.edges, orgs, spec)
    tables.update(node_tables)
    tables.update(degree_tables(latest.edges, spec))
    tables.update(category_tables(data, latest.edges, tax))
    tables.update(industry_tables(latest.edges, orgs, tax, sector, section, sector_rows, spec))
    tables.update(province_tables(latest.edges, orgs, tax, spec))
    tables.update(firm_tables(data.firms, tax, spec))
    tables["fig13_network"] = network_drawing_table(latest.edges, orgs, spec)
    tables["table8_data_quality"] = data_quality_table(data)
    ordered = dict(sorted(tables.items(), key=lambda kv: _table_sort_key(kv[0])))
    result = EditionStats(edition, list(years), window, mutual, networks, ordered, {}, hubs, timings)
    result.figures = figures_of(result, spec, data)
    timings["statistics"] = time.perf_counter() - started
    say(f"statistics: {len(ordered)} tables and figures computed in {timings['statistics']:.1f} s")
    return result


def yearly_networks(
    data: ReportData,
    years: Sequence[int],
    *,
    window: int | None = None,
    mutual: str = "reporter",
    sector: np.ndarray | None = None,
    progress: Progress | None = None,
) -> tuple[dict[int, YearResult], list[list[Any]]]:
    """The network of every year with Table 1's counts and Gephi statistics (and its data version),
    and the rows of the receivers' sector shares per year (Fig. 17).

    This is the "networks + Table 1" stage of :func:`compute_edition` (its ``networks_table1``
    timing), and what ``benchmarks/bench_netstats.py --table1`` times. ``sector``: the sector of
    every organisation (:func:`analysis.measures.org_sectors`; computed when not given).
    """
    say = progress or (lambda _msg: None)
    orgs = data.orgs
    samples = orgs.ids[orgs.is_sample]
    if sector is None:
        sector, _ = org_sectors(orgs, data.taxonomy)
    networks: dict[int, YearResult] = {}
    sector_rows: list[list[Any]] = []
    for year in years:
        edges = yearly_edges(data.events, year, window=window, mutual=mutual)
        stats = compute_netstats(edges.source, edges.target, edges.n_nodes)
        networks[year] = YearResult(edges, count_edges(edges, samples), stats, data_version_edges(edges))
        counts, unknown = sector_shares(orgs.index(edges.receiver_ids()), sector)
        total = int(counts.sum())
        sector_rows.append([year, *[pct(int(c), total) for c in counts], total, unknown])
        say(f"network {year}: {edges.n_nodes} nodes, {edges.n_edges} edges, diameter {stats.diameter}")
    return networks, sector_rows


def _table_sort_key(key: str) -> tuple[int, int, str]:
    """Tables in the report's order: figures 1-12, table 1, fig 13/14, tables 2/3, figs 15-20, tables 6/7."""
    kind, number = key.split("_")[0][:3], int("".join(ch for ch in key.split("_")[0] if ch.isdigit()))
    position = {("fig", n): n for n in range(1, 13)} | {("tab", 1): 13, ("fig", 13): 14, ("fig", 14): 15,
                                                         ("tab", 2): 16, ("tab", 3): 17}
    position |= {("fig", n): n + 3 for n in range(15, 21)} | {("tab", 6): 24, ("tab", 7): 25}
    return position.get((kind, number), 99), number, key

