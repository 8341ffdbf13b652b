"""The generated demo public web: determinism, content, pagination, registry, server."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

from demosite.render import REGISTRY_COLUMNS, SiteManifest, render_site
from demosite.server import serve
from demosite.world import (
    APPLICATION_DOMAINS,
    EVENT_KINDS,
    PARTNER_KINDS,
    TECH_CATEGORIES,
    World,
    build_world,
)

REPO = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------------------
# helpers (independent re-implementations, so the tests do not trust the code under test)
# --------------------------------------------------------------------------------------

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc_ok(code: str) -> bool:
    if len(code) != 18 or any(c not in USCC_CHARS for c in code):
        return False
    total = sum(w * USCC_CHARS.index(c) for w, c in zip(USCC_WEIGHTS, code[:17], strict=True))
    return USCC_CHARS[(31 - total % 31) % 31] == code[17]


def stock_code_ok(code: str, exchange: str) -> bool:
    if exchange == "SSE":
        return re.fullmatch(r"(600|688)\d{3}", code) is not None
    if exchange == "SZSE":
        return re.fullmatch(r"(000|300)\d{3}", code) is not None
    return False


class PageParser(HTMLParser):
    """Collects the hooks crawlers use: news items, next links, title, dates, article body."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[tuple[str, str]] = []  # (href, date)
        self.next_links: list[str] = []
        self.links: list[str] = []
        self.title = ""
        self.pub_date = ""
        self.meta_pubdate = ""
        self.info = ""
        self.body: list[str] = []
        self._stack: list[str] = []
        self._marks: list[set[str]] = []
        self._in: set[str] = set()
        self._body_depth = 0
        self._item_href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        classes = set(a.get("class", "").split())
        if tag == "a":
            self.links.append(a.get("href", ""))
            if "next" in classes:
                self.next_links.append(a["href"])
            if "news-item" in self._in:
                self._item_href = a["href"]
        if tag == "meta" and a.get("name") == "pubdate":
            self.meta_pubdate = a["content"]
        if tag in ("meta", "br", "img", "link"):
            return
        marks = set()
        if tag == "li" and "news-item" in classes:
            marks.add("news-item")
        if tag == "span" and "date" in classes:
            marks.add("date")
        if tag == "h1" and "article-title" in classes:
            marks.add("title")
        if tag == "span" and "pub-date" in classes:
            marks.add("pub-date")
        if tag == "div" and "info" in classes:
            marks.add("info")
        if tag == "div" and "article-body" in classes:
            marks.add("body")
        self._stack.append(tag)
        self._marks.append(marks)
        self._in |= marks

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            top = self._stack.pop()
            marks = self._marks.pop()
            self._in -= marks
            if top == tag:
                break

    def handle_data(self, data: str) -> None:
        if "date" in self._in and self._item_href:
            self.items.append((self._item_href, data.strip()))
            self._item_href = None
        if "title" in self._in:
            self.title += data
        if "pub-date" in self._in:
            self.pub_date += data
        if "info" in self._in:
            self.info += data
        if "body" in self._in:
            self.body.append(data)


def parse(path: Path) -> PageParser:
    parser = PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser


def site_file(root: Path, url: str) -> Path:
    return root / url.lstrip("/")


def all_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(seed=7, preset="tiny")


@pytest.fixture(scope="module")
def rendered(world: World, tmp_path_factory: pytest.TempPathFactory) -> SiteManifest:
    return render_site(world, tmp_path_factory.mktemp("demosite"))


@pytest.fixture(scope="module")
def truth(rendered: SiteManifest) -> dict:
    return json.loads((rendered.truth_dir / "world.json").read_text(encoding="utf-8"))


# --------------------------------------------------------------------------------------
# determinism
# --------------------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    first = render_site(build_world(seed=7, preset="tiny"), tmp_path / "a")
    second = render_site(build_world(seed=7, preset="tiny"), tmp_path / "b")
    files_a, files_b = all_files(first.out_dir), all_files(second.out_dir)
    assert files_a.keys() == files_b.keys()
    assert len(files_a) > 50
    for name in files_a:
        assert files_a[name] == files_b[name], name
    # rendering again into the same directory replaces the previous render exactly
    third = render_site(build_world(seed=7, preset="tiny"), tmp_path / "a")
    assert all_files(third.out_dir) == files_a


def _digest(root: Path) -> str:
    digest = hashlib.sha256()
    for name, data in all_files(root).items():
        digest.update(name.encode() + b"\0" + data + b"\0")
    return digest.hexdigest()


def test_output_does_not_depend_on_hash_seed(tmp_path: Path) -> None:
    """Renders in fresh interpreters with different PYTHONHASHSEED give the same bytes."""
    code = (
        "import sys; from pathlib import Path; from demosite.world import build_world; "
        "from demosite.render import render_site; render_site(build_world(7, 'tiny'), Path(sys.argv[1]))"
    )
    digests = set()
    for hash_seed in ("1", "2"):
        out = tmp_path / f"h{hash_seed}"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", code, str(out)], check=True, cwd=REPO, env=env, timeout=120)
        digests.add(_digest(out))
    digests.add(_digest(render_site(build_world(7, "tiny"), tmp_path / "here").out_dir))
    assert len(digests) == 1


def test_different_seed_differs(tmp_path: Path) -> None:
    a = render_site(build_world(seed=7), tmp_path / "a")
    b = render_site(build_world(seed=8), tmp_path / "b")
    assert (a.out_dir / "registry.csv").read_bytes() != (b.out_dir / "registry.csv").read_bytes()
    assert (a.truth_dir / "events.csv").read_bytes() != (b.truth_dir / "events.csv").read_bytes()


def test_unknown_preset_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown preset"):
        build_world(preset="huge-typo")


def test_render_refuses_foreign_site_directory(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "mine.txt").write_text("not a demo site", encoding="utf-8")
    with pytest.raises(FileExistsError):
        render_site(build_world(), tmp_path)
    assert (tmp_path / "site" / "mine.txt").exists()


# --------------------------------------------------------------------------------------
# the world
# --------------------------------------------------------------------------------------


def test_tiny_world_shape(world: World) -> None:
    assert len(world.firms) == 8
    assert 18 <= len(world.partners) <= 24
    assert 50 <= len(world.events) <= 70
    names = {f.name for f in world.firms}
    partner_names = {p.name for p in world.partners}
    for known in ("清华大学", "中国移动通信集团有限公司", "英特尔（中国）有限公司", "杭州市人民政府"):
        assert known in partner_names
    assert all(p.kind in PARTNER_KINDS for p in world.partners)
    years = Counter(e.year for e in world.events)
    assert set(years) == set(range(2014, 2024))
    assert sum(years[y] for y in range(2019, 2024)) > 2 * sum(years[y] for y in range(2014, 2019))
    for e in world.events:
        assert e.provider != e.receiver
        assert e.provider in names or e.receiver in names
        assert e.provider in names | partner_names and e.receiver in names | partner_names
        assert e.direction in ("directed", "mutual")
        assert e.kind in EVENT_KINDS
        assert e.tech in TECH_CATEGORIES and e.domain in APPLICATION_DOMAINS
        assert e.date.year == e.year
        reporter = world.firm(e.reporter)
        assert reporter.name in (e.provider, e.receiver)
        assert reporter.founded_on < e.date
        if e.co_reporter is not None:
            assert {world.firm(e.co_reporter).name, reporter.name} == {e.provider, e.receiver}
    assert any(e.co_reporter for e in world.events), "some events are between two sample firms"
    # preferential attachment: the busiest node has several times the median degree
    degree = Counter(n for e in world.events for n in (e.provider, e.receiver))
    counts = sorted(degree.values())
    assert counts[-1] >= 2.5 * counts[len(counts) // 2]
    # technology draws lean to the report's leading category
    techs = Counter(e.tech for e in world.events)
    assert techs.most_common(1)[0][0] == "大数据和云计算"


def test_firm_attributes(world: World) -> None:
    for firm in world.firms:
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", firm.id)
        assert firm.name.endswith("有限公司")
        assert 2 <= len(firm.short_name) <= 6
        assert firm.province.endswith(("省", "市", "自治区"))
        assert firm.city.endswith("市")
        assert firm.uscc[2:8] == firm.district_code
        assert firm.tech_layer in ("基础层", "技术层", "应用层")
        if firm.listed:
            assert firm.fiscal_year == 2022 and firm.revenue_cny and firm.rd_expense_cny
            assert 0 < firm.rd_expense_cny < firm.revenue_cny
            assert firm.stock_short_name
        else:
            assert firm.stock_code is None and firm.revenue_cny is None
    assert any(f.listed for f in world.firms) and not all(f.listed for f in world.firms)


def test_taxonomy_names_match_project_data() -> None:
    yaml = pytest.importorskip("yaml")
    tech_file = REPO / "db" / "data" / "tech_categories.yml"
    domain_file = REPO / "db" / "data" / "application_domains.yml"
    if not tech_file.exists() or not domain_file.exists():
        pytest.skip("taxonomy data files not present")
    techs = [t["name"] for t in yaml.safe_load(tech_file.read_text(encoding="utf-8"))["tech_categories"]]
    domains = [
        d["name"] for d in yaml.safe_load(domain_file.read_text(encoding="utf-8"))["application_domains"]
    ]
    assert list(TECH_CATEGORIES) == techs
    assert list(APPLICATION_DOMAINS) == domains


# --------------------------------------------------------------------------------------
# site content
# --------------------------------------------------------------------------------------


def test_manifest_counts(rendered: SiteManifest, world: World, truth: dict) -> None:
    html_pages = sorted(rendered.root.rglob("*.html"))
    assert rendered.pages == len(html_pages)
    assert rendered.firms == 8 and rendered.events == len(world.events)
    assert rendered.partners == len(world.partners)
    assert (
        rendered.articles
        == len(truth["articles"])
        == len(world.events) + sum(1 for e in world.events if e.co_reporter) + len(world.news)
    )
    # about 15% of the articles are plain company news
    assert 0.08 <= len(world.news) / rendered.articles <= 0.3


def test_html_is_utf8_with_language_and_charset(rendered: SiteManifest) -> None:
    for path in rendered.root.rglob("*.html"):
        text = path.read_bytes().decode("utf-8")
        assert text.startswith("<!DOCTYPE html>\n")
        assert '<html lang="zh-CN">' in text
        assert '<meta charset="utf-8">' in text
        assert text.rstrip().endswith("</html>")


def test_robots_txt_and_private_page(rendered: SiteManifest) -> None:
    robots = (rendered.root / "robots.txt").read_text(encoding="utf-8")
    assert robots == "User-agent: *\nDisallow: /private/\n"
    assert (rendered.root / "private" / "index.html").exists()
    # the private page is linked (so a crawler that ignores robots.txt would find it) ...
    assert "/private/index.html" in parse(rendered.root / "index.html").links
    # ... but no newsroom page links to it
    for path in (rendered.root / "news").rglob("*.html"):
        assert "/private/" not in path.read_text(encoding="utf-8")


def test_index_links_every_newsroom(rendered: SiteManifest, world: World) -> None:
    links = parse(rendered.root / "index.html").links
    for firm in world.firms:
        assert f"/news/{firm.id}/index.html" in links


def test_pagination_reaches_every_article(rendered: SiteManifest, world: World) -> None:
    root = rendered.root
    for firm in world.firms:
        url = f"/news/{firm.id}/index.html"
        seen_pages: list[str] = []
        listed: list[tuple[str, str]] = []
        while url:
            assert url not in seen_pages, "pagination loops"
            seen_pages.append(url)
            page = parse(site_file(root, url))
            assert 1 <= len(page.items) <= 5
            listed += page.items
            assert len(page.next_links) <= 1
            url = page.next_links[0] if page.next_links else ""
        assert all(len(parse(site_file(root, p)).items) == 5 for p in seen_pages[:-1])
        expected = sorted(p.relative_to(root).as_posix() for p in (root / "news" / firm.id).glob("*/*.html"))
        assert sorted(href.lstrip("/") for href, _ in listed) == expected
        list_pages = sorted(p.name for p in (root / "news" / firm.id).glob("*.html"))
        assert len(list_pages) == len(seen_pages)
        # newest first, and the list date equals the article's publication date
        dates = [d for _, d in listed]
        assert dates == sorted(dates, reverse=True)
        for href, day in listed:
            assert re.fullmatch(rf"/news/{firm.id}/{day[:4]}/\d{{10}}\.html", href)
            article = parse(site_file(root, href))
            assert article.title.strip()
            if article.pub_date:
                assert article.pub_date == day
            else:
                y, m, d = day.split("-")
                assert f"发布时间：{y}年{m}月{d}日" in article.info
                assert article.meta_pubdate == day


def test_three_page_styles(rendered: SiteManifest, world: World) -> None:
    styles = set()
    for firm in world.firms:
        text = (rendered.root / "news" / firm.id / "index.html").read_text(encoding="utf-8")
        styles.add(re.search(r'<body class="newsroom (\w+)">', text).group(1))
        assert '<ul class="news-list">' in text
    assert styles == {"classic", "modern", "portal"}


def _display_names(world: World, name: str) -> tuple[str, ...]:
    firm = world.firm_by_name(name)
    return (name,) if firm is None else (name, firm.short_name)


def test_every_event_is_reported_with_both_parties(rendered: SiteManifest, world: World, truth: dict) -> None:
    truth_events = {e["id"]: e for e in truth["events"]}
    for event in world.events:
        urls = truth_events[event.id]["urls"]
        assert len(urls) == len(event.reporters) >= 1
        for url in urls:
            assert url.split("/")[2] in event.reporters
            page = parse(site_file(rendered.root, url))
            body = "".join(page.body)
            for party in (event.provider, event.receiver):
                assert any(n in body for n in _display_names(world, party)), (event.id, party, body)
            assert event.tech in body


def test_company_news_names_no_other_organisation(rendered: SiteManifest, world: World, truth: dict) -> None:
    news = [a for a in truth["articles"] if a["news_id"]]
    assert news
    for article in news:
        page = parse(site_file(rendered.root, article["url"]))
        text = page.title + "".join(page.body)
        own = world.firm(article["firm"])
        assert own.short_name in text
        for other in world.firms:
            if other is not own:
                assert other.short_name not in text and other.name not in text
        for partner in world.partners:
            assert partner.name not in text


def test_truth_events_csv(rendered: SiteManifest, world: World) -> None:
    with (rendered.truth_dir / "events.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(world.events)
    assert {
        "event_id",
        "provider",
        "receiver",
        "direction",
        "kind",
        "year",
        "date",
        "tech",
        "domain",
        "urls",
    } <= set(rows[0])
    for row, event in zip(rows, world.events, strict=True):
        assert row["event_id"] == event.id and row["provider"] == event.provider
        assert row["date"] == event.date.isoformat() and row["year"] == str(event.year)
        for url in row["urls"].split(";"):
            assert site_file(rendered.root, url).exists()


# --------------------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------------------


def test_registry_csv(rendered: SiteManifest, world: World) -> None:
    text = rendered.registry_csv.read_text(encoding="utf-8")
    assert text.splitlines()[0] == (
        "name,short_name,english_name,former_names,uscc,stock_code,exchange,stock_short_name,province,city,"
        "industry_division,founded_on,employees,listed,tech_layer,patents,fiscal_year,revenue_cny,rd_expense_cny"
    )
    rows = list(csv.DictReader(text.splitlines()))
    assert [r["name"] for r in rows] == [f.name for f in world.firms]
    assert list(rows[0]) == list(REGISTRY_COLUMNS)
    assert len({r["uscc"] for r in rows}) == len(rows)
    for row in rows:
        assert uscc_ok(row["uscc"]), row["uscc"]
        assert row["uscc"].startswith("91")
        assert row["name"].endswith(("有限公司", "股份有限公司"))
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row["founded_on"])
        assert re.fullmatch(r"\d{2}", row["industry_division"])
        assert row["listed"] in ("是", "否")
        if row["listed"] == "是":
            assert stock_code_ok(row["stock_code"], row["exchange"]), (row["stock_code"], row["exchange"])
            assert row["fiscal_year"] == "2022" and int(row["revenue_cny"]) > int(row["rd_expense_cny"]) > 0
        else:
            assert row["stock_code"] == row["exchange"] == row["stock_short_name"] == ""
            assert row["fiscal_year"] == row["revenue_cny"] == row["rd_expense_cny"] == ""


def test_uscc_check_over_many_seeds() -> None:
    for seed in range(20):
        for firm in build_world(seed=seed).firms:
            assert uscc_ok(firm.uscc), (seed, firm.uscc)
            if firm.listed:
                assert stock_code_ok(firm.stock_code, firm.exchange)


# --------------------------------------------------------------------------------------
# server
# --------------------------------------------------------------------------------------


def test_server_serves_pages(rendered: SiteManifest, world: World) -> None:
    with serve(rendered.root) as site:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", site.base_url)
        slug = world.firms[0].id
        with urllib.request.urlopen(f"{site.base_url}/news/{slug}/index.html", timeout=10) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
            body = resp.read()
        assert body == (rendered.root / "news" / slug / "index.html").read_bytes()
        with urllib.request.urlopen(f"{site.base_url}/robots.txt", timeout=10) as resp:
            assert resp.read().decode("utf-8").startswith("User-agent: *")
            assert resp.headers["Content-Type"].startswith("text/plain")
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{site.base_url}/news/no-such-firm/index.html", timeout=10)
        assert missing.value.code == 404
        with pytest.raises(urllib.error.HTTPError) as listing:
            urllib.request.urlopen(f"{site.base_url}/news/{slug}/2023/", timeout=10)
        assert listing.value.code == 404
    # the output directory (holding site/) is accepted as root too; the server is gone after exit
    with serve(rendered.out_dir) as site:
        with urllib.request.urlopen(f"{site.base_url}/index.html", timeout=10) as resp:
            assert resp.status == 200
        base = site.base_url
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{base}/index.html", timeout=2)


def test_server_accepts_localhost(rendered: SiteManifest) -> None:
    with serve(rendered.root, host="localhost") as site:
        assert site.base_url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(site.url("/robots.txt"), timeout=10) as resp:
            assert resp.status == 200


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::"])
def test_server_refuses_non_loopback_host(rendered: SiteManifest, host: str) -> None:
    with pytest.raises(ValueError, match="refusing"):
        with serve(rendered.root, host=host):
            pass
