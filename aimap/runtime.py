"""What every ``aimap`` command shares: the output consoles, the failure exit, the preparation
of the database before a command writes (Prefect's local-API defaults are set in :mod:`aimap`),
and the clean stop on SIGINT/SIGTERM (:func:`stop_on_signals`).

The consoles print text as it is (``markup=False``): data — organisation names, titles, error
messages — may contain ``[/bold]`` or ``[red]``, which Rich would otherwise read as markup and
crash on or swallow (issue 14). A coloured label is a :class:`rich.text.Text` (:func:`tagged`).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import psutil
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from aimap import __version__
from common.config import safe_url
from db.bootstrap import prepare_database
from db.runs import interrupt_own_runs

console = Console(soft_wrap=True, markup=False)
err = Console(stderr=True, soft_wrap=True, markup=False)

JSON_OPTION = typer.Option("--json", help="Print machine-readable JSON.")
#: Seconds a stopped command has to wind down (its flow to record the stop) before it is ended hard.
STOP_GRACE_SECONDS = 20.0


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


def _children() -> list[psutil.Process]:
    try:
        return psutil.Process().children(recursive=True)
    except psutil.Error:
        return []


def end_children(grace: float = 5.0) -> int:
    """Terminate every process this one started (Scrapy crawls, the ephemeral Prefect server), then kill
    those still there after ``grace`` seconds; how many there were."""
    children = _children()
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.terminate()
    _gone, alive = psutil.wait_procs(children, timeout=grace)
    for child in alive:
        with contextlib.suppress(psutil.Error):
            child.kill()
    return len(children)


def _stop_now(signum: int, why: str) -> NoReturn:
    """Close this process's open runs as interrupted, end its children, and exit 128 + signal number."""
    closed = interrupt_own_runs(why)
    ended = end_children()
    err.print(tagged("stopped:", "yellow", f"{why}; {len(closed)} open run(s) marked interrupted, {ended} child "
                     "process(es) ended. Re-run the same command: it resumes."), highlight=False)
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(128 + signum)


@contextlib.contextmanager
def stop_on_signals(grace: float = STOP_GRACE_SECONDS) -> Iterator[None]:
    """Make SIGINT (Ctrl-C) and SIGTERM stop a long command and every process it started, cleanly.

    The first signal ends the child processes doing the work (Scrapy) and raises
    KeyboardInterrupt, so the flow records its stop; then the command's open runs are closed as
    ``interrupted``, every remaining child (the ephemeral Prefect server too) is ended and the
    process exits with 128 + the signal number — even when threads (tasks waiting for slots, a
    retry) would keep it alive. If winding down takes over ``grace`` seconds, or a second signal
    comes, it stops at once the same way. Outside the main thread it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handler(signum: int, _frame: Any) -> None:
        name = signal.Signals(signum).name
        if received:
            _stop_now(signum, f"stopped by a second {name}")
        received.append(signum)
        err.print(tagged("stopping:", "yellow", f"{name} received; ending the work and recording the stop "
                         f"(again to stop at once)"), highlight=False)
        workers = [c for c in _children() if not _is_prefect_server(c)]
        for child in workers:
            with contextlib.suppress(psutil.Error):
                child.terminate()
        timer = threading.Timer(grace, _stop_now, (signum, f"stopped by {name} (winding down took over {grace:.0f} s)"))
        timer.daemon = True
        timer.start()
        raise KeyboardInterrupt

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    except BaseException:
        if received:
            _stop_now(received[0], f"stopped by {signal.Signals(received[0]).name}")
        raise
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
    if received:
        _stop_now(received[0], f"stopped by {signal.Signals(received[0]).name}")


def _is_prefect_server(proc: psutil.Process) -> bool:
    """The ephemeral Prefect API server (uvicorn) this command started: ended last, after the flow recorded its stop."""
    try:
        command = " ".join(proc.cmdline())
    except psutil.Error:
        return False
    return "uvicorn" in command and "prefect" in command
