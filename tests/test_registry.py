"""Firm registry import (etl.registry) and identifier rules (common.identifiers)."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from common.identifiers import (
    USCC_CHARSET,
    infer_exchange,
    is_valid_uscc,
    make_uscc,
    normalise_exchange,
    normalise_stock_code,
    uscc_check_char,
    validate_stock_code,
    validate_uscc,
)
from db.models import Alias, FirmAttributes, FirmFinancials, Organisation, PipelineError
from etl.registry import ImportReport, RegistryImportError, RowError, import_registry

# --------------------------------------------------------------------------- identifiers

#: Real, published codes (business licences shown on the firms' websites / GSXT):
#: 科大讯飞股份有限公司, 华为技术有限公司, 深圳市腾讯计算机系统有限公司, 北京百度网讯科技有限公司.
REAL_USCCS = ("91340000711771143J", "914403001922038216", "91440300708461136T", "91110000802100433B")


@pytest.mark.parametrize("code", REAL_USCCS)
def test_real_uscc_codes_are_valid(code: str) -> None:
    assert is_valid_uscc(code)
    assert validate_uscc(code) is None
    assert uscc_check_char(code[:17]) == code[17]


def test_make_uscc_produces_valid_codes() -> None:
    code = make_uscc("9", "1", "440100", "MA59XKL8A")
    assert code == "91440100MA59XKL8A0"
    assert is_valid_uscc(code)
    for body in ("000000000", "MA2B3C4D5", "YYYYYYYYY", "123456789"):
        assert is_valid_uscc(make_uscc("9", "1", "330100", body))


def test_invalid_uscc_reasons() -> None:
    good = "91340000711771143J"
    wrong_check = good[:17] + ("K" if good[17] != "K" else "L")
    assert "check character" in validate_uscc(wrong_check)
    assert "18 characters" in validate_uscc(good[:17])
    assert "not allowed" in validate_uscc(good[:10] + "I" + good[11:])  # I, O, Z, S, V excluded
    assert "not allowed" in validate_uscc(good.lower())
    assert "administrative division" in validate_uscc("91AB0000711771143J")
    assert not is_valid_uscc("")
    assert len(USCC_CHARSET) == 31 and not set("IOZSV") & set(USCC_CHARSET)


def test_make_uscc_rejects_malformed_parts() -> None:
    with pytest.raises(ValueError):
        make_uscc("9", "1", "44010", "MA59XKL8A")
    with pytest.raises(ValueError):
        make_uscc("9", "1", "440100", "MA59XKL8")
    with pytest.raises(ValueError):
        make_uscc("I", "1", "440100", "MA59XKL8A")
    with pytest.raises(ValueError):
        uscc_check_char("9134000071177114O")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("SSE", "SSE"),
        ("sse", "SSE"),
        ("上交所", "SSE"),
        ("上海证券交易所", "SSE"),
        ("沪", "SSE"),
        ("SZSE", "SZSE"),
        ("深交所", "SZSE"),
        ("深圳证券交易所", "SZSE"),
        ("深", "SZSE"),
        ("BSE", "BSE"),
        ("北交所", "BSE"),
        ("北京证券交易所", "BSE"),
        ("HKEX", "HKEX"),
        ("港交所", "HKEX"),
        ("香港联交所", "HKEX"),
        ("香港交易所", "HKEX"),
        ("NASDAQ", "NASDAQ"),
        ("纳斯达克", "NASDAQ"),
        ("NYSE", "NYSE"),
        ("纽交所", "NYSE"),
        ("纽约证券交易所", "NYSE"),
        (" ＳＳＥ ", "SSE"),
        ("东京证券交易所", None),
        ("", None),
    ],
)
def test_normalise_exchange(text: str, expected: str | None) -> None:
    assert normalise_exchange(text) == expected


@pytest.mark.parametrize(
    "exchange, code",
    [
        ("SSE", "600000"),
        ("SSE", "601318"),
        ("SSE", "603019"),
        ("SSE", "605000"),
        ("SSE", "688327"),
        ("SSE", "689009"),
        ("SSE", "600000.SH"),
        ("SZSE", "000001"),
        ("SZSE", "001979"),
        ("SZSE", "002230"),
        ("SZSE", "003816"),
        ("SZSE", "300750"),
        ("SZSE", "301236"),
        ("BSE", "830799"),
        ("BSE", "430047"),
        ("BSE", "920001"),
        ("HKEX", "700"),
        ("HKEX", "00700"),
        ("HKEX", "9988"),
        ("HKEX", "0020.HK"),
        ("NASDAQ", "BIDU"),
        ("NASDAQ", "baba"),
        ("NYSE", "BRK.A"),
        ("港交所", "2513"),
    ],
)
def test_valid_stock_codes(exchange: str, code: str) -> None:
    assert validate_stock_code(exchange, code) is None


@pytest.mark.parametrize(
    "exchange, code, reason",
    [
        ("SSE", "000001", "A-share range"),
        ("SSE", "60000", "6 digits"),
        ("SSE", "900901", "A-share range"),
        ("SZSE", "600000", "A-share range"),
        ("SZSE", "200001", "A-share range"),
        ("BSE", "930001", "A-share range"),
        ("BSE", "600000", "A-share range"),
        ("HKEX", "123456", "1-5 digits"),
        ("HKEX", "ABC", "1-5 digits"),
        ("NASDAQ", "TOOLONG", "1-5 letters"),
        ("NYSE", "123", "1-5 letters"),
        ("SSE", "600000.SZ", "names SZSE"),
        ("东京", "7203", "unknown exchange"),
    ],
)
def test_invalid_stock_codes(exchange: str, code: str, reason: str) -> None:
    message = validate_stock_code(exchange, code)
    assert message is not None and reason in message


def test_stock_code_normalisation_and_inference() -> None:
    assert normalise_stock_code("HKEX", "700") == "00700"
    assert normalise_stock_code("港交所", "0700.HK") == "00700"
    assert normalise_stock_code("SSE", "600000.SH") == "600000"
    assert normalise_stock_code("NASDAQ", " bidu ") == "BIDU"
    assert infer_exchange("688327") == "SSE"
    assert infer_exchange("300750") == "SZSE"
    assert infer_exchange("920001") == "BSE"
    assert infer_exchange("0700.HK") == "HKEX"
    assert infer_exchange("700") is None


# --------------------------------------------------------------------------- registry files

ZH_HEADER = [
    "企业名称",
    "企业简称",
    "英文名称",
    "曾用名",
    "统一社会信用代码",
    "股票代码",
    "上市交易所",
    "股票简称",
    "省份",
    "城市",
    "行业代码",
    "成立日期",
    "员工人数",
    "是否上市",
    "技术层次",
    "专利数",
    "财年",
    "营业收入（元）",
    "研发费用（元）",
]
EN_HEADER = [
    "name",
    "short_name",
    "english_name",
    "former_names",
    "uscc",
    "stock_code",
    "exchange",
    "stock_short_name",
    "province",
    "city",
    "industry_division",
    "founded_on",
    "employees",
    "listed",
    "tech_layer",
    "patents",
    "fiscal_year",
    "revenue_cny",
    "rd_expense_cny",
]
GENERATED_USCC = make_uscc("9", "1", "330100", "MA2B3C4D5")

# Names and USCCs of the first three firms are real; the other figures are illustrative.

GOOD_ROWS = [
    [
        "科大讯飞股份有限公司",
        "科大讯飞",
        "iFLYTEK Co., Ltd.",
        "安徽中科大讯飞信息科技股份有限公司；安徽科大讯飞信息科技股份有限公司",
        "91340000711771143J",
        "002230",
        "深交所",
        "科大讯飞",
        "安徽省",
        "合肥",
        "65",
        "1999-12-30",
        "14,000",
        "是",
        "技术层",
        "3500",
        "2023",
        "19,649,589,000.00",
        "3,816,000,000",
    ],
    [
        "华为技术有限公司",
        "华为",
        "Huawei Technologies Co., Ltd.",
        "",
        "914403001922038216",
        "",
        "",
        "",
        "广东",
        "深圳市",
        "39",
        "1987/09/15",
        "207000",
        "否",
        "基础层",
        "100000",
        "2023",
        "704174000000",
        "164700000000",
    ],
    [
        "北京百度网讯科技有限公司",
        "百度",
        "",
        "",
        "91110000802100433B",
        "",
        "",
        "",
        "北京",
        "北京",
        "64",
        "2001年6月5日",
        "",
        "",
        "应用层",
        "",
        "",
        "",
        "",
    ],
    [
        "云从科技集团股份有限公司",
        "云从科技",
        "",
        "",
        "",
        "688327",
        "上交所",
        "云从科技",
        "广东省",
        "广州",
        "65",
        "2015-03-27",
        "1500",
        "是",
        "技术层",
        "",
        "2022",
        "526,000,000.5",
        "",
    ],
    [
        "杭州示例智能科技有限公司",
        "示例智能",
        "",
        "",
        GENERATED_USCC,
        "",
        "",
        "",
        "浙江",
        "杭州市",
        "",
        "",
        "80",
        "否",
        "应用层",
        "12",
        "",
        "",
        "",
    ],
]


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def org_by_name(session: Session, name: str) -> Organisation:
    return session.scalars(select(Organisation).where(Organisation.name == name)).one()


def aliases_of(session: Session, org: Organisation) -> set[tuple[str, str]]:
    rows = session.execute(select(Alias.kind, Alias.name).where(Alias.organisation_id == org.id))
    return set(rows.tuples())


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_csv_with_chinese_headers_imports(session: Session, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "firms.csv", ZH_HEADER, GOOD_ROWS, encoding="utf-8-sig")
    report = import_registry(session, path)
    session.commit()

    assert isinstance(report, ImportReport)
    assert (report.rows, report.created, report.updated, report.unchanged, report.rejected) == (5, 5, 0, 0, 0)
    assert report.errors == [] and report.warnings == [] and report.rejects_path is None
    assert count(session, Organisation) == 5

    iflytek = org_by_name(session, "科大讯飞股份有限公司")
    assert (iflytek.kind, iflytek.is_sample, iflytek.origin) == ("firm", True, "registry")
    assert (iflytek.province_code, iflytek.city_code) == ("34", "340100")
    assert (iflytek.industry_division, iflytek.industry_section) == ("65", "I")
    assert (iflytek.uscc, iflytek.stock_exchange, iflytek.stock_code) == (
        "91340000711771143J",
        "SZSE",
        "002230",
    )
    assert aliases_of(session, iflytek) == {
        ("full", "科大讯飞股份有限公司"),
        ("short", "科大讯飞"),
        ("english", "iFLYTEK Co., Ltd."),
        ("former", "安徽中科大讯飞信息科技股份有限公司"),
        ("former", "安徽科大讯飞信息科技股份有限公司"),
        ("stock_short", "科大讯飞"),
    }
    assert set(session.scalars(select(Alias.source))) == {"registry"}
    attrs = session.get(FirmAttributes, iflytek.id)
    assert (attrs.founded_on, attrs.employees, attrs.listed, attrs.tech_layer, attrs.patents) == (
        dt.date(1999, 12, 30),
        14000,
        True,
        "技术层",
        3500,
    )
    fin = session.scalars(select(FirmFinancials).where(FirmFinancials.organisation_id == iflytek.id)).one()
    assert (fin.fiscal_year, fin.source) == (2023, "registry")
    assert Decimal(fin.revenue_cny) == Decimal("19649589000.00")
    assert Decimal(fin.rd_expense_cny) == Decimal("3816000000")

    huawei = org_by_name(session, "华为技术有限公司")
    assert (huawei.province_code, huawei.city_code, huawei.industry_section) == ("44", "440300", "C")
    assert huawei.stock_code is None and huawei.stock_exchange is None
    assert session.get(FirmAttributes, huawei.id).listed is False
    assert session.get(FirmAttributes, huawei.id).founded_on == dt.date(1987, 9, 15)

    baidu = org_by_name(session, "北京百度网讯科技有限公司")
    assert (baidu.province_code, baidu.city_code) == ("11", "110100")
    assert session.get(FirmAttributes, baidu.id).founded_on == dt.date(2001, 6, 5)
    assert session.get(FirmAttributes, baidu.id).employees is None
    assert count(session, FirmFinancials) == 3  # 讯飞 2023, 华为 2023, 云从 2022

    cloudwalk = org_by_name(session, "云从科技集团股份有限公司")
    assert (cloudwalk.stock_exchange, cloudwalk.stock_code, cloudwalk.uscc) == ("SSE", "688327", None)
    fin = session.scalars(select(FirmFinancials).where(FirmFinancials.organisation_id == cloudwalk.id)).one()
    assert Decimal(fin.revenue_cny) == Decimal("526000000.50") and fin.rd_expense_cny is None


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_csv_encodings(session: Session, tmp_path: Path, encoding: str) -> None:
    path = write_csv(tmp_path / "firms.csv", ZH_HEADER, GOOD_ROWS[:2], encoding=encoding)
    report = import_registry(session, path)
    assert report.created == 2
    assert org_by_name(session, "华为技术有限公司").city_code == "440300"
    assert any("GB18030" in w for w in report.warnings) == (encoding == "gb18030")


def test_xlsx_import_with_typed_cells(session: Session, tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "企业名录"
    sheet.append(
        ["Name ", "PROVINCE", "City", "uscc", "Stock Code", "Exchange", "Founded On", "employees", "listed"]
    )
    sheet.append(
        [
            "商汤集团有限公司",
            "上海市",
            "上海",
            None,
            20,
            "港交所",
            dt.datetime(2014, 10, 15),
            5000,
            True,
        ]
    )
    sheet.append(
        [
            "苏州示例视觉科技有限公司",
            "江苏",
            "苏州",
            make_uscc("9", "1", "320500", "MA1MXXXX1"),
            None,
            None,
            None,
            35.0,
            "N",
        ]
    )
    other = workbook.create_sheet("notes")
    other.append(["ignored"])
    path = tmp_path / "firms.xlsx"
    workbook.save(path)

    report = import_registry(session, path)
    session.commit()
    assert (report.rows, report.created, report.rejected) == (2, 2, 0)
    assert any("first sheet" in w for w in report.warnings)
    sensetime = org_by_name(session, "商汤集团有限公司")
    assert (sensetime.stock_exchange, sensetime.stock_code) == ("HKEX", "00020")
    assert (sensetime.province_code, sensetime.city_code) == ("31", "310100")
    attrs = session.get(FirmAttributes, sensetime.id)
    assert (attrs.founded_on, attrs.employees, attrs.listed) == (dt.date(2014, 10, 15), 5000, True)
    suzhou = org_by_name(session, "苏州示例视觉科技有限公司")
    assert suzhou.city_code == "320500"
    assert session.get(FirmAttributes, suzhou.id).employees == 35


def _snapshot(session: Session) -> dict:
    session.expire_all()
    orgs = {o.id: (o.name, o.updated_at, o.created_at) for o in session.scalars(select(Organisation))}
    aliases = set(session.execute(select(Alias.id, Alias.organisation_id, Alias.kind, Alias.name)).tuples())
    fins = set(
        session.execute(
            select(FirmFinancials.id, FirmFinancials.updated_at, FirmFinancials.revenue_cny)
        ).tuples()
    )
    return {"orgs": orgs, "aliases": aliases, "fins": fins}


def test_reimport_same_file_is_a_no_op(session: Session, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "firms.csv", ZH_HEADER, GOOD_ROWS)
    import_registry(session, path)
    session.commit()
    before = _snapshot(session)

    report = import_registry(session, path)
    assert not session.dirty and not session.new and not session.deleted
    session.commit()
    assert (report.created, report.updated, report.unchanged, report.rejected) == (0, 0, 5, 0)
    assert _snapshot(session) == before


def test_changed_row_updates_in_place(session: Session, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "firms.csv", ZH_HEADER, GOOD_ROWS)
    import_registry(session, path)
    session.commit()
    before = _snapshot(session)
    iflytek = org_by_name(session, "科大讯飞股份有限公司")

    rows = [list(r) for r in GOOD_ROWS]
    row = rows[0]
    row[ZH_HEADER.index("企业简称")] = "讯飞"
    row[ZH_HEADER.index("英文名称")] = ""
    row[ZH_HEADER.index("曾用名")] = "安徽中科大讯飞信息科技股份有限公司"
    row[ZH_HEADER.index("员工人数")] = "15000"
    row[ZH_HEADER.index("营业收入（元）")] = "20,000,000,000"
    path2 = write_csv(tmp_path / "firms_v2.csv", ZH_HEADER, rows)
    report = import_registry(session, path2)
    session.commit()

    assert (report.created, report.updated, report.unchanged) == (0, 1, 4)
    after = _snapshot(session)
    assert after["orgs"].keys() == before["orgs"].keys()
    changed = org_by_name(session, "科大讯飞股份有限公司")
    assert changed.id == iflytek.id
    assert after["orgs"][iflytek.id][1] > before["orgs"][iflytek.id][1]  # updated_at bumped
    for org_id, values in before["orgs"].items():
        if org_id != iflytek.id:
            assert after["orgs"][org_id] == values
    assert aliases_of(session, changed) == {
        ("full", "科大讯飞股份有限公司"),
        ("short", "讯飞"),
        ("former", "安徽中科大讯飞信息科技股份有限公司"),
        ("stock_short", "科大讯飞"),
    }
    assert session.get(FirmAttributes, changed.id).employees == 15000
    fin = session.scalars(select(FirmFinancials).where(FirmFinancials.organisation_id == changed.id)).one()
    assert Decimal(fin.revenue_cny) == Decimal("20000000000")


def test_identity_falls_back_to_name_then_uscc_is_added(session: Session, tmp_path: Path) -> None:
    header = ["企业名称", "省份", "城市"]
    import_registry(session, write_csv(tmp_path / "a.csv", header, [["华为技术有限公司", "广东", "深圳"]]))
    session.commit()
    first = org_by_name(session, "华为技术有限公司")

    header2 = ["企业名称", "省份", "统一社会信用代码", "企业简称"]
    report = import_registry(
        session,
        write_csv(tmp_path / "b.csv", header2, [["华为技术有限公司", "广东", "914403001922038216", "华为"]]),
    )
    session.commit()
    assert (report.created, report.updated) == (0, 1)
    again = org_by_name(session, "华为技术有限公司")
    assert again.id == first.id and again.uscc == "914403001922038216"
    assert again.city_code == "440300"  # the city column was absent: left alone

    # renamed firm, same USCC: found by USCC, the old full name alias is replaced
    report = import_registry(
        session,
        write_csv(
            tmp_path / "c.csv", header2, [["华为技术（新）有限公司", "广东", "914403001922038216", "华为"]]
        ),
    )
    session.commit()
    assert (report.created, report.updated) == (0, 1)
    renamed = session.get(Organisation, first.id)
    assert renamed.name == "华为技术（新）有限公司"
    assert ("full", "华为技术有限公司") not in aliases_of(session, renamed)


def test_stock_code_owned_by_another_firm_is_an_error(session: Session, tmp_path: Path) -> None:
    header = ["企业名称", "省份", "股票代码", "上市交易所"]
    import_registry(
        session, write_csv(tmp_path / "a.csv", header, [["甲科技股份有限公司", "北京", "688001", "SSE"]])
    )
    session.commit()
    header2 = ["企业名称", "省份", "统一社会信用代码", "股票代码", "上市交易所"]
    other = make_uscc("9", "1", "110108", "MA00AAAA1")
    existing = make_uscc("9", "1", "110108", "MA00BBBB2")
    session.add(Organisation(name="乙科技股份有限公司", kind="firm", uscc=existing))
    session.commit()
    path = write_csv(tmp_path / "b.csv", header2, [["乙科技股份有限公司", "北京", existing, "688001", "SSE"]])
    with pytest.raises(RegistryImportError) as info:
        import_registry(session, path)
    assert [(e.row, e.column) for e in info.value.errors] == [(2, "stock_code")]
    assert "already belongs to" in info.value.errors[0].reason
    session.rollback()
    path = write_csv(tmp_path / "c.csv", header2, [["甲科技股份有限公司", "北京", other, "688001", "SSE"]])
    assert import_registry(session, path).updated == 1  # found by stock code, USCC added


BAD_CASES = [
    # (column to change, new value, expected column, reason fragment)
    ("统一社会信用代码", "91340000711771143K", "uscc", "check character"),
    ("省份", "火星省", "province", "unknown province"),
    ("城市", "杭州", "city", "is not in 安徽省 (it is in 浙江省)"),
    ("成立日期", (dt.date.today() + dt.timedelta(days=400)).isoformat(), "founded_on", "future"),
    ("员工人数", "-5", "employees", ">= 0"),
    ("是否上市", "否", "listed", "stock_code"),
    ("股票代码", "12345", "stock_code", "6 digits"),
    ("技术层次", "平台层", "tech_layer", "基础层"),
    ("行业代码", "99", "industry_division", "not a GB/T 4754-2017 division"),
    ("成立日期", "1899-12-31", "founded_on", "before 1900"),
    ("成立日期", "2020-02-30", "founded_on", "calendar"),
    ("财年", "1980", "fiscal_year", "between"),
]


def _bad_file(tmp_path: Path) -> tuple[Path, list[tuple[int, str, str]]]:
    base = GOOD_ROWS[0]
    rows: list[list[str]] = [list(r) for r in GOOD_ROWS[1:]]  # rows 2-5: good
    expected: list[tuple[int, str, str]] = []
    for i, (header, value, column, reason) in enumerate(BAD_CASES):
        row = list(base)
        row[ZH_HEADER.index("企业名称")] = f"坏数据{i}有限公司"
        row[ZH_HEADER.index("统一社会信用代码")] = make_uscc("9", "1", "340100", f"MA00{i:05d}")
        row[ZH_HEADER.index("股票代码")] = f"0020{i:02d}"
        row[ZH_HEADER.index(header)] = value
        rows.append(row)
        expected.append((len(rows) + 1, column, reason))
    # duplicate USCC: two rows share 华为's code
    dup = list(GOOD_ROWS[1])
    dup[0] = "华为终端有限公司"
    rows.append(dup)
    expected.append((2, "uscc", "duplicate USCC (also on row"))
    expected.append((len(rows) + 1, "uscc", "duplicate USCC (also on row 2)"))
    rows.append([""] * len(ZH_HEADER))  # blank line: ignored
    return write_csv(tmp_path / "bad.csv", ZH_HEADER, rows), expected


def test_bad_rows_abort_the_import_and_are_all_listed(session: Session, tmp_path: Path) -> None:
    path, expected = _bad_file(tmp_path)
    with pytest.raises(RegistryImportError) as info:
        import_registry(session, path)
    errors = info.value.errors
    assert all(isinstance(e, RowError) for e in errors)
    for row, column, reason in expected:
        assert any(e.row == row and e.column == column and reason in e.reason for e in errors), (row, column)
    assert {e.row for e in errors} == {r for r, _, _ in expected}
    message = str(info.value)
    assert (
        f"{path}:row 6, column uscc: check character is 'K', expected 'J' (value '91340000711771143K')"
        in message
    )
    assert f"{path}:row 7, column province: unknown province '火星省' (value '火星省')" in message
    report = info.value.report
    assert report is not None and report.rejected == len({r for r, _, _ in expected})
    session.rollback()
    assert count(session, Organisation) == 0
    assert count(session, Alias) == 0
    assert count(session, PipelineError) == 0


def test_skip_bad_imports_good_rows_and_writes_rejects(session: Session, tmp_path: Path) -> None:
    path, expected = _bad_file(tmp_path)
    bad_rows = sorted({r for r, _, _ in expected})
    report = import_registry(session, path, skip_bad=True)
    session.commit()

    assert report.rejected == len(bad_rows)
    assert report.rows == 4 + len(BAD_CASES) + 1
    assert report.created == report.rows - report.rejected == 3  # 百度, 云从, 示例 (华为 is a duplicate)
    assert report.rejects_path == tmp_path / "bad.rejects.csv"
    with report.rejects_path.open(encoding="utf-8-sig", newline="") as handle:
        rejects = list(csv.DictReader(handle))
    assert list(rejects[0].keys()) == [*ZH_HEADER, "row", "errors"]
    assert [int(r["row"]) for r in rejects] == bad_rows
    by_row = {int(r["row"]): r for r in rejects}
    assert by_row[7]["省份"] == "火星省" and "unknown province" in by_row[7]["errors"]

    errors = session.scalars(select(PipelineError)).all()
    assert {(e.stage, e.kind) for e in errors} == {("import", "registry_row")}
    assert {(e.location, e.field) for e in errors} >= {(f"{path}:{r}", c) for r, c, _ in expected}
    assert count(session, Organisation) == 3
    assert session.scalars(select(Organisation).where(Organisation.name.like("坏数据%"))).all() == []

    custom = tmp_path / "out" / "rej.csv"
    custom.parent.mkdir()
    report = import_registry(session, path, skip_bad=True, rejects_path=custom)
    assert report.rejects_path == custom and custom.exists()
    assert (report.created, report.unchanged) == (0, 3)


def test_header_problems(session: Session, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", ["企业名称", "城市", "备注"], [["甲有限公司", "北京"]])
    with pytest.raises(RegistryImportError) as info:
        import_registry(session, path)
    assert [(e.row, e.column) for e in info.value.errors] == [(1, "province")]
    assert "required column missing" in str(info.value)

    path = write_csv(
        tmp_path / "b.csv", [" 企业名称 ", "PROVINCE", "备注", "Rating"], [["甲有限公司", "北京", "x", "A"]]
    )
    report = import_registry(session, path)
    assert report.created == 1
    assert report.warnings == ["unknown column(s) ignored: 备注, Rating"]

    with pytest.raises(RegistryImportError):
        import_registry(session, write_csv(tmp_path / "c.csv", ["name", "企业名称", "province"], []))
    with pytest.raises(RegistryImportError):
        import_registry(session, tmp_path / "firms.json")


def test_financials_require_fiscal_year(session: Session, tmp_path: Path) -> None:
    header = ["name", "province", "fiscal_year", "revenue_cny", "rd_expense_cny"]
    rows = [["甲有限公司", "北京", "", "1,000", ""], ["乙有限公司", "北京", "2023", "1,00,0", "-1"]]
    with pytest.raises(RegistryImportError) as info:
        import_registry(session, write_csv(tmp_path / "f.csv", header, rows))
    got = {(e.row, e.column, e.reason) for e in info.value.errors}
    assert got == {
        (2, "revenue_cny", "requires fiscal_year"),
        (3, "revenue_cny", "misplaced thousands separator"),
        (3, "rd_expense_cny", "must be >= 0"),
    }


@pytest.mark.timeout(300)
def test_report_scale_registry_uses_bulk_queries(session: Session, tmp_path: Path) -> None:
    header = ["企业名称", "企业简称", "统一社会信用代码", "省份", "城市", "财年", "营业收入（元）"]
    cities = [("广东", "深圳"), ("北京", "北京"), ("上海", "上海"), ("浙江", "杭州"), ("安徽", "合肥")]
    rows = []
    for i in range(4311):
        province, city = cities[i % len(cities)]
        uscc = make_uscc("9", "1", "440300", f"MA5{i:06d}")
        rows.append(
            [f"样本企业{i:04d}有限公司", f"样本{i:04d}", uscc, province, city, "2023", f"{i * 1000:,}"]
        )
    path = write_csv(tmp_path / "big.csv", header, rows)

    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        report = import_registry(session, path)
        session.commit()
        first = list(statements)
        statements.clear()
        again = import_registry(session, path)
        session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert report.created == 4311
    assert again.unchanged == 4311
    # existing data and taxonomies are loaded in bulk: a few dozen SELECTs, not one per row
    # (SQLite INSERTs are one statement per row because of the RETURNING id; PostgreSQL batches them)
    assert sum(s.lstrip().upper().startswith("SELECT") for s in first) < 30, first
    assert len(statements) < 40, statements
    assert all(s.lstrip().upper().startswith("SELECT") for s in statements)


# --------------------------------------------------------------------------- the registry and stored extractions


def test_an_import_marks_the_stored_documents_that_name_a_firm_it_adds_for_extraction_again(
        session: Session, tmp_path: Path) -> None:
    """A registry's names are gazetteer names and a sample firm is a supplier, so a document extracted
    before its firm was in the registry is pending again after the import (and only such a document),
    an organisation the ETL made under the firm's short name is merged into it, and the next ETL
    reads both documents with the registry's firm."""
    import hashlib

    from db.models import CooperationEvent, Document, Mention
    from etl.load import pending_documents, run_etl
    from etl.registry import REEXTRACT_MARK

    texts = {
        "full": "2024年3月5日，深蓝智算科技有限公司与北京协和医院签署人工智能战略合作协议，双方将在医学影像领域合作。",
        "short": "2024年4月8日，深蓝智算与四川大学华西医院签署合作协议，共建智慧医疗联合实验室。",
        "other": "2024年5月9日，北京云启智能科技有限公司与上海市第六人民医院签署人工智能合作协议。",
    }
    docs = {}
    for key, text in texts.items():
        docs[key] = Document(canonical_url=f"http://127.0.0.1/{key}", url=f"/{key}", http_status=200,
                             content_sha256=hashlib.sha256(text.encode()).hexdigest(),
                             published_on=dt.date(2024, 6, 1), title=None, text=text)
        session.add(docs[key])
    session.commit()
    run_etl(session)
    session.commit()
    assert pending_documents(session) == []

    path = write_csv(tmp_path / "firms.csv", ["name", "short_name", "province"],
                     [["深蓝智算科技有限公司", "深蓝智算", "北京"]])
    report = import_registry(session, path)
    session.commit()
    assert report.reextract == 2
    assert report.merged == 1  # "深蓝智算", which the first ETL made an organisation of its own
    assert session.scalar(select(func.count()).select_from(Organisation).where(Organisation.name == "深蓝智算")) == 0
    assert set(pending_documents(session)) == {docs["full"].id, docs["short"].id}
    assert session.get(Document, docs["full"].id).extractor_version == REEXTRACT_MARK
    assert import_registry(session, path).reextract == 0  # the same file again changes nothing
    session.commit()

    run_etl(session)
    session.commit()
    assert pending_documents(session) == []
    firm = org_by_name(session, "深蓝智算科技有限公司")
    assert firm.is_sample
    def parties(key: str) -> set[tuple[int, int]]:
        return set(session.execute(
            select(CooperationEvent.provider_id, CooperationEvent.receiver_id)
            .join(Mention, Mention.event_id == CooperationEvent.id).where(Mention.document_id == docs[key].id)).tuples())

    assert parties("full") == {(firm.id, org_by_name(session, "北京协和医院").id)}  # the sample firm supplies
    assert {firm.id, org_by_name(session, "四川大学华西医院").id} in [set(p) for p in parties("short")]
    versions = set(session.scalars(select(Document.extractor_version)))
    assert REEXTRACT_MARK not in versions and len(versions) == 1
