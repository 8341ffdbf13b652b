"""The shipped real source files crawled end to end by a real Scrapy engine against the demo web, with
only a host mapping (--base-url): cninfo (stock list, POST query with paging, PDFs on the static host)
and provincial portals (robots.txt -> sitemaps, trafilatura). Checked against the demo world's truth:
every cooperation announcement stored with its PDF text or recorded with its fault; the pre-filter skips
>= 90% of the other announcements, counted by reason; an annual-report summary feeds firm_financials; a
second crawl downloads no stored PDF again; documents are stored under their real URLs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from crawlers.run import CrawlError, delivered, run_crawl, skipped_by_reason
from crawlers.sources import SOURCES_DIR as SOURCES
from db.models import Document, FirmFinancials, PipelineError, PipelineRun
from db.session import make_engine, session_factory
from demosite.render import render_site
from demosite.server import serve
from demosite.world import build_world
from etl.registry import import_registry

FAST = {"DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False", "RETRY_TIMES": "1",
        "CONCURRENT_REQUESTS_PER_DOMAIN": "8", "AIMAP_ALLOWED_HOSTS": "127.0.0.1"}  # nothing but the demo web
FAULT_KINDS = {"scanned": "pdf_scanned", "empty": "pdf_empty", "encrypted": "pdf_encrypted", "truncated": "truncated"}


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world15")
    render_site(build_world(seed=7, preset="tiny"), out)
    return out


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _stored(db_url: str) -> tuple[dict[str, Document], dict[str, list[PipelineError]], list[FirmFinancials]]:
    engine = make_engine(db_url)
    with session_factory(engine)() as s:
        docs = {d.canonical_url: d for d in s.scalars(select(Document))}
        errors: dict[str, list[PipelineError]] = {}
        for e in s.scalars(select(PipelineError)):
            errors.setdefault(e.location, []).append(e)
        financials = list(s.scalars(select(FirmFinancials)))
        s.expunge_all()
    engine.dispose()
    return docs, errors, financials


@pytest.mark.e2e
def test_cninfo_sources_end_to_end_against_the_demo_web(env_db: str, world_dir: Path):
    engine = make_engine(env_db)
    with session_factory(engine)() as s:
        import_registry(s, world_dir / "firms.csv")
        s.commit()
    engine.dispose()
    truth = [a for a in _jsonl(world_dir / "truth" / "announcements.jsonl") if a["source"] == "cninfo"]
    names = ["cninfo-sse"]  # the tiny world's listed firm is on SSE (the szse/bj files differ only in data)
    with serve(world_dir) as site:
        first = {n: run_crawl(n, base_url=site.base_url, db_url=env_db, resumable=False, extra_settings=FAST)
                 for n in names}
        docs, errors, financials = _stored(env_db)
        second = {n: run_crawl(n, base_url=site.base_url, db_url=env_db, resumable=False, extra_settings=FAST)
                  for n in names}

    assert all(r.finish_reason == "finished" for r in [*first.values(), *second.values()])
    relevant = [a for a in truth if a["relevant"]]
    assert relevant, "the demo world has cooperation announcements on cninfo"
    for a in relevant:  # every cooperation announcement: stored with its PDF text, or its fault recorded
        if a["fault"] is None:
            doc = docs.get(a["url"])
            assert doc is not None, f"cooperation announcement not stored: {a['url']} {a['title']}"
            assert doc.url == a["url"] and doc.raw_gz and len(doc.text) > 20 and doc.published_on.isoformat() == a["date"]
            assert doc.text.startswith(f"证券代码：{a['code']}")  # the header kept once at the head of the text
            assert doc.meta and doc.meta["stock_code"] == a["code"]  # ... and as metadata
        else:
            kinds = {e.kind for e in errors.get(a["url"], [])}
            assert FAULT_KINDS[a["fault"]] in kinds, f"{a['url']} ({a['fault']}) recorded as {kinds}"
            assert all(e.reason for e in errors[a["url"]])
    healthy = [a for a in truth if a["fault"] is None and (a["relevant"] or a["financials"])]
    assert sum(1 for a in healthy if a["url"] in docs) >= 0.99 * len(healthy)
    others = [a for a in truth if not a["relevant"] and not a["financials"]]
    downloaded = [a for a in others if a["url"] in docs or a["url"] in errors]
    assert len(downloaded) <= 0.10 * len(others), [a["title"] for a in downloaded]
    sse = first["cninfo-sse"]
    reasons = skipped_by_reason(sse.stats)
    assert sum(reasons.values()) == sse.counts["prefilter_skipped"] >= len(others) - len(downloaded)
    assert reasons.get("exclude:股东大会", 0) > 0
    assert sse.counts["prefilter_listed"] == sum(1 for a in truth if a["exchange"] == "SSE")
    summaries = [a for a in truth if a["financials"] and a["fault"] is None]
    assert {f.document_id for f in financials} >= {docs[a["url"]].id for a in summaries}
    # second crawl: every stored PDF answered 304 (conditional request), none downloaded or parsed again
    again = second["cninfo-sse"].counts
    assert again["documents_new"] == again["documents_changed"] == again["pdf_pages"] == 0
    assert again["documents_not_modified"] == sum(1 for d in docs.values() if "static.cninfo.com.cn" in d.url)


@pytest.mark.e2e
@pytest.mark.parametrize("empty_db_url", ["sqlite"], indirect=True)  # engine-neutral: one engine
def test_daily_request_budget_stops_a_crawl_and_the_next_one_waits(env_db: str, world_dir: Path, tmp_path: Path):
    text = (SOURCES / "cninfo-sse.yml").read_text(encoding="utf-8").replace("daily_request_budget: 3000",
                                                                            "daily_request_budget: 6")
    (tmp_path / "cninfo-sse.yml").write_text(text, encoding="utf-8")
    with serve(world_dir) as site:
        result = run_crawl("cninfo-sse", sources_dir=tmp_path, base_url=site.base_url, db_url=env_db,
                           resumable=False, extra_settings={**FAST, "AIMAP_STOCKS": "all"})
        assert result.finish_reason == "closespider_pagecount" and result.counts["responses"] <= 6 + 8
        with pytest.raises(CrawlError, match="daily request budget \\(6\\) is used up today"):
            run_crawl("cninfo-sse", sources_dir=tmp_path, base_url=site.base_url, db_url=env_db, resumable=False,
                      extra_settings=FAST)
    engine = make_engine(env_db)
    with session_factory(engine)() as s:
        run = s.scalars(select(PipelineRun).where(PipelineRun.id == result.run_id)).one()
        assert run.state == "interrupted" and "daily request budget" in run.message
    engine.dispose()


@pytest.mark.e2e
@pytest.mark.parametrize("empty_db_url", ["sqlite"], indirect=True)  # engine-neutral: one engine
def test_site_kind_finds_articles_through_robots_sitemaps_list_pages_and_feeds(env_db: str, world_dir: Path,
                                                                              tmp_path: Path):
    """The shipped portal file (robots.txt -> sitemaps) finds every article of its host, stored under its real
    URL; a site is a few lines of YAML: the same articles through the plain list page, and through the feeds."""
    common = "kind: site\nallowed_domains: [www.zj.gov.cn]\nlanguage: zh\npoliteness: {daily_request_budget: 500}\n"
    (tmp_path / "zj-list.yml").write_text(f"name: zj-list\n{common}list_pages: [https://www.zj.gov.cn/news/]\n")
    (tmp_path / "zj-feeds.yml").write_text(
        f"name: zj-feeds\n{common}feeds: [https://www.zj.gov.cn/feed.xml, https://www.zj.gov.cn/atom.xml]\n")
    truth = {d["url"] for d in _jsonl(world_dir / "truth" / "host_documents.jsonl") if d["host"] == "www.zj.gov.cn"}
    with serve(world_dir) as site:
        shipped = run_crawl("portal-zhejiang", base_url=site.base_url, db_url=env_db, resumable=False,
                            extra_settings=FAST)
        results = {n: run_crawl(n, sources_dir=tmp_path, base_url=site.base_url, db_url=env_db, resumable=False,
                                extra_settings=FAST) for n in ("zj-list", "zj-feeds")}
    docs, _errors, _ = _stored(env_db)
    assert truth and truth <= set(docs) and shipped.counts["documents_new"] == len(truth)
    assert all(docs[u].title and len(docs[u].text) > 20 for u in truth)
    assert all(url.startswith("https://") and "127.0.0.1" not in url for url in docs)
    # the other two sources deliver the same articles (already stored: unchanged)
    assert delivered(results["zj-list"].counts) == delivered(results["zj-feeds"].counts) == len(truth)
    assert results["zj-list"].counts["errors"] == results["zj-feeds"].counts["errors"] == 0
