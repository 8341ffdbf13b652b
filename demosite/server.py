"""Serve a rendered demo site over HTTP on a loopback address.

An ordinary static HTTP server with what crawlers meet on real sites:

- conditional requests: every file has an ``ETag`` (content hash) and a ``Last-Modified``
  (the renderer sets file times to publication dates); ``If-None-Match`` / ``If-Modified-Since``
  get ``304 Not Modified``, so incremental crawls can be tested;
- the exchange's JSON search API (``/exchange/api/announcements``), answered from the index
  the renderer writes to ``<out_dir>/server/exchange/<stock_code>.json``;
- the emulated real hosts under ``/_hosts/<host>/`` (issue 15): the cninfo query (``POST``), the
  HKEXnews prefix and title searches (:mod:`demosite.protocols`), announcement PDFs built on their first
  request from ``server/pdfs.json`` (:mod:`demosite.pdfs`; ETag from the spec, so a 304 needs no PDF;
  the ``truncated`` fault promises the whole file and closes the connection half-way), newsroom and
  portal articles mapped to their demo pages (``server/hosts.json``), and static files under
  ``site/_hosts/`` (robots.txt, stock lists, sitemaps, feeds);
- injected faults from ``<out_dir>/server/faults.json`` (``{"/path": {"status": 500,
  "times": 2}}`` fails the first two requests, ``{"delay": 1.5}`` answers slowly,
  ``{"status": 404}`` always fails), recorded in the ground truth.

:func:`serve` is a context manager for tests (background daemon thread, port 0 picks a free
port); :func:`serve_forever` blocks, for the CLI. Only ``127.0.0.1``, ``localhost`` and
``::1`` are accepted: the demo site must never be exposed on a network.

``root`` is the site directory (``<out_dir>/site``); for convenience the render output
directory itself is accepted too when it holds a ``site/`` directory and no ``index.html``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import socket
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from demosite import protocols
from demosite.pdfs import build_pdf

LOOPBACK_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")
HOSTS_PREFIX = "/_hosts/"
PDF_CACHE = 2048  # generated PDFs kept in memory per server

_TEXT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html",  # government portals: no charset in the header, as many real portals
    ".xml": "application/xml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
}


class _SiteState:
    """Per-server state: the fault table, how often each faulty path was hit, ETag cache."""

    def __init__(self, site_root: Path) -> None:
        self.site_root = site_root
        self.server_dir = site_root.parent / "server"
        faults_file = self.server_dir / "faults.json"
        self.faults: dict[str, dict[str, Any]] = (
            json.loads(faults_file.read_text(encoding="utf-8")) if faults_file.exists() else {}
        )
        self.hits: dict[str, int] = {}
        self.etags: dict[tuple[str, int, int], str] = {}
        self.loaded: dict[str, Any] = {}
        self.pdfs: OrderedDict[str, bytes] = OrderedDict()
        self.lock = threading.Lock()

    def data(self, name: str) -> Any:
        """``server/<name>.json`` of the render (loaded once; empty when the render has none)."""
        with self.lock:
            if name not in self.loaded:
                path = self.server_dir / f"{name}.json"
                value = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
                if name == "cninfo":
                    by_code: dict[str, list[dict[str, Any]]] = {}
                    for record in value or []:
                        by_code.setdefault(record["secCode"], []).append(record)
                    self.loaded["cninfo_by_code"] = by_code
                self.loaded[name] = value
            return self.loaded[name]

    def pdf(self, path: str, spec: dict[str, Any]) -> bytes:
        """The PDF at ``path``, built on first use and kept (the most recent :data:`PDF_CACHE` of them)."""
        with self.lock:
            data = self.pdfs.get(path)
            if data is not None:
                self.pdfs.move_to_end(path)
                return data
        data = build_pdf(spec)
        with self.lock:
            self.pdfs[path] = data
            while len(self.pdfs) > PDF_CACHE:
                self.pdfs.popitem(last=False)
        return data

    def hit(self, path: str) -> int:
        with self.lock:
            self.hits[path] = self.hits.get(path, 0) + 1
            return self.hits[path]

    def etag(self, file_path: str) -> str | None:
        try:
            st = os.stat(file_path)
        except OSError:
            return None
        key = (file_path, st.st_mtime_ns, st.st_size)
        with self.lock:
            cached = self.etags.get(key)
        if cached is None:
            with open(file_path, "rb") as fh:
                cached = '"' + hashlib.sha1(fh.read()).hexdigest() + '"'
            with self.lock:
                self.etags[key] = cached
        return cached


class QuietHandler(SimpleHTTPRequestHandler):
    """Static files with UTF-8 content types, ETags, faults and the exchange API; quiet."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **_TEXT_TYPES}
    protocol_version = "HTTP/1.1"
    #: TCP_NODELAY, as web servers set it on keep-alive connections (nginx's ``tcp_nodelay on``):
    #: the headers and the body go out as two writes, and with Nagle's algorithm the body would wait
    #: for the client's delayed ACK of the headers (up to 40 ms on Linux) on every reused connection.
    disable_nagle_algorithm = True

    def __init__(self, *args: Any, state: _SiteState, **kwargs: Any) -> None:
        self.state = state
        self._etag: str | None = None
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet (the stdlib handler writes every request to stderr)."""

    def list_directory(self, path: str | Path) -> None:
        """No directory listings: a directory without index.html is a 404."""
        self.send_error(404, "Not Found")
        return None

    def _fault(self) -> bool:
        """Apply an injected fault for this path; True when the response was an error."""
        path = urlsplit(self.path).path
        fault = self.state.faults.get(path)
        if not fault:
            return False
        if fault.get("delay"):
            time.sleep(float(fault["delay"]))
        status = fault.get("status")
        if status is None:
            return False
        times = fault.get("times")
        if times is not None and self.state.hit(path) > int(times):
            return False
        self.send_error(int(status))
        return True

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        """GET with faults and the API; static files otherwise."""
        if self._fault():
            return
        if urlsplit(self.path).path == "/exchange/api/announcements":
            self._api(head=False)
            return
        if self.path.startswith(HOSTS_PREFIX) and self._hosted(head=False):
            return
        super().do_GET()

    def do_HEAD(self) -> None:  # noqa: N802
        """HEAD like GET without a body."""
        if self._fault():
            return
        if urlsplit(self.path).path == "/exchange/api/announcements":
            self._api(head=True)
            return
        if self.path.startswith(HOSTS_PREFIX) and self._hosted(head=True):
            return
        super().do_HEAD()

    def do_POST(self) -> None:  # noqa: N802
        """POST: only the cninfo announcement query (form-encoded) takes one."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        if urlsplit(self.path).path != protocols.CNINFO_QUERY:
            self._json(405, {"error": "POST is only accepted by the cninfo announcement query"}, head=False)
            return
        form = {k: v[-1] for k, v in parse_qs(raw.decode("utf-8", errors="replace"), keep_blank_values=True).items()}
        status, body = protocols.cninfo_query(self.state.data("cninfo") or [], self.state.loaded["cninfo_by_code"], form)
        self._json(status, body, head=False, sort_keys=False)

    def _hosted(self, head: bool) -> bool:
        """Answer a dynamic path of an emulated host; False for a static file under site/_hosts/."""
        path = urlsplit(self.path).path
        query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query, keep_blank_values=True).items()}
        if path == protocols.CNINFO_QUERY:
            self._json(405, {"error": "use POST (form-encoded) for the announcement query"}, head)
            return True
        if path == protocols.HKEX_PREFIX:
            status, text = protocols.hkex_prefix(self.state.data("hkex").get("stocks", []), query)
            self._send(status, text.encode("utf-8"), "text/javascript; charset=utf-8", head)
            return True
        if path == protocols.HKEX_SEARCH:
            status, body = protocols.hkex_search(self.state.data("hkex").get("rows", []), query)
            self._json(status, body, head, sort_keys=False)
            return True
        spec = self.state.data("pdfs").get(path)
        if spec is not None:
            self._pdf(path, spec, head)
            return True
        article = self.state.data("hosts").get(path)
        if article is not None:
            self.path = article
        return False

    def _pdf(self, path: str, spec: dict[str, Any], head: bool) -> None:
        """An announcement PDF with ETag / Last-Modified / 304; the truncated fault cuts the body short."""
        etag = '"' + hashlib.sha1(json.dumps(spec, sort_keys=True, ensure_ascii=False).encode()).hexdigest() + '"'
        day = dt.date.fromisoformat(spec["date"])
        stamp = dt.datetime(day.year, day.month, day.day, 8, tzinfo=dt.UTC).timestamp()
        inm, ims = self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
        fresh = etag in [t.strip() for t in inm.split(",")] if inm else False
        if not inm and ims:
            try:
                fresh = parsedate_to_datetime(ims).timestamp() >= stamp
            except (TypeError, ValueError):
                fresh = False
        if fresh:
            self.send_response(HTTPStatus.NOT_MODIFIED)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = self.state.pdf(path, spec)
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/pdf")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", formatdate(stamp, usegmt=True))
        self.end_headers()
        if head:
            return
        if spec.get("fault") == "truncated":
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(data)

    def _send(self, status: int, data: bytes, content_type: str, head: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def send_head(self) -> Any:
        """Answer ``If-None-Match`` with 304; remember the ETag for the headers."""
        self._etag = None
        path = self.translate_path(self.path)
        if os.path.isdir(path):
            index = os.path.join(path, "index.html")
            path = index if os.path.exists(index) else path
        if os.path.isfile(path):
            self._etag = self.state.etag(path)
            inm = self.headers.get("If-None-Match")
            if self._etag and inm and self._etag in [t.strip() for t in inm.split(",")]:
                self.send_response(HTTPStatus.NOT_MODIFIED)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            if path.endswith(".xml"):
                return self._xml(path)
        return super().send_head()

    def _xml(self, path: str) -> Any:
        """Feeds and sitemaps hold ``{base_url}``: fill in where this server is reachable."""
        host = self.headers.get("Host") or f"{self.server.server_address[0]}:{self.server.server_address[1]}"
        with open(path, "rb") as fh:
            data = fh.read().replace(b"{base_url}", f"http://{host}".encode())
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Last-Modified", formatdate(os.stat(path).st_mtime, usegmt=True))
        self.end_headers()
        return io.BytesIO(data)

    def end_headers(self) -> None:
        """Add the ETag of the file being served."""
        if self._etag:
            self.send_header("ETag", self._etag)
            self._etag = None
        super().end_headers()

    def _api(self, head: bool) -> None:
        """The exchange's announcement search: by stock code and date range, paginated.

        ``?stock_code=600123&start=2019-01-01&end=2019-12-31&page=1&page_size=20`` answers
        ``{"stock_code", "total", "page", "page_size", "pages", "items": [...]}``, newest first.
        """
        query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
        code = query.get("stock_code", "")
        try:
            page = max(1, int(query.get("page", "1")))
            size = min(100, max(1, int(query.get("page_size", "20"))))
        except ValueError:
            self._json(400, {"error": "page and page_size must be integers"}, head)
            return
        if not code.isalnum():
            self._json(400, {"error": "stock_code is required"}, head)
            return
        index = self.state.server_dir / "exchange" / f"{code}.json"
        items = json.loads(index.read_text(encoding="utf-8")) if index.exists() else []
        start, end = query.get("start", ""), query.get("end", "9999-12-31")
        items = [i for i in items if start <= i["date"] <= end]
        pages = max(1, -(-len(items) // size))
        body = {"stock_code": code, "total": len(items), "page": page, "page_size": size, "pages": pages,
                "items": items[(page - 1) * size : page * size]}
        self._json(200, body, head)

    def _json(self, status: int, body: dict[str, Any], head: bool, sort_keys: bool = True) -> None:
        data = json.dumps(body, ensure_ascii=False, sort_keys=sort_keys).encode("utf-8")
        self._send(status, data, "application/json; charset=utf-8", head)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up (a killed crawler) are normal here; report anything else."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Server6(_Server):
    address_family = socket.AF_INET6


@dataclass(frozen=True)
class RunningSite:
    """A site being served: ``base_url`` has no trailing slash (``http://127.0.0.1:PORT``)."""

    base_url: str
    host: str
    port: int
    root: Path

    def url(self, path: str) -> str:
        """Absolute URL of a site-relative ``path`` such as ``/news/x/index.html``."""
        return self.base_url + "/" + path.lstrip("/")


def _site_root(root: Path) -> Path:
    root = Path(root).resolve()
    if not (root / "index.html").exists() and (root / "site").is_dir():
        root = root / "site"
    if not root.is_dir():
        raise FileNotFoundError(f"no site directory at {root}")
    return root


def _make_server(root: Path, host: str, port: int) -> tuple[_Server, RunningSite]:
    if host not in LOOPBACK_HOSTS:
        raise ValueError(f"refusing to serve the demo site on {host!r}: only {', '.join(LOOPBACK_HOSTS)}")
    site_root = _site_root(root)
    bind = "::1" if host == "::1" else "127.0.0.1"
    cls = _Server6 if bind == "::1" else _Server
    server = cls((bind, port), partial(QuietHandler, directory=str(site_root), state=_SiteState(site_root)))
    bound_port = server.server_address[1]
    url_host = "[::1]" if bind == "::1" else bind
    return server, RunningSite(f"http://{url_host}:{bound_port}", bind, bound_port, site_root)


@contextmanager
def serve(root: Path, host: str = "127.0.0.1", port: int = 0) -> Iterator[RunningSite]:
    """Serve ``root`` in a background thread for the duration of the ``with`` block."""
    server, site = _make_server(root, host, port)
    thread = threading.Thread(target=server.serve_forever, name=f"demosite:{site.port}", daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def serve_forever(
    root: Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    on_ready: Callable[[RunningSite], None] | None = None,
) -> None:
    """Serve ``root`` until interrupted (Ctrl-C); ``on_ready`` gets the running site first."""
    server, site = _make_server(root, host, port)
    try:
        if on_ready is not None:
            on_ready(site)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
