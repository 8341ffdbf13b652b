"""``aimap status`` and ``aimap db``: the database in use, its schema revision and its migrations."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from aimap.runtime import console
from common.config import safe_url
from db import migrate
from db.models import STATUS_TABLES
from db.session import get_engine, session_scope
from db.taxonomy import sync_taxonomies

db_app = typer.Typer(help="Schema migrations (Alembic) and taxonomy seeding.", no_args_is_help=True)


def status(as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False) -> None:
    """Show the database in use (password hidden), its schema revision and row counts per table."""
    engine = get_engine()
    info: dict[str, object] = {"database": safe_url(), "dialect": engine.dialect.name}
    try:
        info["revision"] = migrate.current_revision(engine)
        info["head"] = migrate.head_revision()
        existing = set(inspect(engine).get_table_names())
        counts: dict[str, int | None] = {}
        with engine.connect() as conn:
            for label, model in STATUS_TABLES.items():
                table = model.__table__
                counts[label] = (
                    conn.execute(select(func.count()).select_from(table)).scalar_one()
                    if table.name in existing
                    else None
                )
        info["counts"] = counts
    except SQLAlchemyError as exc:
        info["error"] = str(exc).splitlines()[0]
    if as_json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
    else:
        console.print(f"database: {info['database']} ({info['dialect']})", highlight=False)
        if "error" in info:
            console.print(f"[red]cannot read the database:[/red] {info['error']}", highlight=False)
        else:
            rev, head = info["revision"], info["head"]
            hint = "" if rev == head else "  (run `aimap db upgrade`)"
            console.print(f"schema revision: {rev or 'none (empty database)'} / head {head}{hint}", highlight=False)
            table = Table("table", "rows")
            for label, n in info["counts"].items():  # type: ignore[union-attr]
                table.add_row(label, "-" if n is None else f"{n:,}")
            console.print(table)
    if "error" in info:
        raise typer.Exit(1)


# --------------------------------------------------------------------------- db


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Upgrade the schema to REVISION (default head) and sync the taxonomy tables from db/data/."""
    engine = get_engine()
    migrate.upgrade(engine, revision)
    with session_scope(engine) as session:
        changed = sync_taxonomies(session)
    console.print(f"{safe_url()} at revision {migrate.current_revision(engine)}; taxonomy rows changed: {changed}",
                  highlight=False)


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision; 'base' drops every table.")] = "base",
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Downgrade the schema to REVISION (default base = empty database; data is lost)."""
    if not yes:
        typer.confirm(f"Downgrade {safe_url()} to {revision}? Data in dropped tables is lost.", abort=True)
    engine = get_engine()
    migrate.downgrade(engine, revision)
    console.print(f"{safe_url()} at revision {migrate.current_revision(engine) or 'base (empty)'}", highlight=False)

