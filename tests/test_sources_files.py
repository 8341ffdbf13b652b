"""The shipped source files (crawlers/sources): every one validates, is switched off until an operator
enables it, declares its politeness and marks unverified addresses; invalid files are reported field
by field; `aimap sources list` shows kind/enabled/last run/documents; `aimap crawl` with defaults says
clearly when no source is enabled."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from aimap.commands.crawl import crawl, sources_app
from crawlers.sources import SOURCES_DIR, SourceError, enabled_sources, list_sources, load_source

runner = CliRunner()


def test_every_shipped_source_validates_and_is_disabled():
    sources = list_sources()
    kinds = {s.name: s.kind for s in sources}
    assert {"cninfo-szse", "cninfo-sse", "cninfo-bj"} <= {n for n, k in kinds.items() if k == "cninfo"}
    assert kinds["hkexnews"] == "hkex"
    hubs = {"huawei", "tencent", "alibaba", "aliyun", "baidu", "jd", "iflytek", "china-mobile", "china-telecom",
            "china-unicom"}
    assert {f"newsroom-{h}" for h in hubs} <= {n for n, k in kinds.items() if k == "site"}
    assert any(n.startswith("portal-") for n in kinds)
    assert enabled_sources() == [] and all(not s.enabled for s in sources)
    for s in sources:
        assert s.politeness.get("download_delay", 0) >= 1 and s.politeness.get("daily_request_budget", 0) > 0, s.name
        assert all(u.startswith("https://") for u in s.start_urls + s.sitemaps + s.list_pages), s.name
        if s.kind == "site":
            assert s.unverified, f"{s.name}: newsroom addresses could not be checked from here"
        if s.kind in ("cninfo", "hkex"):
            assert s.title_filter == "cooperation", s.name


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_invalid_source_files_name_file_and_field(tmp_path: Path):
    path = _write(tmp_path, "bad", """
name: bad
kind: cninfo
enabled: "yes"
allowed_domains: [www.cninfo.com.cn]
api: {column: szse}
title_filter: {use: cooperation, include: {broken: "(unclosed"}}
politeness: {download_delay: -1, speed: 3}
list_pages: [ftp://example.org/list]
""")
    with pytest.raises(SourceError) as caught:
        load_source(path)
    lines = str(caught.value).splitlines()
    assert all(line.startswith(str(path)) for line in lines)
    text = str(caught.value)
    for words in ("field 'enabled' must be true or false", "pattern 'broken' does not compile",
                  "politeness.download_delay must be a number >= 0", "unknown politeness key 'speed'",
                  "list_pages entry 'ftp://example.org/list' is not an http(s) URL"):
        assert words in text
    site = _write(tmp_path, "empty-site", "name: empty-site\nkind: site\nallowed_domains: [example.org]\n")
    with pytest.raises(SourceError, match="a site source needs 'feeds', 'sitemaps' and/or 'list_pages'"):
        load_source(site)


def test_sources_check_and_list_commands(tmp_path: Path, env_db: str):
    checked = runner.invoke(sources_app, ["check", "cninfo-szse"])
    assert checked.exit_code == 0 and "cninfo-szse: valid cninfo source" in checked.output
    _write(tmp_path, "broken", "name: broken\nkind: nope\nallowed_domains: [x]\n")
    failed = runner.invoke(sources_app, ["check", "broken", "--sources", str(tmp_path)])
    assert failed.exit_code == 1 and "field 'kind' is 'nope'" in failed.output and "Traceback" not in failed.output
    listed = runner.invoke(sources_app, ["list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = {r["name"]: r for r in __import__("json").loads(listed.output)}
    assert rows["cninfo-szse"] == {**rows["cninfo-szse"], "kind": "cninfo", "enabled": False, "verified": True,
                                   "last_run": None, "documents": 0}
    assert rows["newsroom-huawei"]["verified"] is False and len(rows) == len(list(SOURCES_DIR.glob("*.yml")))


def test_crawl_with_defaults_says_when_no_source_is_enabled(env_db: str):
    app = typer.Typer()
    app.command()(crawl)
    result = runner.invoke(app, [])
    assert result.exit_code == 0
    assert "no source is enabled" in result.output and "enabled: true" in result.output
