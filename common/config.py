"""Runtime configuration read from the environment.

Every command reads the same few variables so that one ``DATABASE_URL`` switches the whole
service between the embedded default (a SQLite file) and PostgreSQL.

- ``DATABASE_URL``: SQLAlchemy URL. Default ``sqlite:///<AIMAP_HOME>/aimap.db``.
  PostgreSQL: ``postgresql+psycopg://user:password@host:5432/dbname``.
- ``AIMAP_HOME``: working directory for the SQLite file, crawl state and the demo site
  (default ``./var``).
- ``AIMAP_OUT``: where reports are written (default ``./out``).
- ``NUMBA_CACHE_DIR``: where numba keeps the compiled kernels of :mod:`analysis._bfs` (default
  ``<AIMAP_HOME>/numba``; see :func:`use_numba_cache`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


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


def numba_cache_dir() -> Path:
    """Directory of numba's on-disk cache of compiled kernels: ``NUMBA_CACHE_DIR`` when the operator
    set it, else ``<AIMAP_HOME>/numba``.

    Numba's default puts the cache in ``__pycache__`` beside the source (or, when that is
    read-only, in a per-user directory), so a read-only install or a fresh clone would compile
    the kernels again; under ``AIMAP_HOME`` they compile once per machine and state directory.
    """
    explicit = os.environ.get("NUMBA_CACHE_DIR", "").strip()
    path = Path(explicit).resolve() if explicit else home_dir() / "numba"
    path.mkdir(parents=True, exist_ok=True)
    return path


def use_numba_cache() -> Path | None:
    """Point numba's cache at :func:`numba_cache_dir` and return it.

    Call it before numba is imported (numba reads ``NUMBA_CACHE_DIR`` at import and the cache
    location of a ``cache=True`` kernel when it is decorated); :mod:`analysis._bfs` and
    :mod:`etl.crf`, the modules that import numba, do. A numba imported earlier by someone else is corrected too.
    When the directory cannot be created (a read-only working directory), returns None and
    leaves numba to its own places (numba skips cache directories it cannot write).
    """
    try:
        path = numba_cache_dir()
    except OSError:
        return None
    os.environ["NUMBA_CACHE_DIR"] = str(path)
    numba_config = sys.modules.get("numba.core.config")
    if numba_config is not None:
        numba_config.CACHE_DIR = str(path)  # type: ignore[attr-defined]
    return path


def database_url() -> str:
    """The database URL in use: ``DATABASE_URL`` or the embedded SQLite default."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        return url
    return f"sqlite:///{home_dir() / 'aimap.db'}"


def safe_url(url: str | None = None) -> str:
    """The database URL with any password replaced by ``***`` (safe to print or log)."""
    from sqlalchemy.engine import make_url  # deferred: slow to import, `aimap netstats` needs none

    return make_url(url or database_url()).render_as_string(hide_password=True)
