"""Source definitions: every crawl source is a YAML file in ``crawlers/sources/``.

A source file says who publishes it, which spider kind reads it, where to start, which hosts
may be contacted, how to find list/article pages, how to read dates, how politely to crawl and
how many documents a run must at least deliver, whether it is switched on (``enabled``) and whether
its addresses were verified (``unverified``). Adding a source of a known kind is a YAML file,
not new Python. :func:`load_source` validates a file and reports every problem at once, one line
each naming the file, the key and the reason.

The schema is strict (a pydantic model, :class:`SourceFile`): unknown keys (a ``politness:`` typo)
and wrong types are errors, not dropped or coerced; ``allowed_domains`` must name at least one host;
``politeness`` may only tighten the crawler's global limits (:data:`POLITENESS_LIMITS`: no page cap
of 0 = none or above the global ceiling, no more parallel requests per host than the crawler makes
at all). :func:`scan_sources` reads a directory and keeps an invalid file apart (reported, skipped),
so one broken file does not stop the crawl of the others.

Kinds: ``newsroom`` (list pages by CSS selectors), ``exchange`` (the demo web's JSON API),
``feed`` (RSS/Atom and sitemaps with selectors), ``cninfo`` (巨潮资讯's disclosure protocol, PDF
announcements), ``hkex`` (HKEXnews title search, PDF and HTML documents) and ``site`` (sitemaps,
feeds and list pages with generic link discovery and trafilatura: no selectors).
"""

from __future__ import annotations

import builtins
import codecs
import difflib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from common.datafiles import read_yaml
from crawlers import settings as crawl_settings
from crawlers.fields import short_language
from crawlers.prefilter import TitleFilterError, load_filter
from db.models import Source

logger = logging.getLogger(__name__)

SOURCES_DIR = Path(__file__).resolve().parent / "sources"
KINDS = ("newsroom", "exchange", "feed", "cninfo", "hkex", "site")
REQUIRED = ("name", "kind", "allowed_domains")
#: Fields each kind needs beside :data:`REQUIRED`.
_HOST = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")
KIND_REQUIRED = {"newsroom": ("start_urls", "article", "list"), "exchange": ("start_urls", "article", "api"),
                 "feed": ("start_urls", "article"), "cninfo": ("api",), "hkex": ("api",), "site": ()}
#: Keys of a source's ``politeness`` section.
POLITENESS_KEYS = {"download_delay", "concurrent_requests_per_domain", "max_page_bytes", "daily_request_budget"}
#: (lowest, highest, why) a source's politeness value may be: it may only tighten the global settings.
POLITENESS_LIMITS: dict[str, tuple[float, float | None, str]] = {
    "download_delay": (0, None, "a number >= 0"),
    "concurrent_requests_per_domain": (1, crawl_settings.CONCURRENT_REQUESTS,
                                       f"from 1 to {crawl_settings.CONCURRENT_REQUESTS} (the crawler's global "
                                       "concurrency)"),
    "max_page_bytes": (1, crawl_settings.AIMAP_PAGE_BYTES_CEILING,
                       f"from 1 to {crawl_settings.AIMAP_PAGE_BYTES_CEILING:,} (the global ceiling; 0 would "
                       "switch the cap off)"),
    "daily_request_budget": (1, None, "1 or more (leave it out for no budget)"),
}
#: Widths of the ``sources`` row a source file becomes.
NAME_WIDTH = Source.__table__.c["name"].type.length
PUBLISHER_WIDTH = Source.__table__.c["publisher"].type.length


class _Strict(BaseModel):
    """No unknown keys, no type coercion ("3" is not a number, "yes" is not true)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Politeness(_Strict):
    """``politeness``: how gently to crawl (bounds in :data:`POLITENESS_LIMITS`)."""

    download_delay: float | None = None
    concurrent_requests_per_domain: int | None = None
    max_page_bytes: int | None = None
    daily_request_budget: int | None = None


class ArticleSelectors(_Strict):
    """``article``: CSS selectors of an article page."""

    title: list[str] = []
    published: list[str] = []
    body: str | None = None


class FollowSelectors(_Strict):
    """``follow``: links from hub pages to list pages."""

    hubs: str | None = None


class ListSelectors(_Strict):
    """``list``: article links and the next list page."""

    items: str | None = None
    next: str | None = None


class FinancialPatterns(_Strict):
    """``financials``: one capture group each for the key figures of an annual-report summary."""

    type: str | None = None
    fiscal_year: str
    revenue_cny: str
    rd_expense_cny: str


class SourceFile(_Strict):
    """The schema of a source file (the meaning of each field: docs/crawlers.md)."""

    name: str
    kind: str
    allowed_domains: list[str]
    start_urls: list[str] = []
    publisher: str = ""
    follow: FollowSelectors | None = None
    list_: ListSelectors | None = Field(None, alias="list")
    article: ArticleSelectors | None = None
    date_formats: list[str] = []
    language: str | None = None
    politeness: Politeness | None = None
    canonical_base_url: str | None = None
    api: dict[str, Any] | None = None
    feeds: list[str] = []
    sitemaps: list[str] = []
    financials: FinancialPatterns | None = None
    encoding_fallbacks: list[str] = []
    covers: str = ""
    expected_min_documents: int = 0
    enabled: bool = True
    unverified: bool | str = False
    title_filter: str | dict[str, Any] | None = None
    list_pages: list[str] = []
    url_patterns: list[str] = []


#: What a value of each field must be (for messages; fields not named: "a text").
_EXPECTED = {
    "enabled": "true or false", "unverified": "true/false or a note", "expected_min_documents": "a whole number",
    "article": "a mapping of selectors", "follow": "a mapping of selectors", "list": "a mapping of selectors",
    "api": "a mapping", "politeness": "a mapping", "financials": "a mapping of patterns",
    "title_filter": "a filter name or a mapping", "article.title": "a list of strings",
    "article.published": "a list of strings", "politeness.download_delay": "a number",
    **{f"politeness.{k}": "a whole number" for k in POLITENESS_KEYS - {"download_delay"}},
    **{k: "a list of strings" for k in ("start_urls", "allowed_domains", "date_formats", "feeds", "sitemaps",
                                        "encoding_fallbacks", "list_pages", "url_patterns")},
}
_SECTIONS = {"politeness": Politeness, "article": ArticleSelectors, "follow": FollowSelectors,
             "list": ListSelectors, "financials": FinancialPatterns}


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
        raise SourceError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: cannot be read as UTF-8 text: {exc}") from exc
    if not isinstance(data, dict):
        raise SourceError(f"{path}: must be a mapping of fields (name: ..., kind: ...), got {type(data).__name__}")
    problems = schema_problems(path, data)
    if "kind" in data and data.get("kind") not in KINDS:
        problems.append(f"{path}: field 'kind' is {data.get('kind')!r}, expected one of {KINDS}")
    if data.get("name") and data["name"] != path.stem:
        problems.append(f"{path}: field 'name' ({data['name']}) must equal the file name ({path.stem})")
    if isinstance(data.get("article"), dict) and "body" not in data["article"] and data.get("kind") != "site":
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
    if problems:
        raise SourceError("\n".join(dict.fromkeys(problems)))
    return SourceConfig(
        path=path,
        raw=data,
        **{k: v for k, v in data.items() if k in known_keys},
    )


def _check_extras(path: Path, data: dict[str, Any]) -> list[str]:
    """Problems of the switches, politeness, API, URLs and title filter of a source file."""
    problems = []
    politeness = data.get("politeness") or {}
    for key, value in (politeness.items() if isinstance(politeness, dict) else ()):
        if key in POLITENESS_LIMITS and isinstance(value, int | float) and not isinstance(value, bool):
            low, high, text = POLITENESS_LIMITS[key]
            if value < low or (high is not None and value > high):
                problems.append(f"{path}: politeness.{key} must be {text}, got {value!r}")
    domains = data.get("allowed_domains")
    if isinstance(domains, list) and not domains:
        problems.append(f"{path}: field 'allowed_domains' must name at least one host (an empty list would "
                        "allow every host)")
    for host in domains if isinstance(domains, list) else ():
        if isinstance(host, str) and not _HOST.fullmatch(host):
            problems.append(f"{path}: allowed_domains entry {host!r} is not a host name (no scheme, port or path)")
    if isinstance(data.get("name"), str) and len(data["name"]) > NAME_WIDTH:
        problems.append(f"{path}: field 'name' is longer than {NAME_WIDTH} characters")
    if isinstance(data.get("publisher"), str) and len(data["publisher"]) > PUBLISHER_WIDTH:
        problems.append(f"{path}: field 'publisher' is longer than {PUBLISHER_WIDTH} characters")
    if isinstance(data.get("language"), str) and short_language(data["language"]) is None:
        problems.append(f"{path}: field 'language' {data['language']!r} is not a language tag (zh, zh-CN, en...)")
    fallbacks = data.get("encoding_fallbacks")
    for name in fallbacks if isinstance(fallbacks, list) else []:
        try:
            codecs.lookup(str(name))
        except LookupError:
            problems.append(f"{path}: encoding_fallbacks entry {name!r} is not an encoding Python knows")
    for key in ("start_urls", "feeds", "sitemaps", "list_pages"):
        for url in data.get(key) if isinstance(data.get(key), list) else []:
            if isinstance(url, str) and not url.startswith(("http://", "https://", "{base_url}")):
                problems.append(f"{path}: {key} entry {url!r} is not an http(s) URL or {{base_url}}/...")
    for pattern in data.get("url_patterns") if isinstance(data.get("url_patterns"), list) else []:
        try:
            re.compile(str(pattern))
        except re.error as exc:
            problems.append(f"{path}: url_patterns entry {pattern!r} does not compile: {exc}")
    if isinstance(data.get("title_filter"), str | dict):
        try:
            load_filter(data["title_filter"], f"{path}: title_filter")
        except TitleFilterError as exc:
            problems.append(str(exc))
    return problems


def schema_problems(path: Path, data: dict[str, Any]) -> list[str]:
    """The problems :class:`SourceFile` finds in ``data`` (unknown keys, wrong types, missing fields), one
    line each: ``<file>: <key>: <reason>``; a field's problems are reported once."""
    try:
        SourceFile.model_validate(data)
    except ValidationError as exc:
        found: dict[str, str] = {}
        for error in exc.errors():
            loc = [str(p) for p in error["loc"] if not isinstance(p, int)]
            key = ".".join(loc[:2]) if loc and loc[0] in _SECTIONS else (loc[0] if loc else "")
            found.setdefault(key, _message(key, error["type"], data))
        return [f"{path}: {message}" for message in found.values()]
    return []


def _message(key: str, kind: str, data: dict[str, Any]) -> str:
    """One pydantic error of ``key`` in our words."""
    section, _, sub = key.partition(".")
    if kind == "missing":
        return f"missing field '{key}'"
    if kind == "extra_forbidden":
        known = sorted(_SECTIONS[section].model_fields) if sub else sorted(
            f.alias or n for n, f in SourceFile.model_fields.items())
        close = difflib.get_close_matches(sub or key, known, n=1, cutoff=0.7)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        if section == "politeness":
            return f"unknown politeness key '{sub}'{hint} (known: {', '.join(sorted(POLITENESS_KEYS))})"
        if sub:
            return f"unknown key '{key}'{hint} (known: {', '.join(known)})"
        return f"unknown field '{key}'{hint} (fields: docs/crawlers.md)"
    value = data.get(section)
    if sub and isinstance(value, dict):
        value = value.get(sub)
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    return f"field '{key}' must be {_EXPECTED.get(key, 'a text')}, got {shown}"


@dataclass(frozen=True)
class InvalidSource:
    """A source file that does not validate: its problems (one per line) and whether it is meant to be
    crawled by default (``enabled`` not false)."""

    name: str
    path: Path
    problems: str
    enabled: bool


@dataclass(frozen=True)
class SourceScan:
    """The source files of a directory: those that validate, and those reported and skipped."""

    valid: builtins.list[SourceConfig]
    invalid: builtins.list[InvalidSource]


def scan_sources(directory: Path | str | None = None) -> SourceScan:
    """Every source file in ``directory`` (default ``crawlers/sources``), valid ones apart from invalid ones."""
    valid, invalid = [], []
    for path in sorted(Path(directory or SOURCES_DIR).glob("*.yml")):
        try:
            valid.append(load_source(path))
        except SourceError as exc:
            try:
                raw = read_yaml(path)
            except (yaml.YAMLError, OSError, UnicodeDecodeError):
                raw = None
            enabled = not (isinstance(raw, dict) and raw.get("enabled") is False)
            invalid.append(InvalidSource(path.stem, path, str(exc), enabled))
    return SourceScan(valid, invalid)


def list_sources(directory: Path | str | None = None) -> list[SourceConfig]:
    """All valid sources in ``directory`` (default ``crawlers/sources``); an invalid file is logged and skipped
    (:func:`scan_sources` returns it with its problems)."""
    scan = scan_sources(directory)
    for bad in scan.invalid:
        logger.warning("source file skipped, it does not validate: %s", bad.problems.replace("\n", "; "))
    return scan.valid


def enabled_sources(directory: Path | str | None = None) -> list[SourceConfig]:
    """The valid sources of ``directory`` an operator switched on (``enabled`` not false)."""
    return [s for s in list_sources(directory) if s.enabled]
