"""Terminal output every ``aimap`` command shares, light to import: the consoles, coloured labels
(:func:`tagged`), the failure exit (:func:`fail`), the one line for an unreachable database
(:func:`database_problem`) and :func:`version_text`.

Kept apart from :mod:`aimap.runtime` (which re-exports all of it) because the runtime imports the
database layer: the CLI entry and ``aimap netstats`` import only this module, so that a command
that needs no database does not pay for loading one (issue 17).

The consoles print text as it is (``markup=False``): data — organisation names, titles, error
messages — may contain ``[/bold]`` or ``[red]``, which Rich would otherwise read as markup and
crash on or swallow (issue 14). A coloured label is a :class:`rich.text.Text` (:func:`tagged`).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.text import Text

from aimap import __version__
from common.config import safe_url

console = Console(soft_wrap=True, markup=False)
err = Console(stderr=True, soft_wrap=True, markup=False)


def tagged(tag: str, style: str, message: object = "") -> Text:
    """``tag`` in ``style`` followed by ``message`` printed as it is (never read as markup)."""
    return Text.assemble((tag, style), " " if message != "" else "", str(message))


def fail(message: str, code: int = 1) -> NoReturn:
    """Print MESSAGE as an error on stderr and exit with CODE."""
    err.print(tagged("error:", "red", message), highlight=False)
    raise typer.Exit(code)


#: Words of a driver error saying the connection was there and went away (vs. never made).
_LOST = ("server closed the connection", "terminating connection", "connection is closed", "consuming input failed",
         "connection already closed", "connection reset", "ssl syscall", "lost synchronization", "broken pipe")
#: ... and that it could not be made.
_CONNECT = ("connection failed", "could not connect", "connection refused", "timeout expired", "could not translate",
            "name or service not known", "no route to host", "authentication failed", "does not exist",
            "unable to open database file")


def database_problem(exc: BaseException) -> str | None:
    """One line for a database that cannot be reached or dropped the connection (with the URL, password
    hidden, and the next step); None for any other error. Reads the exception chain (SQLAlchemy wraps
    the driver's)."""
    chain, seen = [], exc
    while seen is not None and len(chain) < 5:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    names = {type(e).__name__ for e in chain} | {c.__name__ for e in chain for c in type(e).__mro__}
    if not names & {"OperationalError", "InterfaceError"}:
        return None
    detail = next((line.strip() for e in chain for line in str(getattr(e, "orig", None) or e).splitlines()
                   if line.strip()), "")
    detail = detail.split(") ", 1)[1] if detail.startswith("(") and ") " in detail else detail
    lowered = detail.lower()
    if any(word in lowered for word in _LOST):
        return (f"lost the connection to the database {safe_url()} ({detail[:200]}). What was committed is kept; "
                "re-run the same command: it resumes")
    if any(word in lowered for word in _CONNECT):
        return (f"cannot connect to the database {safe_url()} ({detail[:200]}). Check that the server is running "
                "and DATABASE_URL is right (`aimap status`), then re-run the same command")
    return None


def version_text() -> str:
    """``aimap <version>`` and, where known, the git commit (``AIMAP_COMMIT``, else the checkout's HEAD)."""
    commit = os.environ.get("AIMAP_COMMIT", "").strip()
    if not commit:
        try:
            done = subprocess.run(["git", "-C", str(Path(__file__).resolve().parent.parent), "rev-parse", "--short",
                                   "HEAD"], capture_output=True, text=True, timeout=5, check=False)
            commit = done.stdout.strip() if done.returncode == 0 else ""
        except (OSError, subprocess.SubprocessError):
            commit = ""
    return f"aimap {__version__}" + (f" (commit {commit})" if commit else "")
