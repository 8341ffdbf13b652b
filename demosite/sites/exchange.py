"""The stock exchange's disclosure service for listed sample firms.

- Announcement detail pages ``/exchange/disclosure/<code>/<yyyymmdd>-<n>.html``: formal
  notices such as "关于签订战略合作协议的公告", "关于中标项目的公告", "关于对外投资的公告", and
  "关于终止合作协议的公告" — formal style, full legal names.
- Annual-report summaries (年度报告摘要) for every fiscal year the world has figures for,
  carrying revenue (营业收入) and R&D expense (研发投入) in yuan, published in April.
- The search API's index, one JSON list per stock code under ``<out>/server/exchange/``: the
  server answers ``/exchange/api/announcements?stock_code=&start=&end=&page=&page_size=`` from it.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from demosite.model import Event, Firm
from demosite.pages import DocTruth, Page, escape, html_page, malform
from demosite.phrasing import Written
from demosite.sites import Context, event_status

SITE = "exchange"
SOURCE = "demo-exchange"
#: Announcement titles by event kind (events of other kinds are not announced).
TITLES = {
    "strategic_agreement": "关于签订战略合作协议的公告",
    "investment": "关于对外投资暨签订投资协议的公告",
    "bid_award": "关于中标项目的公告",
    "procurement": "关于中标项目的公告",
    "joint_development": "关于签订合作开发协议的公告",
    "joint_lab": "关于共建联合实验室的公告",
    "supply": "关于签订日常经营重大合同的公告",
}
ANNOUNCE_SHARE = 0.6
#: The mainland exchanges this disclosure service stands for (HK/US-listed firms file elsewhere).
EXCHANGES = ("SSE", "SZSE", "BSE")  # share of a listed firm's announceable events that it announces


def detail_path(code: str, day: dt.date, n: int) -> str:
    """Site-relative path of an announcement."""
    return f"/exchange/disclosure/{code}/{day:%Y%m%d}-{n}.html"


def _page(firm: Firm, title: str, number: str, paragraphs: list[str], day: dt.date) -> str:
    body = "".join(f"<p>{escape(p)}</p>\n" for p in paragraphs)
    content = (
        '<div class="disclosure">\n'
        f'<div class="code-line">证券代码：{firm.stock_code}　证券简称：{escape(firm.stock_short_name or "")}'
        f"　公告编号：{number}</div>\n"
        f'<h2 class="company">{escape(firm.name)}</h2>\n<h1 class="notice-title">{escape(title)}</h1>\n'
        f'<div class="notice-date" data-date="{day.isoformat()}">{day.year}年{day.month}月{day.day}日</div>\n'
        f'<div class="notice-body">\n{body}</div>\n</div>\n'
    )
    return html_page(f"{firm.stock_short_name}：{title}", content, body_class="exchange-notice")


def _announcement(ctx: Context, firm: Firm, e: Event, path: str, number: str, ending: bool) -> DocTruth:
    rng = ctx.rng(path)
    w = Written()
    ph = ctx.phraser
    other = e.receiver if e.provider == firm.name else e.provider
    w.used(firm.name, firm.name)
    statement = "本公司董事会及全体董事保证本公告内容不存在任何虚假记载、误导性陈述或者重大遗漏。"
    _status, ended = event_status(e)
    if ending:
        day = ended
        title = "关于终止合作协议的公告"
        core = ph.termination(rng, firm.name, other, day, e.year, w)
        truth_kind = "termination"
    else:
        day = e.date
        title = TITLES[e.kind]
        core = ph.relation(rng, kind=e.kind, direction=e.direction, provider=e.provider, receiver=e.receiver,
                           day=e.date, tech=e.tech, domain=e.domain, written=w, formal=True)
        truth_kind = "cooperation"
    other_name = ctx.phraser.names.get(other, {}).get("full", other)
    w.used(other, other_name)
    paragraphs = [
        statement,
        "一、协议签订的基本情况",
        core,
        "二、合作方基本情况",
        f"名称：{other_name}",
        f"关联关系：{other_name}与公司不存在关联关系。",
        "三、对上市公司的影响",
        f"本次合作有利于公司拓展{e.domain}业务，预计对公司本年度经营业绩不构成重大影响。",
        "四、风险提示",
        "本协议为框架性协议，具体合作内容以后续签订的正式合同为准，敬请广大投资者注意投资风险。",
        f"特此公告。\n{firm.name}董事会",
    ]
    truth = DocTruth(url=path, site=SITE, source=SOURCE, kind=truth_kind, title=f"{firm.stock_short_name}：{title}",
                     published=day, written=w, syndicates=e.id, text="\n".join(paragraphs))
    (truth.terminated if ending else truth.events).append(e.id)
    return truth


def _annual(firm: Firm, year: int, revenue: int, rd: int, path: str) -> DocTruth:
    day = dt.date(year + 1, 4, 20 + sum(map(ord, firm.stock_code or "0")) % 9)
    paragraphs = [
        "本年度报告摘要来自年度报告全文，为全面了解本公司的经营成果、财务状况及未来发展规划，投资者应当到证监会指定媒体仔细阅读年度报告全文。",
        "主要会计数据和财务指标（单位：元）",
        f"营业收入：{revenue:,}",
        f"研发投入：{rd:,}",
        f"研发投入占营业收入比例：{rd / revenue * 100:.2f}%" if revenue else "研发投入占营业收入比例：—",
    ]
    title = f"{year}年年度报告摘要"
    return DocTruth(url=path, site=SITE, source=SOURCE, kind="annual_report",
                    title=f"{firm.stock_short_name}：{title}", published=day, text="\n".join(paragraphs))


def financial_years(firm: Firm) -> list[tuple[int, int, int]]:
    """(fiscal year, revenue, R&D expense) the world knows for a listed firm."""
    years = getattr(firm, "financials", None)
    if years:
        return sorted((int(y), int(r), int(d)) for y, r, d in years)
    if firm.fiscal_year and firm.revenue_cny:
        return [(firm.fiscal_year, int(firm.revenue_cny), int(firm.rd_expense_cny or 0))]
    return []


def listed_on_mainland(firm: Firm) -> bool:
    """True for a sample firm listed on a mainland exchange (the ones this disclosure service covers)."""
    return bool(firm.listed and firm.stock_code and getattr(firm, "exchange", None) in EXCHANGES)


def firm_notices(ctx: Context, firm: Firm) -> list[tuple[DocTruth, str]]:
    """(truth, 公告编号) of every announcement and annual-report summary of a listed firm, in date order.

    The truths' ``fault`` is not set here (the HTML pages draw theirs in :func:`render`); the
    cninfo emulation (:mod:`demosite.sites.cninfo`) publishes the same announcements as PDFs.
    """
    code = firm.stock_code or ""
    notices: list[tuple[dt.date, str, Event, bool]] = []
    for e in ctx.world.events_reported_by(firm.id):
        if e.kind in TITLES and ctx.rng(f"announce:{e.id}:{code}").random() < ANNOUNCE_SHARE:
            notices.append((e.date, e.id, e, False))
            status, ended = event_status(e)
            if status == "terminated" and ended is not None:
                notices.append((ended, e.id + "-end", e, True))
    notices.sort(key=lambda n: (n[0], n[1]))
    per_day: dict[dt.date, int] = {}
    truths: list[tuple[DocTruth, str]] = []
    for seq, (day, _key, e, ending) in enumerate(notices, start=1):
        per_day[day] = per_day.get(day, 0) + 1
        path = detail_path(code, day, per_day[day])
        number = f"{day.year}-{seq:03d}"
        truths.append((_announcement(ctx, firm, e, path, number, ending), number))
    for year, revenue, rd in financial_years(firm):
        path = f"/exchange/disclosure/{code}/{year}-annual.html"
        truths.append((_annual(firm, year, revenue, rd, path), f"{year + 1}-NB"))
    return truths


def render(ctx: Context) -> tuple[list[Page], dict[str, list[dict[str, str]]]]:
    """Announcement and annual-report pages, and the API index per stock code."""
    pages: list[Page] = []
    index: dict[str, list[dict[str, str]]] = {}
    for firm in ctx.world.firms:
        if not listed_on_mainland(firm):
            continue
        code = firm.stock_code or ""
        entries = []
        for truth, number in firm_notices(ctx, firm):
            truth.fault = ctx.fault(truth.url)
            title = truth.title.split("：", 1)[1]
            html = _page(firm, title, number, truth.text.split("\n"), truth.published)
            if truth.fault == "malformed":
                html, truth.malformed = malform(html), True
            pages.append(Page(truth.url, b"" if truth.fault == "gone" else html.encode("utf-8"),
                              truth.published, truth))
            entries.append({"id": truth.url.rsplit("/", 1)[1].removesuffix(".html"), "date": truth.published.isoformat(),
                            "title": title, "type": truth.kind, "url": truth.url})
        entries.sort(key=lambda i: (i["date"], i["id"]), reverse=True)
        index[code] = entries
    return pages, index


def write_index(index: dict[str, list[dict[str, str]]], server_dir: str) -> None:
    """Write the API's per-stock-code index files."""
    target = Path(server_dir) / "exchange"
    target.mkdir(parents=True, exist_ok=True)
    for code, entries in sorted(index.items()):
        (target / f"{code}.json").write_text(json.dumps(entries, ensure_ascii=False, indent=0, sort_keys=True),
                                             encoding="utf-8")
