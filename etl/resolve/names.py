"""Name folding and normalised matching keys: what names are compared by (``etl/data/names.yml``).

A normalised name is a blocking and scoring key, never an identity (see :mod:`etl.resolve`).
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from common.datafiles import read_yaml
from common.text import t2s
from common.vocab import (
    ENGLISH_LEGAL_SUFFIXES,
    EXTRA_PLACE_PREFIXES,
    HOLDING_SUFFIXES,
    LEGAL_SUFFIXES,
    VOCABULARY_FILE,
    place_prefixes,
)
from db.taxonomy import ProvinceRecord, load_provinces

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
NAMES_FILE = DATA_DIR / "names.yml"

_BRACKETS = re.compile(r"[(\[【〔［][^()\[\]【】〔〕［］]*[)\]】〕］]")
_NON_WORD = re.compile(r"[\W_]+")
_SPACES = re.compile(r"\s+")
_TRIM = " ,.;:·-&'\"/"

class ResolveError(ValueError):
    """A data file, a decision file or a requested correction is invalid (the message says why)."""


# --------------------------------------------------------------------------- names


def fold_name(name: str) -> str:
    """The exact-match form of a name: NFKC (full -> half width), t2s, one space, case-folded.

    Two spellings with the same folded form are the same name (华为技术有限公司 / 華為技術有限公司,
    ＡＢＢ / ABB); aliases are looked up by it and ``name:`` references are written with it.
    """
    text = unicodedata.normalize("NFKC", name)
    text = t2s(text)
    return _SPACES.sub(" ", text).strip().casefold()


@dataclass(frozen=True)
class NameRules:
    """Normalisation rules (``etl/data/names.yml`` plus the provinces and cities of db/data)."""

    version: int
    legal_suffixes: tuple[str, ...]
    english_suffixes: tuple[str, ...]
    region_prefixes: Mapping[str, tuple[str, str | None]]
    keep_region_for: tuple[str, ...]
    min_core_length: int
    prefix_index: Mapping[str, tuple[str, ...]]


@lru_cache(maxsize=4)
def load_name_rules(path: Path = NAMES_FILE) -> NameRules:
    """Read the normalisation rules: the file's, the shared legal suffixes and the place prefixes.

    Legal suffixes and the extra place prefixes are the shared vocabularies (:mod:`common.vocab`).
    Region prefixes: every province's full and short name, every prefecture-level city's name and,
    for cities ending in 市 with a stem of two characters or more, the stem (深圳市 and 深圳),
    each mapped to (province code, city code or ``None``), plus the extra place prefixes.
    """
    raw = read_yaml(path) or {}
    required = ("version", "keep_region_for", "min_core_length")
    missing = [k for k in required if k not in raw]
    if missing:
        raise ResolveError(f"{path}: missing keys {', '.join(missing)}")
    provinces = load_provinces()
    prefixes = _region_prefixes(provinces)
    codes = {p.code for p in provinces}
    for prefix, code in EXTRA_PLACE_PREFIXES.items():
        if code not in codes:
            raise ResolveError(f"{VOCABULARY_FILE}: extra_place_prefixes: {prefix}: unknown province code {code!r}")
        prefixes.setdefault(fold_name(prefix), (code, None))
    index: dict[str, list[str]] = defaultdict(list)
    for prefix in prefixes:
        index[prefix[0]].append(prefix)

    def longest_first(values: Iterable[str]) -> tuple[str, ...]:
        return tuple(sorted({fold_name(v) for v in values}, key=lambda v: (-len(v), v)))

    return NameRules(
        version=int(raw["version"]),
        legal_suffixes=longest_first(LEGAL_SUFFIXES + HOLDING_SUFFIXES),
        english_suffixes=longest_first(ENGLISH_LEGAL_SUFFIXES),
        region_prefixes=prefixes,
        keep_region_for=tuple(fold_name(s) for s in raw["keep_region_for"]),
        min_core_length=int(raw["min_core_length"]),
        prefix_index={k: longest_first(v) for k, v in index.items()},
    )


def _region_prefixes(provinces: Sequence[ProvinceRecord]) -> dict[str, tuple[str, str | None]]:
    """Place prefix -> (province code, city code or ``None``): provinces first, a municipality's
    short name is its city, and a city stem does not take over another place's prefix."""
    places = list(place_prefixes(provinces))
    prefixes: dict[str, tuple[str, str | None]] = {}
    for place in places:
        if place.kind in ("province", "province_short"):
            prefixes[place.prefix] = (place.province_code, None)
    for place in places:
        if place.kind == "city":
            prefixes[place.prefix] = (place.province_code, place.city_code)
        elif place.kind == "city_stem" and (place.city == place.province or place.prefix not in prefixes):
            prefixes[place.prefix] = (place.province_code, place.city_code)
    return prefixes


@dataclass(frozen=True)
class NameKey:
    """A normalised name and the place named by its region prefix (province, city codes)."""

    normalised: str
    province: str | None = None
    city: str | None = None
    unstripped: str = ""  # the normalised name with its region prefix kept

    @property
    def stripped(self) -> bool:
        """Whether a region prefix was removed from ``normalised``."""
        return bool(self.unstripped) and self.unstripped != self.normalised


def _strip_suffixes(text: str, rules: NameRules) -> str:
    while text not in rules.legal_suffixes:  # a bare legal form stays what it is
        stripped = None
        if text.endswith(rules.english_suffixes):
            for suffix in rules.english_suffixes:
                if text.endswith(suffix) and len(text) > len(suffix):
                    head = text[: -len(suffix)]
                    if not (head[-1].isascii() and head[-1].isalnum()):  # a word boundary before it
                        stripped = head.rstrip(_TRIM)
                        break
        if stripped is None and text.endswith(rules.legal_suffixes):
            for suffix in rules.legal_suffixes:
                if text.endswith(suffix) and len(text) > len(suffix):
                    stripped = text[: -len(suffix)].rstrip(_TRIM)
                    break
        if not stripped or stripped == text:
            break
        text = stripped
    return text


def _strip_regions(text: str, rules: NameRules) -> tuple[str, str | None, str | None, bool]:
    province: str | None = None
    city: str | None = None
    stripped = False
    keep = text.endswith(rules.keep_region_for)
    for _ in range(2):  # 广东省 + 深圳市
        match = None
        for prefix in rules.prefix_index.get(text[:1], ()):
            if text.startswith(prefix):
                match = prefix
                break
        if match is None:
            break
        rest = text[len(match):].lstrip(_TRIM)
        if len(_NON_WORD.sub("", rest)) < rules.min_core_length:
            break
        p_code, c_code = rules.region_prefixes[match]
        if province is not None and p_code != province:  # 成都 + 海南宝...: a brand, not a second level
            break
        province = province or p_code
        city = city or c_code
        if keep:
            break
        text, stripped = rest, True
    return text, province, city, stripped


def key_of_folded(folded: str, rules: NameRules) -> NameKey:
    text = _BRACKETS.sub(" ", folded)
    text = _BRACKETS.sub(" ", text).strip(_TRIM)
    text = _strip_suffixes(text, rules)
    core, province, city, stripped = _strip_regions(text, rules)
    normalised = _NON_WORD.sub("", core)
    if not normalised:  # the name is only a legal form or a place: keep it whole
        return NameKey(_NON_WORD.sub("", folded) or folded)
    return NameKey(normalised, province, city, _NON_WORD.sub("", text) if stripped else normalised)


def name_key(name: str, rules: NameRules | None = None) -> NameKey:
    """The normalised name (see :func:`normalise_name`) with the place its region prefix names."""
    return key_of_folded(fold_name(name), rules or load_name_rules())


def normalise_name(name: str) -> str:
    """A blocking/scoring key for an organisation name — never an identity.

    Steps (rules in ``etl/data/names.yml``): NFKC (full width -> half width), OpenCC t2s,
    lower-case; drop bracketed parts (（中国）, (北京), 【...】); strip legal forms from the end,
    repeatedly (股份有限公司, 有限责任公司, 有限公司, 集团, Co., Ltd., Inc. ...); strip up to two
    leading region prefixes (provinces, prefecture-level cities, 深圳市 / 深圳) unless fewer than
    ``min_core_length`` characters would remain or the name ends with a word for which the
    place is the identity (大学, 人民政府, 医院, 银行 ...); drop whatever is not a letter or digit.

    >>> normalise_name("深圳市腾讯计算机系统有限公司")
    '腾讯计算机系统'
    >>> normalise_name("西门子（中国）有限公司")
    '西门子'
    """
    return name_key(name).normalised


def alias_kind(name: str, rules: NameRules | None = None) -> str:
    """The alias kind a new name gets: ``english`` (ASCII), ``full`` (ends in a legal form) or ``short``."""
    rules = rules or load_name_rules()
    folded = fold_name(name)
    if folded.isascii():
        return "english"
    if folded.endswith(rules.legal_suffixes):
        return "full"
    return "short"
