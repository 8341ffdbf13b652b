"""Source definitions: every crawl source is a YAML file in ``crawlers/sources/``.

A source file says who publishes it, which spider kind reads it, where to start, which hosts
may be contacted, how to find list/article pages, how to read dates, how politely to crawl and
how many documents a run must at least deliver, whether it is switched on (``enabled``) and whether
its addresses were verified (``unverified``). Adding a source of a known kind is a YAML file,
not new Python. :func:`load_source` validates a file and reports every problem at once.

Kinds: ``newsroom`` (list pages by CSS selectors), ``exchange`` (the demo web's JSON API),
``feed`` (RSS/Atom and sitemaps with selectors), ``cninfo`` (巨潮资讯's disclosure protocol, PDF
announcements), ``hkex`` (HKEXnews title search, PDF and HTML documents) and ``site`` (sitemaps,
feeds and list pages with generic link discovery and trafilatura: no selectors).
"""

from __future__ import annotations

import builtins
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from common.datafiles import read_yaml
from crawlers.prefilter import TitleFilterError, load_filter

SOURCES_DIR = Path(__file__).resolve().parent / "sources"
KINDS = ("newsroom", "exchange", "feed", "cninfo", "hkex", "site")
REQUIRED = ("name", "kind", "allowed_domains")
#: Fields each kind needs beside :data:`REQUIRED`.
KIND_REQUIRED = {"newsroom": ("start_urls", "article", "list"), "exchange": ("start_urls", "article", "api"),
                 "feed": ("start_urls", "article"), "cninfo": ("api",), "hkex": ("api",), "site": ()}
#: Keys of a source's ``politeness`` section.
POLITENESS_KEYS = {"download_delay", "concurrent_requests_per_domain", "max_page_bytes", "daily_request_budget"}


class SourceError(ValueError):
    """A source file is missing, unreadable or invalid (the message names file and field)."""


@dataclass(frozen=True)
class SourceConfig:
    """A validated source definition."""

    name: str
    kind: str
    path: Path
    allowed_domains: list[str]
    start_urls: list[str] = field(default_factory=builtins.list)
    publisher: str = ""
    follow: dict[str, str] = field(default_factory=dict)
    list: dict[str, str] = field(default_factory=dict)
    article: dict[str, Any] = field(default_factory=dict)
    date_formats: list[str] = field(default_factory=lambda: ["%Y-%m-%d"])
    language: str | None = None
    politeness: dict[str, Any] = field(default_factory=dict)
    canonical_base_url: str | None = None
    api: dict[str, Any] = field(default_factory=dict)
    feeds: list[str] = field(default_factory=builtins.list)  # (the field `list` shadows the builtin)
    sitemaps: list[str] = field(default_factory=builtins.list)
    financials: dict[str, str] = field(default_factory=dict)
    encoding_fallbacks: list[str] = field(default_factory=lambda: ["gb18030"])
    covers: str = ""
    expected_min_documents: int = 0
    enabled: bool = True
    unverified: bool | str = False
    title_filter: str | dict[str, Any] | None = None
    list_pages: list[str] = field(default_factory=builtins.list)
    url_patterns: list[str] = field(default_factory=builtins.list)
    raw: dict[str, Any] = field(default_factory=dict)

    def resolve(self, url: str, base_url: str | None) -> str:
        """``url`` with ``{base_url}`` filled in (required when the URL uses it)."""
        if "{base_url}" in url:
            if not base_url:
                raise SourceError(f"{self.path}: URLs use {{base_url}}; pass --base-url")
            url = url.replace("{base_url}", base_url.rstrip("/"))
        return url

    def resolved_start_urls(self, base_url: str | None) -> list[str]:
        """Start URLs with ``{base_url}`` filled in (required when the source uses it)."""
        return [self.resolve(url, base_url) for url in self.start_urls]


def source_path(name: str, directory: Path = SOURCES_DIR) -> Path:
    """Path of the source file called ``name`` (``<name>.yml``)."""
    return directory / f"{name}.yml"


def load_source(name_or_path: str | Path, directory: Path | str | None = None) -> SourceConfig:
    """Load and validate one source by name (in ``directory``, default ``crawlers/sources``) or
    path; raise :class:`SourceError` listing every problem."""
    directory = Path(directory) if directory else SOURCES_DIR
    path = Path(name_or_path)
    if not path.suffix:
        path = source_path(str(name_or_path), directory)
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in directory.glob("*.yml"))) or "none"
        raise SourceError(f"no source file {path} (known sources: {known})")
    try:
        data = read_yaml(path) or {}
    except yaml.YAMLError as exc:
        raise SourceError(f"{path}: not valid YAML: {exc}") from exc
    problems = [f"{path}: missing field '{key}'" for key in REQUIRED if key not in data]
    if data.get("kind") not in KINDS:
        problems.append(f"{path}: field 'kind' is {data.get('kind')!r}, expected one of {KINDS}")
    if data.get("name") and data["name"] != path.stem:
        problems.append(f"{path}: field 'name' ({data['name']}) must equal the file name ({path.stem})")
    for key in ("start_urls", "allowed_domains", "date_formats", "feeds", "sitemaps", "list_pages", "url_patterns"):
        if key in data and not (isinstance(data[key], list) and all(isinstance(v, str) for v in data[key])):
            problems.append(f"{path}: field '{key}' must be a list of strings")
    if "article" in data and not isinstance(data["article"], dict):
        problems.append(f"{path}: field 'article' must be a mapping of selectors")
    elif isinstance(data.get("article"), dict) and "body" not in data["article"] and data.get("kind") != "site":
        problems.append(f"{path}: field 'article.body' (main-text selector) is required")
    for key in KIND_REQUIRED.get(data.get("kind", ""), ()):
        if key not in data:
            problems.append(f"{path}: a {data['kind']} source needs field '{key}'")
    if data.get("kind") == "feed" and not (data.get("feeds") or data.get("sitemaps")):
        problems.append(f"{path}: a feed source needs 'feeds' and/or 'sitemaps'")
    if data.get("kind") == "site" and not (data.get("feeds") or data.get("sitemaps") or data.get("list_pages")):
        problems.append(f"{path}: a site source needs 'feeds', 'sitemaps' and/or 'list_pages'")
    problems += _check_extras(path, data)
    known_keys = {f for f in SourceConfig.__dataclass_fields__} - {"path", "raw"}
    problems += [f"{path}: unknown field '{key}' (fields: docs/crawlers.md)" for key in data if key not in known_keys]
    if problems:
        raise SourceError("\n".join(problems))
    return SourceConfig(
        path=path,
        raw=data,
        **{k: v for k, v in data.items() if k in known_keys},
    )


def _check_extras(path: Path, data: dict[str, Any]) -> list[str]:
    """Problems of the switches, politeness, API, URLs and title filter of a source file."""
    problems = []
    if "enabled" in data and not isinstance(data["enabled"], bool):
        problems.append(f"{path}: field 'enabled' must be true or false, got {data['enabled']!r}")
    if "unverified" in data and not isinstance(data["unverified"], bool | str):
        problems.append(f"{path}: field 'unverified' must be true/false or a note")
    politeness = data.get("politeness", {})
    if not isinstance(politeness, dict):
        problems.append(f"{path}: field 'politeness' must be a mapping")
    else:
        problems += [f"{path}: unknown politeness key '{k}' (known: {', '.join(sorted(POLITENESS_KEYS))})"
                     for k in politeness if k not in POLITENESS_KEYS]
        for key, value in politeness.items():
            if key in POLITENESS_KEYS and (isinstance(value, bool) or not isinstance(value, int | float) or value < 0):
                problems.append(f"{path}: politeness.{key} must be a number >= 0, got {value!r}")
    if "api" in data and not isinstance(data["api"], dict):
        problems.append(f"{path}: field 'api' must be a mapping")
    for key in ("start_urls", "feeds", "sitemaps", "list_pages"):
        for url in data.get(key) or []:
            if isinstance(url, str) and not url.startswith(("http://", "https://", "{base_url}")):
                problems.append(f"{path}: {key} entry {url!r} is not an http(s) URL or {{base_url}}/...")
    for pattern in data.get("url_patterns") or []:
        try:
            re.compile(str(pattern))
        except re.error as exc:
            problems.append(f"{path}: url_patterns entry {pattern!r} does not compile: {exc}")
    if data.get("title_filter") is not None:
        try:
            load_filter(data["title_filter"], f"{path}: title_filter")
        except TitleFilterError as exc:
            problems.append(str(exc))
    return problems


def list_sources(directory: Path | str | None = None) -> list[SourceConfig]:
    """All valid sources in ``directory`` (default ``crawlers/sources``; invalid ones raise)."""
    return [load_source(p) for p in sorted(Path(directory or SOURCES_DIR).glob("*.yml"))]


def enabled_sources(directory: Path | str | None = None) -> list[SourceConfig]:
    """The sources of ``directory`` an operator switched on (``enabled`` not false)."""
    return [s for s in list_sources(directory) if s.enabled]
