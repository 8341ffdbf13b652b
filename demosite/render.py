"""Render a :class:`~demosite.world.World` to a static demo site plus registry and ground truth.

Layout written by :func:`render_site` under ``out_dir``::

    site/robots.txt                        User-agent: * / Disallow: /private/
    site/index.html                        links to every newsroom
    site/private/index.html                must never be crawled (robots.txt)
    site/news/<slug>/index.html            newsroom page 1 (5 articles a page, newest first)
    site/news/<slug>/page-<n>.html         newsroom page n
    site/news/<slug>/<year>/<id>.html      one article
    registry.csv                           the firm registry (sample firms)
    truth/events.csv                       every event with the paths of its documents
    truth/world.json                       firms, partners, events, news, articles, private paths

Every newsroom uses one of three page styles (different wrappers and navigation) but the same
hooks for crawlers: ``ul.news-list > li.news-item > a`` with ``span.date``, ``a.next``
(``rel="next"``) for the next list page, and on article pages ``h1.article-title``,
``span.pub-date`` (or ``发布时间：YYYY年MM月DD日`` plus ``<meta name="pubdate">`` in the
``portal`` style) and ``div.article-body``. Paths in the truth files are site-relative.

Wording is drawn from ``random.Random`` seeded with the world seed and the article's path,
so one article's text does not depend on the others. Sample firms are named by their short
name or full name (the firm's own newsroom sometimes introduces itself as
``全称（以下简称“简称”）``); partners always by their full canonical name.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import html
import io
import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

from demosite.world import CompanyNews, Event, Firm, World

ARTICLES_PER_PAGE = 5
STYLES: tuple[str, ...] = ("classic", "modern", "portal")
PRIVATE_PATH = "/private/index.html"
ROBOTS_TXT = "User-agent: *\nDisallow: /private/\n"
REGISTRY_COLUMNS: tuple[str, ...] = (
    "name",
    "short_name",
    "english_name",
    "former_names",
    "uscc",
    "stock_code",
    "exchange",
    "stock_short_name",
    "province",
    "city",
    "industry_division",
    "founded_on",
    "employees",
    "listed",
    "tech_layer",
    "patents",
    "fiscal_year",
    "revenue_cny",
    "rd_expense_cny",
)
EVENT_COLUMNS: tuple[str, ...] = (
    "event_id",
    "provider",
    "receiver",
    "direction",
    "kind",
    "year",
    "date",
    "tech",
    "domain",
    "provider_kind",
    "receiver_kind",
    "reporters",
    "urls",
)
LIST_SEPARATOR = ";"  # joins several values in one CSV cell (former names, reporters, urls)


@dataclass(frozen=True)
class Article:
    """One article of a newsroom: a cooperation report or plain company news."""

    url: str  # site-relative path: /news/<slug>/<year>/<article_id>.html
    firm: str  # slug of the newsroom
    article_id: str
    date: dt.date  # publication date (the event date for cooperation reports)
    title: str
    paragraphs: tuple[str, ...]
    event_id: str | None = None
    news_id: str | None = None

    @property
    def text(self) -> str:
        """Title and body as plain text (one line each)."""
        return "\n".join((self.title, *self.paragraphs))


@dataclass(frozen=True)
class SiteManifest:
    """What :func:`render_site` wrote."""

    root: Path  # the site directory: serve this
    out_dir: Path
    firms: int
    partners: int
    events: int
    articles: int  # article pages (cooperation reports + company news)
    list_pages: int  # newsroom list pages
    pages: int  # every HTML page (index, list pages, articles, the private page)
    registry_csv: Path
    truth_dir: Path


# --------------------------------------------------------------------------------------
# Wording
# --------------------------------------------------------------------------------------

_DIRECTED = {
    "strategic_agreement": (
        "{date_cn}，{provider}与{receiver}达成合作，{provider}将为{receiver}提供{tech}技术，助力其{domain}建设。",
        "{date_cn}，{provider}与{receiver}签署合作协议，由{provider}为{receiver}提供{tech}技术支持，服务其{domain}发展。",
    ),
    "supply": (
        "{date_cn}，{provider}与{receiver}达成合作，{provider}将为{receiver}提供{tech}技术，助力其{domain}建设。",
        "{date_cn}，{provider}向{receiver}提供{tech}产品与服务，应用于{domain}场景。",
        "{date_cn}，{receiver}引入{provider}的{tech}解决方案，加快推进{domain}应用落地。",
    ),
    "procurement": (
        "{date_cn}，{receiver}引入{provider}的{tech}解决方案，加快推进{domain}应用落地。",
        "{date_cn}，{receiver}采购{provider}的{tech}产品，用于{domain}业务。",
        "{date_cn}，{provider}中标{receiver}{tech}项目，将为其{domain}提供技术支撑。",
    ),
}
_MUTUAL = {
    "strategic_agreement": (
        "{date_cn}，{a}与{b}签署战略合作协议，双方将在{tech}、{domain}等领域开展深度合作。",
        "{date_cn}，{a}携手{b}，围绕{tech}在{domain}领域展开合作。",
    ),
    "joint_lab": (
        "{date_cn}，{a}与{b}共建联合实验室，聚焦{tech}技术研发，推动{domain}创新。",
        "{date_cn}，{a}与{b}联合实验室正式揭牌，双方将围绕{tech}开展联合攻关，推动{domain}创新。",
    ),
}
_LAYER_WORDS = {"基础层": "芯片与算力基础设施", "技术层": "核心算法与技术平台", "应用层": "行业应用解决方案"}


def date_cn(day: dt.date) -> str:
    """``2019年3月12日`` (no zero padding, as in running text)."""
    return f"{day.year}年{day.month}月{day.day}日"


def _filler(rng: random.Random, firm: Firm, name: str, tech: str, domain: str | None) -> list[str]:
    """1-3 background sentences about ``firm`` naming no other organisation."""
    staff = f"约{firm.employees // 100 * 100}人" if firm.employees >= 100 else f"{firm.employees}人"
    pool = [
        f"{name}成立于{firm.founded_on.year}年，总部位于{firm.city}，"
        f"是一家专注于人工智能{_LAYER_WORDS[firm.tech_layer]}的科技企业。",
        f"截至目前，{name}已累计获得授权专利{firm.patents}项。",
        f"{name}现有员工{staff}，研发人员占比超过{rng.choice((40, 50, 60, 70))}%。",
        f"未来，{name}将持续加大{tech}领域的研发投入，推动人工智能技术与实体经济深度融合。",
    ]
    if domain is not None:
        pool.append(f"此次合作是{name}深耕{domain}领域的又一重要举措。")
    if firm.stock_code:
        pool.append(f"{name}（股票代码：{firm.stock_code}）近年来保持较高的研发投入强度。")
    return rng.sample(pool, rng.randint(1, 3))


def _event_article(world: World, event: Event, firm: Firm, url: str, article_id: str) -> Article:
    rng = random.Random(f"{world.seed}:{url}")
    other_name = event.receiver if event.provider == firm.name else event.provider
    other_firm = world.firm_by_name(other_name)
    intro = rng.random() < 0.3  # first mention: 全称（以下简称“简称”）
    self_display = firm.short_name if intro or rng.random() < 0.85 else firm.name
    if other_firm is not None:
        other_display = other_firm.short_name if rng.random() < 0.6 else other_firm.name
        other_title = other_firm.short_name
    else:
        other_display = other_title = other_name
    display = {firm.name: self_display, other_name: other_display}
    values = {"date_cn": date_cn(event.date), "tech": event.tech, "domain": event.domain}
    if rng.random() < 0.15:
        values["date_cn"] = "近日"
    if event.direction == "mutual":
        lead = rng.choice(_MUTUAL[event.kind]).format(a=self_display, b=other_display, **values)
    else:
        lead = rng.choice(_DIRECTED[event.kind]).format(
            provider=display[event.provider], receiver=display[event.receiver], **values
        )
    if intro:
        lead = lead.replace(firm.short_name, f"{firm.name}（以下简称“{firm.short_name}”）", 1)
    paragraphs = [lead, "".join(_filler(rng, firm, firm.short_name, event.tech, event.domain))]
    if rng.random() < 0.5:
        speaker = rng.choice((firm.short_name, other_display))
        paragraphs.append(
            f"{speaker}相关负责人表示，{event.tech}技术正在加速赋能{event.domain}，"
            f"双方将持续深化合作，共同打造可复制、可推广的应用标杆。"
        )
    short = firm.short_name
    if event.kind == "joint_lab":
        title = f"{short}与{other_title}共建{event.tech}联合实验室"
    elif event.direction == "mutual":
        title = rng.choice(
            (f"{short}与{other_title}签署战略合作协议", f"{short}携手{other_title}深化{event.domain}合作")
        )
    elif event.provider == firm.name:
        title = rng.choice(
            (
                f"{short}为{other_title}提供{event.tech}解决方案",
                f"{short}助力{other_title}推进{event.domain}建设",
            )
        )
    else:
        title = rng.choice(
            (f"{short}引入{other_title}{event.tech}技术", f"{other_title}为{short}提供{event.tech}支持")
        )
    return Article(
        url=url,
        firm=firm.id,
        article_id=article_id,
        date=event.date,
        title=title,
        paragraphs=tuple(paragraphs),
        event_id=event.id,
    )


def _news_article(world: World, news: CompanyNews, firm: Firm, url: str, article_id: str) -> Article:
    rng = random.Random(f"{world.seed}:{url}")
    short, tech, when = firm.short_name, news.tech, date_cn(news.date)
    if news.kind == "product_launch":
        title = rng.choice((f"{short}发布新一代{tech}产品", f"{short}推出{tech}平台新版本"))
        lead = (
            f"{when}，{short}正式发布新一代{tech}产品，进一步完善公司在{tech}领域的产品布局。"
            "新产品在性能和易用性方面均有显著提升，可广泛应用于多个行业场景。"
        )
    elif news.kind == "award":
        title = rng.choice((f"{short}荣获年度人工智能创新企业称号", f"{short}{tech}项目获评优秀创新案例"))
        lead = f"{when}，{short}凭借在{tech}领域的持续创新，获评年度人工智能优秀创新案例。"
    else:
        title = rng.choice((f"{short}新研发中心正式启用", f"{short}授权专利突破{firm.patents // 10 * 10}项"))
        lead = f"{when}，{short}新研发中心正式启用，将重点开展{tech}等方向的技术研发。"
    paragraphs = (lead, "".join(_filler(rng, firm, short, tech, None)))
    return Article(
        url=url,
        firm=firm.id,
        article_id=article_id,
        date=news.date,
        title=title,
        paragraphs=paragraphs,
        news_id=news.id,
    )


def build_articles(world: World) -> dict[str, list[Article]]:
    """Articles per newsroom slug, newest first (the order of the list pages)."""
    result: dict[str, list[Article]] = {}
    for firm in world.firms:
        items: list[tuple[dt.date, int, str, Event | CompanyNews]] = [
            (e.date, 0, e.id, e) for e in world.events_reported_by(firm.id)
        ]
        items += [(n.date, 1, n.id, n) for n in world.news_of(firm.id)]
        items.sort(key=lambda item: item[:3])
        per_day: dict[dt.date, int] = {}
        articles: list[Article] = []
        for day, _order, _id, item in items:
            per_day[day] = per_day.get(day, 0) + 1
            article_id = f"{day:%Y%m%d}{per_day[day]:02d}"
            url = f"/news/{firm.id}/{day.year}/{article_id}.html"
            if isinstance(item, Event):
                articles.append(_event_article(world, item, firm, url, article_id))
            else:
                articles.append(_news_article(world, item, firm, url, article_id))
        articles.sort(key=lambda a: (a.date, a.article_id), reverse=True)
        result[firm.id] = articles
    return result


# --------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------

_e = html.escape


def list_page_path(slug: str, page: int) -> str:
    """Site-relative path of newsroom list page ``page`` (1-based)."""
    return f"/news/{slug}/index.html" if page == 1 else f"/news/{slug}/page-{page}.html"


def _document(title: str, body: str, body_class: str, head_extra: str = "") -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n"
        f"{head_extra}"
        "</head>\n"
        f'<body class="{body_class}">\n'
        f"{body}"
        "</body>\n"
        "</html>\n"
    )


def _chrome(style: str, firm: Firm, content: str) -> str:
    """Wrap ``content`` in the header, navigation and footer of ``style``."""
    short, newsroom = _e(firm.short_name), list_page_path(firm.id, 1)
    if style == "classic":
        return (
            f'<div class="header"><div class="logo">{short}</div>\n'
            f'<ul class="nav"><li><a href="/index.html">首页</a></li>'
            f'<li><a href="{newsroom}">新闻中心</a></li></ul></div>\n'
            f'<div class="container news-center">\n{content}</div>\n'
            f'<div class="footer">版权所有 © {short}</div>\n'
        )
    if style == "modern":
        return (
            f'<header class="site-header"><span class="brand">{short}</span>\n'
            f'<nav class="top-nav"><a href="/index.html">首页</a> <a href="{newsroom}">新闻动态</a></nav>'
            "</header>\n"
            f'<main class="page page-news">\n{content}</main>\n'
            f'<footer class="site-footer"><p>{short} 保留所有权利</p></footer>\n'
        )
    return (
        f'<div id="top" class="portal-top"><h2 class="site-name">{short}</h2>\n'
        f'<div class="menu"><a href="/index.html">网站首页</a> | <a href="{newsroom}">公司新闻</a></div></div>\n'
        f'<section class="wrap list-wrap">\n<div class="crumbs">当前位置：首页 &gt; 公司新闻</div>\n'
        f"{content}</section>\n"
        f'<div class="portal-foot">Copyright © {short}</div>\n'
    )


def _list_page(style: str, firm: Firm, articles: list[Article], page: int, pages: int) -> str:
    items = "".join(
        f'<li class="news-item"><a href="{a.url}">{_e(a.title)}</a>'
        f'<span class="date">{a.date.isoformat()}</span></li>\n'
        for a in articles
    )
    nxt = (
        f'<a class="next" rel="next" href="{list_page_path(firm.id, page + 1)}">下一页</a>'
        if page < pages
        else ""
    )
    if style == "classic":
        pager = f'<div class="pager">{nxt}</div>\n'
    elif style == "modern":
        numbers = " ".join(
            f'<span class="current">{n}</span>'
            if n == page
            else f'<a href="{list_page_path(firm.id, n)}">{n}</a>'
            for n in range(1, pages + 1)
        )
        pager = f'<nav class="pagination">{numbers} {nxt}</nav>\n'
    else:
        prev = (
            f'<a class="prev" rel="prev" href="{list_page_path(firm.id, page - 1)}">上一页</a> '
            if page > 1
            else ""
        )
        pager = (
            f'<div class="page-box">{prev}<span class="page-info">第{page}页/共{pages}页</span> {nxt}</div>\n'
        )
    heading = {"classic": "新闻中心", "modern": "新闻动态", "portal": "公司新闻"}[style]
    content = f'<h1 class="list-title">{heading}</h1>\n<ul class="news-list">\n{items}</ul>\n{pager}'
    title = f"{heading} - {firm.short_name}" + (f" - 第{page}页" if page > 1 else "")
    return _document(title, _chrome(style, firm, content), f"newsroom {style}")


def _article_page(style: str, firm: Firm, article: Article, prev: Article | None, nxt: Article | None) -> str:
    body = "".join(f"<p>{_e(p)}</p>\n" for p in article.paragraphs)
    head_extra = ""
    if style == "portal":
        d = article.date
        meta = f'<div class="info">发布时间：{d.year}年{d.month:02d}月{d.day:02d}日　来源：{_e(firm.short_name)}</div>\n'
        head_extra = f'<meta name="pubdate" content="{d.isoformat()}">\n'
    else:
        meta = (
            f'<div class="meta"><span class="pub-date">{article.date.isoformat()}</span>'
            f'<span class="source">来源：{_e(firm.short_name)}</span></div>\n'
        )
    neighbours = ""
    if style == "modern":  # links to the neighbouring articles, outside the article body
        links = []
        if prev is not None:
            links.append(f'<a class="prev-article" href="{prev.url}">上一篇：{_e(prev.title)}</a>')
        if nxt is not None:
            links.append(f'<a class="next-article" href="{nxt.url}">下一篇：{_e(nxt.title)}</a>')
        neighbours = f'<div class="article-nav">{" ".join(links)}</div>\n' if links else ""
    content = (
        f'<article class="news-detail">\n<h1 class="article-title">{_e(article.title)}</h1>\n{meta}'
        f'<div class="article-body">\n{body}</div>\n</article>\n{neighbours}'
    )
    return _document(
        f"{article.title} - {firm.short_name}", _chrome(style, firm, content), f"article {style}", head_extra
    )


def _index_page(world: World) -> str:
    items = "".join(
        f'<li class="newsroom"><a href="{list_page_path(f.id, 1)}">{_e(f.short_name)}新闻中心</a></li>\n'
        for f in world.firms
    )
    body = (
        '<div class="portal">\n<h1>人工智能企业新闻中心导航</h1>\n'
        "<p>本站为测试用的演示网站，企业名称和新闻内容均为虚构。</p>\n"
        f'<ul class="newsrooms">\n{items}</ul>\n'
        f'<p class="footer-links"><a href="{PRIVATE_PATH}">内部资料</a></p>\n</div>\n'
    )
    return _document("人工智能企业新闻中心导航", body, "home")


def _private_page(world: World) -> str:
    short = world.firms[0].short_name
    body = (
        '<div class="container">\n<h1 class="article-title">内部资料：未公开合作事项</h1>\n'
        '<div class="meta"><span class="pub-date">2023-12-31</span></div>\n'
        '<div class="article-body">\n'
        f"<p>2023年12月31日，{_e(short)}与保密项目合作方科技有限公司签署战略合作协议（未公开，请勿抓取）。</p>\n"
        "</div>\n</div>\n"
    )
    return _document("内部资料", body, "private", '<meta name="robots" content="noindex, nofollow">\n')


# --------------------------------------------------------------------------------------
# Registry and truth
# --------------------------------------------------------------------------------------


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return LIST_SEPARATOR.join(str(v) for v in value)
    return str(value)


def _csv(header: tuple[str, ...], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def registry_csv(world: World) -> str:
    """The firm registry as CSV text (header :data:`REGISTRY_COLUMNS`, one row per sample firm)."""
    rows = [[_cell(getattr(f, c)) for c in REGISTRY_COLUMNS] for f in world.firms]
    return _csv(REGISTRY_COLUMNS, rows)


def _jsonable(value: object) -> object:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _truth(world: World, articles: dict[str, list[Article]]) -> tuple[str, str]:
    urls: dict[str, list[str]] = {}
    for slug in sorted(articles):
        for article in articles[slug]:
            key = article.event_id or article.news_id or ""
            urls.setdefault(key, []).append(article.url)
    kinds = {p.name: p.kind for p in world.partners} | {f.name: "sample" for f in world.firms}
    event_rows = []
    events = []
    for e in world.events:
        event_urls = sorted(urls[e.id])
        event_rows.append(
            [
                e.id,
                e.provider,
                e.receiver,
                e.direction,
                e.kind,
                str(e.year),
                e.date.isoformat(),
                e.tech,
                e.domain,
                kinds[e.provider],
                kinds[e.receiver],
                LIST_SEPARATOR.join(e.reporters),
                LIST_SEPARATOR.join(event_urls),
            ]
        )
        events.append(_jsonable(dataclasses.asdict(e)) | {"reporters": list(e.reporters), "urls": event_urls})
    all_articles = sorted((a for items in articles.values() for a in items), key=lambda a: a.url)
    doc = {
        "seed": world.seed,
        "preset": world.preset,
        "counts": {
            "firms": len(world.firms),
            "partners": len(world.partners),
            "events": len(world.events),
            "news": len(world.news),
            "articles": len(all_articles),
        },
        "robots_disallow": ["/private/"],
        "private_urls": [PRIVATE_PATH],
        "firms": [_jsonable(dataclasses.asdict(f)) for f in world.firms],
        "partners": [_jsonable(dataclasses.asdict(p)) for p in world.partners],
        "events": events,
        "news": [_jsonable(dataclasses.asdict(n)) | {"url": urls[n.id][0]} for n in world.news],
        "articles": [
            {
                "url": a.url,
                "firm": a.firm,
                "date": a.date.isoformat(),
                "title": a.title,
                "event_id": a.event_id,
                "news_id": a.news_id,
            }
            for a in all_articles
        ],
    }
    return _csv(EVENT_COLUMNS, event_rows), json.dumps(
        doc, ensure_ascii=False, indent=2, sort_keys=True
    ) + "\n"


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")


def _prepare(out_dir: Path) -> None:
    """Remove a previous render (``site/``, ``truth/``, ``registry.csv``) so no stale page survives."""
    site, truth = out_dir / "site", out_dir / "truth"
    if site.exists() and not (truth / "world.json").exists():
        raise FileExistsError(f"{site} exists but is not a rendered demo site; refusing to overwrite it")
    for path in (site, truth):
        if path.exists():
            shutil.rmtree(path)
    (out_dir / "registry.csv").unlink(missing_ok=True)


def render_site(world: World, out_dir: Path) -> SiteManifest:
    """Write the site, the registry and the ground truth of ``world`` under ``out_dir``.

    A previous render in ``out_dir`` is replaced. Output is byte-identical for the same world.
    """
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    _prepare(out_dir)
    site = out_dir / "site"
    articles = build_articles(world)
    list_pages = 0
    _write(site, "/robots.txt", ROBOTS_TXT)
    _write(site, "/index.html", _index_page(world))
    _write(site, PRIVATE_PATH, _private_page(world))
    for index, firm in enumerate(world.firms):
        style = STYLES[index % len(STYLES)]
        items = articles[firm.id]
        pages = max(1, -(-len(items) // ARTICLES_PER_PAGE))
        for page in range(1, pages + 1):
            chunk = items[(page - 1) * ARTICLES_PER_PAGE : page * ARTICLES_PER_PAGE]
            _write(site, list_page_path(firm.id, page), _list_page(style, firm, chunk, page, pages))
            list_pages += 1
        for i, article in enumerate(items):  # items are newest first
            older = items[i + 1] if i + 1 < len(items) else None
            newer = items[i - 1] if i > 0 else None
            _write(site, article.url, _article_page(style, firm, article, older, newer))
    _write(out_dir, "/registry.csv", registry_csv(world))
    events_csv, world_json = _truth(world, articles)
    _write(out_dir, "/truth/events.csv", events_csv)
    _write(out_dir, "/truth/world.json", world_json)
    n_articles = sum(len(items) for items in articles.values())
    return SiteManifest(
        root=site,
        out_dir=out_dir,
        firms=len(world.firms),
        partners=len(world.partners),
        events=len(world.events),
        articles=n_articles,
        list_pages=list_pages,
        pages=2 + list_pages + n_articles,
        registry_csv=out_dir / "registry.csv",
        truth_dir=out_dir / "truth",
    )
