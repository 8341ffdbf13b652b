"""Taxonomies: load the versioned data files in ``db/data/`` and seed them idempotently.

The files are the maintained domain knowledge (each says its source and version in a header
comment):

- ``tech_categories.yml``: the report's 24 technology categories (技术类别);
- ``application_domains.yml``: its 20 application domains (应用领域);
- ``gbt4754-2017-divisions.csv``: GB/T 4754-2017 sections (门类) and divisions (大类) with the
  three-sector assignment (三次产业) of the National Bureau of Statistics (2018);
- ``provinces.yml``: the 34 province-level divisions (GB/T 2260) and their prefecture-level cities;
- ``regions.yml``: the report's regional groupings (a province may be in several).

Loaders return plain, frozen records and validate the files (duplicate codes or names, unknown
provinces, wrong counts, unexpected fields), raising :class:`TaxonomyError` that names the file and
the entry. :func:`sync_taxonomies` upserts the records with ordinary ORM operations, so it runs
unchanged on SQLite and PostgreSQL, and reports how many rows it changed (zero on a second run).
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from common.datafiles import read_yaml
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

log = logging.getLogger(__name__)

#: Directory of the packaged data files.
DATA_DIR = Path(__file__).resolve().parent / "data"

TECH_CATEGORIES_FILE = "tech_categories.yml"
APPLICATION_DOMAINS_FILE = "application_domains.yml"
INDUSTRY_FILE = "gbt4754-2017-divisions.csv"
PROVINCES_FILE = "provinces.yml"
REGIONS_FILE = "regions.yml"

#: Expected sizes of the taxonomies (a file with another count is rejected).
EXPECTED_COUNTS = {
    "tech_categories": 24,
    "application_domains": 20,
    "industry_sections": 20,
    "industry_divisions": 97,
    "provinces": 34,
}

PRIMARY, SECONDARY, TERTIARY = "第一产业", "第二产业", "第三产业"
#: The three sectors (三次产业), in order.
SECTORS = (PRIMARY, SECONDARY, TERTIARY)

_CSV_COLUMNS = ["section", "section_name", "division", "division_name", "sector"]
_CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class TaxonomyError(ValueError):
    """A taxonomy data file is malformed or inconsistent (the message names file and entry)."""


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class CodedName:
    """An entry of an ordered code list (technology category, application domain)."""

    code: str
    name: str
    sort_order: int


@dataclass(frozen=True)
class SectionRecord:
    """A GB/T 4754-2017 section (门类)."""

    code: str
    name: str


@dataclass(frozen=True)
class DivisionRecord:
    """A GB/T 4754-2017 division (大类) with its section and sector (三次产业)."""

    code: str
    name: str
    section_code: str
    sector: str


@dataclass(frozen=True)
class CityRecord:
    """A prefecture-level city (six-digit administrative code)."""

    code: str
    name: str


@dataclass(frozen=True)
class ProvinceRecord:
    """A province-level division with its cities."""

    code: str
    name: str
    short_name: str
    cities: tuple[CityRecord, ...]


@dataclass(frozen=True)
class RegionRecord:
    """A regional grouping; ``provinces`` are full names, ``province_codes`` the same resolved."""

    code: str
    name: str
    sort_order: int
    provinces: tuple[str, ...]
    province_codes: tuple[str, ...]


# --------------------------------------------------------------------------- file helpers


def _dir(data_dir: Path | str | None) -> Path:
    return Path(data_dir) if data_dir is not None else DATA_DIR


def _read_yaml(path: Path, key: str) -> list[Any]:
    """The list under ``key`` of the YAML mapping in ``path``."""
    try:
        doc = read_yaml(path)
    except FileNotFoundError as exc:
        raise TaxonomyError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        raise TaxonomyError(f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(doc, dict) or key not in doc:
        raise TaxonomyError(f"{path}: expected a mapping with a {key!r} list")
    unknown = set(doc) - {key, "version"}
    if unknown:
        raise TaxonomyError(f"{path}: unexpected top-level keys {sorted(unknown)}")
    items = doc[key]
    if not isinstance(items, list):
        raise TaxonomyError(f"{path}: {key!r} must be a list")
    return items


def _fields(path: Path, where: str, item: Any, required: Sequence[str], optional: Sequence[str] = ()) -> dict:
    """Check that ``item`` is a mapping with exactly the allowed keys; return it."""
    if not isinstance(item, dict):
        raise TaxonomyError(f"{path}: {where}: expected a mapping, got {item!r}")
    missing = [k for k in required if k not in item]
    if missing:
        raise TaxonomyError(f"{path}: {where}: missing field(s) {missing}")
    unknown = set(item) - set(required) - set(optional)
    if unknown:
        raise TaxonomyError(f"{path}: {where}: unexpected field(s) {sorted(unknown)}")
    return item


def _text(path: Path, where: str, item: Mapping[str, Any], key: str, max_len: int) -> str:
    value = item[key]
    if not isinstance(value, str) or not value.strip():
        raise TaxonomyError(f"{path}: {where}: {key} must be a non-empty string (quote codes), got {value!r}")
    value = value.strip()
    if len(value) > max_len:
        raise TaxonomyError(f"{path}: {where}: {key} {value!r} is longer than {max_len} characters")
    return value


def _entry(i: int, item: Any) -> str:
    """Description of the ``i``-th list entry for messages: ``entry 3 (code)``."""
    if isinstance(item, dict) and "code" in item:
        return f"entry {i} ({item['code']})"
    return f"entry {i}"


def _code(path: Path, where: str, value: str, pattern: re.Pattern[str], what: str) -> str:
    if not pattern.match(value):
        raise TaxonomyError(f"{path}: {where}: code {value!r} is not {what}")
    return value


def _unique(path: Path, what: str, values: Iterable[tuple[str, str]]) -> None:
    """Raise on the first repeated value; ``values`` are (entry description, value) pairs."""
    seen: dict[str, str] = {}
    for where, value in values:
        if value in seen:
            raise TaxonomyError(f"{path}: {where}: duplicate {what} {value!r} (also {seen[value]})")
        seen[value] = where


def _count(path: Path, what: str, actual: int, expected: int) -> None:
    if actual != expected:
        raise TaxonomyError(f"{path}: expected {expected} {what}, found {actual}")


# --------------------------------------------------------------------------- loaders


def _load_code_list(path: Path, key: str, expected: int) -> list[CodedName]:
    records = []
    for i, item in enumerate(_read_yaml(path, key), start=1):
        where = _entry(i, item)
        _fields(path, where, item, ("code", "name"))
        code = _text(path, where, item, "code", 32)
        _code(path, where, code, _CODE_RE, "snake_case ASCII")
        records.append(CodedName(code, _text(path, where, item, "name", 64), i))
    _unique(path, "code", ((f"entry {r.sort_order} ({r.code})", r.code) for r in records))
    _unique(path, "name", ((f"entry {r.sort_order} ({r.code})", r.name) for r in records))
    _count(path, key.replace("_", " "), len(records), expected)
    return records


def load_tech_categories(data_dir: Path | str | None = None) -> list[CodedName]:
    """The 24 technology categories in report order (``sort_order`` = 1-based position)."""
    path = _dir(data_dir) / TECH_CATEGORIES_FILE
    return _load_code_list(path, "tech_categories", EXPECTED_COUNTS["tech_categories"])


def load_application_domains(data_dir: Path | str | None = None) -> list[CodedName]:
    """The 20 application domains in report order (``sort_order`` = 1-based position)."""
    path = _dir(data_dir) / APPLICATION_DOMAINS_FILE
    return _load_code_list(path, "application_domains", EXPECTED_COUNTS["application_domains"])


def expected_sector(section: str, division: str) -> str:
    """Three-sector assignment of a GB/T 4754-2017 division (国家统计局《三次产业划分规定》2018).

    Section A (agriculture, forestry, animal husbandry, fishery) is primary except division 05
    (专业及辅助性活动, tertiary); sections B-E (mining, manufacturing, utilities, construction) are
    secondary except divisions 11 (开采专业及辅助性活动) and 43 (金属制品、机械和设备修理业), which
    are tertiary; every other section is tertiary.
    """
    if division in {"05", "11", "43"}:
        return TERTIARY
    if section == "A":
        return PRIMARY
    if section in {"B", "C", "D", "E"}:
        return SECONDARY
    return TERTIARY


def _read_industry_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) pairs of the CSV, skipping ``#`` comment lines."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise TaxonomyError(f"{path}: file not found") from exc
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if not line.startswith("#")]
    numbered = [(n, line) for n, line in numbered if line.strip()]
    if not numbered:
        raise TaxonomyError(f"{path}: no CSV header")
    reader = csv.reader(io.StringIO("\n".join(line for _, line in numbered)))
    rows = list(reader)
    if len(rows) != len(numbered):
        raise TaxonomyError(f"{path}: quoted fields must not span lines")
    header = rows[0]
    if header != _CSV_COLUMNS:
        raise TaxonomyError(f"{path}: line {numbered[0][0]}: expected columns {_CSV_COLUMNS}, got {header}")
    out = []
    for (lineno, _), row in zip(numbered[1:], rows[1:], strict=True):
        if len(row) != len(header):
            raise TaxonomyError(f"{path}: line {lineno}: expected {len(header)} fields, got {len(row)}")
        out.append((lineno, {k: v.strip() for k, v in zip(header, row, strict=True)}))
    return out


def _load_industry(path: Path) -> tuple[list[SectionRecord], list[DivisionRecord]]:
    sections: dict[str, SectionRecord] = {}
    divisions: list[DivisionRecord] = []
    for lineno, row in _read_industry_rows(path):
        sec, div = row["section"], row["division"]
        where = f"line {lineno} (division {div!r})"
        if not re.fullmatch(r"[A-Z]", sec):
            raise TaxonomyError(f"{path}: {where}: section {sec!r} is not a letter A-Z")
        if not re.fullmatch(r"\d{2}", div):
            raise TaxonomyError(f"{path}: {where}: division {div!r} is not two digits")
        for key in ("section_name", "division_name"):
            if not row[key] or len(row[key]) > 64:
                raise TaxonomyError(f"{path}: {where}: {key} must have 1-64 characters")
        known = sections.get(sec)
        if known is None:
            sections[sec] = SectionRecord(sec, row["section_name"])
        elif known.name != row["section_name"]:
            raise TaxonomyError(
                f"{path}: {where}: section {sec} is named {row['section_name']!r}, earlier {known.name!r}"
            )
        if row["sector"] not in SECTORS:
            raise TaxonomyError(f"{path}: {where}: sector {row['sector']!r} is not one of {SECTORS}")
        rule = expected_sector(sec, div)
        if row["sector"] != rule:
            raise TaxonomyError(
                f"{path}: {where}: sector {row['sector']!r} contradicts 三次产业划分规定 ({rule})"
            )
        divisions.append(DivisionRecord(div, row["division_name"], sec, row["sector"]))
    _unique(path, "division code", ((f"division {d.code}", d.code) for d in divisions))
    _unique(path, "division name", ((f"division {d.code}", d.name) for d in divisions))
    _unique(path, "section name", ((f"section {s.code}", s.name) for s in sections.values()))
    _count(path, "sections", len(sections), EXPECTED_COUNTS["industry_sections"])
    _count(path, "divisions", len(divisions), EXPECTED_COUNTS["industry_divisions"])
    return sorted(sections.values(), key=lambda s: s.code), sorted(divisions, key=lambda d: d.code)


def load_industry_sections(data_dir: Path | str | None = None) -> list[SectionRecord]:
    """The 20 GB/T 4754-2017 sections (A-T), ordered by code."""
    return _load_industry(_dir(data_dir) / INDUSTRY_FILE)[0]


def load_industry_divisions(data_dir: Path | str | None = None) -> list[DivisionRecord]:
    """The 97 GB/T 4754-2017 divisions (01-97) with section and sector, ordered by code."""
    return _load_industry(_dir(data_dir) / INDUSTRY_FILE)[1]


def load_provinces(data_dir: Path | str | None = None) -> list[ProvinceRecord]:
    """The 34 province-level divisions with their prefecture-level cities, ordered as in the file."""
    path = _dir(data_dir) / PROVINCES_FILE
    provinces: list[ProvinceRecord] = []
    for i, item in enumerate(_read_yaml(path, "provinces"), start=1):
        where = _entry(i, item)
        _fields(path, where, item, ("code", "name", "short_name", "cities"))
        code = _text(path, where, item, "code", 2)
        _code(path, where, code, re.compile(r"^\d{2}$"), "a two-digit GB/T 2260 code")
        name = _text(path, where, item, "name", 16)
        where = f"entry {i} ({code} {name})"
        short = _text(path, where, item, "short_name", 8)
        if not isinstance(item["cities"], list):
            raise TaxonomyError(f"{path}: {where}: cities must be a list")
        cities = []
        for j, city in enumerate(item["cities"], start=1):
            cwhere = f"{where}, city {_entry(j, city).removeprefix('entry ')}"
            _fields(path, cwhere, city, ("code", "name"))
            ccode = _text(path, cwhere, city, "code", 6)
            _code(path, cwhere, ccode, re.compile(rf"^{code}\d{{2}}00$"), f"six digits starting with {code}")
            cities.append(CityRecord(ccode, _text(path, cwhere, city, "name", 32)))
        _unique(path, "city name", ((f"{where}, city {c.code}", c.name) for c in cities))
        provinces.append(ProvinceRecord(code, name, short, tuple(cities)))
    _unique(path, "province code", ((f"province {p.name}", p.code) for p in provinces))
    _unique(path, "province name", ((f"province {p.code}", p.name) for p in provinces))
    _unique(path, "province short name", ((f"province {p.code}", p.short_name) for p in provinces))
    _unique(path, "city code", ((f"city {c.name} ({p.name})", c.code) for p in provinces for c in p.cities))
    _count(path, "provinces", len(provinces), EXPECTED_COUNTS["provinces"])
    return provinces


def load_regions(
    data_dir: Path | str | None = None, provinces: Sequence[ProvinceRecord] | None = None
) -> list[RegionRecord]:
    """The regional groupings, ordered by ``sort_order``; member provinces are checked against
    ``provinces`` (default: :func:`load_provinces` from the same directory)."""
    path = _dir(data_dir) / REGIONS_FILE
    if provinces is None:
        provinces = load_provinces(data_dir)
    by_name = {p.name: p.code for p in provinces}
    regions: list[RegionRecord] = []
    for i, item in enumerate(_read_yaml(path, "regions"), start=1):
        where = _entry(i, item)
        _fields(path, where, item, ("code", "name", "sort_order", "provinces"))
        code = _text(path, where, item, "code", 16)
        _code(path, where, code, _CODE_RE, "snake_case ASCII")
        name = _text(path, where, item, "name", 16)
        order = item["sort_order"]
        if not isinstance(order, int) or isinstance(order, bool):
            raise TaxonomyError(f"{path}: {where}: sort_order must be an integer, got {order!r}")
        members = item["provinces"]
        if not isinstance(members, list) or not members:
            raise TaxonomyError(f"{path}: {where}: provinces must be a non-empty list of full names")
        for member in members:
            if member not in by_name:
                raise TaxonomyError(f"{path}: {where}: unknown province {member!r} (use the full name)")
        _unique(path, "province", ((where, m) for m in members))
        regions.append(RegionRecord(code, name, order, tuple(members), tuple(by_name[m] for m in members)))
    _unique(path, "region code", ((f"region {r.name}", r.code) for r in regions))
    _unique(path, "region name", ((f"region {r.code}", r.name) for r in regions))
    _unique(path, "sort_order", ((f"region {r.code}", str(r.sort_order)) for r in regions))
    return sorted(regions, key=lambda r: r.sort_order)


# --------------------------------------------------------------------------- lookups


@lru_cache(maxsize=1)
def _default_sectors() -> dict[str, str]:
    return {d.code: d.sector for d in load_industry_divisions()}


def sector_of_division(code: str) -> str:
    """Three-sector label (第一产业 / 第二产业 / 第三产业) of a GB/T 4754-2017 division code.

    ``code`` is the two-digit division (``"05"``; ``"5"`` is accepted). Raises ``KeyError``
    for a code that is not a division.
    """
    key = str(code).strip()
    if key.isdigit():
        key = key.zfill(2)
    try:
        return _default_sectors()[key]
    except KeyError:
        raise KeyError(f"unknown GB/T 4754-2017 division {code!r}") from None


def province_lookup(session: Session) -> dict[str, str]:
    """Map every province's full name (北京市) and short name (北京) to its code (``"11"``)."""
    lookup: dict[str, str] = {}
    for province in session.scalars(select(Province)):
        lookup[province.name] = province.code
        lookup[province.short_name] = province.code
    return lookup


# --------------------------------------------------------------------------- sync


def _upsert(
    session: Session,
    model: type[Any],
    wanted: Mapping[str, dict[str, Any]],
    unique: Sequence[tuple[str, ...]] = (),
    placeholder: Sequence[str] = (),
) -> int:
    """Insert or update rows of ``model`` (primary key ``code``) to match ``wanted``.

    ``wanted`` maps code -> column values. Rows not in ``wanted`` are left alone (they may be
    referenced). ``unique`` lists the unique column groups: a value held by a row that is not in
    ``wanted`` is an error (codes are stable, so that is a renamed code); when unique values
    change, the changing rows first get placeholder values in the ``placeholder`` columns and are
    flushed, so that swapping names between rows does not violate a constraint mid-flush.
    Returns the number of rows inserted or updated.
    """
    table = model.__tablename__
    existing: dict[str, Any] = {row.code: row for row in session.scalars(select(model))}

    def key(values: Mapping[str, Any], cols: tuple[str, ...]) -> tuple[Any, ...]:
        return tuple(values[c] for c in cols)

    def current(row: Any) -> dict[str, Any]:
        return {c: getattr(row, c) for cols in unique for c in cols}

    for cols in unique:
        held = {key(current(row), cols): code for code, row in existing.items() if code not in wanted}
        for code, values in wanted.items():
            holder = held.get(key(values, cols))
            if holder is not None:
                raise TaxonomyError(
                    f"{table}: {dict(zip(cols, key(values, cols), strict=True))} of {code!r} is held by "
                    f"row {holder!r}, which is not in the data file; codes are stable identifiers: "
                    f"move references from {holder!r} to {code!r} and delete it first"
                )

    inserts = [model(code=code, **values) for code, values in wanted.items() if code not in existing]
    changed = {
        code: values
        for code, values in wanted.items()
        if code in existing and any(getattr(existing[code], k) != v for k, v in values.items())
    }
    moving = [
        code
        for code, values in changed.items()
        if any(key(current(existing[code]), cols) != key(values, cols) for cols in unique)
    ]
    if moving and placeholder:
        for n, code in enumerate(moving):
            for col in placeholder:
                setattr(existing[code], col, f"~{n}")
        session.flush()
    for code, values in changed.items():
        for k, v in values.items():
            setattr(existing[code], k, v)
    session.add_all(inserts)
    session.flush()
    if changed or inserts:
        log.info("%s: %d inserted, %d updated", table, len(inserts), len(changed))
    extra = sorted(set(existing) - set(wanted))
    if extra:
        log.warning("%s: rows not in the data files are kept: %s", table, ", ".join(extra))
    return len(inserts) + len(changed)


def sync_taxonomies(session: Session, data_dir: Path | str | None = None) -> dict[str, int]:
    """Upsert every taxonomy table from the data files; return rows changed per table.

    Inserts missing rows and updates changed names, sort orders, sections, sectors, provinces of
    cities and region memberships; deletes region memberships no longer in ``regions.yml``.
    Rows absent from the files are kept (other tables may reference them) and logged. The keys
    of the result are table names; ``region_provinces`` counts inserted plus deleted
    memberships. A second run with unchanged files returns all zeros.

    Every file is validated before anything is written. The session is flushed, never
    committed: the caller commits (or rolls back).
    """
    tech = load_tech_categories(data_dir)
    domains = load_application_domains(data_dir)
    sections, divisions = _load_industry(_dir(data_dir) / INDUSTRY_FILE)
    provinces = load_provinces(data_dir)
    regions = load_regions(data_dir, provinces)

    name: Sequence[tuple[str, ...]] = [("name",)]
    counts: dict[str, int] = {}
    counts["tech_categories"] = _upsert(
        session,
        TechCategory,
        {r.code: {"name": r.name, "sort_order": r.sort_order} for r in tech},
        name,
        ["name"],
    )
    counts["application_domains"] = _upsert(
        session,
        ApplicationDomain,
        {r.code: {"name": r.name, "sort_order": r.sort_order} for r in domains},
        name,
        ["name"],
    )
    counts["industry_sections"] = _upsert(
        session, IndustrySection, {s.code: {"name": s.name} for s in sections}
    )
    counts["industry_divisions"] = _upsert(
        session,
        IndustryDivision,
        {d.code: {"name": d.name, "section_code": d.section_code, "sector": d.sector} for d in divisions},
    )
    counts["provinces"] = _upsert(
        session,
        Province,
        {p.code: {"name": p.name, "short_name": p.short_name} for p in provinces},
        [("name",), ("short_name",)],
        ["name", "short_name"],
    )
    counts["cities"] = _upsert(
        session,
        City,
        {c.code: {"name": c.name, "province_code": p.code} for p in provinces for c in p.cities},
        [("province_code", "name")],
        ["name"],
    )
    counts["regions"] = _upsert(
        session,
        Region,
        {r.code: {"name": r.name, "sort_order": r.sort_order} for r in regions},
        name,
        ["name"],
    )
    counts["region_provinces"] = _sync_memberships(session, regions)
    return counts


def _sync_memberships(session: Session, regions: Sequence[RegionRecord]) -> int:
    """Make ``region_provinces`` equal to the memberships of ``regions``; return rows changed.

    Memberships of regions that are not in the file are left alone (like the regions).
    """
    wanted = {(r.code, p) for r in regions for p in r.province_codes}
    codes = {r.code for r in regions}
    existing = {
        (m.region_code, m.province_code): m
        for m in session.scalars(select(RegionProvince))
        if m.region_code in codes
    }
    for key in sorted(set(existing) - wanted):
        session.delete(existing[key])
    session.add_all(RegionProvince(region_code=r, province_code=p) for r, p in sorted(wanted - set(existing)))
    session.flush()
    return len(set(existing) ^ wanted)
