"""Entity resolution: mention names -> organisations, with a judgement store (after nomenklatura).

Identity
    An organisation is keyed by its stable identifiers where known (统一社会信用代码
    ``organisations.uscc``; stock code + exchange) and by its names in ``aliases`` (full legal,
    short, former, English, stock short). A *normalised* name (:func:`normalise_name`) is only
    a key for finding candidates: it never decides identity on its own.

Resolving a name (:class:`Resolver`; :meth:`~Resolver.resolve`, or :meth:`~Resolver.match` then
:meth:`~Resolver.adopt` when the caller creates organisations itself), in this order:
    1. identifiers given with the mention and known -> that organisation;
    2. exact alias hit (after :func:`fold_name`: NFKC, traditional -> simplified, case, spaces);
    3. a stored *positive* judgement between the name and an organisation -> that organisation;
    4. candidates by blocking (character n-grams of the normalised name, and of the name with its
       region prefix kept, see :class:`NameIndex`)
       scored by :meth:`Resolver.score` (rapidfuzz similarity plus kind and province agreement;
       weights and thresholds in ``etl/data/resolve.yml``), leaving out candidates with a stored
       negative or unsure judgement and candidates with a different identifier:

       ==============================  =====================================================
       score >= auto_merge             same organisation: the name becomes an alias, an
                                       automatic positive judgement is stored
       suggest <= score < auto_merge   a new organisation, and a *pending* judgement (a merge
                                       suggestion for the review queue, :mod:`etl.review`)
       score < suggest                 a new organisation
       ==============================  =====================================================

Judgements (:class:`db.models.Judgement`)
    Every decision on a pair of organisation references: positive / negative / unsure, taken
    automatically (``decided_by`` = the resolver's name from the config) or by an analyst, when,
    with the score. A negative or unsure judgement keeps the pair apart and a positive one
    forces the merge, so a re-run never re-asks a settled question; an analyst's decision is
    never overwritten by an automatic one. References are portable — ``uscc:<code>``,
    ``stock:<exchange>:<code>`` or ``name:<folded name>`` (a name only when the organisation has
    no identifier) — so :func:`export_decisions` writes them as JSON lines that
    :func:`import_decisions` re-applies to another database (kept under version control).

Corrections
    :func:`merge_organisations` (re-points aliases, events, firm attributes and financials,
    judgements; events that become duplicates are merged keeping every mention) and
    :func:`split_alias` (moves an alias to a new organisation and stores a negative judgement).

Reference: *nomenklatura*, OpenSanctions' entity-resolution library: its resolver (blocking,
scoring, automatic merges above a threshold, suggestions below) and judgement store.
"""

from __future__ import annotations

import datetime as dt
import heapq
import json
import os
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from common.datafiles import read_yaml
from common.events import event_key
from common.text import t2s
from db.models import (
    JUDGEMENTS,
    ORG_KINDS,
    Alias,
    Base,
    CooperationEvent,
    Document,
    EventApplicationDomain,
    EventReview,
    EventTechCategory,
    FirmAttributes,
    FirmFinancials,
    Judgement,
    Mention,
    Organisation,
    utcnow,
)

DATA_DIR = Path(__file__).resolve().parent / "data"
NAMES_FILE = DATA_DIR / "names.yml"
CONFIG_FILE = DATA_DIR / "resolve.yml"

POSITIVE, NEGATIVE, UNSURE, PENDING = JUDGEMENTS
#: Judgements that settle a question (a pending one is a suggestion still to decide).
SETTLED = frozenset({POSITIVE, NEGATIVE, UNSURE})

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
    """Read the normalisation rules; region prefixes = provinces, cities and the file's extras.

    Prefixes: every province's full and short name, every prefecture-level city's name and,
    for cities ending in 市 with a stem of two characters or more, the stem (深圳市 and 深圳),
    each mapped to (province code, city code or ``None``).
    """
    from db.taxonomy import load_provinces

    raw = read_yaml(path) or {}
    required = ("version", "legal_suffixes", "english_suffixes", "extra_region_prefixes",
                "keep_region_for", "min_core_length")
    missing = [k for k in required if k not in raw]
    if missing:
        raise ResolveError(f"{path}: missing keys {', '.join(missing)}")
    prefixes: dict[str, tuple[str, str | None]] = {}
    provinces = load_provinces()
    for p in provinces:
        prefixes[p.name] = (p.code, None)
        prefixes[p.short_name] = (p.code, None)
    for p in provinces:
        for c in p.cities:
            prefixes[c.name] = (p.code, c.code)
            if c.name.endswith("市") and len(c.name) >= 3:
                stem = c.name[:-1]
                if c.name == p.name or stem not in prefixes:  # a municipality's short name is its city
                    prefixes[stem] = (p.code, c.code)
    codes = {p.code for p in provinces}
    for prefix, code in (raw["extra_region_prefixes"] or {}).items():
        if str(code) not in codes:
            raise ResolveError(f"{path}: extra_region_prefixes: {prefix}: unknown province code {code!r}")
        prefixes.setdefault(fold_name(prefix), (str(code), None))
    index: dict[str, list[str]] = defaultdict(list)
    for prefix in prefixes:
        index[prefix[0]].append(prefix)

    def longest_first(values: Iterable[str]) -> tuple[str, ...]:
        return tuple(sorted({fold_name(v) for v in values}, key=lambda v: (-len(v), v)))

    return NameRules(
        version=int(raw["version"]),
        legal_suffixes=longest_first(raw["legal_suffixes"]),
        english_suffixes=longest_first(raw["english_suffixes"]),
        region_prefixes=prefixes,
        keep_region_for=tuple(fold_name(s) for s in raw["keep_region_for"]),
        min_core_length=int(raw["min_core_length"]),
        prefix_index={k: longest_first(v) for k, v in index.items()},
    )


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


def _key_of_folded(folded: str, rules: NameRules) -> NameKey:
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
    return _key_of_folded(fold_name(name), rules or load_name_rules())


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


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class ResolverConfig:
    """Thresholds and weights of the resolver (``etl/data/resolve.yml`` documents each)."""

    version: int
    resolver_name: str
    auto_merge: float
    suggest: float
    max_suggestions: int
    kind_agree: float
    kind_conflict: float
    province_agree: float
    province_conflict: float
    prefix_similarity: float
    prefix_min_length: int
    cjk_unequal_cap: float
    ngram: int
    ngram_ascii: int
    max_posting: int
    max_grams: int
    max_candidates: int
    kind_families: tuple[frozenset[str], ...] = ()

    def same_family(self, a: str, b: str) -> bool:
        """Whether two different kinds are compatible (one family: no kind conflict)."""
        return any(a in family and b in family for family in self.kind_families)


@lru_cache(maxsize=4)
def load_config(path: Path = CONFIG_FILE) -> ResolverConfig:
    """Read and check the resolver configuration (``0 <= suggest < auto_merge <= 1`` ...)."""
    raw = read_yaml(path) or {}
    try:
        weights, blocking = raw["weights"], raw["blocking"]
        cfg = ResolverConfig(
            version=int(raw["version"]),
            resolver_name=str(raw["resolver_name"]),
            auto_merge=float(raw["auto_merge"]),
            suggest=float(raw["suggest"]),
            max_suggestions=int(raw["max_suggestions"]),
            kind_agree=float(weights["kind_agree"]),
            kind_conflict=float(weights["kind_conflict"]),
            province_agree=float(weights["province_agree"]),
            province_conflict=float(weights["province_conflict"]),
            prefix_similarity=float(raw["prefix_similarity"]),
            prefix_min_length=int(raw["prefix_min_length"]),
            cjk_unequal_cap=float(raw["cjk_unequal_cap"]),
            ngram=int(blocking["ngram"]),
            ngram_ascii=int(blocking["ngram_ascii"]),
            max_posting=int(blocking["max_posting"]),
            max_grams=int(blocking["max_grams"]),
            max_candidates=int(blocking["max_candidates"]),
            kind_families=tuple(frozenset(str(k) for k in family) for family in raw.get("kind_families") or ()),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ResolveError(f"{path}: missing or malformed setting: {exc}") from exc
    unknown = {k for family in cfg.kind_families for k in family} - set(ORG_KINDS)
    if unknown:
        raise ResolveError(f"{path}: kind_families: unknown kinds {', '.join(sorted(unknown))}")
    if not 0 <= cfg.suggest < cfg.auto_merge <= 1:
        raise ResolveError(f"{path}: need 0 <= suggest < auto_merge <= 1")
    if cfg.prefix_similarity >= cfg.auto_merge or cfg.cjk_unequal_cap >= cfg.auto_merge:
        raise ResolveError(f"{path}: prefix_similarity and cjk_unequal_cap must stay below auto_merge")
    if min(cfg.ngram, cfg.ngram_ascii, cfg.max_posting, cfg.max_grams, cfg.max_candidates) < 1:
        raise ResolveError(f"{path}: blocking settings must be positive")
    return cfg


# --------------------------------------------------------------------------- references


def name_ref(name: str) -> str:
    """Portable reference of a name: ``name:<folded name>``."""
    return "name:" + fold_name(name)


def identifier_refs(uscc: str | None, exchange: str | None, stock_code: str | None) -> list[str]:
    """Portable references of identifiers: ``uscc:<code>`` and ``stock:<exchange>:<code>``."""
    refs = []
    if uscc:
        refs.append(f"uscc:{uscc}")
    if exchange and stock_code:
        refs.append(f"stock:{exchange}:{stock_code}")
    return refs


def org_ref(org: Organisation | OrgInfo) -> str:
    """An organisation's portable reference: its USCC, else its stock code, else its name."""
    refs = identifier_refs(org.uscc, org.stock_exchange, org.stock_code)
    return refs[0] if refs else name_ref(org.name)


@dataclass(frozen=True)
class Party:
    """One side of a judgement: a portable reference, a display name, the organisation here."""

    ref: str
    name: str
    org_id: int | None = None

    @classmethod
    def of(cls, org: Organisation | OrgInfo) -> Party:
        """The party for an organisation (its :func:`org_ref`)."""
        return cls(org_ref(org), org.name, org.id)


def decision_time() -> dt.datetime:
    """Now, to the second: decisions are exported with seconds, so a round trip is exact."""
    return utcnow().replace(microsecond=0)


def record_judgement(
    session: Session,
    a: Party,
    b: Party,
    judgement: str,
    *,
    by: str | None,
    automatic: bool = False,
    score: float | None = None,
    note: str | None = None,
    at: dt.datetime | None = None,
    rows: dict[tuple[str, str], Judgement] | None = None,
) -> Judgement:
    """Store a decision on the pair (a, b) — one row per unordered pair of references.

    Precedence: an analyst's settled decision is not overwritten by an automatic one, and a
    pending suggestion never replaces a settled decision; otherwise the new decision replaces
    the stored one. Returns the row (new or existing). ``rows`` is a complete in-memory index
    of the stored rows by (left_ref, right_ref), kept up to date here: given, it replaces the
    query for the existing row (the resolver's bulk loads write many judgements per batch).
    """
    if judgement not in JUDGEMENTS:
        raise ResolveError(f"unknown judgement {judgement!r} (expected one of {', '.join(JUDGEMENTS)})")
    if a.ref == b.ref:
        raise ResolveError(f"a judgement needs two different references, got {a.ref!r} twice")
    left, right = sorted((a, b), key=lambda p: p.ref)
    if rows is not None:
        row = rows.get((left.ref, right.ref))
    else:
        row = session.scalars(
            select(Judgement).where(Judgement.left_ref == left.ref, Judgement.right_ref == right.ref)
        ).first()
    if row is None:
        row = Judgement(left_ref=left.ref, right_ref=right.ref)
        session.add(row)
        if rows is not None:
            rows[(left.ref, right.ref)] = row
    elif row.judgement in SETTLED and (judgement == PENDING or (automatic and not row.automatic)):
        return row
    row.left_name, row.right_name = left.name[:255], right.name[:255]
    if left.org_id is not None:
        row.left_id = left.org_id
    if right.org_id is not None:
        row.right_id = right.org_id
    row.judgement = judgement
    row.automatic = automatic
    row.decided_by = by
    row.decided_at = None if judgement == PENDING else (at or decision_time())
    if score is not None:
        row.score = round(float(score), 4)
    row.note = note
    return row


# --------------------------------------------------------------------------- blocking index


class NameIndex:
    """Blocking index over normalised names: character n-grams -> names -> organisations.

    :meth:`candidates` returns the indexed names sharing the most n-grams with a query, looking
    up only its rarest n-grams (``max_grams``) and skipping n-grams shared by more than
    ``max_posting`` names (industry words such as 科技, 智能 block nothing) unless the query has
    no rarer one; at most ``max_candidates`` names are returned, the exact name always first.
    """

    def __init__(self, config: ResolverConfig) -> None:
        self.config = config
        self._keys: list[str] = []
        self._slot: dict[str, int] = {}
        self._orgs: list[set[int]] = []
        self._postings: dict[str, list[int]] = defaultdict(list)

    def __len__(self) -> int:
        return len(self._keys)

    def grams(self, key: str) -> set[str]:
        """The n-grams of a normalised name (the whole name when it is shorter than n)."""
        n = self.config.ngram_ascii if key.isascii() else self.config.ngram
        if len(key) <= n:
            return {key}
        return {key[i : i + n] for i in range(len(key) - n + 1)}

    def add(self, key: str, org_id: int) -> None:
        """Index ``key`` as a name of organisation ``org_id``."""
        if not key:
            return
        slot = self._slot.get(key)
        if slot is None:
            slot = len(self._keys)
            self._slot[key] = slot
            self._keys.append(key)
            self._orgs.append(set())
            for gram in self.grams(key):
                self._postings[gram].append(slot)
        self._orgs[slot].add(org_id)

    def discard(self, key: str, org_id: int) -> None:
        """Forget that ``key`` names ``org_id`` (after a split)."""
        slot = self._slot.get(key)
        if slot is not None:
            self._orgs[slot].discard(org_id)

    def orgs(self, key: str) -> set[int]:
        """Organisations indexed under exactly this normalised name."""
        slot = self._slot.get(key)
        return set(self._orgs[slot]) if slot is not None else set()

    def candidates(self, key: str) -> list[tuple[str, set[int]]]:
        """Indexed names sharing n-grams with ``key`` (most shared first), with their organisations."""
        return [(self._keys[s], self._orgs[s]) for s in self.candidate_slots(key) if self._orgs[s]]

    def candidate_slots(self, key: str) -> list[int]:
        """Like :meth:`candidates`, as internal slots (see :meth:`key_at`, :meth:`orgs_at`)."""
        cfg = self.config
        postings = [p for g in self.grams(key) if (p := self._postings.get(g))]
        postings.sort(key=len)
        usable = [p for p in postings if len(p) <= cfg.max_posting][: cfg.max_grams] or postings[:2]
        counts: Counter[int] = Counter()
        for posting in usable:
            counts.update(posting)
        exact = self._slot.get(key)
        if exact is not None:
            counts.pop(exact, None)
        if len(counts) > cfg.max_candidates:
            chosen = [s for s, _ in heapq.nlargest(cfg.max_candidates, counts.items(), key=itemgetter(1))]
        else:
            chosen = sorted(counts, key=counts.__getitem__, reverse=True)
        if exact is not None:
            chosen.insert(0, exact)
        return chosen

    def key_at(self, slot: int) -> str:
        """The normalised name in a slot."""
        return self._keys[slot]

    def orgs_at(self, slot: int) -> set[int]:
        """The organisations indexed under a slot's name."""
        return self._orgs[slot]


# --------------------------------------------------------------------------- resolver


@dataclass
class OrgInfo:
    """What the resolver keeps in memory about an organisation."""

    id: int
    name: str
    kind: str | None
    province: str | None
    city: str | None
    uscc: str | None
    stock_exchange: str | None
    stock_code: str | None
    is_sample: bool


@dataclass(frozen=True)
class Resolution:
    """The outcome of resolving one name.

    ``outcome`` is one of ``identifier``, ``alias``, ``judgement``, ``auto_merge`` (the name
    became an alias of ``org_id``), ``suggested`` (a new organisation with pending suggestions
    towards ``candidates``), ``new`` or ``unresolved`` (lookup only, nothing matched).
    """

    org_id: int | None
    outcome: str
    score: float | None = None
    candidates: tuple[int, ...] = ()

    @property
    def created(self) -> bool:
        """Whether a new organisation was created."""
        return self.outcome in ("suggested", "new")


@dataclass(frozen=True)
class _Edge:
    other: str
    judgement: str
    manual: bool
    at: dt.datetime | None


@dataclass(frozen=True)
class Scored:
    """A scored candidate organisation."""

    org_id: int
    score: float
    name: str


class Resolver:
    """Resolves mention names to organisation ids, creating organisations and storing judgements.

    Two ways to use it: :meth:`resolve` (creates an organisation for a new name itself), or
    :meth:`match` + :meth:`adopt` (the caller creates new organisations its own way, e.g. with
    an industry from its rules, and hands them back). :meth:`lookup` only reads.

    Loads every organisation, alias and judgement once (4-6 s for 35,000 organisations and
    105,000 aliases: benchmarks/bench_resolve.py) and keeps its indexes in step with what it
    writes; it does not see organisations created behind its back (:meth:`adopt` them, or
    :meth:`reload`). Writes go through ``session`` (flushed, never committed). ``stats``
    counts outcomes; :attr:`merges` the names attached by similarity or judgement.
    """

    def __init__(
        self, session: Session, *, config: ResolverConfig | None = None, rules: NameRules | None = None
    ) -> None:
        self.session = session
        self.config = config or load_config()
        self.rules = rules or load_name_rules()
        self.stats: Counter[str] = Counter()
        self.reload()

    # ------------------------------------------------------------------ state

    def reload(self) -> None:
        """(Re)load organisations, aliases and judgements from the database."""
        self._orgs: dict[int, OrgInfo] = {}
        self._by_name: dict[str, set[int]] = defaultdict(set)
        self._by_uscc: dict[str, int] = {}
        self._by_stock: dict[tuple[str, str], int] = {}
        self._index = NameIndex(self.config)
        self._edges: dict[str, list[_Edge]] = defaultdict(list)
        self._names_of: dict[int, set[str]] = defaultdict(set)
        self._keys: dict[str, NameKey] = {}
        self._awaiting: dict[str, tuple[list[Scored], str | None, str | None, str | None, list[str]]] = {}
        rows = self.session.execute(select(
            Organisation.id, Organisation.name, Organisation.kind, Organisation.province_code,
            Organisation.city_code, Organisation.uscc, Organisation.stock_exchange, Organisation.stock_code,
            Organisation.is_sample,
        ))
        for row in rows:
            self._remember(OrgInfo(*row))
        for org_id, name in self.session.execute(select(Alias.organisation_id, Alias.name)):
            if org_id in self._orgs:
                self._add_name(org_id, name)
        self._rows: dict[tuple[str, str], Judgement] = {}
        for row in self.session.scalars(select(Judgement)):
            self._remember_judgement(row)

    def _remember(self, info: OrgInfo) -> None:
        if info.kind == "other":
            info.kind = None
        key = self.key(info.name)
        if info.province is None:
            info.province, info.city = key.province, key.city
        self._orgs[info.id] = info
        if info.uscc:
            self._by_uscc[info.uscc] = info.id
        if info.stock_exchange and info.stock_code:
            self._by_stock[(info.stock_exchange, info.stock_code)] = info.id
        self._add_name(info.id, info.name)

    def _add_name(self, org_id: int, name: str) -> None:
        self._add_folded(org_id, fold_name(name))

    def _add_folded(self, org_id: int, folded: str) -> None:
        self._by_name[folded].add(org_id)
        self._names_of[org_id].add(folded)
        key = self._key_folded(folded)
        self._index.add(key.normalised, org_id)
        if key.stripped:  # 成都海南宝科技: the brand may start with a place name
            self._index.add(key.unstripped, org_id)

    def _drop_folded(self, org_id: int, folded: str) -> None:
        self._by_name[folded].discard(org_id)
        self._names_of[org_id].discard(folded)
        key = self._key_folded(folded)
        self._index.discard(key.normalised, org_id)
        self._index.discard(key.unstripped, org_id)

    def _remember_judgement(self, row: Judgement) -> None:
        self._rows[(row.left_ref, row.right_ref)] = row
        at = row.decided_at
        for ref, other in ((row.left_ref, row.right_ref), (row.right_ref, row.left_ref)):
            edges = self._edges[ref]
            edges[:] = [e for e in edges if e.other != other]
            edges.append(_Edge(other, row.judgement, not row.automatic, at))

    def key(self, name: str) -> NameKey:
        """:func:`name_key` of ``name`` (memoised)."""
        return self._key_folded(fold_name(name))

    def _key_folded(self, folded: str) -> NameKey:
        key = self._keys.get(folded)
        if key is None:
            key = self._keys[folded] = _key_of_folded(folded, self.rules)
        return key

    def _live(self, ids: Iterable[int]) -> set[int]:
        return {i for i in ids if i in self._orgs}

    def note_merge(self, keep_id: int, drop_id: int) -> None:
        """Tell the resolver that ``drop_id`` was merged into ``keep_id`` (by :func:`merge_organisations`)."""
        for folded in list(self._names_of.pop(drop_id, ())):
            self._drop_folded(drop_id, folded)
            self._add_folded(keep_id, folded)
        dropped = self._orgs.pop(drop_id, None)
        for index in (self._by_uscc, self._by_stock):
            for ident in [k for k, v in index.items() if v == drop_id]:
                del index[ident]
        keep = self._orgs.get(keep_id)
        if dropped and keep:
            for attr in ("kind", "province", "city", "uscc"):
                if getattr(keep, attr) is None:
                    setattr(keep, attr, getattr(dropped, attr))
            if keep.stock_code is None:
                keep.stock_exchange, keep.stock_code = dropped.stock_exchange, dropped.stock_code
            keep.is_sample = keep.is_sample or dropped.is_sample
            if keep.uscc:
                self._by_uscc[keep.uscc] = keep_id
            if keep.stock_exchange and keep.stock_code:
                self._by_stock[(keep.stock_exchange, keep.stock_code)] = keep_id

    def note_split(self, name: str, old_id: int, new_org: Organisation) -> None:
        """Tell the resolver that ``name`` moved from ``old_id`` to the new organisation."""
        self._drop_folded(old_id, fold_name(name))
        self._remember(self._info(new_org))
        self._add_name(new_org.id, name)

    def note_judgement(self, row: Judgement) -> None:
        """Make a judgement stored elsewhere count for this resolver."""
        self._remember_judgement(row)

    @staticmethod
    def _info(org: Organisation) -> OrgInfo:
        return OrgInfo(org.id, org.name, org.kind, org.province_code, org.city_code, org.uscc,
                       org.stock_exchange, org.stock_code, bool(org.is_sample))

    def organisation(self, org_id: int) -> OrgInfo | None:
        """What the resolver knows about an organisation."""
        return self._orgs.get(org_id)

    def orgs_for_ref(self, ref: str) -> set[int]:
        """Organisations a portable reference denotes here (by identifier or by any alias)."""
        kind, _, value = ref.partition(":")
        if kind == "uscc":
            hit = self._by_uscc.get(value)
            return self._live([hit]) if hit is not None else set()
        if kind == "stock":
            exchange, _, code = value.partition(":")
            hit = self._by_stock.get((exchange, code))
            return self._live([hit]) if hit is not None else set()
        if kind == "name":
            return self._live(self._by_name.get(value, ()))
        return set()

    # ------------------------------------------------------------------ scoring

    def _place(self, province: str | None, key: NameKey) -> tuple[str | None, str | None, bool]:
        """The mention's (province, city, whether given as a hint rather than read from the name)."""
        if province:
            code = self._province_code(province)
            if code:
                return code, key.city if key.province == code else None, True
        return key.province, key.city, False

    def _province_code(self, value: str) -> str | None:
        if value.isdigit() and len(value) == 2:
            return value
        hit = self.rules.region_prefixes.get(fold_name(value))
        return hit[0] if hit else None

    def score(
        self, key: NameKey, kind: str | None, province: str | None, city: str | None, candidate: str, org: OrgInfo,
        *, hinted: bool = False,
    ) -> float:
        """Score of a mention (normalised ``key``, kind, place) against a candidate name of ``org``.

        Definition (weights in ``etl/data/resolve.yml``)::

            sim   = rapidfuzz.fuzz.ratio(key, candidate) / 100      # 1 - Indel distance / (|a| + |b|)
            sim   = max(sim, prefix_similarity)  if one is a prefix of the other (both >= prefix_min_length)
            score = clip(sim + kind term + place term, 0, 1)
            score = min(score, cjk_unequal_cap)  if the two differ and are not both ASCII

        kind term: ``kind_agree`` when both kinds are known and equal, ``kind_conflict`` when
        both are known and differ outside one of the ``kind_families``, else 0. place term: ``province_conflict`` when both provinces
        are known and differ, or both cities are known and differ and the mention's city prefix
        was stripped from its normalised name (深圳XX旅游 / 广州XX旅游 -> XX旅游); ``province_agree``
        when both provinces are known and equal; else 0. The mention's place is the hint, else
        the place its name starts with; the organisation's is its own, else its name's.
        The cap: Chinese variants of one name normalise to the same string (legal form, region,
        brackets, script, width), while one different character is usually another
        organisation (智源 / 智谱), so unequal Chinese names are at most suggested.

        When a region prefix was stripped from the mention, the score is the larger of the
        above and the same computed on the name with its prefix kept (``key.unstripped``) and
        only a ``hinted`` place: a brand may begin with a place name (海南宝科技).
        """
        best = self._score(key.normalised, key.stripped, kind, province, city, candidate, org)
        if key.stripped:
            place = (province, city) if hinted else (None, None)
            best = max(best, self._score(key.unstripped, False, kind, *place, candidate, org))
        return best

    def _score(
        self, a: str, stripped: bool, kind: str | None, province: str | None, city: str | None, candidate: str,
        org: OrgInfo,
    ) -> float:
        cfg = self.config
        sim = fuzz.ratio(a, candidate) / 100.0
        short, long_ = (a, candidate) if len(a) <= len(candidate) else (candidate, a)
        if len(short) >= cfg.prefix_min_length and short != long_ and long_.startswith(short):
            sim = max(sim, cfg.prefix_similarity)
        if kind and org.kind:
            if kind == org.kind:
                sim += cfg.kind_agree
            elif not cfg.same_family(kind, org.kind):
                sim += cfg.kind_conflict
        if province and org.province:
            if province != org.province or (stripped and city and org.city and city != org.city):
                sim += cfg.province_conflict
            else:
                sim += cfg.province_agree
        score = min(1.0, max(0.0, sim))
        if a != candidate and not (a.isascii() and candidate.isascii()):
            score = min(score, cfg.cjk_unequal_cap)
        return score

    def _settled_with(self, refs: list[str], org_id: int) -> str | None:
        """The most authoritative settled judgement between the mention refs and an organisation."""
        best: tuple[bool, dt.datetime, str] | None = None
        for ref in refs:
            for edge in self._edges.get(ref, ()):
                if edge.judgement in SETTLED and org_id in self.orgs_for_ref(edge.other):
                    rank = (edge.manual, _aware(edge.at) or dt.datetime.min.replace(tzinfo=dt.UTC), edge.judgement)
                    if best is None or rank[:2] > best[:2]:
                        best = rank
        return best[2] if best else None

    def _forced(self, refs: list[str]) -> int | None:
        """An organisation a positive judgement ties the mention to (the latest analyst decision first)."""
        found: list[tuple[bool, dt.datetime, int]] = []
        for ref in refs:
            for edge in self._edges.get(ref, ()):
                if edge.judgement == POSITIVE:
                    for org_id in self.orgs_for_ref(edge.other):
                        if self._settled_with(refs, org_id) == POSITIVE:
                            at = _aware(edge.at) or dt.datetime.min.replace(tzinfo=dt.UTC)
                            found.append((edge.manual, at, -org_id))
        return -max(found)[2] if found else None

    def candidates(
        self, key: NameKey, kind: str | None, province: str | None, city: str | None,
        refs: list[str], ids: list[str], *, hinted: bool = False,
    ) -> list[Scored]:
        """Blocked and scored candidate organisations, best first, without settled pairs."""
        best: dict[int, Scored] = {}
        forms = [(key.normalised, key.stripped, province, city)]
        if key.stripped:  # also as written, in case the brand begins with a place name (海南宝科技)
            forms.append((key.unstripped, False, *((province, city) if hinted else (None, None))))
        cfg = self.config
        # a candidate can reach ``suggest`` only by name similarity >= this (bonuses are added later)
        floor = 100 * (cfg.suggest - max(cfg.kind_agree, 0) - max(cfg.province_agree, 0))
        for text, stripped, prov, town in forms:
            if best and max(c.score for c in best.values()) >= cfg.auto_merge:
                break
            slots = self._index.candidate_slots(text)
            keys = [self._index.key_at(slot) for slot in slots]
            close = {i for _, _, i in process.extract(text, keys, scorer=fuzz.ratio, score_cutoff=floor, limit=None)}
            if len(text) >= cfg.prefix_min_length:
                close.update(i for i, k in enumerate(keys) if k.startswith(text) or
                             (len(k) >= cfg.prefix_min_length and text.startswith(k)))
            for i in sorted(close):
                candidate = keys[i]
                for org_id in self._live(self._index.orgs_at(slots[i])):
                    if org_id in best and best[org_id].score >= 1.0:
                        continue
                    org = self._orgs[org_id]
                    if self._identifier_conflict(org, ids):
                        continue
                    s = self._score(text, stripped, kind, prov, town, candidate, org)
                    if s >= self.config.suggest and (org_id not in best or s > best[org_id].score):
                        best[org_id] = Scored(org_id, s, org.name)
        ranked = sorted(best.values(), key=lambda c: (-c.score, c.org_id))
        return [c for c in ranked if self._settled_with(refs, c.org_id) is None]

    @staticmethod
    def _identifier_conflict(org: OrgInfo, ids: list[str]) -> bool:
        for ref in ids:
            kind, _, value = ref.partition(":")
            if kind == "uscc" and org.uscc and org.uscc != value:
                return True
            if kind == "stock":
                exchange, _, code = value.partition(":")
                if org.stock_exchange == exchange and org.stock_code and org.stock_code != code:
                    return True
        return False

    # ------------------------------------------------------------------ resolution

    def resolve(
        self, name: str, *, kind: str | None = None, province: str | None = None, uscc: str | None = None,
        stock_code: str | None = None, exchange: str | None = None,
    ) -> int:
        """The organisation id for a mention name, creating the organisation when it is new.

        ``kind`` (one of ``ORG_KINDS``), ``province`` (GB/T 2260 code or name) and the
        identifiers are optional hints; see :meth:`resolve_detail` for the outcome.
        """
        res = self.resolve_detail(name, kind=kind, province=province, uscc=uscc, stock_code=stock_code,
                                  exchange=exchange)
        assert res.org_id is not None
        return res.org_id

    def lookup(self, name: str, **hints: Any) -> int | None:
        """Like :meth:`resolve` but read-only: the organisation, or ``None`` when nothing matches."""
        return self.resolve_detail(name, create=False, **hints).org_id

    def resolve_detail(
        self, name: str, *, kind: str | None = None, province: str | None = None, uscc: str | None = None,
        stock_code: str | None = None, exchange: str | None = None, create: bool = True,
    ) -> Resolution:
        """Resolve a mention name (see the module docstring for the order of the steps).

        A new name gets a new organisation (kind, the place its name or the hint gives, the
        identifiers), and the pending suggestions are stored. With ``create=False`` nothing is
        written: no alias, no organisation, no judgement (outcome ``unresolved`` when new).
        """
        res = self._match(name, kind, province, uscc, stock_code, exchange, write=create)
        if res.org_id is not None or not create:
            return self._done(res)
        display = _SPACES.sub(" ", name).strip()
        folded = fold_name(display)
        _, kind_, prov, city, ids = self._awaiting[folded]
        new = self._create(display, kind_, prov, city, ids)
        self.adopt(new.id, display)
        return self._done(Resolution(new.id, res.outcome, res.score, res.candidates))

    def match(
        self, name: str, *, kind: str | None = None, province: str | None = None, uscc: str | None = None,
        stock_code: str | None = None, exchange: str | None = None,
    ) -> Resolution:
        """Resolve to an existing organisation, or report that the name needs a new one.

        Like :meth:`resolve_detail`, except that it never creates an organisation: for a new
        name ``org_id`` is ``None`` and ``outcome`` is ``new`` or ``suggested`` (``candidates``
        are the suggested organisations). The caller then creates the organisation its own way
        and hands it to :meth:`adopt`, which indexes it and stores the suggestions. A hit
        (identifier, alias, judgement, auto-merge) is written as :meth:`resolve` writes it.
        """
        return self._done(self._match(name, kind, province, uscc, stock_code, exchange, write=True))

    def adopt(self, org_id: int, name: str, *, info: OrgInfo | None = None,
              aliases: Iterable[str] = ()) -> None:
        """Take in an organisation created by the caller for ``name`` (after :meth:`match`).

        Indexes the organisation and its names, and stores the pending suggestions found by the
        last :meth:`match` of that name. Idempotent; also fine for organisations created
        without a preceding match (seeds, registry rows added while the resolver lives).
        A caller that has not flushed the new organisation yet passes what the resolver needs
        to know about it (``info`` and its ``aliases``) instead of having it read back.
        """
        if info is not None and org_id not in self._orgs:
            self._remember(info)
            for alias in aliases:
                self._add_name(org_id, alias)
        if org_id not in self._orgs:
            self.session.flush()
            org = self.session.get(Organisation, org_id)
            if org is None:
                raise ResolveError(f"no organisation with id {org_id}")
            self._remember(self._info(org))
            for alias in self.session.scalars(select(Alias.name).where(Alias.organisation_id == org_id)):
                self._add_name(org_id, alias)
        folded = fold_name(_SPACES.sub(" ", name).strip())
        if org_id not in self._by_name.get(folded, ()):
            self._add_folded(org_id, folded)
        waiting = self._awaiting.pop(folded, None)
        if waiting is None:
            return
        new = self._orgs[org_id]
        for s in waiting[0]:
            if s.org_id != org_id and s.org_id in self._orgs:
                self._record(Party.of(new), Party.of(self._orgs[s.org_id]), PENDING, automatic=True, score=s.score)

    @property
    def merges(self) -> int:
        """Names this resolver attached to an existing organisation by similarity or a positive judgement."""
        return self.stats["auto_merge"] + self.stats["judgement"]

    def _match(
        self, name: str, kind: str | None, province: str | None, uscc: str | None, stock_code: str | None,
        exchange: str | None, *, write: bool,
    ) -> Resolution:
        display = _SPACES.sub(" ", name).strip()
        if not display:
            raise ResolveError("cannot resolve an empty name")
        folded = fold_name(display)
        kind = kind if kind in ORG_KINDS and kind != "other" else None
        ids = self._identifiers(uscc, exchange, stock_code)
        key = self._key_folded(folded)
        prov, city, hinted = self._place(province, key)
        refs = ["name:" + folded, *ids]

        for ref in ids:  # 1. identifiers
            hit = self.orgs_for_ref(ref)
            if hit:
                org_id = min(hit)
                if write:
                    self._attach(org_id, display, folded, ids)
                return Resolution(org_id, "identifier")
        hits = [o for o in self._live(self._by_name.get(folded, ())) if not self._identifier_conflict(self._orgs[o], ids)]
        if hits:  # 2. exact alias
            org_id = self._pick(hits, kind, prov, city)
            if write:
                self._attach(org_id, display, folded, ids)
            return Resolution(org_id, "alias")
        forced = self._forced(refs)  # 3. positive judgement
        if forced is not None and not self._identifier_conflict(self._orgs[forced], ids):
            if write:
                self._attach(forced, display, folded, ids)
            return Resolution(forced, "judgement")
        ranked = self.candidates(key, kind, prov, city, refs, ids, hinted=hinted)  # 4. fuzzy
        if ranked and ranked[0].score >= self.config.auto_merge:
            top = ranked[0]
            if write:
                self._attach(top.org_id, display, folded, ids)
                org = self._orgs[top.org_id]
                self._record(Party(refs[0], display, top.org_id), Party.of(org), POSITIVE, automatic=True,
                             score=top.score)
            return Resolution(top.org_id, "auto_merge", top.score, (top.org_id,))
        if not write:
            return Resolution(None, "unresolved", ranked[0].score if ranked else None)
        suggestions = ranked[: self.config.max_suggestions]
        self._awaiting[folded] = (suggestions, kind, prov, city, ids)
        return Resolution(None, "suggested" if suggestions else "new", suggestions[0].score if suggestions else None,
                          tuple(s.org_id for s in suggestions))

    def _done(self, res: Resolution) -> Resolution:
        self.stats[res.outcome] += 1
        return res

    def _identifiers(self, uscc: str | None, exchange: str | None, stock_code: str | None) -> list[str]:
        from common.identifiers import normalise_exchange, normalise_stock_code, normalise_uscc, validate_uscc

        u = normalise_uscc(uscc) if uscc else None
        if u and validate_uscc(u) is not None:
            u = None
        ex = normalise_exchange(exchange) if exchange else None
        code = None
        if ex and stock_code:
            try:
                code = normalise_stock_code(ex, stock_code)
            except ValueError:
                code = None
        return identifier_refs(u, ex, code)

    def _pick(self, hits: Iterable[int], kind: str | None, province: str | None, city: str | None) -> int:
        """Among organisations sharing a name: agreeing kind/place first, then sample firms, then oldest."""
        def rank(org_id: int) -> tuple[int, int, int, int]:
            o = self._orgs[org_id]
            kind_bad = int(bool(kind and o.kind and kind != o.kind))
            place_bad = int(bool(province and o.province and (province != o.province
                                                              or bool(city and o.city and city != o.city))))
            return (kind_bad + place_bad, int(not o.is_sample), int(not (o.uscc or o.stock_code)), org_id)

        return min(hits, key=rank)

    def _attach(self, org_id: int, display: str, folded: str, ids: list[str]) -> None:
        """Make ``display`` an alias of ``org_id`` (if new) and fill identifiers it lacks."""
        org_info = self._orgs[org_id]
        if org_id not in self._by_name.get(folded, ()):
            self.session.add(Alias(organisation_id=org_id, name=display[:255], kind=alias_kind(display, self.rules),
                                   source="resolver"))
            self._add_name(org_id, display)
        if not ids:
            return
        changes: dict[str, str] = {}
        for ref in ids:
            kind, _, value = ref.partition(":")
            if kind == "uscc" and not org_info.uscc and value not in self._by_uscc:
                changes["uscc"] = org_info.uscc = value
                self._by_uscc[value] = org_id
            elif kind == "stock" and not org_info.stock_code:
                exchange, _, code = value.partition(":")
                if (exchange, code) not in self._by_stock:
                    org_info.stock_exchange, org_info.stock_code = exchange, code
                    changes.update(stock_exchange=exchange, stock_code=code)
                    self._by_stock[(exchange, code)] = org_id
        if changes:
            _exec(self.session, update(Organisation).where(Organisation.id == org_id).values(**changes))

    def _create(self, display: str, kind: str | None, province: str | None, city: str | None,
                ids: list[str]) -> OrgInfo:
        values: dict[str, Any] = {}
        for ref in ids:
            k, _, value = ref.partition(":")
            if k == "uscc":
                values["uscc"] = value
            elif k == "stock":
                values["stock_exchange"], values["stock_code"] = value.split(":", 1)
        org = Organisation(name=display[:255], kind=kind or "other", is_sample=False, origin="extracted",
                           province_code=province, city_code=city if province else None, **values)
        org.aliases = [Alias(name=display[:255], kind=alias_kind(display, self.rules), source="resolver")]
        self.session.add(org)
        self.session.flush()
        info = self._info(org)
        self._remember(info)
        return info

    def _record(self, a: Party, b: Party, judgement: str, *, automatic: bool, score: float | None) -> None:
        row = record_judgement(self.session, a, b, judgement, by=self.config.resolver_name, automatic=automatic,
                               score=score, rows=self._rows)
        self._remember_judgement(row)


def _exec(session: Session, statement: Any) -> None:
    """Run a bulk UPDATE/DELETE without evaluating it against every object in the session
    (the callers expire what they change); ``synchronize_session`` would scan the identity map."""
    session.execute(statement, execution_options={"synchronize_session": False})


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite returns naive datetimes for timezone-aware columns: read them as UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


# --------------------------------------------------------------------------- corrections


@dataclass
class MergeReport:
    """What :func:`merge_organisations` changed."""

    keep_id: int
    drop_id: int
    aliases_moved: int = 0
    events_repointed: int = 0
    events_merged: int = 0
    self_loops_removed: int = 0
    mentions_moved: int = 0

    def as_dict(self) -> dict[str, int]:
        """Plain counts (CLI, JSON)."""
        return dict(self.__dict__)


def choose_survivor(session: Session, a_id: int, b_id: int) -> tuple[int, int]:
    """(keep, drop) for merging two organisations: sample firm, then identifiers, registry origin, oldest."""
    rows = {o.id: o for o in session.scalars(select(Organisation).where(Organisation.id.in_((a_id, b_id))))}
    missing = {a_id, b_id} - set(rows)
    if missing:
        raise ResolveError(f"no organisation with id {', '.join(map(str, sorted(missing)))}")

    def rank(org: Organisation) -> tuple[int, int, int, int]:
        return (int(not org.is_sample), int(not (org.uscc or org.stock_code)), int(org.origin != "registry"), org.id)

    keep, drop = sorted(rows.values(), key=rank)
    return keep.id, drop.id


def merge_organisations(
    session: Session, keep_id: int, drop_id: int, by: str, *, note: str | None = None, force: bool = False,
    record: bool = True,
) -> MergeReport:
    """Merge organisation ``drop_id`` into ``keep_id`` and delete it.

    - aliases move to ``keep`` (a name+kind it already has is dropped);
    - identifiers, place, industry and kind fill what ``keep`` lacks; ``is_sample`` is or-ed;
    - firm attributes and yearly financials move (for a year both have, ``keep``'s values win
      and its missing values are filled);
    - cooperation events: provider, receiver and reporter are re-pointed and their key
      recomputed (:func:`common.events.event_key`); events that now share a key are merged into the
      oldest, keeping every mention (one per document: the higher confidence), the union of
      categories and domains, and a termination; events between the two (now a self-relation)
      are removed; analyst reviews follow their events' keys;
    - judgements are re-pointed; pending suggestions between the two become positive;
    - with ``record``, a positive judgement by ``by`` is stored for the pair.

    Two organisations with different 统一社会信用代码 are different legal persons: refused
    unless ``force``. Runs in the caller's transaction (flushes, does not commit).
    """
    if keep_id == drop_id:
        raise ResolveError("cannot merge an organisation into itself")
    session.flush()
    session.expire_all()  # read the current rows, not collections loaded earlier
    keep, drop = session.get(Organisation, keep_id), session.get(Organisation, drop_id)
    if keep is None or drop is None:
        raise ResolveError(f"no organisation with id {drop_id if keep else keep_id}")
    if keep.uscc and drop.uscc and keep.uscc != drop.uscc and not force:
        raise ResolveError(f"{keep.name} and {drop.name} have different 统一社会信用代码 ({keep.uscc}, {drop.uscc}); "
                           "pass force to merge them anyway")
    keep_party, drop_party = Party.of(keep), Party.of(drop)
    report = MergeReport(keep_id, drop_id)

    # aliases
    have = {(a.name, a.kind) for a in keep.aliases}
    names = {a.name for a in keep.aliases}
    for alias in list(drop.aliases):
        if (alias.name, alias.kind) in have:
            _exec(session, delete(Alias).where(Alias.id == alias.id))
        else:
            _exec(session, update(Alias).where(Alias.id == alias.id).values(organisation_id=keep_id))
            have.add((alias.name, alias.kind))
            names.add(alias.name)
            report.aliases_moved += 1
    if drop.name not in names:
        session.execute(insert(Alias).values(organisation_id=keep_id, name=drop.name, kind=alias_kind(drop.name),
                                             source="merge"))

    # identifiers and descriptive columns
    fill: dict[str, Any] = {}
    clear: dict[str, Any] = {}
    if not keep.uscc and drop.uscc:
        fill["uscc"], clear["uscc"] = drop.uscc, None
    if not keep.stock_code and drop.stock_code:
        fill.update(stock_exchange=drop.stock_exchange, stock_code=drop.stock_code)
        clear.update(stock_exchange=None, stock_code=None)
    for attr in ("province_code", "city_code", "industry_section", "industry_division"):
        if getattr(keep, attr) is None and getattr(drop, attr) is not None:
            fill[attr] = getattr(drop, attr)
    if keep.kind == "other" and drop.kind != "other":
        fill["kind"] = drop.kind
    if drop.is_sample and not keep.is_sample:
        fill["is_sample"] = True
    if clear:
        _exec(session, update(Organisation).where(Organisation.id == drop_id).values(**clear))
    if fill:
        _exec(session, update(Organisation).where(Organisation.id == keep_id).values(**fill))

    _merge_attributes(session, keep_id, drop_id)
    _merge_financials(session, keep_id, drop_id)
    _merge_events(session, keep_id, drop_id, report)

    # judgements
    for column in (Judgement.left_id, Judgement.right_id):
        _exec(session, update(Judgement).where(column == drop_id).values({column.key: keep_id}))
    session.execute(
        update(Judgement)
        .where(Judgement.judgement == PENDING, Judgement.left_id == keep_id, Judgement.right_id == keep_id)
        .values(judgement=POSITIVE, automatic=False, decided_by=by, decided_at=decision_time(), note=note)
    )
    _repoint_other_references(session, keep_id, drop_id)
    _exec(session, delete(Organisation).where(Organisation.id == drop_id))
    session.expire_all()
    if record and keep_party.ref != drop_party.ref:
        record_judgement(session, Party(keep_party.ref, keep_party.name, keep_id),
                         Party(drop_party.ref, drop_party.name, keep_id), POSITIVE, by=by, note=note)
    session.flush()
    return report


def _merge_attributes(session: Session, keep_id: int, drop_id: int) -> None:
    mine, theirs = session.get(FirmAttributes, keep_id), session.get(FirmAttributes, drop_id)
    if theirs is None:
        return
    if mine is None:
        _exec(session, update(FirmAttributes).where(FirmAttributes.organisation_id == drop_id)
                        .values(organisation_id=keep_id))
        return
    values = {c: getattr(theirs, c) for c in ("founded_on", "employees", "tech_layer", "patents")
              if getattr(mine, c) is None and getattr(theirs, c) is not None}
    if theirs.listed and not mine.listed:
        values["listed"] = True
    _exec(session, delete(FirmAttributes).where(FirmAttributes.organisation_id == drop_id))
    if values:
        _exec(session, update(FirmAttributes).where(FirmAttributes.organisation_id == keep_id).values(**values))


def _merge_financials(session: Session, keep_id: int, drop_id: int) -> None:
    mine = {f.fiscal_year: f for f in session.scalars(select(FirmFinancials).where(
        FirmFinancials.organisation_id == keep_id))}
    for theirs in session.scalars(select(FirmFinancials).where(FirmFinancials.organisation_id == drop_id)).all():
        own = mine.get(theirs.fiscal_year)
        if own is None:
            _exec(session, update(FirmFinancials).where(FirmFinancials.id == theirs.id).values(organisation_id=keep_id))
            continue
        values = {c: getattr(theirs, c) for c in ("revenue_cny", "rd_expense_cny", "document_id")
                  if getattr(own, c) is None and getattr(theirs, c) is not None}
        _exec(session, delete(FirmFinancials).where(FirmFinancials.id == theirs.id))
        if values:
            _exec(session, update(FirmFinancials).where(FirmFinancials.id == own.id).values(**values))


def _delete_events(session: Session, ids: list[int]) -> None:
    if not ids:
        return
    _exec(session, delete(Mention).where(Mention.event_id.in_(ids)))
    _exec(session, delete(EventTechCategory).where(EventTechCategory.event_id.in_(ids)))
    _exec(session, delete(EventApplicationDomain).where(EventApplicationDomain.event_id.in_(ids)))
    _exec(session, delete(CooperationEvent).where(CooperationEvent.id.in_(ids)))


def _merge_events(session: Session, keep_id: int, drop_id: int, report: MergeReport) -> None:
    E = CooperationEvent
    rows = session.execute(select(E.id, E.provider_id, E.receiver_id, E.reported_by_id, E.direction, E.year,
                                  E.event_key).where(or_(E.provider_id == drop_id, E.receiver_id == drop_id,
                                                         E.reported_by_id == drop_id))).all()
    if not rows:
        return
    new_values: dict[int, dict[str, Any]] = {}
    groups: dict[str, list[int]] = defaultdict(list)
    key_moves: dict[str, str] = {}
    self_loops: list[int] = []
    for row in rows:
        p = keep_id if row.provider_id == drop_id else row.provider_id
        r = keep_id if row.receiver_id == drop_id else row.receiver_id
        rep = keep_id if row.reported_by_id == drop_id else row.reported_by_id
        if p == r:
            self_loops.append(row.id)
            continue
        key = event_key(p, r, row.direction, row.year)
        new_values[row.id] = {"provider_id": p, "receiver_id": r, "reported_by_id": rep, "event_key": key}
        groups[key].append(row.id)
        key_moves[row.event_key] = key
    for event_id, key in session.execute(select(E.id, E.event_key).where(E.event_key.in_(list(groups)))):
        if event_id not in new_values:
            groups[key].append(event_id)
    report.self_loops_removed = len(self_loops)
    _delete_events(session, self_loops)
    survivors: dict[int, str] = {}
    for key, ids in groups.items():
        survivor, *others = sorted(ids)
        survivors[survivor] = key
        for other in others:
            report.mentions_moved += _fold_event(session, survivor, other)
            report.events_merged += 1
    for event_id, values in new_values.items():
        if event_id in survivors:
            _exec(session, update(E).where(E.id == event_id).values(**values))
            report.events_repointed += 1
    _move_reviews(session, key_moves)


def _fold_event(session: Session, survivor: int, other: int) -> int:
    """Move everything of event ``other`` onto ``survivor`` and delete ``other``; returns mentions moved."""
    E, M = CooperationEvent, Mention
    mine = {doc: (mid, conf) for mid, doc, conf in session.execute(
        select(M.id, M.document_id, M.confidence).where(M.event_id == survivor))}
    moved = 0
    for mid, doc, conf, sentence in session.execute(
        select(M.id, M.document_id, M.confidence, M.sentence).where(M.event_id == other)
    ).all():
        own = mine.get(doc)
        if own is None:
            _exec(session, update(M).where(M.id == mid).values(event_id=survivor))
            moved += 1
            continue
        if conf > own[1]:
            values: dict[str, Any] = {"confidence": conf}
            if sentence:
                values["sentence"] = sentence
            _exec(session, update(M).where(M.id == own[0]).values(**values))
        _exec(session, delete(M).where(M.id == mid))
    for model, column in ((EventTechCategory, "category_code"), (EventApplicationDomain, "domain_code")):
        col = getattr(model, column)
        have = set(session.scalars(select(col).where(model.event_id == survivor)))
        for code in session.scalars(select(col).where(model.event_id == other)).all():
            if code not in have:
                session.execute(insert(model).values(event_id=survivor, **{column: code}))
    cols = (E.status, E.terminated_on, E.event_date, E.reported_by_id)
    a = session.execute(select(*cols).where(E.id == survivor)).one()
    b = session.execute(select(*cols).where(E.id == other)).one()
    changes: dict[str, Any] = {}
    if b.status == "terminated" and a.status != "terminated":
        changes.update(status="terminated", terminated_on=b.terminated_on)
    if b.event_date and (a.event_date is None or b.event_date < a.event_date):
        changes["event_date"] = b.event_date
    if a.reported_by_id is None and b.reported_by_id is not None:
        changes["reported_by_id"] = b.reported_by_id
    _delete_events(session, [other])
    if changes:
        _exec(session, update(E).where(E.id == survivor).values(**changes))
    return moved


def _move_reviews(session: Session, key_moves: dict[str, str]) -> None:
    """Reviews follow their event's new key; when two meet, the later decision stays."""
    moves = {old: new for old, new in key_moves.items() if old != new}
    if not moves:
        return
    reviews = {r.event_key: r for r in session.scalars(
        select(EventReview).where(EventReview.event_key.in_(list(moves) + list(set(moves.values())))))}
    for old, new in moves.items():
        review = reviews.get(old)
        if review is None:
            continue
        target = reviews.get(new)
        if target is not None and _aware(target.decided_at) >= _aware(review.decided_at):
            _exec(session, delete(EventReview).where(EventReview.event_key == old))
            continue
        if target is not None:
            _exec(session, delete(EventReview).where(EventReview.event_key == new))
        _exec(session, update(EventReview).where(EventReview.event_key == old).values(event_key=new))
        reviews[new] = review
    session.expire_all()


_HANDLED_TABLES = {"organisations", "aliases", "firm_attributes", "firm_financials", "cooperation_events", "judgements"}


def _repoint_other_references(session: Session, keep_id: int, drop_id: int) -> None:
    """Re-point foreign keys to organisations in tables this module does not know (added later)."""
    for table in Base.metadata.sorted_tables:
        if table.name in _HANDLED_TABLES:
            continue
        for fk in table.foreign_keys:
            if fk.column.table.name == "organisations":
                _exec(session, update(table).where(fk.parent == drop_id).values({fk.parent.name: keep_id}))


@dataclass
class SplitReport:
    """What :func:`split_alias` changed."""

    alias_id: int
    old_org_id: int
    new_org_id: int
    aliases_moved: int
    documents_requeued: int

    def as_dict(self) -> dict[str, int]:
        """Plain counts (CLI, JSON)."""
        return dict(self.__dict__)


def split_alias(
    session: Session, alias_id: int, by: str, *, note: str | None = None, record: bool = True
) -> SplitReport:
    """Move an alias (and every alias of the same organisation with the same folded name) to a new
    organisation, and store a negative judgement between the name and the old organisation.

    The new organisation copies the old one's kind and takes its place from the name. Events
    stay with the old organisation, but every document whose evidence sentence for one of its
    events contains the name is queued for re-extraction (``documents.extracted_sha256`` is
    cleared), so the next ETL run attributes those cooperations to the right organisation.
    Refused when the alias is the organisation's only name. ``record=False`` skips the
    judgement (when the caller applies one that is already stored).
    """
    session.flush()
    session.expire_all()  # read the current rows, not collections loaded earlier
    alias = session.get(Alias, alias_id)
    if alias is None:
        raise ResolveError(f"no alias with id {alias_id}")
    org = session.get(Organisation, alias.organisation_id)
    assert org is not None
    names = session.scalars(select(Alias).where(Alias.organisation_id == org.id).order_by(Alias.id)).all()
    folded = fold_name(alias.name)
    moving = [a for a in names if fold_name(a.name) == folded]
    remaining = [a for a in names if fold_name(a.name) != folded]
    if not remaining:
        raise ResolveError(f"alias {alias_id} ({alias.name}) is the only name of organisation {org.id}; nothing to split")
    old_party = Party.of(org)
    rules = load_name_rules()
    key = name_key(alias.name, rules)
    new = Organisation(name=alias.name, kind=org.kind, is_sample=False, origin="split",
                       province_code=key.province, city_code=key.city)
    session.add(new)
    session.flush()
    _exec(session, update(Alias).where(Alias.id.in_([a.id for a in moving])).values(organisation_id=new.id))
    if fold_name(org.name) == folded:
        order = {"full": 0, "short": 1, "stock_short": 2, "english": 3, "former": 4}
        best = min(remaining, key=lambda a: (order.get(a.kind, 9), a.id))
        _exec(session, update(Organisation).where(Organisation.id == org.id).values(name=best.name))
        if old_party.ref.startswith("name:"):
            old_party = Party(name_ref(best.name), best.name, org.id)
    event_ids = select(CooperationEvent.id).where(
        or_(CooperationEvent.provider_id == org.id, CooperationEvent.receiver_id == org.id))
    doc_ids = set(session.scalars(select(Mention.document_id).where(
        and_(Mention.event_id.in_(event_ids), Mention.sentence.contains(alias.name)))))
    if doc_ids:
        _exec(session, update(Document).where(Document.id.in_(doc_ids)).values(extracted_sha256=None))
    session.expire_all()
    if record:
        record_judgement(session, Party(name_ref(alias.name), alias.name, new.id), old_party, NEGATIVE,
                         by=by, note=note)
    session.flush()
    return SplitReport(alias_id, old_party.org_id or org.id, new.id, len(moving), len(doc_ids))


# --------------------------------------------------------------------------- export / import

_FIELDS = ("left", "left_name", "right", "right_name", "judgement", "automatic", "by", "at", "score", "note")


def _decision_line(row: Judgement) -> dict[str, Any]:
    at = _aware(row.decided_at)
    return {
        "left": row.left_ref, "left_name": row.left_name, "right": row.right_ref, "right_name": row.right_name,
        "judgement": row.judgement, "automatic": bool(row.automatic), "by": row.decided_by,
        "at": at.astimezone(dt.UTC).replace(microsecond=0).isoformat() if at else None,
        "score": row.score, "note": row.note,
    }


def export_decisions(session: Session, path: Path | str, *, include_pending: bool = False) -> int:
    """Write every settled judgement (and pending ones with ``include_pending``) as JSON lines.

    One object per line with the keys ``left``, ``left_name``, ``right``, ``right_name``,
    ``judgement``, ``automatic``, ``by``, ``at`` (UTC, seconds), ``score``, ``note``; sorted by
    (left, right) with sorted keys, so the file diffs cleanly under version control and
    refers to organisations by identifiers or names only (no database ids). Returns the count.
    """
    wanted = set(SETTLED) | ({PENDING} if include_pending else set())
    rows = session.scalars(select(Judgement).where(Judgement.judgement.in_(sorted(wanted)))).all()
    lines = sorted((_decision_line(r) for r in rows), key=lambda d: (d["left"], d["right"]))
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text("".join(json.dumps(d, ensure_ascii=False, sort_keys=True) + "\n" for d in lines), encoding="utf-8")
    os.replace(tmp, target)
    return len(lines)


@dataclass
class ImportReport:
    """Counts of :func:`import_decisions`."""

    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept_existing: int = 0
    merged: int = 0
    split: int = 0

    def as_dict(self) -> dict[str, int]:
        """Plain counts (CLI, JSON)."""
        return dict(self.__dict__)


def _parse_decisions(path: Path) -> list[dict[str, Any]]:
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ResolveError(f"{where}: not JSON: {exc}") from exc
        if not isinstance(item, dict):
            raise ResolveError(f"{where}: expected an object")
        unknown = set(item) - set(_FIELDS)
        if unknown:
            raise ResolveError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
        for k in ("left", "right", "judgement"):
            if not isinstance(item.get(k), str) or not item[k]:
                raise ResolveError(f"{where}: {k} is required")
        for k in ("left", "right"):
            if item[k].partition(":")[0] not in ("uscc", "stock", "name") or not item[k].partition(":")[2]:
                raise ResolveError(f"{where}: {k} must be uscc:<code>, stock:<exchange>:<code> or name:<name>")
        if item["judgement"] not in JUDGEMENTS:
            raise ResolveError(f"{where}: judgement must be one of {', '.join(JUDGEMENTS)}")
        if item["left"] == item["right"]:
            raise ResolveError(f"{where}: left and right are the same reference")
        at = item.get("at")
        try:
            item["at"] = _aware(dt.datetime.fromisoformat(at)) if at else None
        except ValueError as exc:
            raise ResolveError(f"{where}: at is not an ISO date-time: {at!r}") from exc
        score = item.get("score")
        if score is not None and not isinstance(score, int | float):
            raise ResolveError(f"{where}: score must be a number")
        out.append(item)
    return out


def import_decisions(session: Session, path: Path | str, *, apply: bool = True) -> ImportReport:
    """Re-apply decisions written by :func:`export_decisions` (the whole file is checked first).

    Each decision is stored unless the database holds a more authoritative one for the pair
    (an analyst's over an automatic one, else the later one; ties keep the stored one). With
    ``apply``, stored decisions also act on the organisations present now: a positive one
    whose references denote two organisations merges them (:func:`choose_survivor`), a
    negative one whose references denote one organisation through a name alias splits that
    alias off. Decisions about names not seen yet are applied by the :class:`Resolver` when
    the names appear. Runs in the caller's transaction.
    """
    items = _parse_decisions(Path(path))
    report = ImportReport(read=len(items))
    stored: list[Judgement] = []
    for item in items:
        left, right = sorted(((item["left"], item.get("left_name") or item["left"]),
                              (item["right"], item.get("right_name") or item["right"])))
        row = session.scalars(select(Judgement).where(Judgement.left_ref == left[0],
                                                      Judgement.right_ref == right[0])).first()
        never = dt.datetime.min.replace(tzinfo=dt.UTC)
        incoming = (not item.get("automatic", False), (item["at"] or never).replace(microsecond=0))
        if row is not None:
            current = (not row.automatic, (_aware(row.decided_at) or never).replace(microsecond=0))
            same = (row.judgement == item["judgement"] and bool(row.automatic) == bool(item.get("automatic"))
                    and row.decided_by == item.get("by") and current[1] == incoming[1])
            if same:
                report.unchanged += 1
                stored.append(row)
                continue
            if (row.judgement in SETTLED and item["judgement"] == PENDING) or incoming <= current:
                report.kept_existing += 1
                continue
            report.updated += 1
        else:
            row = Judgement(left_ref=left[0], right_ref=right[0])
            session.add(row)
            report.created += 1
        row.left_name, row.right_name = left[1][:255], right[1][:255]
        row.judgement = item["judgement"]
        row.automatic = bool(item.get("automatic", False))
        row.decided_by = item.get("by")
        row.decided_at = item["at"]
        row.score = item.get("score")
        row.note = item.get("note")
        stored.append(row)
    session.flush()
    if apply and stored:
        resolver = Resolver(session)
        for row in stored:
            _apply(session, resolver, row, report)
    session.flush()
    return report


def _apply(session: Session, resolver: Resolver, row: Judgement, report: ImportReport) -> None:
    left, right = resolver.orgs_for_ref(row.left_ref), resolver.orgs_for_ref(row.right_ref)
    if len(left) == 1:
        row.left_id = next(iter(left))
    if len(right) == 1:
        row.right_id = next(iter(right))
    if len(left) != 1 or len(right) != 1:
        return
    a, b = next(iter(left)), next(iter(right))
    by = row.decided_by or "import"
    if row.judgement == POSITIVE and a != b:
        keep, drop = choose_survivor(session, a, b)
        merge_organisations(session, keep, drop, by, note=row.note, record=False, force=True)
        resolver.note_merge(keep, drop)
        row.left_id = row.right_id = keep
        report.merged += 1
    elif row.judgement == NEGATIVE and a == b:
        org_name = session.scalar(select(Organisation.name).where(Organisation.id == a)) or ""
        names = [ref[5:] for ref in (row.left_ref, row.right_ref) if ref.startswith("name:")]
        names.sort(key=lambda folded: folded == fold_name(org_name))  # split a non-canonical name first
        aliases = session.scalars(select(Alias).where(Alias.organisation_id == a).order_by(Alias.id)).all()
        for folded in names:
            alias = next((al for al in aliases if fold_name(al.name) == folded), None)
            if alias is None or all(fold_name(al.name) == folded for al in aliases):
                continue
            name = alias.name
            result = split_alias(session, alias.id, by, note=row.note, record=False)
            new = session.get(Organisation, result.new_org_id)
            assert new is not None
            resolver.note_split(name, a, new)
            if row.left_ref == "name:" + folded:
                row.left_id = new.id
            else:
                row.right_id = new.id
            report.split += 1
            break
