"""The firm registry's columns and the parsing of one row: cells -> typed, validated values.

:data:`COLUMNS` is the column reference (``docs/registry.md``); :class:`RowParser` turns one
spreadsheet row into a :class:`RegistryRow`, reporting every problem as a
:class:`~common.tabular.RowError`, against the taxonomies and places loaded once
(:func:`load_lookups`). Used by :mod:`etl.registry`, which matches and writes the rows.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

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
    cell_text,
    header_key,
    map_header,
)
from common.text import fold_compact
from db.models import (
    TECH_LAYERS,
    City,
    IndustryDivision,
    Province,
)

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
COLUMN_SPECS = {c.name: c for c in COLUMNS}
FINANCIAL_COLUMNS = ("revenue_cny", "rd_expense_cny")


_HEADER_KEYS: dict[str, str] = {}
for _col in COLUMNS:
    for _spelling in (_col.name, _col.chinese, *_col.synonyms):
        _HEADER_KEYS[header_key(_spelling)] = _col.name


# --------------------------------------------------------------------------- parsing


@dataclass
class Lookups:
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


def load_lookups(session: Session) -> Lookups:
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
    return Lookups(provinces, province_names, cities, city_names, city_province, divisions)


@dataclass
class RegistryRow:
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


class RowParser:
    """Validates one data row, collecting a :class:`RowError` per problem."""

    def __init__(self, lookups: Lookups, columns: dict[str, int], today: dt.date):
        self.lookups = lookups
        self.columns = columns
        self.today = today

    def parse(self, number: int, values: list[Any]) -> RegistryRow:
        """One spreadsheet row (``number`` as a spreadsheet shows it) as a :class:`RegistryRow`, with its errors."""
        raw = {col: values[i] if i < len(values) else None for col, i in self.columns.items()}
        text = {col: cell_text(v) for col, v in raw.items()}
        row = RegistryRow(row=number, cells=[cell_text(v) for v in values])

        def err(column: str, reason: str) -> None:
            row.errors.append(RowError(number, column, text.get(column, ""), reason))

        def opt(column: str) -> str | None:
            value = " ".join(text.get(column, "").split())
            return value or None

        self._names(row, opt, err)
        self._identity_and_place(row, opt, err)
        self._attributes(row, raw, text, opt, err)
        self._financials(row, opt, err)
        return row

    def _names(self, row: RegistryRow, opt: Any, err: Any) -> None:
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


    def _identity_and_place(self, row: RegistryRow, opt: Any, err: Any) -> None:
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

    def _attributes(self, row: RegistryRow, raw: dict[str, Any], text: dict[str, str], opt: Any, err: Any) -> None:
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

    def _financials(self, row: RegistryRow, opt: Any, err: Any) -> None:
        year = opt("fiscal_year")
        if year is not None:
            value = self._int("fiscal_year", year.removesuffix("年"), err)
            if value is not None and not (_MIN_FISCAL_YEAR <= value <= self.today.year):
                err("fiscal_year", f"must be between {_MIN_FISCAL_YEAR} and {self.today.year}")
            elif value is not None:
                row.fiscal_year = value
        for col in FINANCIAL_COLUMNS:
            amount = self._money(col, opt(col), err)
            setattr(row, col, amount)
            if amount is not None and year is None:
                err(col, "requires fiscal_year")

    def _stock(self, row: RegistryRow, code: str | None, exchange: str | None, err: Any) -> None:
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

    def _division(self, row: RegistryRow, value: str, err: Any) -> None:
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
            from openpyxl.utils.datetime import from_excel  # deferred: heavy, only Excel serial dates need it

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


def map_registry_header(header: list[str]) -> tuple[dict[str, int], list[str], list[RowError]]:
    """The registry's header: :func:`map_header` with the registry's columns."""
    return map_header(header, _HEADER_KEYS, COLUMNS)
