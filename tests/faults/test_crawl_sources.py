"""Strict source schema and schema-fitting of crawled fields (issue 14, findings 1 and 6), without a database.

A source file with unknown keys, wrong types, no allowed host or politeness looser than the crawler's
global limits is rejected with one line per problem naming the file, the key and the reason; the
shipped sources and the demo world's templates pass. Crawled values are fitted to the column widths
of ``documents`` before they are written (PostgreSQL enforces them, SQLite does not).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from aimap.commands.crawl import sources_app
from crawlers import settings
from crawlers.fields import WIDTH, clean_text, fit_document, short_language
from crawlers.run import crawl_command
from crawlers.sources import SOURCES_DIR, SourceError, load_source, scan_sources

DEMO_SOURCES = Path(__file__).resolve().parents[2] / "demosite" / "data" / "sources"

BAD = """\
name: bad
kind: newsroom
start_urls: ["{base_url}/"]
allowed_domains: []
list: {items: "a::attr(href)", nxt: "a.next::attr(href)"}
article: {body: 5, title: "h1::text"}
politness: {download_delay: 2}
expected_min_documents: "ten"
language: "<script>"
encoding_fallbacks: [gb18030, klingon]
politeness: {max_page_bytes: 0, concurrent_requests_per_domain: 99, daily_request_budget: 0, download_delay: "1"}
"""
#: (key, reason) of every problem in BAD.
EXPECTED = [
    ("allowed_domains", "must name at least one host"),
    ("list.nxt", "unknown key 'list.nxt' (did you mean 'next'?)"),
    ("article.body", "field 'article.body' must be a text, got 5"),
    ("article.title", "field 'article.title' must be a list of strings, got 'h1::text'"),
    ("politness", "unknown field 'politness' (did you mean 'politeness'?)"),
    ("expected_min_documents", "field 'expected_min_documents' must be a whole number, got 'ten'"),
    ("language", "field 'language' '<script>' is not a language tag"),
    ("encoding_fallbacks", "encoding_fallbacks entry 'klingon' is not an encoding"),
    ("max_page_bytes", "politeness.max_page_bytes must be from 1 to"),
    ("concurrent_requests_per_domain",
     f"politeness.concurrent_requests_per_domain must be from 1 to {settings.CONCURRENT_REQUESTS}"),
    ("daily_request_budget", "politeness.daily_request_budget must be 1 or more"),
    ("download_delay", "field 'politeness.download_delay' must be a number, got '1'"),
]


def test_strict_schema_names_file_key_and_reason_for_every_problem(tmp_path: Path):
    path = tmp_path / "bad.yml"
    path.write_text(BAD, encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        load_source(path)
    lines = str(caught.value).splitlines()
    assert all(line.startswith(f"{path}: ") for line in lines), lines
    for key, reason in EXPECTED:
        assert [line for line in lines if key in line and reason in line], (key, reason, lines)
    assert len(lines) == len(EXPECTED), lines  # one line per problem, none twice


def test_sources_check_prints_one_line_per_problem(tmp_path: Path):
    (tmp_path / "bad.yml").write_text(BAD, encoding="utf-8")
    result = CliRunner().invoke(sources_app, ["check", "bad", "--sources", str(tmp_path)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    for key, reason in EXPECTED:
        assert [line for line in result.output.splitlines() if "bad.yml" in line and key in line and reason in line], \
            (key, result.output)


def test_shipped_sources_and_demo_templates_pass_the_strict_schema():
    for directory in (SOURCES_DIR, DEMO_SOURCES):
        scan = scan_sources(directory)
        assert scan.invalid == [] and scan.valid, directory


def test_a_scan_keeps_an_invalid_file_apart(tmp_path: Path):
    (tmp_path / "good.yml").write_text("name: good\nkind: site\nallowed_domains: [example.org]\n"
                                       "list_pages: [https://example.org/news]\n", encoding="utf-8")
    (tmp_path / "off.yml").write_text("name: off\nkind: site\nenabled: false\nallowed_domains: []\n", encoding="utf-8")
    (tmp_path / "list.yml").write_text("- just a list\n", encoding="utf-8")
    scan = scan_sources(tmp_path)
    assert [s.name for s in scan.valid] == ["good"]
    assert {b.name: b.enabled for b in scan.invalid} == {"list": True, "off": False}
    assert "must be a mapping of fields" in next(b.problems for b in scan.invalid if b.name == "list")


def test_language_tags_and_fields_are_fitted_to_the_columns():
    assert short_language("zh-Hans-CN") == "zh-CN" and short_language("zh_cn") == "zh-CN"
    assert short_language("zh-Hant") == "zh-Hant" and short_language("EN-us-x-private") == "en-US"
    assert short_language("<script>") is None and short_language("") is None
    item = {"url": "http://127.0.0.1/a", "canonical_url": "http://127.0.0.1/" + "c" * 3000, "text": "甲\x00乙\ud800",
            "language": "not a tag!", "etag": "e" * 300, "last_modified": "Tue, 15 Nov 1994 08:12:31 GMT" + " " * 60}
    changed, refused = fit_document(item, default_language="zh-Hans-CN")
    assert refused is None and item["language"] == "zh-CN" and item["etag"] is None
    assert item["last_modified"] == "Tue, 15 Nov 1994 08:12:31 GMT" and item["canonical_url"] == "http://127.0.0.1/a"
    assert item["text"] == "甲乙?" and set(changed) == {"canonical_url", "etag", "language", "last_modified", "text"}
    too_long = {"url": "http://127.0.0.1/" + "u" * WIDTH["url"], "canonical_url": "http://127.0.0.1/u", "text": "x"}
    assert "longer than the 2,048" in fit_document(too_long)[1]
    assert clean_text({"k": ["a\x00"]}) == {"k": ["a"]}


def test_a_source_cannot_crawl_a_real_site_faster_than_the_global_delay(tmp_path: Path):
    common = "kind: site\nallowed_domains: [{host}]\nlist_pages: ['{url}/news']\npoliteness: {{download_delay: 0.2}}\n"
    (tmp_path / "real.yml").write_text("name: real\n" + common.format(host="example.org", url="https://example.org"),
                                       encoding="utf-8")
    (tmp_path / "local.yml").write_text("name: local\n" + common.format(host="127.0.0.1", url="{base_url}"),
                                        encoding="utf-8")

    def delay(name: str, base_url: str | None) -> float:
        cmd = crawl_command(load_source(tmp_path / f"{name}.yml"), run_id=1, stats_file=tmp_path / "s.json",
                            base_url=base_url)
        return float(next(a.split("=", 1)[1] for a in cmd if a.startswith("DOWNLOAD_DELAY=")))

    assert delay("real", None) == settings.DOWNLOAD_DELAY  # a real site: never below the global floor
    assert delay("local", "http://127.0.0.1:9") == 0.2  # a local (demo) site may go faster
