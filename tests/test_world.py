"""The demo world model (demosite.world): determinism, growth by year, calibration, validity.

Calibration tolerances (stated here, checked below; the benchmark prints every figure):

- Table 1 sample nodes, relation nodes, nodes and edges of every year: within 5% of the report's
  values scaled to the preset (demosite.targets.table1_targets);
- top 20% of nodes hold 65-85% of the degree (report: about 75%);
- hubs of Tables 2 and 3: total degree within 10% (or 2) of the scaled report value;
- technology categories and application domains (top five): within 1 percentage point;
- receiving side: sectors within 3 points, tertiary/secondary sections within 5 points,
  manufacturing divisions within 3 points;
- province enabling/input shares (top five): within 3 points;
- firm distributions (provinces, founding years, employees, listing, layers, patents): within
  1.5 points (quota rounding); listed firms' revenue, R&D and intensity buckets within 4 points;
  patents by province (top five) and by layer within 4 points;
- path statistics of 2023 on `medium`: average path length within 15%, diameter within 3,
  clustering between 0.02 and 0.12 (report: 3.826, 11, 0.069).

The `report` preset is built once (about 15 s) for its Table 1 and hub check; the full side by
side comparison at that scale is printed by benchmarks/bench_world.py.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import yaml

from common.identifiers import validate_stock_code, validate_uscc
from db.taxonomy import load_industry_divisions, load_provinces
from demosite import calibration as cal
from demosite import targets as tg
from demosite.world import (
    APPLICATION_DOMAINS,
    EVENT_CSV_COLUMNS,
    EVENT_KINDS,
    PARTNER_KINDS,
    PRESETS,
    TECH_CATEGORIES,
    World,
    build_world,
    check_names,
    step,
    write_truth,
)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny() -> World:
    return build_world(7, "tiny")


@pytest.fixture(scope="module")
def small() -> World:
    return build_world(7, "small")


@pytest.fixture(scope="module")
def medium() -> World:
    return build_world(7, "medium")


@pytest.fixture(scope="module")
def medium_figures(medium: World) -> dict:
    return cal.world_figures(medium, paths=False)


# --------------------------------------------------------------------------------------
# determinism and growth by year
# --------------------------------------------------------------------------------------


def _truth_digest(world: World, directory: Path) -> str:
    digest = hashlib.sha256()
    for path in write_truth(world, directory):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def test_same_seed_same_world_different_seed_different(tiny: World, tmp_path: Path) -> None:
    again = build_world(7, "tiny")
    assert again == tiny
    assert _truth_digest(again, tmp_path / "a") == _truth_digest(tiny, tmp_path / "b")
    other = build_world(8, "tiny")
    assert other != tiny
    assert [f.name for f in other.firms] != [f.name for f in tiny.firms]
    assert _truth_digest(other, tmp_path / "c") != _truth_digest(tiny, tmp_path / "b")


def test_world_does_not_depend_on_hash_seed(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from demosite.world import build_world, write_truth; "
        "write_truth(build_world(3, 'small'), Path(sys.argv[1]))"
    )
    digests = set()
    for hash_seed in ("1", "2"):
        out = tmp_path / f"h{hash_seed}"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", code, str(out)], check=True, cwd=REPO, env=env, timeout=300)
        digests.add(hashlib.sha256(b"".join(p.read_bytes() for p in sorted(out.iterdir()))).hexdigest())
    assert len(digests) == 1


def test_next_year_extends_the_world(small: World) -> None:
    later = step(small)
    assert later.through_year == 2024 and later == build_world(7, "small", through_year=2024)
    assert later.firms == small.firms
    assert later.partners[: len(small.partners)] == small.partners
    assert later.events[: len(small.events)] == small.events
    assert later.news[: len(small.news)] == small.news
    new_events = later.events[len(small.events) :]
    assert new_events and {e.year for e in new_events} == {2024}
    assert {n.date.year for n in later.news[len(small.news) :]} == {2024}
    # an earlier cut is a prefix too
    early = build_world(7, "small", through_year=2019)
    assert small.events[: len(early.events)] == early.events
    assert max(e.year for e in early.events) == 2019
    # the extra year grows by the extrapolated rates
    targets = tg.table1_targets(300, PRESETS["small"].relation_nodes, PRESETS["small"].edges)
    row = cal.table1(later, [2024], paths=False)[0]
    assert abs(row.edges - targets[2024][2]) <= 0.05 * targets[2024][2]
    assert abs(row.relation_nodes - targets[2024][1]) <= 0.05 * targets[2024][1]


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown preset"):
        build_world(preset="huge-typo")
    with pytest.raises(ValueError, match="through_year"):
        build_world(preset="tiny", through_year=2013)
    with pytest.raises(ValueError, match="through_year"):
        build_world(preset="tiny", through_year=tg.MAX_YEAR + 1)


# --------------------------------------------------------------------------------------
# sizes and calibration
# --------------------------------------------------------------------------------------


def test_preset_sizes(tiny: World, small: World, medium: World) -> None:
    assert len(tiny.firms) == 8 and 18 <= len(tiny.partners) <= 24 and 50 <= len(tiny.events) <= 70
    assert {e.year for e in tiny.events} == set(range(2014, 2024))
    assert len(small.firms) == 300 and len(medium.firms) == 1000
    assert PRESETS["report"].firms == 4311
    assert PRESETS["report"].relation_nodes == 31361 and PRESETS["report"].edges == 91158
    for name in ("清华大学", "英特尔（中国）有限公司", "杭州市人民政府", "中国信息通信研究院"):
        assert tiny.partner_by_name(name) is not None


def _check_table1(world: World) -> None:
    preset = PRESETS[world.preset]
    targets = tg.table1_targets(preset.firms, preset.relation_nodes, preset.edges)
    for row in cal.table1(world, paths=False):
        s, r, e = targets[row.year]
        for got, want in ((row.sample_nodes, s), (row.relation_nodes, r), (row.nodes, s + r), (row.edges, e)):
            assert abs(got - want) <= max(1, 0.05 * want), (row, targets[row.year])


@pytest.mark.parametrize("name", ["small", "medium"])
def test_table1_within_five_percent(name: str, request: pytest.FixtureRequest) -> None:
    _check_table1(request.getfixturevalue(name))


def test_report_preset_table1_and_hubs() -> None:
    world = build_world(7, "report")
    _check_table1(world)
    rows = {r.year: r for r in cal.table1(world, paths=False)}
    reported = tg.report()["network"]["table1"]
    assert rows[2023].sample_nodes == 4311
    assert abs(rows[2023].edges - reported[2023][3]) <= 0.05 * reported[2023][3]
    degrees = cal.degrees(world, 2023)
    by_report_name = {f.report_name: f.name for f in world.firms if f.report_name}
    by_report_name |= {p.report_name: p.name for p in world.partners if p.report_name}
    for table in ("top_sample_nodes", "top_relation_nodes"):
        for name, (_i, _o, total) in tg.report()["network"][table].items():
            got = sum(degrees[by_report_name[name]])
            assert abs(got - total) <= max(2, 0.1 * total), (name, got, total)
    assert 0.65 <= cal.concentration(world, 2023) <= 0.85


def test_hubs_and_concentration(medium: World, medium_figures: dict) -> None:
    assert 0.65 <= medium_figures["concentration"] <= 0.85
    scale = PRESETS["medium"].edges / tg.report()["network"]["table1"][2023][3]
    for table in ("top_sample_nodes", "top_relation_nodes"):
        for name, (_i, _o, total) in tg.report()["network"][table].items():
            got = sum(medium_figures["hubs"][name])
            assert abs(got - total * scale) <= max(2, 0.1 * total * scale), (name, got, total * scale)
    # the biggest hub is the biggest node
    degrees = cal.degrees(medium, 2023)
    top = max(degrees, key=lambda n: sum(degrees[n]))
    assert top == "华为技术有限公司"


def test_categories_and_domains(medium_figures: dict) -> None:
    coop = tg.report()["cooperation"]
    for name, share in coop["tech_categories_top5"].items():
        assert abs(medium_figures["tech"][name] - share) <= 1.0, name
    for name, share in coop["application_domains_top5"].items():
        assert abs(medium_figures["domains"][name] - share) <= 1.0, name


def test_receiving_side_sectors(medium_figures: dict) -> None:
    coop = tg.report()["cooperation"]
    for name, share in coop["sectors_2023"].items():
        assert abs(medium_figures["sectors"].get(name, 0.0) - share) <= 3.0, name
    from db.taxonomy import load_industry_sections

    code = {s.name: s.code for s in load_industry_sections()}
    for sector, key in (("第三产业", "tertiary_2023"), ("第二产业", "secondary_2023")):
        for name, share in coop[key].items():
            assert abs(medium_figures["sections"][sector].get(code[name], 0.0) - share) <= 5.0, name
    divisions = {d.name: d.code for d in load_industry_divisions()}
    for name, share in coop["manufacturing_2023_top5"].items():
        assert abs(medium_figures["manufacturing"].get(divisions[name], 0.0) - share) <= 3.0, name


def test_province_shares(medium_figures: dict) -> None:
    spatial = tg.report()["spatial"]
    for key, table in (("enabling", spatial["enabling_by_province"]), ("input", spatial["input_by_province"])):
        for name, share in list(table.items())[:5]:
            assert abs(medium_figures[key].get(name, 0.0) - share) <= 3.0, (key, name)
    # the four largest flows are the report's four, in the report's order of size
    flows = sorted(medium_figures["flows"].items(), key=lambda kv: -kv[1])[:4]
    assert [k for k, _ in flows] == [f"{a}-{b}" for a, b, _ in spatial["flows_top20"][:4]]


def test_firm_distributions(medium: World, medium_figures: dict) -> None:
    ff, rf = medium_figures["firms"], tg.report()["firms"]
    assert abs(ff["founded_2012_2018"] - rf["founding_year"]["share_2012_2018"]) <= 1.5
    assert ff["founded_peak"][0] == rf["founding_year"]["peak_year"]
    for name, share in rf["provinces_top5"].items():
        assert abs(ff["provinces"][name] - share) <= 1.5, name
    for key in ("employees", "patents"):
        for name, share in rf[key].items():
            assert abs(ff[key].get(name, 0.0) - share) <= 1.5, (key, name)
    assert abs(ff["listed"][1] - rf["listed"]["listed_share"]) <= 1.5
    for key, rkey in (("revenue", "listed_revenue_2022"), ("rd", "listed_rd_expense_2022"),
                      ("rd_intensity", "listed_rd_intensity_2022")):
        for name, share in rf[rkey].items():
            assert abs(ff[key].get(name, 0.0) - share) <= 4.0, (key, name)
    for name, spec in rf["tech_layer"].items():
        assert abs(ff["layers"][name] - spec["firms"] * 1000 / 4311) <= 1.5, name
    for name, share in rf["patents_by_province"].items():
        if name != "top10_order" and share > 5:
            assert abs(ff["patents_by_province"].get(name, 0.0) - share) <= 4.0, name
    for name, share in rf["patents_by_layer"].items():
        assert abs(ff["patents_by_layer"][name] - share) <= 4.0, name


def test_path_statistics_medium(medium: World) -> None:
    diameter, apl, clustering = cal.path_statistics(cal.network_edges(medium, 2023))
    reported = tg.report()["network"]["table1"][2023]
    assert abs(apl - reported[6]) <= 0.15 * reported[6]
    assert abs(diameter - reported[5]) <= 3
    assert 0.02 <= clustering <= 0.12


# --------------------------------------------------------------------------------------
# validity
# --------------------------------------------------------------------------------------


def test_identifiers_and_places(small: World) -> None:
    cities = {c.name: (p.name, c.code) for p in load_provinces() for c in p.cities}
    divisions = {d.code for d in load_industry_divisions()}
    usccs = [f.uscc for f in small.firms] + [p.uscc for p in small.partners]
    assert len(set(usccs)) == len(usccs)
    for org in (*small.firms, *small.partners):
        assert validate_uscc(org.uscc) is None, org.uscc
        assert org.uscc[2:8] == org.district_code, org.name
        province, city_code = cities[org.city]
        assert province == org.province
        assert org.district_code[:4] == city_code[:4], (org.name, org.district_code, city_code)
        assert org.industry_division in divisions
    codes = [f.stock_code for f in small.firms if f.listed]
    assert len(set(codes)) == len(codes)
    for f in small.firms:
        assert f.uscc.startswith("91")
        if f.listed:
            assert validate_stock_code(f.exchange, f.stock_code) is None, (f.exchange, f.stock_code)
            assert f.fiscal_year == 2022 and 0 < f.rd_expense_cny < f.revenue_cny
            assert f.stock_short_name
        else:
            assert f.exchange is f.stock_code is f.stock_short_name is f.revenue_cny is None
    gov = [p for p in small.partners if p.kind == "government"]
    assert gov and all(p.uscc.startswith("11") for p in gov)
    assert {p.kind for p in small.partners} <= set(PARTNER_KINDS)
    assert len({p.kind for p in small.partners}) >= 10


def test_no_name_contains_another(small: World) -> None:
    """Independent of check_names: every substring of every name, looked up in one index."""
    assert check_names(small) == []
    owner: dict[str, int] = {}
    orgs = [f.names for f in small.firms] + [p.names for p in small.partners]
    families = yaml.safe_load((REPO / "demosite" / "data" / "organisations.yml").read_text(encoding="utf-8"))
    family_pairs = {(p, m) for p, ms in families["brand_families"].items() for m in ms}
    full = [names[0] for names in orgs]
    for i, names in enumerate(orgs):
        for name in names:
            assert owner.setdefault(name, i) == i, f"{name} used twice"
    substrings: dict[str, set[int]] = defaultdict(set)
    for i, names in enumerate(orgs):
        for name in names:
            for a in range(len(name)):
                for b in range(a + 1, len(name) + 1):
                    substrings[name[a:b]].add(i)
    for name, i in owner.items():
        for j in substrings.get(name, ()):
            if j != i:
                assert (full[i], full[j]) in family_pairs, f"{name!r} ({full[i]}) inside a name of {full[j]}"
    for term in (*TECH_CATEGORIES, *APPLICATION_DOMAINS):
        assert not substrings.get(term), term


def test_events_are_consistent(small: World) -> None:
    firms = {f.name: f for f in small.firms}
    partners = {p.name for p in small.partners}
    slugs = {f.id: f for f in small.firms}
    ids = [e.id for e in small.events]
    assert len(set(ids)) == len(ids)
    since = tg.model()["tech"]["since"]
    groups: dict[str, list] = defaultdict(list)
    for e in small.events:
        assert e.provider != e.receiver
        assert e.provider in firms or e.provider in partners
        assert e.receiver in firms or e.receiver in partners
        assert e.provider in firms or e.receiver in firms, "every event has a sample firm"
        assert e.kind in EVENT_KINDS and e.direction in ("directed", "mutual")
        assert e.tech in TECH_CATEGORIES and e.domain in APPLICATION_DOMAINS
        assert e.year >= since.get(e.tech, 2014)
        assert e.date.year == e.year
        reporter = slugs[e.reporter]
        assert reporter.name in (e.provider, e.receiver)
        assert reporter.founded_on < e.date
        if e.co_reporter is not None:
            assert {slugs[e.co_reporter].name, reporter.name} == {e.provider, e.receiver}
        else:
            assert sum(n in firms for n in (e.provider, e.receiver)) == 1
        if e.direction == "mutual":
            assert e.provider == reporter.name, "mutual events are oriented from the reporter"
        if e.status == "terminated":
            assert e.terminated_on is not None and e.date < e.terminated_on and e.terminated_on.year == e.year
        else:
            assert e.status == "active" and e.terminated_on is None
        for w in e.witnesses:
            assert w in partners and w not in (e.provider, e.receiver)
        if e.group_id:
            groups[e.group_id].append(e)
    assert groups
    for members in groups.values():
        assert len(members) >= 2
        assert len({(m.date, m.kind, m.reporter, m.provider) for m in members}) == 1
        parties = {m.receiver for m in members} | {members[0].provider}
        assert len(parties) == len(members) + 1
        for m in members:
            assert not set(m.witnesses) & parties
    kinds = Counter(e.kind for e in small.events)
    assert set(kinds) == set(EVENT_KINDS)
    statuses = Counter(e.status for e in small.events)
    assert 0.01 <= statuses["terminated"] / len(small.events) <= 0.06
    assert any(e.witnesses for e in small.events)
    assert any(e.co_reporter for e in small.events)
    # repeated cooperations: more events than unique pairs
    assert len(small.events) > len({(e.provider, e.receiver) for e in small.events})


def test_late_categories_appear_mainly_late(medium: World) -> None:
    """The report's 2023-active categories gain share every year; the newest never appear early."""
    late = tg.model()["tech"]["late"]
    total = Counter(e.year for e in medium.events)
    in_late = Counter(e.year for e in medium.events if e.tech in late)
    share = {y: in_late[y] / total[y] for y in total}
    assert share[2023] > 3 * share[2016]
    assert share[2023] > share[2020] > share[2017]
    for tech in ("大模型", "多模态", "具身智能"):
        years = Counter(e.year for e in medium.events if e.tech == tech)
        assert years and min(years) >= 2020
        assert sum(n for y, n in years.items() if y >= 2021) > 0.7 * sum(years.values())


def test_news_name_no_one_else(small: World) -> None:
    slugs = {f.id for f in small.firms}
    for n in small.news:
        assert n.firm in slugs and n.tech in TECH_CATEGORIES
        assert n.date > small.firm(n.firm).founded_on
    articles = Counter(s for e in small.events for s in e.reporters) + Counter(n.firm for n in small.news)
    assert min(articles[f.id] for f in small.firms) >= PRESETS["small"].min_articles


# --------------------------------------------------------------------------------------
# ground truth export
# --------------------------------------------------------------------------------------


def test_truth_files(tiny: World, tmp_path: Path) -> None:
    paths = {p.name: p for p in write_truth(tiny, tmp_path, urls={tiny.events[0].id: ["/b.html", "/a.html"]})}
    orgs = [json.loads(line) for line in paths["organisations.jsonl"].read_text(encoding="utf-8").splitlines()]
    assert len(orgs) == len(tiny.firms) + len(tiny.partners)
    assert sum(o["is_sample"] for o in orgs) == 8
    first = orgs[0]
    assert first["name"] == tiny.firms[0].name and tiny.firms[0].short_name in first["aliases"]
    assert {"uscc", "province", "city", "industry_division", "sector", "kind"} <= set(first)
    from db.models import ORG_KINDS

    assert all(o["db_kind"] in ORG_KINDS for o in orgs)
    events = [json.loads(line) for line in paths["events.jsonl"].read_text(encoding="utf-8").splitlines()]
    assert len(events) == len(tiny.events)
    assert events[0]["urls"] == ["/a.html", "/b.html"] and events[1]["urls"] == []
    with paths["events.csv"].open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(EVENT_CSV_COLUMNS)
    assert {"provider", "receiver", "direction", "kind", "year", "urls"} <= set(rows[0])
    assert [r["event_id"] for r in rows] == [e.id for e in tiny.events]
    assert rows[0]["urls"] == "/a.html;/b.html"
