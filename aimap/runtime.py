"""What every ``aimap`` command shares: the output consoles, the failure exit, and the preparation
of the database before a command writes (Prefect's local-API defaults are set in :mod:`aimap`)."""

from __future__ import annotations

import getpass
import os
import subprocess
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.table import Table

from aimap import __version__
from db.bootstrap import prepare_database

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

JSON_OPTION = typer.Option("--json", help="Print machine-readable JSON.")


def fail(message: str, code: int = 1) -> NoReturn:
    """Print MESSAGE as an error on stderr and exit with CODE."""
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


def prepared() -> None:
    """Migrate and seed before commands that write (idempotent, fast when current)."""
    prepare_database()


def analyst(by: str | None) -> str:
    """Who decides: --by, else the login name."""
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "analyst"


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


def print_table(table: Table) -> None:
    """Print a table whose long cells wrap (fold) instead of being cut off with "…"."""
    for column in table.columns:
        column.overflow = "fold"
    console.print(table)
