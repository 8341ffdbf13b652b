"""A table or figure of the report as data, and the helpers every table builder shares.

A :class:`Table` has machine column names, Chinese headers, rows of plain values, notes that
state the population and what was excluded, and a :class:`Chart` spec that :mod:`analysis.charts`
draws; :mod:`analysis.bundle` writes tables as CSV, XLSX, Markdown and HTML. Shares are
percentages (:func:`pct`); every ranking follows one tie rule (:func:`rank_order`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from analysis.spec import Bucket


@dataclass(frozen=True)
class Column:
    """A table column: machine ``name`` (CSV header), display ``header`` and ``fmt``.

    ``fmt``: ``int``, ``str``, ``gephi`` (3 decimals half-even, as Gephi shows statistics),
    ``pct`` (a percentage, 2 decimals), ``float`` (4 significant decimals).
    """

    name: str
    header: str
    fmt: str = "str"


@dataclass(frozen=True)
class Chart:
    """What :mod:`analysis.charts` draws for a table.

    ``kind``: ``bar`` / ``barh`` (one series ``y[0]`` over labels ``x``), ``pie``, ``line``
    (several series ``y`` over ``x``), ``loglog`` (Fig. 14), ``network`` (Fig. 13).
    ``limit`` keeps the first rows only; ``payload`` carries extra data (fit, drawing).
    """

    kind: str
    x: str
    y: tuple[str, ...]
    ylabel: str = ""
    limit: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class Table:
    """One table or figure of the report as data."""

    key: str
    title: str
    title_en: str
    columns: list[Column]
    rows: list[list[Any]]
    notes: list[str] = field(default_factory=list)
    chart: Chart | None = None

    def column(self, name: str) -> list[Any]:
        """The values of column ``name``."""
        i = [c.name for c in self.columns].index(name)
        return [r[i] for r in self.rows]

    def records(self) -> list[dict[str, Any]]:
        """Rows as dicts keyed by column name."""
        names = [c.name for c in self.columns]
        return [dict(zip(names, r, strict=True)) for r in self.rows]


def pct(part: float, whole: float) -> float:
    """``100 * part / whole`` (0.0 when ``whole`` is 0)."""
    return 100.0 * part / whole if whole else 0.0


def rank_order(labels: Sequence[str], counts: Sequence[float], ids: Sequence[Any] | None = None) -> list[int]:
    """Indices sorted by count descending, then label ascending, then id: the tie rule of every ranking."""
    ids = ids if ids is not None else range(len(labels))
    return sorted(range(len(labels)), key=lambda i: (-counts[i], labels[i], ids[i]))


def share_rows(counts: Mapping[str, int], *, order: Sequence[str] | None = None,
               total: int | None = None) -> list[list[Any]]:
    """``[label, count, share %]`` rows: share of ``total`` (default: the sum of counts).

    Rows follow ``order`` when given (labels missing from ``counts`` get 0), otherwise the tie
    rule of :func:`rank_order` (count descending, then label).
    """
    whole = sum(counts.values()) if total is None else total
    labels = list(order) if order is not None else [
        list(counts)[i] for i in rank_order(list(counts), list(counts.values()))
    ]
    return [[label, counts.get(label, 0), pct(counts.get(label, 0), whole)] for label in labels]


def bucket_counts(values: Iterable[float], buckets: Sequence[Bucket]) -> tuple[list[int], int]:
    """Number of ``values`` in each bucket (see :class:`Bucket` for the edge rule) and how many fell in none."""
    counts = [0] * len(buckets)
    outside = 0
    for v in values:
        for i, b in enumerate(buckets):
            if b.contains(v):
                counts[i] += 1
                break
        else:
            outside += 1
    return counts, outside


def bucket_table(key: str, title: str, title_en: str, values: Sequence[float], buckets: Sequence[Bucket],
                 population: str, unit: str, population_zh: str = "") -> Table:
    """A distribution figure: share of ``values`` per bucket; the population is the values given.

    Notes are Chinese first, the English beside it after a line break (every note of the report).
    """
    population_zh = population_zh or population
    counts, outside = bucket_counts(values, buckets)
    n = sum(counts)
    notes = [f"统计对象：{population_zh}（N = {n}）；区间边界见附录“方法说明”（单位：{unit}）。\n"
             f"Population: {population} (N = {n}). Bucket edges from analysis/data/buckets.yml ({unit})."]
    if outside:
        notes.append(f"另有 {outside} 个取值不在任何区间内（如负值），不计入。\n"
                     f"{outside} values outside every bucket (e.g. negative) are not counted.")
    return Table(key, title, title_en,
                 [Column("bucket", "区间 (bucket)"), Column("firms", "企业数 (firms)", "int"),
                  Column("share", "占比% (share)", "pct")],
                 [[b.label, c, pct(c, n)] for b, c in zip(buckets, counts, strict=True)], notes,
                 Chart("bar", "bucket", ("share",), "占比 (%)"))
