"""The demo web speaks the real services' protocols (issue 15): cninfo, HKEXnews, sitemaps and feeds.

Everything over real HTTP against :func:`demosite.server.serve`, on the small world (the first preset
with firms listed in Hong Kong and with the report's hubs), checked against the render's ground truth.
"""

from __future__ import annotations

import http.client
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from email.message import Message
from pathlib import Path
from xml.etree import ElementTree

import pypdfium2
import pytest

from demosite.render import SiteManifest, render_site, step_world
from demosite.server import serve
from demosite.world import World, build_world

CNINFO = "/_hosts/www.cninfo.com.cn"
STATIC = "/_hosts/static.cninfo.com.cn/"
HKEX = "/_hosts/www1.hkexnews.hk"
SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def _get(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> tuple[int, Message, bytes]:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def _query(base: str, **form: object) -> tuple[int, dict]:
    data = urllib.parse.urlencode({k: str(v) for k, v in form.items()}).encode()
    request = urllib.request.Request(base + CNINFO + "/new/hisAnnouncement/query", data=data,
                                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _form(code: str, org: str, **extra: object) -> dict[str, object]:
    form: dict[str, object] = {"pageNum": 1, "pageSize": 30, "column": "szse", "tabName": "fulltext", "plate": "",
                               "stock": f"{code},{org}", "searchkey": "", "secid": "", "category": "", "trade": "",
                               "seDate": "", "sortName": "", "sortType": "", "isHLtitle": "true"}
    return form | extra


def _pdf_text(data: bytes) -> str:
    pdf = pypdfium2.PdfDocument(data)
    try:
        return "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(seed=7, preset="small")


@pytest.fixture(scope="module")
def world_dir(world: World, tmp_path_factory: pytest.TempPathFactory) -> SiteManifest:
    return render_site(world, tmp_path_factory.mktemp("protocols"))


@pytest.fixture(scope="module")
def truth(world_dir: SiteManifest) -> list[dict]:
    return [json.loads(line) for line in (world_dir.truth_dir / "announcements.jsonl").read_text("utf-8").splitlines()]


@pytest.fixture(scope="module")
def site(world_dir: SiteManifest):
    with serve(world_dir.out_dir) as running:
        yield running


def test_cninfo_stock_lists(site, world: World) -> None:
    firms = world.firms
    for name, exchanges, prefix in (("szse_stock.json", {"SSE", "SZSE"}, ("gssh0", "gssz0")),
                                    ("bj_stock.json", {"BSE"}, ("gfbj0",)), ("hke_stock.json", {"HKEX"}, ("gshk0",))):
        status, _, body = _get(site.url(f"{CNINFO}/new/data/{name}"))
        stocks = json.loads(body)["stockList"]
        assert status == 200 and set(stocks[0]) == {"orgId", "category", "code", "pinyin", "zwjc"}
        assert {s["code"] for s in stocks} == {f.stock_code for f in firms if f.listed and f.exchange in exchanges}
        assert all(s["orgId"].startswith(prefix) and s["orgId"].endswith(s["code"]) for s in stocks)
    status, _, robots = _get(site.url(f"{CNINFO}/robots.txt"))
    assert status == 200 and b"User-agent" in robots


def test_cninfo_query_pages_and_filters(site, truth: list[dict]) -> None:
    per_code = Counter(t["code"] for t in truth if t["source"] == "cninfo")
    code = max(per_code, key=per_code.get)
    org = json.loads(_get(site.url(f"{CNINFO}/new/data/szse_stock.json"))[2])["stockList"]
    org = next(s["orgId"] for s in org if s["code"] == code)
    seen, page, first = [], 1, None
    while True:
        status, body = _query(site.base_url, **_form(code, org, pageNum=page, pageSize=50))  # capped at 30
        assert status == 200
        first = first or body
        seen += body["announcements"] or []
        if not body["hasMore"]:
            break
        assert len(body["announcements"]) == 30
        page += 1
    total = first["totalAnnouncement"]
    assert total == per_code[code] == len(seen) == len({a["announcementId"] for a in seen}) > 60
    assert first["totalpages"] == total // 30 and first["totalRecordNum"] == total
    assert [a["announcementTime"] for a in seen] == sorted((a["announcementTime"] for a in seen), reverse=True)
    sample = seen[0]
    assert sample["secCode"] == code and sample["orgId"] == org and sample["adjunctType"] == "PDF"
    assert sample["adjunctUrl"] == f"finalpage/{sample['adjunctUrl'].split('/')[1]}/{sample['announcementId']}.PDF"
    assert {"id", "secName", "announcementTitle", "tileSecName", "shortTitle", "pageColumn"} <= set(sample)
    assert _query(site.base_url, **_form(code, org, pageNum=page + 1))[1]["announcements"] is None

    # seDate: inclusive days in Beijing time; the count agrees with the truth
    status, body = _query(site.base_url, **_form(code, org, seDate="2020-01-01~2020-12-31"))
    expected = sum(1 for t in truth if t["code"] == code and t["source"] == "cninfo" and t["date"][:4] == "2020")
    assert body["totalAnnouncement"] == expected > 0
    # category, searchkey with highlight
    body = _query(site.base_url, **_form(code, org, category="category_ndbg_szsh;", pageSize=30))[1]
    assert body["announcements"] and all("年度报告" in a["announcementTitle"] for a in body["announcements"])
    body = _query(site.base_url, **_form(code, org, searchkey="合作"))[1]
    relevant = [t for t in truth if t["code"] == code and "合作" in t["title"] and t["source"] == "cninfo"]
    assert body["totalAnnouncement"] == len(relevant) > 0
    assert all("<em>合作</em>" in a["announcementTitle"] for a in body["announcements"])
    # column without a stock: the exchange's listings only
    body = _query(site.base_url, **_form("", "", stock="", column="sse", pageSize=30))[1]
    sse = {t["code"] for t in truth if t.get("exchange") == "SSE"}
    assert body["totalAnnouncement"] > 30 and {a["secCode"] for a in body["announcements"]} <= sse
    # bad input: a one-line reason; the query takes POST only
    status, body = _query(site.base_url, **_form(code, org, pageNum="x"))
    assert status == 400 and "pageNum" in body["error"]
    assert _query(site.base_url, **_form(code, org, seDate="2020/01/01"))[0] == 400
    assert _get(site.url(f"{CNINFO}/new/hisAnnouncement/query"))[0] == 405


def test_cninfo_pdfs_give_their_text_and_answer_304(site, truth: list[dict]) -> None:
    notices = [t for t in truth if t["source"] == "cninfo" and t["relevant"] and t["fault"] is None][:3]
    annual = next(t for t in truth if t["source"] == "cninfo" and t["financials"] and t["fault"] is None)
    for t in [*notices, annual]:
        path = STATIC + t["url"].split("static.cninfo.com.cn/", 1)[1]
        status, headers, data = _get(site.url(path))
        assert status == 200 and headers["Content-Type"] == "application/pdf" and data.startswith(b"%PDF")
        text = _pdf_text(data)
        assert f"证券代码：{t['code']}" in text and "公告编号" in text and "第 1 页 共" in text
        flat = re.sub(r"\s", "", text)
        assert all(re.sub(r"\s", "", line) in flat for line in t["text"].split("\n")), t["url"]
        assert _get(site.url(path), {"If-None-Match": headers["ETag"]})[0] == 304
        assert _get(site.url(path), {"If-Modified-Since": headers["Last-Modified"]})[0] == 304
        assert _get(site.url(path), method="HEAD")[1]["ETag"] == headers["ETag"]
        assert _get(site.url(path))[2] == data  # deterministic bytes
    assert "营业收入" in _pdf_text(_get(site.url(STATIC + annual["url"].split(".cn/", 1)[1]))[2])


def test_pdf_faults_are_real_and_recorded(site, truth: list[dict]) -> None:
    faults = {}
    for t in truth:
        if t["fault"] and t["relevant"] and t["source"] == "cninfo":
            faults.setdefault(t["fault"], t)
    assert set(faults) == {"scanned", "empty", "encrypted", "truncated"}
    pdfs = [t for t in truth if t["file_type"] == "PDF"]
    assert sum(1 for t in pdfs if t["fault"]) / len(pdfs) < 0.015  # >= 98.5 % of the PDFs give their text
    assert all(t["text"] is None for t in truth if t["fault"])
    for kind in ("scanned", "empty"):
        _, _, data = _get(site.url(STATIC + faults[kind]["url"].split(".cn/", 1)[1]))
        pdf = pypdfium2.PdfDocument(data)
        assert len(pdf) >= 1 and _pdf_text(data).strip() == ""
        if kind == "scanned":
            assert b"/Image" in data
        pdf.close()
    _, _, data = _get(site.url(STATIC + faults["encrypted"]["url"].split(".cn/", 1)[1]))
    assert b"/Encrypt" in data
    with pytest.raises(pypdfium2.PdfiumError):
        pypdfium2.PdfDocument(data)
    request = urllib.request.Request(site.url(STATIC + faults["truncated"]["url"].split(".cn/", 1)[1]))
    with urllib.request.urlopen(request, timeout=20) as response:
        promised = int(response.headers["Content-Length"])
        with pytest.raises(http.client.IncompleteRead) as cut:
            response.read()
    assert 0 < len(cut.value.partial) < promised


def test_cninfo_truth_supports_the_prefilter_measure(world_dir: SiteManifest, truth: list[dict]) -> None:
    cninfo = [t for t in truth if t["source"] == "cninfo"]
    relevant = [t for t in cninfo if t["relevant"]]
    assert 0.03 < len(relevant) / len(cninfo) < 0.2  # cooperation notices are few among the announcements
    assert any(t["hard_negative"] for t in cninfo) and any(t["kind"] == "annual_report_full" for t in cninfo)
    documents = {}
    for line in (world_dir.truth_dir / "documents.jsonl").read_text("utf-8").splitlines():
        d = json.loads(line)
        documents[d["url"]] = d
    for t in relevant:  # each is the PDF twin of an exchange notice of the demo web, same events
        twin = documents[t["document"]]
        assert (twin["events"], twin["terminated"]) == (t["events"], t["terminated"]) and (t["events"] or t["terminated"])


def test_hkex_prefix_and_title_search(site, truth: list[dict]) -> None:
    hk = [t for t in truth if t["source"] == "hkex"]
    code = Counter(t["code"] for t in hk if t["relevant"]).most_common(1)[0][0]
    status, _, body = _get(site.url(f"{HKEX}/search/prefix.do?callback=callback&lang=ZH&type=A&name={code}&market=SEHK"))
    match = re.fullmatch(r"callback\((.*)\);", body.decode())
    assert status == 200 and match
    stock = json.loads(match.group(1))["stockInfo"][0]
    assert stock["code"] == code and isinstance(stock["stockId"], int)
    for lang, language in (("zh", "zh-Hant"), ("en", "en")):
        url = (f"{HKEX}/search/titleSearchServlet.do?sortDir=0&sortByOptions=DateTime&category=0&market=SEHK"
               f"&stockId={stock['stockId']}&documentType=-1&fromDate=20140101&toDate=20241231&title=&searchType=0"
               f"&t1code=-2&t2Gcode=-2&t2code=-2&rowRange=100&lang={lang}")
        status, _, body = _get(site.url(url))
        answer = json.loads(body)
        rows = json.loads(answer["result"])
        expected = [t for t in hk if t["code"] == code and t["language"] == language]
        assert status == 200 and answer["recordCnt"] == len(expected) and answer["hasNextRow"] == (len(expected) > 100)
        assert len(rows) == min(100, len(expected)) == answer["loadedRecord"]
        assert {"FILE_LINK", "TITLE", "DATE_TIME", "STOCK_CODE", "STOCK_NAME", "NEWS_ID", "FILE_TYPE"} <= set(rows[0])
        assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", rows[0]["DATE_TIME"])
        small = json.loads(json.loads(_get(site.url(url.replace("rowRange=100", "rowRange=5")))[2])["result"])
        assert small == rows[:5]
        for kind in ("PDF", "HTM"):
            row = next(r for r in rows if r["FILE_TYPE"] == kind and "自願" in r["TITLE"] + "自願" * (lang == "en"))
            status, headers, data = _get(site.url(HKEX + row["FILE_LINK"]))
            assert status == 200
            if kind == "PDF":
                t = next(t for t in expected if t["url"].endswith(row["FILE_LINK"]))
                text = _pdf_text(data) if t["fault"] is None else ""
                assert (text.strip() != "") == (t["fault"] is None)
                if text:  # the header line in the document's language, traditional characters in Chinese
                    assert ("股份代號" in text and "董事會" in text) if lang == "zh" else "(Stock Code:" in text
            else:
                assert headers["Content-Type"].startswith("text/html") and row["TITLE"] in data.decode()
    titled = url.replace("title=&", "title=VOLUNTARY&").replace("lang=en", "lang=en")
    assert all("VOLUNTARY" in r["TITLE"] for r in json.loads(json.loads(_get(site.url(titled))[2])["result"]))
    assert _get(site.url(f"{HKEX}/search/titleSearchServlet.do?fromDate=2020-01-01"))[0] == 400


def test_newsroom_and_portal_hosts_have_robots_sitemaps_and_feeds(site, world_dir: SiteManifest) -> None:
    hosts = json.loads((world_dir.truth_dir / "hosts.json").read_text("utf-8"))
    docs = [json.loads(line) for line in (world_dir.truth_dir / "host_documents.jsonl").read_text("utf-8").splitlines()]
    assert hosts["www.huawei.com"]["kind"] == "newsroom" and hosts["www.gd.gov.cn"]["kind"] == "portal"
    assert hosts["www.miit.gov.cn"]["kind"] == "ministry"
    for host in ("www.huawei.com", "www.gd.gov.cn", "www.miit.gov.cn"):
        robots = _get(site.url(f"/_hosts/{host}/robots.txt"))[2].decode()
        assert f"Sitemap: https://{host}/sitemap.xml" in robots
        index = ElementTree.fromstring(_get(site.url(f"/_hosts/{host}/sitemap.xml"))[2])
        locs = {}
        for sm in index.iter(f"{SITEMAP_NS}sitemap"):
            urlset = ElementTree.fromstring(_get(site.url("/_hosts/" + sm.find(f"{SITEMAP_NS}loc").text[8:]))[2])
            for u in urlset.iter(f"{SITEMAP_NS}url"):
                locs[u.find(f"{SITEMAP_NS}loc").text] = u.find(f"{SITEMAP_NS}lastmod").text
        expected = {d["url"]: d["published"] for d in docs if d["host"] == host}
        assert locs == expected and len(expected) == hosts[host]["documents"] > 0
        rss = ElementTree.fromstring(_get(site.url(f"/_hosts/{host}/feed.xml"))[2])
        links = [i.find("link").text for i in rss.iter("item")]
        assert 0 < len(links) <= 50 and set(links) <= set(expected)
        atom = _get(site.url(f"/_hosts/{host}/atom.xml"))[2].decode()
        assert atom.count("<entry>") == len(links)
        listing = _get(site.url(f"/_hosts/{host}/news/index.html"))[2].decode()
        assert links[0] in listing and 'rel="next"' in listing
        real_list = hosts[host]["list_real"].removeprefix("https://")  # the real news address serves the list too
        assert _get(site.url("/_hosts/" + real_list))[2].decode() == listing
        doc = next(d for d in docs if d["url"] == links[0])
        status, headers, body = _get(site.url(f"/_hosts/{host}" + links[0][len(f"https://{host}"):]))
        assert status == 200 and body == (world_dir.root / doc["mirror_of"].lstrip("/")).read_bytes()
        assert _get(site.url(f"/_hosts/{host}" + links[0][len(f"https://{host}"):]),
                    {"If-None-Match": headers["ETag"]})[0] == 304


def test_step_keeps_old_pdfs(tmp_path: Path) -> None:
    first = render_site(build_world(seed=7, preset="tiny"), tmp_path / "w")
    before = json.loads((first.out_dir / "server" / "pdfs.json").read_text("utf-8"))
    assert before and any("static.cninfo.com.cn" in p for p in before)
    step_world(tmp_path / "w")
    after = json.loads((first.out_dir / "server" / "pdfs.json").read_text("utf-8"))
    assert len(after) > len(before) and all(after[p] == spec for p, spec in before.items())
