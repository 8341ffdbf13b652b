"""What every ``aimap`` command shares: the output consoles and the failure exit (from
:mod:`aimap.output`, re-exported here), the preparation of the database before a command writes
(Prefect's local-API defaults are set in :mod:`aimap`), and the clean stop on SIGINT/SIGTERM
(:func:`stop_on_signals`).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any, NoReturn

import psutil
import typer
from rich.table import Table

from aimap.output import console, database_problem, err, fail, tagged, version_text
from db.bootstrap import prepare_database
from db.runs import interrupt_own_runs

__all__ = ["JSON_OPTION", "STOP_GRACE_SECONDS", "analyst", "console", "database_problem", "end_children", "err",
           "fail", "prepared", "print_table", "stop_on_signals", "tagged", "version_text"]

JSON_OPTION = typer.Option("--json", help="Print machine-readable JSON.")
#: Seconds a stopped command has to wind down (its flow to record the stop) before it is ended hard.
STOP_GRACE_SECONDS = 20.0


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
