"""The cninfo (巨潮资讯) emulation: the mainland-listed sample firms' announcements as the real service has them.

What the demo server answers from what this module writes (see :mod:`demosite.protocols`):

- ``www.cninfo.com.cn``: the stock lists ``/new/data/szse_stock.json`` (SSE and SZSE, as the real file),
  ``bj_stock.json`` (BSE) and ``hke_stock.json`` (HKEX) — static files; the announcement search
  ``POST /new/hisAnnouncement/query`` answered from ``<out>/server/cninfo.json``;
- ``static.cninfo.com.cn``: ``/finalpage/YYYY-MM-DD/<announcementId>.PDF``, built on request from
  ``<out>/server/pdfs.json`` (:mod:`demosite.pdfs`).

The announcements are the exchange's own notices (:func:`demosite.sites.exchange.firm_notices`: the
cooperation, termination and annual-report-summary notices, same text and 公告编号 as the HTML pages)
plus the ordinary announcements every listed firm publishes (``data/announcements.yml``: reports,
shareholder meetings, board resolutions, buy-backs ...), about 33 a year, so that a title pre-filter
can be measured. PDF faults (:data:`demosite.pdfs.FAULTS`) hit :data:`FAULT_RATE` of the PDFs per kind,
and one relevant announcement per kind (from the report years, so stepping the world keeps them).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from demosite.model import LAST_YEAR, Firm
from demosite.pages import Page
from demosite.pdfs import FAULTS, page_count
from demosite.sites import Context, exchange

HOST = "www.cninfo.com.cn"
STATIC_HOST = "static.cninfo.com.cn"
FAULT_RATE = 0.002  # per fault kind, among all PDFs (the target: >= 99 % of the PDFs give their text)
#: cninfo category of the exchange's own notices, by truth kind.
NOTICE_CATEGORY = {"cooperation": "category_rcjy_szsh", "termination": "category_rcjy_szsh",
                   "annual_report": "category_ndbg_szsh"}
ORG_PREFIX = {"SSE": "gssh0", "SZSE": "gssz0", "BSE": "gfbj0", "HKEX": "gshk0"}
STOCK_FILES = {"szse_stock.json": ("SSE", "SZSE"), "bj_stock.json": ("BSE",), "hke_stock.json": ("HKEX",)}
ROBOTS = {HOST: "User-agent: *\nDisallow: /new/fulltextSearch\n", STATIC_HOST: "User-agent: *\nAllow: /\n"}
_EPOCH = dt.date(2000, 1, 1)
_CN_TZ = dt.timezone(dt.timedelta(hours=8))


@lru_cache(maxsize=1)
def announcement_kinds() -> dict[str, list[dict[str, Any]]]:
    """The non-cooperation announcement kinds of ``data/announcements.yml`` (cninfo and hkex lists)."""
    path = Path(__file__).resolve().parent.parent / "data" / "announcements.yml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def org_id(firm: Firm) -> str:
    """cninfo's orgId of a listed firm (gssh0/gssz0/gfbj0/gshk0 + stock code)."""
    return ORG_PREFIX.get(firm.exchange or "", "gssz0") + (firm.stock_code or "")


def _pinyin_initials(firm: Firm) -> str:
    return "".join(w[0] for w in firm.id.split("-") if w)[:6]


def page_column(firm: Firm) -> str:
    """The board column cninfo reports (SZZB/SZCY, SHZB/SHKC, BJZB)."""
    code = firm.stock_code or ""
    if firm.exchange == "SZSE":
        return "SZCY" if code.startswith("3") else "SZZB"
    if firm.exchange == "SSE":
        return "SHKC" if code.startswith("688") else "SHZB"
    return "BJZB"


def epoch_ms(day: dt.date) -> int:
    """``announcementTime``: midnight of ``day`` in Beijing time, in epoch milliseconds."""
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=_CN_TZ).timestamp() * 1000)


def _values(rng: random.Random, day: dt.date, firm: Firm) -> dict[str, Any]:
    """The placeholders of one announcement's title and body templates (the quarter follows the month)."""
    return {"year": day.year, "prev": day.year - 1, "n": rng.randint(1, 5), "m": rng.randint(2, 30),
            "q": "一" if day.month <= 6 else "三", "short": firm.stock_short_name or firm.short_name}


def _noise(ctx: Context, firm: Firm, years: range) -> list[dict[str, Any]]:
    """The firm's ordinary announcements, year by year (a year's draws depend only on that year)."""
    out = []
    for year in years:
        for kind in announcement_kinds()["cninfo"]:
            rng = ctx.rng(f"cninfo-noise:{firm.stock_code}:{year}:{kind['key']}")
            count = int(kind["per_year"]) + (1 if rng.random() < kind["per_year"] % 1 else 0)
            for i in range(count):
                day = dt.date(year, kind["month"][i % len(kind["month"])], rng.randint(1, 28))
                values = _values(rng, day, firm)
                out.append({"day": day, "key": f"{kind['key']}-{i}", "kind": kind["key"], "hard": bool(kind.get("hard")),
                            "title": kind["title"].format(**values), "category": kind["category"],
                            "pages": int(kind.get("pages", 1)), "relevant": False, "financials": False,
                            "paragraphs": [p.format(**values) for p in kind["body"]],
                            "number": f"临{year}-{rng.randint(1, 120):03d}", "events": [], "terminated": []})
    return out


def _notices(ctx: Context, firm: Firm) -> list[dict[str, Any]]:
    out = []
    for truth, number in exchange.firm_notices(ctx, firm):
        title = truth.title.split("：", 1)[1]
        out.append({"day": truth.published, "key": truth.url, "kind": truth.kind, "hard": False, "title": title,
                    "category": NOTICE_CATEGORY.get(truth.kind, "category_rcjy_szsh"), "pages": 1,
                    "relevant": truth.kind in ("cooperation", "termination"),
                    "financials": truth.kind == "annual_report", "paragraphs": truth.text.split("\n"),
                    "number": number, "events": list(truth.events), "terminated": list(truth.terminated),
                    "document": truth.url})
    return out


def unit(seed: int, key: str) -> float:
    """A uniform number in [0, 1) from the world seed and ``key`` (cheaper than a seeded Random per draw)."""
    digest = hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def pdf_fault(seed: int, key: str) -> str | None:
    """The fault drawn for one PDF: each kind of :data:`demosite.pdfs.FAULTS` with :data:`FAULT_RATE`."""
    roll = unit(seed, f"pdf-fault:{key}")
    return next((k for i, k in enumerate(FAULTS) if FAULT_RATE * i <= roll < FAULT_RATE * (i + 1)), None)


def _place_faults(ctx: Context, records: list[dict[str, Any]]) -> None:
    """Draw each PDF's fault; force one of each kind onto a relevant announcement of the report years."""
    seed = ctx.world.seed
    for r in records:
        r["fault"] = pdf_fault(seed, r["announcementId"])
    present = {r["fault"] for r in records if r["relevant"] and r["fault"] and r["day"].year <= LAST_YEAR}
    candidates = sorted((r for r in records if r["relevant"] and r["day"].year <= LAST_YEAR and r["fault"] is None),
                        key=lambda r: unit(seed, f"forced-fault:{r['announcementId']}"))
    for kind, r in zip([k for k in FAULTS if k not in present], candidates, strict=False):
        r["fault"] = kind


def _assign_ids(records: list[dict[str, Any]]) -> None:
    """announcementId: 1 + days since 2000-01-01 (5 digits) + the day's sequence (4 digits); stable per day."""
    by_day: dict[dt.date, list[dict[str, Any]]] = {}
    for r in records:
        by_day.setdefault(r["day"], []).append(r)
    for day, items in by_day.items():
        items.sort(key=lambda r: (r["code"], r["key"]))
        for k, r in enumerate(items, start=1):
            r["announcementId"] = f"1{(day - _EPOCH).days:05d}{k:04d}"


def _api_record(r: dict[str, Any], firm: Firm) -> dict[str, Any]:
    """The announcement as the query answers it (every field the real service returns, in its order)."""
    short = firm.stock_short_name or firm.short_name
    return {
        "id": None, "secCode": firm.stock_code, "secName": short, "orgId": org_id(firm),
        "announcementId": r["announcementId"], "announcementTitle": r["title"],
        "announcementTime": epoch_ms(r["day"]), "adjunctUrl": r["adjunctUrl"], "adjunctSize": 40 + 25 * r["pages"],
        "adjunctType": "PDF", "storageTime": None, "columnId": "09020202||250101||251302",
        "pageColumn": page_column(firm), "announcementType": r["category"].removeprefix("category_"),
        "associateAnnouncement": None, "important": None, "batchNum": None, "announcementContent": "",
        "orgName": None, "tileSecName": short, "shortTitle": r["title"], "announcementTypeName": None,
        "secNameList": None,
    }


def _stock_lists(firms: list[Firm]) -> list[Page]:
    pages = []
    for name, exchanges in STOCK_FILES.items():
        rows = [{"orgId": org_id(f), "category": "A股" if f.exchange != "HKEX" else "港股", "code": f.stock_code,
                 "pinyin": _pinyin_initials(f), "zwjc": f.stock_short_name or f.short_name}
                for f in sorted(firms, key=lambda f: f.stock_code or "") if f.exchange in exchanges]
        body = json.dumps({"stockList": rows}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        pages.append(Page(f"/_hosts/{HOST}/new/data/{name}", body, dt.date(2014, 1, 1)))
    return pages


def render(ctx: Context) -> tuple[list[Page], list[dict[str, Any]], dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """Static pages (robots, stock lists), the query's records, PDF specs by path, and the truth records."""
    world = ctx.world
    through = getattr(world, "through_year", LAST_YEAR)
    listed = [f for f in world.firms if exchange.listed_on_mainland(f)]
    records: list[dict[str, Any]] = []
    for firm in listed:
        for r in _notices(ctx, firm) + _noise(ctx, firm, range(world_first_year(world), through + 1)):
            r["code"], r["firm"] = firm.stock_code, firm
            records.append(r)
    _assign_ids(records)
    for r in records:
        r["adjunctUrl"] = f"finalpage/{r['day'].isoformat()}/{r['announcementId']}.PDF"
    _place_faults(ctx, records)
    api, specs, truth = [], {}, []
    for r in sorted(records, key=lambda r: (r["day"], r["announcementId"]), reverse=True):
        firm: Firm = r["firm"]
        path = f"/_hosts/{STATIC_HOST}/{r['adjunctUrl']}"
        short = firm.stock_short_name or firm.short_name
        spec = {"title": r["title"], "company": firm.name, "language": "zh-Hans", "date": r["day"].isoformat(),
                "header": f"证券代码：{firm.stock_code}　证券简称：{short}　公告编号：{r['number']}",
                "paragraphs": r["paragraphs"], "pages": r["pages"], "fault": r["fault"]}
        specs[path] = spec
        api.append(_api_record(r, firm) | {"_exchange": firm.exchange, "_category": r["category"],
                                            "_date": r["day"].isoformat()})
        truth.append({
            "source": "cninfo", "url": f"https://{STATIC_HOST}/{r['adjunctUrl']}", "id": r["announcementId"],
            "code": firm.stock_code, "exchange": firm.exchange, "firm": firm.id, "title": r["title"],
            "date": r["day"].isoformat(), "kind": r["kind"], "relevant": r["relevant"], "financials": r["financials"],
            "hard_negative": r["hard"], "events": r["events"], "terminated": r["terminated"], "fault": r["fault"],
            "language": "zh-Hans", "file_type": "PDF", "document": r.get("document"),
            "pages": page_count(spec) if r["relevant"] or r["financials"] else r["pages"],
            "text": "\n".join(r["paragraphs"]) if (r["relevant"] or r["financials"]) and r["fault"] is None else None,
        })
    pages = [Page(f"/_hosts/{host}/robots.txt", text.encode("utf-8"), dt.date(2014, 1, 1))
             for host, text in ROBOTS.items()]
    hk = [f for f in world.firms if f.listed and f.stock_code and f.exchange == "HKEX"]
    pages += _stock_lists(listed + hk)
    return pages, api, specs, truth


def world_first_year(world: Any) -> int:
    """The first year of the world's events (ordinary announcements start then)."""
    return min((e.year for e in world.events), default=LAST_YEAR)
