"""The report bundle: files, idempotency, snapshots, comparison with the published edition, edition diff, CLI.

Runs on the hand-checkable world of :mod:`tests.test_stats` (both engines); the full bundle
(charts included) is built once per engine in :func:`test_bundle_files`, the other tests skip
the charts to stay fast.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import zipfile
from pathlib import Path

import networkx as nx
import pytest
import yaml
from openpyxl import load_workbook
from sqlalchemy import func, select
from typer.testing import CliRunner

from aimap.cli import app
from analysis.compare import check_figures, compare_figures, diff_editions
from analysis.edition import ReportError
from analysis.figures import PUBLISHED_2024, load_figures
from analysis.frontpage import front_page_lines
from analysis.report import TABLE1_COLUMNS, build_report
from db.models import CooperationEvent, Document, ExtractorVersion, Mention, NetworkSnapshot
from db.session import make_engine, session_factory
from tests.test_stats import A, B, F, G, H, U, build_world


def digest(directory: Path) -> dict[str, str]:
    return {p.relative_to(directory).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def test_bundle_files(session, tmp_path):
    build_world(session)
    result = build_report(session, tmp_path, edition=2024)
    session.commit()
    out = tmp_path / "2024"
    tables = result.stats.tables
    assert len(tables) == 27  # the report's 26 tables and figures + table 8, data quality

    # every table as CSV, UTF-8 with BOM; Table 1 keeps its historical first columns
    for key in tables:
        raw = (out / f"{key}.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf"), key
    table1 = (out / "table1.csv").read_text(encoding="utf-8-sig").splitlines()
    assert table1[0] == ",".join(TABLE1_COLUMNS) and table1[-1] == "2023,3,4,7,7,1.000,3,1.643,0.000"
    assert (out / "table1.md").exists()

    # XLSX: front page, linked contents, one sheet per table named by its number, numbers as numbers
    wb = load_workbook(out / "report.xlsx")
    assert wb.sheetnames[:2] == ["封面", "contents"] and len(wb.sheetnames) == 2 + len(tables)
    assert {"表1", "图13", "图14", "图14附表", "表8"} <= set(wb.sheetnames)
    ws = wb["表1"]
    assert [c.value for c in ws[3]][:5] == [2020, 2, 0, 2, 1]
    assert ws["A1"].value == tables["table1"].title

    # GEXF per year, readable by networkx with typed attributes
    for year in (2020, 2021, 2022, 2023):
        g = nx.read_gexf(out / "gexf" / f"network_{year}.gexf")
        assert g.is_directed() and g.number_of_edges() == result.stats.networks[year].counts.edges
    g = nx.read_gexf(out / "gexf" / "network_2023.gexf")
    a = g.nodes[str(A)]
    assert (a["label"], a["kind"], a["province"], a["is_sample"], a["in_degree"], a["out_degree"]) == (
        "甲", "firm", "北京市", True, 1, 3)
    assert a["industry"] == "65 软件和信息技术服务业" and a["sector"] == "第三产业"
    assert g.nodes[str(F)]["province"] == "" and g.nodes[str(H)]["is_sample"] is False
    ab = g.edges[str(A), str(B)]
    assert (ab["weight"], ab["first_year"], ab["kinds"]) == (2.0, 2022, "procurement;supply")

    # HTML: self-contained, every table title, embedded font and images
    html = (out / "report.html").read_text(encoding="utf-8")
    for t in tables.values():
        assert t.title in html, t.key
    assert "@font-face" in html and "data:font/woff;base64," in html
    assert html.count("data:image/png;base64,") == sum(1 for t in tables.values() if t.chart)
    assert not re.search(r"""(src|href)=["']https?:""", html)
    md = (out / "report.md").read_text(encoding="utf-8")
    assert all(t.title in md for t in tables.values())

    # charts as PNG and SVG; SVG text is drawn as paths (no font needed), no date in the file
    for t in tables.values():
        if t.chart:
            png, svg = out / "charts" / f"{t.key}.png", out / "charts" / f"{t.key}.svg"
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", t.key
            text = svg.read_text(encoding="utf-8")
            assert "<text" not in text and "<dc:date>" not in text, t.key

    # node/edge lists and figures for --diff / --compare
    nodes = {int(r["id"]): r for r in csv.DictReader((out / "nodes.csv").open(encoding="utf-8-sig"))}
    assert nodes[U]["name"] == "清华大学" and nodes[A]["degree"] == "4"
    figures = yaml.safe_load((out / "figures.yaml").read_text(encoding="utf-8"))
    assert figures["network"]["table1"][2023][:4] == [3, 4, 7, 7]

    # snapshots with their metrics; a second run adds none and rewrites identical files
    snaps = session.scalars(select(NetworkSnapshot).order_by(NetworkSnapshot.year)).all()
    assert [s.year for s in snaps] == [2020, 2021, 2022, 2023]
    assert snaps[-1].metrics["diameter"] == 3 and snaps[-1].metrics["avg_path_length"] == pytest.approx(23 / 14)
    before = digest(out)
    again = build_report(session, tmp_path, edition=2024)
    session.commit()
    assert again.snapshots_new == 0
    assert session.scalar(select(func.count()).select_from(NetworkSnapshot)) == 4
    assert digest(out) == before
    with zipfile.ZipFile(out / "report.xlsx") as z:
        assert all(i.date_time == (2023, 12, 31, 0, 0, 0) for i in z.infolist())


def test_charts_render_chinese_without_missing_glyphs(tmp_path, caplog):
    import warnings

    from analysis.charts import font_family, render_chart
    from analysis.presentation import Chart, Column, Table

    assert font_family() == "Noto Sans CJK SC"
    table = Table("figx", "图X 技术合作关系省份分布", "x", [Column("p", "省份"), Column("share", "占比", "pct")],
                  [["北京市", 60.0], ["广东省", 40.0]], [], Chart("bar", "p", ("share",), "占比 (%)"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        paths = render_chart(table, tmp_path)
    assert [p.suffix for p in paths] == [".png", ".svg"]
    assert not [w for w in caught if "missing from" in str(w.message)]
    assert "missing from" not in caplog.text


def test_stale_snapshot_metrics_are_filled_not_duplicated(session, tmp_path):
    build_world(session)
    first = build_report(session, tmp_path, edition=2024, charts=False)
    session.commit()
    snap = session.scalars(select(NetworkSnapshot).where(NetworkSnapshot.year == 2023)).one()
    snap.metrics = {"avg_degree": 1.0}  # as recorded before the Gephi statistics existed
    session.commit()
    again = build_report(session, tmp_path, edition=2024, charts=False)
    session.commit()
    assert first.snapshots_new == 4 and again.snapshots_new == 0
    session.refresh(snap)
    assert set(snap.metrics) == {"avg_degree", "diameter", "avg_path_length", "avg_clustering"}


def test_edition_without_data(session, tmp_path):
    build_world(session)
    with pytest.raises(ReportError, match="no cooperation events"):
        build_report(session, tmp_path, edition=2019, charts=False)
    with pytest.raises(ReportError, match="window"):
        build_report(session, tmp_path, edition=2024, window=0, charts=False)


def test_compare_flags_published_inconsistencies():
    published = load_figures(PUBLISHED_2024)
    messages = [(f.path, f.message) for f in check_figures(published, "published")]
    assert ("network.table1.2023", "printed avg degree 3.287 is not edges/nodes = 91158/35672 = 2.555") in messages
    assert any(p == "network.table1.2021" and "sample nodes fall from 2205" in m for p, m in messages)
    assert any(p == "firms.listed_revenue_2022" and "4.32% unaccounted" in m for p, m in messages)
    assert not any(p.startswith("network.table1.2022") for p, _ in messages)  # consistent rows are not flagged
    # a consistent copy is not flagged
    fixed = yaml.safe_load(PUBLISHED_2024.read_text(encoding="utf-8"))
    fixed["network"]["table1"][2023][4] = 2.555
    assert not any(f.path == "network.table1.2023" for f in check_figures(fixed, "x"))


def test_compare_rebuilt_beside_published(session, tmp_path):
    build_world(session)
    result = build_report(session, tmp_path, edition=2024, charts=False)
    rebuilt = result.stats.figures
    rows = compare_figures(load_figures(PUBLISHED_2024), rebuilt)
    by = {(r.path, r.item): r for r in rows}
    nodes = by[("network.table1.2023", "nodes")]
    assert (nodes.published, nodes.rebuilt, nodes.difference) == (35672, 7, 7 - 35672)
    assert by[("network.table1.2014", "nodes")].note == "year not rebuilt"
    bj = by[("spatial.enabling_by_province", "北京市")]
    assert bj.published == 36.21 and bj.rebuilt == pytest.approx(57.1429) and bj.difference == pytest.approx(20.9329)
    assert by[("firms.provinces_top5", "北京市")].rebuilt == 25.0
    assert by[("network.top_relation_nodes", "清华大学")].rebuilt == "1/1/2"  # found by name
    assert by[("network.top_sample_nodes", "华为")].note == "name not among the rebuilt nodes"
    assert not [f for f in check_figures(rebuilt, "rebuilt") if f.path.startswith("network.table1")]


def test_diff_between_editions(session, tmp_path):
    build_world(session)
    build_report(session, tmp_path, edition=2023, charts=False)
    build_report(session, tmp_path, edition=2024, charts=False)
    diff = diff_editions(tmp_path / "2023", tmp_path / "2024")
    assert diff.summary == {"sample_firms_added": 0, "sample_firms_removed": 0, "relation_nodes_added": 3,
                            "relation_nodes_removed": 0, "edges_added": 4, "edges_removed": 0}
    tables = {t.key: t for t in diff.tables}
    added = {r[1] for r in tables["diff_relation_nodes"].rows if r[0] == "added"}
    assert added == {F, G, H}
    hubs = {(r[0], r[1]): r for r in tables["diff_hubs"].rows}
    # 2022: A and B both degree 2, tie by name puts 乙 (U+4E59) first; 2023: A has degree 4
    assert hubs[("sample", "甲")][2:] == [2, 1, 2, 4, 2, "rose"]
    assert hubs[("relation", "Intel")][-1] == "new"
    moved = {r[0]: r for r in tables["diff_shares"].rows}
    assert moved["spatial.enabling_by_province.北京市"][3] == pytest.approx(57.1429 - 66.6667)
    with pytest.raises(FileNotFoundError, match="run `aimap analyze --edition 2022` first"):
        diff_editions(tmp_path / "2022", tmp_path / "2024")


def test_cli_analyze_compare_and_diff(env_db, tmp_path):
    engine = make_engine(env_db)
    with session_factory(engine)() as s:
        build_world(s)
    engine.dispose()
    runner = CliRunner()
    out = tmp_path / "bundle"
    res = runner.invoke(app, ["analyze", "--edition", "2023", "--out", str(out)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["analyze", "--compare", str(PUBLISHED_2024), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "printed avg degree 3.287 is not edges/nodes" in res.output
    assert (out / "2024" / "compare.csv").exists() and (out / "2024" / "consistency.csv").exists()
    res = runner.invoke(app, ["analyze", "--diff", "2023", "2024", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "relation nodes added" in res.output and (out / "diff_2023_2024" / "diff.md").exists()
    res = runner.invoke(app, ["analyze", "--edition", "2010", "--out", str(out)])
    assert res.exit_code == 1 and "no cooperation events dated 2009 or earlier" in res.output
    res = runner.invoke(app, ["analyze", "--diff", "2020", "2024", "--out", str(out)])
    assert res.exit_code == 1 and "aimap analyze --edition 2020" in res.output
    _ = G


def test_data_quality_table_states_each_extractor_versions_measured_error(session, tmp_path):
    """Table 8: the measured figures of the extractor versions behind the mentions, or 'not measured'."""
    build_world(session)
    events = session.scalars(select(CooperationEvent).order_by(CooperationEvent.id)).all()
    doc = Document(url="http://127.0.0.1/q", canonical_url="http://127.0.0.1/q", text="t", content_sha256="0" * 64)
    session.add(doc)
    session.flush()
    session.add_all([Mention(event_id=e.id, document_id=doc.id, extractor_version="pairs-1.0+aaaaaaaaaaaa")
                     for e in events[:2]] + [Mention(event_id=events[2].id, document_id=doc.id,
                                                     extractor_version="rules-1.0+bbbbbbbbbbbb")])
    session.add(ExtractorVersion(version="pairs-1.0+aaaaaaaaaaaa", quality={
        "measured_on": "2026-12-04", "corpus": "tests/data/realtext/test.jsonl", "documents": 138,
        "figures": {"relation F1 (new)": 0.25, "direction accuracy": 0.7},
        "rules_only": {"relation F1 (new)": 0.15}, "through_etl": {"relation F1 (all)": 0.22, "pair F1 (all)": 0.3},
        "breakdown": {"kind": {"investment": {"tp": 3, "fp": 1, "fn": 2, "f1": 0.6667},
                               "other": {"tp": 0, "fp": 4, "fn": 1, "f1": 0.0}},
                      "lang": {"en": {"tp": 1, "fp": 1, "fn": 1, "f1": 0.5, "documents": 2}}}}))
    session.commit()
    table = build_report(session, tmp_path, edition=2024).stats.tables["table8_data_quality"]
    rows = {(r[0], r[2]): r for r in table.rows}
    measured = rows["pairs-1.0+aaaaaaaaaaaa", "新合作关系 F1 (relation F1 (new))"]
    assert measured[1] == 2 and measured[3:] == [0.25, 0.15]
    assert rows["rules-1.0+bbbbbbbbbbbb", "not measured"][1:] == [1, "not measured", None, None]
    # the same test part through the whole ETL: what the edition is built from
    assert rows["pairs-1.0+aaaaaaaaaaaa", "全流程 全部关系 F1 (relation F1 (all), through the ETL)"][3:] == [0.22, None]
    assert rows["pairs-1.0+aaaaaaaaaaaa", "全流程 合作对 F1（不计方向） (pair F1 (all), through the ETL)"][3] == 0.3
    # the breakdown: which relations the overall figure holds for, the kind with most gold relations first
    broken = [r[2:4] for r in table.rows if r[0] == "pairs-1.0+aaaaaaaaaaaa" and "全部关系 F1，" in r[2]]
    assert broken == [["全部关系 F1，按合作类型：investment (relation F1 (all), by kind: investment; 5 gold, 4 found)", 0.6667],
                      ["全部关系 F1，按合作类型：other (relation F1 (all), by kind: other; 1 gold, 4 found)", 0.0],
                      ["全部关系 F1，按文字：en (relation F1 (all), by script: en; 2 gold, 2 found)", 0.5]]
    front = dict(front_page_lines(json.loads((tmp_path / "2024" / "front_page.json").read_text(encoding="utf-8"))))
    assert "经完整 ETL 入库后 22.0%" in front["抽取器 (extractor) pairs-1.0+aaaaaaaaaaaa"]
    csv_text = (tmp_path / "2024" / "table8_data_quality.csv").read_text(encoding="utf-8-sig")
    assert "pairs-1.0+aaaaaaaaaaaa" in csv_text and "not measured" in csv_text
