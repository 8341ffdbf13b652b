"""An edition's results as data: the yearly networks with their statistics, and every table.

:func:`analysis.stats.compute_edition` fills an :class:`EditionStats`; the table builders
(:mod:`analysis.tables`), the figures export (:mod:`analysis.figures`) and the bundle writer
(:mod:`analysis.report`) read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from analysis.metrics import NetStats
from analysis.network import NetworkCounts, YearEdges
from analysis.presentation import Table


class ReportError(ValueError):
    """The edition cannot be computed (no data, bad parameters); the message says why."""


@dataclass
class YearResult:
    """One yearly network: its edges, Table 1 counts, Gephi statistics and data version."""

    edges: YearEdges
    counts: NetworkCounts
    stats: NetStats
    version: str


@dataclass
class EditionStats:
    """Every table and figure of an edition, plus the networks behind them."""

    edition: int
    years: list[int]
    window: int | None
    mutual: str
    networks: dict[int, YearResult]
    tables: dict[str, Table]
    figures: dict[str, Any]  # the published-figures format (see analysis.compare)
    hubs: list[int]  # organisation ids of the nodes of Tables 2 and 3
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage

    @property
    def latest(self) -> YearResult:
        """The network of year edition - 1."""
        return self.networks[self.years[-1]]
