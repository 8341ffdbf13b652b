"""The cheaper per-page crawl path (issue 17) gives what the previous path gave.

- main text by one compiled XPath per body node equals parsel's per-node ``::text`` selectors, on
  hand-written edge cases and on every article page of a generated demo world;
- the item pipeline's batched lookup of stored documents (one query per batch instead of one
  ``SELECT`` and autoflush per item) writes the same rows, also when one batch holds the same page
  twice (new, then changed);
- AutoThrottle is off only for crawls whose every request stays on a loopback address;
- a crawl on the fast path (``CONCURRENT_ITEMS`` 4, batched lookup, XPath text) and one on the
  previous path (``AIMAP_CRAWL_FAST_PATH=False``, ``CONCURRENT_ITEMS=100``) store the same documents.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler
from sqlalchemy import select

from crawlers.hostmap import host_map_from
from crawlers.items import DocumentItem
from crawlers.pipelines import DatabasePipeline
from crawlers.run import PROFILE_ENV, crawl_command, loopback_only, run_crawl
from crawlers.sources import list_sources, load_source
from crawlers.textutil import main_text
from db.bootstrap import prepare_database
from db.models import Document, DocumentVersion
from db.session import make_engine, session_factory
from demosite.render import render_site
from demosite.server import serve
from demosite.world import build_world
from tests.test_crawl import _site, _sources

EDGE_CASES = [
    ('<div class="b"><p>甲<b>乙</b>丙<!-- 注释 -->丁</p><p>  </p><p>二\u3000段<br>换行</p></div>', "div.b p"),
    ('<div class="b"><p>a<span> b <i>c</i></span>\n\t d</p><script>x=1</script></div>', "div.b"),
    ('<article><p>one</p><div><p>nested <a href="#">link</a> tail</p></div></article>', "article p"),
    ('<div class="b"><p>text nodes</p><p>selected</p></div>', "div.b p::text"),
    ('<div class="b"></div>', "div.b p"),
]


def _response(html: str, url: str = "http://127.0.0.1/a.html") -> HtmlResponse:
    return HtmlResponse(url=url, body=f"<html><body>{html}</body></html>".encode(), encoding="utf-8")


@pytest.mark.parametrize(("html", "css"), EDGE_CASES)
def test_selector_text_equals_previous_path(html: str, css: str) -> None:
    response = _response(html)
    assert main_text(response, css, fast=True) == main_text(response, css, fast=False)


def test_selector_text_on_a_generated_world(tmp_path: Path) -> None:
    """Every article page of the tiny world, read with its source's body selector, gives the same text."""
    manifest = render_site(build_world(seed=7, preset="tiny"), tmp_path / "world")
    checked = 0
    for cfg in list_sources(manifest.out_dir / "sources"):
        body = cfg.article.get("body")
        if not body or body == "auto":
            continue
        for page in sorted(manifest.root.rglob("*.htm*")):
            raw = page.read_bytes()
            response = HtmlResponse(url="http://127.0.0.1/" + page.name, body=raw)
            fast = main_text(response, body, fast=True)
            if fast:
                checked += 1
            assert fast == main_text(response, body, fast=False), page
    assert checked > 50  # the world's articles were really read


def _item(url: str, text: str) -> DocumentItem:
    return DocumentItem(source="demo-newsrooms", url=url, request_url=url, canonical_url=url, http_status=200,
                        title="t", text=text, published_on=None, language="zh", encoding="utf-8",
                        raw=text.encode(), etag=None, last_modified=None)


def _rows(db_url: str) -> tuple[list[tuple], list[tuple]]:
    engine = make_engine(db_url)
    with session_factory(engine)() as s:
        docs = [(d.canonical_url, d.version, d.text, d.content_sha256)
                for d in s.scalars(select(Document).order_by(Document.canonical_url))]
        versions = [(v.document_id, v.version, v.text)
                    for v in s.scalars(select(DocumentVersion).order_by(DocumentVersion.id))]
    engine.dispose()
    return docs, versions


@pytest.mark.parametrize("fast", [True, False])
def test_batched_lookup_handles_a_page_twice_in_one_batch(env_db: str, fast: bool) -> None:
    crawler = get_crawler(settings_dict={"AIMAP_CRAWL_FAST_PATH": fast, "AIMAP_DB_BATCH_SIZE": 100})
    pipeline = DatabasePipeline(crawler, batch_size=100)
    assert pipeline.batched_lookup is fast
    for item in (_item("http://x.test/a", "甲"), _item("http://x.test/b", "乙")):
        pipeline.process_item(item)
    pipeline.flush()
    # one batch: a stored page changed, a new page, then the new page again (changed) and unchanged
    for item in (_item("http://x.test/a", "甲二"), _item("http://x.test/c", "丙"), _item("http://x.test/c", "丙二"),
                 _item("http://x.test/b", "乙")):
        pipeline.process_item(item)
    pipeline.flush()
    stats = crawler.stats.get_stats()
    assert stats["aimap/documents/new"] == 3 and stats["aimap/documents/changed"] == 2
    assert stats["aimap/documents/unchanged"] == 1
    docs, versions = _rows(env_db)
    assert [(url, version, text) for url, version, text, _ in docs] == [
        ("http://x.test/a", 2, "甲二"), ("http://x.test/b", 1, "乙"), ("http://x.test/c", 2, "丙二")]
    assert [(version, text) for _, version, text in versions] == [(1, "甲"), (1, "丙")]


def test_fast_and_previous_path_store_the_same_documents(env_db: str, tmp_path: Path) -> None:
    sources = _sources(tmp_path / "sources")
    root = _site(tmp_path / "site")
    second = f"sqlite:///{tmp_path / 'previous.db'}"  # the previous path's crawl, beside the engine under test
    prepare_database(make_engine(second))
    with serve(root) as server:
        fast = run_crawl("demo-newsrooms", sources_dir=sources, base_url=server.base_url, db_url=env_db)
        previous = run_crawl("demo-newsrooms", sources_dir=sources, base_url=server.base_url, db_url=second,
                             extra_settings={"AIMAP_CRAWL_FAST_PATH": "False", "CONCURRENT_ITEMS": "100"})
    assert fast.counts["documents_new"] == previous.counts["documents_new"] == 3
    assert fast.stats.get("aimap/errors/recorded") == previous.stats.get("aimap/errors/recorded")
    assert _rows(env_db)[0] == _rows(second)[0]


def test_profile_env_runs_the_crawl_child_under_cprofile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = load_source("demo-newsrooms", _sources(tmp_path / "sources"))
    stats = tmp_path / "stats.json"
    plain = crawl_command(cfg, run_id=7, stats_file=stats, base_url="http://127.0.0.1:1")
    assert plain[1:3] == ["-m", "scrapy"]
    monkeypatch.setenv(PROFILE_ENV, str(tmp_path / "prof"))
    profiled = crawl_command(cfg, run_id=7, stats_file=stats, base_url="http://127.0.0.1:1")
    assert profiled[1:5] == ["-m", "cProfile", "-o", str(tmp_path / "prof" / "demo-newsrooms-7.prof")]
    assert profiled[5:] == plain[1:] and (tmp_path / "prof").is_dir()


def test_autothrottle_off_only_when_every_request_stays_on_loopback(tmp_path: Path) -> None:
    demo = load_source("demo-newsrooms", _sources(tmp_path / "sources"))
    real = load_source("newsroom-huawei")
    stats = tmp_path / "stats.json"
    assert loopback_only(demo, "http://127.0.0.1:8765", host_map_from("http://127.0.0.1:8765", {}))
    assert loopback_only(real, "http://localhost:8765", host_map_from("http://localhost:8765", {}))
    mirror = host_map_from(None, {"AIMAP_CRAWL_HOSTS": '{"*": "https://mirror.example.org"}'})
    assert not loopback_only(real, None, mirror)  # a mapped remote mirror keeps AutoThrottle
    assert not loopback_only(real, None, {})  # the real site
    assert "AUTOTHROTTLE_ENABLED=False" in crawl_command(demo, run_id=1, stats_file=stats,
                                                         base_url="http://127.0.0.1:8765")
    assert "AUTOTHROTTLE_ENABLED=False" not in " ".join(crawl_command(real, run_id=1, stats_file=stats))
