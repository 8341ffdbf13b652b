"""The cninfo and HKEXnews spiders on recorded answers of the real protocols (tests/data/crawl_protocols),
the host map, and the pre-filter's decisions: what each parse step asks for next and what it counts."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas
from scrapy import Request
from scrapy.http import Response, TextResponse
from scrapy.utils.test import get_crawler

from crawlers.hostmap import HostMap, HostMapError, host_map_from
from crawlers.items import DocumentItem, ErrorItem
from crawlers.middlewares import HostMapMiddleware, HostUnmapMiddleware
from crawlers.prefilter import TitleFilterError, load_filter
from crawlers.spiders.cninfo import CninfoSpider
from crawlers.spiders.hkex import HkexSpider

DATA = Path(__file__).parent / "data" / "crawl_protocols"


def _spider(cls, source: str, **settings):
    crawler = get_crawler(cls, {"AIMAP_STOCKS": "all", **settings})
    return cls.from_crawler(crawler, source=source)


def _text(url: str, name: str, request: Request | None = None) -> TextResponse:
    return TextResponse(url, body=(DATA / name).read_bytes(), encoding="utf-8", request=request or Request(url))


def _form(request: Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.body.decode(), keep_blank_values=True).items()}


def test_cninfo_stock_list_then_query_form_as_the_real_client_sends_it():
    spider = _spider(CninfoSpider, "cninfo-szse")
    out = list(spider.parse_stocks(_text("https://www.cninfo.com.cn/new/data/szse_stock.json", "cninfo_stock_list.json")))
    assert [_form(r)["stock"] for r in out] == ["000001,gssz0000001", "002230,gssz0002230"]  # 688111 is SSE
    form = _form(out[1])
    assert out[1].method == "POST" and out[1].url == "https://www.cninfo.com.cn/new/hisAnnouncement/query"
    assert {k: form[k] for k in ("pageNum", "pageSize", "column", "tabName", "plate", "isHLtitle")} == {
        "pageNum": "1", "pageSize": "30", "column": "szse", "tabName": "fulltext", "plate": "sz", "isHLtitle": "true"}
    assert form["seDate"].startswith("2010-01-01~") and set(form) >= {"searchkey", "secid", "category", "trade",
                                                                         "sortName", "sortType"}


def test_cninfo_query_pages_prefilter_and_static_pdf_urls():
    spider = _spider(CninfoSpider, "cninfo-szse")
    url = "https://www.cninfo.com.cn/new/hisAnnouncement/query"
    first = list(spider.parse_query(_text(url, "cninfo_query_page1.json"), code="002230", org_id="gssz0002230", page=1))
    pdfs = [r for r in first if r.method == "GET"]
    assert [r.url for r in pdfs] == ["https://static.cninfo.com.cn/finalpage/2024-03-29/1219425374.PDF"]
    assert pdfs[0].cb_kwargs["published"] == "2024-03-29" and pdfs[0].cb_kwargs["doc_type"] is None
    follow = [r for r in first if r.method == "POST"]
    assert len(follow) == 1 and _form(follow[0])["pageNum"] == "2"
    second = list(spider.parse_query(_text(url, "cninfo_query_page2.json"), code="002230", org_id="gssz0002230", page=2))
    assert [(r.url, r.cb_kwargs["doc_type"]) for r in second] == [
        ("https://static.cninfo.com.cn/finalpage/2024-03-28/1219300001.PDF", "annual_report")]
    assert list(spider.parse_query(_text(url, "cninfo_query_empty.json"), code="000001", org_id="x", page=1)) == []
    stats = spider.crawler.stats.get_stats()
    assert stats["aimap/prefilter/listed"] == 4 and stats["aimap/prefilter/kept"] == 1
    assert stats["aimap/prefilter/financials"] == 1 and stats["aimap/prefilter/skipped"] == 2
    assert stats["aimap/prefilter/skipped/exclude:股东大会"] == 1 and stats["aimap/prefilter/skipped/exclude:回购"] == 1


def test_cninfo_stock_codes_not_listed_are_counted():
    spider = _spider(CninfoSpider, "cninfo-szse", AIMAP_STOCKS="002230,009999")
    out = list(spider.parse_stocks(_text("https://www.cninfo.com.cn/new/data/szse_stock.json", "cninfo_stock_list.json")))
    assert [_form(r)["stock"] for r in out] == ["002230,gssz0002230"]
    assert spider.crawler.stats.get_value("aimap/cninfo/stocks_not_listed") == 1


def test_hkex_prefix_search_rows_and_more_rows():
    spider = _spider(HkexSpider, "hkexnews")
    prefix = "https://www1.hkexnews.hk/search/prefix.do?callback=callback&lang=ZH&type=A&name=00700&market=SEHK"
    searches = list(spider.parse_prefix(_text(prefix, "hkex_prefix.jsonp"), code="00700"))
    params = [parse_qs(urlsplit(r.url).query) for r in searches]
    assert [p["lang"][0] for p in params] == ["zh", "en"] and all(p["stockId"] == ["7609"] for p in params)
    assert params[0]["rowRange"] == ["100"] and params[0]["t1code"] == ["-2"] and params[0]["fromDate"] == ["20100101"]
    search = searches[0]
    out = list(spider.parse_search(_text(search.url, "hkex_search.json", search), **search.cb_kwargs))
    docs = [r for r in out if "titleSearchServlet" not in r.url]
    assert [r.url for r in docs] == ["https://www1.hkexnews.hk/listedco/listconews/sehk/2024/0328/2024032800123_c.pdf",
                                     "https://www1.hkexnews.hk/listedco/listconews/sehk/2024/0326/2024032600789_c.htm"]
    assert docs[0].cb_kwargs["published"] == "2024-03-28" and docs[0].cb_kwargs["code"] == "00700"
    more = [r for r in out if "titleSearchServlet" in r.url]
    assert len(more) == 1 and parse_qs(urlsplit(more[0].url).query)["rowRange"] == ["200"]
    assert more[0].cb_kwargs["done"] == 3  # the rows already read are not downloaded twice
    assert spider.crawler.stats.get_value("aimap/prefilter/skipped/exclude:其他常规") == 1


def _pdf(encrypt: str | None = None) -> bytes:
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, encrypt=encrypt)
    for page in range(2):
        c.setFont("STSong-Light", 10)
        c.drawString(60, 800, "证券代码：002230    证券简称：科大讯飞    公告编号：2024-031")
        c.setFont("STSong-Light", 12)
        c.drawString(60, 760, f"本公司与某银行签订战略合作协议，第{page + 1}部分。")
        c.drawString(280, 40, f"第 {page + 1} 页 共 2 页")
        c.showPage()
    c.save()
    return buf.getvalue()


def test_announcement_pdf_becomes_a_document_or_an_error_with_its_reason():
    spider = _spider(CninfoSpider, "cninfo-szse")
    url = "https://static.cninfo.com.cn/finalpage/2024-03-29/1219425374.PDF"
    items = list(spider.announcement(Response(url, body=_pdf(), request=Request(url)), "关于签订<em>战略合作</em>协议的公告",
                                     "2024-03-29", "002230"))
    assert len(items) == 1 and isinstance(items[0], DocumentItem)
    doc = items[0]
    assert doc["title"] == "关于签订战略合作协议的公告" and doc["canonical_url"] == url and doc["raw"].startswith(b"%PDF")
    lines = doc["text"].splitlines()
    assert lines[0] == "证券代码：002230 证券简称：科大讯飞 公告编号：2024-031"  # the header, once, as metadata
    assert lines[1:] == ["本公司与某银行签订战略合作协议，第1部分。", "本公司与某银行签订战略合作协议，第2部分。"]
    bad = list(spider.announcement(Response(url, body=_pdf(encrypt="secret"), request=Request(url)), "t", None, "002230"))
    assert len(bad) == 1 and isinstance(bad[0], ErrorItem)
    assert bad[0]["kind"] == "pdf_encrypted" and "password" in bad[0]["reason"]


def test_host_map_sends_real_urls_to_the_demo_prefix_and_back():
    hosts = HostMap(host_map_from("http://127.0.0.1:8123", environ={}))
    assert hosts.map("https://static.cninfo.com.cn/finalpage/x.PDF?a=1") == \
        "http://127.0.0.1:8123/_hosts/static.cninfo.com.cn/finalpage/x.PDF?a=1"
    assert hosts.map("http://127.0.0.1:8123/exchange/") is None  # a {base_url} source is not mapped
    assert hosts.unmap("http://127.0.0.1:8123/_hosts/www1.hkexnews.hk/a.htm") == "https://www1.hkexnews.hk/a.htm"
    explicit = host_map_from(None, environ={"AIMAP_CRAWL_HOSTS": '{"www.cninfo.com.cn": "http://127.0.0.1:9"}'})
    assert HostMap(explicit).map("https://static.cninfo.com.cn/x") is None
    with pytest.raises(HostMapError, match="AIMAP_CRAWL_HOSTS"):
        host_map_from(None, environ={"AIMAP_CRAWL_HOSTS": "[1, 2]"})
    crawler = get_crawler(settings_dict={"AIMAP_HOST_MAP": '{"*": "http://127.0.0.1:8123"}'})
    mapper, unmapper = HostMapMiddleware.from_crawler(crawler), HostUnmapMiddleware.from_crawler(crawler)
    request = Request("https://www.cninfo.com.cn/new/data/szse_stock.json")
    mapper.process_request(request)
    assert request.url == "http://127.0.0.1:8123/_hosts/www.cninfo.com.cn/new/data/szse_stock.json"
    assert request.meta["download_slot"] == "www.cninfo.com.cn"
    retry = request.copy()
    response = mapper.process_response(request, Response(request.url, request=request))
    assert response.url == request.url == "https://www.cninfo.com.cn/new/data/szse_stock.json"
    unmapper.process_request(retry)  # a retry copy of a mapped request gets its real URL back first
    assert retry.url == "https://www.cninfo.com.cn/new/data/szse_stock.json"


def test_title_filter_errors_name_the_pattern():
    with pytest.raises(TitleFilterError, match="unknown filter 'nope'"):
        load_filter("nope")
    with pytest.raises(TitleFilterError, match="pattern 'bad' does not compile"):
        load_filter({"use": "cooperation", "include": {"bad": "(unclosed"}})
    own = load_filter({"use": "cooperation", "exclude": {"会议": "会议"}, "include": {"签约": "签约仪式"}})
    assert own.decide("举行签约仪式").reason == "include:签约"
    assert own.decide("第三次会议纪要").reason == "exclude:会议"
    assert own.decide("关于公司名称变更的公告").reason == "no_match"
