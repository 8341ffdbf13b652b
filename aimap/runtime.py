"""What every ``aimap`` command shares: the output consoles, the failure exit, and the preparation
of the database before a command writes (Prefect's local-API defaults are set in :mod:`aimap`)."""

from __future__ import annotations

import getpass
from typing import NoReturn

import typer
from rich.console import Console

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
