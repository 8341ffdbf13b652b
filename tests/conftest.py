"""Shared fixtures: a fresh, migrated database on each engine.

``db_url`` is parametrised over SQLite and PostgreSQL, so every test that takes ``engine``,
``session`` or ``db_url`` runs on both. For PostgreSQL a throwaway database
``aimap_test_<random>`` is created through the ``postgres`` maintenance database and dropped
afterwards; nothing is written into ``postgres`` or ``test``.

When PostgreSQL is unreachable the PostgreSQL variants are skipped locally, but with
``CI=true`` they fail: CI must prove both engines.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from db import migrate
from db.session import make_engine, session_factory

# One numba cache for the test session and every ``aimap`` process its tests start. Each test gives
# its commands a fresh AIMAP_HOME, where the kernels of analysis._bfs would otherwise be compiled again
# by every `aimap analyze` or refresh (~16 s of CPU each). The default, a cache under AIMAP_HOME, is
# tested in tests/test_netstats_process.py with an environment of its own.
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(tempfile.gettempdir()) / f"aimap-tests-numba-{os.getuid()}"))

PG_ADMIN_DSN = os.environ.get("AIMAP_TEST_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")
PG_URL_TEMPLATE = os.environ.get(
    "AIMAP_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/{dbname}"
)


def _pg_unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required in CI but unavailable: {reason}")
    pytest.skip(f"PostgreSQL unavailable: {reason}")


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[psycopg.Connection]:
    """An autocommit connection to the maintenance database, for CREATE/DROP DATABASE."""
    try:
        conn = psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        _pg_unavailable(str(exc).strip())
    yield conn
    conn.close()


def create_pg_database(admin: psycopg.Connection) -> tuple[str, str]:
    """Create a throwaway database; return (name, SQLAlchemy URL)."""
    name = f"aimap_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    return name, PG_URL_TEMPLATE.format(dbname=name)


def drop_pg_database(admin: psycopg.Connection, name: str) -> None:
    """Drop a throwaway database, closing any connection left open to it."""
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a brand-new, empty database on each engine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'aimap.db'}"
        return
    admin = request.getfixturevalue("pg_admin")
    name, url = create_pg_database(admin)
    try:
        yield url
    finally:
        from db.session import _cached_engine

        _cached_engine.cache_clear()
        drop_pg_database(admin, name)


def prepare_url(url: str) -> str:
    """Migrate the database at ``url`` to head and seed the taxonomies; return ``url``."""
    from db.taxonomy import sync_taxonomies

    engine = make_engine(url)
    migrate.upgrade(engine)
    with session_factory(engine)() as session:
        sync_taxonomies(session)
        session.commit()
    engine.dispose()
    return url


@pytest.fixture
def db_url(empty_db_url: str) -> str:
    """URL of a database migrated to head with the taxonomies seeded."""
    return prepare_url(empty_db_url)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """Engine on the migrated, seeded database."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on the migrated, seeded database (the test commits what it wants)."""
    with session_factory(engine)() as sess:
        yield sess


@pytest.fixture
def env_db(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point ``DATABASE_URL``, ``AIMAP_HOME`` and ``AIMAP_OUT`` at throwaway places (CLI tests)."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("AIMAP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AIMAP_OUT", str(tmp_path / "out"))
    return db_url
