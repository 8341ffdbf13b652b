"""The ``aimap`` command line (typer): the app and the registration of its command groups.

Every command works on the database named by ``DATABASE_URL`` (default: the SQLite file
``var/aimap.db``); see ``aimap status`` for what is in use. The commands themselves live in
:mod:`aimap.commands`, one module per group.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from aimap.commands import analyze, crawl, etl, explain, firms, observe, operations, review, status
from aimap.runtime import database_problem, err, tagged, version_text


class OneLineErrors(TyperGroup):
    """The root command group: an unexpected exception ends the command with one line on stderr and
    exit code 1, never a traceback — unless ``aimap --debug ...`` (or ``AIMAP_DEBUG=1``) asks for it."""

    def invoke(self, ctx: Any) -> Any:
        """Run the command; turn an exception into ``error: <type>: <first line>``."""
        try:
            return super().invoke(ctx)
        except (TyperException, typer.Exit, typer.Abort, click.exceptions.ClickException, click.exceptions.Exit,
                click.exceptions.Abort):
            raise
        except Exception as exc:
            if ctx.params.get("debug") or os.environ.get("AIMAP_DEBUG", "") not in ("", "0"):
                raise
            text = str(exc).strip()
            first = database_problem(exc) or (text.splitlines()[0] if text else "")
            err.print(tagged("error:", "red", f"{type(exc).__name__}: {first} (`aimap --debug ...` shows the traceback)"),
                      highlight=False)
            raise typer.Exit(1) from None


app = typer.Typer(
    name="aimap",
    cls=OneLineErrors,
    help=(
        "aimap — collect public technology-cooperation announcements of China's core AI firms, "
        "build the directed value network in a database and rebuild the yearly report.\n\n"
        "The database is DATABASE_URL (default: SQLite file var/aimap.db; "
        "postgresql+psycopg://user@host/db for PostgreSQL). Start with `aimap status`; "
        "`demosite demo` (make demo) runs the whole chain on the local demo world."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        print(version_text())
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the aimap version (and git commit) and exit.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show the full traceback when a command fails.")] = False,
) -> None:
    """aimap — see `aimap status` first."""

# The order of registration is the order of `aimap --help`.
app.command()(status.status)
app.command()(observe.runs)
app.command()(observe.errors)
app.command()(crawl.crawl)
app.command()(etl.etl)
app.command()(etl.extract)
app.command()(analyze.analyze)
app.command("index")(analyze.index_cmd)
app.command()(analyze.netstats)
app.command()(explain.explain)
app.command()(operations.refresh)
app.command()(operations.serve)
app.command()(operations.deploy)

app.add_typer(status.db_app, name="db")
app.add_typer(firms.firms_app, name="firms")
app.add_typer(crawl.sources_app, name="sources")
app.add_typer(review.review_app, name="review")
app.add_typer(operations.gate_app, name="gate")


def main() -> None:  # pragma: no cover - console entry point
    """Entry point for ``python -m aimap``."""
    app(prog_name="aimap")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
