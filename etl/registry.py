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
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from common.tabular import (
    ColumnSpec,
    RowError,
    Table,
    TableError,
    cell_text,
    read_table,
)
from db.models import (
    Alias,
    Document,
    FirmAttributes,
    FirmFinancials,
    Organisation,
    PipelineError,
    utcnow,
)
from etl.lexicon import EXTRACTOR_VERSION
from etl.mentions import Gazetteer, OrgRef
from etl.normalize import normalise
from etl.registry_rows import (
    COLUMNS,
    FINANCIAL_COLUMNS,
    RegistryRow,
    RowParser,
    load_lookups,
    map_registry_header,
)
from etl.resolve.corrections import merge_organisations

__all__ = [
    "COLUMNS",
    "ColumnSpec",
    "ImportReport",
    "REEXTRACT_MARK",
    "RegistryImportError",
    "RowError",
    "import_registry",
    "mark_documents_naming",
]

#: ``PipelineError.stage`` / ``kind`` used for rejected registry rows.
ERROR_STAGE = "import"
ERROR_KIND = "registry_row"
#: ``Alias.source`` / ``FirmFinancials.source`` / ``Organisation.origin`` written by the import.
SOURCE = "registry"

_CHUNK = 900  # ids per IN list


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
    #: organisations the ETL had made under a name the import gives one sample firm, merged into it
    merged: int = 0
    #: stored documents that name a firm whose names or sample status the import changed: marked
    #: for extraction again (:data:`REEXTRACT_MARK`), so the next ``aimap etl`` reads them with it
    reextract: int = 0

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


def _load_existing(session: Session, rows: Sequence[RegistryRow]) -> _Existing:
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


def _resolve(row: RegistryRow, existing: _Existing) -> tuple[Organisation | None, str]:
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


def _file_duplicates(rows: Sequence[RegistryRow]) -> None:
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
        groups: dict[Any, list[RegistryRow]] = defaultdict(list)
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


def _desired_aliases(row: RegistryRow, present: set[str]) -> dict[str, set[str]]:
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


def _apply_org(org: Organisation, row: RegistryRow, present: set[str]) -> bool:
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


def _apply_attributes(org: Organisation, row: RegistryRow, present: set[str]) -> bool:
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
    row: RegistryRow,
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
    for column in FINANCIAL_COLUMNS:
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


def _write_rejects(target: Path, header: list[str], bad: Sequence[RegistryRow]) -> None:
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


def _read_rows(session: Session, source: Path, path: str | Path,
               report: ImportReport) -> tuple[Table, set[str], list[RegistryRow]]:
    """The file's table, the columns it has and its parsed non-empty rows (file problems raise)."""
    try:
        table = read_table(source)
    except TableError as exc:
        raise RegistryImportError(path, exc.errors, report) from exc
    report.warnings.extend(table.warnings)
    if not any(cell_text(c) for c in table.header):
        raise RegistryImportError(path, [RowError(1, "*", "", "no header row (file is empty)")], report)
    columns, unknown, header_errors = map_registry_header(table.header)
    if unknown:
        report.warnings.append("unknown column(s) ignored: " + ", ".join(unknown))
    if header_errors:
        report.errors = header_errors
        raise RegistryImportError(path, header_errors, report)
    parser = RowParser(load_lookups(session), columns, dt.date.today())
    rows = [parser.parse(n, cells) for n, cells in table.rows if any(cell_text(c) for c in cells)]
    report.rows = len(rows)
    if not rows:
        report.warnings.append("no data rows")
    return table, set(columns), rows


def _match_rows(rows: list[RegistryRow], existing: _Existing) -> dict[int, Organisation | None]:
    """Row number -> the organisation it updates (``None``: a new one); rows that conflict get errors."""
    matches: dict[int, Organisation | None] = {}
    claimed: dict[int, list[RegistryRow]] = defaultdict(list)
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
    return matches


def _reject(session: Session, path: str | Path, target: Path, table: Table, bad: list[RegistryRow]) -> None:
    """Write the bad rows to the rejects file ``target`` and record each error as a pipeline error."""
    _write_rejects(target, [cell_text(c) for c in table.header], bad)
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


def _extraction_names(org: Organisation) -> set[str]:
    """The names the extractor's gazetteer holds for ``org`` (its name and every alias)."""
    return {org.name, *(a.name for a in org.aliases)}


def _write_rows(session: Session, good: list[RegistryRow], matches: dict[int, Organisation | None],
                present: set[str], report: ImportReport, touched: list[tuple[Organisation, set[str]]]
                ) -> list[tuple[Organisation, RegistryRow]]:
    """Update the matched organisations and add the new ones (their financials: by the caller, after a flush).

    ``touched`` gains each firm created here or whose names or sample status changed, with its
    names before and after: what a stored document must name to read differently now."""
    pairs = []
    for row in good:
        matched = matches[row.row]
        if matched is not None and row.fiscal_year is not None:
            pairs.append((matched.id, row.fiscal_year))
    financials = _load_financials(session, pairs)
    new: list[tuple[Organisation, RegistryRow]] = []
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
                touched.append((org, _extraction_names(org)))
                continue
            before, was_sample = _extraction_names(org), org.is_sample
            changed = _apply_org(org, row, present)
            changed |= _apply_attributes(org, row, present)
            changed |= _sync_aliases(org, _desired_aliases(row, present))
            changed |= _apply_financials(session, org, row, present, financials)
            if _extraction_names(org) != before or not was_sample:
                touched.append((org, before | _extraction_names(org)))
            if changed:
                org.updated_at = utcnow()
                report.updated += 1
            else:
                report.unchanged += 1
    session.flush()
    if new:
        for org, row in new:
            _apply_financials(session, org, row, present, financials)
        session.flush()
    return new


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
    table, present, rows = _read_rows(session, source, path, report)
    _file_duplicates(rows)
    existing = _load_existing(session, [r for r in rows if not r.errors])
    matches = _match_rows(rows, existing)

    bad = [r for r in rows if r.errors]
    report.errors = [e for r in bad for e in r.errors]
    report.rejected = len(bad)
    if bad and not skip_bad:
        raise RegistryImportError(path, report.errors, report)
    if bad:
        target = Path(rejects_path) if rejects_path else source.with_name(f"{source.stem}.rejects.csv")
        _reject(session, path, target, table, bad)
        report.rejects_path = target

    good = [r for r in rows if not r.errors]
    if any(r.fiscal_year is not None and r.revenue_cny is None and r.rd_expense_cny is None for r in good):
        report.warnings.append(
            "fiscal_year given without revenue_cny or rd_expense_cny on some rows: ignored"
        )
    touched: list[tuple[Organisation, set[str]]] = []
    new = _write_rows(session, good, matches, present, report, touched)
    names = {n for _, both in touched for n in both}
    report.merged = _merge_named_duplicates(session, names)
    report.reextract = mark_documents_naming(session, names)
    matched_ids = {org.id for org in matches.values() if org is not None}
    untouched = sum(1 for org in existing.orgs.values() if org.is_sample and org.id not in matched_ids)
    if untouched and rows:
        report.warnings.append(
            f"{untouched} sample firm(s) in the database are not in this file (left unchanged)"
        )
    report.created = len(new)
    return report


#: Kinds of organisation a name the registry gives a firm does not turn into that firm (a university
#: or a hospital the ETL named by a short form a firm's also is, stays itself).
_NEVER_A_FIRM = ("university", "research_institute", "industry_body", "government", "hospital", "bank")


def _merge_named_duplicates(session: Session, names: set[str]) -> int:
    """Merge into its firm every organisation the ETL made under one of ``names`` that the registry
    now gives exactly one sample firm (its name, short, English, former or stock name); return how many.

    Why: organisation names take precedence over aliases in the extractor's gazetteer
    (:func:`etl.load.gazetteer_snapshot`), so an organisation the ETL made as "深蓝智算" before the
    registry named it 深蓝智算科技有限公司's short name would keep every later mention to itself. A
    name two sample firms share, an organisation with a 统一社会信用代码 of its own and one of a kind
    that is no firm (:data:`_NEVER_A_FIRM`) are left to entity resolution (docs/etl.md, "Entity
    resolution and the analyst's decisions"). Merged by :func:`etl.resolve.corrections.merge_organisations`,
    with a positive judgement by ``registry``.
    """
    others = (Organisation.is_sample.is_(False), Organisation.origin != SOURCE, Organisation.uscc.is_(None),
              Organisation.kind.not_in(_NEVER_A_FIRM))
    if not names or session.scalar(select(Organisation.id).where(*others).limit(1)) is None:
        return 0  # no organisation the ETL made (a first import): nothing to look up
    ordered = sorted(names)
    duplicates: list[tuple[int, str]] = []
    for start in range(0, len(ordered), _CHUNK):
        duplicates += session.execute(select(Organisation.id, Organisation.name).where(
            Organisation.name.in_(ordered[start:start + _CHUNK]), *others)).tuples()
    owners: dict[str, set[int]] = defaultdict(set)
    named = sorted({name for _, name in duplicates})
    for start in range(0, len(named), _CHUNK):
        chunk = named[start:start + _CHUNK]
        owners_rows = [*session.execute(select(Organisation.name, Organisation.id).where(
            Organisation.name.in_(chunk), Organisation.is_sample.is_(True))).tuples(),
            *session.execute(select(Alias.name, Alias.organisation_id).join(Organisation).where(
                Alias.name.in_(chunk), Organisation.is_sample.is_(True))).tuples()]
        for name, org_id in owners_rows:
            owners[name].add(org_id)
    merged = 0
    for org_id, name in sorted(duplicates):
        if len(owners.get(name, ())) == 1:
            merge_organisations(session, next(iter(owners[name])), org_id, SOURCE,
                                note=f"the registry names a sample firm {name!r}")
            merged += 1
    return merged


#: The ``extractor_version`` an import writes on a stored document that names a firm it added or
#: changed (:func:`mark_documents_naming`): any value but the current extractor's makes the document
#: pending (:func:`etl.load.pending_documents`), and the loader removes what it loaded from the document before.
REEXTRACT_MARK = "registry-changed"


def mark_documents_naming(session: Session, names: Iterable[str]) -> int:
    """Mark for extraction again every stored document, extracted by the current extractor, whose
    title or text holds one of ``names`` as the extractor finds names (the gazetteer's leftmost-longest
    matches in the normalised text); return how many.

    Why: a registry's names are gazetteer names, and a sample firm is a technology supplier
    (docs/registry.md, "What the registry changes in extraction"), so a document read before the
    firm was in the registry may read differently now. Documents are streamed 2,000 at a time;
    nothing is marked when ``names`` is empty.
    """
    names = {n.strip() for n in names if n and n.strip()}
    if not names:
        return 0
    gazetteer = Gazetteer()
    for name in sorted(names):
        gazetteer.add(name, OrgRef(name))
    stmt = (select(Document.id, Document.title, Document.text)
            .where(Document.extracted_sha256.is_not(None), Document.extractor_version == EXTRACTOR_VERSION)
            .execution_options(yield_per=2000))
    hits = [doc_id for doc_id, title, text in session.execute(stmt)
            if gazetteer.find(normalise(f"{title or ''}\n{text or ''}").text)]
    for start in range(0, len(hits), _CHUNK):
        session.execute(update(Document).where(Document.id.in_(hits[start:start + _CHUNK]))
                        .values(extractor_version=REEXTRACT_MARK).execution_options(synchronize_session="evaluate"))
    return len(hits)
