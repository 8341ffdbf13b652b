"""Import the institute's firm registry (the list of sample firms) from CSV or XLSX.

``import_registry(session, path)`` reads the file, validates every row, then creates or
updates the sample firms: :class:`~db.models.Organisation` (``kind="firm"``,
``is_sample=True``), :class:`~db.models.FirmAttributes`, :class:`~db.models.FirmFinancials`
(one row per fiscal year, ``source="registry"``) and their :class:`~db.models.Alias` rows.
The column reference, identity rules and re-import semantics are in ``docs/registry.md``.

Transactions: the function does all its work inside the given session and flushes; it never
commits. The caller commits on success (``aimap firms import`` does) or rolls back.

Errors: every problem is a :class:`RowError` (1-based row number as a spreadsheet shows it,
header = row 1). Without ``skip_bad`` a single bad row aborts the import before anything is
written and :class:`RegistryImportError` lists all of them. With ``skip_bad`` the good rows
are imported, the bad ones are written to a rejects CSV and recorded as
:class:`~db.models.PipelineError` rows (``stage="import"``, ``kind="registry_row"``).

Performance: existing organisations, aliases, financials and the taxonomies are loaded in a
handful of bulk queries (``IN`` lists in chunks), never per row.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from common.identifiers import (
    infer_exchange,
    normalise_exchange,
    normalise_stock_code,
    normalise_uscc,
    validate_stock_code,
    validate_uscc,
)
from common.tabular import (
    ColumnSpec,
    RowError,
    TableError,
    cell_text,
    header_key,
    map_header,
    read_table,
)
from common.text import fold_compact
from db.models import (
    TECH_LAYERS,
    Alias,
    City,
    FirmAttributes,
    FirmFinancials,
    IndustryDivision,
    Organisation,
    PipelineError,
    Province,
    utcnow,
)

__all__ = [
    "COLUMNS",
    "ColumnSpec",
    "ImportReport",
    "RegistryImportError",
    "RowError",
    "import_registry",
]

#: ``PipelineError.stage`` / ``kind`` used for rejected registry rows.
ERROR_STAGE = "import"
ERROR_KIND = "registry_row"
#: ``Alias.source`` / ``FirmFinancials.source`` / ``Organisation.origin`` written by the import.
SOURCE = "registry"

_CHUNK = 900
_MIN_FOUNDED = dt.date(1900, 1, 1)
_MIN_FISCAL_YEAR = 1990
_MAX_MONEY = Decimal("1e18")
_CENT = Decimal("0.01")


# --------------------------------------------------------------------------- columns


#: The registry columns, in documentation order (``docs/registry.md`` mirrors this table).
COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("name", "企业名称", True, "full legal name", "科大讯飞股份有限公司", ("公司名称", "全称")),
    ColumnSpec("short_name", "企业简称", False, "text", "科大讯飞", ("公司简称", "简称")),
    ColumnSpec("english_name", "英文名称", False, "text", "iFLYTEK Co., Ltd.", ("英文名",)),
    ColumnSpec(
        "former_names", "曾用名", False, "names separated by ; or ；", "安徽中科大讯飞信息科技股份有限公司"
    ),
    ColumnSpec(
        "uscc",
        "统一社会信用代码",
        False,
        "18 chars, GB 32100-2015 check",
        "91340000711771143J",
        ("信用代码",),
    ),
    ColumnSpec("stock_code", "股票代码", False, "exchange's code format", "002230", ("证券代码",)),
    ColumnSpec(
        "exchange",
        "上市交易所",
        False,
        "SSE/SZSE/BSE/HKEX/NASDAQ/NYSE or Chinese name",
        "深交所",
        ("交易所", "stock_exchange"),
    ),
    ColumnSpec("stock_short_name", "股票简称", False, "text", "科大讯飞", ("证券简称",)),
    ColumnSpec(
        "province", "省份", True, "full or short name (or 2-digit code)", "安徽省", ("省", "所在省份")
    ),
    ColumnSpec(
        "city",
        "城市",
        False,
        "prefecture-level city in the province, with or without 市",
        "合肥",
        ("所在城市", "城市名称"),
    ),
    ColumnSpec(
        "industry_division",
        "行业代码",
        False,
        "GB/T 4754-2017 division, 2 digits",
        "65",
        ("行业大类", "行业大类代码"),
    ),
    ColumnSpec(
        "founded_on",
        "成立日期",
        False,
        "YYYY-MM-DD, YYYY/MM/DD, YYYY年M月D日 or date cell",
        "1999-12-30",
        ("成立时间",),
    ),
    ColumnSpec("employees", "员工人数", False, "integer >= 0", "14000", ("员工数", "职工人数")),
    ColumnSpec("listed", "是否上市", False, "是/否, true/false, 1/0, Y/N", "是", ("上市",)),
    ColumnSpec("tech_layer", "技术层次", False, "基础层/技术层/应用层", "技术层", ("技术层级",)),
    ColumnSpec("patents", "专利数", False, "integer >= 0", "3500", ("专利数量",)),
    ColumnSpec(
        "fiscal_year",
        "财年",
        False,
        f"integer {_MIN_FISCAL_YEAR}..current year",
        "2023",
        ("年度", "会计年度"),
    ),
    ColumnSpec(
        "revenue_cny",
        "营业收入（元）",
        False,
        "number >= 0, thousands separators allowed",
        "19,649,589,000.00",
        ("营业收入",),
    ),
    ColumnSpec(
        "rd_expense_cny",
        "研发费用（元）",
        False,
        "number >= 0, thousands separators allowed",
        "3,816,000,000",
        ("研发费用", "研发投入"),
    ),
)
_SPEC = {c.name: c for c in COLUMNS}
_FINANCIAL = ("revenue_cny", "rd_expense_cny")


_HEADER_KEYS: dict[str, str] = {}
for _col in COLUMNS:
    for _spelling in (_col.name, _col.chinese, *_col.synonyms):
        _HEADER_KEYS[header_key(_spelling)] = _col.name


# --------------------------------------------------------------------------- report types


@dataclass
class ImportReport:
    """What an import did (or, when it raised, would have had to reject)."""

    path: str = ""
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rejects_path: Path | None = None

    def summary(self) -> str:
        """One line for the CLI: counts and where the rejects went."""
        text = (
            f"{self.rows} rows: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.rejected} rejected"
        )
        if self.rejects_path is not None:
            text += f" (rejects: {self.rejects_path})"
        return text


class RegistryImportError(TableError):
    """The registry file has errors and nothing was imported.

    ``errors`` lists every :class:`RowError`; ``report`` is the (non-)import report. The
    message has one line per error: ``path:row N, column X: reason (value 'v')``.
    """

    def __init__(self, path: str | Path, errors: Sequence[RowError], report: ImportReport | None = None):
        super().__init__(path, errors)
        self.report = report


# --------------------------------------------------------------------------- parsing


@dataclass
class _Lookups:
    provinces: dict[str, str]  # folded name / short name / code -> code
    province_names: dict[str, str]  # code -> full name
    cities: dict[str, dict[str, str]]  # province code -> key -> city code
    city_names: dict[str, list[tuple[str, str]]]  # province code -> [(name, code)]
    city_province: dict[str, list[str]]  # city key -> province codes (for "wrong province")
    divisions: dict[str, str]  # division code -> section code


def _city_keys(name: str) -> set[str]:
    keys = {name}
    if name.endswith("市") and len(name) > 2:
        keys.add(name[:-1])
    return keys


def _load_lookups(session: Session) -> _Lookups:
    provinces: dict[str, str] = {}
    province_names: dict[str, str] = {}
    for code, name, short in session.execute(select(Province.code, Province.name, Province.short_name)):
        province_names[code] = name
        for key in (code, name, short):
            provinces[fold_compact(key)] = code
    cities: dict[str, dict[str, str]] = defaultdict(dict)
    city_names: dict[str, list[tuple[str, str]]] = defaultdict(list)
    city_province: dict[str, list[str]] = defaultdict(list)
    for code, name, prov in session.execute(select(City.code, City.name, City.province_code)):
        city_names[prov].append((name, code))
        for key in (*_city_keys(name), code):
            cities[prov][key] = code
            city_province[key].append(prov)
    divisions = {
        code: section
        for code, section in session.execute(select(IndustryDivision.code, IndustryDivision.section_code))
    }
    return _Lookups(provinces, province_names, cities, city_names, city_province, divisions)


@dataclass
class _Row:
    """A validated registry row (values normalised; ``None`` = blank)."""

    row: int
    cells: list[str]
    name: str = ""
    short_name: str | None = None
    english_name: str | None = None
    former_names: tuple[str, ...] = ()
    uscc: str | None = None
    stock_code: str | None = None
    exchange: str | None = None
    stock_short_name: str | None = None
    province_code: str = ""
    city_code: str | None = None
    industry_division: str | None = None
    industry_section: str | None = None
    founded_on: dt.date | None = None
    employees: int | None = None
    listed: bool | None = None
    tech_layer: str | None = None
    patents: int | None = None
    fiscal_year: int | None = None
    revenue_cny: Decimal | None = None
    rd_expense_cny: Decimal | None = None
    errors: list[RowError] = field(default_factory=list)


_TRUE = {"是", "true", "1", "y", "yes", "已上市", "t"}
_FALSE = {"否", "false", "0", "n", "no", "未上市", "f"}
_TECH_LAYER_WORDS = {
    "基础层": "基础层",
    "基础": "基础层",
    "foundation": "基础层",
    "basic": "基础层",
    "base": "基础层",
    "技术层": "技术层",
    "技术": "技术层",
    "technology": "技术层",
    "tech": "技术层",
    "应用层": "应用层",
    "应用": "应用层",
    "application": "应用层",
    "app": "应用层",
}
_DATE_PATTERNS = (
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"),
    re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"),
    re.compile(r"(\d{4})\.(\d{1,2})\.(\d{1,2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?"),
)
_TIME_SUFFIX = re.compile(r"(\s+|T)\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")
_INT = re.compile(r"[+-]?\d+")
_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


class _RowParser:
    """Validates one data row, collecting a :class:`RowError` per problem."""

    def __init__(self, lookups: _Lookups, columns: dict[str, int], today: dt.date):
        self.lookups = lookups
        self.columns = columns
        self.today = today

    def parse(self, number: int, values: list[Any]) -> _Row:
        raw = {col: values[i] if i < len(values) else None for col, i in self.columns.items()}
        text = {col: cell_text(v) for col, v in raw.items()}
        row = _Row(row=number, cells=[cell_text(v) for v in values])

        def err(column: str, reason: str) -> None:
            row.errors.append(RowError(number, column, text.get(column, ""), reason))

        def opt(column: str) -> str | None:
            value = " ".join(text.get(column, "").split())
            return value or None

        # names
        name = opt("name")
        if name is None:
            err("name", "required")
        elif len(name) > 255:
            err("name", "longer than 255 characters")
        else:
            row.name = name
        for col in ("short_name", "english_name", "stock_short_name"):
            value = opt(col)
            if value is not None and len(value) > 255:
                err(col, "longer than 255 characters")
            else:
                setattr(row, col, value)
        former = opt("former_names")
        if former:
            parts = [" ".join(p.split()) for p in re.split(r"[;；]", former)]
            names = tuple(dict.fromkeys(p for p in parts if p and p != row.name))
            if any(len(p) > 255 for p in names):
                err("former_names", "a former name is longer than 255 characters")
            else:
                row.former_names = names

        # identifiers
        uscc = opt("uscc")
        if uscc is not None:
            code = normalise_uscc(uscc)
            reason = validate_uscc(code)
            if reason:
                err("uscc", reason)
            else:
                row.uscc = code
        self._stock(row, opt("stock_code"), opt("exchange"), err)

        # place
        province = opt("province")
        if province is None:
            err("province", "required")
        else:
            code = self.lookups.provinces.get(fold_compact(province))
            if code is None:
                err("province", f"unknown province {province!r}")
            else:
                row.province_code = code
        city = opt("city")
        if city is not None and row.province_code:
            row.city_code = self._city(row.province_code, fold_compact(city), err)

        # industry
        division = opt("industry_division")
        if division is not None:
            self._division(row, division, err)

        # attributes
        row.founded_on = self._date(raw.get("founded_on"), opt("founded_on"), err)
        row.employees = self._int("employees", opt("employees"), err)
        row.patents = self._int("patents", opt("patents"), err)
        listed = opt("listed")
        if listed is not None:
            key = listed.lower()
            if key in _TRUE:
                row.listed = True
            elif key in _FALSE:
                row.listed = False
            else:
                err("listed", "expected 是/否, true/false, 1/0 or Y/N")
        if row.stock_code is not None or text.get("stock_code"):
            if row.listed is False:
                err("listed", "is 否/false but a stock_code is given")
            elif row.listed is None:
                row.listed = True
        elif row.listed is None and ("listed" in self.columns or "stock_code" in self.columns):
            row.listed = False
        layer = opt("tech_layer")
        if layer is not None:
            value = _TECH_LAYER_WORDS.get(layer.lower())
            if value is None or value not in TECH_LAYERS:
                err("tech_layer", "expected 基础层, 技术层 or 应用层")
            row.tech_layer = value

        # financials
        year = opt("fiscal_year")
        if year is not None:
            value = self._int("fiscal_year", year.removesuffix("年"), err)
            if value is not None and not (_MIN_FISCAL_YEAR <= value <= self.today.year):
                err("fiscal_year", f"must be between {_MIN_FISCAL_YEAR} and {self.today.year}")
            elif value is not None:
                row.fiscal_year = value
        for col in _FINANCIAL:
            amount = self._money(col, opt(col), err)
            setattr(row, col, amount)
            if amount is not None and year is None:
                err(col, "requires fiscal_year")
        return row

    def _stock(self, row: _Row, code: str | None, exchange: str | None, err: Any) -> None:
        canonical = None
        if exchange is not None:
            canonical = normalise_exchange(exchange)
            if canonical is None:
                err("exchange", "unknown exchange (use SSE, SZSE, BSE, HKEX, NASDAQ, NYSE or a Chinese name)")
                return
        if code is None:
            if exchange is not None:
                err("exchange", "exchange given without stock_code")
            return
        if canonical is None:
            canonical = infer_exchange(code)
            if canonical is None:
                err("exchange", "required for this stock_code (cannot infer the exchange)")
                return
        reason = validate_stock_code(canonical, code)
        if reason:
            err("stock_code", reason)
            return
        row.exchange = canonical
        row.stock_code = normalise_stock_code(canonical, code)

    def _city(self, province: str, city: str, err: Any) -> str | None:
        lookups = self.lookups
        keys = _city_keys(city)
        for key in keys:
            code = lookups.cities.get(province, {}).get(key)
            if code:
                return code
        if city in (
            fold_compact(lookups.province_names[province]),
            *[k for k, v in lookups.provinces.items() if v == province],
        ):
            if not lookups.city_names.get(province):
                return None  # e.g. 香港 in 香港特别行政区: no prefecture-level divisions
        prefixed = [
            code
            for name, code in lookups.city_names.get(province, [])
            if name.startswith(city) and len(city) >= 2
        ]
        if len(prefixed) == 1:
            return prefixed[0]
        elsewhere = sorted({p for key in keys for p in lookups.city_province.get(key, []) if p != province})
        province_name = lookups.province_names[province]
        if elsewhere:
            where = "、".join(lookups.province_names[p] for p in elsewhere)
            err("city", f"city is not in {province_name} (it is in {where})")
        else:
            err("city", f"unknown prefecture-level city in {province_name}")
        return None

    def _division(self, row: _Row, value: str, err: Any) -> None:
        match = re.fullmatch(r"([A-Ta-t])?\s*(\d{1,2})", fold_compact(value))
        if not match:
            err("industry_division", "expected a 2-digit GB/T 4754-2017 division code (e.g. 65)")
            return
        code = match.group(2).zfill(2)
        section = self.lookups.divisions.get(code)
        if section is None:
            err("industry_division", f"{code} is not a GB/T 4754-2017 division")
            return
        if match.group(1) and match.group(1).upper() != section:
            err(
                "industry_division",
                f"division {code} belongs to section {section}, not {match.group(1).upper()}",
            )
            return
        row.industry_division, row.industry_section = code, section

    def _date(self, raw: Any, text: str | None, err: Any) -> dt.date | None:
        if text is None:
            return None
        value: dt.date | None = None
        if isinstance(raw, dt.datetime):
            value = raw.date()
        elif isinstance(raw, dt.date):
            value = raw
        elif isinstance(raw, int | float) and not isinstance(raw, bool):
            from openpyxl.utils.datetime import from_excel

            try:
                converted = from_excel(raw)
            except (ValueError, OverflowError):
                converted = None
            value = converted.date() if isinstance(converted, dt.datetime) else None
        else:
            stripped = fold_compact(_TIME_SUFFIX.sub("", unicodedata.normalize("NFKC", text).strip()))
            for pattern in _DATE_PATTERNS:
                match = pattern.fullmatch(stripped)
                if match:
                    try:
                        value = dt.date(*(int(g) for g in match.groups()))
                    except ValueError:
                        err("founded_on", "not a valid calendar date")
                        return None
                    break
        if value is None:
            err("founded_on", "expected YYYY-MM-DD, YYYY/MM/DD or YYYY年M月D日")
            return None
        if value > self.today:
            err("founded_on", "date is in the future")
            return None
        if value < _MIN_FOUNDED:
            err("founded_on", "date is before 1900")
            return None
        return value

    def _int(self, column: str, text: str | None, err: Any) -> int | None:
        if text is None:
            return None
        cleaned = fold_compact(text)
        if _GROUPED.fullmatch(cleaned) and "." not in cleaned:
            cleaned = cleaned.replace(",", "")
        if cleaned.endswith(".0"):
            cleaned = cleaned[:-2]
        if not _INT.fullmatch(cleaned):
            err(column, "expected a whole number")
            return None
        value = int(cleaned)
        if value < 0:
            err(column, "must be >= 0")
            return None
        if value > 2**31 - 1:
            err(column, "too large")
            return None
        return value

    def _money(self, column: str, text: str | None, err: Any) -> Decimal | None:
        if text is None:
            return None
        cleaned = fold_compact(text).removeprefix("¥").removeprefix("￥")
        if "," in cleaned:
            if not _GROUPED.fullmatch(cleaned):
                err(column, "misplaced thousands separator")
                return None
            cleaned = cleaned.replace(",", "")
        if not _NUMBER.fullmatch(cleaned):
            err(column, "expected a number")
            return None
        try:
            value = Decimal(cleaned)
        except InvalidOperation:
            err(column, "expected a number")
            return None
        if value < 0:
            err(column, "must be >= 0")
            return None
        if value >= _MAX_MONEY:
            err(column, "too large")
            return None
        return value.quantize(_CENT, rounding=ROUND_HALF_UP)


# --------------------------------------------------------------------------- header


def _map_header(header: list[str]) -> tuple[dict[str, int], list[str], list[RowError]]:
    """The registry's header: :func:`map_header` with the registry's columns."""
    return map_header(header, _HEADER_KEYS, COLUMNS)


# --------------------------------------------------------------------------- matching


@dataclass
class _Existing:
    orgs: dict[int, Organisation] = field(default_factory=dict)
    by_uscc: dict[str, Organisation] = field(default_factory=dict)
    by_stock: dict[tuple[str, str], Organisation] = field(default_factory=dict)
    by_name: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))


def _chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    items = sorted(set(values))
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def _load_existing(session: Session, rows: Sequence[_Row]) -> _Existing:
    """Bulk-load every organisation a row could match (sample firms, by USCC, stock, full name)."""
    existing = _Existing()
    options = (selectinload(Organisation.aliases), selectinload(Organisation.attributes))

    def add(orgs: Iterable[Organisation]) -> None:
        for org in orgs:
            existing.orgs[org.id] = org

    add(session.scalars(select(Organisation).where(Organisation.is_sample.is_(True)).options(*options)))
    others = Organisation.is_sample.is_not(True)  # sample firms are loaded already
    for chunk in _chunks(r.uscc for r in rows if r.uscc):
        query = select(Organisation).where(others, Organisation.uscc.in_(chunk))
        add(session.scalars(query.options(*options)))
    for chunk in _chunks(r.stock_code for r in rows if r.stock_code):
        query = select(Organisation).where(others, Organisation.stock_code.in_(chunk))
        add(session.scalars(query.options(*options)))
    names = {r.name for r in rows if r.name}
    alias_owners: list[tuple[int, str]] = []
    for chunk in _chunks(names):
        alias_owners.extend(
            session.execute(
                select(Alias.organisation_id, Alias.name).where(Alias.kind == "full", Alias.name.in_(chunk))
            ).tuples()
        )
    missing = {org_id for org_id, _ in alias_owners} - existing.orgs.keys()
    for chunk in _chunks(missing):
        add(session.scalars(select(Organisation).where(Organisation.id.in_(chunk)).options(*options)))

    for org in existing.orgs.values():
        if org.uscc:
            existing.by_uscc[org.uscc] = org
        if org.stock_code and org.stock_exchange:
            existing.by_stock[(org.stock_exchange, org.stock_code)] = org
        if org.is_sample and org.name in names:
            existing.by_name[org.name].add(org.id)
    for org_id, name in alias_owners:
        existing.by_name[name].add(org_id)
    return existing


def _describe(org: Organisation) -> str:
    return f"organisation #{org.id} {org.name!r}"


def _resolve(row: _Row, existing: _Existing) -> tuple[Organisation | None, str]:
    """The existing organisation a valid row refers to (or ``None`` = new) and the key used.

    Keys in order: USCC, (exchange, stock_code), exact full name. Conflicts (the row's USCC
    or stock code belonging to another organisation, a differing USCC on the matched one, an
    ambiguous name) are added to ``row.errors``.
    """

    def conflict(column: str, value: str, reason: str) -> tuple[None, str]:
        row.errors.append(RowError(row.row, column, value, reason))
        return None, ""

    stock_key = (row.exchange, row.stock_code) if row.stock_code and row.exchange else None
    by_uscc = existing.by_uscc.get(row.uscc) if row.uscc else None
    by_stock = existing.by_stock.get(stock_key) if stock_key else None
    org: Organisation | None = None
    key = ""
    if by_uscc is not None:
        org, key = by_uscc, "uscc"
    elif by_stock is not None:
        org, key = by_stock, "stock_code"
    else:
        candidates = [existing.orgs[i] for i in sorted(existing.by_name.get(row.name, ()))]
        if len(candidates) > 1:
            samples = [o for o in candidates if o.is_sample]
            candidates = samples if samples else candidates
        if len(candidates) > 1:
            listed = ", ".join(f"#{o.id}" for o in candidates)
            return conflict("name", row.name, f"full name matches several organisations ({listed})")
        if candidates:
            org, key = candidates[0], "name"
    if org is None:
        return None, ""
    if by_stock is not None and by_stock is not org:
        return conflict(
            "stock_code",
            row.stock_code or "",
            f"{row.exchange} {row.stock_code} already belongs to {_describe(by_stock)}",
        )
    if row.uscc and org.uscc and org.uscc != row.uscc:
        return conflict("uscc", row.uscc, f"matched {_describe(org)} by {key}, but its USCC is {org.uscc}")
    return org, key


def _file_duplicates(rows: Sequence[_Row]) -> None:
    """Mark rows sharing a USCC, an (exchange, stock_code) or a full name (all rows involved)."""
    keys: list[tuple[str, str, Any]] = [
        ("uscc", "USCC", lambda r: r.uscc),
        (
            "stock_code",
            "exchange and stock_code",
            lambda r: (r.exchange, r.stock_code) if r.stock_code else None,
        ),
        ("name", "full name", lambda r: r.name or None),
    ]
    for column, label, key_of in keys:
        groups: dict[Any, list[_Row]] = defaultdict(list)
        for row in rows:
            key = key_of(row)
            if key is not None:
                groups[key].append(row)
        for group in groups.values():
            if len(group) < 2:
                continue
            for row in group:
                others = ", ".join(str(o.row) for o in group if o is not row)
                value = (
                    row.uscc if column == "uscc" else row.stock_code if column == "stock_code" else row.name
                )
                row.errors.append(
                    RowError(row.row, column, value or "", f"duplicate {label} (also on row {others})")
                )


# --------------------------------------------------------------------------- writing


def _set(obj: Any, attr: str, value: Any) -> bool:
    """Assign only when the value differs (so unchanged rows issue no UPDATE)."""
    current = getattr(obj, attr)
    if isinstance(value, Decimal) or isinstance(current, Decimal | float):
        same = (current is None and value is None) or (
            current is not None and value is not None and Decimal(str(current)) == Decimal(str(value))
        )
    else:
        same = current == value
    if same:
        return False
    setattr(obj, attr, value)
    return True


def _desired_aliases(row: _Row, present: set[str]) -> dict[str, set[str]]:
    """Alias kind -> names the row asks for, for the kinds whose column is in the file."""
    wanted: dict[str, set[str]] = {"full": {row.name}}
    for kind, column, names in (
        ("short", "short_name", [row.short_name]),
        ("english", "english_name", [row.english_name]),
        ("former", "former_names", list(row.former_names)),
        ("stock_short", "stock_short_name", [row.stock_short_name]),
    ):
        if column in present:
            wanted[kind] = {n for n in names if n}
    return wanted


def _sync_aliases(org: Organisation, wanted: dict[str, set[str]]) -> bool:
    changed = False
    have = {(a.name, a.kind) for a in org.aliases}
    for alias in list(org.aliases):
        if alias.source == SOURCE and alias.kind in wanted and alias.name not in wanted[alias.kind]:
            org.aliases.remove(alias)
            changed = True
    for kind, names in wanted.items():
        for name in sorted(names):
            if (name, kind) not in have:
                org.aliases.append(Alias(name=name, kind=kind, source=SOURCE))
                changed = True
    return changed


def _apply_org(org: Organisation, row: _Row, present: set[str]) -> bool:
    changed = False
    changed |= _set(org, "name", row.name)
    changed |= _set(org, "kind", "firm")
    changed |= _set(org, "is_sample", True)
    changed |= _set(org, "province_code", row.province_code)
    if "city" in present:
        changed |= _set(org, "city_code", row.city_code)
    elif org.city_code and not org.city_code.startswith(row.province_code):
        changed |= _set(org, "city_code", None)
    if "industry_division" in present:
        changed |= _set(org, "industry_division", row.industry_division)
        changed |= _set(org, "industry_section", row.industry_section)
    if "uscc" in present:
        changed |= _set(org, "uscc", row.uscc)
    if "stock_code" in present:
        changed |= _set(org, "stock_code", row.stock_code)
        changed |= _set(org, "stock_exchange", row.exchange)
    return changed


def _apply_attributes(org: Organisation, row: _Row, present: set[str]) -> bool:
    attrs = org.attributes
    changed = False
    if attrs is None:
        attrs = FirmAttributes(listed=False)
        org.attributes = attrs
        changed = True
    for column in ("founded_on", "employees", "tech_layer", "patents"):
        if column in present:
            changed |= _set(attrs, column, getattr(row, column))
    if row.listed is not None:
        changed |= _set(attrs, "listed", row.listed)
    return changed


def _apply_financials(
    session: Session,
    org: Organisation,
    row: _Row,
    present: set[str],
    financials: dict[tuple[int, int], FirmFinancials],
) -> bool:
    if row.fiscal_year is None or (row.revenue_cny is None and row.rd_expense_cny is None):
        return False
    record = financials.get((org.id, row.fiscal_year))
    changed = False
    if record is None:
        record = FirmFinancials(organisation_id=org.id, fiscal_year=row.fiscal_year, source=SOURCE)
        session.add(record)
        financials[(org.id, row.fiscal_year)] = record
        changed = True
    for column in _FINANCIAL:
        if column in present:
            changed |= _set(record, column, getattr(row, column))
    if changed and record.source != SOURCE:
        record.source = SOURCE
        record.document_id = None
    return changed


def _load_financials(
    session: Session, pairs: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], FirmFinancials]:
    wanted = set(pairs)
    result: dict[tuple[int, int], FirmFinancials] = {}
    years = {y for _, y in wanted}
    for chunk in _chunks(org_id for org_id, _ in wanted):
        query = select(FirmFinancials).where(
            FirmFinancials.organisation_id.in_(chunk), FirmFinancials.fiscal_year.in_(sorted(years))
        )
        for record in session.scalars(query):
            key = (record.organisation_id, record.fiscal_year)
            if key in wanted:
                result[key] = record
    return result


def _write_rejects(target: Path, header: list[str], bad: Sequence[_Row]) -> None:
    width = max([len(header), *(len(r.cells) for r in bad)])
    columns = [*header, *[""] * (width - len(header)), "row", "errors"]
    with target.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in bad:
            cells = [*row.cells, *[""] * (width - len(row.cells))]
            reasons = "; ".join(f"{e.column}: {e.reason} (value '{e.value}')" for e in row.errors)
            writer.writerow([*cells, row.row, reasons])


# --------------------------------------------------------------------------- entry point


def import_registry(
    session: Session,
    path: str | Path,
    *,
    skip_bad: bool = False,
    rejects_path: str | Path | None = None,
) -> ImportReport:
    """Import the firm registry at ``path`` (CSV or XLSX, first sheet) into ``session``.

    Every row is validated first. If any row is bad and ``skip_bad`` is false, nothing is
    written and :class:`RegistryImportError` (carrying all :class:`RowError` s and the report)
    is raised. With ``skip_bad`` the good rows are imported, the bad ones are written to
    ``rejects_path`` (default ``<stem>.rejects.csv`` beside the input: the original columns
    plus ``row`` and ``errors``) and each error is added as a :class:`PipelineError`.

    Problems with the file itself (unreadable, unsupported type, a required column missing,
    a column twice) always raise :class:`RegistryImportError` (row 1 = header).

    The function adds and flushes in ``session`` but does not commit: the caller commits.
    Re-importing an unchanged file writes nothing (all rows ``unchanged``).
    """
    source = Path(path)
    report = ImportReport(path=str(path))
    try:
        table = read_table(source)
    except TableError as exc:
        raise RegistryImportError(path, exc.errors, report) from exc
    report.warnings.extend(table.warnings)
    if not any(cell_text(c) for c in table.header):
        raise RegistryImportError(path, [RowError(1, "*", "", "no header row (file is empty)")], report)
    columns, unknown, header_errors = _map_header(table.header)
    if unknown:
        report.warnings.append("unknown column(s) ignored: " + ", ".join(unknown))
    if header_errors:
        report.errors = header_errors
        raise RegistryImportError(path, header_errors, report)
    present = set(columns)

    lookups = _load_lookups(session)
    parser = _RowParser(lookups, columns, dt.date.today())
    rows = [parser.parse(n, cells) for n, cells in table.rows if any(cell_text(c) for c in cells)]
    report.rows = len(rows)
    if not rows:
        report.warnings.append("no data rows")
    _file_duplicates(rows)

    existing = _load_existing(session, [r for r in rows if not r.errors])
    matches: dict[int, Organisation | None] = {}
    claimed: dict[int, list[_Row]] = defaultdict(list)
    for row in rows:
        if row.errors:
            continue
        org, _key = _resolve(row, existing)
        if row.errors:
            continue
        matches[row.row] = org
        if org is not None:
            claimed[org.id].append(row)
    for org_id, group in claimed.items():
        if len(group) > 1:
            org = existing.orgs[org_id]
            for row in group:
                others = ", ".join(str(o.row) for o in group if o is not row)
                row.errors.append(
                    RowError(row.row, "name", row.name, f"{_describe(org)} is also matched by row {others}")
                )
                matches.pop(row.row, None)

    bad = [r for r in rows if r.errors]
    report.errors = [e for r in bad for e in r.errors]
    report.rejected = len(bad)
    if bad and not skip_bad:
        raise RegistryImportError(path, report.errors, report)
    if bad:
        target = Path(rejects_path) if rejects_path else source.with_name(f"{source.stem}.rejects.csv")
        _write_rejects(target, [cell_text(c) for c in table.header], bad)
        report.rejects_path = target
        for row in bad:
            for error in row.errors:
                session.add(
                    PipelineError(
                        stage=ERROR_STAGE,
                        kind=ERROR_KIND,
                        location=f"{path}:{error.row}",
                        field=error.column,
                        reason=error.reason,
                        payload={
                            "value": error.value,
                            "row": dict(zip(table.header, row.cells, strict=False)),
                        },
                    )
                )

    good = [r for r in rows if not r.errors]
    if any(r.fiscal_year is not None and r.revenue_cny is None and r.rd_expense_cny is None for r in good):
        report.warnings.append(
            "fiscal_year given without revenue_cny or rd_expense_cny on some rows: ignored"
        )
    pairs = []
    for row in good:
        matched = matches[row.row]
        if matched is not None and row.fiscal_year is not None:
            pairs.append((matched.id, row.fiscal_year))
    financials = _load_financials(session, pairs)

    new: list[tuple[Organisation, _Row]] = []
    with session.no_autoflush:
        for row in good:
            org = matches[row.row]
            if org is None:
                org = Organisation(kind="firm", is_sample=True, origin=SOURCE, name=row.name)
                _apply_org(org, row, present)
                _apply_attributes(org, row, present)
                _sync_aliases(org, _desired_aliases(row, present))
                session.add(org)
                new.append((org, row))
                continue
            changed = _apply_org(org, row, present)
            changed |= _apply_attributes(org, row, present)
            changed |= _sync_aliases(org, _desired_aliases(row, present))
            changed |= _apply_financials(session, org, row, present, financials)
            if changed:
                org.updated_at = utcnow()
                report.updated += 1
            else:
                report.unchanged += 1
    session.flush()
    matched_ids = {org.id for org in matches.values() if org is not None}
    untouched = sum(1 for org in existing.orgs.values() if org.is_sample and org.id not in matched_ids)
    if untouched and rows:
        report.warnings.append(
            f"{untouched} sample firm(s) in the database are not in this file (left unchanged)"
        )
    if new:
        for org, row in new:
            _apply_financials(session, org, row, present, financials)
        session.flush()
    report.created = len(new)
    return report
