"""Shared fixtures of the fault harness (issue 14), for every ``tests/faults/test_*.py``.

- ``fault_world``: the ``tiny`` demo world (seed 7) rendered once per session, with its
  reachable documents;
- ``fault_template``: a PostgreSQL database, migrated and seeded, holding that world's registry
  and documents as a crawl would have stored them — the template every fault run clones;
- ``fault_db``: ``fault_db()`` clones the template into a throwaway database and returns a
  :class:`FaultDb` (name, URL, an ``aimap`` environment, a private home); all are dropped at the
  end of the test; ``fault_db(empty=True)`` gives a migrated database without documents;
- ``etl_reference``: the content (:func:`tests.faults.harness.content`) after one uninterrupted
  ``aimap etl`` of the template, which every interrupted run must end equal to.

The tools (run a command as a process group and kill it at a moment, drop connections, read
content by natural keys) are in :mod:`tests.faults.harness`, shared with ``benchmarks/bench_faults.py``.
PostgreSQL is required (the faults are PostgreSQL's); without it these tests skip, or fail with ``CI=true``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from db.session import _cached_engine
from demosite.evaluation import world_documents
from demosite.render import render_site
from demosite.world import build_world
from tests.faults import harness
from tests.worldeval import store_world_documents

#: The batch size of the fault runs' ETL: the tiny world's ~140 documents are 14 batches.
BATCH = 10



@dataclass
class FaultWorld:
    """The rendered world: its directory and its reachable documents (dicts of the world's truth)."""

    path: Path
    documents: list[dict[str, Any]]


@dataclass
class FaultDb:
    """A throwaway database of one fault run."""

    name: str
    url: str
    home: Path

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of an ``aimap`` command on this database."""
        return harness.aimap_env(self.url, self.home, **extra)

    def aimap(self, *args: str, moment: harness.Moment | None = None, timeout: float = 600) -> harness.Finished:
        """Run ``aimap ARGS`` on this database (killed at ``moment`` when given)."""
        return harness.run_aimap(list(args), self.env(), moment, timeout=timeout)

    def count(self, sql: str = harness.EXTRACTED) -> int:
        """One integer from this database (default: documents the ETL has committed)."""
        return harness.count_rows(self.name, sql)


@pytest.fixture(scope="session")
def fault_world(tmp_path_factory: pytest.TempPathFactory) -> FaultWorld:
    out = render_site(build_world(seed=7, preset="tiny"), tmp_path_factory.mktemp("fault-world") / "w").out_dir
    return FaultWorld(out, world_documents(out / "truth"))


@pytest.fixture(scope="session")
def fault_template(pg_admin: psycopg.Connection, fault_world: FaultWorld) -> Iterator[str]:
    name = harness.prepare_template(pg_admin, lambda s: store_world_documents(s, fault_world.path,
                                                                              fault_world.documents))
    yield name
    harness.drop_database(pg_admin, name)


@pytest.fixture(scope="session")
def empty_template(pg_admin: psycopg.Connection) -> Iterator[str]:
    name = harness.prepare_template(pg_admin, lambda s: None)
    yield name
    harness.drop_database(pg_admin, name)


@pytest.fixture
def fault_db(pg_admin: psycopg.Connection, fault_template: str, empty_template: str,
             tmp_path: Path) -> Iterator[Callable[..., FaultDb]]:
    made: list[str] = []
    numbers = itertools.count()

    def clone(empty: bool = False) -> FaultDb:
        name = harness.create_database(pg_admin, empty_template if empty else fault_template)
        made.append(name)
        home = tmp_path / f"run{next(numbers)}"
        home.mkdir()
        return FaultDb(name, harness.pg_url(name), home)

    yield clone
    _cached_engine.cache_clear()
    for name in made:
        harness.drop_database(pg_admin, name)


@pytest.fixture(scope="session")
def etl_reference(pg_admin: psycopg.Connection, fault_template: str,
                  tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    name = harness.create_database(pg_admin, fault_template)
    try:
        db = FaultDb(name, harness.pg_url(name), tmp_path_factory.mktemp("etl-reference"))
        done = db.aimap("etl", "--batch-size", str(BATCH))
        assert done.returncode == 0, done.stderr
        return harness.content(db.url)
    finally:
        _cached_engine.cache_clear()
        harness.drop_database(pg_admin, name)
