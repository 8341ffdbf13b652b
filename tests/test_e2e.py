"""End to end: `demosite demo` — what `make demo` runs: the demo world served on 127.0.0.1, and the
system driven through its public command line over it (`aimap db upgrade`, `aimap firms import`,
`aimap refresh`: real Prefect flows in the ephemeral API, real Scrapy processes) — on SQLite and
PostgreSQL, checked against the world's ground truth."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from aimap.cli import app
from db.models import CooperationEvent, Document, Mention, NetworkSnapshot, Organisation, PipelineRun
from db.session import make_engine, session_factory
from demosite.cli import app as demosite_app

pytestmark = pytest.mark.e2e


def truth_nodes(world: Path) -> dict[int, tuple[int, int]]:
    """(sample nodes, all nodes) per year of the true cumulative networks (observable events)."""
    samples = {row["name"] for row in csv.DictReader((world / "firms.csv").open(encoding="utf-8"))}
    events = [json.loads(line) for line in (world / "truth" / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    out = {}
    for year in range(2014, 2024):
        nodes = set()
        for e in events:
            ended = e.get("terminated_on")
            if not e["observable"] or e["year"] > year or (ended and dt.date.fromisoformat(ended).year < year):
                continue
            nodes.update((e["provider"], e["receiver"]))
        out[year] = (len(nodes & samples), len(nodes))
    return out


def runs(db_url: str, flow: str) -> list[PipelineRun]:
    engine = make_engine(db_url)
    with session_factory(engine)() as s:
        found = list(s.scalars(select(PipelineRun).where(PipelineRun.flow == flow).order_by(PipelineRun.id)))
    engine.dispose()
    return found


def demo(runner: CliRunner) -> str:
    result = runner.invoke(demosite_app, ["demo", "--preset", "tiny", "--seed", "7"])
    assert result.exit_code == 0, result.output
    return result.output


def test_demo_end_to_end(env_db, tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))  # the subprocesses' own ephemeral API
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    runner = CliRunner()
    output = demo(runner)
    world = tmp_path / "home" / "world"
    documents = [json.loads(line) for line in (world / "truth" / "documents.jsonl").read_text(encoding="utf-8").splitlines()]
    crawlable = [d for d in documents if d["crawlable"] and d["fault"] not in ("gone", "broken")]
    firms = list(csv.DictReader((world / "firms.csv").open(encoding="utf-8")))

    assert f"created {len(firms)}," in output
    assert "steps run now: crawl, etl, gate, analyze, publish" in output
    crawl_runs = runs(env_db, "crawl")
    assert sum(r.counts["documents_new"] for r in crawl_runs) == len(crawlable)
    etl = runs(env_db, "etl")[-1].counts
    assert etl["quarantined"] == 0 and etl["events_new"] > 0
    rows = {r["year"]: r for r in csv.DictReader((tmp_path / "out" / "2024" / "table1.csv")
                                                 .read_text(encoding="utf-8-sig").splitlines())}
    rows = {int(y): {k: float(v) if v else None for k, v in r.items()} for y, r in rows.items()}
    assert sorted(rows) == list(range(2014, 2024))
    expected = truth_nodes(world)
    for year, (samples, nodes) in expected.items():
        assert rows[year]["sample_nodes"] == samples, year
        assert abs(rows[year]["nodes"] - nodes) <= max(1, nodes // 20), (year, rows[year]["nodes"], nodes)

    out = tmp_path / "out" / "2024"
    table = (out / "table1.csv").read_text(encoding="utf-8-sig").splitlines()
    assert table[0].startswith("year,sample_nodes,relation_nodes,nodes,edges,avg_degree") and len(table) == 11
    assert (out / "table1.md").exists()

    engine = make_engine(env_db)
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Document)) == len(crawlable)
        events = s.scalar(select(func.count()).select_from(CooperationEvent))
        assert events > 0
        unmentioned = s.scalar(select(func.count()).select_from(CooperationEvent).where(~CooperationEvent.mentions.any()))
        assert unmentioned == 0  # provenance for every event
        assert s.scalar(select(func.count()).select_from(Mention)) >= events
        assert s.scalar(select(func.count()).select_from(Organisation).where(Organisation.is_sample)) == len(firms)
        assert s.scalar(select(func.count()).select_from(NetworkSnapshot)) == 10
        flows = [r.flow for r in s.scalars(select(PipelineRun))]
        assert flows.count("crawl") == len(crawl_runs) == len(list((world / "sources").glob("*.yml")))
        assert flows.count("etl") == 1
    engine.dispose()
    assert f"report of edition 2024: {out / 'report.html'}" in output and (out / "report.html").exists()
    assert (out / "table1.md").read_text(encoding="utf-8").strip() in output  # Table 1 is printed

    # running the demo again resumes the published edition: nothing is redone
    again = demo(runner)
    assert "(kept)" in again and "created 0," in again
    assert "steps run now: none" in again
    assert len(runs(env_db, "crawl")) == len(crawl_runs) and len(runs(env_db, "etl")) == 1

    status = CliRunner().invoke(app, ["status", "--json"])
    counts = json.loads(status.output)["counts"]
    assert counts["documents"] == len(crawlable) and counts["snapshots"] == 10
