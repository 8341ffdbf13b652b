"""The newsroom spider, run as a real Scrapy process against a site served on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from crawlers.run import run_crawl
from crawlers.sources import SourceError, load_source
from crawlers.textutil import canonical_url, parse_date
from db.models import Document, DocumentVersion, PipelineError, PipelineRun, Source
from db.session import make_engine, session_factory
from demosite.server import serve

ARTICLE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1 class="article-title">{title}</h1><span class="pub-date">{date}</span>
<div class="article-body"><p>{body}</p></div></body></html>"""
LIST = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"></head><body>
<ul class="news-list">{items}</ul>{next}</body></html>"""


# The newsroom source of the fixture site below (its own layout: hub links to /news/, three date formats).
NEWSROOM_SOURCE = """\
# The corporate newsrooms of the test site (served on 127.0.0.1); {base_url} is filled in at crawl time.
name: demo-newsrooms
kind: newsroom
publisher: aimap demo web (generated corporate newsrooms)
start_urls:
  - "{base_url}/"
allowed_domains: ["127.0.0.1", "localhost"]
canonical_base_url: "http://demo-site.aimap.test"
follow:
  # links from hub pages (the site index) to each firm's newsroom
  hubs: 'a[href*="/news/"]::attr(href)'
list:
  items: "ul.news-list li.news-item a::attr(href)"
  next: "a.next::attr(href)"
article:
  title: ["h1.article-title::text", "title::text"]
  published: ["span.pub-date::text", 'meta[name="pubdate"]::attr(content)']
  body: "div.article-body p"
date_formats: ["%Y-%m-%d", "%Y年%m月%d日", "%Y/%m/%d"]
language: zh
politeness:
  download_delay: 0.0
  concurrent_requests_per_domain: 4
expected_min_documents: 10
"""


def _sources(root: Path) -> Path:
    """A sources directory holding the fixture site's newsroom source (``demo-newsrooms``)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "demo-newsrooms.yml").write_text(NEWSROOM_SOURCE, encoding="utf-8")
    return root


def _site(root: Path, body_a: str = "甲公司与乙大学签署战略合作协议。") -> Path:
    (root / "news" / "acme").mkdir(parents=True)
    (root / "private").mkdir()
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")
    (root / "index.html").write_text('<html><body><a href="/news/acme/index.html">acme</a>'
                                     '<a href="/private/secret.html">x</a></body></html>')
    items = "".join(f'<li class="news-item"><a href="/news/acme/{n}.html">{n}</a></li>' for n in ("a", "b"))
    (root / "news" / "acme" / "index.html").write_text(
        LIST.format(items=items, next='<a class="next" href="/news/acme/page-2.html">下一页</a>'))
    items2 = '<li class="news-item"><a href="/news/acme/c.html">c</a></li>' \
             '<li class="news-item"><a href="/news/acme/missing.html">gone</a></li>'
    (root / "news" / "acme" / "page-2.html").write_text(LIST.format(items=items2, next=""))
    (root / "news" / "acme" / "a.html").write_text(ARTICLE.format(title="A", date="2021-03-04", body=body_a))
    (root / "news" / "acme" / "b.html").write_text(ARTICLE.format(title="B", date="发布时间：2022年1月2日", body="乙"))
    (root / "news" / "acme" / "c.html").write_text(ARTICLE.format(title="C", date="2020/12/31", body="丙"))
    (root / "private" / "secret.html").write_text(ARTICLE.format(title="S", date="2020-01-01", body="不可抓取"))
    return root


def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with session_factory(engine)() as s:
        out = {
            "documents": s.scalar(select(func.count()).select_from(Document)),
            "errors": s.scalar(select(func.count()).select_from(PipelineError)),
            "sources": s.scalar(select(func.count()).select_from(Source)),
        }
    engine.dispose()
    return out


def test_crawl_stores_documents_idempotently(env_db, tmp_path):
    db_url = env_db
    root = _site(tmp_path / "site")
    sources = _sources(tmp_path / "sources")
    with serve(root) as server:
        first = run_crawl("demo-newsrooms", sources_dir=sources, base_url=server.base_url, db_url=db_url)
        assert first.counts["documents_new"] == 3
        assert first.status_counts.get("404") == 1
        assert _counts(db_url) == {"documents": 3, "errors": 1, "sources": 1}

        second = run_crawl("demo-newsrooms", sources_dir=sources, base_url=server.base_url, db_url=db_url)
        # conditional requests: no unchanged page body is transferred again
        assert second.counts["documents_new"] == 0 and second.counts["documents_not_modified"] == 3
        assert second.status_counts.get("304") == 3 and second.counts["documents_unchanged"] == 0

        (root / "news" / "acme" / "a.html").write_text(ARTICLE.format(title="A", date="2021-03-04", body="已更新"))
        third = run_crawl("demo-newsrooms", sources_dir=sources, base_url=server.base_url, db_url=db_url)
        assert third.counts["documents_changed"] == 1

    engine = make_engine(db_url)
    with session_factory(engine)() as s:
        docs = {d.canonical_url.rsplit("/", 1)[1]: d for d in s.scalars(select(Document))}
        assert set(docs) == {"a.html", "b.html", "c.html"}  # /private/ obeyed robots.txt
        assert docs["a.html"].text == "已更新" and docs["a.html"].published_on.isoformat() == "2021-03-04"
        assert docs["a.html"].version == 2 and docs["a.html"].etag
        (old,) = s.scalars(select(DocumentVersion)).all()  # the replaced content is kept
        assert old.document_id == docs["a.html"].id and old.version == 1 and "乙大学" in old.text
        assert docs["b.html"].published_on.isoformat() == "2022-01-02"
        assert docs["a.html"].raw_gz and docs["a.html"].language == "zh-CN"
        errors = s.scalars(select(PipelineError).order_by(PipelineError.id)).all()
        runs = s.scalars(select(PipelineRun).order_by(PipelineRun.id)).all()
        # the dead link: recorded once; the later crawls count it on that row, which follows the latest run
        (error,) = errors
        assert error.run_id == runs[-1].id and error.payload["first_run_id"] == runs[0].id
        assert error.payload["repeats"] == 2 and all(r.counts["errors"] == 1 for r in runs)
        assert error.stage == "crawl" and error.kind == "http_error" and error.location.endswith("missing.html")
        assert error.reason == "HTTP 404"
        assert [r.state for r in runs] == ["completed"] * 3
        assert runs[0].counts["responses_by_status"]["200"] >= 5
    engine.dispose()


def test_unreachable_site_is_recorded_not_silent(env_db, tmp_path):
    db_url = env_db
    sources = _sources(tmp_path / "sources")
    with pytest.raises(SourceError, match="base-url"):
        run_crawl("demo-newsrooms", sources_dir=sources, base_url=None, db_url=db_url)
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run_crawl("demo-newsrooms", sources_dir=sources, base_url=f"http://127.0.0.1:{port}", db_url=db_url)
    assert result.counts["documents_new"] == 0 and result.counts["errors"] >= 1
    engine = make_engine(db_url)
    with session_factory(engine)() as s:
        kinds = set(s.scalars(select(PipelineError.kind)))
        assert kinds == {"fetch_error"}
    engine.dispose()


def test_source_validation(tmp_path):
    bad = tmp_path / "broken.yml"
    bad.write_text("name: other\nkind: carrier-pigeon\nstart_urls: x\n")
    with pytest.raises(SourceError) as info:
        load_source(bad)
    message = str(info.value)
    for expected in ("'allowed_domains'", "'kind' is 'carrier-pigeon'", "must equal the file name", "list of strings"):
        assert expected in message


def test_url_and_date_helpers():
    assert canonical_url("HTTP://Example.ORG:80/a/b.html#frag") == "http://example.org/a/b.html"
    assert parse_date("发布时间：2023年11月21日 10:00", ["%Y年%m月%d日"]).isoformat() == "2023-11-21"
    assert parse_date("no date", ["%Y-%m-%d"]) is None


def test_auto_text_oversized_pages_and_undecodable_bytes(env_db, tmp_path):
    """A source with `body: auto` (trafilatura), a page over the size cap, a page no encoding reads."""
    root = tmp_path / "site"
    root.mkdir()
    (root / "robots.txt").write_text("User-agent: *\n")
    paragraph = "甲公司与乙大学签署战略合作协议，双方将在计算机视觉领域开展合作。" * 3
    (root / "index.html").write_text(
        '<html><body><a class="a" href="/ok.html">ok</a><a class="a" href="/big.html">big</a>'
        '<a class="a" href="/bad.html">bad</a></body></html>', encoding="utf-8")
    (root / "ok.html").write_text(
        f'<html lang="zh-CN"><head><meta charset="utf-8"><title>合作</title></head><body><nav>首页 | 新闻</nav>'
        f'<article><h1>合作</h1><p>{paragraph}</p><p>{paragraph}</p></article><footer>版权所有</footer></body></html>',
        encoding="utf-8")
    (root / "big.html").write_text("<html><body><article><p>" + "大" * 200_000 + "</p></article></body></html>",
                                   encoding="utf-8")
    (root / "bad.html").write_bytes(b'<html><head><meta charset="utf-8"></head><body><article><p>'
                                    + bytes(range(128, 256)) * 50 + b"</p></article></body></html>")
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "auto.yml").write_text(
        "name: auto\nkind: newsroom\nstart_urls: ['{base_url}/index.html']\nallowed_domains: ['127.0.0.1']\n"
        "list: {items: 'a.a::attr(href)'}\narticle: {title: ['title::text'], body: auto}\n"
        "encoding_fallbacks: [gb18030, big5]\npoliteness: {max_page_bytes: 100000}\n", encoding="utf-8")
    with serve(root) as server:
        result = run_crawl("auto", sources_dir=sources, base_url=server.base_url, db_url=env_db)
    engine = make_engine(env_db)
    with session_factory(engine)() as s:
        docs = {d.canonical_url.rsplit("/", 1)[1]: d for d in s.scalars(select(Document))}
        errors = {e.location.rsplit("/", 1)[1]: e for e in s.scalars(select(PipelineError))}
    engine.dispose()
    assert "甲公司与乙大学签署战略合作协议" in docs["ok.html"].text and "版权所有" not in docs["ok.html"].text
    assert errors["big.html"].kind == "oversized"
    assert errors["bad.html"].kind == "decode_error" and "bad.html" not in docs  # never stored as mojibake
    assert result.counts["errors"] >= 1
