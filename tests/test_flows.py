"""The Prefect flows (flows/): annual refresh, resume, gate and override, artifacts, notifications,
the next edition after `demosite step` (the world advanced one year), ETL on Dask, deployments.

One module-scoped ``prefect_test_harness`` (a real, temporary Prefect API); real Scrapy processes
crawl the ``tiny`` demo world served on 127.0.0.1. The full refresh runs on SQLite and
PostgreSQL; the longer scenarios (failure -> override -> resume -> next edition, Dask) on SQLite
only: they exercise the flows' bookkeeping, which is engine-independent SQL already covered by
the full refresh on both engines.
"""

from __future__ import annotations

import contextvars
import csv
import datetime as dt
import hashlib
import json
import shutil
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect.artifacts import Artifact
from prefect.testing.utilities import prefect_test_harness
from sqlalchemy import select
from typer.testing import CliRunner

from aimap.cli import app
from common.config import safe_url
from db.models import PipelineRun
from db.session import make_engine, session_factory, session_scope
from demosite.render import render_site, step_world
from demosite.server import serve
from demosite.world import build_world
from etl.registry import import_registry

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[1]
SQLITE_ONLY = pytest.mark.parametrize("empty_db_url", ["sqlite"], indirect=True)
POSTGRESQL_ONLY = pytest.mark.parametrize("empty_db_url", ["postgresql"], indirect=True)


@pytest.fixture(scope="module")
def harness():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # the test server must not call out
        with prefect_test_harness(server_startup_timeout=180):
            yield


class Receiver:
    """A webhook receiver on 127.0.0.1 collecting the JSON bodies POSTed to it."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                outer.bodies.append(json.loads(self.rfile.read(length) or b"{}"))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


# --------------------------------------------------------------------------- helpers


def make_world(directory: Path) -> Any:
    """Render the tiny world and import its registry into the configured database."""
    from db.bootstrap import prepare_database

    prepare_database()
    manifest = render_site(build_world(seed=7, preset="tiny"), directory)
    with session_scope() as session:
        import_registry(session, manifest.registry_csv)
    return manifest


def truth_documents(world: Path) -> dict[str, dict[str, Any]]:
    """Crawlable documents of the world's truth, by URL."""
    docs = [json.loads(line) for line in (world / "truth" / "documents.jsonl").read_text(encoding="utf-8").splitlines()]
    return {d["url"]: d for d in docs if d["crawlable"] and d["fault"] not in ("gone", "broken")}


def truth_nodes(world: Path, years: range) -> dict[int, tuple[int, int]]:
    """(sample nodes, all nodes) per year of the true cumulative networks (observable events)."""
    samples = {row["name"] for row in csv.DictReader((world / "firms.csv").open(encoding="utf-8"))}
    events = [json.loads(line) for line in (world / "truth" / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    out = {}
    for year in years:
        nodes = set()
        for e in events:
            ended = e.get("terminated_on")
            if not e["observable"] or e["year"] > year or (ended and dt.date.fromisoformat(ended).year < year):
                continue
            nodes.update((e["provider"], e["receiver"]))
        out[year] = (len(nodes & samples), len(nodes))
    return out


def check_table1(rows: dict[int, dict[str, Any]], expected: dict[int, tuple[int, int]]) -> None:
    for year, (samples, nodes) in expected.items():
        assert rows[year]["sample_nodes"] == samples, year
        assert abs(rows[year]["nodes"] - nodes) <= max(1, nodes // 20), (year, rows[year]["nodes"], nodes)


def runs(db_url: str, flow: str) -> list[PipelineRun]:
    engine = make_engine(db_url)
    with session_factory(engine)() as s:
        out = list(s.scalars(select(PipelineRun).where(PipelineRun.flow == flow).order_by(PipelineRun.id)))
    engine.dispose()
    return out


def steps(db_url: str, edition: int) -> list[PipelineRun]:
    return [r for r in runs(db_url, "refresh-step") if r.parameters.get("edition") == edition]


def artifact(key: str) -> Any:
    found = Artifact.get(key)
    assert found is not None, f"no artifact {key}"
    data = found.data
    return json.loads(data) if found.type == "table" else data


def table1_csv(directory: Path) -> dict[int, dict[str, Any]]:
    rows = list(csv.DictReader((directory / "table1.csv").read_text(encoding="utf-8-sig").splitlines()))
    return {int(r["year"]): {k: float(v) if "." in v else int(v) for k, v in r.items() if v} for r in rows}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- the full refresh, both engines


def test_annual_refresh_end_to_end(env_db, harness, tmp_path, monkeypatch):
    from flows.refresh import annual_refresh

    sqlite = env_db.startswith("sqlite")
    if not sqlite:  # per-domain limit 1 is proven on SQLite; let PostgreSQL's crawls overlap (faster)
        monkeypatch.setenv("AIMAP_CRAWL_DOMAIN_LIMIT", "4")
    manifest = make_world(tmp_path / "world")
    world = manifest.out_dir
    crawlable = truth_documents(world)
    with serve(manifest.root) as server:
        result = annual_refresh(2024, sources_dir=str(manifest.sources_dir), base_url=server.base_url, charts=sqlite)
        assert result["ran"] == ["crawl", "etl", "gate", "analyze", "publish"]
        directory = Path(result["directory"])
        assert directory == tmp_path / "out" / "2024"

        # ground truth: Table 1 as the world says
        rows = table1_csv(directory)
        assert sorted(rows) == list(range(2014, 2024))
        check_table1(rows, truth_nodes(world, range(2014, 2024)))

        # the ledger: every step completed once
        recorded = steps(env_db, 2024)
        sources = sorted(p.stem for p in manifest.sources_dir.glob("*.yml"))
        assert sorted(r.parameters["step"] for r in recorded) == sorted(
            [f"crawl:{s}" for s in sources] + ["etl", "gate", "analyze", "publish"])
        assert all(r.state == "completed" for r in recorded)
        crawls = runs(env_db, "crawl")
        assert len(crawls) == len(sources) and all(c.state == "completed" for c in crawls)
        if sqlite:  # one domain, limit 1: the crawls never overlapped
            spans = sorted((c.started_at, c.finished_at) for c in crawls)
            assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False)), spans

        # artifacts with the right counts
        crawl_table = artifact("crawl-2024")
        assert sorted(r["source"] for r in crawl_table) == sources
        assert sum(r["documents_new"] for r in crawl_table) == len(crawlable)
        etl = artifact("etl-2024")[0]
        assert etl["documents"] == len(crawlable) and etl["quarantined"] == 0 and etl["events_new"] > 0
        assert all(r["result"] == "pass" for r in artifact("gate-2024")) and len(artifact("gate-2024")) == 6
        t1 = artifact("table1-2024")
        assert [r["nodes"] for r in t1] == [rows[y]["nodes"] for y in range(2014, 2024)]
        top = artifact("top-nodes-2024")
        assert len(top) == min(20, rows[2023]["nodes"])
        assert [r["degree"] for r in top] == sorted((r["degree"] for r in top), reverse=True)
        assert all(r["degree"] == r["in_degree"] + r["out_degree"] for r in top)
        summary = artifact("annual-refresh-2024")
        assert "edition 2024: completed" in summary
        assert f"events added {etl['events_new']}" in summary and "quarantined documents 0" in summary
        assert "review queue:" in summary and "Data-quality gate: passed" in summary
        for source in sources:
            assert f"| {source} | completed |" in summary

        # published: manifest with checksums, LATEST pointer
        published = json.loads((directory / "MANIFEST.json").read_text(encoding="utf-8"))
        assert published["edition"] == 2024 and published["cutoff_date"] == "2023-12-31"
        assert published["gate"]["passed"] is True and published["gate"]["overridden"] is False
        entry = next(f for f in published["files"] if f["path"] == "table1.csv")
        assert entry["sha256"] == hashlib.sha256((directory / "table1.csv").read_bytes()).hexdigest()
        assert (tmp_path / "out" / "LATEST").read_text().strip() == "2024"
        if sqlite:
            assert (directory / "report.html").exists() and any((directory / "charts").glob("*.svg"))

        # resuming a finished edition redoes nothing
        again = annual_refresh(2024, sources_dir=str(manifest.sources_dir), base_url=server.base_url, charts=False)
        assert again["ran"] == []
        assert len(runs(env_db, "crawl")) == len(sources) and len(runs(env_db, "etl")) == 1
        assert len(steps(env_db, 2024)) == len(recorded)


@POSTGRESQL_ONLY
def test_the_etl_runs_beside_the_crawl_and_the_refresh_ends_as_the_world_says(env_db, harness, tmp_path, monkeypatch):
    """On PostgreSQL the refresh's ETL passes take what the crawl stored while it still crawls
    (flows.refresh.EtlDuringCrawl); the pass after the crawl takes the rest, nothing twice."""
    from db.runs import ETL_DURING_CRAWL_STEP
    from flows.refresh import EtlDuringCrawl, annual_refresh

    monkeypatch.setenv("AIMAP_ETL_DURING_CRAWL", "5")
    monkeypatch.setattr(EtlDuringCrawl, "poll_seconds", 0.2)
    manifest = make_world(tmp_path / "world")
    crawlable = truth_documents(manifest.out_dir)
    with serve(manifest.root) as server:
        result = annual_refresh(2024, sources_dir=str(manifest.sources_dir), base_url=server.base_url, charts=False)
    assert result["ran"] == ["crawl", "etl", "gate", "analyze", "publish"]
    recorded = steps(env_db, 2024)
    beside = [r for r in recorded if r.parameters["step"] == ETL_DURING_CRAWL_STEP]
    after = [r for r in recorded if r.parameters["step"] == "etl"]
    crawl_end = max(r.finished_at for r in recorded if r.parameters["step"].startswith("crawl:"))
    assert beside and all(r.state == "completed" for r in beside) and len(after) == 1
    assert any(r.started_at < crawl_end and r.counts["documents"] > 0 for r in beside)  # it ran while crawling
    assert all(r.parameters["edition"] == 2024 for r in beside)
    # every crawled document processed once, by one pass or the other
    processed = [r.counts["documents"] for r in beside + after]
    assert sum(processed) == len(crawlable) and processed[-1] < len(crawlable)
    etl = [r.counts for r in runs(env_db, "etl")]
    assert len(etl) == len(beside) + 1 and sum(c["documents"] for c in etl) == len(crawlable)
    check_table1(table1_csv(Path(result["directory"])), truth_nodes(manifest.out_dir, range(2014, 2024)))
    summary = artifact("annual-refresh-2024")
    assert f"documents processed {len(crawlable)}," in summary and "quarantined documents 0" in summary
    assert all(r["result"] == "pass" for r in artifact("gate-2024"))


def test_no_etl_beside_the_crawl_on_sqlite(monkeypatch, tmp_path):
    """SQLite has one writer at a time: the passes beside the crawl stay off whatever the setting."""
    from flows.refresh import EtlDuringCrawl

    monkeypatch.setenv("AIMAP_ETL_DURING_CRAWL", "5")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'a.db'}")
    with EtlDuringCrawl(2024) as beside:
        assert beside.minimum == 0 and beside._thread is None
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/none")
    monkeypatch.setenv("AIMAP_ETL_DURING_CRAWL", "0")
    assert EtlDuringCrawl(2024).minimum == 0
    monkeypatch.setenv("AIMAP_ETL_DURING_CRAWL", "many")
    with pytest.raises(ValueError, match="AIMAP_ETL_DURING_CRAWL must be an integer"):
        EtlDuringCrawl(2024)


# --------------------------------------------------------------------------- failure, gate, override, resume, next edition


@SQLITE_ONLY
def test_failure_gate_override_resume_and_next_edition(env_db, harness, tmp_path, monkeypatch, receiver):
    from flows.gate import GateFailed
    from flows.refresh import annual_refresh

    monkeypatch.setenv("AIMAP_CRAWL_DOMAIN_LIMIT", "4")
    monkeypatch.setenv("AIMAP_NOTIFY_WEBHOOK", receiver.url)
    manifest = make_world(tmp_path / "world")
    world = manifest.out_dir
    sources = tmp_path / "sources"
    shutil.copytree(manifest.sources_dir, sources)
    good = sorted(p.stem for p in sources.glob("*.yml"))
    broken = yaml.safe_load((sources / "demo-media.yml").read_text(encoding="utf-8"))
    dead = f"http://127.0.0.1:{closed_port()}"
    broken.update(name="demo-broken", start_urls=[f"{dead}/rss.xml"], feeds=[f"{dead}/rss.xml"],
                  sitemaps=[f"{dead}/sitemap.xml"], expected_min_documents=1)
    (sources / "demo-broken.yml").write_text(yaml.safe_dump(broken, allow_unicode=True), encoding="utf-8")
    crawlable = truth_documents(world)

    with serve(manifest.root) as server:
        # 1. one source fails: the others are crawled, the ETL runs, the gate stops before the analysis
        with pytest.raises(GateFailed) as failed:
            annual_refresh(2024, sources_dir=str(sources), base_url=server.base_url, charts=False, retries=1,
                           retry_delay_seconds=0.2)
        assert "sources_delivered" in str(failed.value) and "demo-broken" in str(failed.value)
        recorded = {r.parameters["step"]: r for r in steps(env_db, 2024)}
        assert all(recorded[f"crawl:{s}"].state == "completed" for s in good)
        assert recorded["crawl:demo-broken"].state == "failed"
        assert "SourceBelowMinimum" in recorded["crawl:demo-broken"].message
        assert recorded["etl"].state == "completed" and recorded["etl"].counts["documents"] == len(crawlable)
        assert recorded["gate"].state == "failed" and recorded["gate"].counts["failed"] == ["sources_delivered"]
        assert "analyze" not in recorded and not (tmp_path / "out" / "2024").exists()
        assert [r.state for r in runs(env_db, "annual-refresh")] == ["failed"]
        crawl_table = {r["source"]: r for r in artifact("crawl-2024")}
        assert crawl_table["demo-broken"]["state"] == "failed" and crawl_table["demo-broken"]["error"]
        assert crawl_table["demo-broken"]["failed_requests"] not in ("", 0)  # the crawl flow's own artifact too
        crawl_causes = artifact("crawl-causes-2024")
        assert "- **demo-broken** (FAILED)" in crawl_causes and dead.split("//")[1] in crawl_causes
        first = artifact("annual-refresh-2024")
        assert "edition 2024: failed at gate" in first
        # the root cause where the operator looks: the failed source's recorded reasons and its failed requests
        broken_row = next(line for line in first.splitlines() if line.startswith("| demo-broken |"))
        assert "**FAILED**" in broken_row and broken_row.split("|")[7].strip() not in ("", "0"), broken_row
        causes = first.split("### Root causes", 1)[1]
        assert "- **demo-broken** (FAILED)" in causes and " ×" in causes and dead.split("//")[1] in causes
        assert "**FAIL**" in first
        # one notification, for the top-level run
        assert len(receiver.bodies) == 1, receiver.bodies
        note = receiver.bodies[0]
        assert note["flow"] == "aimap-annual-refresh" and note["state"] == "Failed"
        assert "demo-broken" in note["message"] and note["parameters"]["edition_year"] == 2024

        # 2. the operator reads the gate and overrides it with a reason; the refresh resumes
        cli = CliRunner()
        shown = cli.invoke(app, ["gate", "show", "--edition", "2024"])
        assert shown.exit_code == 1 and "FAIL" in shown.output and "demo-broken" in shown.output
        assert cli.invoke(app, ["gate", "override", "--edition", "2023", "--reason", "x"]).exit_code == 1
        override = cli.invoke(app, ["gate", "override", "--edition", "2024", "--by", "ops", "--reason",
                                    "demo-broken is a dead mirror; the other sources cover it"])
        assert override.exit_code == 0, override.output
        resumed = cli.invoke(app, ["refresh", "--edition", "2024", "--sources", str(sources), "--base-url",
                                   server.base_url, "--no-charts", "--retries", "0"])
        assert resumed.exit_code == 0, resumed.output
        assert "report:" in resumed.output
        after = steps(env_db, 2024)
        for source in good:  # finished crawls were not redone
            assert [r.state for r in after if r.parameters["step"] == f"crawl:{source}"] == ["completed"]
        assert [r.state for r in after if r.parameters["step"] == "crawl:demo-broken"] == ["failed", "failed"]
        etl_passes = [r for r in after if r.parameters["step"] == "etl"]
        assert len(etl_passes) == 2 and etl_passes[1].counts["documents"] == 0
        gate = [r for r in after if r.parameters["step"] == "gate"][-1]
        assert gate.state == "completed" and gate.counts["overridden"] is True
        assert gate.counts["overrides"][0]["by"] == "ops"
        crawled = [r.parameters["source"] for r in runs(env_db, "crawl")]
        assert sorted(crawled) == sorted(good + ["demo-broken"] * 3)  # 2 attempts, then 1: only it was redone
        published = json.loads((tmp_path / "out" / "2024" / "MANIFEST.json").read_text(encoding="utf-8"))
        assert published["gate"]["overridden"] is True
        assert "dead mirror" in published["gate"]["overrides"][0]["reason"]
        assert any(r["result"] == "overridden" for r in artifact("gate-2024"))
        # runs named by what they do, tagged with edition and database; the published override stands out
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            flow_runs = client.read_flow_runs()
        mine = f"db:{safe_url(env_db)}"  # the harness's server is shared by the session: this test's runs only
        refreshes = [r for r in flow_runs if r.name == "annual-refresh-2024" and mine in r.tags]
        assert sorted(r.state.name for r in refreshes) == ["Failed", "Overridden"], [r.state for r in refreshes]
        assert all("edition:2024" in r.tags and any(t.startswith("db:sqlite") for t in r.tags) for r in refreshes)
        assert {"gate-2024", "etl-2024", "publish-2024"} <= {r.name for r in flow_runs}
        assert any(r.name.startswith("crawl-demo-broken-2024-") for r in flow_runs)
        headline = artifact("annual-refresh-2024").splitlines()[0]
        assert "OVERRIDDEN" in headline and "dead mirror" in headline and "ops" in headline
        assert "overridden" in resumed.output.lower()
        assert len(receiver.bodies) == 1  # the resumed run succeeded: no new notification
        table_2024 = table1_csv(tmp_path / "out" / "2024")

    # 3. a year later: the world has one more year; the 2025 refresh fetches and processes only what is new
    (sources / "demo-broken.yml").unlink()
    step_world(world)
    crawlable_2025 = truth_documents(world)
    new = set(crawlable_2025) - set(crawlable)
    kept = set(crawlable_2025) & set(crawlable)  # (portals drop their oldest pages)
    assert new and kept
    with serve(manifest.root) as server:
        result = annual_refresh(2025, sources_dir=str(sources), base_url=server.base_url, charts=False)
    assert result["ran"] == ["crawl", "etl", "gate", "analyze", "publish"]
    crawl_table = artifact("crawl-2025")
    assert sum(r["documents_new"] for r in crawl_table) == len(new)
    assert sum(r["documents_changed"] for r in crawl_table) == 0
    assert sum(r["documents_not_modified"] for r in crawl_table) == len(kept)
    assert artifact("etl-2025")[0]["documents"] == len(new)
    rows = table1_csv(tmp_path / "out" / "2025")
    assert sorted(rows) == list(range(2014, 2025))
    for year in range(2014, 2024):  # the earlier years did not change
        assert {k: rows[year][k] for k in ("sample_nodes", "nodes", "edges")} == \
            {k: table_2024[year][k] for k in ("sample_nodes", "nodes", "edges")}, year
    check_table1(rows, truth_nodes(world, range(2024, 2025)))
    assert (tmp_path / "out" / "LATEST").read_text().strip() == "2025"
    gate = {r["check"]: r for r in artifact("gate-2025")}
    assert "as published" in gate["sample_firms_kept"]["detail"]


# --------------------------------------------------------------------------- ETL on Dask


def _state(db_url: str) -> dict[str, list[tuple]]:
    """Every row the ETL writes, without timestamps and run ids."""
    from sqlalchemy import text

    queries = {
        "organisations": "select id, name, kind, is_sample, origin, province_code from organisations order by id",
        "aliases": "select id, organisation_id, name, kind from aliases order by id",
        "events": "select id, event_key, provider_id, receiver_id, kind, direction, status, year, event_date, "
                  "terminated_on from cooperation_events order by id",
        "mentions": "select event_id, document_id, extractor_version, confidence, sentence from mentions "
                    "order by event_id, document_id",
        "tech": "select event_id, category_code from event_tech_categories order by 1, 2",
        "domains": "select event_id, domain_code from event_application_domains order by 1, 2",
        "documents": "select id, extracted_sha256, extractor_version from documents order by id",
        "quarantine": "select location, reason from pipeline_errors where stage = 'etl' order by location",
    }
    engine = make_engine(db_url)
    with engine.connect() as conn:
        out = {k: [tuple(r) for r in conn.execute(text(q))] for k, q in queries.items()}
    engine.dispose()
    return out


@SQLITE_ONLY
def test_etl_flow_on_dask_gives_the_same_database(env_db, harness, tmp_path, monkeypatch):
    from crawlers.run import run_crawl
    from etl.load import pending_documents, run_etl_ids
    from flows.etl import run_etl_flow, stop_between_waves

    manifest = make_world(tmp_path / "world")
    with serve(manifest.root) as server:
        run_crawl("demo-newsrooms", sources_dir=manifest.sources_dir, base_url=server.base_url)
    template = Path(env_db.removeprefix("sqlite:///"))
    import sqlite3

    from db.session import _cached_engine

    _cached_engine.cache_clear()
    with sqlite3.connect(template) as conn:  # everything into the main file before copying it
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    urls = {}
    for name in ("threads", "dask", "serial", "stopped"):
        copy = tmp_path / name / "aimap.db"
        copy.parent.mkdir()
        shutil.copy(template, copy)
        urls[name] = f"sqlite:///{copy}"
    batch, wave = 10, 3  # several waves of several batches

    monkeypatch.setenv("DATABASE_URL", urls["threads"])
    threads = run_etl_flow(batch_size=batch, wave_batches=wave)
    monkeypatch.setenv("DATABASE_URL", urls["dask"])
    monkeypatch.setenv("AIMAP_DASK_ADDRESS", "local")
    monkeypatch.setenv("AIMAP_DASK_WORKERS", "2")
    on_dask = run_etl_flow(batch_size=batch, wave_batches=wave)
    monkeypatch.delenv("AIMAP_DASK_ADDRESS")
    # a pass asked to stop (the refresh's pass beside its crawl, once the crawl ended) ends after its
    # first wave; the next pass takes the rest
    monkeypatch.setenv("DATABASE_URL", urls["stopped"])

    def stopped_pass() -> dict:
        stop_between_waves(lambda: True)  # in this copied context only
        return run_etl_flow(batch_size=batch, wave_batches=wave)

    first = contextvars.copy_context().run(stopped_pass)
    rest = run_etl_flow(batch_size=batch, wave_batches=wave)
    assert first["documents"] == batch * wave and rest["documents"] == threads["documents"] - batch * wave
    # the plain serial code over the same waves
    engine = make_engine(urls["serial"])
    with session_factory(engine)() as session:
        ids = pending_documents(session)
        for start in range(0, len(ids), batch * wave):
            run_etl_ids(session, ids[start:start + batch * wave], batch_size=batch)
    engine.dispose()

    assert threads["documents"] > 3 * batch * 2 and threads["events_new"] > 0
    assert {k: v for k, v in on_dask.items() if k not in ("run_id", "errors")} == \
        {k: v for k, v in threads.items() if k not in ("run_id", "errors")}
    reference = _state(urls["serial"])
    assert _state(urls["threads"]) == reference
    assert _state(urls["dask"]) == reference
    assert _state(urls["stopped"]) == reference
    dask_run = [r for r in runs(urls["dask"], "etl")][-1]
    assert dask_run.parameters["runner"] == "local" and dask_run.state == "completed"


# --------------------------------------------------------------------------- deployments, notifications, gate file


def test_deployments_are_declared_once_in_prefect_yaml():
    from flows.deployments import build_deployments, load_specs

    pool, specs = load_specs()
    declared = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    assert pool == "aimap-pool"
    assert not (ROOT / "flows" / "deployments.yml").exists()  # one home for the schedules
    by_name = {d["name"]: d for d in declared["deployments"]}
    assert [s.name for s in specs] == list(by_name)
    for spec in specs:
        d = by_name[spec.name]
        assert d["entrypoint"] == spec.entrypoint and d["work_pool"]["name"] == pool
        assert [(s["cron"], s["timezone"]) for s in d["schedules"]] == ([(spec.cron, spec.timezone)] if spec.cron else [])
        assert (ROOT / spec.entrypoint.split(":")[0]).exists()
    crons = {s.name: s.cron for s in specs}
    assert crons["annual-refresh"].split()[3] == "1"  # January
    assert crons["weekly-update"].split()[2:4] == ["*", "*"] and crons["weekly-update"].split()[4] != "*"
    built = {d.name: d for d in build_deployments()}
    assert built["annual-refresh"].flow_name == "aimap-annual-refresh"
    schedule = built["annual-refresh"].schedules[0].schedule
    assert schedule.cron == crons["annual-refresh"] and schedule.timezone == "Asia/Shanghai"
    assert built["crawl"].schedules == [] and built["weekly-update"].flow_name == "aimap-weekly-update"
    # the compose worker polls the pool the deployments are registered on
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert f"--pool {pool}" in compose["services"]["aimap-worker"]["command"][2]


def test_a_deployment_with_two_schedules_or_two_pools_is_refused(tmp_path):
    from flows.deployments import DeploymentSpecError, load_specs

    entry = "  - {name: %s, entrypoint: 'flows/crawl.py:crawl_flow', work_pool: {name: %s}, schedules: %s}\n"
    two_crons = tmp_path / "two-crons.yaml"
    two_crons.write_text("deployments:\n" + entry % ("a", "p", "[{cron: '0 1 * * *'}, {cron: '0 2 * * *'}]"))
    with pytest.raises(DeploymentSpecError, match="at most one cron schedule"):
        load_specs(two_crons)
    two_pools = tmp_path / "two-pools.yaml"
    two_pools.write_text("deployments:\n" + entry % ("a", "p", "[]") + entry % ("b", "q", "[]"))
    with pytest.raises(DeploymentSpecError, match="one work pool"):
        load_specs(two_pools)


def test_aimap_deploy_registers_every_deployment_on_the_pool(harness):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    from flows.deployments import load_specs

    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name="aimap-test-pool", type="process"), overwrite=True)
    path = list(sys.path)
    out = CliRunner().invoke(app, ["deploy", "--pool", "aimap-test-pool"])
    assert out.exit_code == 0, out.output
    # loading the entrypoints left no folder on sys.path (flows/etl.py would shadow the etl package for
    # processes started later in this process, e.g. an extraction pool's workers)
    assert sys.path == path
    _pool, specs = load_specs()
    with get_client(sync_client=True) as client:
        found = {d.name: d for d in client.read_deployments() if d.work_pool_name == "aimap-test-pool"}
    assert set(found) == {s.name for s in specs}
    annual = found["annual-refresh"]
    assert annual.schedules[0].schedule.cron == "0 2 15 1 *"
    assert annual.schedules[0].schedule.timezone == "Asia/Shanghai"
    assert annual.entrypoint == "flows/refresh.py:annual_refresh"


def test_failure_notification_through_a_prefect_block(harness, receiver, monkeypatch):
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    from flows.notify import notify_failure

    CustomWebhookNotificationBlock(name="aimap-ops", url=receiver.url, allow_private_urls=True,
                                   json_data={"text": "{{subject}}: {{body}}"}).save("aimap-ops", overwrite=True)
    monkeypatch.setenv("AIMAP_NOTIFY_BLOCK", "custom-webhook/aimap-ops")
    monkeypatch.delenv("AIMAP_NOTIFY_WEBHOOK", raising=False)

    class Run:
        id, name, parameters, parent_task_run_id, deployment_id = "r1", "brave-run", {"edition_year": 2024}, None, None

    class State:
        name, message = "Failed", "gate failed: sources_delivered"

    class Flow:
        name = "aimap-annual-refresh"

    notify_failure(Flow(), Run(), State())
    assert len(receiver.bodies) == 1 and "gate failed" in receiver.bodies[0]["text"]
    Run.parent_task_run_id = "parent"  # a subflow: its parent notifies
    notify_failure(Flow(), Run(), State())
    assert len(receiver.bodies) == 1


def test_checks_file_is_validated(tmp_path):
    from analysis.quality import CHECKS, GateError, load_checks

    version, entries = load_checks()
    assert version >= 1 and {e["name"] for e in entries} == set(CHECKS)
    bad = tmp_path / "checks.yml"
    bad.write_text("version: 1\nchecks:\n  - name: nonsense\n  - name: yoy_nodes\n    min_change: x\n", encoding="utf-8")
    with pytest.raises(GateError) as err:
        load_checks(bad)
    assert "unknown name 'nonsense'" in str(err.value) and "'min_change' must be a number" in str(err.value)


@SQLITE_ONLY
def test_scheduled_crawl_reports_an_invalid_source_file_and_crawls_the_others(env_db, harness, tmp_path):
    """Issue 14 finding 6: one broken source file is a failed source with its reason; the others crawl."""
    from flows.crawl import crawl_flow  # as the other flow tests: imported where the harness runs

    site = tmp_path / "site"
    site.mkdir()
    (site / "robots.txt").write_text("User-agent: *\n")
    (site / "index.html").write_text('<html><body><a class="i" href="/a.html">a</a></body></html>')
    (site / "a.html").write_text('<html lang="zh-CN"><body><h1>甲</h1><div class="b"><p>甲公司与乙大学合作。</p></div>'
                                 "</body></html>", encoding="utf-8")
    sources = tmp_path / "sources"
    sources.mkdir()
    good = ("name: {n}\nkind: newsroom\nenabled: true\nstart_urls: ['{{base_url}}/index.html']\n"
            "allowed_domains: ['127.0.0.1']\nlist: {{items: 'a.i::attr(href)'}}\narticle: {{title: ['h1::text'], "
            "body: 'div.b p'}}\npoliteness: {{download_delay: 0.0}}\n")
    (sources / "good.yml").write_text(good.format(n="good"), encoding="utf-8")
    (sources / "broken.yml").write_text(good.format(n="broken").replace("politeness", "politness"), encoding="utf-8")
    with serve(site) as server:
        state = crawl_flow(None, str(sources), server.base_url, retries=0, return_state=True)
    assert state.is_failed() and "broken: invalid source file, skipped" in state.message
    assert "unknown field 'politness'" in state.message
    with session_scope(make_engine(env_db)) as s:
        crawled = [r.parameters["source"] for r in s.scalars(select(PipelineRun).where(PipelineRun.flow == "crawl"))]
    assert crawled == ["good"]
