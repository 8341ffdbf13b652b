"""Primary keys handed out before the rows are inserted, so a batch can be written in one flush.

Why: a loader that needs a new row's id at once (to reference it from the next rows) would
otherwise flush every row on its own — one INSERT ... RETURNING per organisation or event,
which made the ETL's load into PostgreSQL round-trip bound. With ids known in advance the
ORM sends each table's new rows of a batch as one pipelined ``executemany``.

- PostgreSQL: ids come from the column's own sequence (``nextval`` of
  ``pg_get_serial_sequence``), fetched in blocks; safe with concurrent writers, and rows
  inserted without an explicit id keep using the same sequence.
- SQLite: ids continue from ``max(id)`` of the table, as SQLite itself assigns them for an
  ``INTEGER PRIMARY KEY`` without AUTOINCREMENT. Safe while one writer loads at a time (the
  ETL's load step is serial by design); a clash surfaces as an IntegrityError at flush and
  the caller's slower path takes over. Call :meth:`IdAllocator.reset` after a rollback.
"""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.schema import Table


class IdAllocator:
    """Hands out fresh integer primary keys for ``table`` (``id`` column) within ``session``."""

    def __init__(self, session: Session, table: Table, block: int = 256) -> None:
        self.session = session
        self.table = table
        self.block = block
        self.dialect = session.get_bind().dialect.name
        self._free: list[int] = []
        self._next: int | None = None

    def reset(self) -> None:
        """Forget ids handed out so far (after a rollback: SQLite's maximum may have gone back)."""
        self._free.clear()
        self._next = None

    def __call__(self) -> int:
        """A new id, never returned before by this allocator nor used by a row of the table."""
        if self.dialect == "postgresql":
            if not self._free:
                with self.session.no_autoflush:  # a flush here would split the batch's inserts
                    rows = self.session.execute(
                        text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
                        {"t": self.table.name, "n": self.block},
                    )
                    self._free = sorted((r[0] for r in rows), reverse=True)
            return self._free.pop()
        if self._next is None:
            with self.session.no_autoflush:
                current = self.session.scalar(select(func.max(self.table.c.id)))
            self._next = (current or 0) + 1
        value, self._next = self._next, self._next + 1
        return value
