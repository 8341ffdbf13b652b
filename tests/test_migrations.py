"""Alembic revisions: empty -> head -> empty on both engines, and head == the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from db import migrate
from db.models import Base
from db.session import make_engine


def test_upgrade_then_downgrade_to_empty(empty_db_url):
    engine = make_engine(empty_db_url)
    try:
        assert migrate.current_revision(engine) is None
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision()
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        migrate.downgrade(engine, "base")
        assert migrate.current_revision(engine) is None
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(engine)  # and up again: downgrade left nothing behind
        assert migrate.current_revision(engine) == migrate.head_revision()
    finally:
        engine.dispose()


def test_head_schema_matches_models(empty_db_url):
    engine = make_engine(empty_db_url)
    try:
        migrate.upgrade(engine)
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, Base.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
    finally:
        engine.dispose()
