"""Recording pipeline runs — the only writer of ``pipeline_runs``.

Every step of the pipeline, started from the shell (``aimap``) or from Prefect (``flows/``), is
one ``pipeline_runs`` row: written ``running`` when the step starts (committed at once, so an
operator sees it while the step works) and closed ``completed`` with the step's counts, or
``failed`` (or ``interrupted``) with the message. Three ways to record one:

- :func:`recorded_run` — a step whose work is one transaction: the step gets the session and
  the run row; its work is rolled back if it fails;
- :func:`recorded_step` — a step whose work happens in other sessions, threads or processes (a
  crawl, an ETL pass in waves, the analysis): it gets a :class:`RunRecord` (the run id and the
  counts to store) and keeps no session open across the work;
- :func:`start_run` / :func:`finish_run` — the two halves, for callers that need them apart.

On top of these, the **step ledger** of an edition's annual refresh (:class:`Ledger`): every step
(``crawl:<source>``, ``etl``, ``gate``, ``analyze``, ``publish``) is a row with ``flow =
"refresh-step"`` and ``parameters = {"edition": E, "step": ...}``. Re-running the refresh of an
edition reads the ledger and skips what has completed, so a refresh resumes from the step that
failed; a ``fresh`` start (``refresh-start`` row with ``fresh: true``) hides every earlier step
record of the edition. Gate overrides are ``gate-override`` rows. Using the ``pipeline_runs``
table keeps the schema as it is; the rows are few (a handful per edition and source), so they are
filtered in Python, the same way on SQLite and PostgreSQL.

Inside a Prefect flow run each row also records the flow run's id.

**Runs a dead process left ``running``** (issue 14: a killed run stayed ``running`` forever).
While a run is ``running`` its ``counts`` hold the process that runs it (``process``: pid, host,
the process's start time) and a ``heartbeat`` that a daemon thread of that process renews every
:data:`HEARTBEAT_SECONDS`. Every new run (:func:`start_run`) and ``aimap status``
(:func:`reap_stale_runs`) mark ``interrupted`` the runs whose process is gone: on this host, the
pid is not alive (or is another process now); on another host, the heartbeat is older than
``AIMAP_RUN_STALE_SECONDS`` (default 600). A run's real counts replace them when it ends. A
process stopped by SIGINT/SIGTERM closes its own open runs as ``interrupted``
(:func:`interrupt_own_runs`).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psutil
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from db.models import PipelineRun, utcnow
from db.session import get_engine, session_scope

STEP_FLOW = "refresh-step"
START_FLOW = "refresh-start"
OVERRIDE_FLOW = "gate-override"
PUBLISH_STEP = "publish"
#: The longest message stored with a run (the tail of a crawl's stderr, an exception).
MESSAGE_LIMIT = 4000
#: Keys of a running run's ``counts``: the process running it, and its last sign of life.
PROCESS_KEY, HEARTBEAT_KEY = "process", "heartbeat"
#: How often a process renews the heartbeat of its running runs.
HEARTBEAT_SECONDS = 30.0
#: A run of another host without a heartbeat for this long is taken for dead (``AIMAP_RUN_STALE_SECONDS``).
STALE_AFTER_SECONDS = 600.0

log = logging.getLogger(__name__)


def _stale_after() -> float:
    raw = os.environ.get("AIMAP_RUN_STALE_SECONDS", "").strip()
    try:
        return max(float(raw), 2 * HEARTBEAT_SECONDS) if raw else STALE_AFTER_SECONDS
    except ValueError:
        return STALE_AFTER_SECONDS


def process_identity() -> dict[str, Any]:
    """This process as a running run records it: pid, host name and start time (seconds since the epoch)."""
    pid = os.getpid()
    try:
        started: float | None = round(psutil.Process(pid).create_time(), 2)
    except psutil.Error:
        started = None
    return {"pid": pid, "host": socket.gethostname(), "started": started, "pidns": _pid_namespace()}


def _pid_namespace() -> str | None:
    """This process's pid namespace (Linux): two containers may share a host name, never their pids."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def _alive(pid: int, started: float | None) -> bool:
    """Is the process ``pid`` of this host alive and the same one (not a later process given its pid)?"""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return started is None or abs(proc.create_time() - started) < 1.0
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # e.g. access denied: it exists
        return True


def _parse_time(text: Any) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def process_ended(process: dict[str, Any]) -> bool:
    """Whether the process a :func:`process_identity` record names is known to have ended: it ran on
    this host (and pid namespace) and that pid is gone or belongs to a later process now. A process
    of another host is never known to have ended here."""
    pid = process.get("pid")
    if not isinstance(pid, int) or process.get("host") != socket.gethostname():
        return False
    return process.get("pidns") == _pid_namespace() and not _alive(pid, process.get("started"))


def stale_reason(counts: dict[str, Any] | None, now: dt.datetime | None = None) -> str | None:
    """Why a ``running`` run with these ``counts`` is dead, or None (alive, or recorded before runs said
    which process runs them: those are left as they are)."""
    process = (counts or {}).get(PROCESS_KEY)
    if not isinstance(process, dict) or not isinstance(process.get("pid"), int):
        return None
    pid, host = process["pid"], process.get("host")
    if host == socket.gethostname() and process.get("pidns") == _pid_namespace():
        if not process_ended(process):
            return None
        return f"the process running it (pid {pid} on {host}) ended without finishing (killed or crashed)"
    beat = _parse_time((counts or {}).get(HEARTBEAT_KEY))
    now = now or dt.datetime.now(dt.UTC)
    if beat is not None and (now - beat).total_seconds() < _stale_after():
        return None
    return (f"no sign of life from its process (pid {pid} on {host}) since {beat:%Y-%m-%d %H:%M:%S} UTC"
            if beat else f"no sign of life from its process (pid {pid} on {host})")


class _Heartbeat:
    """The runs this process has open, and the daemon thread that renews their heartbeat."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.runs: dict[int, Engine] = {}
        self.thread: threading.Thread | None = None
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:  # a forked child runs none of its parent's runs
        self.lock = threading.Lock()
        self.runs, self.thread = {}, None

    def add(self, run_id: int, engine: Engine) -> None:
        with self.lock:
            self.runs[run_id] = engine
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._loop, name="aimap-run-heartbeat", daemon=True)
                self.thread.start()

    def remove(self, run_id: int) -> None:
        with self.lock:
            self.runs.pop(run_id, None)

    def own(self) -> dict[int, Engine]:
        with self.lock:
            return dict(self.runs)

    def _loop(self) -> None:
        while True:
            time.sleep(HEARTBEAT_SECONDS)
            self.beat()

    def beat(self) -> None:
        """Renew the heartbeat of every open run (a failure is logged: the next beat tries again)."""
        by_engine: dict[int, tuple[Engine, list[int]]] = {}
        for run_id, engine in self.own().items():
            by_engine.setdefault(id(engine), (engine, []))[1].append(run_id)
        counts = {PROCESS_KEY: process_identity(), HEARTBEAT_KEY: utcnow().isoformat()}
        for engine, ids in by_engine.values():
            try:
                with engine.begin() as conn:
                    conn.execute(update(PipelineRun).where(PipelineRun.id.in_(ids), PipelineRun.state == "running")
                                 .values(counts=counts))
            except Exception as exc:  # noqa: BLE001 - a missed beat is harmless; the run goes on
                log.debug("heartbeat of runs %s failed: %s", ids, exc)


_heart = _Heartbeat()


def _reap(session: Session) -> list[int]:
    """Mark ``interrupted`` every ``running`` run whose process is gone (:func:`stale_reason`); their ids."""
    now = utcnow()
    marked = []
    for run in session.scalars(select(PipelineRun).where(PipelineRun.state == "running")):
        reason = stale_reason(run.counts, now)
        if reason is None:
            continue
        beat = _parse_time((run.counts or {}).get(HEARTBEAT_KEY))
        run.state, run.finished_at = "interrupted", beat or now
        run.counts = {k: v for k, v in (run.counts or {}).items() if k not in (PROCESS_KEY, HEARTBEAT_KEY)}
        run.message = f"interrupted: {reason}; marked {now:%Y-%m-%d %H:%M:%S} UTC. Re-run the step: it resumes."
        marked.append(run.id)
    return marked


def reap_stale_runs(engine: Engine | None = None) -> list[int]:
    """Mark the runs that dead processes left ``running`` as ``interrupted`` (``aimap status``); their ids."""
    with session_scope(engine or get_engine()) as session:
        return _reap(session)


def interrupt_own_runs(message: str) -> list[int]:
    """Close every run this process still has open as ``interrupted`` with ``message`` (on SIGINT/SIGTERM)."""
    closed = []
    for run_id, engine in _heart.own().items():
        try:
            finish_run(run_id, state="interrupted", message=message, engine=engine)
            closed.append(run_id)
        except Exception as exc:  # noqa: BLE001 - the database may be what failed; the next run reaps it
            log.debug("could not close run %d: %s", run_id, exc)
    return closed


def prefect_run_id() -> str | None:
    """The id of the Prefect flow run we are in (None outside a flow run)."""
    if "prefect" not in sys.modules:  # Prefect was never imported: this is no flow run
        return None
    try:
        from prefect.runtime import flow_run  # deferred: heavy, and meaningful only inside a flow run

        run_id = flow_run.get_id()
    except Exception:  # noqa: BLE001 - outside Prefect there is simply no run
        return None
    return str(run_id) if run_id else None


def error_message(exc: BaseException) -> str:
    """How a failure is stored: the exception's type and text."""
    return f"{type(exc).__name__}: {exc}"


def end_state(exc: BaseException) -> str:
    """The state of a run that ended with ``exc``: ``interrupted`` when it was stopped (Ctrl-C, SIGTERM,
    exit), else ``failed``."""
    stopped = isinstance(exc, KeyboardInterrupt | SystemExit) or any(
        c.__name__ == "ExternalSignal" for c in type(exc).__mro__)  # Prefect's TerminationSignal (SIGTERM)
    return "interrupted" if stopped else "failed"


def start_run(flow: str, parameters: dict[str, Any] | None = None, engine: Engine | None = None) -> int:
    """Insert a ``running`` pipeline run (committed at once, so operators see it); return its id.

    A short transaction of its own: a step whose work happens in other sessions (tasks,
    worker processes) must not keep one session open across it (on SQLite a read transaction
    that outlives other writers cannot write any more).

    Runs that dead processes left ``running`` are marked ``interrupted`` first (:func:`stale_reason`);
    this run's counts say which process runs it until it ends, and its heartbeat is kept.
    """
    engine = engine or get_engine()
    with session_scope(engine) as session:
        _reap(session)
        run = PipelineRun(flow=flow, parameters=parameters or {}, prefect_flow_run_id=prefect_run_id(),
                          counts={PROCESS_KEY: process_identity(), HEARTBEAT_KEY: utcnow().isoformat()})
        session.add(run)
        session.flush()
        run_id = run.id
    _heart.add(run_id, engine)
    return run_id


def finish_run(run_id: int, *, counts: dict[str, Any] | None = None, state: str = "completed",
               message: str | None = None, engine: Engine | None = None) -> None:
    """Close a pipeline run with its counts (``completed``) or its error (``failed``, ``interrupted``)."""
    _heart.remove(run_id)
    with session_scope(engine or get_engine()) as session:
        run = session.get(PipelineRun, run_id)
        if run is None:
            raise LookupError(f"no pipeline run {run_id}")
        run.state, run.finished_at = state, utcnow()
        run.counts = counts if counts is not None else {
            k: v for k, v in (run.counts or {}).items() if k not in (PROCESS_KEY, HEARTBEAT_KEY)}
        if message is not None:
            run.message = message[:MESSAGE_LIMIT]


def interrupt_stale(flow: str, engine: Engine | None = None, message: str = "the process ended without finishing",
                    **match: Any) -> int:
    """Mark runs of ``flow`` still ``running`` whose parameters match ``match`` as ``interrupted``.

    For steps that resume what a killed run left (a crawl's job directory); returns how many.
    """
    marked = 0
    with session_scope(engine or get_engine()) as session:
        for stale in session.scalars(select(PipelineRun).where(PipelineRun.flow == flow,
                                                               PipelineRun.state == "running")):
            if all(stale.parameters.get(k) == v for k, v in match.items()):
                stale.state, stale.message = "interrupted", message
                marked += 1
    return marked


def latest_counts(flow: str, engine: Engine | None = None, limit: int = 200, **match: Any) -> dict[str, Any] | None:
    """The counts of the newest completed run of ``flow`` whose parameters match ``match`` (among the last
    ``limit`` completed runs), or None."""
    with session_scope(engine or get_engine()) as session:
        runs = session.scalars(select(PipelineRun).where(PipelineRun.flow == flow, PipelineRun.state == "completed")
                               .order_by(PipelineRun.id.desc()).limit(limit))
        for run in runs:
            if all(run.parameters.get(k) == v for k, v in match.items()):
                return dict(run.counts or {})
    return None


@contextmanager
def recorded_run(
    flow: str, parameters: dict[str, Any] | None = None, engine: Engine | None = None
) -> Iterator[tuple[Session, PipelineRun]]:
    """Run a step inside a transaction and record it.

    The run row is committed first (state ``running``) so an operator sees it while the step
    works. The step gets its own session; on success its work is committed and the run is
    marked ``completed`` with the ``counts`` the step set on it; on an exception the step's work
    is rolled back and the run is marked ``failed`` with the error message, then the exception
    propagates.
    """
    engine = engine or get_engine()
    run_id = start_run(flow, parameters, engine)
    try:
        with session_scope(engine) as session:
            run = session.get(PipelineRun, run_id)
            assert run is not None
            yield session, run
            run.state, run.finished_at = "completed", utcnow()
    except BaseException as exc:
        finish_run(run_id, state=end_state(exc), message=error_message(exc), engine=engine)
        raise


@dataclass
class RunRecord:
    """A recorded step in progress (:func:`recorded_step`): set ``counts`` before it ends."""

    id: int
    counts: dict[str, Any] = field(default_factory=dict)


@contextmanager
def recorded_step(flow: str, parameters: dict[str, Any] | None = None,
                  engine: Engine | None = None) -> Iterator[RunRecord]:
    """Record a step whose work happens outside one session: ``running`` now, then ``completed`` with
    the ``counts`` set on the yielded record, or ``failed`` with the error (and the counts so far)."""
    record = RunRecord(start_run(flow, parameters, engine))
    try:
        yield record
    except BaseException as exc:
        finish_run(record.id, counts=record.counts, state=end_state(exc), message=error_message(exc), engine=engine)
        raise
    finish_run(record.id, counts=record.counts, engine=engine)


# --------------------------------------------------------------------------- the refresh's step ledger


@dataclass
class Step:
    """One ledger row, detached from the session."""

    id: int
    step: str
    state: str
    counts: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    message: str | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None

    @classmethod
    def of(cls, run: PipelineRun) -> Step:
        """The :class:`Step` of a ``pipeline_runs`` row."""
        return cls(run.id, str(run.parameters.get("step")), run.state, dict(run.counts or {}),
                   dict(run.parameters or {}), run.message, run.started_at, run.finished_at)


class Ledger:
    """The step records of one edition's refresh (see the module docstring)."""

    def __init__(self, edition: int, engine: Engine | None = None) -> None:
        self.edition = int(edition)
        self.engine = engine or get_engine()

    def _rows(self, flow: str) -> list[PipelineRun]:
        with session_scope(self.engine) as session:
            rows = list(session.scalars(select(PipelineRun).where(PipelineRun.flow == flow).order_by(PipelineRun.id)))
            session.expunge_all()
        return [r for r in rows if r.parameters.get("edition") == self.edition]

    def epoch(self) -> int:
        """Id of the latest fresh start of this edition (0 if none): older step rows do not count."""
        starts = [r.id for r in self._rows(START_FLOW) if r.parameters.get("fresh")]
        return max(starts, default=0)

    def steps(self) -> list[Step]:
        """Every step record since the latest fresh start, oldest first."""
        epoch = self.epoch()
        return [Step.of(r) for r in self._rows(STEP_FLOW) if r.id > epoch]

    def latest(self, step: str) -> Step | None:
        """The most recent record of ``step`` (any state)."""
        found = [s for s in self.steps() if s.step == step]
        return found[-1] if found else None

    def completed(self, step: str) -> Step | None:
        """The most recent completed record of ``step``, or None when it has not completed."""
        found = [s for s in self.steps() if s.step == step and s.state == "completed"]
        return found[-1] if found else None

    def completed_all(self, prefix: str) -> list[Step]:
        """Every completed record whose step starts with ``prefix`` (e.g. every ``etl`` pass)."""
        return [s for s in self.steps() if s.step.startswith(prefix) and s.state == "completed"]

    def begin(self, *, fresh: bool = False, **parameters: Any) -> int:
        """Record that a refresh of the edition starts (``fresh`` forgets earlier steps)."""
        run_id = start_run(START_FLOW, {"edition": self.edition, "fresh": fresh, **parameters}, self.engine)
        finish_run(run_id, engine=self.engine)
        return run_id

    def start(self, step: str, **parameters: Any) -> int:
        """Record that ``step`` starts (state ``running``); return the record's id."""
        return start_run(STEP_FLOW, {"edition": self.edition, "step": step, **parameters}, self.engine)

    def finish(self, record_id: int, *, counts: dict[str, Any] | None = None, state: str = "completed",
               message: str | None = None) -> None:
        """Close a step record with its counts (``completed``) or its error (``failed``)."""
        finish_run(record_id, counts=counts, state=state, message=message, engine=self.engine)

    @contextmanager
    def step(self, step: str, **parameters: Any) -> Iterator[RunRecord]:
        """Record ``step`` of the edition around a block (:func:`recorded_step`'s rules)."""
        with recorded_step(STEP_FLOW, {"edition": self.edition, "step": step, **parameters}, self.engine) as record:
            yield record

    def override(self, reason: str, by: str, checks: list[str]) -> int:
        """Record an operator's override of failed gate checks of the edition; return its id."""
        run_id = start_run(OVERRIDE_FLOW, {"edition": self.edition, "reason": reason, "by": by, "checks": checks},
                           self.engine)
        finish_run(run_id, counts={"checks": len(checks)}, message=reason, engine=self.engine)
        return run_id

    def overrides(self) -> list[PipelineRun]:
        """Gate overrides recorded for this edition (any time), oldest first."""
        return self._rows(OVERRIDE_FLOW)


def last_published(edition: int, engine: Engine | None = None) -> Step | None:
    """The most recent completed ``publish`` step of ``edition`` (any epoch), or None."""
    ledger = Ledger(edition, engine)
    published = [Step.of(r) for r in ledger._rows(STEP_FLOW)
                 if r.parameters.get("step") == PUBLISH_STEP and r.state == "completed"]
    return published[-1] if published else None


#: The steps of an annual refresh, in order (``crawl`` stands for every ``crawl:<source>`` step).
REFRESH_STEPS = ("crawl", "etl", "gate", "analyze", PUBLISH_STEP)
REFRESH_FLOW = "annual-refresh"
#: The ledger step of an ETL pass the refresh runs beside its crawl (the pass after the crawl is ``etl``).
ETL_DURING_CRAWL_STEP = "etl:during-crawl"


def etl_passes(steps: list[Step]) -> list[Step]:
    """The completed ETL passes among an edition's ``steps``: ``etl`` and those beside the crawl."""
    return [s for s in steps if s.state == "completed" and (s.step == "etl" or s.step.startswith("etl:"))]


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat(sep=" ", timespec="seconds") if moment else None


def step_states(steps: list[Step]) -> list[dict[str, Any]]:
    """Per refresh step, its latest state and end: ``crawl`` sums up its sources (failed ones named),
    ``gate`` says ``overridden`` when it passed by an operator's override."""
    found = []
    for name in REFRESH_STEPS:
        records = [s for s in steps if s.step == name or s.step.startswith(f"{name}:")]
        if not records:
            found.append({"step": name, "state": "not run", "finished_at": None})
            continue
        if name == "crawl":
            latest: dict[str, Step] = {}
            for s in records:
                latest[s.step] = s
            failed = sorted(s.step.split(":", 1)[1] for s in latest.values() if s.state not in ("completed", "running"))
            running = [s for s in latest.values() if s.state == "running"]
            state = f"failed: {', '.join(failed)}" if failed else "running" if running else "completed"
            ends = [s.finished_at for s in latest.values() if s.finished_at]
            found.append({"step": name, "state": state, "finished_at": _iso(max(ends)) if ends else None,
                          "sources": len(latest)})
            continue
        last = records[-1]
        state = "overridden" if name == "gate" and last.state == "completed" and last.counts.get("overridden") \
            else last.state
        found.append({"step": name, "state": state, "finished_at": _iso(last.finished_at)})
    return found


def refresh_overview(engine: Engine | None = None, editions: int = 5) -> list[dict[str, Any]]:
    """The last refresh of each of the ``editions`` most recently refreshed editions: the refresh's own
    state, when it started, and every step's state (:func:`step_states`), newest edition first."""
    engine = engine or get_engine()
    with session_scope(engine) as session:
        rows = session.execute(select(PipelineRun.id, PipelineRun.flow, PipelineRun.parameters, PipelineRun.state,
                                      PipelineRun.started_at, PipelineRun.finished_at, PipelineRun.message,
                                      PipelineRun.counts)
                               .where(PipelineRun.flow.in_((REFRESH_FLOW, START_FLOW)))
                               .order_by(PipelineRun.id)).all()
    last: dict[int, Any] = {}
    for row in rows:
        edition = (row.parameters or {}).get("edition")
        if row.flow == REFRESH_FLOW and isinstance(edition, int):
            last[edition] = row
        elif isinstance(edition, int):
            last.setdefault(edition, None)
    newest = sorted(last, key=lambda e: -(last[e].id if last[e] is not None else 0))[:editions]
    overview = []
    for edition in sorted(newest, reverse=True):
        run = last[edition]
        overview.append({
            "edition": edition,
            "state": run.state if run is not None else "unknown",
            "started_at": _iso(run.started_at) if run is not None else None,
            "finished_at": _iso(run.finished_at) if run is not None else None,
            "overridden": bool(run is not None and (run.counts or {}).get("overridden")),
            "message": (run.message or "").strip().splitlines()[0] if run is not None and run.message else None,
            "steps": step_states(Ledger(edition, engine).steps()),
        })
    return overview
