"""End to end: the Prefect demo flow (real Prefect test harness, real Scrapy process, demo site)
on SQLite and PostgreSQL, checked against the demo world's ground truth."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness
from sqlalchemy import func, select
from typer.testing import CliRunner

from aimap.cli import app
from db.models import CooperationEvent, Document, Mention, NetworkSnapshot, Organisation, PipelineRun
from db.session import make_engine, session_factory

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def prefect_harness():
    with prefect_test_harness(server_startup_timeout=120):
        yield


def truth_table1(truth_csv: Path, registry_csv: Path) -> dict[int, tuple[int, int, int]]:
    """(sample nodes, relation nodes, nodes) per year from the ground-truth events."""
    samples = {row["name"] for row in csv.DictReader(registry_csv.open(encoding="utf-8"))}
    events = list(csv.DictReader(truth_csv.open(encoding="utf-8")))
    out = {}
    for year in range(2014, 2024):
        nodes = {n for e in events if int(e["year"]) <= year for n in (e["provider"], e["receiver"])}
        s = len(nodes & samples)
        out[year] = (s, len(nodes) - s, len(nodes))
    return out


def test_demo_flow_end_to_end(env_db, prefect_harness, tmp_path):
    from flows.demo import demo_flow

    result = demo_flow(preset="tiny", seed=7)
    site_dir = tmp_path / "home" / "demo-site"
    expected = truth_table1(site_dir / "truth" / "events.csv", site_dir / "registry.csv")

    assert result["registry"]["created"] == 8
    assert result["crawl"]["documents_new"] == 75 and result["crawl"]["errors"] == 0
    assert result["etl"]["errors"] == 0
    rows = {r["year"]: r for r in result["report"]["rows"]}
    assert sorted(rows) == list(range(2014, 2024))
    for year, (s, r, n) in expected.items():
        assert (rows[year]["sample_nodes"], rows[year]["relation_nodes"], rows[year]["nodes"]) == (s, r, n), year

    table = (tmp_path / "out" / "2024" / "table1.csv").read_text(encoding="utf-8-sig").splitlines()
    assert table[0] == "year,sample_nodes,relation_nodes,nodes,edges,avg_degree" and len(table) == 11
    assert (tmp_path / "out" / "2024" / "table1.md").exists()

    engine = make_engine(env_db)
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Document)) == 75
        events = s.scalar(select(func.count()).select_from(CooperationEvent))
        assert 55 <= events <= 65  # the world has 60 events; the rules may merge/split a few
        # provenance: every event has at least one mention
        unmentioned = s.scalar(
            select(func.count()).select_from(CooperationEvent).where(~CooperationEvent.mentions.any())
        )
        assert unmentioned == 0
        assert s.scalar(select(func.count()).select_from(Mention)) >= events
        assert s.scalar(select(func.count()).select_from(Organisation).where(Organisation.is_sample)) == 8
        assert s.scalar(select(func.count()).select_from(NetworkSnapshot)) == 10
        flows = [r.flow for r in s.scalars(select(PipelineRun))]
        assert flows.count("crawl") == 1 and flows.count("etl") == 1
    engine.dispose()

    # idempotent: a second run of the whole chain adds nothing
    again = demo_flow(preset="tiny", seed=7)
    assert again["crawl"]["documents_new"] == 0 and again["crawl"]["documents_unchanged"] == 75
    assert again["etl"]["documents"] == 0
    assert again["report"]["snapshots_new"] == 0

    status = CliRunner().invoke(app, ["status", "--json"])
    counts = json.loads(status.output)["counts"]
    assert counts["documents"] == 75 and counts["snapshots"] == 10
