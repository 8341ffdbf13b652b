"""Reading tabular imports (CSV/TSV/XLSX) and mapping their headers: one reader for every import.

The firm registry (``etl.registry``) and the index's imported indicators (``analysis.index_imports``)
read spreadsheets analysts prepare: UTF-8 or GB18030 CSV, tab-separated text, or the first sheet of
an XLSX workbook. Every problem is a :class:`RowError` with the row number a spreadsheet shows
(header = row 1), so messages read ``path:row N, column X: reason (value 'v')``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ColumnSpec:
    """One registry column: canonical English name, Chinese header, and accepted spellings."""

    name: str
    chinese: str
    required: bool = False
    fmt: str = ""
    example: str = ""
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class RowError:
    """One problem in the registry file.

    ``row`` is the 1-based row number a spreadsheet shows (header = row 1, first data row = 2);
    ``column`` the canonical English column name; ``value`` the cell as read.
    """

    row: int
    column: str
    value: str
    reason: str

    def format(self, path: str | Path) -> str:
        """``path:row N, column X: reason (value 'v')``."""
        return f"{path}:row {self.row}, column {self.column}: {self.reason} (value '{self.value}')"


class TableError(Exception):
    """The table cannot be used; ``errors`` lists every :class:`RowError`, one message line each."""

    def __init__(self, path: str | Path, errors: Sequence[RowError]):
        self.path = str(path)
        self.errors = list(errors)
        lines = [e.format(self.path) for e in self.errors]
        bad_rows = len({e.row for e in self.errors})
        head = f"{self.path}: {len(self.errors)} error(s) in {bad_rows} row(s); nothing imported"
        super().__init__("\n".join([head, *lines]))


@dataclass
class Table:
    """A table as read: its header cells and its data rows with their spreadsheet row numbers."""

    header: list[str]
    rows: list[tuple[int, list[Any]]]  # (spreadsheet row number, cell values)
    warnings: list[str] = field(default_factory=list)


def decode_csv_bytes(data: bytes, path: Path) -> tuple[str, str | None]:
    """Decode CSV bytes: UTF-8 (with or without BOM), else GB18030."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), None
        except UnicodeDecodeError as exc:
            raise TableError(
                path, [RowError(1, "*", "", f"file has a UTF-8 BOM but is not UTF-8: {exc}")]
            ) from exc
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "file is not UTF-8; decoded as GB18030"
    except UnicodeDecodeError as exc:
        raise TableError(path, [RowError(1, "*", "", "file is neither UTF-8 nor GB18030")]) from exc


def _read_csv(path: Path) -> Table:
    text, warning = decode_csv_bytes(path.read_bytes(), path)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    table = Table(records[0] if records else [], [(i, rec) for i, rec in enumerate(records[1:], start=2)])
    if warning:
        table.warnings.append(warning)
    return table


def _read_xlsx(path: Path) -> Table:
    from openpyxl import load_workbook  # deferred: heavy, only the XLSX path needs it

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many exception types for a bad file
        raise TableError(path, [RowError(1, "*", "", f"cannot read XLSX: {exc}")]) from exc
    try:
        sheet = workbook.worksheets[0]
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        title = sheet.title
    finally:
        workbook.close()
    table = Table(
        [cell_text(v) for v in rows[0]] if rows else [], [(i, r) for i, r in enumerate(rows[1:], start=2)]
    )
    if len(workbook.sheetnames) > 1:
        table.warnings.append(f"read the first sheet {title!r} only ({len(workbook.sheetnames)} sheets)")
    return table


def read_table(path: Path) -> Table:
    """The first sheet of an XLSX file or a CSV/TSV file (UTF-8, else GB18030) as a :class:`Table`.

    Raises :class:`TableError` (row 1, column ``*``) for an unreadable or unsupported file.
    """
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    if suffix in (".csv", ".txt", ".tsv"):
        return _read_csv(path)
    raise TableError(
        path, [RowError(1, "*", "", f"unsupported file type {suffix!r} (use .csv or .xlsx)")]
    )


def cell_text(value: Any) -> str:
    """A cell as text, the way the rejects file and error messages show it."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def header_key(text: str) -> str:
    """Case-, width- and whitespace-insensitive key of a header cell (``*`` markers dropped)."""
    folded = unicodedata.normalize("NFKC", text).strip().lower().replace("*", "")
    return re.sub(r"[\s_\-]+", "", folded)


def map_header(
    header: list[Any], header_keys: dict[str, str], columns_spec: Sequence[ColumnSpec]
) -> tuple[dict[str, int], list[str], list[RowError]]:
    """Column name -> index, unknown header texts, and header errors (missing/duplicate).

    Shared by every tabular import (the firm registry, the index's imported indicators):
    ``header_keys`` maps folded header texts to column names, ``columns_spec`` says which are required.
    """
    columns: dict[str, int] = {}
    unknown: list[str] = []
    errors: list[RowError] = []
    for index, cell in enumerate(header):
        text = cell_text(cell)
        if not text:
            continue
        name = header_keys.get(header_key(text))
        if name is None:
            unknown.append(text)
        elif name in columns:
            errors.append(RowError(1, name, text, f"column appears twice (also column {columns[name] + 1})"))
        else:
            columns[name] = index
    for spec in columns_spec:
        if spec.required and spec.name not in columns:
            errors.append(
                RowError(1, spec.name, "", f"required column missing ({spec.name} or {spec.chinese})")
            )
    return columns, unknown, errors


#: First characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def safe_cell(value: Any) -> Any:
    """A CSV field or spreadsheet cell that no spreadsheet evaluates as a formula.

    OWASP's rule (https://owasp.org/www-community/attacks/CSV_Injection): text starting with
    ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading single quote. Numbers are
    returned unchanged, and so is text that is a plain decimal number (``-0.125``, ``+3``, a
    displayed value): a spreadsheet reads it as that number, never as a formula. Applied to every
    text cell aimap exports (the analysis bundle, the review sheet); an organisation named
    ``=HYPERLINK(...)`` is exported as ``'=HYPERLINK(...)``.
    """
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value
