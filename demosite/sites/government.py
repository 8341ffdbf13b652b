"""Provincial government portals: ``/gov/<portal>/`` news about signings in the province.

Portals report cooperations that involve a government body of their province (as a party) and
signings held with officials present (the government is then a *witness*, not a party), plus
policy news that names firms without reporting a cooperation. Several portals are encoded in
GBK or GB2312, one declares ``<meta charset="utf-8">`` although its bytes are GBK, and the
server sends their ``.htm`` pages without a charset — as many real portals do.
"""

from __future__ import annotations

import datetime as dt

from demosite.model import Event
from demosite.pages import DocTruth, Page, escape, html_page, malform
from demosite.phrasing import Written
from demosite.sites import Context, event_witnesses

SITE = "government"
SOURCE = "demo-gov"
PER_PAGE = 10
#: Portals: slug, province, encoding of the bytes, charset declared in <meta>.
PORTALS: tuple[tuple[str, str, str, str], ...] = (
    ("beijing", "北京市", "utf-8", "utf-8"),
    ("guangdong", "广东省", "gbk", "gbk"),
    ("zhejiang", "浙江省", "gb2312", "gb2312"),
    ("shanghai", "上海市", "gbk", "utf-8"),  # wrong <meta charset>: the bytes are GBK
    ("sichuan", "四川省", "utf-8", "utf-8"),
)


def _province_of(ctx: Context, name: str) -> str | None:
    firm = ctx.world.firm_by_name(name)
    if firm is not None:
        return firm.province
    partner = ctx.partners.get(name)
    return partner.province if partner is not None else None


def _selected(ctx: Context, province: str) -> list[tuple[Event, str]]:
    """Events this portal reports: (event, role of the government: party | witness)."""
    chosen = []
    for e in ctx.world.events:
        parties = (e.provider, e.receiver)
        gov_party = [p for p in parties if getattr(ctx.partners.get(p), "kind", "") == "government"]
        if gov_party and _province_of(ctx, gov_party[0]) == province:
            chosen.append((e, "party"))
            continue
        witnesses = [w for w in event_witnesses(e) if getattr(ctx.partners.get(w), "kind", "") == "government"]
        if witnesses and _province_of(ctx, witnesses[0]) == province:
            chosen.append((e, "witness"))
    return chosen


def _article(ctx: Context, slug: str, province: str, e: Event, role: str, path: str) -> DocTruth:
    rng = ctx.rng(path)
    w = Written()
    ph = ctx.phraser
    sentence = ph.relation(rng, kind=e.kind, direction=e.direction, provider=e.provider, receiver=e.receiver,
                           day=e.date, tech=e.tech, domain=e.domain, written=w)
    paragraphs = [sentence]
    if role == "witness":
        paragraphs.append(ph.witness(rng, event_witnesses(e)[0], w))
    paragraphs.append(f"此次合作是{province}推进人工智能产业高质量发展、加快{e.domain}建设的具体举措。")
    title = rng.choice((f"{province}推动{e.domain}建设取得新进展", f"又一{e.tech}重点项目落地{province}",
                        f"{e.tech}赋能{e.domain}合作项目签约"))
    return DocTruth(url=path, site=SITE, source=SOURCE, kind="cooperation", title=title, published=e.date,
                    events=[e.id], written=w, syndicates=e.id, text="\n".join(paragraphs))


def _policy(ctx: Context, slug: str, province: str, year: int, path: str) -> DocTruth:
    rng = ctx.rng(path)
    w = Written()
    firms = [f for f in ctx.world.firms if f.province == province] or list(ctx.world.firms)
    named = sorted({firms[rng.randrange(len(firms))].name for _ in range(2)})
    shown = [ctx.phraser.name(rng, n, w) for n in named]
    day = dt.date(year, rng.randint(1, 12), rng.randint(1, 28))
    text = (f"{day.year}年{day.month}月{day.day}日，{province}召开人工智能产业发展推进会，"
            f"{'、'.join(shown)}等企业代表参加会议并作交流发言。会议部署了下一阶段重点工作。")
    return DocTruth(url=path, site=SITE, source=SOURCE, kind="company_news", title=f"{province}召开人工智能产业发展推进会",
                    published=day, written=w, text=text)


def _article_html(slug: str, province: str, truth: DocTruth, charset: str) -> str:
    body = "".join(f"<p>{escape(p)}</p>\n" for p in truth.text.split("\n"))
    content = (f'<div class="gov-head">{escape(province)}人民政府门户网站</div>\n<div class="zw">\n'
               f'<div class="zw-title">{escape(truth.title)}</div>\n'
               f'<div class="zw-info">发布日期：{truth.published.isoformat()}　来源：{escape(province)}人民政府办公厅</div>\n'
               f'<div class="zw-content">\n{body}</div>\n</div>\n')
    return html_page(truth.title, content, body_class="gov-article", charset=charset)


def _list_html(slug: str, province: str, entries: list[DocTruth], page: int, pages: int, charset: str) -> str:
    items = "".join(f'<li><a href="{t.url}" target="_blank">{escape(t.title)}</a><span class="time">'
                    f"{t.published.isoformat()}</span></li>\n" for t in entries)
    nxt = f'<a class="page-next" href="/gov/{slug}/list_{page + 1}.htm">下一页</a>' if page < pages else ""
    content = (f'<div class="gov-head">{escape(province)}人民政府门户网站</div>\n'
               f'<div class="list-box"><h3>政务要闻</h3>\n<ul>\n{items}</ul>\n</div>\n<div class="pages">{nxt}</div>\n')
    return html_page(f"政务要闻 - {province}", content, body_class="gov-list", charset=charset)


def list_path(slug: str, page: int) -> str:
    """Site-relative path of portal list page ``page`` (1-based)."""
    return f"/gov/{slug}/index.htm" if page == 1 else f"/gov/{slug}/list_{page}.htm"


def render(ctx: Context) -> list[Page]:
    """Every portal's list pages and articles, encoded as the portal is."""
    pages: list[Page] = []
    years = sorted({e.year for e in ctx.world.events}) or [2023]
    for slug, province, encoding, declared in PORTALS:
        truths: list[DocTruth] = []
        per_day: dict[dt.date, int] = {}
        for e, role in _selected(ctx, province):
            per_day[e.date] = per_day.get(e.date, 0) + 1
            path = f"/gov/{slug}/art/{e.date.year}/art_{e.date:%Y%m%d}_{per_day[e.date]}.htm"
            truths.append(_article(ctx, slug, province, e, role, path))
        for year in years[-3:]:
            truths.append(_policy(ctx, slug, province, year, f"/gov/{slug}/art/{year}/policy_{year}.htm"))
        truths.sort(key=lambda t: (t.published, t.url), reverse=True)
        n_pages = max(1, -(-len(truths) // PER_PAGE))
        for page in range(1, n_pages + 1):
            chunk = truths[(page - 1) * PER_PAGE : page * PER_PAGE]
            html = _list_html(slug, province, chunk, page, n_pages, declared)
            newest = chunk[0].published if chunk else dt.date(2014, 1, 1)
            pages.append(Page(list_path(slug, page), html.encode(encoding, errors="xmlcharrefreplace"), newest))
        for truth in truths:
            truth.encoding = encoding
            truth.fault = ctx.fault(truth.url)
            html = _article_html(slug, province, truth, declared)
            if truth.fault == "malformed":
                html, truth.malformed = malform(html), True
            body = b"" if truth.fault == "gone" else html.encode(encoding, errors="xmlcharrefreplace")
            pages.append(Page(truth.url, body, truth.published, truth))
    return pages
