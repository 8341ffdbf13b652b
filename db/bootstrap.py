"""Bring a database to the current schema and taxonomies in one idempotent call."""

from __future__ import annotations

from sqlalchemy import Engine

from db import migrate
from db.session import get_engine, session_scope
from db.taxonomy import sync_taxonomies


def prepare_database(engine: Engine | None = None) -> dict[str, int]:
    """Upgrade to the newest revision and sync the taxonomy tables from ``db/data/``.

    Safe to call before every command: both steps change nothing when already current.
    Returns the taxonomy rows inserted or updated per table.
    """
    engine = engine or get_engine()
    migrate.upgrade(engine)
    with session_scope(engine) as session:
        return sync_taxonomies(session)
