"""Runtime configuration read from the environment.

Every command reads the same few variables so that one ``DATABASE_URL`` switches the whole
service between the embedded default (a SQLite file) and PostgreSQL.

- ``DATABASE_URL``: SQLAlchemy URL. Default ``sqlite:///<AIMAP_HOME>/aimap.db``.
  PostgreSQL: ``postgresql+psycopg://user:password@host:5432/dbname``.
- ``AIMAP_HOME``: working directory for the SQLite file, crawl state and the demo site
  (default ``./var``).
- ``AIMAP_OUT``: where reports are written (default ``./out``).
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url


def home_dir() -> Path:
    """Directory for local state (SQLite file, crawl job dirs, generated demo site)."""
    path = Path(os.environ.get("AIMAP_HOME", "var")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def out_dir() -> Path:
    """Directory the report bundle is written to."""
    path = Path(os.environ.get("AIMAP_OUT", "out")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str:
    """The database URL in use: ``DATABASE_URL`` or the embedded SQLite default."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        return url
    return f"sqlite:///{home_dir() / 'aimap.db'}"


def safe_url(url: str | None = None) -> str:
    """The database URL with any password replaced by ``***`` (safe to print or log)."""
    return make_url(url or database_url()).render_as_string(hide_password=True)
