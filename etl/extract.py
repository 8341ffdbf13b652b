"""Rule-based relation extraction: sentences -> (provider, receiver, kind, year, categories).

Pure functions over text (no database): the loader (:mod:`etl.load`) supplies the gazetteer of
known names and stores the typed :class:`Relation` records it gets back.

Steps for one document:

1. split the text into sentences (``。！？；`` and line breaks);
2. find organisation mentions: known names through one Aho-Corasick automaton over every alias
   (longest match wins, ``iter_long``), then unseen names by their legal/institutional suffix
   (``有限公司``, ``大学``, ``研究院`` ... from ``lexicons/org_suffixes.yml``);
3. replace the mentions by ``⟨i⟩`` tokens and apply the directed patterns of
   ``lexicons/relation_kinds.yml`` ("⟨0⟩为⟨1⟩提供" -> 0 provides to 1; "⟨0⟩引入⟨1⟩的" -> 1 provides
   to 0); pairs joined by a conjunction in a sentence with a cooperation phrase are *mutual*;
4. the year is the first date in the sentence, else the document's publication date;
   technology categories and application domains come from keyword lexicons.

The direction convention follows the report: provider = technology-enabling side (技术赋能,
out-degree), receiver = technology-input side (技术输入, in-degree).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import ahocorasick
import yaml

EXTRACTOR_VERSION = "rules-0.3"
LEXICON_DIR = Path(__file__).resolve().parent / "lexicons"

_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|\n+")
_DATE = re.compile(r"(\d{4})\s*(?:年|-|/|\.)\s*(\d{1,2})\s*(?:月|-|/|\.)\s*(\d{1,2})\s*日?")
_YEAR_MONTH = re.compile(r"(\d{4})年(\d{1,2})月")
_SPLIT = re.compile(r"[，,。；;：:、\s“”\"《》]|与|和|及|携手|联手|以及|并与")
#: "（以下简称“X”）" after a name: an alias declaration, not part of the sentence's syntax.
_ABBREVIATION = re.compile(r"[（(](?:以下)?(?:简称|下称)[:：]?[“\"「]?(?:⟨\d+⟩|[^）)]*?)[”\"」]?[）)]")
_NAME_CHARS = r"[\u4e00-\u9fa5A-Za-z0-9（）()·&]"


@dataclass(frozen=True)
class Lexicon:
    """The versioned lookups the rules read (``etl/lexicons/*.yml``)."""

    kinds: list[tuple[str, list[str]]]
    directed: list[tuple[re.Pattern[str], int, int]]
    mutual: list[re.Pattern[str]]
    tech: dict[str, list[str]]
    domains: dict[str, list[str]]
    suffixes: dict[str, str]
    foreign_markers: list[str]
    leading_noise: list[str]

    @property
    def cooperation_phrases(self) -> list[str]:
        """Every phrase that marks a sentence as talking about cooperation."""
        return [p for _, phrases in self.kinds for p in phrases]


@lru_cache(maxsize=4)
def load_lexicon(directory: Path = LEXICON_DIR) -> Lexicon:
    """Load the rule lexicons from ``directory``."""
    rel = yaml.safe_load((directory / "relation_kinds.yml").read_text(encoding="utf-8"))
    orgs = yaml.safe_load((directory / "org_suffixes.yml").read_text(encoding="utf-8"))
    return Lexicon(
        kinds=[(k["kind"], list(k["phrases"])) for k in rel["kinds"]],
        directed=[(re.compile(d["pattern"]), int(d["provider"]), int(d["receiver"])) for d in rel["directed"]],
        mutual=[re.compile(m["pattern"]) for m in rel["mutual"]],
        tech=yaml.safe_load((directory / "tech_categories.yml").read_text(encoding="utf-8")),
        domains=yaml.safe_load((directory / "application_domains.yml").read_text(encoding="utf-8")),
        suffixes=dict(sorted(orgs["suffixes"].items(), key=lambda kv: -len(kv[0]))),
        foreign_markers=list(orgs.get("foreign_markers", [])),
        leading_noise=sorted(orgs.get("leading_noise", []), key=len, reverse=True),
    )


class Gazetteer:
    """Known organisation names -> organisation key, matched in one pass (Aho-Corasick).

    Keys are opaque to this module (the loader uses organisation ids). A name that maps to
    several organisations is ambiguous and is not matched.
    """

    def __init__(self, names: dict[str, object] | None = None) -> None:
        self._names: dict[str, object] = {}
        self._ambiguous: set[str] = set()
        self._automaton: ahocorasick.Automaton | None = None
        for name, key in (names or {}).items():
            self.add(name, key)

    def add(self, name: str, key: object) -> None:
        """Register ``name`` for ``key`` (a second, different key makes the name ambiguous)."""
        name = name.strip()
        if len(name) < 2:
            return
        if name in self._names and self._names[name] != key:
            self._ambiguous.add(name)
        self._names.setdefault(name, key)
        self._automaton = None

    def replace(self, name: str, key: object) -> None:
        """Map ``name`` to ``key``, replacing a previous (e.g. provisional) key."""
        self._names.pop(name, None)
        self._ambiguous.discard(name)
        self.add(name, key)

    def __contains__(self, name: str) -> bool:
        return name in self._names and name not in self._ambiguous

    def get(self, name: str) -> object | None:
        """The key of an unambiguous name."""
        return self._names.get(name) if name not in self._ambiguous else None

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """Non-overlapping (start, end, name) matches, leftmost-longest."""
        if not self._names or len(self._ambiguous) >= len(self._names):
            return []
        if self._automaton is None:
            automaton = ahocorasick.Automaton()
            for name in self._names:
                if name not in self._ambiguous:
                    automaton.add_word(name, name)
            automaton.make_automaton()
            self._automaton = automaton
        return [(end - len(name) + 1, end + 1, name) for end, name in self._automaton.iter_long(text)]


@dataclass(frozen=True)
class Mention:
    """An organisation named in a sentence; ``key`` is None for a newly discovered name."""

    start: int
    end: int
    name: str
    key: object | None
    kind: str | None = None


@dataclass
class Relation:
    """One extracted cooperation (typed record handed to the loader)."""

    provider: Mention
    receiver: Mention
    direction: str
    kind: str
    year: int | None
    event_date: dt.date | None
    tech_categories: list[str] = field(default_factory=list)
    application_domains: list[str] = field(default_factory=list)
    sentence: str = ""
    confidence: float = 1.0


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` (Chinese and ASCII end punctuation, line breaks), stripped."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def find_date(sentence: str) -> tuple[dt.date | None, int | None]:
    """The first full date in the sentence (and its year), else a year-month's year."""
    for m in _DATE.finditer(sentence):
        try:
            day = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            continue
        return day, day.year
    m = _YEAR_MONTH.search(sentence)
    if m:
        return None, int(m.group(1))
    return None, None


def organisation_kind(name: str, lexicon: Lexicon) -> str | None:
    """Kind of an organisation from its name's suffix (None when no suffix is known)."""
    if any(marker in name for marker in lexicon.foreign_markers):
        return "foreign_firm"
    for suffix, kind in lexicon.suffixes.items():
        if name.endswith(suffix):
            return kind
    return None


def discover(segment: str, offset: int, lexicon: Lexicon) -> list[Mention]:
    """Unseen organisation names in ``segment`` (text not covered by known names)."""
    suffix_alt = "|".join(re.escape(s) for s in lexicon.suffixes)
    pattern = re.compile(f"{_NAME_CHARS}{{1,30}}(?:{suffix_alt})")
    found = []
    pos = 0
    for piece in _SPLIT.split(segment):
        start = segment.find(piece, pos) if piece else -1
        if start < 0:
            continue
        pos = start + len(piece)
        m = pattern.search(piece)
        if not m:
            continue
        name, name_start = m.group(0), m.start()
        stripped = name.lstrip("）)”\"」")  # the tail of a preceding "（以下简称“X”）"
        name, name_start = stripped, name_start + len(name) - len(stripped)
        changed = True
        while changed:
            changed = False
            for noise in lexicon.leading_noise:
                if name.startswith(noise) and len(name) - len(noise) >= 4:
                    name, name_start = name[len(noise) :], name_start + len(noise)
                    changed = True
        if len(name) < 4 or _DATE.search(name):
            continue
        begin = offset + start + name_start
        found.append(Mention(begin, begin + len(name), name, None, organisation_kind(name, lexicon)))
    return found


def find_mentions(sentence: str, gazetteer: Gazetteer, lexicon: Lexicon) -> list[Mention]:
    """Known and discovered organisation mentions in order of appearance."""
    mentions = [Mention(s, e, n, gazetteer.get(n)) for s, e, n in gazetteer.find(sentence)]
    gaps, cursor = [], 0
    for m in mentions:
        gaps.append((cursor, sentence[cursor : m.start]))
        cursor = m.end
    gaps.append((cursor, sentence[cursor:]))
    for offset, segment in gaps:
        mentions.extend(discover(segment, offset, lexicon))
    return sorted(mentions, key=lambda m: m.start)


def _labels(sentence: str, lexicon_map: dict[str, list[str]]) -> list[str]:
    return [label for label, words in lexicon_map.items() if any(w in sentence for w in words)]


def relation_kind(sentence: str, lexicon: Lexicon) -> str | None:
    """The first cooperation kind whose phrase occurs in the sentence."""
    for kind, phrases in lexicon.kinds:
        if any(p in sentence for p in phrases):
            return kind
    return None


def extract_sentence(
    sentence: str, gazetteer: Gazetteer, lexicon: Lexicon, default_year: int | None = None
) -> list[Relation]:
    """Relations stated in one sentence (directed patterns first, then mutual pairs)."""
    kind = relation_kind(sentence, lexicon)
    if kind is None:
        return []
    mentions = find_mentions(sentence, gazetteer, lexicon)
    if len({m.name for m in mentions}) < 2:
        return []
    tokenised, last = [], 0
    for i, m in enumerate(mentions):
        tokenised.append(sentence[last : m.start] + f"⟨{i}⟩")
        last = m.end
    tokenised.append(sentence[last:])
    tokens = _ABBREVIATION.sub("", "".join(tokenised))
    day, year = find_date(sentence)
    year = year or default_year
    tech = _labels(sentence, lexicon.tech)
    domains = _labels(sentence, lexicon.domains)

    relations: list[Relation] = []
    seen: set[frozenset[str]] = set()

    def emit(a: Mention, b: Mention, direction: str, confidence: float) -> None:
        pair = frozenset((a.name, b.name))
        if a.name == b.name or pair in seen:
            return
        seen.add(pair)
        relations.append(
            Relation(a, b, direction, kind, year, day, tech, domains, sentence, confidence)
        )

    for pattern, p_group, r_group in lexicon.directed:
        for m in pattern.finditer(tokens):
            emit(mentions[int(m.group(p_group))], mentions[int(m.group(r_group))], "directed", 0.9)
    for pattern in lexicon.mutual:
        for m in pattern.finditer(tokens):
            emit(mentions[int(m.group(1))], mentions[int(m.group(2))], "mutual", 0.7)
    return relations


def extract_document(
    text: str, published_on: dt.date | None, gazetteer: Gazetteer, lexicon: Lexicon | None = None
) -> list[Relation]:
    """All relations in a document; sentences without a date take the publication year."""
    lexicon = lexicon or load_lexicon()
    default_year = published_on.year if published_on else None
    relations: list[Relation] = []
    for sentence in split_sentences(text):
        relations.extend(extract_sentence(sentence, gazetteer, lexicon, default_year))
    return relations
