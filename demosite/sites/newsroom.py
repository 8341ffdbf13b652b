"""Corporate newsrooms: ``/news/<slug>/`` list pages (5 a page, newest first) and articles.

Every sample firm has a newsroom reporting its own cooperations (as provider, receiver or
mutual party), the end of cooperations, signings with several parties, and plain company news
(launches, awards, visits that are not cooperations). Three page styles share the crawler
hooks ``ul.news-list li.news-item a``, ``a.next`` and on article pages ``h1.article-title``,
``span.pub-date`` (or ``发布时间：`` plus ``<meta name="pubdate">``) and ``div.article-body``.
Some firms also link drafts under ``/news/<slug>/drafts/`` that robots.txt disallows.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from demosite.model import CompanyNews, Event, Firm
from demosite.pages import DocTruth, Page, escape, html_page, malform
from demosite.phrasing import Written
from demosite.sites import Context, event_status, event_witnesses

SITE = "newsroom"
SOURCE = "demo-newsrooms"
PER_PAGE = 5
STYLES: tuple[str, ...] = ("classic", "modern", "portal")
_LAYER_WORDS = {"基础层": "芯片与算力基础设施", "技术层": "核心算法与技术平台", "应用层": "行业应用解决方案"}


@dataclass
class Item:
    """One newsroom entry before rendering."""

    day: dt.date
    order: int
    key: str
    kind: str  # cooperation | multiparty | termination | company_news | draft
    event: Event | None = None
    group: list[Event] | None = None
    news: CompanyNews | None = None


def list_page_path(slug: str, page: int) -> str:
    """Site-relative path of newsroom list page ``page`` (1-based)."""
    return f"/news/{slug}/index.html" if page == 1 else f"/news/{slug}/page-{page}.html"


def filler(rng: random.Random, firm: Firm, name: str, tech: str) -> str:
    """1-3 background sentences about ``firm`` that name no other organisation."""
    staff = f"约{firm.employees // 100 * 100}人" if firm.employees >= 100 else f"{firm.employees}人"
    pool = [
        f"{name}成立于{firm.founded_on.year}年，总部位于{firm.city}，"
        f"是一家专注于人工智能{_LAYER_WORDS.get(firm.tech_layer, '技术')}的科技企业。",
        f"截至目前，{name}已累计获得授权专利{firm.patents}项。",
        f"{name}现有员工{staff}，研发人员占比超过{rng.choice((40, 50, 60, 70))}%。",
        f"未来，{name}将持续加大{tech}领域的研发投入，推动人工智能技术与实体经济深度融合。",
    ]
    if firm.stock_code:
        pool.append(f"{name}（股票代码：{firm.stock_code}）近年来保持较高的研发投入强度。")
    return "".join(rng.sample(pool, rng.randint(1, 3)))


def _items(ctx: Context, firm: Firm) -> list[Item]:
    items: list[Item] = []
    seen_groups: set[str] = set()
    for e in ctx.world.events_reported_by(firm.id):
        group = getattr(e, "group_id", None)
        if group and len(ctx.groups.get(group, ())) > 1:
            if group not in seen_groups:
                seen_groups.add(group)
                items.append(Item(e.date, 0, group, "multiparty", event=e, group=ctx.groups[group]))
            continue
        items.append(Item(e.date, 0, e.id, "cooperation", event=e))
        status, ended = event_status(e)
        if status == "terminated" and ended is not None and firm.id == e.reporter:
            items.append(Item(ended, 1, f"{e.id}-end", "termination", event=e))
    items += [Item(n.date, 2, n.id, "company_news", news=n) for n in ctx.world.news_of(firm.id)]
    items.sort(key=lambda i: (i.day, i.order, i.key))
    return items


def _article(ctx: Context, firm: Firm, item: Item, url: str) -> DocTruth:
    rng = ctx.rng(url)
    w = Written()
    ph = ctx.phraser
    truth = DocTruth(url=url, site=SITE, source=SOURCE, kind=item.kind, title="", published=item.day, written=w)
    paragraphs: list[str] = []
    short = firm.short_name
    w.used(firm.name, short)
    if item.kind == "cooperation" and item.event is not None:
        e = item.event
        lead = ph.relation(rng, kind=e.kind, direction=e.direction, provider=e.provider, receiver=e.receiver,
                           day=e.date, tech=e.tech, domain=e.domain, written=w)
        witnesses = event_witnesses(e)
        if witnesses and rng.random() < 0.7:
            lead = lead + ph.witness(rng, witnesses[0], w)
        paragraphs.append(lead)
        truth.events.append(e.id)
        earlier = ctx.earlier.get(e.id, [])
        if earlier and rng.random() < 0.4:
            old = earlier[0]
            paragraphs.append(ph.historical(rng, e.provider, e.receiver, old.year, w))
            truth.historical.append(old.id)
        other = e.receiver if e.provider == firm.name else e.provider
        truth.title = _title(rng, e, short, ph.names.get(other, {}).get("short", other))
    elif item.kind == "multiparty" and item.group:
        e = item.event
        assert e is not None
        parties = sorted({p for g in item.group for p in (g.provider, g.receiver)})
        paragraphs.append(ph.multiparty(rng, parties, e.date, e.tech, e.domain, w))
        truth.events.extend(sorted(g.id for g in item.group))
        truth.title = f"{short}等{len(parties)}家单位共同签署{e.tech}产业合作协议"
    elif item.kind == "termination" and item.event is not None:
        e = item.event
        other = e.receiver if e.provider == firm.name else e.provider
        paragraphs.append(ph.termination(rng, firm.name, other, item.day, e.year, w))
        truth.terminated.append(e.id)
        truth.title = rng.choice((f"{short}关于终止合作协议的公告", f"{short}与合作方协议终止"))
    elif item.news is not None:
        n = item.news
        lead, truth.title = _company_news(rng, n, short)
        paragraphs.append(lead)
        partners = ctx.well_known
        if partners and rng.random() < 0.35:  # names another organisation, reports no cooperation
            other = partners[rng.randrange(len(partners))]
            paragraphs.append(ph.negative(rng, firm.name, other, n.date, n.tech, "智慧城市", w))
            truth.negatives.append((firm.name, other))
    tech = item.event.tech if item.event is not None else (item.news.tech if item.news else "人工智能")
    paragraphs.append(filler(rng, firm, short, tech))
    if item.kind == "cooperation" and rng.random() < 0.4:
        paragraphs.append(f"{short}相关负责人表示，{tech}技术正在加速赋能千行百业，公司将持续深化开放合作。")
    truth.text = "\n".join(paragraphs)
    return truth


def _title(rng: random.Random, e: Event, short: str, other: str) -> str:
    if e.kind == "joint_lab":
        return rng.choice((f"{short}与{other}共建{e.tech}联合实验室", f"{short}{e.tech}联合创新中心揭牌"))
    if e.direction == "mutual":
        return rng.choice((f"{short}与{other}签署战略合作协议", f"{short}携手{other}深化{e.domain}合作",
                           f"强强联合！{short}与{other}达成合作"))
    if e.kind == "bid_award":
        return rng.choice((f"{short}中标{e.domain}项目", f"喜报：{short}成功中标"))
    if e.kind == "investment":
        return rng.choice((f"{short}完成战略投资布局", f"{short}宣布新一轮战略合作"))
    return rng.choice((f"{short}{e.tech}方案落地{e.domain}", f"{short}助力{other}推进{e.domain}建设",
                       f"{e.tech}赋能{e.domain}：{short}最新合作案例"))


def _company_news(rng: random.Random, n: CompanyNews, short: str) -> tuple[str, str]:
    when = f"{n.date.year}年{n.date.month}月{n.date.day}日"
    if n.kind == "product_launch":
        title = rng.choice((f"{short}发布新一代{n.tech}产品", f"{short}推出{n.tech}平台新版本"))
        lead = f"{when}，{short}正式发布新一代{n.tech}产品，进一步完善公司在{n.tech}领域的产品布局。"
    elif n.kind == "award":
        title = rng.choice((f"{short}荣获年度人工智能创新企业称号", f"{short}{n.tech}项目获评优秀创新案例"))
        lead = f"{when}，{short}凭借在{n.tech}领域的持续创新，获评年度人工智能优秀创新案例。"
    else:
        title = rng.choice((f"{short}新研发中心正式启用", f"{short}召开年度技术大会"))
        lead = f"{when}，{short}新研发中心正式启用，将重点开展{n.tech}等方向的技术研发。"
    return lead, title


def _chrome(style: str, firm: Firm, content: str) -> str:
    short, newsroom = escape(firm.short_name), list_page_path(firm.id, 1)
    if style == "classic":
        return (f'<div class="header"><div class="logo">{short}</div>\n<ul class="nav"><li><a href="/index.html">'
                f'首页</a></li><li><a href="{newsroom}">新闻中心</a></li></ul></div>\n'
                f'<div class="container news-center">\n{content}</div>\n<div class="footer">版权所有 © {short}</div>\n')
    if style == "modern":
        return (f'<header class="site-header"><span class="brand">{short}</span>\n<nav class="top-nav">'
                f'<a href="/index.html">首页</a> <a href="{newsroom}">新闻动态</a></nav></header>\n'
                f'<main class="page page-news">\n{content}</main>\n'
                f'<footer class="site-footer"><p>{short} 保留所有权利</p></footer>\n')
    return (f'<div id="top" class="portal-top"><h2 class="site-name">{short}</h2>\n<div class="menu">'
            f'<a href="/index.html">网站首页</a> | <a href="{newsroom}">公司新闻</a></div></div>\n'
            f'<section class="wrap list-wrap">\n<div class="crumbs">当前位置：首页 &gt; 公司新闻</div>\n'
            f'{content}</section>\n<div class="portal-foot">Copyright © {short}</div>\n')


def _list_page(style: str, firm: Firm, entries: list[tuple[str, str, dt.date]], page: int, pages: int,
               draft: str | None) -> str:
    items = "".join(f'<li class="news-item"><a href="{url}">{escape(title)}</a><span class="date">'
                    f'{day.isoformat()}</span></li>\n' for url, title, day in entries)
    if draft:
        items += f'<li class="news-item draft"><a href="{draft}">（草稿）待发布稿件</a></li>\n'
    nxt = f'<a class="next" rel="next" href="{list_page_path(firm.id, page + 1)}">下一页</a>' if page < pages else ""
    if style == "classic":
        pager = f'<div class="pager">{nxt}</div>\n'
    elif style == "modern":
        window = range(max(1, page - 3), min(pages, page + 3) + 1)
        numbers = " ".join(f'<span class="current">{n}</span>' if n == page
                           else f'<a href="{list_page_path(firm.id, n)}">{n}</a>' for n in window)
        pager = f'<nav class="pagination">{numbers} {nxt}</nav>\n'
    else:
        prev = (f'<a class="prev" rel="prev" href="{list_page_path(firm.id, page - 1)}">上一页</a> '
                if page > 1 else "")
        pager = f'<div class="page-box">{prev}<span class="page-info">第{page}页/共{pages}页</span> {nxt}</div>\n'
    heading = {"classic": "新闻中心", "modern": "新闻动态", "portal": "公司新闻"}[style]
    content = f'<h1 class="list-title">{heading}</h1>\n<ul class="news-list">\n{items}</ul>\n{pager}'
    title = f"{heading} - {firm.short_name}" + (f" - 第{page}页" if page > 1 else "")
    return html_page(title, _chrome(style, firm, content), body_class=f"newsroom {style}")


def _article_page(style: str, firm: Firm, truth: DocTruth) -> str:
    body = "".join(f"<p>{escape(p)}</p>\n" for p in truth.text.split("\n"))
    d = truth.published
    head_extra = ""
    if style == "portal":
        meta = (f'<div class="info">发布时间：{d.year}年{d.month:02d}月{d.day:02d}日　来源：'
                f"{escape(firm.short_name)}</div>\n")
        head_extra = f'<meta name="pubdate" content="{d.isoformat()}">\n'
    else:
        meta = (f'<div class="meta"><span class="pub-date">{d.isoformat()}</span>'
                f'<span class="source">来源：{escape(firm.short_name)}</span></div>\n')
    content = (f'<article class="news-detail">\n<h1 class="article-title">{escape(truth.title)}</h1>\n{meta}'
               f'<div class="article-body">\n{body}</div>\n</article>\n')
    return html_page(f"{truth.title} - {firm.short_name}", _chrome(style, firm, content),
                     body_class=f"article {style}", head_extra=head_extra)


def render(ctx: Context) -> list[Page]:
    """Every newsroom's list pages and articles (plus robots-disallowed drafts).

    A ``gone`` article is listed but not written (the server answers 404); a ``malformed`` one is
    written with broken HTML; the other faults are served by the server (see :mod:`demosite.render`).
    """
    pages: list[Page] = []
    for index, firm in enumerate(ctx.world.firms):
        style = STYLES[index % len(STYLES)]
        items = _items(ctx, firm)
        per_day: dict[dt.date, int] = {}
        truths: list[DocTruth] = []
        for item in items:
            per_day[item.day] = per_day.get(item.day, 0) + 1
            url = f"/news/{firm.id}/{item.day.year}/{item.day:%Y%m%d}{per_day[item.day]:02d}.html"
            truths.append(_article(ctx, firm, item, url))
        truths.reverse()  # newest first
        draft = None
        if ctx.rng(f"draft:{firm.id}").random() < 0.25 and truths:
            draft = f"/news/{firm.id}/drafts/{truths[0].published:%Y%m%d}-draft.html"
            text = f"{firm.short_name}内部草稿，尚未发布，请勿转载。"
            dtruth = DocTruth(url=draft, site=SITE, source=SOURCE, kind="draft", title="待发布稿件",
                              published=truths[0].published, crawlable=False, text=text)
            pages.append(Page(draft, _article_page(style, firm, dtruth).encode("utf-8"), dtruth.published, dtruth))
        n_pages = max(1, -(-len(truths) // PER_PAGE))
        for page in range(1, n_pages + 1):
            chunk = truths[(page - 1) * PER_PAGE : page * PER_PAGE]
            entries = [(t.url, t.title, t.published) for t in chunk]
            html = _list_page(style, firm, entries, page, n_pages, draft if page == 1 else None)
            newest = chunk[0].published if chunk else dt.date(2014, 1, 1)
            pages.append(Page(list_page_path(firm.id, page), html.encode("utf-8"), newest))
        for truth in truths:
            truth.fault = ctx.fault(truth.url)
            html = _article_page(style, firm, truth)
            if truth.fault == "malformed":
                html, truth.malformed = malform(html), True
            body = b"" if truth.fault == "gone" else html.encode("utf-8")
            pages.append(Page(truth.url, body, truth.published, truth))
    return pages
