"""The ``aimap`` command line (typer): the app and the registration of its command groups.

Every command works on the database named by ``DATABASE_URL`` (default: the SQLite file
``var/aimap.db``); see ``aimap status`` for what is in use. The commands themselves live in
:mod:`aimap.commands`, one module per group, and are registered in :data:`COMMANDS` by name:
a command's module is imported when that command runs (or ``--help`` lists it), so that a
quick command does not pay for the others' imports (Prefect, the database layer, the report
code: seconds of a process that ``aimap netstats`` finishes in about one).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator, MutableMapping
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException
from typer.main import get_command_from_info, get_group_from_info

from aimap.output import database_problem, err, tagged, version_text

#: Every command and command group, in the order of ``aimap --help``: name -> "module:attribute"
#: in :mod:`aimap.commands` (a function is a command, a ``typer.Typer`` a group of commands).
COMMANDS: dict[str, str] = {
    "status": "status:status",
    "runs": "observe:runs",
    "errors": "observe:errors",
    "crawl": "crawl:crawl",
    "etl": "etl:etl",
    "extract": "etl:extract",
    "analyze": "analyze:analyze",
    "index": "analyze:index_cmd",
    "netstats": "netstats:netstats",
    "explain": "explain:explain",
    "refresh": "operations:refresh",
    "serve": "operations:serve",
    "deploy": "operations:deploy",
    "db": "status:db_app",
    "firms": "firms:firms_app",
    "sources": "crawl:sources_app",
    "review": "review:review_app",
    "gate": "operations:gate_app",
}


def load_command(name: str) -> click.Command:
    """The click command (or group) registered as ``name`` in :data:`COMMANDS`, built as typer builds
    an eagerly registered one (same options, help and error handling)."""
    module, attribute = COMMANDS[name].split(":")
    target = getattr(importlib.import_module(f"aimap.commands.{module}"), attribute)
    holder = typer.Typer()
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name)
        return get_group_from_info(holder.registered_groups[0], pretty_exceptions_short=app.pretty_exceptions_short,
                                   rich_markup_mode=app.rich_markup_mode, suggest_commands=app.suggest_commands)
    holder.command(name)(target)
    return get_command_from_info(holder.registered_commands[0], pretty_exceptions_short=app.pretty_exceptions_short,
                                 rich_markup_mode=app.rich_markup_mode)


class LazyCommands(MutableMapping[str, click.Command]):
    """The root group's commands: every name of :data:`COMMANDS` is there (listing, typo suggestions),
    a command is built on first access (:func:`load_command`); commands added eagerly come after."""

    def __init__(self, eager: MutableMapping[str, click.Command]) -> None:
        self._loaded: dict[str, click.Command] = dict(eager)

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded:
            if name not in COMMANDS:
                raise KeyError(name)
            self._loaded[name] = load_command(name)
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        yield from COMMANDS
        yield from (name for name in self._loaded if name not in COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS) + sum(1 for name in self._loaded if name not in COMMANDS)

    def __contains__(self, name: object) -> bool:
        return name in COMMANDS or name in self._loaded


class OneLineErrors(TyperGroup):
    """The root command group: an unexpected exception ends the command with one line on stderr and
    exit code 1, never a traceback — unless ``aimap --debug ...`` (or ``AIMAP_DEBUG=1``) asks for it.
    Its commands are :data:`COMMANDS`, imported on first use (:class:`LazyCommands`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = LazyCommands(self.commands)

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

# The commands: COMMANDS above, imported on first use (OneLineErrors, LazyCommands).


def main() -> None:  # pragma: no cover - console entry point
    """Entry point for ``python -m aimap``."""
    app(prog_name="aimap")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
