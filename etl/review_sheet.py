"""The review queue as a workbook: export the (filtered) queue, decide in Excel, import the decisions.

:func:`export_queue` writes the items of :func:`etl.review.list_items` to an XLSX file: one row
per item with its id, kind, score, evidence, degree, both names and ids, the summary, and two
columns for the analyst — ``decision`` (a drop-down: accept / reject; Chinese 接受 / 拒绝 read too)
and ``note``. :func:`import_decisions_sheet` reads the first sheet back (the header decides which
column is which, so columns may be moved or added), checks every row first — an unknown decision
or a malformed id names its row and nothing is applied — then takes the decisions with
:func:`etl.review.decide_many`, i.e. into the same judgement store (``judgements``,
``event_reviews``) as ``aimap review accept/reject``. Rows left blank stay in the queue; an item
decided meanwhile is skipped and counted, so importing the same file twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy.orm import Session

from common.tabular import RowError, TableError, cell_text, header_key, read_table, safe_cell
from etl.review import (
    BulkReport,
    QueueFilter,
    ReviewError,
    ReviewItem,
    decide_many,
    list_items,
    parse_item_id,
)

COLUMNS = ("id", "kind", "score", "evidence", "degree", "left_id", "left_name", "right_id", "right_name",
           "summary", "decision", "note")
WIDTHS = {"id": 9, "kind": 7, "score": 7, "evidence": 9, "degree": 8, "left_id": 8, "left_name": 34, "right_id": 8,
          "right_name": 34, "summary": 60, "decision": 10, "note": 30}
ACCEPT = {"accept", "accepted", "接受", "同意", "merge", "keep"}
REJECT = {"reject", "rejected", "拒绝", "不同意"}
HELP = [
    "aimap review queue — decide in the sheet 'queue', then: aimap review import-xlsx FILE [--by NAME]",
    "decision: accept (merge the two organisations / keep the event) or reject (keep them apart for good / "
    "exclude the event); 接受 / 拒绝 are read too; leave it blank to decide later.",
    "note: why (stored with the decision).",
    "evidence: events of both organisations (what a merge changes), or the event's mentions; degree: the larger "
    "number of distinct partners of the two organisations.",
    "Evidence of an item: aimap review show ID.",
]


def export_queue(session: Session, path: Path, where: QueueFilter | None = None, limit: int | None = None) -> int:
    """Write the queue items passing ``where`` (most evidence first) to ``path``; return how many."""
    items = list_items(session, where=where, limit=limit)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "queue"
    sheet.append(list(COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for item in items:
        sheet.append(_row(item))
    for index, name in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[sheet.cell(1, index).column_letter].width = WIDTHS[name]
    decision = sheet.cell(1, COLUMNS.index("decision") + 1).column_letter
    choice = DataValidation(type="list", formula1='"accept,reject"', allow_blank=True,
                            errorTitle="decision", error="accept or reject (or leave blank)")
    sheet.add_data_validation(choice)
    if items:
        choice.add(f"{decision}2:{decision}{len(items) + 1}")
    for row in sheet.iter_rows(min_row=2, min_col=COLUMNS.index("summary") + 1, max_col=COLUMNS.index("summary") + 1):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "B2"
    sheet.auto_filter.ref = sheet.dimensions
    notes = book.create_sheet("help")
    for line in HELP:
        notes.append([line])
    notes.column_dimensions["A"].width = 120
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return len(items)


def _row(item: ReviewItem) -> list[Any]:
    """One queue item as a sheet row; names and summaries neutralised (:func:`common.tabular.safe_cell`)."""
    return [safe_cell(v) for v in (item.id, item.kind, round(item.score, 4), item.evidence, item.degree, item.orgs[0],
                                   item.names[0], item.orgs[1], item.names[1], item.summary, None, None)]


@dataclass(frozen=True)
class SheetDecision:
    """One decided row of an imported sheet."""

    row: int
    item_id: str
    accept: bool
    note: str | None


def read_decisions(path: Path) -> list[SheetDecision]:
    """The decided rows of an exported queue file; :class:`TableError` lists every bad row (nothing applied)."""
    table = read_table(path)
    where = {header_key(cell_text(h)): i for i, h in enumerate(table.header)}
    missing = [c for c in ("id", "decision") if c not in where]
    if missing:
        raise TableError(path, [RowError(1, c, "", "column missing (export the queue with "
                                                   "`aimap review export-xlsx` and keep its header)")
                                for c in missing])
    errors: list[RowError] = []
    found: list[SheetDecision] = []

    def cell(values: list[Any], name: str) -> str:
        index = where.get(name)
        return cell_text(values[index]) if index is not None and index < len(values) else ""

    seen: dict[str, int] = {}
    for number, values in table.rows:
        item_id, decision = cell(values, "id"), cell(values, "decision").casefold()
        if not decision:
            continue
        if decision not in ACCEPT | REJECT:
            errors.append(RowError(number, "decision", decision, "must be accept or reject (or blank)"))
            continue
        try:
            parse_item_id(item_id)
        except ReviewError as exc:
            errors.append(RowError(number, "id", item_id, str(exc)))
            continue
        if item_id.upper() in seen:
            errors.append(RowError(number, "id", item_id, f"decided twice (also row {seen[item_id.upper()]})"))
            continue
        seen[item_id.upper()] = number
        found.append(SheetDecision(number, item_id.upper(), decision in ACCEPT, cell(values, "note") or None))
    if errors:
        raise TableError(path, errors)
    return found


def import_decisions_sheet(session: Session, path: Path, *, by: str) -> tuple[list[SheetDecision], BulkReport]:
    """Apply the decisions of an exported, edited queue file (in the caller's transaction)."""
    decisions = read_decisions(path)
    report = decide_many(session, [(d.item_id, d.accept, d.note) for d in decisions], by=by)
    return decisions, report
