"""Newsrooms and government portals under their real hosts, found through robots.txt, sitemaps and feeds.

The shipped real source files (a sitemap/feed source kind with generic text extraction, no CSS
selectors) run against the demo web with only a host mapping: the server serves host ``H`` under
``/_hosts/H/`` (see :mod:`demosite.server`). For the newsroom of every hub that is a sample firm, every
provincial portal and two ministries this module writes, under the real host (``data/hosts.yml``;
fictitious firms have no real host and keep only their ``/news/<slug>/`` newsroom):

- ``/robots.txt`` with a ``Sitemap:`` line; ``/sitemap.xml`` (a sitemap index) -> ``/sitemap-YYYY.xml``
  (urlsets with ``<lastmod>``); ``/feed.xml`` (RSS 2.0) and ``/atom.xml`` (Atom), the newest
  :data:`FEED_ITEMS`; ``/news/index.html`` and ``/news/page-N.html`` (a plain list, ``a[rel=next]``);
- the same list page at the host's real news address (``list_paths`` in ``data/hosts.yml``, the shipped
  source files' ``list_pages``), so those files run unchanged;
- two national ministry portals (``ministries``: 工业和信息化部, 科学技术部) carrying the demo pages that
  report an event the ministry is a party to or witnessed;
- the articles ``/news/YYYY/MM/<site>-<name>``: the demo newsroom / portal pages themselves (same bytes, text
  and truth; portal pages stay GBK/GB2312 ``.htm`` without a charset header), served by the server
  from ``server/hosts.json`` (host path -> demo path). Their links are the demo's relative ones: a
  sitemap/feed crawler reads them, it does not follow them.

Every address inside is the real ``https://H/...`` one: a crawler stores documents under them. The
truth is ``truth/hosts.json`` (hosts and entry points) and ``truth/host_documents.jsonl`` (each
article with ``mirror_of``, the demo path of its record in ``documents.jsonl``).
"""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from demosite.pages import DocTruth, Page, escape, html_page
from demosite.sites import Context, government

FEED_ITEMS = 50
PER_PAGE = 20
_START = dt.date(2014, 1, 1)


@lru_cache(maxsize=1)
def host_config() -> dict[str, Any]:
    """``data/hosts.yml``: real hosts of newsrooms, portals and disclosure services."""
    path = Path(__file__).resolve().parent.parent / "data" / "hosts.yml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def newsroom_host(slug: str) -> str:
    """The real host of a hub's newsroom (KeyError for a firm without one: fictitious firms get none)."""
    return host_config()["newsrooms"][slug]


def _stamp(day: dt.date) -> str:
    return format_datetime(dt.datetime(day.year, day.month, day.day, 8, tzinfo=dt.UTC))


@lru_cache(maxsize=65536)
def _path_of(url: str, published: dt.date) -> str:
    parts = url.split("/")
    return f"/news/{published:%Y}/{published:%m}/{parts[2]}-{parts[-1]}"


def _path(truth: DocTruth) -> str:
    """The article's path on its host: ``/news/YYYY/MM/<site>-<name>.<ext>`` (the demo page's site and file name)."""
    return _path_of(truth.url, truth.published)


def _lists(host: str, name: str, truths: list[DocTruth]) -> list[Page]:
    n_pages = max(1, -(-len(truths) // PER_PAGE))
    pages = []
    for page in range(1, n_pages + 1):
        chunk = truths[(page - 1) * PER_PAGE: page * PER_PAGE]
        items = "".join(f'<li><a href="https://{host}{_path(t)}">{escape(t.title)}</a> <span>{t.published}</span></li>\n'
                        for t in chunk)
        nxt = f'<a rel="next" href="https://{host}/news/page-{page + 1}.html">下一页</a>' if page < n_pages else ""
        content = f"<h1>{escape(name)} · 新闻中心</h1>\n<ul>\n{items}</ul>\n<p>{nxt}</p>\n"
        path = f"/_hosts/{host}/news/index.html" if page == 1 else f"/_hosts/{host}/news/page-{page}.html"
        pages.append(Page(path, html_page(f"新闻中心 - {name}", content).encode("utf-8"),
                          chunk[0].published if chunk else _START))
    return pages


def _feeds(host: str, name: str, truths: list[DocTruth]) -> list[Page]:
    newest = truths[0].published if truths else _START
    items = "".join(f"<item><title>{escape(t.title)}</title><link>https://{host}{_path(t)}</link>"
                    f"<guid>https://{host}{_path(t)}</guid><pubDate>{_stamp(t.published)}</pubDate></item>\n"
                    for t in truths[:FEED_ITEMS])
    rss = ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
           f"<title>{escape(name)}</title><link>https://{host}/</link>\n{items}</channel></rss>\n")
    entries = "".join(f'<entry><title>{escape(t.title)}</title><link href="https://{host}{_path(t)}"/>'
                      f"<id>https://{host}{_path(t)}</id><updated>{t.published.isoformat()}T08:00:00Z</updated></entry>\n"
                      for t in truths[:FEED_ITEMS])
    atom = ('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{escape(name)}</title><id>https://{host}/</id><updated>{newest.isoformat()}T08:00:00Z</updated>\n"
            f"{entries}</feed>\n")
    return [Page(f"/_hosts/{host}/feed.xml", rss.encode("utf-8"), newest),
            Page(f"/_hosts/{host}/atom.xml", atom.encode("utf-8"), newest)]


def _sitemaps(host: str, truths: list[DocTruth]) -> list[Page]:
    by_year: dict[int, list[DocTruth]] = {}
    for t in truths:
        by_year.setdefault(t.published.year, []).append(t)
    pages, index = [], []
    for year in sorted(by_year):
        items = sorted(by_year[year], key=_path)
        urls = "".join(f"<url><loc>https://{host}{_path(t)}</loc><lastmod>{t.published.isoformat()}</lastmod></url>\n"
                       for t in items)
        newest = max(t.published for t in items)
        pages.append(Page(f"/_hosts/{host}/sitemap-{year}.xml", (
            '<?xml version="1.0" encoding="utf-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            f"{urls}</urlset>\n").encode(), newest))
        index.append(f"<sitemap><loc>https://{host}/sitemap-{year}.xml</loc><lastmod>{newest.isoformat()}</lastmod></sitemap>\n")
    newest = max((t.published for t in truths), default=_START)
    pages.append(Page(f"/_hosts/{host}/sitemap.xml", (
        '<?xml version="1.0" encoding="utf-8"?>\n<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        f"{''.join(index)}</sitemapindex>\n").encode(), newest))
    return pages


def _site(host: str, name: str, truths: list[DocTruth]) -> list[Page]:
    truths = sorted(truths, key=lambda t: (t.published, t.url), reverse=True)
    robots = f"User-agent: *\nDisallow: /search\nSitemap: https://{host}/sitemap.xml\n"
    home = html_page(name, f'<h1>{escape(name)}</h1>\n<p><a href="https://{host}/news/index.html">新闻中心</a></p>\n')
    pages = [Page(f"/_hosts/{host}/robots.txt", robots.encode("utf-8"), _START),
             Page(f"/_hosts/{host}/index.html", home.encode("utf-8"), _START)]
    return pages + _lists(host, name, truths) + _feeds(host, name, truths) + _sitemaps(host, truths)


def _ministry_documents(ctx: Context, pages: list[Page], ministry: str) -> list[DocTruth]:
    """Documents reporting an event the ministry is a party to or witnessed (portal reports first)."""
    events = {e.id for e in ctx.world.events if ministry in (e.provider, e.receiver, *(e.witnesses or ()))}
    chosen: dict[str, DocTruth] = {}
    for page in sorted(pages, key=lambda p: (not p.path.startswith("/gov/"), p.path)):
        truth = page.truth
        if _served(truth) and page.path.startswith(("/gov/", "/news/")):
            for event in truth.events:  # type: ignore[union-attr]
                if event in events and event not in chosen:
                    chosen[event] = truth  # type: ignore[assignment]
    return sorted({t.url: t for t in chosen.values()}.values(), key=lambda t: t.url)


def _served(truth: DocTruth | None) -> bool:
    return truth is not None and truth.crawlable and truth.fault != "gone" and truth.kind != "draft"


def render(ctx: Context, pages: list[Page]) -> tuple[list[Page], dict[str, str], dict[str, Any], list[dict[str, Any]]]:
    """Host pages (robots, lists, feeds, sitemaps), the article map (host path -> demo path), hosts, documents.

    Articles are not copied: the server answers ``/_hosts/H/news/YYYY/MM/<name>`` with the demo page
    the map names (its bytes, ETag and Last-Modified), so rendering writes no second copy of them.
    """
    by_prefix: dict[str, list[DocTruth]] = {}
    for page in pages:
        if _served(page.truth) and page.path.startswith(("/news/", "/gov/")):
            prefix = "/".join(page.path.split("/")[:3])
            by_prefix.setdefault(prefix, []).append(page.truth)  # type: ignore[arg-type]
    sites: list[tuple[str, str, str, str]] = []  # host, name, kind, prefix
    for firm in ctx.world.firms:
        if firm.id in host_config()["newsrooms"]:
            sites.append((newsroom_host(firm.id), f"{firm.short_name}新闻中心", "newsroom", f"/news/{firm.id}"))
    portal_hosts = host_config()["portals"]
    for slug, province, _enc, _meta in government.PORTALS:
        sites.append((portal_hosts[slug], f"{province}人民政府", "portal", f"/gov/{slug}"))
    for host, ministry in host_config()["ministries"].items():
        by_prefix[f"/ministry/{host}"] = _ministry_documents(ctx, pages, ministry)
        sites.append((host, ministry, "ministry", f"/ministry/{host}"))
    out: list[Page] = []
    articles: dict[str, str] = {}
    hosts: dict[str, Any] = {}
    documents: list[dict[str, Any]] = []
    for host, name, kind, prefix in sites:
        truths = by_prefix.get(prefix, [])
        out += _site(host, name, truths)
        hosts[host] = {"kind": kind, "of": prefix.rsplit("/", 1)[1], "name": name, "documents": len(truths),
                       "robots": f"https://{host}/robots.txt", "sitemap": f"https://{host}/sitemap.xml",
                       "rss": f"https://{host}/feed.xml", "atom": f"https://{host}/atom.xml",
                       "list": f"https://{host}/news/index.html",
                       "real": True}
        list_path = host_config()["list_paths"].get(host)
        if list_path:  # the real list address too, with and without its trailing slash
            for variant in {list_path, list_path.rstrip("/")}:
                articles[f"/_hosts/{host}{variant}"] = f"/_hosts/{host}/news/index.html"
            hosts[host]["list_real"] = f"https://{host}{list_path}"
        for t in truths:
            articles[f"/_hosts/{host}{_path(t)}"] = t.url
            documents.append({"url": f"https://{host}{_path(t)}", "host": host, "mirror_of": t.url, "kind": t.kind,
                              "title": t.title, "published": t.published.isoformat(), "events": t.events,
                              "historical": t.historical, "terminated": t.terminated, "language": t.language})
    documents.sort(key=lambda d: d["url"])
    return out, articles, hosts, documents
