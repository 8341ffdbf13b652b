"""The HKEXnews (披露易) emulation for the sample firms listed in Hong Kong.

Host ``www1.hkexnews.hk`` (see :mod:`demosite.protocols` for the answers):

- ``/search/prefix.do`` — stock code -> the site's internal ``stockId`` (JSONP);
- ``/search/titleSearchServlet.do`` — the title search; ``lang=zh`` lists the traditional-Chinese
  documents, ``lang=en`` the English ones (every announcement is published in both);
- documents under ``/listedco/listconews/sehk/YYYY/MMDD/<NEWS_ID>_c.pdf`` (Chinese) and
  ``<NEWS_ID>.pdf`` (English); a share are HTML (``.htm``) instead of PDF.

The announcements are the firm's cooperation and termination notices (the same events and rule as
the mainland exchange, :func:`demosite.sites.exchange.firm_notices`), in traditional Chinese (OpenCC
s2t) and in English, plus the ordinary HKEX filings of ``data/announcements.yml`` (monthly returns,
next day disclosure returns, results, AGM notices ...).
"""

from __future__ import annotations

import datetime as dt
import html
from functools import lru_cache
from typing import Any

from demosite.model import LAST_YEAR, Event, Firm
from demosite.pages import Page, html_page
from demosite.sites import Context, exchange
from demosite.sites.cninfo import announcement_kinds, pdf_fault, world_first_year
from demosite.sites.media import to_traditional

HOST = "www1.hkexnews.hk"
ROBOTS = "User-agent: *\nDisallow: /search/titlesearch.xhtml\n"
HTML_SHARE = 0.25  # share of cooperation announcements published as HTML rather than PDF
DISCLAIMER_ZH = "香港交易及結算所有限公司及香港聯合交易所有限公司對本公告的內容概不負責，對其準確性或完整性亦不發表任何聲明。"
DISCLAIMER_EN = ("Hong Kong Exchanges and Clearing Limited and The Stock Exchange of Hong Kong Limited take no "
                 "responsibility for the contents of this announcement.")
EN_TITLES = {
    "strategic_agreement": "VOLUNTARY ANNOUNCEMENT - STRATEGIC COOPERATION AGREEMENT",
    "investment": "VOLUNTARY ANNOUNCEMENT - INVESTMENT AGREEMENT",
    "bid_award": "VOLUNTARY ANNOUNCEMENT - WINNING OF TENDER",
    "procurement": "VOLUNTARY ANNOUNCEMENT - WINNING OF TENDER",
    "joint_development": "VOLUNTARY ANNOUNCEMENT - JOINT DEVELOPMENT AGREEMENT",
    "joint_lab": "VOLUNTARY ANNOUNCEMENT - ESTABLISHMENT OF A JOINT LABORATORY",
    "supply": "VOLUNTARY ANNOUNCEMENT - MATERIAL CONTRACT",
    "termination": "VOLUNTARY ANNOUNCEMENT - TERMINATION OF COOPERATION AGREEMENT",
}
EN_AGREEMENTS = {
    "strategic_agreement": "a strategic cooperation agreement", "investment": "an investment agreement",
    "bid_award": "a contract after winning the tender", "procurement": "a contract after winning the tender",
    "joint_development": "a joint development agreement", "joint_lab": "an agreement to establish a joint laboratory",
    "supply": "a material supply contract",
}
LONG_TEXT = {"zh": "公告及通告 - [自願性公告]", "en": "Announcements and Notices - [Voluntary Announcements]"}
SHORT_TEXT = {"zh": "公告及通告", "en": "Announcements and Notices"}
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December")


def stock_id(code: str) -> int:
    """The site's internal stock id (unrelated to the stock code, as on the real site)."""
    return 1000 + (int(code) * 7919) % 98000


@lru_cache(maxsize=4096)
def names(firm: Firm) -> dict[str, str]:
    """Stock names by language: traditional Chinese short name, English name in capitals."""
    zh = to_traditional(firm.stock_short_name or firm.short_name)
    en = (firm.english_name or firm.id.replace("-", " ")).upper()
    return {"zh": zh, "en": en}


def _english(ctx: Context, firm: Firm, e: Event, kind: str, day: dt.date) -> tuple[str, list[str]]:
    other = e.receiver if e.provider == firm.name else e.provider
    partner = ctx.partners.get(other)
    sample = ctx.world.firm_by_name(other)
    other_en = getattr(partner, "english_name", None) or getattr(sample, "english_name", None) or other
    me = firm.english_name or firm.name
    when = f"{day.day} {MONTHS_EN[day.month - 1]} {day.year}"
    if kind == "termination":
        core = (f"The board of directors (the \"Board\") of {me} (the \"Company\") announces that on {when}, the "
                f"Company and {other_en} agreed to terminate the cooperation agreement entered into in {e.year}.")
    else:
        core = (f"The board of directors (the \"Board\") of {me} (the \"Company\") announces that on {when}, the "
                f"Company entered into {EN_AGREEMENTS.get(e.kind, 'a cooperation agreement')} with {other_en} "
                "in respect of artificial intelligence technology cooperation.")
    paragraphs = [DISCLAIMER_EN, f"This announcement is made by {me} on a voluntary basis.", core,
                  "The Board considers that the cooperation is in the interests of the Company and its shareholders "
                  "as a whole.", f"By order of the Board\n{me}\nHong Kong, {when}"]
    return EN_TITLES[kind if kind == "termination" else e.kind], paragraphs


def _notices(ctx: Context, firm: Firm, events: dict[str, Event]) -> list[dict[str, Any]]:
    s2t = to_traditional
    out = []
    for truth, _number in exchange.firm_notices(ctx, firm):
        if truth.kind not in ("cooperation", "termination"):
            continue
        e = events[(truth.events or truth.terminated)[0]]
        zh_title = s2t("自愿性公告 " + (exchange.TITLES[e.kind] if truth.kind == "cooperation" else "关于终止合作协议的公告")
                       .removeprefix("关于").removesuffix("的公告"))
        en_title, en_paragraphs = _english(ctx, firm, e, truth.kind, truth.published)
        html_doc = ctx.rng(f"hkex-html:{truth.url}").random() < HTML_SHARE
        out.append({"day": truth.published, "key": truth.url, "kind": truth.kind, "relevant": True, "html": html_doc,
                    "pages": 1, "events": list(truth.events), "terminated": list(truth.terminated),
                    "zh": (zh_title, [DISCLAIMER_ZH] + s2t(truth.text).split("\n")), "en": (en_title, en_paragraphs),
                    "long": LONG_TEXT})
    return out


def _noise(ctx: Context, firm: Firm, years: range) -> list[dict[str, Any]]:
    out = []
    for year in years:
        for kind in announcement_kinds()["hkex"]:
            rng = ctx.rng(f"hkex-noise:{firm.stock_code}:{year}:{kind['key']}")
            for i in range(int(kind["per_year"])):
                month = kind["month"][i % len(kind["month"])]
                day = dt.date(year, month, rng.randint(1, 28))
                values = {"year": year, "prev": year - 1, "mm": month, "end": 28 if month == 2 else 30,
                          "month_en": MONTHS_EN[month - 1]}
                zh, en = kind["zh"].format(**values), kind["en"].format(**values)
                out.append({"day": day, "key": f"{kind['key']}-{i}", "kind": kind["key"], "relevant": False,
                            "html": rng.random() < kind.get("html", 0.0), "pages": int(kind.get("pages", 1)),
                            "events": [], "terminated": [],
                            "zh": (zh, [DISCLAIMER_ZH, f"{names(firm)['zh']}董事會謹此公佈{zh}。"]),
                            "en": (en, [DISCLAIMER_EN, f"The Board of {firm.english_name or firm.name} announces the {en}."]),
                            "long": {"zh": "公告及通告 - [其他]", "en": "Announcements and Notices - [Other]"}})
    return out


def _html_doc(title: str, paragraphs: list[str], language: str, header: str) -> bytes:
    body = "".join(f"<p>{html.escape(p)}</p>\n" for p in paragraphs)
    content = (f'<div class="header">{html.escape(header)}</div>\n<h1>{html.escape(title)}</h1>\n'
               f'<div class="content">\n{body}</div>\n')
    return html_page(title, content, lang="zh-HK" if language == "zh-Hant" else "en").encode("utf-8")


def render(ctx: Context) -> tuple[list[Page], dict[str, Any], dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """Static pages (robots, HTML documents), the search index, PDF specs by path, and the truth records."""
    world = ctx.world
    firms = [f for f in world.firms if f.listed and f.stock_code and f.exchange == "HKEX"]
    events = {e.id: e for e in world.events}
    through = getattr(world, "through_year", LAST_YEAR)
    records = []
    for firm in firms:
        for r in _notices(ctx, firm, events) + _noise(ctx, firm, range(world_first_year(world), through + 1)):
            r["firm"] = firm
            records.append(r)
    by_day: dict[dt.date, list[dict[str, Any]]] = {}
    for r in records:
        by_day.setdefault(r["day"], []).append(r)
    for day, items in by_day.items():
        items.sort(key=lambda r: (r["firm"].stock_code, r["key"]))
        for k, r in enumerate(items, start=1):
            r["news_id"] = f"{day:%Y%m%d}{k:05d}"
    pages = [Page(f"/_hosts/{HOST}/robots.txt", ROBOTS.encode("utf-8"), dt.date(2014, 1, 1))]
    rows: list[dict[str, Any]] = []
    specs: dict[str, dict[str, Any]] = {}
    truth: list[dict[str, Any]] = []
    for r in sorted(records, key=lambda r: (r["day"], r["news_id"]), reverse=True):
        firm, day = r["firm"], r["day"]
        for lang, suffix, language in (("zh", "_c", "zh-Hant"), ("en", "", "en")):
            title, paragraphs = r[lang]
            ext = "htm" if r["html"] else "pdf"
            link = f"/listedco/listconews/sehk/{day:%Y}/{day:%m%d}/{r['news_id']}{suffix}.{ext}"
            header = (f"{names(firm)['zh']}（股份代號：{firm.stock_code}）" if lang == "zh"
                      else f"{names(firm)['en']} (Stock Code: {firm.stock_code})")
            company = to_traditional(firm.name) if lang == "zh" else (firm.english_name or firm.name)
            fault = None
            if not r["html"]:
                fault = pdf_fault(world.seed, link)
                specs[f"/_hosts/{HOST}{link}"] = {"title": title, "company": company, "language": language,
                                                  "date": day.isoformat(), "header": header, "paragraphs": paragraphs,
                                                  "pages": r["pages"], "fault": fault}
            else:
                pages.append(Page(f"/_hosts/{HOST}{link}", _html_doc(title, paragraphs, language, header), day))
            rows.append({"lang": lang, "stockId": stock_id(firm.stock_code), "_date": day.isoformat(),
                         "FILE_INFO": "" if r["html"] else f"{40 + 25 * r['pages']}KB", "NEWS_ID": r["news_id"],
                         "SHORT_TEXT": SHORT_TEXT[lang], "TOTAL_COUNT": "", "DOD_WEB_PATH": "",
                         "STOCK_NAME": names(firm)[lang], "TITLE": html.escape(title),
                         "FILE_TYPE": "HTM" if r["html"] else "PDF", "DATE_TIME": f"{day:%d/%m/%Y} 16:30",
                         "LONG_TEXT": r["long"][lang], "STOCK_CODE": firm.stock_code, "FILE_LINK": link})
            truth.append({"source": "hkex", "url": f"https://{HOST}{link}", "id": r["news_id"] + suffix,
                          "code": firm.stock_code, "exchange": "HKEX", "firm": firm.id, "title": title,
                          "date": day.isoformat(), "kind": r["kind"], "relevant": r["relevant"], "financials": False,
                          "hard_negative": False, "events": r["events"], "terminated": r["terminated"],
                          "fault": fault, "language": language, "file_type": "HTML" if r["html"] else "PDF",
                          "pages": r["pages"], "document": None,
                          "text": "\n".join(paragraphs) if r["relevant"] and fault is None else None})
    stocks = [{"stockId": stock_id(f.stock_code), "code": f.stock_code, "zh": names(f)["zh"], "en": names(f)["en"]}
              for f in sorted(firms, key=lambda f: f.stock_code)]
    return pages, {"stocks": stocks, "rows": rows}, specs, truth
