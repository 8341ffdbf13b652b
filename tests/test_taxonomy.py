"""Taxonomy data files, their validation and idempotent seeding (SQLite and PostgreSQL)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db import taxonomy
from db.models import (
    ApplicationDomain,
    City,
    IndustryDivision,
    IndustrySection,
    Province,
    Region,
    RegionProvince,
    TechCategory,
)
from db.taxonomy import TaxonomyError

TABLES = (
    "tech_categories",
    "application_domains",
    "industry_sections",
    "industry_divisions",
    "provinces",
    "cities",
    "regions",
    "region_provinces",
)


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A writable copy of the packaged data files."""
    target = tmp_path / "data"
    shutil.copytree(taxonomy.DATA_DIR, target)
    for path in target.iterdir():
        path.chmod(0o644)
    return target


def edit_yaml(path: Path, change: Callable[[dict], None]) -> None:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


# --------------------------------------------------------------------------- seeded database


def test_counts_after_seeding(session: Session) -> None:
    assert count(session, TechCategory) == 24
    assert count(session, ApplicationDomain) == 20
    assert count(session, IndustrySection) == 20
    assert count(session, IndustryDivision) == 97
    assert count(session, Province) == 34
    assert count(session, City) > 330
    assert count(session, Region) == 7
    assert count(session, RegionProvince) == 3 + 4 + 1 + 2 + 6 + 5 + 3


def test_second_sync_changes_nothing(session: Session) -> None:
    result = taxonomy.sync_taxonomies(session)
    assert result == dict.fromkeys(TABLES, 0)
    assert not session.new and not session.dirty and not session.deleted


def test_seeded_values(session: Session) -> None:
    first = session.scalars(select(TechCategory).order_by(TechCategory.sort_order)).first()
    assert (first.name, first.sort_order) == ("大数据和云计算", 1)
    last = session.scalars(select(TechCategory).order_by(TechCategory.sort_order.desc())).first()
    assert last.name == "具身智能"
    assert session.scalar(select(ApplicationDomain.name).where(ApplicationDomain.sort_order == 20)) == (
        "AI for Science"
    )
    for code, name, province in [
        ("440300", "深圳市", "44"),
        ("330100", "杭州市", "33"),
        ("320500", "苏州市", "32"),
        ("340100", "合肥市", "34"),
        ("110100", "北京市", "11"),
        ("500100", "重庆市", "50"),
    ]:
        city = session.get(City, code)
        assert (city.name, city.province_code) == (name, province)
    anhui = session.scalars(select(RegionProvince.region_code).where(RegionProvince.province_code == "34"))
    assert set(anhui) == {"yangtze_delta", "central"}
    yangtze = session.scalars(
        select(RegionProvince.province_code).where(RegionProvince.region_code == "yangtze_delta")
    )
    assert set(yangtze) == {"31", "32", "33", "34"}


def test_province_lookup(session: Session) -> None:
    lookup = taxonomy.province_lookup(session)
    assert len(lookup) == 68
    assert lookup["北京"] == lookup["北京市"] == "11"
    assert lookup["内蒙古"] == lookup["内蒙古自治区"] == "15"
    assert lookup["广东"] == "44"
    assert lookup["香港特别行政区"] == "81"


def test_sectors_in_database(session: Session) -> None:
    rows = session.execute(select(IndustryDivision.code, IndustryDivision.sector)).tuples()
    sectors = {code: sector for code, sector in rows}
    assert sectors["01"] == "第一产业"
    assert sectors["05"] == sectors["11"] == sectors["43"] == "第三产业"
    assert sectors["13"] == "第二产业"
    assert session.get(IndustryDivision, "39").section_code == "C"


# --------------------------------------------------------------------------- changes from files


def test_changed_files_update_in_place(session: Session, data_dir: Path) -> None:
    def tech(doc: dict) -> None:
        items = doc["tech_categories"]
        items[12]["name"] = "大模型（基础模型）"
        # swap the names of two categories: needs the placeholder step (names are unique)
        items[0]["name"], items[1]["name"] = items[1]["name"], items[0]["name"]

    def provinces(doc: dict) -> None:
        guangdong = next(p for p in doc["provinces"] if p["code"] == "44")
        next(c for c in guangdong["cities"] if c["code"] == "440300")["name"] = "深圳"

    def regions(doc: dict) -> None:
        central = next(r for r in doc["regions"] if r["code"] == "central")
        central["provinces"].remove("安徽省")
        central["sort_order"] = 50

    edit_yaml(data_dir / "tech_categories.yml", tech)
    edit_yaml(data_dir / "provinces.yml", provinces)
    edit_yaml(data_dir / "regions.yml", regions)

    result = taxonomy.sync_taxonomies(session, data_dir)
    assert result == {
        **dict.fromkeys(TABLES, 0),
        "tech_categories": 3,
        "cities": 1,
        "regions": 1,
        "region_provinces": 1,
    }
    session.commit()

    assert session.get(TechCategory, "large_models").name == "大模型（基础模型）"
    assert session.get(TechCategory, "big_data_cloud").name == "物联网"
    assert session.get(TechCategory, "iot").name == "大数据和云计算"
    assert count(session, TechCategory) == 24
    assert session.get(City, "440300").name == "深圳"
    assert session.get(Region, "central").sort_order == 50
    assert session.get(RegionProvince, ("central", "34")) is None
    assert session.get(RegionProvince, ("yangtze_delta", "34")) is not None

    assert taxonomy.sync_taxonomies(session, data_dir) == dict.fromkeys(TABLES, 0)
    # and back to the packaged files
    assert taxonomy.sync_taxonomies(session)["tech_categories"] == 3
    session.commit()
    assert session.get(TechCategory, "big_data_cloud").name == "大数据和云计算"
    assert session.get(RegionProvince, ("central", "34")) is not None


def test_rows_missing_from_file_are_kept(session: Session, data_dir: Path) -> None:
    def recode(doc: dict) -> None:
        doc["tech_categories"][23] = {"code": "embodied_intelligence", "name": "具身智能体"}

    edit_yaml(data_dir / "tech_categories.yml", recode)
    assert taxonomy.sync_taxonomies(session, data_dir)["tech_categories"] == 1
    assert session.get(TechCategory, "embodied_ai") is not None
    assert count(session, TechCategory) == 25


def test_recoded_entry_with_same_name_is_refused(session: Session, data_dir: Path) -> None:
    def recode(doc: dict) -> None:
        doc["tech_categories"][23]["code"] = "embodied_intelligence"

    edit_yaml(data_dir / "tech_categories.yml", recode)
    with pytest.raises(TaxonomyError, match="embodied_ai"):
        taxonomy.sync_taxonomies(session, data_dir)


def test_invalid_file_writes_nothing(session: Session, data_dir: Path) -> None:
    edit_yaml(data_dir / "regions.yml", lambda doc: doc["regions"][0]["provinces"].append("北平省"))
    with pytest.raises(TaxonomyError, match="regions.yml"):
        taxonomy.sync_taxonomies(session, data_dir)
    assert not session.new and not session.dirty and not session.deleted


# --------------------------------------------------------------------------- loaders (no database)


def test_loaders_on_packaged_files() -> None:
    assert len(taxonomy.load_tech_categories()) == 24
    assert len(taxonomy.load_application_domains()) == 20
    assert [s.code for s in taxonomy.load_industry_sections()] == [
        chr(c) for c in range(ord("A"), ord("T") + 1)
    ]
    divisions = taxonomy.load_industry_divisions()
    assert [d.code for d in divisions] == [f"{n:02d}" for n in range(1, 98)]
    provinces = taxonomy.load_provinces()
    assert len(provinces) == 34
    cities = [c for p in provinces for c in p.cities]
    assert len(cities) > 330
    assert len({c.code for c in cities}) == len(cities)
    regions = taxonomy.load_regions()
    assert [r.name for r in regions] == ["京津冀", "长江三角洲", "珠江三角洲", "成渝", "中部", "西北", "东北"]


@pytest.mark.parametrize(
    ("division", "sector"),
    [
        ("01", "第一产业"),
        ("05", "第三产业"),
        ("11", "第三产业"),
        ("43", "第三产业"),
        ("13", "第二产业"),
        ("06", "第二产业"),
        ("48", "第二产业"),
        ("65", "第三产业"),
        ("97", "第三产业"),
        ("5", "第三产业"),
    ],
)
def test_sector_of_division(division: str, sector: str) -> None:
    assert taxonomy.sector_of_division(division) == sector


def test_sector_of_unknown_division() -> None:
    with pytest.raises(KeyError):
        taxonomy.sector_of_division("98")


def test_expected_sector_rule() -> None:
    assert taxonomy.expected_sector("A", "01") == "第一产业"
    assert taxonomy.expected_sector("A", "05") == "第三产业"
    assert taxonomy.expected_sector("B", "11") == "第三产业"
    assert taxonomy.expected_sector("C", "43") == "第三产业"
    assert taxonomy.expected_sector("C", "13") == "第二产业"
    assert taxonomy.expected_sector("I", "65") == "第三产业"


def _dup_code(doc: dict) -> None:
    doc["tech_categories"][1]["code"] = doc["tech_categories"][0]["code"]


def _dup_name(doc: dict) -> None:
    doc["application_domains"][5]["name"] = "智慧城市"


def _drop_entry(doc: dict) -> None:
    doc["tech_categories"].pop()


def _extra_field(doc: dict) -> None:
    doc["tech_categories"][2]["colour"] = "red"


def _bad_code(doc: dict) -> None:
    doc["tech_categories"][2]["code"] = "5G/6G"


def _unknown_province(doc: dict) -> None:
    doc["regions"][1]["provinces"].append("江南省")


def _short_name_in_region(doc: dict) -> None:
    doc["regions"][0]["provinces"][0] = "北京"


def _dup_province_short(doc: dict) -> None:
    doc["provinces"][1]["short_name"] = doc["provinces"][0]["short_name"]


def _city_outside_province(doc: dict) -> None:
    doc["provinces"][2]["cities"][0]["code"] = "440399"


def _dup_city_code(doc: dict) -> None:
    doc["provinces"][2]["cities"][1]["code"] = doc["provinces"][2]["cities"][0]["code"]


def _unquoted_code(doc: dict) -> None:
    doc["provinces"][0]["code"] = 11


def _drop_province(doc: dict) -> None:
    doc["provinces"].pop()


@pytest.mark.parametrize(
    ("filename", "change", "message"),
    [
        ("tech_categories.yml", _dup_code, r"entry 2 \(big_data_cloud\): duplicate code"),
        ("application_domains.yml", _dup_name, r"entry 6 .*duplicate name '智慧城市'"),
        ("tech_categories.yml", _drop_entry, "expected 24 tech categories, found 23"),
        ("tech_categories.yml", _extra_field, r"entry 3 \(mobile_5g_6g\): unexpected field"),
        ("tech_categories.yml", _bad_code, "'5G/6G' is not snake_case"),
        ("regions.yml", _unknown_province, r"entry 2 \(yangtze_delta\): unknown province '江南省'"),
        ("regions.yml", _short_name_in_region, "unknown province '北京'"),
        ("provinces.yml", _dup_province_short, "duplicate province short name '北京'"),
        ("provinces.yml", _city_outside_province, r"entry 3 \(13 河北省\), city 1 \(440399\)"),
        ("provinces.yml", _dup_city_code, "duplicate city code '130100'"),
        ("provinces.yml", _unquoted_code, "code must be a non-empty string"),
        ("provinces.yml", _drop_province, "expected 34 provinces, found 33"),
    ],
)
def test_invalid_yaml_is_rejected(data_dir: Path, filename: str, change: Callable, message: str) -> None:
    edit_yaml(data_dir / filename, change)
    with pytest.raises(TaxonomyError, match=message) as info:
        taxonomy.load_regions(data_dir)
        taxonomy.load_tech_categories(data_dir)
        taxonomy.load_application_domains(data_dir)
    assert filename in str(info.value)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'C,"制造业",13,"农副食品加工业",第二产业',
            'C,"制造业",13,"农副食品加工业",第三产业',
            "line .*division '13'.*contradicts",
        ),
        ('C,"制造业",41,', 'C,"制造业",42,', "duplicate division code '42'"),
        (
            'A,"农、林、牧、渔业",01,"农业",第一产业',
            'A,"农林牧渔业",01,"农业",第一产业',
            "section A is named",
        ),
        ('T,"国际组织",97,"国际组织",第三产业\n', "", "expected 20 sections, found 19"),
        ('01,"农业",第一产业', '01,"农业",第四产业', "sector '第四产业' is not one of"),
        ("section,section_name,", "sect,section_name,", "expected columns"),
    ],
)
def test_invalid_csv_is_rejected(data_dir: Path, old: str, new: str, message: str) -> None:
    path = data_dir / "gbt4754-2017-divisions.csv"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(TaxonomyError, match=message) as info:
        taxonomy.load_industry_divisions(data_dir)
    assert "gbt4754-2017-divisions.csv" in str(info.value)


def test_invalid_yaml_syntax(data_dir: Path) -> None:
    (data_dir / "regions.yml").write_text("regions: [\n", encoding="utf-8")
    with pytest.raises(TaxonomyError, match="regions.yml: invalid YAML"):
        taxonomy.load_regions(data_dir)


def test_missing_file(data_dir: Path) -> None:
    (data_dir / "application_domains.yml").unlink()
    with pytest.raises(TaxonomyError, match="application_domains.yml: file not found"):
        taxonomy.load_application_domains(data_dir)
