"""Crawling the demo world (tiny preset) with every spider kind, against its ground truth:
coverage of crawlable documents, no duplicates, injected faults recorded, GBK decoded, exchange
financials, conditional re-crawls, and kill-and-resume."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crawlers.run import CrawlError, run_crawl
from db.models import Document, FirmFinancials, Organisation, PipelineError, PipelineRun, Source
from db.session import make_engine, session_factory
from demosite.render import render_site
from demosite.server import serve
from demosite.world import build_world
from etl.registry import import_registry

CANONICAL = "http://demo-site.aimap.test"


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world")
    render_site(build_world(seed=7, preset="tiny"), out)
    return out


def _truth(world_dir: Path) -> list[dict]:
    lines = (world_dir / "truth" / "documents.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _import_firms(db_url: str, world_dir: Path) -> None:
    engine = make_engine(db_url)
    with session_factory(engine)() as s:
        import_registry(s, world_dir / "firms.csv")
        s.commit()
    engine.dispose()


def _crawl_all(db_url: str, world_dir: Path, base_url: str) -> dict[str, dict]:
    results = {}
    for path in sorted((world_dir / "sources").glob("*.yml")):
        result = run_crawl(path.stem, sources_dir=world_dir / "sources", base_url=base_url, db_url=db_url,
                           extra_settings={"RETRY_TIMES": "3", "DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False"})
        results[path.stem] = result.counts | {"by_status": result.status_counts, "finish": result.finish_reason}
    return results


def test_full_crawl_matches_truth_then_recrawl_is_conditional(env_db, world_dir):
    db_url = env_db
    truth = _truth(world_dir)
    expected = {CANONICAL + d["url"] for d in truth if d["crawlable"] and d["fault"] not in ("gone", "broken")}
    dead = {CANONICAL + d["url"] for d in truth if d["crawlable"] and d["fault"] in ("gone", "broken")}
    _import_firms(db_url, world_dir)
    with serve(world_dir) as server:
        first = _crawl_all(db_url, world_dir, server.base_url)
        engine = make_engine(db_url)
        with session_factory(engine)() as s:
            stored = list(s.scalars(select(Document.canonical_url)))
            assert len(stored) == len(set(stored))  # no duplicate documents
            assert set(stored) == expected  # 100% of crawlable documents, nothing else (robots obeyed)
            errors = {(e.kind, e.location.replace(server.base_url, CANONICAL))
                      for e in s.scalars(select(PipelineError).where(PipelineError.stage == "crawl"))}
            assert {loc for _, loc in errors} >= dead  # every dead page recorded
            assert all(kind == "http_error" for kind, loc in errors if loc in dead)
            gov = s.scalars(select(Document).join(Source).where(Source.name == "demo-gov")).all()
            assert gov and all("\ufffd" not in d.text for d in gov)  # GBK/GB2312, wrong meta: decoded
            by_url = {CANONICAL + d["url"]: d for d in truth}
            for doc in gov:
                assert doc.title == by_url[doc.canonical_url]["title"]
            reports = [d for d in truth if d["kind"] == "annual_report" and d["fault"] not in ("gone", "broken")]
            assert reports
            for report in reports:  # the exchange's annual-report figures are in firm_financials
                code, year = report["url"].split("/")[3], int(report["url"].rsplit("/", 1)[1][:4])
                revenue = int(re.search(r"营业收入：([\d,]+)", report["text"]).group(1).replace(",", ""))
                row = s.scalars(select(FirmFinancials).join(Organisation).where(
                    Organisation.stock_code == code, FirmFinancials.fiscal_year == year)).one()
                assert row.revenue_cny == revenue and row.document_id is not None
        engine.dispose()
        assert all(r["finish"] == "finished" for r in first.values())

        second = _crawl_all(db_url, world_dir, server.base_url)
        not_modified = sum(r["documents_not_modified"] for r in second.values())
        assert not_modified == len(expected)  # no unchanged page body fetched again
        assert sum(r["documents_new"] + r["documents_changed"] for r in second.values()) == 0


def test_kill_and_resume_gives_the_same_documents(env_db, world_dir, tmp_path):
    db_url = env_db
    truth = _truth(world_dir)
    expected = {CANONICAL + d["url"] for d in truth
                if d["source"] == "demo-newsrooms" and d["crawlable"] and d["fault"] not in ("gone", "broken")}
    killed = {}

    def kill_when_half_done(proc):
        killed["proc"] = proc

    with serve(world_dir) as server:
        slow = {"DOWNLOAD_DELAY": "0.02", "AUTOTHROTTLE_ENABLED": "False", "CONCURRENT_REQUESTS": "2",
                "AIMAP_DB_BATCH_SIZE": "7"}

        def progress(done: int) -> None:
            if done >= 40 and "proc" in killed and killed["proc"].poll() is None:
                killed["proc"].kill()  # SIGKILL mid-crawl
                killed["at"] = done

        with pytest.raises(CrawlError, match="exit -9"):
            run_crawl("demo-newsrooms", sources_dir=world_dir / "sources", base_url=server.base_url,
                      db_url=db_url, extra_settings=slow, progress=progress, on_start=kill_when_half_done)
        assert "at" in killed
        engine = make_engine(db_url)
        with session_factory(engine)() as s:
            partial = s.scalar(select(func.count()).select_from(Document))
        assert 0 < partial < len(expected)
        time.sleep(0.1)
        second = run_crawl("demo-newsrooms", sources_dir=world_dir / "sources", base_url=server.base_url,
                           db_url=db_url, extra_settings=slow)
        assert second.finish_reason == "finished" and second.counts["resumed_requests"] > 0
        with session_factory(engine)() as s:
            stored = list(s.scalars(select(Document.canonical_url)))
            states = [r.state for r in s.scalars(select(PipelineRun).order_by(PipelineRun.id))]
        engine.dispose()
        assert len(stored) == len(set(stored))
        assert set(stored) == expected, (sorted(set(stored) - expected), sorted(expected - set(stored)))
        assert states == ["interrupted", "completed"]
