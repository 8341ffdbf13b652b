"""The fault harness's tools (issue 14): run an ``aimap`` command as a process group and kill it at a
chosen moment, drop a database's connections, and read a database's content by natural keys.

Used by the fault tests (``tests/faults/``, a small seeded subset that CI runs) and by
``benchmarks/bench_faults.py`` (many seeds). Everything runs on PostgreSQL, where the faults of
issue 14 were found: a throwaway database per run, cloned from a template that holds the tiny
demo world's documents (:func:`clone_database`).

A *moment* is when the command is killed (``SIGKILL`` to its whole process group, as ``kill -9``
of a job or an OOM kill would): after a number of seconds, or when a condition on the database
holds — e.g. when the ETL has committed ``k`` documents, i.e. right after a batch boundary.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import select

from db import migrate
from db.models import CooperationEvent, Document, DocumentFingerprint, Mention, Organisation, PipelineRun
from db.session import make_engine, session_factory
from db.taxonomy import sync_taxonomies

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN_DSN = os.environ.get("AIMAP_TEST_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")
PG_URL_TEMPLATE = os.environ.get("AIMAP_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/{dbname}")


def pg_url(name: str) -> str:
    """SQLAlchemy URL of the PostgreSQL database ``name``."""
    return PG_URL_TEMPLATE.format(dbname=name)


def libpq_dsn(name: str) -> str:
    """A libpq DSN for the database ``name`` (the admin DSN with another dbname)."""
    parts = [p for p in PG_ADMIN_DSN.split() if not p.startswith("dbname=")]
    return " ".join([*parts, f"dbname={name}"])


def create_database(admin: psycopg.Connection, template: str | None = None, prefix: str = "aimap_fault") -> str:
    """Create a throwaway database (a copy of ``template`` when given); return its name."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return name


def drop_database(admin: psycopg.Connection, name: str) -> None:
    """Drop a throwaway database, closing any connection left to it."""
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare_template(admin: psycopg.Connection, store: Callable[[Any], None]) -> str:
    """A migrated, seeded database whose content ``store(session)`` writes; its name (a template to clone)."""
    name = create_database(admin, prefix="aimap_fault_tmpl")
    engine = make_engine(pg_url(name))
    try:
        migrate.upgrade(engine)
        with session_factory(engine)() as session:
            sync_taxonomies(session)
            session.commit()
            store(session)
            session.commit()
    finally:
        engine.dispose()
    return name


def drop_connections(admin: psycopg.Connection, name: str) -> int:
    """Terminate every backend connected to the database ``name`` (``pg_terminate_backend``); how many."""
    rows = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = %s AND pid <> pg_backend_pid()", (name,)).fetchall()
    return sum(1 for (ok,) in rows if ok)


def count_rows(name: str, sql: str) -> int:
    """One integer from the database ``name`` (a short connection of its own: cheap enough to poll)."""
    with psycopg.connect(libpq_dsn(name), connect_timeout=5) as conn:
        return int(conn.execute(sql).fetchone()[0])


#: Documents the ETL has committed (their extraction is stored with the document).
EXTRACTED = "SELECT count(*) FROM documents WHERE extracted_sha256 IS NOT NULL"


@dataclass
class Moment:
    """When to kill: ``after`` seconds from the start, or as soon as ``when()`` is true (then after
    ``delay`` more seconds); ``drop`` terminates the database's connections instead of killing."""

    after: float | None = None
    when: Callable[[], bool] | None = None
    delay: float = 0.0
    drop: Callable[[], int] | None = None
    signal: int = signal.SIGKILL

    def describe(self) -> str:
        """A short label for reports."""
        what = "drop connections" if self.drop else signal.Signals(self.signal).name
        at = f"after {self.after:.2f} s" if self.after is not None else f"on condition + {self.delay:.2f} s"
        return f"{what} {at}"


def etl_moment(kind: str, seed: int, name: str, total: int, batch: int,
               admin: psycopg.Connection | None = None) -> Moment:
    """The seeded moment of an ETL fault of ``kind`` on the database ``name`` holding ``total`` documents.

    ``random``: after a random number of committed documents plus up to 0.3 s; ``boundary``: right
    after the commit of a random batch; ``loaded``: once every document is loaded (the fingerprint
    phase); ``drop``: the database drops every connection (``admin`` needed) after a random number
    of committed documents.
    """
    rng = random.Random(seed)

    def committed(k: int) -> Callable[[], bool]:
        return lambda: count_rows(name, EXTRACTED) >= k

    if kind == "random":
        return Moment(when=committed(rng.randint(1, total)), delay=rng.uniform(0, 0.3))
    if kind == "boundary":
        return Moment(when=committed(batch * rng.randint(1, max(1, total // batch))))
    if kind == "loaded":
        return Moment(when=committed(total))
    if kind == "drop" and admin is not None:
        return Moment(when=committed(rng.randint(1, total)), drop=lambda: drop_connections(admin, name))
    raise ValueError(f"unknown ETL fault {kind!r}")


#: The ETL faults, in the order the benchmark cycles through them.
ETL_FAULTS = ("random", "boundary", "loaded", "drop")


@dataclass
class Finished:
    """How a command ended: exit code (negative: killed by that signal), output, and whether the
    moment came before it ended."""

    returncode: int
    stdout: str
    stderr: str
    struck: bool

    @property
    def killed(self) -> bool:
        """The process ended by a signal."""
        return self.returncode < 0


def aimap_env(db_url: str, home: Path, **extra: str) -> dict[str, str]:
    """The environment of an ``aimap`` command on ``db_url`` with its files under ``home``."""
    env = dict(os.environ, DATABASE_URL=db_url, AIMAP_HOME=str(home / "home"), AIMAP_OUT=str(home / "out"),
               PYTHONPATH=str(ROOT), AIMAP_DEBUG="0", COLUMNS="200")
    env.update(extra)
    return env


def run_aimap(args: list[str], env: dict[str, str], moment: Moment | None = None, timeout: float = 600,
              poll: float = 0.01) -> Finished:
    """Run ``aimap ARGS`` as its own process group; at ``moment`` kill the group (or drop connections).

    The command is started in a new session, so the kill reaches every process it started (a
    Scrapy child, the ephemeral Prefect server) as a real crash would.
    """
    proc = subprocess.Popen([sys.executable, "-m", "aimap.cli", *args], env=env, cwd=ROOT, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    struck = False
    started = time.monotonic()
    try:
        if moment is not None:
            while proc.poll() is None and time.monotonic() - started < timeout:
                due = (moment.after is not None and time.monotonic() - started >= moment.after) or (
                    moment.when is not None and moment.when())
                if due:
                    if moment.delay:
                        time.sleep(moment.delay)
                    if proc.poll() is None:
                        struck = True
                        if moment.drop is not None:
                            moment.drop()
                        else:
                            os.killpg(proc.pid, moment.signal)
                    break
                time.sleep(poll)
        stdout, stderr = proc.communicate(timeout=max(1.0, timeout - (time.monotonic() - started)))
    except BaseException:
        with _quiet():
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    with _quiet():  # whatever the command left behind in its group
        os.killpg(proc.pid, signal.SIGKILL)
    return Finished(proc.returncode, stdout, stderr, struck)


class _quiet:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return exc[0] is not None and issubclass(exc[0], ProcessLookupError | PermissionError)  # type: ignore[arg-type]


def content(db_url: str) -> dict[str, Any]:
    """The database's content by natural keys (ids may differ between runs, these may not).

    documents (URL, content hash, extracted or not), organisations by name, edges (provider,
    receiver, year, direction, status), mentions (edge, URL, sentence), fingerprints (URL, the
    URL of its cluster's first document, how it matched), and the runs left ``running``.
    """
    engine = make_engine(db_url)
    try:
        with session_factory(engine)() as s:
            urls = dict(s.execute(select(Document.id, Document.canonical_url)).all())
            names = dict(s.execute(select(Organisation.id, Organisation.name)).all())
            documents = sorted((u, sha, ext is not None) for u, sha, ext in s.execute(
                select(Document.canonical_url, Document.content_sha256, Document.extracted_sha256)))
            edges = {e.id: (names[e.provider_id], names[e.receiver_id], e.year, e.direction, e.status)
                     for e in s.scalars(select(CooperationEvent))}
            mentions = sorted((edges[m.event_id], urls[m.document_id], m.sentence) for m in s.scalars(select(Mention)))
            fingerprints = sorted((urls[f.document_id], urls.get(f.cluster_id, str(f.cluster_id)), f.match)
                                  for f in s.scalars(select(DocumentFingerprint)))
            running = sorted((r.flow, r.id) for r in s.scalars(select(PipelineRun).where(PipelineRun.state == "running")))
    finally:
        engine.dispose()
    return {"documents": documents, "organisations": sorted(names.values()), "edges": sorted(edges.values()),
            "mentions": mentions, "fingerprints": fingerprints, "running": running}


def differences(expected: dict[str, Any], got: dict[str, Any], keys: tuple[str, ...] | None = None) -> list[str]:
    """What differs between two :func:`content` results (or file digests), one line per part."""
    out = []
    for key in keys or tuple(expected):
        a, b = expected.get(key), got.get(key)
        if a == b:
            continue
        if isinstance(a, list) and isinstance(b, list):
            missing, extra = sorted(set(map(repr, a)) - set(map(repr, b))), sorted(set(map(repr, b)) - set(map(repr, a)))
            out.append(f"{key}: {len(a)} expected, {len(b)} got; missing {missing[:3]}, extra {extra[:3]}")
        elif isinstance(a, dict) and isinstance(b, dict):
            changed = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            out.append(f"{key}: {len(changed)} differ, e.g. {changed[:5]}")
        else:
            out.append(f"{key}: expected {a!r}, got {b!r}")
    return out


def file_digests(directory: Path) -> dict[str, str]:
    """SHA-256 of every file under ``directory`` by relative path (a report bundle, compared by content)."""
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def stamp() -> str:
    """Now, for benchmark logs."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
