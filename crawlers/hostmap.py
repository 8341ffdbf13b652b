"""Host mapping: crawl a real source's URLs through another server (the local demo web, a mirror).

A source file names real addresses (``https://www.cninfo.com.cn/new/hisAnnouncement/query``). With
a host map, a request for host ``H`` is sent to ``{base}/_hosts/H{path}?{query}`` instead — the
demo web serves every emulated host under that prefix (contract in docs/crawlers.md) — while the
document keeps its real URL: the mapping is transport only.

The map comes from ``--base-url`` (every host -> that base: key ``*``) and/or the environment
variable ``AIMAP_CRAWL_HOSTS``, a JSON object host -> base (``{"www.cninfo.com.cn":
"http://127.0.0.1:8000", "*": "..."}``); an explicit host wins over ``*``. A request already for
a base's own host (the demo world's ``{base_url}`` sources) is not mapped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

PREFIX = "/_hosts/"
ENV = "AIMAP_CRAWL_HOSTS"


class HostMapError(ValueError):
    """``AIMAP_CRAWL_HOSTS`` is not a JSON object of host -> base URL."""


def host_map_from(base_url: str | None, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The host map of a crawl: ``AIMAP_CRAWL_HOSTS`` plus ``base_url`` for every other host."""
    raw = (environ if environ is not None else os.environ).get(ENV, "").strip()
    mapping: dict[str, str] = {}
    if raw:
        try:
            loaded = json.loads(raw)
        except ValueError as exc:
            raise HostMapError(f"{ENV} is not valid JSON: {exc}") from exc
        if not isinstance(loaded, dict) or not all(isinstance(v, str) for v in loaded.values()):
            raise HostMapError(f"{ENV} must be a JSON object host -> base URL, got {raw[:80]!r}")
        mapping.update({k.lower(): v for k, v in loaded.items()})
    if base_url:
        mapping.setdefault("*", base_url)
    return mapping


class HostMap:
    """Map real URLs to ``{base}/_hosts/<host>/...`` and back."""

    def __init__(self, mapping: Mapping[str, str] | None = None) -> None:
        self.mapping = {host.lower(): base.rstrip("/") for host, base in (mapping or {}).items()}
        self.bases = sorted(set(self.mapping.values()), key=len, reverse=True)
        self.base_hosts = {urlsplit(b).netloc.lower() for b in self.bases}

    @classmethod
    def from_settings(cls, settings: Any) -> HostMap:
        """From the Scrapy setting ``AIMAP_HOST_MAP`` (a JSON string or a dict)."""
        value = settings.get("AIMAP_HOST_MAP")
        if isinstance(value, str):
            value = json.loads(value) if value.strip() else {}
        return cls(value or {})

    def __bool__(self) -> bool:
        return bool(self.mapping)

    def map(self, url: str) -> str | None:
        """The mapped URL of ``url``, or None when its host is not mapped."""
        parts = urlsplit(url)
        netloc = parts.netloc.lower()
        if not netloc or netloc in self.base_hosts:
            return None
        base = self.mapping.get(parts.hostname or "") or self.mapping.get(netloc) or self.mapping.get("*")
        if base is None:
            return None
        return f"{base}{PREFIX}{netloc}{parts.path or '/'}" + (f"?{parts.query}" if parts.query else "")

    def unmap(self, url: str, previous: str | None = None) -> str | None:
        """The real URL of a mapped ``url`` (scheme of ``previous`` when its host matches, else https)."""
        for base in self.bases:
            if url.startswith(base + PREFIX):
                rest = url[len(base) + len(PREFIX):]
                netloc, slash, tail = rest.partition("/")
                scheme = "https"
                if previous and urlsplit(previous).netloc.lower() == netloc.lower():
                    scheme = urlsplit(previous).scheme or scheme
                return f"{scheme}://{netloc}/{tail}" if slash else f"{scheme}://{netloc}/"
        return None
