"""The regional competitiveness index: method on hand-computed tables, indicators on a small database
(both engines), missing data, import validation, outputs and the ``aimap index`` command.

The database world (:func:`build_world`), network of 2023 (edition 2024):

    sample firms  A 北京/北京市 listed SSE 基础层 100 patents, FY2022 revenue 10亿 R&D 2亿
                  B 广东/深圳市 listed HKEX 技术层 50 patents, revenue 30亿, R&D unknown
                  C 广东/广州市 unlisted 应用层, patents unknown
                  D 上海/上海市 no attributes at all, not in the network
    relation      U university 北京; R research institute 上海; G government 广东/广州;
                  X foreign firm 上海; Y foreign firm (no province); Z firm 江苏/南京 (no sample firm there)
    edges 2023    A->U, A->B (investment), B->C, X->A, Y->B, C->G, R->C, B->Z
                  (A->C, investment, 2020, terminated 2021: not in the network)
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from aimap.cli import app
from analysis.figures import PUBLISHED_2024, load_figures
from analysis.index import build_index, compare_published, published_ranking
from analysis.index_data import Regions, computed_indicators, load_index_source
from analysis.index_imports import IndexImportError, read_imports
from analysis.index_method import (
    aggregate,
    drivers,
    entropy_weights,
    expert_weights,
    minmax,
    normalise,
    sensitivity,
    spearman,
    zscore,
)
from analysis.index_outputs import write_index
from analysis.index_tree import IndexBuildError, load_tree
from db.models import City, CooperationEvent, FirmAttributes, FirmFinancials, Organisation, PipelineError
from db.session import make_engine, session_factory

A, B, C, D, U, R, G, X, Y, Z = 1, 2, 3, 4, 10, 11, 12, 13, 14, 15
EXAMPLES = Path(__file__).resolve().parents[1] / "analysis" / "data" / "index_imports"


def build_world(session) -> None:
    """Insert the world of the module docstring and commit."""
    orgs = [
        (A, "甲智能股份有限公司", "firm", True, "11", "110100", "600001", "SSE"),
        (B, "乙科技股份有限公司", "firm", True, "44", "440300", "00002", "HKEX"),
        (C, "丙数据有限公司", "firm", True, "44", "440100", None, None),
        (D, "丁机器人有限公司", "firm", True, "31", "310100", None, None),
        (U, "某大学", "university", False, "11", "110100", None, None),
        (R, "某研究院", "research_institute", False, "31", "310100", None, None),
        (G, "某市政府", "government", False, "44", "440100", None, None),
        (X, "某外资（中国）有限公司", "foreign_firm", False, "31", "310100", None, None),
        (Y, "Foreign Inc.", "foreign_firm", False, None, None, None, None),
        (Z, "某制造有限公司", "firm", False, "32", "320100", None, None),
    ]
    for oid, name, kind, sample, prov, city, code, exch in orgs:
        session.add(Organisation(id=oid, name=name, kind=kind, is_sample=sample, province_code=prov, city_code=city,
                                 stock_code=code, stock_exchange=exch, origin="test"))
    session.flush()
    session.add_all([
        FirmAttributes(organisation_id=A, listed=True, tech_layer="基础层", patents=100),
        FirmAttributes(organisation_id=B, listed=True, tech_layer="技术层", patents=50),
        FirmAttributes(organisation_id=C, listed=False, tech_layer="应用层", patents=None),
        FirmFinancials(organisation_id=A, fiscal_year=2022, revenue_cny=10e8, rd_expense_cny=2e8),
        FirmFinancials(organisation_id=B, fiscal_year=2022, revenue_cny=30e8, rd_expense_cny=None),
        FirmFinancials(organisation_id=B, fiscal_year=2021, revenue_cny=1e8, rd_expense_cny=1e8),
    ])
    events = [(A, U, "strategic"), (A, B, "investment"), (B, C, "supply"), (X, A, "supply"), (Y, B, "supply"),
              (C, G, "procurement"), (R, C, "joint_lab"), (B, Z, "supply")]
    for n, (p, r, kind) in enumerate(events, 1):
        session.add(CooperationEvent(id=n, event_key=f"e{n}", provider_id=p, receiver_id=r, reported_by_id=p,
                                     kind=kind, direction="directed", status="active", year=2023))
    session.add(CooperationEvent(id=9, event_key="e9", provider_id=A, receiver_id=C, reported_by_id=A, kind="investment",
                                 direction="directed", status="terminated", year=2020,
                                 terminated_on=dt.date(2021, 5, 1)))
    session.commit()


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


HEADER = ["indicator", "level", "region", "province", "year", "value", "unit", "source"]


# --------------------------------------------------------------------------- normalisation and weights by hand


def test_minmax_by_hand():
    np.testing.assert_allclose(minmax(np.array([2.0, 4.0, 10.0])), [0.0, 0.25, 1.0])
    np.testing.assert_allclose(minmax(np.array([2.0, 4.0, 10.0]), higher=False), [1.0, 0.75, 0.0])
    out = minmax(np.array([3.0, np.nan, 5.0, 4.0]))
    assert np.isnan(out[1]) and out[[0, 2, 3]].tolist() == [0.0, 1.0, 0.5]  # missing stays missing
    assert minmax(np.array([7.0, 7.0, np.nan])).tolist()[:2] == [0.0, 0.0]  # constant: no information


def test_zscore_by_hand():
    sd = math.sqrt(2 / 3)  # population sd of 1, 2, 3
    np.testing.assert_allclose(zscore(np.array([1.0, 2.0, 3.0])), [-1 / sd, 0.0, 1 / sd])
    np.testing.assert_allclose(zscore(np.array([1.0, 2.0, 3.0]), higher=False), [1 / sd, 0.0, -1 / sd])
    out = zscore(np.array([1.0, np.nan, 3.0]))
    assert np.isnan(out[1]) and out[[0, 2]].tolist() == [-1.0, 1.0]
    assert zscore(np.array([4.0, 4.0])).tolist() == [0.0, 0.0]
    with pytest.raises(IndexBuildError, match="unknown normalisation"):
        normalise(np.zeros((2, 1)), [True], "rank")


def test_entropy_weights_by_hand():
    raw = np.array([[1.0, 5.0, 3.0, 8.0, np.nan],
                    [2.0, 5.0, 3.0, np.nan, np.nan],
                    [3.0, 10.0, 3.0, np.nan, np.nan]])
    y = normalise(raw, [True] * 5, "minmax")
    # column 1: y = 0, 0.5, 1 -> p = 0, 1/3, 2/3 (the zero contributes 0 ln 0 = 0)
    e1 = -(1 / 3 * math.log(1 / 3) + 2 / 3 * math.log(2 / 3)) / math.log(3)
    # column 2: y = 0, 0, 1 -> all of it in one region: e = 0, d = 1 (the largest weight)
    # column 3 constant, column 4 one region with a value, column 5 no data: e = 1, d = 0, w = 0
    w = entropy_weights(y)
    assert w.n.tolist() == [3, 3, 3, 1, 0]
    np.testing.assert_allclose(w.e, [e1, 0.0, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(w.d, [1 - e1, 1.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(w.w, [(1 - e1) / (2 - e1), 1 / (2 - e1), 0.0, 0.0, 0.0])
    assert abs(w.w[0] - 0.2961) < 1e-4 and abs(w.w.sum() - 1) < 1e-12
    # missing values are left out: n_j counts the regions with a value, k = 1 / ln n_j
    y2 = np.array([[0.0], [np.nan], [0.25], [1.0]])
    p = np.array([0.2, 0.8])
    assert entropy_weights(y2).e[0] == pytest.approx(-(p * np.log(p)).sum() / math.log(3))
    with pytest.raises(ValueError, match="non-negative"):
        entropy_weights(np.array([[-1.0], [1.0]]))


def test_aggregate_reweights_missing_values_within_the_pillar():
    # pillar 0 = indicators 0 (w 0.3) and 1 (w 0.2); pillar 1 = indicator 2 (w 0.5)
    w, pillar = np.array([0.3, 0.2, 0.5]), np.array([0, 0, 1])
    xn = np.array([[1.0, 0.0, 0.5],        # nothing missing: T = sum w x = 0.55
                   [0.5, np.nan, 1.0],     # indicator 1 missing: pillar 0 = indicator 0 alone
                   [1.0, 1.0, np.nan]])    # pillar 1 missing: T = pillar 0
    agg = aggregate(xn, w, pillar, 2)
    np.testing.assert_allclose(agg.pillars[0], [0.6, 0.5])
    np.testing.assert_allclose(agg.pillars[1], [0.5, 1.0])
    assert np.isnan(agg.pillars[2, 1]) and agg.pillars[2, 0] == 1.0
    np.testing.assert_allclose(agg.total, [0.55, 0.75, 1.0])
    assert agg.total[1] != pytest.approx(0.3 * 0.5 + 0.5 * 1.0)  # not "missing = 0" (0.65)
    np.testing.assert_allclose(agg.effective, [[0.3, 0.2, 0.5], [0.5, 0.0, 0.5], [0.6, 0.4, 0.0]])
    np.testing.assert_allclose(np.nansum(agg.effective * np.nan_to_num(xn), axis=1), agg.total)
    np.testing.assert_allclose(agg.contribution.sum(axis=1), agg.total)


def test_expert_weights_and_tree_validation(tmp_path):
    tree = load_tree()
    assert [p.name for p in tree.pillars] == ["企业能力", "学术生态", "资本环境", "国际开放度", "链接能力", "政府响应能力"]
    assert len(tree.indicators) == 24 and all(len(p.groups) >= 2 for p in tree.pillars)
    assert {i.source for i in tree.indicators} == {"computed", "imported"}
    w = expert_weights(tree)
    assert w.sum() == pytest.approx(1.0)
    first = tree.indicators[0]  # 企业能力 x 企业规模 (0.4 of 0.4+0.35+0.25) x 人工智能核心企业数 (0.4 of 1.0)
    pillars = sum(p.expert_weight for p in tree.pillars)
    assert w[0] == pytest.approx(tree.pillars[0].expert_weight / pillars * 0.4 / 1.0 * first.expert_weight / 1.0)
    text = (EXAMPLES.parent / "index.yml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.yml"
    bad.write_text(text.replace("code: listed_firms", "code: sample_firms"), encoding="utf-8")
    with pytest.raises(ValueError, match="code used twice"):
        load_tree(bad)
    bad.write_text(text.replace("code: patents", "code: patent_families"), encoding="utf-8")
    with pytest.raises(ValueError, match="no function 'patent_families'"):
        load_tree(bad)
    bad.write_text(text.replace("            direction: higher\n", "            direction: up\n", 1), encoding="utf-8")
    with pytest.raises(ValueError, match="direction must be one of"):
        load_tree(bad)


def test_spearman_and_sensitivity():
    from scipy.stats import spearmanr

    a, b = [1, 2, 3, 4, 5], [5, 6, 7, 8, 7]
    assert spearman(a, b) == pytest.approx(spearmanr(a, b).statistic)
    assert spearman([1, 2, 3], [3, 2, 1]) == -1.0 and math.isnan(spearman([1], [2]))
    # three regions on two indicators of one pillar; regions 0 and 1 swap places when weights move
    xn = np.array([[1.0, 0.0], [0.0, 0.98], [0.2, 0.2]])
    w, pillar = np.array([0.5, 0.5]), np.array([0, 0])
    names, codes = ["甲", "乙", "丙"], ["1", "2", "3"]
    still = sensitivity(xn, w, pillar, 1, names, codes, draws=50, spread=0.0, top=1)
    assert still.rho.tolist() == [1.0] * 50 and still.top_share.tolist() == [1.0, 0.0, 0.0]
    moved = sensitivity(xn, w, pillar, 1, names, codes, draws=400, spread=0.3, seed=5, top=1)
    assert 0.2 < moved.top_share[0] < 0.8 and moved.top_share[0] + moved.top_share[1] == pytest.approx(1.0)
    assert set(np.round(moved.rho, 6)) == {1.0, 0.5}  # a swap of ranks 1 and 2 of three: 1 - 6*2/24
    again = sensitivity(xn, w, pillar, 1, names, codes, draws=400, spread=0.3, seed=5, top=1)
    assert np.array_equal(moved.rho, again.rho)  # seeded
    # drivers: region 0 is lifted by indicator 0 (x' 1 vs mean 0.4) and held back by indicator 1
    agg = aggregate(xn, w, pillar, 1)
    ups, low = drivers(xn, agg.effective, 2, 100.0)[0]
    assert [d.indicator for d in ups] == [0] and ups[0].points == pytest.approx(50 * (1 - 0.4))
    assert low.indicator == 1 and low.points == pytest.approx(50 * (0 - 0.3933333333))


# --------------------------------------------------------------------------- database-backed indicators


def test_computed_indicators_by_hand(session):
    build_world(session)
    src = load_index_source(session, 2024)
    assert src.edges.n_edges == 8
    tree = load_tree()
    codes = [i.code for i in tree.indicators if i.source == "computed"]
    prov = computed_indicators(src, "province", codes, tree.parameters)
    pos = {c: i for i, c in enumerate(src.provinces.codes)}

    def at(code: str, region: str) -> float:
        return float(prov[code][pos[region]])

    expected = {  # 北京 11, 上海 31, 广东 44, 江苏 32
        "sample_firms": (1, 1, 2, 0), "listed_firms": (1, 0, 1, 0), "listed_revenue": (10, 0, 30, 0),
        "listed_rd_expense": (2, 0, None, 0), "patents": (100, None, 50, 0),
        "foundation_layer_firms": (1, None, 0, 0), "technology_layer_firms": (0, None, 1, 0),
        "university_partners": (1, 0, 0, 0), "institute_partners": (0, 0, 1, 0), "academic_nodes": (1, 1, 0, 0),
        "investment_relations": (1, 0, 1, 0), "foreign_partners": (1, 0, 1, 0), "foreign_relations": (1, 0, 1, 0),
        "overseas_listed_firms": (0, 0, 1, 0), "network_degree": (4, 2, 8, 1),
        "enabling_share": (200 / 7, 200 / 7, 300 / 7, 0), "input_share": (25, 0, 62.5, 12.5),
        "cross_province_partners": (2, 2, 3, 1), "government_partners": (0, 0, 1, 0),
    }
    assert set(expected) == set(codes)
    for code, values in expected.items():
        for region, value in zip(("11", "31", "44", "32"), values, strict=True):
            got = at(code, region)
            if value is None:
                assert math.isnan(got), (code, region, got)
            else:
                assert got == pytest.approx(value), (code, region, got)
    city = computed_indicators(src, "city", codes, tree.parameters)
    cpos = {c: i for i, c in enumerate(src.cities.codes)}
    sz, gz, bj = cpos["440300"], cpos["440100"], cpos["110100"]
    assert city["sample_firms"][[bj, sz, gz]].tolist() == [1, 1, 1]
    assert city["cross_province_partners"][[sz, gz]].tolist() == [2, 1]  # same-province partners do not count
    assert city["network_degree"][[sz, gz]].tolist() == [4, 4]
    np.testing.assert_allclose(city["enabling_share"][[bj, sz, gz]], [200 / 7, 200 / 7, 100 / 7])
    assert city["listed_revenue"][sz] == 30 and math.isnan(city["patents"][gz])


def test_build_index_missing_values_outputs_and_imports(session, tmp_path):
    build_world(session)
    with pytest.raises(IndexBuildError, match="unknown level"):
        build_index(session, edition=2024, level="county")
    result = build_index(session, edition=2024, level="province")
    names = result.regions.names
    assert names == ["北京市", "上海市", "广东省"] and result.not_ranked == 31  # 江苏 has no sample firm
    inds = [i.code for i in result.tree.indicators]
    missing = {(names[m.region], inds[m.indicator]) for m in result.missing}
    assert {("上海市", "patents"), ("广东省", "listed_rd_expense"), ("上海市", "foundation_layer_firms")} <= missing
    assert ("北京市", "ai_policies") in missing and len(missing) == 4 + 3 * 5  # 5 imported, nothing imported
    assert any("ai_policies" in w and "no import file" in w for w in result.warnings)
    # a missing value is not a zero: 上海's patents carry no weight, the rest of its pillar does
    sh = names.index("上海市")
    j = inds.index("patents")
    assert np.isnan(result.normalised[sh, j]) and result.scores.effective[sh, j] == 0
    assert result.scores.effective[sh].sum() == pytest.approx(1.0)
    assert np.allclose(result.scores.effective.sum(axis=1), 1.0)
    assert result.weights[inds.index("ai_policies")] == 0  # entropy: no data, no weight
    assert [names[i] for i in result.order][0] in ("北京市", "广东省")

    imports = tmp_path / "imports"
    imports.mkdir()
    write_csv(imports / "policies.csv", [HEADER, ["ai_policies", "province", "北京", "", "2023", "12", "项", "test"],
                                         ["ai_policies", "province", "44", "", "2022", "7", "", "test"],
                                         ["ai_policies", "province", "广东省", "", "2021", "3", "", "test"],
                                         ["ai_policies", "province", "上海", "", "2024", "99", "", "after cutoff"],
                                         ["ai_policies", "province", "江苏", "", "2023", "5", "", "not ranked"]])
    with_imports = build_index(session, edition=2024, level="province", weights="expert", imports=imports)
    col = [i.code for i in with_imports.tree.indicators].index("ai_policies")
    values = with_imports.raw[:, col]
    assert values[0] == 12 and np.isnan(values[1]) and values[2] == 7  # latest year <= 2023 per region
    assert [(v.region_name, v.year, v.row) for v in with_imports.used_imports] == [("北京市", 2023, 2), ("广东省", 2022, 3)]
    assert any("after 2023 ignored" in w for w in with_imports.warnings)
    assert any("not ranked" in w and "江苏省" in w for w in with_imports.warnings)

    files = write_index(with_imports, tmp_path / "out")
    names_written = {f.name for f in files}
    for table in ("ranking", "values", "normalised", "weights", "sensitivity", "drivers", "missing", "imports", "method"):
        assert f"index_province_{table}.csv" in names_written
    assert {"index_province.xlsx", "index_province.md", "index_province_radar.png", "index_province_bar.svg"} <= names_written
    ranking = list(csv.DictReader((tmp_path / "out" / "index_province_ranking.csv").open(encoding="utf-8-sig")))
    assert [r["rank"] for r in ranking] == ["1", "2", "3"] and set(ranking[0]) >= {"total", "firm", "coverage"}
    values_csv = list(csv.DictReader((tmp_path / "out" / "index_province_values.csv").open(encoding="utf-8-sig")))
    assert next(r for r in values_csv if r["region"] == "上海市")["patents"] == ""  # missing is blank, not 0
    prov = list(csv.DictReader((tmp_path / "out" / "index_province_imports.csv").open(encoding="utf-8-sig")))
    assert prov[0]["source"] == "test" and prov[0]["file"].endswith("policies.csv:2")
    wb = load_workbook(tmp_path / "out" / "index_province.xlsx")
    assert wb.sheetnames[:2] == ["contents", "index_province_ranking"]
    before = {f.name: f.read_bytes() for f in files if f.suffix in (".csv", ".xlsx", ".png")}
    again = write_index(with_imports, tmp_path / "out")
    assert {f.name: f.read_bytes() for f in again if f.suffix in (".csv", ".xlsx", ".png")} == before


# --------------------------------------------------------------------------- import validation


def test_import_validation_errors_and_skip_bad(session, tmp_path):
    session.add(City(code="119901", name="苏州市", province_code="11"))  # a second 苏州市: ambiguous name
    session.commit()
    tree = load_tree()
    d = tmp_path / "imports"
    d.mkdir()
    write_csv(d / "a.csv", [
        HEADER,
        ["investment_amount", "city", "杭州", "浙江省", "2023", "1,250.5", "亿元", "good: city without 市"],
        ["人工智能政策数", "省", "11", "", "2023", "8", "", "good: Chinese names, code"],
        ["ai_policy", "province", "北京市", "", "2023", "8", "", "x"],
        ["sample_firms", "province", "北京市", "", "2023", "8", "", "x"],
        ["ai_policies", "county", "北京市", "", "2023", "8", "", "x"],
        ["ai_policies", "province", "杭州市", "", "2023", "8", "", "x"],
        ["ai_policies", "city", "杭州市", "江苏省", "2023", "8", "", "x"],
        ["ai_policies", "city", "苏州", "", "2023", "8", "", "x"],
        ["ai_policies", "province", "上海市", "", "23", "-1", "个", ""],
        ["ai_policies", "province", "广东省", "", "2023", "many", "", "x"],
    ])
    write_csv(d / "b.csv", [HEADER, ["ai_policies", "province", "北京", "", "2023", "9", "", "dup"]])
    (d / "README.md").write_text("not read", encoding="utf-8")
    with pytest.raises(IndexImportError) as exc:
        read_imports(session, d, tree.importable(), computed=["sample_firms"])
    text = str(exc.value)
    assert "nothing imported" in text
    expected = [
        "a.csv:row 4, column indicator: unknown imported indicator",
        "a.csv:row 5, column indicator: this indicator is computed from the database",
        "a.csv:row 6, column level: unknown level",
        "a.csv:row 7, column region: unknown province (it is a city of 浙江省; use level city)",
        "a.csv:row 8, column region: city is not in 江苏省 (it is in 浙江省)",
        "a.csv:row 9, column region: ambiguous city name (in 北京市、江苏省); add the province column",
        "a.csv:row 10, column year: not a year",
        "a.csv:row 10, column value: negative",
        "a.csv:row 10, column unit: unit differs from the indicator's unit '项'",
        "a.csv:row 10, column source: required",
        "a.csv:row 11, column value: not a number",
        "b.csv:row 2, column region: duplicate: ai_policies of 北京市 for 2023 is also given in row 3 of",
    ]
    for line in expected:
        assert line in text, line
    assert len({(f, e.row) for f, e in exc.value.errors}) == 9

    result = read_imports(session, d, tree.importable(), skip_bad=True, rejects_dir=tmp_path / "rejects")
    assert [(v.indicator, v.region_name, v.value) for v in result.values] == [
        ("investment_amount", "杭州市", 1250.5), ("ai_policies", "北京市", 8.0)]
    assert [(f.rows, f.accepted, f.rejected) for f in result.files] == [(10, 2, 8), (1, 0, 1)]
    rejects = list(csv.reader((tmp_path / "rejects" / "a.rejects.csv").open(encoding="utf-8-sig")))
    assert rejects[0][-2:] == ["row", "errors"] and rejects[1][-2] == "4" and "unknown imported" in rejects[1][-1]

    # XLSX with Chinese headers; a missing required column is fatal even with skip_bad
    wb = Workbook()
    wb.active.append(["指标", "层级", "地区", "年份", "数值", "来源"])
    wb.active.append(["public_compute", "province", "上海", 2023, 320.0, "test"])
    x = tmp_path / "x"
    x.mkdir()
    wb.save(x / "compute.xlsx")
    got = read_imports(session, x, tree.importable())
    assert [(v.indicator, v.region_code, v.year, v.value) for v in got.values] == [("public_compute", "31", 2023, 320.0)]
    write_csv(x / "bad.csv", [["indicator", "level", "region", "value", "source"], ["ai_policies", "province", "北京", "1", "x"]])
    with pytest.raises(IndexImportError, match="column year: required column missing"):
        read_imports(session, x, tree.importable(), skip_bad=True)


def test_example_imports_are_valid(session):
    result = read_imports(session, EXAMPLES, load_tree().importable())
    assert not result.errors and len(result.values) > 40
    assert {v.indicator for v in result.values} == set(load_tree().importable())
    assert all("illustrative" in v.source for v in result.values)


def test_published_comparison():
    figures = load_figures(PUBLISHED_2024)
    assert published_ranking(figures, "province") == ["北京市", "广东省", "上海市", "浙江省", "江苏省"]
    assert len(published_ranking(figures, "city")) == 10

    class Fake:  # the parts of an IndexResult compare_published reads
        level = "province"
        regions = Regions("province", ["11", "31", "44", "33"], ["北京市", "上海市", "广东省", "浙江省"],
                          ["11", "31", "44", "33"])
        rank = np.array([1, 2, 3, 4])

        def top(self, k):
            return [(r + 1, n, 0.0) for r, n in enumerate(self.regions.names[:k])]

    cmp = compare_published(Fake(), ["北京市", "广东省", "上海市", "江苏省"], k=3)
    assert cmp.common == ["北京市", "广东省", "上海市"] and cmp.our_rank["江苏省"] is None
    assert cmp.rho_common == pytest.approx(0.5) and cmp.rho_published == pytest.approx(0.5)


# --------------------------------------------------------------------------- the command


def test_cli_index(env_db, tmp_path):
    engine = make_engine(env_db)
    with session_factory(engine)() as s:
        build_world(s)
    runner = CliRunner()
    out = tmp_path / "bundle"
    res = runner.invoke(app, ["index", "--edition", "2024", "--level", "all", "--out", str(out),
                              "--compare", str(PUBLISHED_2024)])
    assert res.exit_code == 0, res.output
    assert "2024 province index (entropy, minmax)" in res.output and "2024 city index" in res.output
    assert "published province ranking: 北京市 (aimap" in res.output
    assert (out / "2024" / "index" / "index_city_ranking.csv").exists()
    bad = tmp_path / "imports"
    bad.mkdir()
    write_csv(bad / "p.csv", [HEADER, ["ai_policies", "province", "北京", "", "2023", "7", "", "ok"],
                              ["ai_policies", "province", "火星", "", "2023", "7", "", "bad"]])
    res = runner.invoke(app, ["index", "--edition", "2024", "--imports", str(bad), "--out", str(out)])
    assert res.exit_code == 1 and "p.csv:row 3, column region: unknown province" in res.output
    assert "nothing imported" in res.output
    res = runner.invoke(app, ["index", "--edition", "2024", "--imports", str(bad), "--skip-bad", "--weights", "mix",
                              "--normalisation", "zscore", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "1 bad rows skipped" in res.output and (out / "2024" / "index" / "rejects" / "p.rejects.csv").exists()
    with session_factory(engine)() as s:
        assert s.scalar(select(PipelineError.reason).where(PipelineError.stage == "index")) == "unknown province"
    res = runner.invoke(app, ["index", "--edition", "2024", "--weights", "ahp", "--out", str(out)])
    assert res.exit_code == 2 and "'ahp' is not one of" in res.output  # a closed choice: one-line usage error
    engine.dispose()
