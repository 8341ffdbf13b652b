"""The report's parameters: bucket edges and display settings (``analysis/data/buckets.yml``).

:func:`load_spec` reads and validates the file into a :class:`ReportSpec`; a distribution figure's
buckets are :class:`Bucket` objects whose inclusive / exclusive edges are spelled out in the file
(``min`` / ``above`` / ``max`` / ``below``) and checked to partition the line
(:func:`validate_partition`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from common.datafiles import read_yaml

SPEC_FILE = Path(__file__).resolve().parent / "data" / "buckets.yml"


@dataclass(frozen=True)
class Bucket:
    """One bucket of a distribution figure.

    A value x is in the bucket when it satisfies the lower bound (``x >= lo`` if
    ``lo_inclusive`` else ``x > lo``; no bound when ``lo`` is None) and the upper bound
    (``x <= hi`` if ``hi_inclusive`` else ``x < hi``; none when ``hi`` is None). In
    ``buckets.yml``: ``min`` = inclusive lower, ``above`` = exclusive lower, ``max`` = inclusive
    upper, ``below`` = exclusive upper.
    """

    label: str
    lo: float | None
    lo_inclusive: bool
    hi: float | None
    hi_inclusive: bool

    def contains(self, x: float) -> bool:
        """Whether ``x`` falls in this bucket."""
        if self.lo is not None and (x < self.lo or (x == self.lo and not self.lo_inclusive)):
            return False
        return not (self.hi is not None and (x > self.hi or (x == self.hi and not self.hi_inclusive)))


@dataclass(frozen=True)
class ReportSpec:
    """The parameters in ``analysis/data/buckets.yml`` (validated by :func:`load_spec`)."""

    version: str
    buckets: dict[str, tuple[Bucket, ...]]
    units: dict[str, float]
    founding_span: tuple[int, int]
    top: dict[str, float]
    core_provinces: tuple[str, ...]
    drawing: dict[str, int]


def _bucket(entry: Mapping[str, Any], where: str) -> Bucket:
    unknown = set(entry) - {"label", "min", "above", "max", "below"}
    if unknown or "label" not in entry:
        raise ValueError(f"{where}: a bucket needs a label and min/above/max/below bounds, got {dict(entry)}")
    if "min" in entry and "above" in entry or "max" in entry and "below" in entry:
        raise ValueError(f"{where}: bucket {entry['label']!r} has two lower or two upper bounds")
    lo = entry.get("min", entry.get("above"))
    hi = entry.get("max", entry.get("below"))
    return Bucket(str(entry["label"]), None if lo is None else float(lo), "min" in entry,
                  None if hi is None else float(hi), "max" in entry)


def validate_partition(buckets: Sequence[Bucket], where: str) -> None:
    """Check that ``buckets`` cover the line from their first lower to their last upper bound
    exactly once: consecutive buckets share a bound that exactly one of them includes."""
    if not buckets:
        raise ValueError(f"{where}: no buckets")
    for a, b in zip(buckets, buckets[1:], strict=False):
        if a.hi is None or b.lo is None or a.hi != b.lo:
            raise ValueError(f"{where}: buckets {a.label!r} and {b.label!r} leave a gap or overlap")
        if a.hi_inclusive == b.lo_inclusive:
            raise ValueError(f"{where}: the bound {a.hi:g} between {a.label!r} and {b.label!r} must be "
                             "inclusive on exactly one side")


@lru_cache(maxsize=4)
def load_spec(path: Path = SPEC_FILE) -> ReportSpec:
    """Read and validate the bucket edges and display parameters (``analysis/data/buckets.yml``)."""
    raw = read_yaml(Path(path))
    buckets = {}
    for name, entries in raw["buckets"].items():
        bs = tuple(_bucket(e, f"{path}: buckets.{name}") for e in entries)
        validate_partition(bs, f"{path}: buckets.{name}")
        buckets[name] = bs
    span = raw["founding"]["span"]
    return ReportSpec(
        version=str(raw["version"]),
        buckets=buckets,
        units={k: float(v) for k, v in raw["units"].items()},
        founding_span=(int(span[0]), int(span[1])),
        top=dict(raw["top"]),
        core_provinces=tuple(raw["core_provinces"]),
        drawing={k: int(v) for k, v in raw["network_drawing"].items()},
    )
