"""Names that are never the same organisation: another leading place, another number, another brand.

The rules and their reasons are in ``etl/data/distinct.yml``. The resolver leaves such candidates
out (no suggestion, no automatic merge: :meth:`etl.resolve.Resolver.candidates`) and the review
queue hides stored suggestions between them (:mod:`etl.review`), so a queue filled before the rule
existed is cleaned as well.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from common.datafiles import read_yaml
from etl.resolve.names import DATA_DIR, ResolveError, fold_name, key_of_folded, load_name_rules

DISTINCT_FILE = DATA_DIR / "distinct.yml"
_BRACKETS = re.compile(r"[(\[【〔［][^()\[\]【】〔〕［］]*[)\]】〕］]")
_TRIM = " ,.;:·-&'\"/"
_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class DistinctRules:
    """Ordinal markers and Chinese numerals (``etl/data/distinct.yml``)."""

    version: int
    numbers: re.Pattern[str]  # group 1: an ordinal's numeral, group 2: a run of digits
    digits: dict[str, int]
    units: dict[str, int]
    min_brand_chars: int


@lru_cache(maxsize=4)
def load_distinct_rules(path: Path = DISTINCT_FILE) -> DistinctRules:
    """Read the rules; a malformed file is a :class:`ResolveError` naming the setting."""
    raw = read_yaml(path) or {}
    try:
        markers = [str(m) for m in raw["ordinal_markers"]]
        digits = {str(k): int(v) for k, v in raw["digits"].items()}
        units = {str(k): int(v) for k, v in raw["units"].items()}
        version = int(raw["version"])
        min_brand = int(raw["min_brand_chars"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ResolveError(f"{path}: missing or malformed setting: {exc}") from exc
    numerals = "".join(re.escape(c) for c in [*digits, *units])
    ordinal = f"(?:{'|'.join(re.escape(m) for m in markers)})([0-9{numerals}]+)"
    return DistinctRules(version, re.compile(f"{ordinal}|([0-9]+)"), digits, units, min_brand)


def chinese_number(text: str, rules: DistinctRules) -> int:
    """The value of a number in digits or Chinese numerals (十四 = 14, 二十 = 20, 一百零八 = 108)."""
    if text.isdigit():
        return int(text)
    total = current = 0
    for ch in text:
        if ch.isdigit():
            current = current * 10 + int(ch)
        elif ch in rules.digits:
            current = rules.digits[ch]
        else:
            total += (current or 1) * rules.units[ch]
            current = 0
    return total + current


@dataclass(frozen=True)
class NameMarks:
    """What of a name decides that it is distinct from another: its leading place, its numbers."""

    text: str
    province: str | None
    city: str | None
    rest: str
    place: str
    numbers: tuple[int, ...]
    key: str  # the normalised name (place, legal form, brackets stripped; numbers as #14#)


@lru_cache(maxsize=200_000)
def name_marks(folded: str) -> NameMarks:
    """The leading place (up to two levels: 广东省深圳市) and the numbers of a folded name."""
    rules, numerals = load_name_rules(), load_distinct_rules()
    text = _BRACKETS.sub("", folded).strip(_TRIM)
    province = city = None
    rest, place = text, ""
    for _ in range(2):
        match = next((p for p in rules.prefix_index.get(rest[:1], ()) if rest.startswith(p)), None)
        if match is None or len(rest) <= len(match):
            break
        p_code, c_code = rules.region_prefixes[match]
        if province is not None and p_code != province:
            break
        province, city = province or p_code, city or c_code
        place += match
        rest = rest[len(match):].lstrip(_TRIM)
    numbers = tuple(chinese_number(m.group(1), numerals) if m.group(1) else int(m.group(2))
                    for m in numerals.numbers.finditer(text))
    key = numerals.numbers.sub(  # numbers in one spelling (第十四 = 第14), so they are no brand difference
        lambda m: f"#{chinese_number(m.group(1), numerals) if m.group(1) else int(m.group(2))}#",
        key_of_folded(folded, rules).normalised)
    return NameMarks(text, province, city, rest, place, numbers, key)


def _places_differ(a: NameMarks, b: NameMarks) -> bool:
    if a.province is None or b.province is None:
        return False
    if a.province == b.province and (a.city is None or b.city is None or a.city == b.city):
        return False
    # one name is the other with a place put in front (成都海南宝科技 / 海南宝科技): not two places
    return not (a.rest.startswith(b.text) or b.text.startswith(a.rest)
                or b.rest.startswith(a.text) or a.text.startswith(b.rest))


def _brands(a: str, b: str) -> tuple[str, str]:
    """What is left of two keys without their common beginning and end (桦喜网络科技 / 熠澍网络科技 -> 桦喜, 熠澍)."""
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end = 0
    while end < min(len(a), len(b)) - start and a[-1 - end] == b[-1 - end]:
        end += 1
    return a[start:len(a) - end], b[start:len(b) - end]


def distinct_reason(a: str, b: str) -> str | None:
    """Why names ``a`` and ``b`` cannot denote one organisation, or ``None`` when they may.

    >>> distinct_reason("杭州日报社", "青岛日报社")
    'different places: 杭州 / 青岛'
    >>> distinct_reason("上海市第一人民医院", "上海市第三人民医院")
    'different numbers: 1 / 3'
    >>> distinct_reason("北京桦喜网络科技有限公司", "北京熠澍网络科技有限公司")
    'different brands: 桦喜 / 熠澍'
    >>> distinct_reason("深圳市腾讯计算机系统有限公司", "腾讯计算机系统") is None
    True
    """
    ma, mb = name_marks(fold_name(a)), name_marks(fold_name(b))
    if ma.numbers != mb.numbers:
        return (f"different numbers: {', '.join(map(str, ma.numbers)) or 'none'} / "
                f"{', '.join(map(str, mb.numbers)) or 'none'}")
    if _places_differ(ma, mb):
        return f"different places: {ma.place} / {mb.place}"
    if _CJK.search(ma.key) and _CJK.search(mb.key):
        brand_a, brand_b = _brands(ma.key, mb.key)
        shortest = load_distinct_rules().min_brand_chars
        if len(brand_a) >= shortest and len(brand_b) >= shortest and not set(brand_a) & set(brand_b):
            return f"different brands: {brand_a} / {brand_b}"
    return None
