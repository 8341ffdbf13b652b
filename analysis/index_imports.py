"""Imported indicators of the regional competitiveness index: CSV/XLSX files, validated row by row.

Indicators aimap cannot compute from its database (AI investment deals and amounts, policies
issued, public compute capacity, talent ...) are ``source: imported`` in
``analysis/data/index.yml``. Their values come from versioned input files in a directory passed
with ``aimap index --imports DIR``; the format (long: one value per row, with its year and source)
is documented in ``analysis/data/index_imports/README.md`` and :data:`COLUMNS`. There is no table
for them: the files are the record, and every value used is written to the index outputs with its
file, row, year and source.

Validation is the firm registry's (:mod:`etl.registry`, whose file reader and error type this
module reuses): every row of every file is checked first; each problem is a
:class:`~common.tabular.RowError` (spreadsheet row number, header = row 1; column; value; reason).
Without ``skip_bad`` one bad row anywhere aborts with :class:`IndexImportError` listing all of them
and nothing is used; with ``skip_bad`` the good rows are used and the bad ones are written to a
rejects CSV per file (original columns + ``row`` + ``errors``) and listed in the result.

Checks per row: the indicator is a known ``imported`` indicator (code or Chinese name); the level
is province or city; the region exists at that level (province by full name, short name or
two-digit code; city by name with or without 市 or six-digit code, and when a province is given
the city must be in it; a city name shared by several provinces needs the province); the year is
an integer 1990-2100; the value is a finite number >= 0 (thousands separators allowed); the unit,
when given, equals the indicator's unit; the source is not blank; no other row (in any file) has
the same indicator, level, region and year.
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.tabular import (
    ColumnSpec,
    RowError,
    TableError,
    cell_text,
    header_key,
    map_header,
    read_table,
    safe_cell,
)
from common.text import fold_compact
from db.models import City, PipelineError, Province

#: ``PipelineError.stage`` / ``kind`` of rejected import rows.
ERROR_STAGE = "index"
ERROR_KIND = "index_import_row"
#: File types read from the imports directory (anything else, e.g. README.md, is skipped).
SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm")
MIN_YEAR, MAX_YEAR = 1990, 2100

#: The import columns, in documentation order (the README mirrors this table).
COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("indicator", "指标", True, "code or Chinese name of an imported indicator", "ai_policies",
               ("指标代码", "指标名称", "indicator_code")),
    ColumnSpec("level", "层级", True, "province / city (省 / 市)", "province", ("区域层级", "地区层级")),
    ColumnSpec("region", "地区", True, "province: name, short name or 2-digit code; city: name or 6-digit code",
               "北京市", ("地区名称", "地区代码", "region_name", "region_code")),
    ColumnSpec("province", "省份", False, "province of a city (needed when the city name is ambiguous)", "浙江省",
               ("所属省份",)),
    ColumnSpec("year", "年份", True, f"integer {MIN_YEAR}..{MAX_YEAR}: the year the value describes", "2023",
               ("数据年份", "年度")),
    ColumnSpec("value", "数值", True, "number >= 0, thousands separators allowed", "1,250", ("值", "指标值")),
    ColumnSpec("unit", "单位", False, "must equal the indicator's unit in index.yml when given", "项", ()),
    ColumnSpec("source", "来源", True, "publisher and title of the statistic (provenance)", "北京市经信局, 2023",
               ("数据来源",)),
    ColumnSpec("note", "备注", False, "free text", "", ("说明",)),
)
_HEADER_KEYS = {header_key(s): c.name for c in COLUMNS for s in (c.name, c.chinese, *c.synonyms)}
_LEVELS = {"province": "province", "省": "province", "省级": "province", "省份": "province",
           "city": "city", "市": "city", "城市": "city", "地级市": "city"}


@dataclass(frozen=True)
class ImportableIndicator:
    """What validation needs to know of an imported indicator."""

    code: str
    name: str
    unit: str


@dataclass(frozen=True)
class ImportedValue:
    """One validated value: indicator, level, region (code and name), year, value and its provenance."""

    indicator: str
    level: str
    region_code: str
    region_name: str
    year: int
    value: float
    source: str
    note: str
    file: str
    row: int


@dataclass(frozen=True)
class ImportFile:
    """A file read: its path, SHA-256 of its bytes, data rows, rows accepted and rejected."""

    path: str
    sha256: str
    rows: int
    accepted: int
    rejected: int


@dataclass
class ImportResult:
    """Every value read from an imports directory, with the files, errors, rejects and warnings."""

    directory: str
    values: list[ImportedValue] = field(default_factory=list)
    files: list[ImportFile] = field(default_factory=list)
    errors: list[tuple[str, RowError]] = field(default_factory=list)
    rejects: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class IndexImportError(ValueError):
    """Some import rows are bad and nothing was imported; ``errors`` are (file, :class:`RowError`)."""

    def __init__(self, errors: Sequence[tuple[str, RowError]]):
        self.errors = list(errors)
        rows = len({(f, e.row) for f, e in self.errors})
        head = f"{len(self.errors)} error(s) in {rows} row(s) of the index imports; nothing imported"
        super().__init__("\n".join([head, *(e.format(f) for f, e in self.errors)]))


# --------------------------------------------------------------------------- regions


@dataclass
class _Places:
    provinces: dict[str, str]  # folded name / short name / code -> code
    province_name: dict[str, str]
    cities: dict[str, list[tuple[str, str]]]  # folded key -> [(province code, city code)]
    city_name: dict[str, str]


def _city_keys(name: str) -> list[str]:
    return [name, name[:-1]] if name.endswith("市") and len(name) > 2 else [name]


def _load_places(session: Session) -> _Places:
    provinces, province_name = {}, {}
    for code, name, short in session.execute(select(Province.code, Province.name, Province.short_name)):
        province_name[code] = name
        for key in (code, name, short):
            provinces[fold_compact(key)] = code
    cities: dict[str, list[tuple[str, str]]] = {}
    city_name = {}
    for code, name, prov in session.execute(select(City.code, City.name, City.province_code).order_by(City.code)):
        city_name[code] = name
        for key in (*_city_keys(fold_compact(name)), code):
            cities.setdefault(key, []).append((prov, code))
    return _Places(provinces, province_name, cities, city_name)


# --------------------------------------------------------------------------- parsing


def _value(text: str) -> float | None:
    cleaned = text.replace(",", "").replace("，", "").replace(" ", "")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


class _Parser:
    def __init__(self, places: _Places, indicators: Mapping[str, ImportableIndicator], path: str):
        self.places = places
        self.path = path
        self.indicators: dict[str, ImportableIndicator] = {}
        for ind in indicators.values():
            self.indicators[fold_compact(ind.code).lower()] = ind
            self.indicators[fold_compact(ind.name)] = ind

    def parse(self, number: int, cells: list[Any], columns: dict[str, int],
              computed: Mapping[str, str]) -> tuple[ImportedValue | None, list[RowError]]:
        errors: list[RowError] = []

        def get(column: str) -> str:
            i = columns.get(column)
            return cell_text(cells[i]) if i is not None and i < len(cells) else ""

        def err(column: str, reason: str) -> None:
            errors.append(RowError(number, column, get(column), reason))

        raw = get("indicator")
        ind = self.indicators.get(fold_compact(raw)) or self.indicators.get(fold_compact(raw).lower())
        if not raw:
            err("indicator", "required value is blank")
        elif ind is None:
            if fold_compact(raw) in computed or fold_compact(raw).lower() in computed:
                err("indicator", "this indicator is computed from the database, not imported")
            else:
                err("indicator", f"unknown imported indicator; expected one of {', '.join(sorted({i.code for i in self.indicators.values()}))}")
        level = _LEVELS.get(fold_compact(get("level")).lower())
        if level is None:
            err("level", "required: province or city (省 / 市)" if not get("level") else "unknown level; use province or city")
        region = self._region(level, get("region"), get("province"), err) if level else None
        year = None
        text = get("year")
        if not text:
            err("year", "required value is blank")
        elif not re.fullmatch(r"\d{4}", text) or not MIN_YEAR <= int(text) <= MAX_YEAR:
            err("year", f"not a year {MIN_YEAR}-{MAX_YEAR}")
        else:
            year = int(text)
        value = None
        text = get("value")
        if not text:
            err("value", "required value is blank (leave the row out when the value is unknown)")
        else:
            value = _value(text)
            if value is None:
                err("value", "not a number")
            elif value < 0:
                err("value", "negative; imported indicators are counts or amounts >= 0")
        unit = get("unit")
        if unit and ind is not None and fold_compact(unit) != fold_compact(ind.unit):
            err("unit", f"unit differs from the indicator's unit {ind.unit!r} in index.yml; convert the value")
        source = get("source")
        if not source:
            err("source", "required: where the value comes from (provenance)")
        if errors or ind is None or level is None or region is None or year is None or value is None:
            return None, errors
        code, name = region
        return ImportedValue(ind.code, level, code, name, year, value, source, get("note"), self.path, number), errors

    def _region(self, level: str, text: str, province_text: str, err: Any) -> tuple[str, str] | None:
        p = self.places
        if not text:
            err("region", "required value is blank")
            return None
        key = fold_compact(text)
        prov = None
        if province_text:
            prov = p.provinces.get(fold_compact(province_text))
            if prov is None:
                err("province", "unknown province")
                return None
        if level == "province":
            code = p.provinces.get(key)
            if code is None:
                found = p.cities.get(key)
                where = f" (it is a city of {p.province_name[found[0][0]]}; use level city)" if found else ""
                err("region", "unknown province" + where)
                return None
            if prov is not None and prov != code:
                err("province", f"does not match the region {p.province_name[code]}")
                return None
            return code, p.province_name[code]
        matches = p.cities.get(key, [])
        if prov is not None:
            inside = [m for m in matches if m[0] == prov]
            if not inside:
                if matches:
                    where = "、".join(p.province_name[m[0]] for m in matches)
                    err("region", f"city is not in {p.province_name[prov]} (it is in {where})")
                else:
                    err("region", f"unknown prefecture-level city in {p.province_name[prov]}")
                return None
            matches = inside
        if not matches:
            hint = " (it is a province; use level province)" if key in p.provinces else ""
            err("region", "unknown prefecture-level city" + hint)
            return None
        if len(matches) > 1:
            where = "、".join(p.province_name[m[0]] for m in matches)
            err("region", f"ambiguous city name (in {where}); add the province column")
            return None
        code = matches[0][1]
        return code, p.city_name[code]


def _write_rejects(target: Path, header: list[str], bad: Sequence[tuple[int, list[Any], list[RowError]]]) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    width = max([len(header), *(len(cells) for _, cells, _ in bad)])
    with target.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow([safe_cell(h) for h in (*header, *[""] * (width - len(header)), "row", "errors")])
        for number, cells, errors in bad:
            texts = [cell_text(c) for c in cells]
            reasons = "; ".join(f"{e.column}: {e.reason} (value '{e.value}')" for e in errors)
            writer.writerow([safe_cell(v) for v in (*texts, *[""] * (width - len(texts)), number, reasons)])
    return target


def import_files(directory: Path) -> list[Path]:
    """The files of an imports directory that are read (CSV/TSV/TXT/XLSX, sorted by name; no subdirectories)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: not a directory of index imports")
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES
                  and not p.name.endswith(".rejects.csv"))


def read_imports(session: Session, directory: Path, indicators: Mapping[str, ImportableIndicator], *,
                 computed: Sequence[str] = (), skip_bad: bool = False, rejects_dir: Path | None = None) -> ImportResult:
    """Read and validate every import file in ``directory`` (rules in the module docstring).

    ``indicators``: the importable indicators by code; ``computed``: codes and names of computed
    indicators (a row naming one gets a clearer error). Raises :class:`IndexImportError` when a
    row is bad and ``skip_bad`` is false (nothing is returned then); with ``skip_bad`` bad rows are
    written to ``rejects_dir/<file stem>.rejects.csv`` (default: beside the file) and left out.
    Problems with a file itself (unreadable, a required column missing, a column twice) always
    raise, as in the registry import. The session is only read (provinces and cities).
    """
    result = ImportResult(directory=str(directory))
    places = _load_places(session)
    computed_keys = {k for c in computed for k in (fold_compact(c), fold_compact(c).lower())}
    seen: dict[tuple[str, str, str, int], tuple[str, int]] = {}
    pending: list[tuple[Path, list[str], list[tuple[int, list[Any], list[RowError]]], int, int, str]] = []
    fatal: list[tuple[str, RowError]] = []  # unreadable files, header problems: never skipped
    for path in import_files(directory):
        name = str(path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        try:
            table = read_table(path)
        except TableError as exc:
            fatal += [(name, e) for e in exc.errors]
            continue
        result.warnings += [f"{name}: {w}" for w in table.warnings]
        columns, unknown, header_errors = map_header(table.header, _HEADER_KEYS, COLUMNS)
        if unknown:
            result.warnings.append(f"{name}: unknown column(s) ignored: {', '.join(unknown)}")
        if header_errors:
            fatal += [(name, e) for e in header_errors]
            continue
        parser = _Parser(places, indicators, name)
        bad: list[tuple[int, list[Any], list[RowError]]] = []
        rows = accepted = 0
        for number, cells in table.rows:
            if not any(cell_text(c) for c in cells):
                continue
            rows += 1
            value, errors = parser.parse(number, list(cells), columns, computed_keys)
            if value is not None:
                key = (value.indicator, value.level, value.region_code, value.year)
                if key in seen:
                    other_file, other_row = seen[key]
                    where = f"row {other_row}" + ("" if other_file == name else f" of {other_file}")
                    errors.append(RowError(number, "region", value.region_name,
                                           f"duplicate: {value.indicator} of {value.region_name} for {value.year} "
                                           f"is also given in {where}"))
                else:
                    seen[key] = (name, number)
            if errors:
                bad.append((number, list(cells), errors))
                result.errors += [(name, e) for e in errors]
            else:
                assert value is not None
                result.values.append(value)
                accepted += 1
        if rows == 0:
            result.warnings.append(f"{name}: no data rows")
        pending.append((path, [cell_text(c) for c in table.header], bad, rows, accepted, digest))
    if fatal or (result.errors and not skip_bad):
        raise IndexImportError(fatal + result.errors)
    for path, header, bad, rows, accepted, digest in pending:
        result.files.append(ImportFile(str(path), digest, rows, accepted, len(bad)))
        if bad:
            target = (Path(rejects_dir) if rejects_dir else path.parent) / f"{path.stem}.rejects.csv"
            result.rejects.append(_write_rejects(target, header, bad))
    result.files.sort(key=lambda f: f.path)
    return result


def record_errors(session: Session, result: ImportResult, run_id: int | None = None) -> int:
    """Add one :class:`~db.models.PipelineError` per rejected row problem (``--skip-bad``); return how many."""
    for path, e in result.errors:
        session.add(PipelineError(run_id=run_id, stage=ERROR_STAGE, kind=ERROR_KIND, location=f"{path}:{e.row}",
                                  field=e.column, reason=e.reason, payload={"value": e.value}))
    return len(result.errors)
