"""Source definitions: every crawl source is a YAML file in ``crawlers/sources/``.

A source file says who publishes it, which spider kind reads it, where to start, which hosts
may be contacted, how to find list/article pages, how to read dates, how politely to crawl and
how many documents a run must at least deliver. Adding a source of a known kind is a YAML file,
not new Python. :func:`load_source` validates a file and reports every problem at once.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from common.datafiles import read_yaml

SOURCES_DIR = Path(__file__).resolve().parent / "sources"
KINDS = ("newsroom", "exchange", "feed")
REQUIRED = ("name", "kind", "start_urls", "allowed_domains", "article")
#: Fields each kind needs beside :data:`REQUIRED`.
KIND_REQUIRED = {"newsroom": ("list",), "exchange": ("api",), "feed": ()}


class SourceError(ValueError):
    """A source file is missing, unreadable or invalid (the message names file and field)."""


@dataclass(frozen=True)
class SourceConfig:
    """A validated source definition."""

    name: str
    kind: str
    path: Path
    start_urls: list[str]
    allowed_domains: list[str]
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
    for key in ("start_urls", "allowed_domains", "date_formats"):
        if key in data and not (isinstance(data[key], list) and all(isinstance(v, str) for v in data[key])):
            problems.append(f"{path}: field '{key}' must be a list of strings")
    if "article" in data and not isinstance(data["article"], dict):
        problems.append(f"{path}: field 'article' must be a mapping of selectors")
    elif isinstance(data.get("article"), dict) and "body" not in data["article"]:
        problems.append(f"{path}: field 'article.body' (main-text selector) is required")
    for key in KIND_REQUIRED.get(data.get("kind", ""), ()):
        if key not in data:
            problems.append(f"{path}: a {data['kind']} source needs field '{key}'")
    if data.get("kind") == "feed" and not (data.get("feeds") or data.get("sitemaps")):
        problems.append(f"{path}: a feed source needs 'feeds' and/or 'sitemaps'")
    known_keys = {f for f in SourceConfig.__dataclass_fields__} - {"path", "raw"}
    problems += [f"{path}: unknown field '{key}' (fields: docs/crawlers.md)" for key in data if key not in known_keys]
    if problems:
        raise SourceError("\n".join(problems))
    return SourceConfig(
        path=path,
        raw=data,
        **{k: v for k, v in data.items() if k in known_keys},
    )


def list_sources(directory: Path | str | None = None) -> list[SourceConfig]:
    """All valid sources in ``directory`` (default ``crawlers/sources``; invalid ones raise)."""
    return [load_source(p) for p in sorted(Path(directory or SOURCES_DIR).glob("*.yml"))]
