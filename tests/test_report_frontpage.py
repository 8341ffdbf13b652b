"""The report as a publication: its front page, the refusal of an edition the data cannot support, and a
gate that fails on vacuous input (both engines; the world of :mod:`tests.test_stats` with documents)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from aimap.cli import app
from analysis.edition import ReportError
from analysis.frontpage import software_version
from analysis.publish import publish_bundle
from analysis.quality import evaluate, record_override
from analysis.report import build_report
from db.models import ExtractorVersion
from db.runs import Ledger
from db.session import make_engine, session_factory
from tests.test_edge_evidence import add_evidence
from tests.test_stats import build_world


@pytest.fixture
def world(env_db):
    """The hand-checkable world with documents, an extractor's measured quality, and the 2024 refresh ledger:
    two crawled sources (one short of its minimum), a failed gate overridden by ``ops``."""
    engine = make_engine(env_db)
    with session_factory(engine)() as s:
        build_world(s)
        add_evidence(s)
        s.add(ExtractorVersion(version="pairs-1.1+test", quality={
            "measured_on": "2026-12-04", "corpus": "tests/data/realtext/test.jsonl", "documents": 138,
            "figures": {"relation P (new)": 0.262, "relation R (new)": 0.171, "relation F1 (new)": 0.207,
                        "relation F1 (all)": 0.191}}))
        s.commit()
    ledger = Ledger(2024, engine)
    for source, delivered in (("demo-a", 12), ("demo-b", 2)):
        record = ledger.start(f"crawl:{source}", expected_min_documents=5)
        ledger.finish(record, counts={"delivered": delivered})
    with session_factory(engine)() as s:
        failed = evaluate(s, 2024, ledger)
        assert not failed.passed and "sources_delivered" in [r.name for r in failed.failed]
        record_override(2024, "demo-b is a dead mirror", by="ops", checks=[r.name for r in failed.failed])
        result = evaluate(s, 2024, ledger)
    assert result.overridden
    record = ledger.start("gate")
    ledger.finish(record, counts=result.as_dict())
    yield engine
    engine.dispose()


def test_front_page_states_what_the_edition_rests_on(world, tmp_path):
    with session_factory(world)() as s:
        build_report(s, tmp_path, edition=2024, charts=False)
        s.commit()
    out = tmp_path / "2024"
    front = json.loads((out / "front_page.json").read_text(encoding="utf-8"))
    assert (front["edition"], front["data_cutoff"], front["partial"]) == (2024, "2023-12-31", [])
    assert [s["source"] for s in front["crawl"]["sources"]] == ["demo-a", "demo-b"]
    assert front["crawl"]["documents"] == 3
    assert front["shortfalls"] == ["demo-b: 仅交付 2 篇，低于声明的最少 5 篇 (delivered 2 < 5)"]
    gate = front["gate"]
    assert gate["verdict"] == "overridden" and gate["overrides"][0]["by"] == "ops"
    assert {c["check"]: c["result"] for c in gate["checks"]}["sources_delivered"] == "overridden"
    assert front["extractors"][0]["version"] == "pairs-1.1+test" and front["extractors"][0]["precision"] == 0.262
    assert front["software"] == software_version() and front["software"]["aimap"] != "unknown"

    html = (out / "report.html").read_text(encoding="utf-8")
    head = html[: html.index("目录")]  # the front page comes before the contents
    for text in ("封面信息", "2024 年版", "2023-12-31", "未通过但经人工放行 (failed, overridden)", "demo-b is a dead mirror",
                 "ops", "demo-b: 仅交付 2 篇", "精确率 P 26.2%，召回率 R 17.1%", f"提交 (commit) {front['software']['commit']}",
                 "pairs-1.1+test", "本版刷新采集 2 个来源"):
        assert text in head, text
    assert "主要发现" in html and "附录 方法说明" in html and "Gephi 0.9.2" in html[html.index("id='methods'"):]
    assert "四个核心节点合计占技术赋能关系的" in html  # a key finding generated from Table 6
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "demo-b is a dead mirror" in md[: md.index("## 目录")]
    wb = load_workbook(out / "report.xlsx")
    assert any("demo-b is a dead mirror" in str(row[1]) for row in wb["封面"].iter_rows(values_only=True))
    links = {r[0].value: r[0].hyperlink.location for r in wb["contents"].iter_rows(min_row=3) if r[0].hyperlink}
    assert links["表6"] == "'表6'!A1" and len(links) == len(wb.sheetnames) - 2  # every table linked
    t6 = wb["表6"]
    assert t6["D3"].number_format == "0.00%" and abs(t6["D3"].value - 4 / 7) < 1e-9  # 北京 57.14% as a real %
    assert t6.auto_filter.ref == "A2:G5"

    published = publish_bundle(out, edition=2024, cutoff_date=dt.date(2023, 12, 31),
                               published_at=dt.datetime(2024, 3, 1, 9, 0), database="sqlite:///x", steps=[], gate=None)
    manifest = json.loads(published.manifest.read_text(encoding="utf-8"))
    assert manifest["front_page"] == front
    assert "network.xlsx" in manifest["related"]["network"] and manifest["related"]["index"] == []


def test_an_edition_the_data_cannot_support_is_refused_unless_partial(world, tmp_path):
    with session_factory(world)() as s:
        for edition in (2030, 2025):  # cut-off in the future / no event dated in its last year (2024)
            with pytest.raises(ReportError, match=f"edition {edition} is not supported by the data"):
                build_report(s, tmp_path, edition=edition, charts=False, today=dt.date(2026, 12, 4))
        with pytest.raises(ReportError, match="no cooperation events dated 1998 or earlier"):
            build_report(s, tmp_path, edition=1999, charts=False)
        result = build_report(s, tmp_path, edition=2025, charts=False, allow_partial=True, today=dt.date(2026, 12, 4))
        s.rollback()
    assert result.edition == 2025
    html = (tmp_path / "2025" / "report.html").read_text(encoding="utf-8")
    assert "不完整版次 (partial edition, --allow-partial)" in html and "no cooperation event is dated 2024" in html
    runner = CliRunner()
    for argv in (["analyze", "--edition", "2030"], ["index", "--edition", "1999"], ["index", "--edition", "2030"]):
        res = runner.invoke(app, [*argv, "--out", str(tmp_path / "cli")])
        assert res.exit_code == 1 and "Traceback" not in res.output, argv
        assert res.output.count("\n") == 1 and "--allow-partial" in res.output, res.output  # one line
    assert not (tmp_path / "cli" / "1999").exists() and not (tmp_path / "cli" / "2030").exists()


def test_the_gate_fails_on_vacuous_input(session):
    """An empty database (no source, no document, no network) fails the gate; it never passes trivially."""
    result = evaluate(session, 2024, Ledger(2024, session.get_bind()))
    assert not result.passed
    failed = {r.name: r.detail for r in result.failed}
    assert set(failed) == {"sources_delivered", "provenance", "yoy_nodes", "yoy_edges"}
    assert all("vacuous input" in d for d in failed.values())
    build_world(session)
    add_evidence(session)
    again = evaluate(session, 2024, Ledger(2024, session.get_bind()))
    assert not any("vacuous input" in r.detail for r in again.results if r.name != "sources_delivered")
