"""Industry media that syndicate cooperation news, with feeds and sitemaps.

- ``/media/``: 智能产业网 (simplified Chinese, UTF-8). Rewrites a share of the events in its own
  words (another phrasing, another name form, often "据X消息" attribution): the same event then
  has documents on several sites, which deduplication must merge.
- ``/media-hk/``: a Hong Kong edition in traditional Chinese (OpenCC s2t conversion).
- Feeds: ``/media/rss.xml`` (RSS 2.0, the newest 50 items) and ``/media-hk/atom.xml`` (Atom);
  sitemaps ``/media/sitemap.xml`` and ``/media-hk/sitemap.xml`` (sitemap indexes with one
  sitemap per year and ``<lastmod>``), so feed crawls can be incremental by date.
- ``/media/search`` is disallowed by robots.txt.
"""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime
from functools import lru_cache

import opencc

from demosite.model import Event
from demosite.pages import DocTruth, Page, escape, html_page, malform
from demosite.phrasing import Written
from demosite.sites import Context

SITES = {
    "media": {"source": "demo-media", "name": "智能产业网", "lang": "zh-CN", "language": "zh-Hans"},
    "media-hk": {"source": "demo-media-hk", "name": "香港智能產業報", "lang": "zh-HK", "language": "zh-Hant"},
}
SYNDICATION_SHARE = 0.25  # share of events the media rewrite
HK_SHARE = 0.3  # of those, the share published by the Hong Kong edition
FEED_ITEMS = 50


@lru_cache(maxsize=1)
def _s2t():  # noqa: ANN202 - opencc has no type hints
    return opencc.OpenCC("s2t")


def to_traditional(text: str) -> str:
    """``text`` in traditional Chinese (OpenCC s2t), as the Hong Kong sites write it."""
    return _s2t().convert(text)


def _article(ctx: Context, site: str, e: Event, path: str) -> DocTruth:
    rng = ctx.rng(path)
    w = Written()
    ph = ctx.phraser
    sentence = ph.relation(rng, kind=e.kind, direction=e.direction, provider=e.provider, receiver=e.receiver,
                           day=e.date, tech=e.tech, domain=e.domain, written=w)
    source_name = ph.name(rng, e.provider if rng.random() < 0.5 else e.receiver, w)
    intro = rng.choice((f"据{source_name}消息，", "本报讯 ", "【智能产业网讯】", ""))
    paragraphs = [intro + sentence,
                  f"业内人士认为，{e.tech}与{e.domain}的深度融合正成为行业发展的新趋势。"]
    title = rng.choice((f"{e.tech}+{e.domain}：又一合作落地", f"{e.domain}领域再添新合作",
                        f"聚焦{e.tech}，产业合作持续深化"))
    meta = SITES[site]
    truth = DocTruth(url=path, site=site, source=meta["source"], kind="cooperation", title=title,
                     published=e.date, language=meta["language"], events=[e.id], syndicates=e.id, written=w,
                     text="\n".join(paragraphs))
    if site == "media-hk":
        convert = _s2t().convert
        truth.title = convert(truth.title)
        truth.text = convert(truth.text)
        for canonical, names in list(w.surfaces.items()):
            w.surfaces[canonical] = {convert(n) for n in names}
    return truth


def _article_html(site: str, truth: DocTruth) -> str:
    meta = SITES[site]
    body = "".join(f"<p>{escape(p)}</p>\n" for p in truth.text.split("\n"))
    content = (f'<header class="masthead"><a href="/{site}/">{escape(meta["name"])}</a>'
               f'<form action="/{site}/search"><input name="q"></form></header>\n'
               f'<article>\n<h1 class="headline">{escape(truth.title)}</h1>\n'
               f'<time class="published" datetime="{truth.published.isoformat()}">{truth.published.isoformat()}</time>\n'
               f'<div class="story">\n{body}</div>\n</article>\n')
    return html_page(truth.title, content, body_class="media-article", lang=meta["lang"])


def _rss(site: str, truths: list[DocTruth]) -> str:
    items = "".join(
        f"<item><title>{escape(t.title)}</title><link>{{base_url}}{t.url}</link><guid>{t.url}</guid>"
        f"<pubDate>{format_datetime(dt.datetime(t.published.year, t.published.month, t.published.day, 8, tzinfo=dt.UTC))}"
        "</pubDate></item>\n"
        for t in truths[:FEED_ITEMS]
    )
    return ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>{escape(SITES[site]['name'])}</title><link>{{base_url}}/{site}/</link>\n{items}</channel></rss>\n")


def _atom(site: str, truths: list[DocTruth]) -> str:
    entries = "".join(
        f'<entry><title>{escape(t.title)}</title><link href="{{base_url}}{t.url}"/><id>{t.url}</id>'
        f"<updated>{t.published.isoformat()}T08:00:00Z</updated></entry>\n"
        for t in truths[:FEED_ITEMS]
    )
    updated = truths[0].published.isoformat() if truths else "2014-01-01"
    return ('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{escape(SITES[site]['name'])}</title><id>/{site}/</id><updated>{updated}T08:00:00Z</updated>\n"
            f"{entries}</feed>\n")


def _sitemaps(site: str, truths: list[DocTruth]) -> list[Page]:
    by_year: dict[int, list[DocTruth]] = {}
    for t in truths:
        by_year.setdefault(t.published.year, []).append(t)
    pages = []
    index_entries = []
    for year in sorted(by_year):
        items = sorted(by_year[year], key=lambda t: t.url)
        urls = "".join(f"<url><loc>{{base_url}}{t.url}</loc><lastmod>{t.published.isoformat()}</lastmod></url>\n"
                       for t in items)
        xml = ('<?xml version="1.0" encoding="utf-8"?>\n'
               f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{urls}</urlset>\n')
        newest = max(t.published for t in items)
        path = f"/{site}/sitemap-{year}.xml"
        pages.append(Page(path, xml.encode("utf-8"), newest))
        index_entries.append(f"<sitemap><loc>{{base_url}}{path}</loc><lastmod>{newest.isoformat()}</lastmod></sitemap>\n")
    index = ('<?xml version="1.0" encoding="utf-8"?>\n'
             f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{"".join(index_entries)}</sitemapindex>\n')
    newest = max((t.published for t in truths), default=dt.date(2014, 1, 1))
    pages.append(Page(f"/{site}/sitemap.xml", index.encode("utf-8"), newest))
    return pages


def render(ctx: Context) -> list[Page]:
    """Media articles, feeds and sitemaps.

    Feeds and sitemaps carry ``{base_url}`` placeholders: absolute URLs depend on where the
    site is served, so the server fills them in (see :mod:`demosite.server`).
    """
    chosen: dict[str, list[Event]] = {"media": [], "media-hk": []}
    for e in sorted(ctx.world.events, key=lambda e: (e.date, e.id)):
        rng = ctx.rng(f"syndicate:{e.id}")
        if rng.random() < SYNDICATION_SHARE:
            chosen["media-hk" if rng.random() < HK_SHARE else "media"].append(e)
    pages: list[Page] = []
    for site, events in chosen.items():
        truths = []
        per_day: dict[dt.date, int] = {}
        for e in events:
            per_day[e.date] = per_day.get(e.date, 0) + 1
            path = f"/{site}/{e.date:%Y/%m}/{e.date:%d}{per_day[e.date]:03d}.html"
            truths.append(_article(ctx, site, e, path))
        truths.sort(key=lambda t: (t.published, t.url), reverse=True)
        for truth in truths:
            truth.fault = ctx.fault(truth.url)
            html = _article_html(site, truth)
            if truth.fault == "malformed":
                html, truth.malformed = malform(html), True
            pages.append(Page(truth.url, b"" if truth.fault == "gone" else html.encode("utf-8"), truth.published, truth))
        newest = truths[0].published if truths else dt.date(2014, 1, 1)
        feed = _rss(site, truths) if site == "media" else _atom(site, truths)
        pages.append(Page(f"/{site}/rss.xml" if site == "media" else f"/{site}/atom.xml", feed.encode("utf-8"), newest))
        pages.extend(_sitemaps(site, truths))
        home = "".join(f'<li><a href="{t.url}">{escape(t.title)}</a></li>\n' for t in truths[:20])
        pages.append(Page(f"/{site}/index.html", html_page(SITES[site]["name"], f"<ul>\n{home}</ul>\n",
                                                            lang=SITES[site]["lang"]).encode("utf-8"), newest))
    return pages
