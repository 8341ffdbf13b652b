"""The ``aimap`` command line: help texts, status, db upgrade/downgrade, sources, firms, etl, extract."""

from __future__ import annotations

import json

from sqlalchemy import select
from typer.testing import CliRunner

from aimap.cli import app
from db.models import PipelineRun
from db.session import session_scope
from demosite.render import render_site
from demosite.world import build_world

runner = CliRunner()

COMMANDS = ["status", "db", "firms", "sources", "crawl", "etl", "extract", "analyze", "refresh"]


def test_help_documents_every_command():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.output
    for group, subs in {"db": ["upgrade", "downgrade"], "firms": ["import"], "sources": ["list", "check"]}.items():
        sub = runner.invoke(app, [group, "--help"])
        assert sub.exit_code == 0
        for name in subs:
            assert name in sub.output


def test_status_json_counts(env_db):
    result = runner.invoke(app, ["status", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["revision"] == info["head"] is not None
    assert set(info["counts"]) == {"organisations", "aliases", "documents", "errors", "events", "mentions",
                                   "snapshots", "runs"}
    assert all(v == 0 for v in info["counts"].values())


def test_status_hides_password(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://aimap:s3cret@127.0.0.1:1/nowhere")
    result = runner.invoke(app, ["status", "--json"])
    assert "s3cret" not in result.output
    assert "***" in result.output
    assert result.exit_code == 1  # unreachable database is an error, clearly reported
    assert "error" in json.loads(result.output)


def test_status_on_empty_database(empty_db_url, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", empty_db_url)
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    assert "empty database" in result.output and "aimap db upgrade" in result.output


def test_db_downgrade_and_upgrade(env_db):
    down = runner.invoke(app, ["db", "downgrade", "base", "--yes"])
    assert down.exit_code == 0, down.output
    assert json.loads(runner.invoke(app, ["status", "--json"]).output)["revision"] is None
    up = runner.invoke(app, ["db", "upgrade"])
    assert up.exit_code == 0, up.output
    assert "tech_categories" in up.output


def test_sources_list_and_check(tmp_path):
    sources = str(render_site(build_world(7, "tiny"), tmp_path / "world").sources_dir)  # the demo world's sources
    listed = runner.invoke(app, ["sources", "list", "--sources", sources])
    assert listed.exit_code == 0 and "demo-newsrooms" in listed.output
    assert runner.invoke(app, ["sources", "check", "demo-newsrooms", "--sources", sources]).exit_code == 0
    missing = runner.invoke(app, ["sources", "check", "no-such-source", "--sources", sources])
    assert missing.exit_code == 1 and "known sources" in missing.output
    # a field the schema does not know (like the old per-source `schedule:`) is an error, not ignored
    path = tmp_path / "world" / "sources" / "demo-newsrooms.yml"
    path.write_text(path.read_text(encoding="utf-8") + 'schedule: "0 3 * * 1"\n', encoding="utf-8")
    unknown = runner.invoke(app, ["sources", "check", "demo-newsrooms", "--sources", sources])
    assert unknown.exit_code == 1 and "unknown field 'schedule'" in unknown.output


def test_etl_records_its_run_as_the_flow_does(env_db):
    result = runner.invoke(app, ["etl", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["documents"] == 0
    with session_scope() as session:
        run = session.scalars(select(PipelineRun).where(PipelineRun.flow == "etl")).one()
        assert run.state == "completed" and run.finished_at is not None and run.counts["documents"] == 0
        # the keys flows/etl.py records (the same step, recorded the same way from either face)
        assert run.parameters == {"documents": 0, "batch_size": 200, "edition": None, "runner": "serial",
                                  "limit": None, "reprocess": False}


REGISTRY_HEADER = "企业名称,企业简称,统一社会信用代码,省份,城市,员工人数\n"


def test_firms_import_all_or_nothing(env_db, tmp_path):
    good = "甲智能科技有限公司,甲智能,91340000711771143J,安徽省,合肥市,120\n"
    bad = "乙智能科技有限公司,乙智能,91340000711771143X,火星省,,-3\n"
    path = tmp_path / "firms.csv"
    path.write_text(REGISTRY_HEADER + good + bad, encoding="utf-8")

    refused = runner.invoke(app, ["firms", "import", str(path)])
    assert refused.exit_code == 1
    for fragment in ("row 3", "uscc", "province", "employees", "nothing was imported"):
        assert fragment in refused.output
    assert json.loads(runner.invoke(app, ["status", "--json"]).output)["counts"]["organisations"] == 0

    partial = runner.invoke(app, ["firms", "import", str(path), "--skip-bad"])
    assert partial.exit_code == 0, partial.output
    assert "created 1" in partial.output and "rejected 1" in partial.output
    assert (tmp_path / "firms.rejects.csv").exists()
    counts = json.loads(runner.invoke(app, ["status", "--json"]).output)["counts"]
    assert counts["organisations"] == 1 and counts["errors"] >= 1

    again = runner.invoke(app, ["firms", "import", str(path), "--skip-bad"])
    assert "created 0" in again.output and "unchanged 1" in again.output


def test_extract_offline_interface(tmp_path):
    docs = tmp_path / "docs.jsonl"
    docs.write_text("\n".join([
        json.dumps({"id": "a", "text": "北京星云智能科技有限公司（以下简称“星云智能”）与清华大学签署战略合作协议。星云智能将为清华大学提供大模型技术。",
                    "published": "2023-05-06"}, ensure_ascii=False),
        json.dumps({"id": "b", "text": "华为与腾讯就合作进行了洽谈。"}, ensure_ascii=False),
        "not json",
    ]) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["extract", "--in", str(docs), "--out", str(out)])
    assert result.exit_code == 1 and "docs.jsonl:3" in result.output  # the bad line is named
    a, b = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert a["is_cooperation"] and {(r["a"], r["b"], r["direction"], r["year"]) for r in a["relations"]} == {
        ("北京星云智能科技有限公司", "清华大学", "a->b", 2023)}
    assert a["tech_categories"] == ["大模型"]
    assert {o["name"]: o["role"] for o in a["organisations"]} == {"北京星云智能科技有限公司": "party", "清华大学": "party"}
    assert b["is_cooperation"] is False and b["relations"] == []
