"""The operator's console (issue 16, items 9-11): `aimap status` as the home screen, `aimap runs`,
`aimap errors`, root causes in `aimap gate show`, `--version`, offline settings in docker-compose."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from aimap import __version__
from aimap.cli import app
from db.errors import source_causes, top_reasons
from db.models import PipelineError
from db.runs import Ledger, finish_run, start_run
from db.session import make_engine, session_factory

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def _history(db_url: str) -> None:
    """Edition 2024: crawl of two sources (one failed with refused connections), ETL, a failed gate."""
    engine = make_engine(db_url)
    ledger = Ledger(2024, engine)
    start_run("annual-refresh", {"edition": 2024}, engine)
    good = ledger.start("crawl:demo-gov", source="demo-gov")
    bad = ledger.start("crawl:demo-dead", source="demo-dead")
    runs = {name: start_run("crawl", {"source": name}, engine) for name in ("demo-gov", "demo-dead")}
    with session_factory(engine)() as s:
        for i in range(6):
            s.add(PipelineError(run_id=runs["demo-dead"], stage="crawl", kind="fetch_error",
                                location=f"http://127.0.0.1:9/feed{i}.xml",
                                reason="ConnectionRefusedError: Connection was refused by other side: 111"))
        s.add(PipelineError(run_id=runs["demo-dead"], stage="crawl", kind="http_error",
                            location="http://127.0.0.1:9/a", reason="HTTP 404"))
        s.add(PipelineError(run_id=runs["demo-gov"], stage="crawl", kind="http_error",
                            location="http://127.0.0.1:8/x", reason="HTTP 404"))
        s.add(PipelineError(stage="etl", kind="quarantined", location="http://127.0.0.1:8/y", reason="bad date\nmore"))
        s.commit()
    finish_run(runs["demo-gov"], counts={"errors": 1}, engine=engine)
    long_message = "SourceBelowMinimum: demo-dead delivered 0 documents, expected at least 1; " + "x" * 300
    finish_run(runs["demo-dead"], state="failed", message=long_message, engine=engine)
    ledger.finish(good, counts={"delivered": 10, "errors": 1})
    ledger.finish(bad, state="failed", message=long_message)
    etl = ledger.start("etl")
    ledger.finish(etl, counts={"documents": 10})
    gate = ledger.start("gate")
    ledger.finish(gate, state="failed", message="sources_delivered failed")
    engine.dispose()


def test_root_causes_per_source(env_db):
    _history(env_db)
    engine = make_engine(env_db)
    with session_factory(engine)() as s:
        causes = source_causes(s, Ledger(2024, engine).steps())
        assert causes["demo-dead"].failed_requests == 7 and causes["demo-dead"].state == "failed"
        top = causes["demo-dead"].reasons[0]
        assert (top.kind, top.count) == ("fetch_error", 6) and top.example.startswith("http://127.0.0.1:9/feed")
        assert causes["demo-gov"].failed_requests == 1
        groups = top_reasons(s)
        assert list(groups)[0] == ("crawl", "demo-dead")  # the largest group first
        assert groups[("etl", None)][0].reason == "bad date"  # first line only
    engine.dispose()


def test_status_is_the_home_screen(env_db):
    _history(env_db)
    out = runner.invoke(app, ["status", "--json"])
    assert out.exit_code == 0, out.output
    info = json.loads(out.output)
    assert {"database", "dialect", "revision", "head", "counts"} <= set(info)  # the interface as it was
    refresh = info["refreshes"][0]
    assert refresh["edition"] == 2024 and refresh["state"] == "running"
    steps = {s["step"]: s["state"] for s in refresh["steps"]}
    assert steps == {"crawl": "failed: demo-dead", "etl": "completed", "gate": "failed", "analyze": "not run",
                     "publish": "not run"}
    stages = {e["stage"]: e for e in info["recent_errors"]["by_stage"]}
    assert stages["crawl"]["count"] == 8 and stages["crawl"]["top"]["count"] == 6 and stages["etl"]["count"] == 1
    assert info["review_queue"] == {"merges": 0, "events": 0, "hidden_distinct_names": 0}
    shown = runner.invoke(app, ["status"])
    assert shown.exit_code == 0, shown.output
    assert "failed: demo-dead" in shown.output and "review queue: 0 merge suggestions" in shown.output


def test_runs_errors_and_gate_show_name_the_cause(env_db):
    _history(env_db)
    runs = runner.invoke(app, ["runs", "--state", "failed", "--flow", "crawl"])
    assert runs.exit_code == 0, runs.output
    assert "x" * 300 in runs.output.replace("\n", "")  # the long message whole, under the table
    listed = json.loads(runner.invoke(app, ["runs", "--edition", "2024", "--json"]).output)
    assert {r["flow"] for r in listed} == {"annual-refresh", "refresh-step"}
    errors = runner.invoke(app, ["errors", "--json"])
    assert errors.exit_code == 0, errors.output
    data = json.loads(errors.output)
    assert data["total"] == 9
    dead = next(g for g in data["groups"] if g["source"] == "demo-dead")
    assert dead["reasons"][0]["count"] == 6 and "Connection was refused" in dead["reasons"][0]["reason"]
    only = json.loads(runner.invoke(app, ["errors", "--source", "demo-gov", "--json"]).output)
    assert [g["source"] for g in only["groups"]] == ["demo-gov"]
    shown = runner.invoke(app, ["gate", "show", "--edition", "2024"])
    assert "demo-dead: failed, 7 problem(s) recorded" in shown.output
    assert "×6 (fetch_error), e.g. http://127.0.0.1:9/feed" in shown.output
    as_json = json.loads(runner.invoke(app, ["gate", "show", "--edition", "2024", "--json"]).output)
    assert as_json["root_causes"]["demo-dead"]["failed_requests"] == 7


def test_version():
    out = runner.invoke(app, ["--version"])
    assert out.exit_code == 0 and out.output.startswith(f"aimap {__version__}")


def test_offline_settings_in_compose():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]
    for name in ("prefect-server", "aimap-worker"):
        assert services[name]["environment"]["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false", name
    assert "PREFECT_SERVER_ANALYTICS_ENABLED" in (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
