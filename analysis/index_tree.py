"""The indicator tree of the regional competitiveness index (``analysis/data/index.yml``), validated.

Six pillars (一级指标) of groups (二级指标) of third-level indicators, each with its definition,
unit, direction (``higher`` / ``lower`` is better), source (``computed`` from the database by
:mod:`analysis.index_data`, or ``imported`` from files read by :mod:`analysis.index_imports`) and
local expert weight; plus the method defaults and parameters. :func:`load_tree` reads and checks it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from analysis.index_data import COMPUTED
from analysis.index_imports import ImportableIndicator
from common.datafiles import read_yaml

DATA_DIR = Path(__file__).resolve().parent / "data"
TREE_FILE = DATA_DIR / "index.yml"
IMPORTS_DIR = DATA_DIR / "index_imports"
NORMALISATIONS = ("minmax", "zscore")
WEIGHTINGS = ("entropy", "expert", "mix")
DIRECTIONS = ("higher", "lower")
SOURCES = ("computed", "imported")


class IndexBuildError(ValueError):
    """The index cannot be built (no data, too few regions, a bad parameter); the message says why."""



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
