"""The extractor's measured quality, carried from the benchmark into the database.

``benchmarks/bench_etl.py --record-quality`` scores the extractor on the frozen test part of the
real-text corpus (:mod:`etl.corpus`) and writes ``etl/data/extractor-quality.json``: the extractor
version it measured, the date, the corpus and the figures (relation P/R/F1 over all and over
``new`` relations, direction accuracy, is_cooperation accuracy, category and domain micro-F1), for
the extractor and for the rules alone. Every ETL run records its extractor version in
``extractor_versions`` with those figures when they were measured with that same version, and
with none ("not measured") otherwise, so a published edition states the measured error of the
extractor that built it, and never another version's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import ExtractorVersion
from etl.lexicon import EXTRACTOR_VERSION

QUALITY_FILE = Path(__file__).resolve().parent / "data" / "extractor-quality.json"


def measured_quality(version: str = EXTRACTOR_VERSION, path: Path | None = None) -> dict[str, Any] | None:
    """The figures measured for ``version`` (the file's content; default :data:`QUALITY_FILE`), or
    None when the file is absent, unreadable or was measured with another version."""
    try:
        data = json.loads((path or QUALITY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("extractor_version") == version else None


def record_extractor_version(session: Session, version: str = EXTRACTOR_VERSION) -> ExtractorVersion:
    """Insert or refresh this version's row in ``extractor_versions`` (idempotent).

    The insert runs in a savepoint: when a concurrent ETL run inserted the same version first, the
    primary-key conflict is absorbed and that row is used, so the run's own transaction goes on.
    """
    quality = measured_quality(version)
    row = session.get(ExtractorVersion, version)
    if row is None:
        try:
            with session.begin_nested():
                row = ExtractorVersion(version=version, quality=quality)
                session.add(row)
        except IntegrityError:
            row = session.get(ExtractorVersion, version, populate_existing=True)
            if row is None:  # pragma: no cover - the conflicting row vanished again
                raise
    if quality is not None and row.quality != quality:
        row.quality = quality
    return row


def write_quality(figures: dict[str, Any], path: Path | None = None) -> None:
    """Write the benchmark's figures (with ``extractor_version``) to ``path`` (default
    :data:`QUALITY_FILE`; JSON, sorted keys)."""
    (path or QUALITY_FILE).write_text(json.dumps(figures, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
