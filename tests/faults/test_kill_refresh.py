"""Leases, not slots, and a clean stop (issue 14, finding 2).

- a crawl slot held by a killed run (its lease expired, its holder process ended, or its lease gone
  with the ephemeral API server that kept it in memory) comes back by itself: the next crawl on this
  host takes it back at once, on another it waits a lease at most, never forever
  (``flows.crawl.crawl_slots``);
- SIGTERM stops ``aimap refresh`` and every process it started — the Scrapy crawl and the
  ephemeral Prefect server — records its runs ``interrupted`` and exits 143.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import socket
import sys
import time
import uuid

import psutil
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate
from prefect.client.schemas.objects import ConcurrencyLeaseHolder
from prefect.server.api.server import SubprocessASGIServer
from prefect.settings import (
    PREFECT_API_DATABASE_CONNECTION_URL,
    PREFECT_API_URL,
    PREFECT_HOME,
    PREFECT_SERVER_ALLOW_EPHEMERAL_MODE,
    PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE,
    temporary_settings,
)
from sqlalchemy import select

from db.models import PipelineRun
from db.runs import process_identity
from db.session import make_engine, session_factory
from demosite.evaluation import world_documents
from demosite.render import render_site
from demosite.server import serve
from demosite.world import build_world
from flows import LEASES_ON_DISK
from flows.crawl import crawl_slots, ensure_limits, holder_directory, lease_directory, reclaim_slots
from tests.faults import harness


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """Prefect's ephemeral API, as ``aimap`` uses it (no ``PREFECT_API_URL``), on a database and a home
    (where the leases are) of this module's own; stopped at the end."""
    home = tmp_path_factory.mktemp("prefect-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        mp.setenv("PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE", LEASES_ON_DISK)
        with temporary_settings(updates={PREFECT_HOME: str(home), PREFECT_SERVER_ALLOW_EPHEMERAL_MODE: True,
                                         PREFECT_API_DATABASE_CONNECTION_URL: f"sqlite+aiosqlite:///{home}/prefect.db",
                                         PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE: LEASES_ON_DISK},
                                restore_defaults={PREFECT_API_URL}):
            try:
                yield home
            finally:
                SubprocessASGIServer().stop()


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _active(name: str) -> int:
    with get_client(sync_client=True) as client:
        return client.read_global_concurrency_limit_by_name(name).active_slots


@pytest.mark.timeout(180)
def test_a_slot_whose_lease_died_with_its_server_comes_back(api):
    ensure_limits({"faults-crawl-a": 1})
    with get_client(sync_client=True) as client:  # a killed crawl's slot, its lease gone with its server's memory
        client.update_global_concurrency_limit("faults-crawl-a", GlobalConcurrencyLimitUpdate(active_slots=1))
    with crawl_slots(["faults-crawl-a"], reclaim_every=1):
        assert _active("faults-crawl-a") == 1
    assert _active("faults-crawl-a") == 0


@pytest.mark.timeout(180)
def test_an_expired_lease_of_a_killed_crawl_is_given_back(api):
    ensure_limits({"faults-crawl-b": 1, "faults-domain-b": 1})
    names = ["faults-crawl-b", "faults-domain-b"]
    with get_client(sync_client=True) as client:  # a crawl took the slots, then was killed: nobody renews
        lease_id = client.increment_concurrency_slots_with_lease(names, 1, "concurrency", 60).json()["lease_id"]
    directory = lease_directory()
    assert directory is not None
    path = directory / f"{lease_id}.json"
    lease = json.loads(path.read_text())  # its 60 s pass (moved forward here instead of waited for)
    lease["expiration"] = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat()
    path.write_text(json.dumps(lease))
    assert _active("faults-crawl-b") == 1
    with crawl_slots(names, reclaim_every=1):
        assert _active("faults-crawl-b") == 1 and _active("faults-domain-b") == 1
    assert not path.exists()
    assert _active("faults-crawl-b") == 0 and _active("faults-domain-b") == 0


@pytest.mark.timeout(180)
def test_a_live_lease_of_a_crawl_process_that_ended_is_given_back_at_once(api):
    """On this host a killed crawl's slots come back at the next check, not when its lease expires."""
    ensure_limits({"faults-crawl-c": 1, "faults-domain-c": 1, "faults-other-c": 1})
    names = ["faults-crawl-c", "faults-domain-c"]
    ended = psutil.Popen([sys.executable, "-c", "pass"])  # the killed crawl's process: gone
    identity = {"pid": ended.pid, "host": socket.gethostname(), "started": round(ended.create_time(), 2),
                "pidns": os.readlink("/proc/self/ns/pid")}
    ended.wait()
    holder = ConcurrencyLeaseHolder(type="task_run", id=uuid.uuid4())
    with get_client(sync_client=True) as client:
        response = client.increment_concurrency_slots_with_lease(names, 1, "concurrency", 600, holder=holder)
    directory = lease_directory()
    assert directory is not None
    lease_file = directory / f"{response.json()['lease_id']}.json"
    expires = dt.datetime.fromisoformat(json.loads(lease_file.read_text())["expiration"])
    records = holder_directory(directory)
    records.mkdir(parents=True, exist_ok=True)
    (records / f"{holder.id}.json").write_text(json.dumps(identity))
    alive = ConcurrencyLeaseHolder(type="task_run", id=uuid.uuid4())  # a live holder's lease stays
    with get_client(sync_client=True) as client:
        client.increment_concurrency_slots_with_lease(["faults-other-c"], 1, "concurrency", 600, holder=alive)
    (records / f"{alive.id}.json").write_text(json.dumps(process_identity()))
    assert reclaim_slots(["faults-other-c"]) == 0
    with crawl_slots(names, reclaim_every=1):
        assert _active("faults-crawl-c") == 1 and _active("faults-domain-c") == 1
        assert dt.datetime.now(dt.UTC) < expires and not lease_file.exists()
        assert not (records / f"{holder.id}.json").exists()  # the dead holder's record went with its lease
        own = [json.loads(p.read_text()) for p in records.glob("*.json")]
        assert process_identity() in own  # this crawl is recorded as its lease's holder while it runs
    assert _active("faults-crawl-c") == 0 and _active("faults-other-c") == 1


def _running_a_crawl(proc: psutil.Popen) -> bool:
    try:
        return any("scrapy" in " ".join(c.cmdline()) for c in psutil.Process(proc.pid).children(recursive=True))
    except psutil.Error:
        return False


@pytest.mark.e2e
@pytest.mark.timeout(420)
def test_a_refresh_killed_then_stopped_during_the_crawl_completes_when_run_again(fault_db, tmp_path):
    """Three runs of the same ``aimap refresh`` (two sources of the tiny world), nothing done by hand
    in between:

    1. ``kill -9`` of its whole process group (the Scrapy crawl and the ephemeral Prefect server with
       it) once the first source is stored, while it crawls the second;
    2. again, SIGTERM to the command alone (as ``kill PID`` or a supervisor sends it) once it crawls:
       it takes the dead crawl's slots back at once (their holder record names a process that has
       ended: it does not wait for the lease to expire), then stops itself and every process it
       started, records its runs ``interrupted`` and exits 143 with one line, no traceback;
    3. again: it completes — every document crawled and loaded, no run left ``running``, both
       earlier refreshes marked ``interrupted``. (It found that a resumed crawl counted only its own
       documents against the source's minimum — 0 when the killed crawl had fetched every page of
       the first source — and the gate stopped the re-run: ``crawlers.run.delivered_before``.)
    """
    db = fault_db(empty=True)
    manifest = render_site(build_world(seed=7, preset="tiny"), tmp_path / "world")
    assert db.aimap("firms", "import", str(manifest.registry_csv)).returncode == 0
    env = db.env(PREFECT_HOME=str(tmp_path / "prefect"))
    with serve(manifest.root) as site:
        args = ["refresh", "--edition", "2024", "--no-charts", "--sources", str(manifest.sources_dir),
                "--base-url", site.base_url, "--retries", "0", "--source", "demo-exchange", "--source", "demo-gov"]
        # the first source's 11 documents are stored: the crawl of the second has begun (its pages are
        # stored in one batch at its end, so a later count would come too late)
        killed = harness.run_aimap(args, env, harness.Moment(when=lambda: db.count("SELECT count(*) FROM documents") >= 11),
                                   timeout=300)
        assert killed.struck and killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
        crawled = db.count("SELECT count(*) FROM documents")

        proc = psutil.Popen([sys.executable, "-m", "aimap.cli", *args], env=env, cwd=harness.ROOT,
                            start_new_session=True, stdout=open(tmp_path / "out.txt", "w"),
                            stderr=open(tmp_path / "err.txt", "w"))
        family: list[psutil.Process] = []
        try:
            deadline = time.monotonic() + 300
            while not _running_a_crawl(proc) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            assert proc.poll() is None, (tmp_path / "err.txt").read_text()
            family = proc.children(recursive=True)
            assert any("uvicorn" in " ".join(c.cmdline()) for c in family)  # the ephemeral Prefect server
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=120)
        finally:
            leftovers = [p.pid for p in family if _alive(p)]
            with contextlib.suppress(ProcessLookupError):  # whatever it left (a failing test leaves no orphan)
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        stopped = (tmp_path / "err.txt").read_text()
        logged = stopped + (tmp_path / "out.txt").read_text()
        assert code == 128 + signal.SIGTERM, stopped
        assert "Traceback" not in stopped and "stopped:" in stopped, stopped
        assert leftovers == [], "orphans left"
        assert "that crawls no longer running held" in logged, logged[-3000:]

        started = time.monotonic()
        again = harness.run_aimap(args, env, timeout=300)
        took = time.monotonic() - started
    assert again.returncode == 0, again.stderr[-2000:]
    got = harness.content(db.url)
    truth = [d for d in world_documents(manifest.out_dir / "truth") if d["url"].startswith(("/exchange/", "/gov/"))]
    assert len(got["documents"]) == len(truth) > crawled
    assert all(extracted for _url, _sha, extracted in got["documents"])
    assert got["edges"] and got["running"] == []
    engine = make_engine(db.url)
    try:
        with session_factory(engine)() as s:
            refreshes = [r.state for r in s.scalars(select(PipelineRun).where(PipelineRun.flow == "annual-refresh")
                                                    .order_by(PipelineRun.id))]
    finally:
        engine.dispose()
    assert refreshes == ["interrupted", "interrupted", "completed"], (refreshes, f"last run took {took:.0f} s")
