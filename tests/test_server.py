"""The demo web's HTTP server: conditional requests, injected faults, the exchange API."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path

import pytest

from demosite.server import serve


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Message, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "a").mkdir(parents=True)
    (root / "index.html").write_text("<html>首页</html>", encoding="utf-8")
    (root / "a" / "page.html").write_text("<html>文章</html>", encoding="utf-8")
    (root / "flaky.html").write_text("<html>ok</html>", encoding="utf-8")
    (root / "slow.html").write_text("<html>slow</html>", encoding="utf-8")
    server_dir = tmp_path / "server"
    (server_dir / "exchange").mkdir(parents=True)
    (server_dir / "faults.json").write_text(json.dumps({
        "/flaky.html": {"status": 500, "times": 2},
        "/gone.html": {"status": 404},
        "/slow.html": {"delay": 0.3},
    }))
    items = [{"id": f"A{i:03d}", "date": f"2023-{12 - i % 12:02d}-01", "title": f"公告{i}"} for i in range(45)]
    items.sort(key=lambda i: i["date"], reverse=True)
    (server_dir / "exchange" / "600123.json").write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    return root


def test_etag_and_last_modified_give_304(site):
    with serve(site) as server:
        status, headers, body = _get(server.url("/a/page.html"))
        assert status == 200 and body.decode() == "<html>文章</html>"
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        etag, modified = headers["ETag"], headers["Last-Modified"]
        assert _get(server.url("/a/page.html"), {"If-None-Match": etag})[0] == 304
        assert _get(server.url("/a/page.html"), {"If-Modified-Since": modified})[0] == 304
        (site / "a" / "page.html").write_text("<html>改了</html>", encoding="utf-8")
        status, headers, _ = _get(server.url("/a/page.html"), {"If-None-Match": etag})
        assert status == 200 and headers["ETag"] != etag


def test_injected_faults(site):
    with serve(site) as server:
        assert [_get(server.url("/flaky.html"))[0] for _ in range(3)] == [500, 500, 200]
        assert _get(server.url("/gone.html"))[0] == 404
        started = time.monotonic()
        assert _get(server.url("/slow.html"))[0] == 200
        assert time.monotonic() - started >= 0.3


def test_exchange_api_filters_and_pages(site):
    with serve(site) as server:
        status, _, body = _get(server.url("/exchange/api/announcements?stock_code=600123&page=3&page_size=20"))
        data = json.loads(body)
        assert status == 200 and data["total"] == 45 and data["pages"] == 3 and len(data["items"]) == 5
        _, _, body = _get(server.url("/exchange/api/announcements?stock_code=600123&start=2023-11-01&end=2023-12-31"))
        data = json.loads(body)
        assert data["total"] == 8 and all("2023-11-01" <= i["date"] for i in data["items"])
        assert json.loads(_get(server.url("/exchange/api/announcements?stock_code=000001"))[2])["total"] == 0
        assert _get(server.url("/exchange/api/announcements?stock_code=&page=x"))[0] == 400
