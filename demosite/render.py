"""Render a :class:`~demosite.world.World` to the demo web, its registry, sources and ground truth.

Layout written by :func:`render_site` under ``out_dir``::

    site/                      what the server serves (see demosite.sites for each part)
      robots.txt               disallows /private/, /news/*/drafts/, /media/search, /media-hk/search
      index.html               links to every newsroom, portal and media site
      news/<slug>/...          corporate newsrooms (UTF-8)
      exchange/disclosure/...  exchange announcements and annual-report summaries
      gov/<portal>/...         government portals (.htm; GBK, GB2312, one with a wrong meta charset)
      media/, media-hk/        syndicating media, RSS/Atom feeds and sitemaps (traditional Chinese in -hk)
      _hosts/<host>/...        real hosts emulated by path prefix: cninfo and HKEXnews static files,
                               newsrooms and portals with robots/sitemaps/feeds (demosite.sites.hosts)
    server/faults.json         injected faults the server applies (500s, slow answers)
    server/exchange/<code>.json  the exchange search API's index per stock code
    server/cninfo.json         the cninfo query's records (demosite.sites.cninfo)
    server/hkex.json           HKEXnews stocks and title-search rows (demosite.sites.hkex)
    server/pdfs.json           every announcement PDF as a spec the server builds on request (demosite.pdfs)
    server/hosts.json          newsroom/portal article paths under real hosts -> the demo pages they serve
    firms.csv                  the firm registry in the format `aimap firms import` reads
    sources/*.yml              crawl sources for this world (start URLs use {base_url})
    truth/organisations.jsonl  every organisation with aliases and attributes
    truth/events.csv|.jsonl    every event with parties, direction, kind, status, year, categories, the
                               crawlable documents reporting it ("observable": at least one; an event
                               whose only report is a dead page cannot be found by a crawler)
    truth/documents.jsonl      every document: URL, site, what it reports, names used, faults
    truth/world.json           seed, preset, through year, counts, robots rules, fault list
    truth/announcements.jsonl  every cninfo / HKEXnews document: relevant (cooperation) or not, PDF fault, text
    truth/hosts.json           every emulated host and its entry points
    truth/host_documents.jsonl the newsroom/portal articles under real hosts (mirror_of: the demo path)
    world.json                 how to regenerate this directory (seed, preset, through year)

Output is byte-identical for the same world. Every file's modification time is set to the date
its content was last changed (a document's publication date), and the server reports it as
``Last-Modified``; rendering the next year of the same world leaves old documents unchanged.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from demosite.model import World
from demosite.pages import DocTruth, Page, escape, html_page
from demosite.sites import (
    Context,
    cninfo,
    event_status,
    event_witnesses,
    exchange,
    government,
    hkex,
    hosts,
    media,
    newsroom,
)
from demosite.world import build_world

ROBOTS_TXT = (
    "User-agent: *\nDisallow: /private/\nDisallow: /news/*/drafts/\nDisallow: /media/search\n"
    "Disallow: /media-hk/search\n"
)
ROBOTS_DISALLOW = ("/private/", "/news/*/drafts/", "/media/search", "/media-hk/search")
PRIVATE_PATH = "/private/index.html"
REGISTRY_COLUMNS: tuple[str, ...] = (
    "name", "short_name", "english_name", "former_names", "uscc", "stock_code", "exchange", "stock_short_name",
    "province", "city", "industry_division", "founded_on", "employees", "listed", "tech_layer", "patents",
    "fiscal_year", "revenue_cny", "rd_expense_cny",
)
EVENT_COLUMNS: tuple[str, ...] = (
    "event_id", "provider", "receiver", "direction", "kind", "status", "terminated_on", "year", "date", "tech",
    "domain", "provider_kind", "receiver_kind", "group_id", "witnesses", "reporters", "urls", "observable",
)
LIST_SEPARATOR = ";"
#: Server-side faults by fault kind (the others are rendered: gone = not written, malformed HTML).
SERVER_FAULTS = {"flaky": {"status": 500, "times": 2}, "broken": {"status": 500}, "slow": {"delay": 0.2}}


@dataclass(frozen=True)
class SiteManifest:
    """What :func:`render_site` wrote."""

    root: Path  # the site directory: serve this
    out_dir: Path
    firms: int
    partners: int
    events: int
    documents: int  # article-like pages (cooperation reports, notices, news, drafts)
    pages: int  # every file of the site
    registry_csv: Path
    truth_dir: Path
    sources_dir: Path
    host_files: int = 0  # files under site/_hosts/ (the emulated real hosts), not counted in ``pages``


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return LIST_SEPARATOR.join(str(v) for v in value)
    return str(value)


def _csv(header: tuple[str, ...], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list | set | frozenset):
        items = [_jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)
                if not f.name.startswith("_")}
    return value


def registry_csv(world: World) -> str:
    """The firm registry as CSV text (header :data:`REGISTRY_COLUMNS`, one row per sample firm)."""
    rows = [[_cell(getattr(f, c, None)) for c in REGISTRY_COLUMNS] for f in world.firms]
    return _csv(REGISTRY_COLUMNS, rows)


def _organisations(ctx: Context) -> str:
    lines = []
    for f in ctx.world.firms:
        record = _jsonable(f) | {"is_sample": True, "kind": "firm", "aliases": ctx.phraser.names[f.name]}
        lines.append(json.dumps(record, ensure_ascii=False, sort_keys=True))
    for p in ctx.world.partners:
        record = _jsonable(p) | {"is_sample": False, "aliases": ctx.phraser.names[p.name]}
        lines.append(json.dumps(record, ensure_ascii=False, sort_keys=True))
    return "\n".join(lines) + "\n"


def _events(ctx: Context, urls: dict[str, list[str]]) -> tuple[str, str]:
    world = ctx.world
    kinds = {p.name: p.kind for p in world.partners} | {f.name: "sample" for f in world.firms}
    rows, lines = [], []
    for e in world.events:
        status, ended = event_status(e)
        event_urls = sorted(urls.get(e.id, []))
        witnesses = event_witnesses(e)
        rows.append([e.id, e.provider, e.receiver, e.direction, e.kind, status, _cell(ended), str(e.year),
                     e.date.isoformat(), e.tech, e.domain, kinds.get(e.provider, ""), kinds.get(e.receiver, ""),
                     getattr(e, "group_id", None) or "", LIST_SEPARATOR.join(witnesses),
                     LIST_SEPARATOR.join(e.reporters), LIST_SEPARATOR.join(event_urls),
                     "yes" if event_urls else "no"])
        record = _jsonable(e) | {"status": status, "terminated_on": _cell(ended) or None,
                                 "reporters": list(e.reporters), "urls": event_urls,
                                 "observable": bool(event_urls)}
        lines.append(json.dumps(record, ensure_ascii=False, sort_keys=True))
    return _csv(EVENT_COLUMNS, rows), "\n".join(lines) + "\n"


def _index_page(world: World) -> str:
    newsrooms = "".join(f'<li class="newsroom"><a href="{newsroom.list_page_path(f.id, 1)}">'
                        f"{escape(f.short_name)}新闻中心</a></li>\n" for f in world.firms)
    portals = "".join(f'<li><a href="{government.list_path(slug, 1)}">{escape(prov)}人民政府</a></li>\n'
                      for slug, prov, _enc, _meta in government.PORTALS)
    body = ('<div class="portal">\n<h1>人工智能产业公开信息导航（演示站点）</h1>\n'
            "<p>本站为测试用的演示网站，企业名称和新闻内容均为虚构。</p>\n"
            f'<h2>企业新闻中心</h2>\n<ul class="newsrooms">\n{newsrooms}</ul>\n'
            f'<h2>政府门户</h2>\n<ul class="portals">\n{portals}</ul>\n'
            '<h2>媒体</h2>\n<ul class="media"><li><a href="/media/index.html">智能产业网</a></li>'
            '<li><a href="/media-hk/index.html">香港智能產業報</a></li></ul>\n'
            f'<p class="footer-links"><a href="{PRIVATE_PATH}">内部资料</a></p>\n</div>\n')
    return html_page("人工智能产业公开信息导航", body, body_class="home")


def _private_page(world: World) -> str:
    short = world.firms[0].short_name
    body = ('<div class="container">\n<h1 class="article-title">内部资料：未公开合作事项</h1>\n'
            '<div class="meta"><span class="pub-date">2023-12-31</span></div>\n<div class="article-body">\n'
            f"<p>2023年12月31日，{escape(short)}与保密项目合作方科技有限公司签署战略合作协议（未公开，请勿抓取）。</p>\n"
            "</div>\n</div>\n")
    return html_page("内部资料", body, body_class="private", head_extra='<meta name="robots" content="noindex, nofollow">\n')


def build_pages(world: World) -> tuple[Context, list[Page], dict[str, list[dict[str, str]]]]:
    """Every page of the site (with its truth) and the exchange API index, in memory."""
    ctx = Context.build(world)
    newest = max((e.date for e in world.events), default=dt.date(2014, 1, 1))
    pages = [
        Page("/robots.txt", ROBOTS_TXT.encode("utf-8"), dt.date(2014, 1, 1)),
        Page("/index.html", _index_page(world).encode("utf-8"), newest),
        Page(PRIVATE_PATH, _private_page(world).encode("utf-8"), dt.date(2023, 12, 31),
             DocTruth(url=PRIVATE_PATH, site="private", source="", kind="private", title="内部资料",
                      published=dt.date(2023, 12, 31), crawlable=False)),
    ]
    pages += newsroom.render(ctx)
    exchange_pages, index = exchange.render(ctx)
    pages += exchange_pages
    pages += government.render(ctx)
    pages += media.render(ctx)
    return ctx, pages, index


@dataclass
class Disclosure:
    """The real-protocol part of the demo web: host pages, server indexes and their truth."""

    pages: list[Page]
    cninfo: list[dict[str, Any]]
    hkex: dict[str, Any]
    pdfs: dict[str, dict[str, Any]]
    articles: dict[str, str]
    announcements: list[dict[str, Any]]
    hosts: dict[str, Any]
    host_documents: list[dict[str, Any]]


def build_disclosure(ctx: Context, pages: list[Page]) -> Disclosure:
    """cninfo, HKEXnews and the newsroom/portal hosts (demosite.sites.cninfo, hkex, hosts)."""
    cn_pages, cn_records, cn_specs, cn_truth = cninfo.render(ctx)
    hk_pages, hk_index, hk_specs, hk_truth = hkex.render(ctx)
    host_pages, articles, host_list, host_docs = hosts.render(ctx, pages)
    for host, kind in ((cninfo.HOST, "cninfo"), (cninfo.STATIC_HOST, "cninfo-static"), (hkex.HOST, "hkex")):
        host_list[host] = {"kind": kind, "robots": f"https://{host}/robots.txt", "real": True}
    return Disclosure(cn_pages + hk_pages + host_pages, cn_records, hk_index, cn_specs | hk_specs, articles,
                      cn_truth + hk_truth, host_list, host_docs)


def _jsonl(records: list[dict[str, Any]]) -> bytes:
    return ("".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records)).encode("utf-8")


def _write_disclosure(disclosure: Disclosure, server_dir: Path, truth_dir: Path) -> None:
    compact = {"ensure_ascii": False, "sort_keys": True, "separators": (",", ":")}
    _write(server_dir / "cninfo.json", json.dumps(disclosure.cninfo, **compact).encode("utf-8"))
    _write(server_dir / "hkex.json", json.dumps(disclosure.hkex, **compact).encode("utf-8"))
    _write(server_dir / "pdfs.json", json.dumps(disclosure.pdfs, **compact).encode("utf-8"))
    _write(server_dir / "hosts.json", json.dumps(disclosure.articles, **compact).encode("utf-8"))
    _write(truth_dir / "announcements.jsonl", _jsonl(disclosure.announcements))
    _write(truth_dir / "hosts.json", (json.dumps(disclosure.hosts, ensure_ascii=False, indent=1, sort_keys=True)
                                      + "\n").encode("utf-8"))
    _write(truth_dir / "host_documents.jsonl", _jsonl(disclosure.host_documents))


def _write(path: Path, data: bytes, modified: dt.date | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not (path.exists() and path.read_bytes() == data):
        path.write_bytes(data)
    if modified is not None:
        stamp = dt.datetime(modified.year, modified.month, modified.day, 8, tzinfo=dt.UTC).timestamp()
        os.utime(path, (stamp, stamp))


def _prune(root: Path, keep: set[Path]) -> None:
    """Delete files under ``root`` that the new render did not write (and empty folders)."""
    if not root.exists():
        return
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_file() and path not in keep:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def _sources(out_dir: Path) -> dict[str, str]:
    """The crawl source files of this world (templates in demosite/data/sources/)."""
    template_dir = Path(__file__).resolve().parent / "data" / "sources"
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(template_dir.glob("*.yml"))}


def render_site(world: World, out_dir: Path) -> SiteManifest:
    """Write the site, registry, sources and ground truth of ``world`` under ``out_dir``.

    A previous render in ``out_dir`` is updated in place: unchanged files keep their bytes and
    times, files the world no longer has are removed. Output is byte-identical for one world.
    """
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    site, truth_dir = out_dir / "site", out_dir / "truth"
    if site.exists() and not (truth_dir / "world.json").exists():
        raise FileExistsError(f"{site} exists but is not a rendered demo site; refusing to overwrite it")
    ctx, pages, index = build_pages(world)
    disclosure = build_disclosure(ctx, pages)
    written: set[Path] = set()
    documents: list[DocTruth] = []
    faults: dict[str, dict[str, Any]] = {}
    urls: dict[str, list[str]] = {}
    for page in pages:
        path = site / page.path.lstrip("/")
        truth = page.truth
        if truth is not None:
            documents.append(truth)
            if truth.fault in SERVER_FAULTS:
                faults[page.path] = SERVER_FAULTS[truth.fault]
            if truth.crawlable and truth.fault not in ("gone", "broken"):
                for event_id in truth.events:
                    urls.setdefault(event_id, []).append(truth.url)
            if truth.fault == "gone":
                continue
        _write(path, page.body, page.modified)
        written.add(path)
    classic_files = len(written)
    for page in disclosure.pages:
        path = site / page.path.lstrip("/")
        _write(path, page.body, page.modified)
        written.add(path)
    _prune(site, written)

    server_dir = out_dir / "server"
    if server_dir.exists():
        shutil.rmtree(server_dir)
    exchange.write_index(index, str(server_dir))
    _write(server_dir / "faults.json", json.dumps(faults, indent=1, sort_keys=True).encode("utf-8"))
    _write_disclosure(disclosure, server_dir, truth_dir)

    _write(out_dir / "firms.csv", registry_csv(world).encode("utf-8"))
    sources_dir = out_dir / "sources"
    _prune(sources_dir, set())
    for name, text in _sources(out_dir).items():
        _write(sources_dir / name, text.encode("utf-8"))

    documents.sort(key=lambda d: d.url)
    events_csv, events_jsonl = _events(ctx, urls)
    _write(truth_dir / "organisations.jsonl", _organisations(ctx).encode("utf-8"))
    _write(truth_dir / "events.csv", events_csv.encode("utf-8"))
    _write(truth_dir / "events.jsonl", events_jsonl.encode("utf-8"))
    doc_lines = "\n".join(json.dumps(d.as_json(), ensure_ascii=False, sort_keys=True) for d in documents) + "\n"
    _write(truth_dir / "documents.jsonl", doc_lines.encode("utf-8"))
    through_year = getattr(world, "through_year", max((e.year for e in world.events), default=2023))
    summary = {
        "seed": world.seed,
        "preset": world.preset,
        "through_year": through_year,
        "counts": {
            "firms": len(world.firms),
            "partners": len(world.partners),
            "events": len(world.events),
            "documents": len(documents),
            "crawlable_documents": sum(1 for d in documents if d.crawlable and d.fault not in ("gone", "broken")),
            "pages": classic_files,
        },
        "robots_disallow": list(ROBOTS_DISALLOW),
        "faults": {kind: sorted(d.url for d in documents if d.fault == kind)
                   for kind in ("gone", "flaky", "broken", "slow", "malformed")},
    }
    _write(truth_dir / "world.json", (json.dumps(summary, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
           .encode("utf-8"))
    _write(out_dir / "world.json", (json.dumps({"seed": world.seed, "preset": world.preset,
                                                "through_year": through_year}, indent=1) + "\n").encode("utf-8"))
    return SiteManifest(
        root=site, out_dir=out_dir, firms=len(world.firms), partners=len(world.partners), events=len(world.events),
        documents=len(documents), pages=classic_files, registry_csv=out_dir / "firms.csv", truth_dir=truth_dir,
        sources_dir=sources_dir, host_files=len(written) - classic_files,
    )


def step_world(out_dir: Path) -> tuple[SiteManifest, int]:
    """Advance the world rendered in ``out_dir`` by one year and re-render it in place.

    Reads ``world.json`` (seed, preset, through year), generates the same world one year
    further (the earlier years are unchanged) and renders it: old documents keep their bytes
    and times, so a re-crawl with conditional requests fetches only what is new.
    """
    spec_file = Path(out_dir) / "world.json"
    if not spec_file.exists():
        raise FileNotFoundError(f"{spec_file} not found: {out_dir} holds no generated world")
    spec = json.loads(spec_file.read_text(encoding="utf-8"))
    year = int(spec["through_year"]) + 1
    world = build_world(seed=int(spec["seed"]), preset=str(spec["preset"]), through_year=year)
    return render_site(world, Path(out_dir)), year
