"""Title pre-filter of announcement sources: which announcements are worth downloading.

Exchange disclosure services list every announcement of a firm — meeting notices, buy-backs,
annual reports — and only a few tell of a cooperation. The filter decides from the title alone,
with patterns kept as data (``crawlers/data/title_filters.yml``, order of the decision explained
there); a source picks a named filter and may add its own patterns. Every decision has a reason,
and the spiders count skipped announcements by reason in the crawl stats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.datafiles import read_yaml

FILTERS_FILE = Path(__file__).resolve().parent / "data" / "title_filters.yml"
_TAGS = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"[\s\u3000\xa0]+")
_CJK_GAP = re.compile(r"(?<=[\u3000-\u9fff\uff00-\uffef]) (?=[\u3000-\u9fff\uff00-\uffef])")


class TitleFilterError(ValueError):
    """A title filter is unknown or has a pattern that does not compile (message names which)."""


@dataclass(frozen=True)
class Decision:
    """What the filter decided for one title: ``keep`` (download), ``financials`` (download as an
    annual-report summary) or ``skip``, and the reason (``include:<label>``, ``exclude:<label>``,
    ``financials``, ``no_match``, ``all``)."""

    action: str
    reason: str

    @property
    def download(self) -> bool:
        """Whether the announcement is downloaded."""
        return self.action != "skip"


def clean_title(title: str | None) -> str:
    """A listed title without highlight tags (``<em>``), without spaces between Chinese characters and
    with other whitespace collapsed to one space (English words stay apart)."""
    return _CJK_GAP.sub("", _SPACE.sub(" ", _TAGS.sub("", title or "")).strip())


def _compile(section: dict[str, str] | None, where: str) -> list[tuple[str, re.Pattern[str]]]:
    compiled = []
    for label, pattern in (section or {}).items():
        try:
            compiled.append((str(label), re.compile(str(pattern), re.IGNORECASE)))
        except re.error as exc:
            raise TitleFilterError(f"{where}: pattern {label!r} does not compile: {exc}") from exc
    return compiled


class TitleFilter:
    """Compiled include / exclude / financials patterns."""

    def __init__(self, spec: dict[str, Any] | None, where: str = "title_filter") -> None:
        spec = spec or {}
        self.passthrough = not spec
        self.financials = _compile(spec.get("financials"), where)
        self.include = _compile(spec.get("include"), where)
        self.exclude = _compile(spec.get("exclude"), where)

    def decide(self, title: str | None) -> Decision:
        """The decision for one listed title (see crawlers/data/title_filters.yml for the order)."""
        if self.passthrough:
            return Decision("keep", "all")
        text = clean_title(title)
        for label, rx in self.financials:
            if rx.search(text):
                return Decision("financials", f"financials:{label}")
        for label, rx in self.include:
            if rx.search(text):
                return Decision("keep", f"include:{label}")
        for label, rx in self.exclude:
            if rx.search(text):
                return Decision("skip", f"exclude:{label}")
        return Decision("skip", "no_match")


def shared_filters(path: Path = FILTERS_FILE) -> dict[str, Any]:
    """The named filters of ``crawlers/data/title_filters.yml``."""
    return read_yaml(path) or {}


def load_filter(spec: str | dict[str, Any] | None, where: str = "title_filter") -> TitleFilter:
    """The filter a source declares: a name of a shared filter, or ``{use: NAME, include: {...},
    exclude: {...}, financials: {...}}`` (the source's own patterns are added to the named ones);
    None keeps everything. Raises :class:`TitleFilterError` naming the problem."""
    if spec is None:
        return TitleFilter(None, where)
    if isinstance(spec, str):
        spec = {"use": spec}
    if not isinstance(spec, dict):
        raise TitleFilterError(f"{where}: must be a filter name or a mapping, got {type(spec).__name__}")
    merged: dict[str, dict[str, str]] = {"financials": {}, "include": {}, "exclude": {}}
    if spec.get("use"):
        shared = shared_filters()
        if spec["use"] not in shared:
            raise TitleFilterError(f"{where}: unknown filter {spec['use']!r} (known: {', '.join(sorted(shared))}; "
                                   f"{FILTERS_FILE})")
        for key in merged:
            merged[key].update(shared[spec["use"]].get(key) or {})
    unknown = set(spec) - {"use", *merged}
    if unknown:
        raise TitleFilterError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} (use, include, exclude, financials)")
    for key in merged:
        own = spec.get(key) or {}
        if not isinstance(own, dict):
            raise TitleFilterError(f"{where}.{key}: must be a mapping label -> pattern")
        merged[key].update(own)
    return TitleFilter(merged, where)
