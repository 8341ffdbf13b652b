"""Crawl faults on PostgreSQL (issue 14, findings 1, 6 and the crawl parts of 7): a real Scrapy process
against a hostile site on 127.0.0.1, writing to a throwaway PostgreSQL database.

- over-long values (``<html lang="zh-Hans-CN">``, ETag/Last-Modified headers, URLs over 2,048
  characters) and a row the database refuses cost one recorded error each, never the batch;
- a connection dropped during a flush loses nothing; a database that stays unavailable makes the
  crawl fail (not ``completed``) and the next crawl resumes and stores everything;
- "new N" is what was committed;
- a permanent error is recorded once and its repeats counted; transient ones per crawl;
- one invalid source file is reported and skipped, the others crawl;
- killing ``aimap crawl`` (SIGTERM or SIGKILL) leaves no Scrapy child and no ``aimap-crawl-*`` temp dir.

The database faults are made by PostgreSQL itself: a trigger refuses one row (``RAISE EXCEPTION``) or
terminates its own connection (``pg_terminate_backend``) — a real refusal and a real dropped
connection, at a moment the test chooses.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest
import typer
from sqlalchemy import select
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from aimap.commands.crawl import crawl
from crawlers.run import CrawlError, job_dir, run_crawl
from crawlers.sources import enabled_sources
from db.models import Document, PipelineError, PipelineRun
from db.session import make_engine, session_factory

pytestmark = pytest.mark.parametrize("empty_db_url", ["postgresql"], indirect=True)

ARTICLE = ('<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>{head}</head>'
           '<body><h1 class="t">{title}</h1><div class="body"><p>{body}</p></div></body></html>')
SOURCE = """\
name: {name}
kind: newsroom
enabled: true
publisher: hostile test site
start_urls: ["{{base_url}}/index.html"]
allowed_domains: ["127.0.0.1"]
list:
  items: "a.item::attr(href)"
article:
  title: ["h1.t::text"]
  body: "div.body p"
language: zh
politeness: {{download_delay: 0.0, concurrent_requests_per_domain: 4}}
"""
FAST = {"AUTOTHROTTLE_ENABLED": "False", "DOWNLOAD_DELAY": "0", "RETRY_TIMES": "0", "LOG_LEVEL": "INFO"}


# --------------------------------------------------------------------------- the hostile site


class Page:
    """One answer: body, status, headers."""

    def __init__(self, body: str = "", status: int = 200, **headers: str) -> None:
        self.body, self.status, self.headers = body, status, headers


def article(title: str, body: str, lang: str = "zh-CN", head: str = "", **headers: str) -> Page:
    """An article page the test source reads."""
    return Page(ARTICLE.format(title=title, body=body, lang=lang, head=head), **headers)


def listing(links: list[str]) -> Page:
    """The index page linking to ``links``."""
    return Page("<html><body>" + "".join(f'<a class="item" href="{u}">{i}</a>' for i, u in enumerate(links))
                + "</body></html>")


def articles(n: int) -> dict[str, Page]:
    """An index and ``n`` plain articles."""
    pages = {f"/n{i}.html": article(f"N{i}", f"第{i}篇：甲公司与乙大学签署合作协议。") for i in range(n)}
    return {"/index.html": listing(sorted(pages)), **pages}


@pytest.fixture
def site():
    """Serve a dict of pages (``site(pages, delay=...)``) on 127.0.0.1 while the test runs; returns the base URL."""
    servers = []

    def start(pages: dict[str, Page], delay: float = 0.0) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                path = self.path.split("?")[0]
                page = Page("User-agent: *\n") if path == "/robots.txt" else pages.get(path, Page("gone", 404))
                if delay and path not in ("/robots.txt", "/index.html"):
                    time.sleep(delay)
                data = page.body.encode("utf-8")
                self.send_response(page.status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                for key, value in page.headers.items():
                    self.send_header(key.replace("_", "-"), value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _sources(directory: Path, name: str = "hostile") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.yml").write_text(SOURCE.format(name=name), encoding="utf-8")
    return directory


def _sql(db_url: str, statements: str) -> None:
    """Run SQL on the test database directly (psycopg, autocommit)."""
    url = make_url(db_url)
    with psycopg.connect(host=url.host, port=url.port, user=url.username, dbname=url.database,
                         autocommit=True) as conn:
        conn.execute(statements)


def _stored(db_url: str) -> tuple[dict[str, Document], list[PipelineError], list[PipelineRun]]:
    engine = make_engine(db_url)
    with session_factory(engine)() as s:
        docs = {d.title: d for d in s.scalars(select(Document))}
        errors = list(s.scalars(select(PipelineError).order_by(PipelineError.id)))
        runs = list(s.scalars(select(PipelineRun).where(PipelineRun.flow == "crawl").order_by(PipelineRun.id)))
        s.expunge_all()
    engine.dispose()
    return docs, errors, runs


# --------------------------------------------------------------------------- finding 1: nothing lost


LONG_LINK = "/long/" + "x" * 2100 + ".html"  # a link longer than a document URL may be: recorded, not fetched
LONG_TARGET = "/r/" + "y" * 2060 + ".html"  # reached through a redirect: fetched, recorded by the pipeline
POISON = """
CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.text LIKE '%poison-marker%' THEN RAISE EXCEPTION 'poisoned row refused by the database'; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER poison BEFORE INSERT OR UPDATE ON documents FOR EACH ROW EXECUTE FUNCTION poison();
"""


def test_overlong_fields_and_a_refused_row_cost_one_error_each_never_the_batch(env_db, tmp_path, site):
    _sql(env_db, POISON)
    base = site({
        "/index.html": listing(["/a.html", "/b.html", "/c.html", "/d.html", "/poison.html", LONG_LINK, "/go.html"]),
        "/a.html": article("A", "甲公司", lang="zh-Hans-CN"),  # language is varchar(8)
        "/b.html": article("B", "乙公司", ETag='"' + "e" * 300 + '"', Last_Modified="x" * 100),
        "/c.html": article("C", "丙公司", head=f'<link rel="canonical" href="/c/{"z" * 3000}">'),
        "/d.html": article("D", "丁公司"),
        "/poison.html": article("P", "poison-marker"),
        "/go.html": Page("", 302, Location=LONG_TARGET),
        LONG_TARGET: article("L", "长地址"),
    })
    result = run_crawl("hostile", sources_dir=_sources(tmp_path / "sources"), base_url=base, db_url=env_db,
                       extra_settings=FAST)
    docs, errors, runs = _stored(env_db)
    assert set(docs) == {"A", "B", "C", "D"}
    assert result.counts["documents_new"] == len(docs) == 4  # "new N" is what is stored
    assert docs["A"].language == "zh-CN"
    assert docs["B"].etag is None and docs["B"].last_modified is None  # validators that do not fit: dropped
    assert docs["C"].canonical_url == f"{base}/c.html"  # an over-long declared canonical URL: the fetched one
    by_kind: dict[str, list[PipelineError]] = {}
    for e in errors:
        by_kind.setdefault(e.kind, []).append(e)
    assert sorted(by_kind) == ["store_error", "url_too_long"], [(e.kind, e.reason) for e in errors]
    (refused,) = by_kind["store_error"]
    assert refused.location == f"{base}/poison.html" and "poisoned row refused" in refused.reason
    long_ones = {e.payload["url"] for e in by_kind["url_too_long"]}
    assert long_ones == {base + LONG_LINK, base + LONG_TARGET}
    assert all(len(e.location) <= 2048 and "2,048" in e.reason for e in by_kind["url_too_long"])
    assert [r.state for r in runs] == ["completed"] and result.stats.get("aimap/store/batch_fallbacks") == 1


DROP_ONCE = """
CREATE SEQUENCE fault_inserts;
CREATE FUNCTION drop_connection() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF nextval('fault_inserts') = {at} OR {always} THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER drop_connection BEFORE INSERT ON documents FOR EACH ROW EXECUTE FUNCTION drop_connection();
"""


def test_a_connection_dropped_during_a_flush_loses_nothing(env_db, tmp_path, site):
    _sql(env_db, DROP_ONCE.format(at=3, always="false"))  # the 3rd document insert kills its connection
    base = site(articles(12))
    result = run_crawl("hostile", sources_dir=_sources(tmp_path / "sources"), base_url=base, db_url=env_db,
                       extra_settings={**FAST, "AIMAP_DB_BATCH_SIZE": "5", "AIMAP_DB_RETRY_DELAY": "0.05"})
    docs, errors, runs = _stored(env_db)
    assert len(docs) == 12 and result.counts["documents_new"] == 12 and errors == []
    assert result.stats.get("aimap/store/reconnects", 0) + result.stats.get("aimap/store/batch_fallbacks", 0) >= 1
    assert [r.state for r in runs] == ["completed"]


def test_a_database_that_stays_away_fails_the_crawl_and_the_next_one_resumes(env_db, tmp_path, site):
    _sql(env_db, DROP_ONCE.format(at=0, always="true"))  # every document insert loses its connection
    base = site(articles(8))
    sources = _sources(tmp_path / "sources")
    settings = {**FAST, "AIMAP_DB_RETRIES": "1", "AIMAP_DB_RETRY_DELAY": "0.05"}
    with pytest.raises(CrawlError, match="could not be stored"):
        run_crawl("hostile", sources_dir=sources, base_url=base, db_url=env_db, extra_settings=settings)
    docs, _, runs = _stored(env_db)
    assert docs == {} and [r.state for r in runs] == ["failed"]  # never "completed" with lost documents
    assert runs[0].counts["documents_lost"] >= 1 and runs[0].counts["documents_new"] == 0
    assert job_dir("hostile").exists()  # kept: the next crawl resumes
    _sql(env_db, "DROP TRIGGER drop_connection ON documents")
    again = run_crawl("hostile", sources_dir=sources, base_url=base, db_url=env_db, extra_settings=settings)
    docs, _, runs = _stored(env_db)
    assert len(docs) == 8 and again.counts["documents_new"] == 8
    assert [r.state for r in runs] == ["failed", "completed"] and runs[1].parameters["resumed"] is True


# --------------------------------------------------------------------------- finding 7: errors once


def test_a_permanent_error_is_recorded_once_and_its_repeats_counted(env_db, tmp_path, site):
    pages = articles(2)
    pages["/index.html"] = listing([*sorted(p for p in pages if p != "/index.html"), "/gone.html", "/down.html"])
    pages["/down.html"] = Page("busy", 500)  # transient: recorded by every crawl that meets it
    base = site(pages)
    sources = _sources(tmp_path / "sources")
    for _ in range(2):
        run_crawl("hostile", sources_dir=sources, base_url=base, db_url=env_db, extra_settings=FAST)
    _, errors, runs = _stored(env_db)
    gone = [e for e in errors if e.location.endswith("/gone.html")]
    down = [e for e in errors if e.location.endswith("/down.html")]
    assert len(gone) == 1 and gone[0].reason == "HTTP 404"
    assert gone[0].payload["repeats"] == 1 and gone[0].payload["first_run_id"] == runs[0].id
    assert gone[0].run_id == runs[-1].id  # the latest crawl's causes still show it
    assert [e.run_id for e in down] == [r.id for r in runs]
    assert all(r.counts["errors"] == 2 for r in runs)  # each crawl still counts what it met


# --------------------------------------------------------------------------- finding 6: one bad file


def test_one_invalid_source_file_is_reported_and_skipped_the_others_crawl(env_db, tmp_path, site):
    base = site(articles(3))
    sources = _sources(tmp_path / "sources")
    (sources / "broken.yml").write_text(SOURCE.format(name="broken").replace("politeness:", "politness:"),
                                        encoding="utf-8")
    assert [s.name for s in enabled_sources(sources)] == ["hostile"]  # what the scheduled crawl reads
    app = typer.Typer()
    app.command()(crawl)
    result = CliRunner().invoke(app, ["--sources", str(sources), "--base-url", base, "--json"])
    assert result.exit_code == 1, result.output
    assert "broken.yml: unknown field 'politness' (did you mean 'politeness'?)" in result.output
    docs, _, runs = _stored(env_db)
    assert len(docs) == 3 and [r.parameters["source"] for r in runs] == ["hostile"]


# --------------------------------------------------------------------------- finding 7: killed crawls


def _children(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is ``pid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _wait(predicate, timeout: float = 60.0) -> bool:  # noqa: ANN001
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killing_aimap_crawl_leaves_no_child_and_no_temp_dir(env_db, tmp_path, site, sig):
    base = site(articles(60), delay=1.0)  # a slow site (~15 s): still crawling when it is killed
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "DATABASE_URL": env_db, "AIMAP_HOME": str(tmp_path / "home"), "TMPDIR": str(tmp),
           "AIMAP_OUT": str(tmp_path / "out")}
    cli = Path(sys.executable).parent / "aimap"
    proc = subprocess.Popen([str(cli), "crawl", "--sources", str(_sources(tmp_path / "sources")), "--base-url", base],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        assert _wait(lambda: bool(_children(proc.pid)) or proc.poll() is not None), "no crawl child started"
        (child,) = _children(proc.pid)
        time.sleep(1.0)
        os.kill(proc.pid, sig)  # the parent only, as `kill PID` would
        proc.wait(timeout=60)
        assert _wait(lambda: not _alive(child), timeout=5), "the Scrapy child outlived aimap crawl"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert list(tmp.glob("aimap-crawl-*")) == []
    _, _, runs = _stored(env_db)
    if sig == signal.SIGTERM:
        assert proc.returncode == 128 + signal.SIGTERM, proc.stderr.read() if proc.stderr else ""
        assert [r.state for r in runs] == ["interrupted"] and "stopped by SIGTERM" in runs[0].message


def test_a_resumed_crawl_counts_what_the_interrupted_runs_delivered(engine, tmp_path):
    """The minimum of a resumed crawl counts the whole job (issue 14): the documents of the source
    among the requests the job's journal marks done, by fetched or canonical address; list pages,
    unknown addresses and other sources' documents do not count."""
    from crawlers.run import CrawlResult, SourceBelowMinimum, check_minimum, delivered_before
    from crawlers.sources import SourceConfig
    from db.models import Source

    with session_factory(engine)() as s:
        mine, other = Source(name="demo-mine", kind="newsroom"), Source(name="demo-other", kind="newsroom")
        s.add_all([mine, other])
        s.flush()
        for n, (source, url) in enumerate([(mine, "http://127.0.0.1/a/1"), (mine, "http://127.0.0.1/a/2?utm=x"),
                                           (mine, "http://127.0.0.1/a/3"), (other, "http://127.0.0.1/b/1")]):
            s.add(Document(source_id=source.id, url=url, canonical_url=url.split("?")[0], content_sha256=f"{n:064d}",
                           text="t"))
        s.commit()
    job = tmp_path / "job"
    job.mkdir()
    assert delivered_before(job, "demo-mine", engine) == 0  # no journal yet
    (job / "done.tsv").write_text("http://127.0.0.1/list\nhttp://127.0.0.1/a/1\nhttp://127.0.0.1/a/2\n"
                                  "http://127.0.0.1/a/1\nhttp://127.0.0.1/b/1\nhttp://127.0.0.1/gone\n", encoding="utf-8")
    assert delivered_before(job, "demo-mine", engine) == 2
    assert delivered_before(job, "demo-unknown", engine) == 0
    cfg = SourceConfig("demo-mine", "newsroom", tmp_path / "demo-mine.yml", ["127.0.0.1"], expected_min_documents=3)
    resumed = CrawlResult("demo-mine", 1, {"documents_new": 1}, delivered_before=2)
    check_minimum(cfg, resumed)  # 1 now + 2 before the kill
    with pytest.raises(SourceBelowMinimum, match="delivered 2 documents, 1 of them before the crawl resumed"):
        check_minimum(cfg, CrawlResult("demo-mine", 1, {"documents_new": 1}, delivered_before=1))
