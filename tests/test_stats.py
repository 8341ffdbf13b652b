"""The report's statistics on a database small enough to check every number by hand (both engines).

The world (:func:`build_world`): sample firms A (北京, software), B (广东, electronics), C (上海,
cars), D (广东, not in the network); relation nodes U (北京, education), F (no province, agriculture),
G (广东, section C without division), H (广东, no industry). Events:

    e1 2021 A->U        e2 2022 A->B        e3 2022 A->B (repeat)   e4 2022 B->C
    e5 2023 C->F        e6 2023 A->G mutual e7 2023 U->H            e8 2023 B->A
    e9 2020 A->C terminated 2021-05-01 (in the networks of 2020 and 2021 only)

Network of 2023: edges A->U, A->B (weight 2), B->C, C->F, A->G, U->H, B->A; 7 nodes (3 sample).
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from analysis.edition import ReportError
from analysis.loaders import edition_years, load_report_data
from analysis.measures import degree_concentration, degree_distribution, fit_power_law, top_nodes
from analysis.network import (
    EventRow,
    EventTable,
    data_version,
    data_version_edges,
    yearly_edges,
    yearly_network,
)
from analysis.presentation import bucket_counts, rank_order, share_rows
from analysis.spec import Bucket, load_spec, validate_partition
from analysis.stats import compute_edition
from db.models import (
    Alias,
    CooperationEvent,
    EventApplicationDomain,
    EventTechCategory,
    FirmAttributes,
    FirmFinancials,
    Organisation,
)

A, B, C, D, U, F, G, H = 1, 2, 3, 4, 10, 11, 12, 13


def build_world(session) -> None:
    """Insert the hand-checkable world of the module docstring and commit."""
    orgs = [
        (A, "甲科技股份有限公司", "firm", True, "11", "I", "65"),
        (B, "乙电子股份有限公司", "firm", True, "44", "C", "39"),
        (C, "丙汽车有限公司", "firm", True, "31", "C", "36"),
        (D, "丁智能有限公司", "firm", True, "44", None, None),
        (U, "清华大学", "university", False, "11", "P", "83"),
        (F, "英特尔公司", "foreign_firm", False, None, "A", "01"),
        (G, "吉利控股集团有限公司", "firm", False, "44", "C", None),
        (H, "某医院", "hospital", False, "44", None, None),
    ]
    for oid, name, kind, sample, prov, sec, div in orgs:
        session.add(Organisation(id=oid, name=name, kind=kind, is_sample=sample, province_code=prov,
                                 industry_section=sec, industry_division=div, origin="test"))
    session.flush()
    session.add_all([
        Alias(organisation_id=A, name="甲", kind="short"),
        Alias(organisation_id=B, name="乙股份", kind="stock_short"),
        Alias(organisation_id=B, name="乙", kind="short"),
        Alias(organisation_id=F, name="Intel", kind="short"),
        Alias(organisation_id=G, name="吉利", kind="short"),
        Alias(organisation_id=H, name="医院甲", kind="short"),
    ])
    session.add_all([
        FirmAttributes(organisation_id=A, founded_on=dt.date(2015, 3, 1), employees=199, listed=True,
                       tech_layer="应用层", patents=200),
        FirmAttributes(organisation_id=B, founded_on=dt.date(2012, 1, 1), employees=1000, listed=True,
                       tech_layer="基础层", patents=1000),
        FirmAttributes(organisation_id=C, founded_on=dt.date(2019, 6, 1), employees=1001, listed=False,
                       tech_layer="应用层", patents=1001),
        FirmFinancials(organisation_id=A, fiscal_year=2022, revenue_cny=20e8, rd_expense_cny=2e8),
        FirmFinancials(organisation_id=B, fiscal_year=2022, revenue_cny=100e8, rd_expense_cny=1.99e8),
        FirmFinancials(organisation_id=B, fiscal_year=2021, revenue_cny=1e8, rd_expense_cny=1e8),
        FirmFinancials(organisation_id=C, fiscal_year=2022, revenue_cny=5e8, rd_expense_cny=1e8),
    ])
    events = [
        (1, A, U, 2021, "directed", "active", None, "strategic", ["big_data_cloud"], ["smart_city"]),
        (2, A, B, 2022, "directed", "active", None, "supply", ["iot", "big_data_cloud"], []),
        (3, A, B, 2022, "directed", "active", None, "procurement", [], []),
        (4, B, C, 2022, "directed", "active", None, "supply", ["iot"], []),
        (5, C, F, 2023, "directed", "active", None, "supply", ["ai_chips"], []),
        (6, A, G, 2023, "mutual", "active", None, "strategic", ["big_data_cloud"], []),
        (7, U, H, 2023, "directed", "active", None, "joint_lab", [], []),
        (8, B, A, 2023, "directed", "active", None, "supply", ["iot"], []),
        (9, A, C, 2020, "directed", "terminated", dt.date(2021, 5, 1), "supply", ["ai_chips"], []),
    ]
    for eid, p, r, year, direction, status, term, kind, _techs, _domains in events:
        session.add(CooperationEvent(id=eid, event_key=f"e{eid}", provider_id=p, receiver_id=r, reported_by_id=p,
                                     kind=kind, direction=direction, status=status, year=year, terminated_on=term))
    session.flush()
    for eid, *_, techs, domains in events:
        session.add_all([EventTechCategory(event_id=eid, category_code=c) for c in techs])
        session.add_all([EventApplicationDomain(event_id=eid, domain_code=c) for c in domains])
    session.commit()


def rows_of(table) -> list[dict]:
    return table.records()


@pytest.fixture
def edition(session):
    build_world(session)
    data = load_report_data(session, 2024)
    return compute_edition(data, 2024, edition_years(session, 2024))


# --------------------------------------------------------------------------- pure functions


def test_bucket_edges_inclusive_and_exclusive():
    spec = load_spec()
    employees = spec.buckets["employees"]
    labels = [b.label for b in employees]
    where = {v: labels[[b.contains(v) for b in employees].index(True)] for v in (0, 199, 200, 399, 400, 999, 1000,
                                                                                  1001)}
    assert where == {0: "<200", 199: "<200", 200: "200-399", 399: "200-399", 400: "400-599", 999: "800-1000",
                     1000: "800-1000", 1001: ">1000"}
    revenue = spec.buckets["revenue"]
    assert bucket_counts([19.999, 20.0, 99.99, 100.0, 250.0], revenue) == ([1, 1, 0, 0, 1, 2], 0)
    assert bucket_counts([-1.0], spec.buckets["rd_expense"]) == ([1, 0, 0, 0, 0, 0], 0)  # "<2" is unbounded below


def test_bucket_partition_is_validated():
    ok = [Bucket("a", None, True, 1, False), Bucket("b", 1, True, None, False)]
    validate_partition(ok, "ok")
    with pytest.raises(ValueError, match="gap or overlap"):
        validate_partition([Bucket("a", None, True, 1, False), Bucket("b", 2, True, None, False)], "gap")
    with pytest.raises(ValueError, match="exactly one side"):
        validate_partition([Bucket("a", None, True, 1, True), Bucket("b", 1, True, None, False)], "overlap")
    with pytest.raises(ValueError, match="exactly one side"):
        validate_partition([Bucket("a", None, True, 1, False), Bucket("b", 1, False, None, False)], "hole at 1")


def test_share_rows_and_tie_rule():
    rows = share_rows({"乙": 2, "甲": 2, "丙": 1})
    # count descending, then name by code point: 乙 (U+4E59) before 甲 (U+7532)
    assert [r[0] for r in rows] == ["乙", "甲", "丙"]
    assert [round(r[2], 4) for r in rows] == [40.0, 40.0, 20.0]
    assert share_rows({"x": 1}, order=["y", "x"], total=4) == [["y", 0, 0.0], ["x", 1, 25.0]]
    assert rank_order(["b", "a", "a"], [1, 1, 1], [9, 8, 7]) == [2, 1, 0]


def test_top_nodes_ties_by_degree_then_name_then_id():
    ids = np.array([5, 6, 7, 8, 9])
    labels = ["b", "a", "c", "a", "z"]
    in_deg, out_deg = np.array([1, 0, 3, 0, 0]), np.array([1, 2, 0, 2, 1])
    # degrees 2, 2, 3, 2, 1 -> 7 (3); then 6 "a" and 8 "a" (id order); then 5 "b"
    assert [int(ids[i]) for i in top_nodes(ids, labels, in_deg, out_deg, 4)] == [7, 6, 8, 5]
    many = np.arange(100)
    deg = np.zeros(100, dtype=np.int64)
    deg[[3, 50, 97]] = [5, 9, 5]
    assert top_nodes(many, [f"n{i:03d}" for i in many], deg, np.zeros(100, dtype=np.int64), 3) == [50, 3, 97]


def test_degree_concentration_and_distribution():
    degrees = np.array([4, 3, 2, 2, 1, 1, 1])
    assert degree_concentration(degrees, 0.2) == pytest.approx(50.0)  # ceil(1.4) = 2 nodes hold 7 of 14
    assert degree_concentration(np.array([], dtype=np.int64)) == 0.0
    dist = degree_distribution(degrees)
    assert [r[:2] for r in dist] == [[1, 3], [2, 2], [3, 1], [4, 1]]
    assert sum(r[2] for r in dist) == pytest.approx(100.0)


def test_power_law_fit_recovers_exponent():
    rng = np.random.default_rng(5)
    degrees = rng.zipf(2.5, 20000)
    fit = fit_power_law(degrees)
    assert fit is not None and abs(fit.alpha - 2.5) < 0.15 and fit.xmin >= 1 and fit.n_tail > 1000
    assert math.isfinite(fit.R) and 0 <= fit.p <= 1
    assert fit_power_law(np.array([1, 2, 3])) is None


def test_vectorised_networks_equal_networkx_reference():
    rng = np.random.default_rng(3)
    rows = [EventRow(int(p), int(r), int(y), "mutual" if m else "directed", "terminated" if t else "active",
                     int(y) + 1 if t else None)
            for p, r, y, m, t in zip(rng.integers(0, 30, 300), rng.integers(0, 30, 300), rng.integers(2014, 2024, 300),
                                     rng.random(300) < 0.3, rng.random(300) < 0.1, strict=True)]
    table = EventTable.from_rows(rows)
    for year in (2014, 2018, 2023):
        for mutual in ("reporter", "both"):
            for window in (None, 3):
                ref = yearly_network(rows, year, window=window, mutual=mutual)
                fast = yearly_edges(table, year, window=window, mutual=mutual)
                assert sorted(fast.to_graph().edges(data=True)) == sorted(ref.edges(data=True))
                assert set(fast.to_graph().nodes) == set(ref.nodes)
                assert data_version_edges(fast) == data_version(ref)


# --------------------------------------------------------------------------- from the database


def test_table1_by_hand(edition):
    t1 = {r["year"]: r for r in rows_of(edition.tables["table1"])}
    assert sorted(t1) == [2020, 2021, 2022, 2023]
    counts = {y: (r["sample_nodes"], r["relation_nodes"], r["nodes"], r["edges"]) for y, r in t1.items()}
    assert counts == {2020: (2, 0, 2, 1), 2021: (2, 1, 3, 2), 2022: (3, 1, 4, 3), 2023: (3, 4, 7, 7)}
    last = t1[2023]
    assert last["avg_degree"] == pytest.approx(1.0)
    # reachable pairs of 2023: from A 6 pairs (sum 10), from B 6 (sum 11), C->F, U->H
    assert last["diameter"] == 3 and last["avg_path_length"] == pytest.approx(23 / 14)
    assert last["avg_clustering"] == pytest.approx(0.0)
    net = edition.networks[2023].edges
    pairs = zip(net.provider_ids().tolist(), net.receiver_ids().tolist(), strict=True)
    weights = dict(zip(pairs, net.weight.tolist(), strict=True))
    assert weights == {(A, B): 2, (A, U): 1, (A, G): 1, (B, A): 1, (B, C): 1, (C, F): 1, (U, H): 1}


def test_hub_tables_names_and_ties(edition):
    t2 = [(r["name"], r["full_name"], r["in_degree"], r["out_degree"], r["degree"])
          for r in rows_of(edition.tables["table2_top_sample_nodes"])]
    assert t2 == [("甲", "甲科技股份有限公司", 1, 3, 4), ("乙", "乙电子股份有限公司", 1, 2, 3),
                  ("丙汽车有限公司", "丙汽车有限公司", 1, 1, 2)]  # short alias preferred; C has none
    t3 = [(r["name"], r["degree"]) for r in rows_of(edition.tables["table3_top_relation_nodes"])]
    # ties at degree 1 ordered by name: "Intel" < 医院甲 (U+533B) < 吉利 (U+5409)
    assert t3 == [("清华大学", 2), ("Intel", 1), ("医院甲", 1), ("吉利", 1)]


def test_category_shares_count_each_assignment(edition):
    t15 = [(r["name"], r["events"], round(r["share"], 3)) for r in rows_of(edition.tables["fig15_tech_categories"])]
    # 8 active events, 7 assignments; e3 and e7 have none; the terminated e9 is not in the 2023 network
    assert t15[:3] == [("大数据和云计算", 3, 42.857), ("物联网", 3, 42.857), ("智能芯片", 1, 14.286)]
    assert all(r[1] == 0 for r in t15[3:]) and len(t15) == 24
    assert "2 events without a category" in edition.tables["fig15_tech_categories"].notes[0]
    t16 = rows_of(edition.tables["fig16_application_domains"])
    assert (t16[0]["name"], t16[0]["events"], t16[0]["share"]) == ("智慧城市", 1, 100.0)


def test_sector_mapping_and_industry_shares(edition):
    t17 = {r["year"]: r for r in rows_of(edition.tables["fig17_sectors_by_year"])}
    last = t17[2023]
    # receivers: U tertiary, B, C, G (section C only -> secondary), F primary, A tertiary; H unknown
    assert (round(last["share_1"], 3), round(last["share_2"], 3), round(last["share_3"], 3)) == (16.667, 50.0, 33.333)
    assert (last["relations"], last["unknown"]) == (6, 1)
    assert (t17[2020]["share_2"], t17[2020]["relations"]) == (100.0, 1)  # A->C, C makes cars
    t18 = [(r["section"], r["share"]) for r in rows_of(edition.tables["fig18_tertiary_sections"])]
    assert t18 == [("信息传输、软件和信息技术服务业", 50.0), ("教育", 50.0)]
    assert [(r["section"], r["relations"]) for r in rows_of(edition.tables["fig19_secondary_sections"])] == [("制造业", 3)]
    t20 = [(r["division"], r["share"]) for r in rows_of(edition.tables["fig20_manufacturing_divisions"])]
    assert t20 == [("汽车制造业", 50.0), ("计算机、通信和其他电子设备制造业", 50.0)]
    assert "1 edges to manufacturing receivers without a division" in edition.tables["fig20_manufacturing_divisions"].notes[0]


def test_province_shares_and_flows(edition):
    t6 = rows_of(edition.tables["table6_provinces"])
    enabling = [(r["enabling_province"], r["enabling_relations"], round(r["enabling_share"], 2)) for r in t6]
    inputs = [(r["input_province"], r["input_relations"], round(r["input_share"], 2)) for r in t6]
    assert enabling == [("北京市", 4, 57.14), ("广东省", 2, 28.57), ("上海市", 1, 14.29)]
    assert inputs == [("广东省", 3, 50.0), ("北京市", 2, 33.33), ("上海市", 1, 16.67)]  # F has no province
    t7 = [(r["from_province"], r["to_province"], r["relations"], round(r["share"], 2), r["type"])
          for r in rows_of(edition.tables["table7_flows"])]
    assert t7 == [("北京市", "广东省", 3, 50.0, "跨省技术流动"), ("北京市", "北京市", 1, 16.67, "省内技术流动"),
                  ("广东省", "上海市", 1, 16.67, "跨省技术流动"), ("广东省", "北京市", 1, 16.67, "跨省技术流动")]
    assert edition.figures["spatial"]["core_four_enabling_share"] == 100.0


def test_firm_figures_by_hand(edition):
    t = edition.tables
    assert [(r["year"], r["firms"]) for r in rows_of(t["fig01_founding_years"])] == [(2012, 1), (2015, 1), (2019, 1)]
    founding = edition.figures["firms"]["founding_year"]
    assert founding["share_2012_2018"] == pytest.approx(66.6667) and founding["peak_year"] == 2012
    regions = [(r["region"], r["firms"]) for r in rows_of(t["fig02_regions"])][:3]
    assert regions == [("珠江三角洲", 2), ("京津冀", 1), ("长江三角洲", 1)]  # D counts: 4 firms with a province
    assert {r["bucket"]: r["firms"] for r in rows_of(t["fig04_employees"])} == {
        "<200": 1, "200-399": 0, "400-599": 0, "600-799": 0, "800-1000": 1, ">1000": 1}
    assert [(r["firms"], r["share"]) for r in rows_of(t["fig05_listed"])] == [(2, 50.0), (2, 50.0)]
    # listed A and B, fiscal year 2022 (edition - 2): revenue 20 and 100 亿元, R&D 2 and 1.99, intensity 10% and 1.99%
    assert {r["bucket"]: r["firms"] for r in rows_of(t["fig06_revenue"]) if r["firms"]} == {"20-40": 1, ">100": 1}
    assert {r["bucket"]: r["firms"] for r in rows_of(t["fig07_rd_expense"]) if r["firms"]} == {"<2": 1, "2-4": 1}
    assert {r["bucket"]: r["firms"] for r in rows_of(t["fig08_rd_intensity"]) if r["firms"]} == {"<5%": 1, "10-15%": 1}
    assert [(r["layer"], r["firms"]) for r in rows_of(t["fig09_tech_layers"])] == [("应用层", 2), ("基础层", 1), ("技术层", 0)]
    assert {r["bucket"]: r["firms"] for r in rows_of(t["fig10_patents"]) if r["firms"]} == {
        "200-400": 1, "800-1000": 1, ">1000": 1}
    patents = [(r["province"], r["patents"]) for r in rows_of(t["fig11_patents_by_province"])]
    assert patents == [("上海市", 1001), ("广东省", 1000), ("北京市", 200)]
    assert [(r["layer"], r["patents"]) for r in rows_of(t["fig12_patents_by_layer"])] == [("应用层", 1201), ("基础层", 1000),
                                                                                       ("技术层", 0)]


def test_degree_figure_and_drawing(edition):
    dist = [(r["degree"], r["nodes"]) for r in rows_of(edition.tables["fig14_degree_distribution"])]
    assert dist == [(1, 3), (2, 2), (3, 1), (4, 1)]
    hubs = [r["name"] for r in rows_of(edition.tables["fig13_network"])]
    assert hubs[:3] == ["甲", "乙", "丙汽车有限公司"]
    assert edition.tables["fig13_network"].chart.payload["nodes"] == list(range(7))  # small: drawn whole


def test_mutual_rule_both_and_window(session):
    build_world(session)
    data = load_report_data(session, 2024)
    both = compute_edition(data, 2024, [2022, 2023], mutual="both")
    assert both.networks[2023].counts.edges == 8  # G -> A added for the mutual event e6
    rolling = compute_edition(data, 2024, [2022, 2023], window=1)
    assert rolling.networks[2023].counts.edges == 4  # 2023 events only: C->F, A->G, U->H, B->A


def test_edition_without_data_is_a_clear_error(session):
    build_world(session)
    with pytest.raises(ReportError, match="no cooperation events dated 2019 or earlier"):
        edition_years(session, 2020)
    assert edition_years(session, 2024) == [2020, 2021, 2022, 2023]
