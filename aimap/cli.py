"""The ``aimap`` command line (typer): the app and the registration of its command groups.

Every command works on the database named by ``DATABASE_URL`` (default: the SQLite file
``var/aimap.db``); see ``aimap status`` for what is in use. The commands themselves live in
:mod:`aimap.commands`, one module per group.
"""

from __future__ import annotations

import sys

import typer

from aimap.commands import analyze, crawl, etl, firms, operations, status

app = typer.Typer(
    name="aimap",
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
)

# The order of registration is the order of `aimap --help`.
app.command()(status.status)
app.command()(crawl.crawl)
app.command()(etl.etl)
app.command()(etl.extract)
app.command()(analyze.analyze)
app.command("index")(analyze.index_cmd)
app.command()(analyze.netstats)
app.command()(operations.refresh)
app.command()(operations.serve)
app.command()(operations.deploy)

app.add_typer(status.db_app, name="db")
app.add_typer(firms.firms_app, name="firms")
app.add_typer(crawl.sources_app, name="sources")
app.add_typer(etl.review_app, name="review")
app.add_typer(operations.gate_app, name="gate")


def main() -> None:  # pragma: no cover - console entry point
    """Entry point for ``python -m aimap``."""
    app(prog_name="aimap")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
