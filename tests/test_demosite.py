"""The demo web's rendering and serving (the world model itself is tested in test_world.py)."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from common.identifiers import validate_stock_code, validate_uscc
from crawlers.sources import load_source
from demosite.cli import app
from demosite.render import REGISTRY_COLUMNS, SiteManifest, render_site
from demosite.server import serve
from demosite.world import World, build_world

REPO = Path(__file__).resolve().parents[1]


def all_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(seed=7, preset="tiny")


@pytest.fixture(scope="module")
def rendered(world: World, tmp_path_factory: pytest.TempPathFactory) -> SiteManifest:
    return render_site(world, tmp_path_factory.mktemp("world"))


@pytest.fixture(scope="module")
def documents(rendered: SiteManifest) -> list[dict]:
    lines = (rendered.truth_dir / "documents.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    first = render_site(build_world(seed=7, preset="tiny"), tmp_path / "a")
    second = render_site(build_world(seed=7, preset="tiny"), tmp_path / "b")
    files_a, files_b = all_files(first.out_dir), all_files(second.out_dir)
    assert files_a == files_b and len(files_a) > 100
    mtimes = {p: p.stat().st_mtime for p in first.root.rglob("*.html")}
    again = render_site(build_world(seed=7, preset="tiny"), tmp_path / "a")  # in place: nothing changes
    assert all_files(again.out_dir) == files_a
    assert {p: p.stat().st_mtime for p in first.root.rglob("*.html")} == mtimes


def test_output_does_not_depend_on_hash_seed(tmp_path: Path) -> None:
    code = ("import sys; from pathlib import Path; from demosite.world import build_world; "
            "from demosite.render import render_site; render_site(build_world(7, 'tiny'), Path(sys.argv[1]))")
    digests = set()
    for hash_seed in ("1", "2"):
        out = tmp_path / f"h{hash_seed}"
        subprocess.run([sys.executable, "-c", code, str(out)], check=True, cwd=REPO, timeout=120,
                       env={**os.environ, "PYTHONHASHSEED": hash_seed})
        digest = hashlib.sha256()
        for name, data in all_files(out).items():
            digest.update(name.encode() + b"\0" + data)
        digests.add(digest.hexdigest())
    assert len(digests) == 1


def test_different_seed_differs(tmp_path: Path) -> None:
    a = render_site(build_world(seed=7), tmp_path / "a")
    b = render_site(build_world(seed=8), tmp_path / "b")
    assert (a.truth_dir / "events.csv").read_bytes() != (b.truth_dir / "events.csv").read_bytes()


def test_render_refuses_foreign_site_directory(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "mine.txt").write_text("not a demo site", encoding="utf-8")
    with pytest.raises(FileExistsError):
        render_site(build_world(), tmp_path)
    assert (tmp_path / "site" / "mine.txt").exists()


def test_every_event_has_a_crawlable_document_naming_both_parties(rendered, world, documents) -> None:
    by_url = {d["url"]: d for d in documents}
    with (rendered.truth_dir / "events.csv").open(encoding="utf-8", newline="") as fh:
        rows = {r["event_id"]: r for r in csv.DictReader(fh)}
    reported = {e for d in documents for e in d["events"]}
    unobservable = 0
    for event in world.events:
        assert event.id in reported
        if rows[event.id]["observable"] == "no":  # its only reports are dead pages
            unobservable += 1
            assert all(d["fault"] in ("gone", "broken") for d in documents if event.id in d["events"])
            continue
        urls = rows[event.id]["urls"].split(";")
        assert all(by_url[u]["crawlable"] and by_url[u]["fault"] not in ("gone", "broken") for u in urls)
        for url in urls:
            doc = by_url[url]
            assert event.id in doc["events"]
            for party in (event.provider, event.receiver):
                written = doc["surfaces"][party]
                assert any(name in doc["text"] for name in written), (event.id, party)
    assert unobservable <= len(world.events) * 0.05


def test_sites_and_variety(documents) -> None:
    sites = {d["site"] for d in documents}
    assert {"newsroom", "exchange", "government", "media", "media-hk"} <= sites
    assert any(d["kind"] == "annual_report" for d in documents)
    assert any(d["language"] == "zh-Hant" for d in documents)
    assert any(d["encoding"] in ("gbk", "gb2312") for d in documents)
    assert any(d["negatives"] for d in documents)
    formats = {f for d in documents for f in d["date_formats"]}
    assert len(formats) >= 4
    forms = {len(v) for d in documents for v in d["surfaces"].values()}
    assert forms  # names recorded per document
    syndicated = {}
    for d in documents:
        for e in d["events"]:
            syndicated.setdefault(e, set()).add(d["site"])
    assert any(len(s) >= 2 for s in syndicated.values())  # the same event on several sites


def test_robots_and_uncrawlable_pages(rendered, documents) -> None:
    robots = (rendered.root / "robots.txt").read_text(encoding="utf-8")
    assert "Disallow: /private/" in robots and "Disallow: /news/*/drafts/" in robots
    hidden = [d for d in documents if not d["crawlable"]]
    assert any(d["url"].startswith("/private/") for d in hidden)
    for d in hidden:
        assert not d["events"]


def test_gbk_portals_decode_and_wrong_meta(rendered, documents) -> None:
    gov = [d for d in documents if d["site"] == "government" and d["fault"] != "gone"]
    assert gov
    for d in gov:
        raw = (rendered.root / d["url"].lstrip("/")).read_bytes()
        text = raw.decode("gb18030" if d["encoding"] in ("gbk", "gb2312") else "utf-8")
        assert d["title"] in text
    shanghai = [d for d in gov if d["url"].startswith("/gov/shanghai/")]
    if shanghai:
        raw = (rendered.root / shanghai[0]["url"].lstrip("/")).read_bytes()
        assert b'<meta charset="utf-8">' in raw
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")


def test_registry_is_importable_format(rendered, world) -> None:
    rows = list(csv.DictReader(rendered.registry_csv.open(encoding="utf-8")))
    assert list(rows[0]) == list(REGISTRY_COLUMNS) and len(rows) == len(world.firms)
    for row in rows:
        assert validate_uscc(row["uscc"]) is None
        if row["stock_code"]:
            assert validate_stock_code(row["exchange"], row["stock_code"]) is None


def test_world_sources_are_valid(rendered) -> None:
    names = sorted(p.stem for p in rendered.sources_dir.glob("*.yml"))
    assert names == ["demo-exchange", "demo-gov", "demo-media", "demo-media-hk", "demo-newsrooms"]
    for name in names:
        assert load_source(name, rendered.sources_dir).name == name


def test_server_serves_site_feeds_and_api(rendered, documents) -> None:
    listed = next(d for d in documents if d["site"] == "exchange" and d["fault"] is None)
    code = listed["url"].split("/")[3]
    with serve(rendered.root) as server:
        with urllib.request.urlopen(server.url("/index.html"), timeout=10) as response:
            assert "newsrooms" in response.read().decode("utf-8")
        with urllib.request.urlopen(server.url("/media/sitemap.xml"), timeout=10) as response:
            xml = response.read().decode("utf-8")
            assert server.base_url + "/media/sitemap-" in xml and "{base_url}" not in xml
        with urllib.request.urlopen(server.url(f"/exchange/api/announcements?stock_code={code}"), timeout=10) as r:
            data = json.loads(r.read())
            assert data["total"] >= 1 and any(i["url"] == listed["url"] for i in data["items"])
        with urllib.request.urlopen(server.url(listed["url"]), timeout=10) as response:
            assert listed["title"].split("：", 1)[1] in response.read().decode("utf-8")


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com"])
def test_server_refuses_non_loopback_host(rendered, host: str) -> None:
    with pytest.raises(ValueError, match="refusing"):
        with serve(rendered.root, host=host):
            pass


def test_faults_are_recorded(rendered, documents) -> None:
    faults = json.loads((rendered.out_dir / "server" / "faults.json").read_text())
    for d in documents:
        if d["fault"] in ("flaky", "broken", "slow"):
            assert d["url"] in faults
        if d["fault"] == "gone":
            assert not (rendered.root / d["url"].lstrip("/")).exists()
        if d["malformed"]:
            assert re.search(r"<span>广告</body>", (rendered.root / d["url"].lstrip("/")).read_text(errors="replace"))


def test_step_adds_a_year_and_keeps_old_documents(tmp_path: Path) -> None:
    from demosite.render import step_world

    first = render_site(build_world(seed=7, preset="tiny"), tmp_path / "w")
    before = {p: (p.read_bytes(), p.stat().st_mtime) for p in first.root.rglob("*.html")}
    docs_before = {json.loads(line)["url"] for line in (first.truth_dir / "documents.jsonl").read_text().splitlines()}
    manifest, year = step_world(tmp_path / "w")
    assert year == 2024 and json.loads((tmp_path / "w" / "world.json").read_text())["through_year"] == 2024
    after = [json.loads(line) for line in (manifest.truth_dir / "documents.jsonl").read_text().splitlines()]
    new = [d for d in after if d["url"] not in docs_before]
    assert new and all(d["published"] >= "2024-01-01" for d in new if d["kind"] != "company_news")
    assert manifest.events > first.events
    # every old article page is byte-identical with its old time (a conditional re-crawl skips it)
    articles = [p for p in before if "/news/" in p.as_posix() and "page-" not in p.name and p.name != "index.html"
                and "/drafts/" not in p.as_posix()]
    assert articles
    for path in articles:
        assert (path.read_bytes(), path.stat().st_mtime) == before[path], path


# --------------------------------------------------------------------------------------
# the demosite command line
# --------------------------------------------------------------------------------------


def test_demosite_command_line(rendered: SiteManifest, tmp_path: Path) -> None:
    runner = CliRunner()
    shown = runner.invoke(app, ["--help"])
    assert shown.exit_code == 0
    for command in ("generate", "serve", "step", "demo"):
        assert command in shown.output
    out = tmp_path / "w"
    made = runner.invoke(app, ["generate", "--scale", "tiny", "--seed", "7", "--out", str(out)])
    assert made.exit_code == 0, made.output
    assert "8 sample firms" in made.output and f"demosite serve {out}" in made.output
    assert all_files(out) == all_files(rendered.out_dir)  # the same world, byte for byte
    stepped = runner.invoke(app, ["step", str(out)])
    assert stepped.exit_code == 0 and "now runs through 2024" in stepped.output
    assert json.loads((out / "world.json").read_text(encoding="utf-8"))["through_year"] == 2024
    unknown = runner.invoke(app, ["generate", "--scale", "huge", "--out", str(tmp_path / "x")])
    assert unknown.exit_code == 2 and "'huge' is not one of" in unknown.output  # a closed choice
    nothing = runner.invoke(app, ["serve", str(tmp_path / "empty")])
    assert nothing.exit_code == 1 and "holds no generated world" in nothing.output
    assert runner.invoke(app, ["step", str(tmp_path / "empty")]).exit_code == 1
