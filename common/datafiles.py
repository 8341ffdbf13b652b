"""Reading the project's versioned YAML data files (taxonomies, lexicons, settings), and where the
shared ones live (:func:`common_data_path`: ``common/data/``).

One reader for every stage, using libyaml's C loader when PyYAML has it: the ETL reads
several megabyte-sized lexicons and tables at start-up, and the pure-Python loader made that a
noticeable part of a small run. Same safe subset of YAML either way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: Data files shared by more than one layer (e.g. the published figures of a report edition).
COMMON_DATA_DIR = Path(__file__).resolve().parent / "data"


def read_yaml(path: Path | str) -> Any:
    """The YAML document in the UTF-8 file ``path`` (safe loader: plain data only)."""
    return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506 — a safe loader


def common_data_path(name: str) -> Path:
    """Path of the shared data file ``name`` in ``common/data/`` (e.g. ``report-2024-figures.yaml``)."""
    return COMMON_DATA_DIR / name
