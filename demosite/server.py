"""Serve a rendered demo site over HTTP on a loopback address.

:func:`serve` is a context manager for tests (background daemon thread, port 0 picks a free
port); :func:`serve_forever` blocks, for the CLI. Only ``127.0.0.1``, ``localhost`` and
``::1`` are accepted: the demo site must never be exposed on a network.

``root`` is the site directory (``<out_dir>/site``); for convenience the render output
directory itself is accepted too when it holds a ``site/`` directory and no ``index.html``.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

LOOPBACK_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")

_TEXT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
}


class QuietHandler(SimpleHTTPRequestHandler):
    """Static files with UTF-8 content types, no request log and no directory listings."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **_TEXT_TYPES}

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet (the stdlib handler writes every request to stderr)."""

    def list_directory(self, path: str | Path) -> None:
        """No directory listings: a directory without index.html is a 404."""
        self.send_error(404, "Not Found")
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


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
    server = cls((bind, port), partial(QuietHandler, directory=str(site_root)))
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
