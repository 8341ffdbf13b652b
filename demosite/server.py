"""Serve a rendered demo site over HTTP on a loopback address.

An ordinary static HTTP server with what crawlers meet on real sites:

- conditional requests: every file has an ``ETag`` (content hash) and a ``Last-Modified``
  (the renderer sets file times to publication dates); ``If-None-Match`` / ``If-Modified-Since``
  get ``304 Not Modified``, so incremental crawls can be tested;
- the exchange's JSON search API (``/exchange/api/announcements``), answered from the index
  the renderer writes to ``<out_dir>/server/exchange/<stock_code>.json``;
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

import hashlib
import io
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import formatdate
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

LOOPBACK_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")

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
        self.lock = threading.Lock()

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
        super().do_GET()

    def do_HEAD(self) -> None:  # noqa: N802
        """HEAD like GET without a body."""
        if self._fault():
            return
        if urlsplit(self.path).path == "/exchange/api/announcements":
            self._api(head=True)
            return
        super().do_HEAD()

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

    def _json(self, status: int, body: dict[str, Any], head: bool) -> None:
        data = json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not head:
            self.wfile.write(data)


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
