"""The answers of the emulated real services (cninfo, HKEXnews), as plain functions of the request.

:mod:`demosite.server` routes ``/_hosts/<host>/...`` requests here; the data come from the render
output (``server/cninfo.json``, ``server/hkex.json``, written by :mod:`demosite.sites.cninfo` and
:mod:`demosite.sites.hkex`). Each function returns ``(HTTP status, body)``; bad input is a 400 with a
one-line reason, never a traceback.

cninfo ``POST /new/hisAnnouncement/query`` (form fields as the real service: ``pageNum``, ``pageSize``,
``column``, ``tabName``, ``plate``, ``stock``, ``searchkey``, ``secid``, ``category``, ``trade``,
``seDate``, ``sortName``, ``sortType``, ``isHLtitle``). Like the real service it caps ``pageSize`` at
30, answers ``announcements: null`` past the last page, and floors ``totalpages`` (a partial last page
is not counted), so a client must page on ``hasMore`` / ``totalAnnouncement``.

HKEXnews ``/search/prefix.do`` (JSONP ``callback({...});``) and ``/search/titleSearchServlet.do``
(``result`` is a JSON *string* of rows; ``rowRange`` rows are returned, ``hasNextRow`` says more exist).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

CNINFO_QUERY = "/_hosts/www.cninfo.com.cn/new/hisAnnouncement/query"
HKEX_PREFIX = "/_hosts/www1.hkexnews.hk/search/prefix.do"
HKEX_SEARCH = "/_hosts/www1.hkexnews.hk/search/titleSearchServlet.do"
CNINFO_MAX_PAGE_SIZE = 30
#: cninfo ``column`` -> exchanges (used when no ``stock`` is given).
COLUMNS = {"szse": ("SZSE",), "sse": ("SSE",), "bj": ("BSE",)}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _int(form: Mapping[str, str], name: str, default: int) -> int:
    raw = (form.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{name} must be a positive integer, got {raw!r}")
    return int(raw)


def _se_date(raw: str) -> tuple[str, str]:
    raw = raw.strip()
    if not raw:
        return "", "9999-12-31"
    start, sep, end = raw.partition("~")
    start, end = start.strip(), end.strip()
    if not sep or (start and not _DATE.match(start)) or (end and not _DATE.match(end)):
        raise ValueError(f"seDate must be YYYY-MM-DD~YYYY-MM-DD, got {raw!r}")
    return start, end or "9999-12-31"


def cninfo_query(records: Sequence[dict[str, Any]], by_code: Mapping[str, list[dict[str, Any]]],
                 form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
    """The announcement search; ``records`` newest first, ``by_code`` the same per stock code."""
    try:
        page = _int(form, "pageNum", 1)
        size = min(CNINFO_MAX_PAGE_SIZE, _int(form, "pageSize", CNINFO_MAX_PAGE_SIZE))
        start, end = _se_date(form.get("seDate", ""))
    except ValueError as exc:
        return 400, {"error": str(exc)}
    codes = [part.split(",", 1)[0].strip() for part in (form.get("stock") or "").split(";") if part.strip()]
    if codes:
        pool: list[dict[str, Any]] = sorted((r for c in dict.fromkeys(codes) for r in by_code.get(c, ())),
                                            key=lambda r: (r["announcementTime"], r["announcementId"]), reverse=True)
    else:
        exchanges = COLUMNS.get((form.get("column") or "").strip().lower())
        pool = [r for r in records if exchanges is None or r["_exchange"] in exchanges]
    categories = {c.strip() for c in (form.get("category") or "").split(";") if c.strip()}
    key = (form.get("searchkey") or "").strip()
    chosen = [r for r in pool if start <= r["_date"] <= end and (not categories or r["_category"] in categories)
              and (not key or key.lower() in r["announcementTitle"].lower())]
    highlight = (form.get("isHLtitle") or "").strip().lower() == "true" and key
    rows = []
    for r in chosen[(page - 1) * size: page * size]:
        row = {k: v for k, v in r.items() if not k.startswith("_")}
        if highlight:
            row["announcementTitle"] = re.sub(re.escape(key), lambda m: f"<em>{m.group(0)}</em>",
                                              row["announcementTitle"], flags=re.IGNORECASE)
        rows.append(row)
    total = len(chosen)
    return 200, {"classifiedAnnouncements": None, "totalSecurities": 0, "totalAnnouncement": total,
                 "totalRecordNum": total, "announcements": rows or None, "categoryList": None,
                 "hasMore": page * size < total, "totalpages": total // size}


def _lang(query: Mapping[str, str]) -> str:
    return "en" if (query.get("lang") or "zh").strip().lower() in ("en", "e") else "zh"


def hkex_prefix(stocks: Sequence[dict[str, Any]], query: Mapping[str, str]) -> tuple[int, str]:
    """``prefix.do``: the stocks whose code starts with ``name`` (or whose name contains it), as JSONP."""
    callback = (query.get("callback") or "callback").strip()
    if not re.fullmatch(r"[A-Za-z_$][\w$.]*", callback):
        return 400, "error: callback must be a JavaScript identifier"
    name = (query.get("name") or "").strip()
    lang = _lang(query)
    hits = [s for s in stocks if name and (s["code"].startswith(name.zfill(5) if name.isdigit() else name)
                                           or name.lower() in s[lang].lower())]
    info = [{"stockId": s["stockId"], "code": s["code"], "name": s[lang]} for s in hits[:20]]
    body = json.dumps({"more": "1" if len(hits) > 20 else "0", "stockInfo": info}, ensure_ascii=False,
                      separators=(",", ":"))
    return 200, f"{callback}({body});"


def _yyyymmdd(query: Mapping[str, str], name: str, default: str) -> str:
    raw = (query.get(name) or "").strip()
    if not raw:
        return default
    try:
        return dt.datetime.strptime(raw, "%Y%m%d").date().isoformat()
    except ValueError:
        raise ValueError(f"{name} must be yyyymmdd, got {raw!r}") from None


def hkex_search(rows: Sequence[dict[str, Any]], query: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
    """``titleSearchServlet.do``: one language's documents of a stock (or all, ``stockId=-1``), newest first."""
    try:
        start = _yyyymmdd(query, "fromDate", "")
        end = _yyyymmdd(query, "toDate", "9999-12-31")
        stock = int((query.get("stockId") or "-1").strip())
        row_range = int((query.get("rowRange") or "100").strip())
    except ValueError as exc:
        return 400, {"error": str(exc)}
    lang = _lang(query)
    title = (query.get("title") or "").strip().lower()
    chosen = [r for r in rows if r["lang"] == lang and (stock == -1 or r["stockId"] == stock)
              and start <= r["_date"] <= end and (not title or title in r["TITLE"].lower())]
    total = len(chosen)
    shown = [{k: v for k, v in r.items() if k not in ("lang", "stockId", "_date")} | {"TOTAL_COUNT": str(total)}
             for r in chosen[:max(0, row_range)]]
    return 200, {"result": json.dumps(shown, ensure_ascii=False), "hasNextRow": total > len(shown),
                 "rowRange": row_range, "loadedRecord": len(shown), "recordCnt": total}
