"""Programmatic Alembic: upgrade, downgrade and read the schema revision of a database.

Used by ``aimap db ...``, ``aimap status`` and the tests, so every entry point migrates the
same way whatever the working directory (the script location is resolved from this file).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    """An Alembic config pointing at ``db/migrations`` (no ini file needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database behind ``engine`` to ``revision`` in one transaction."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Downgrade the database behind ``engine`` to ``revision`` (``base`` = empty)."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or ``None`` when it was never migrated."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped with this code."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def check_revision(revision: str) -> str:
    """``revision`` when this code ships it (an id, a unique prefix, ``base``, ``head``, ``-N``/``+N``
    relative steps); otherwise a ``ValueError`` listing the known revisions."""
    script = ScriptDirectory.from_config(alembic_config())
    text = revision.strip()
    if text in ("base", "head", "heads") or (text[:1] in "+-" and text[1:].isdigit()):
        return text
    known = [r.revision for r in script.walk_revisions()]
    try:
        found = script.get_revision(text)
    except Exception as exc:  # noqa: BLE001 - alembic raises several kinds for an unknown or ambiguous id
        raise ValueError(f"unknown revision {revision!r}; known: base, {', '.join(reversed(known))}, head") from exc
    if found is None:
        raise ValueError(f"unknown revision {revision!r}; known: base, {', '.join(reversed(known))}, head")
    return text
