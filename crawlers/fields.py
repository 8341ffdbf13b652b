"""Fit crawled items to the database schema before they are written.

PostgreSQL enforces column widths (``varchar(n)``) and refuses NUL characters in text; SQLite does
neither. One page with a value its column cannot hold used to roll back the whole batch of documents
it was written with. Every item therefore passes :func:`fit_document` first:

- ``language``: a BCP 47 tag is shortened to fit ``documents.language`` (``zh-Hans-CN`` -> ``zh-CN``,
  then the bare language); a value that is no language tag falls back to the source's language;
- ``etag`` / ``last_modified`` / ``encoding``: validators that do not fit are dropped (an over-long
  ``Last-Modified`` that is a date is rewritten in the HTTP form first) — the page is still stored,
  it is only fetched unconditionally next time;
- ``url`` / ``canonical_url``: a URL longer than the column is an ``url_too_long`` error with its
  length (the full URL in the error's payload); a declared canonical URL that is too long falls
  back to the fetched URL;
- text fields: NUL characters are removed and unpaired surrogates replaced (PostgreSQL and UTF-8
  cannot hold them).

Column widths are read from :mod:`db.models`, so a schema change is followed automatically.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from db.models import Document, PipelineError

#: Widths of the ``documents`` / ``pipeline_errors`` columns the crawl writes (from the models).
WIDTH = {name: Document.__table__.c[name].type.length
         for name in ("url", "canonical_url", "language", "encoding", "etag", "last_modified")}
ERROR_WIDTH = {name: PipelineError.__table__.c[name].type.length for name in ("kind", "location", "field")}

_LANG = re.compile(r"[A-Za-z]{2,3}")
_SCRIPT = re.compile(r"[A-Za-z]{4}")
_REGION = re.compile(r"[A-Za-z]{2}|\d{3}")


def short_language(tag: str | None, width: int = WIDTH["language"]) -> str | None:
    """A language tag that fits ``width`` characters, or None when ``tag`` is no language tag.

    Case is normalised (``ZH-cn`` -> ``zh-CN``); the script subtag goes first when the tag is too
    long (``zh-Hans-CN`` -> ``zh-CN``), then the region (``zh``); extensions are dropped.
    """
    parts = [p for p in re.split(r"[-_]", (tag or "").strip()) if p]
    if not parts or not _LANG.fullmatch(parts[0]):
        return None
    lang = parts[0].lower()
    script = next((p.title() for p in parts[1:2] if _SCRIPT.fullmatch(p)), None)
    region = next((p.upper() for p in parts[1:3] if _REGION.fullmatch(p)), None)
    for candidate in ((lang, script, region), (lang, region), (lang, script), (lang,)):
        value = "-".join(p for p in candidate if p)
        if len(value) <= width:
            return value
    return None


def clean_text(value: Any) -> Any:
    """``value`` with NUL characters removed and unpaired surrogates replaced (strings inside dicts and
    lists too); other values unchanged."""
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", "")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = value.encode("utf-8", "replace").decode("utf-8")
        return value
    if isinstance(value, dict):
        return {clean_text(k): clean_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_text(v) for v in value]
    return value


def _http_date(value: str) -> str | None:
    try:
        return format_datetime(parsedate_to_datetime(value), usegmt=True)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def fit_document(item: dict[str, Any], default_language: str | None = None,
                 canonical: Callable[[str], str] | None = None) -> tuple[list[str], str | None]:
    """Fit a document item's fields to the ``documents`` columns, in place.

    ``canonical`` maps the fetched URL to its canonical form (used when the declared canonical URL
    is too long).

    Returns (the fields that had to be changed, the reason the item cannot be stored or None).
    """
    changed: list[str] = []
    for key in ("title", "text", "meta", "encoding", "etag", "last_modified", "language"):
        if item.get(key) is not None:
            cleaned = clean_text(item[key])
            if cleaned != item[key]:
                item[key] = cleaned
                changed.append(key)
    language = item.get("language")
    if language is not None:
        short = short_language(language) or short_language(default_language)
        if short != language:
            item["language"] = short
            changed.append("language")
    if item.get("last_modified") and len(item["last_modified"]) > WIDTH["last_modified"]:
        item["last_modified"] = _http_date(item["last_modified"])
        changed.append("last_modified")
    for key in ("etag", "last_modified", "encoding"):
        if item.get(key) and len(item[key]) > WIDTH[key]:
            item[key] = None
            changed.append(key)
    url = item.get("url") or ""
    if len(url) > WIDTH["url"]:
        return changed, f"URL is {len(url):,} characters, longer than the {WIDTH['url']:,} a document URL may have"
    if len(item.get("canonical_url") or "") > WIDTH["canonical_url"]:
        item["canonical_url"] = canonical(url) if canonical else url
        changed.append("canonical_url")
    return sorted(set(changed)), None


def clip(value: str | None, width: int) -> str | None:
    """``value`` cut to ``width`` characters (the last one an ellipsis when cut)."""
    if value is None or len(value) <= width:
        return value
    return value[: width - 1] + "…"
