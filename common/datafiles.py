"""Reading the project's versioned YAML data files (taxonomies, lexicons, settings).

One reader for every stage, using libyaml's C loader when PyYAML has it: the ETL reads
several megabyte-sized lexicons and tables at start-up, and the pure-Python loader made that a
noticeable part of a small run. Same safe subset of YAML either way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path | str) -> Any:
    """The YAML document in the UTF-8 file ``path`` (safe loader: plain data only)."""
    return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506 — a safe loader
