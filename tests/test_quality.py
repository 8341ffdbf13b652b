"""The extractor's measured quality travels from the benchmark's file into extractor_versions."""

from __future__ import annotations

import json

from db.models import ExtractorVersion
from etl import quality
from etl.lexicon import EXTRACTOR_VERSION


def test_the_shipped_figures_belong_to_this_extractor_version() -> None:
    """Re-run `benchmarks/bench_etl.py --realtext-only --record-quality` after changing the extractor."""
    data = quality.measured_quality()
    assert data is not None, f"etl/data/extractor-quality.json was not measured with {EXTRACTOR_VERSION}"
    assert {"relation F1 (new)", "direction accuracy", "is_cooperation accuracy"} <= set(data["figures"])


def test_an_etl_run_records_its_version_with_figures_only_when_they_are_its_own(session, tmp_path, monkeypatch):
    path = tmp_path / "q.json"
    path.write_text(json.dumps({"extractor_version": "pairs-1.0+000000000000", "figures": {"x": 1}}), encoding="utf-8")
    monkeypatch.setattr(quality, "QUALITY_FILE", path)
    quality.record_extractor_version(session, "pairs-1.0+000000000000")
    quality.record_extractor_version(session, "pairs-1.0+111111111111")
    quality.record_extractor_version(session, "pairs-1.0+000000000000")  # idempotent
    session.commit()
    rows = {r.version: r.quality for r in session.query(ExtractorVersion)}
    assert rows == {"pairs-1.0+000000000000": {"extractor_version": "pairs-1.0+000000000000", "figures": {"x": 1}},
                    "pairs-1.0+111111111111": None}
