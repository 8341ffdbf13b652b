"""The cue groups and name markers the pair model reads (``etl/lexicons/pair_cues.yml``).

A small module of its own so that :mod:`etl.pairs` stays readable; :mod:`etl.pairs` imports
:func:`load_cues` and :class:`Cues` from here. The YAML file is part of the extractor version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import ahocorasick

from common.datafiles import read_yaml
from common.text import t2s

CUES_FILE = Path(__file__).resolve().parent / "lexicons" / "pair_cues.yml"


@dataclass(frozen=True)
class Cues:
    """The cue groups of ``etl/lexicons/pair_cues.yml``: group name -> phrases (lower case), and the
    name endings (Chinese) or words (English) that tell a candidate's kind."""

    groups: tuple[tuple[str, tuple[str, ...]], ...]
    name_kinds: tuple[tuple[str, tuple[str, ...]], ...] = ()
    tech_markers: tuple[str, ...] = ()
    adopter_markers: tuple[str, ...] = ()
    anaphors: tuple[str, ...] = ()

    def is_tech(self, name: str) -> bool:
        """Whether a name carries a technology-supplier marker (``tech_markers``): a Chinese marker
        anywhere in it, an English one as a word."""
        return _marked(name, self.tech_markers)

    def is_adopter(self, name: str) -> bool:
        """Whether a name carries a technology-adopter marker (``adopter_markers``), as :meth:`is_tech`."""
        return _marked(name, self.adopter_markers)

    def kind_of(self, name: str) -> str:
        """The first kind whose ending (Chinese) or word (English) the name has; ``unknown`` else."""
        return _kind_of(name, self.name_kinds)

    def found(self, text: str) -> list[str]:
        """The groups one of whose phrases occurs in ``text`` (case-insensitive), in group order."""
        names, automaton = _group_automaton(self.groups)
        if automaton is None:
            return []
        hit: set[int] = set()
        for _end, groups in automaton.iter(text.lower()):
            hit.update(groups)
            if len(hit) == len(names):
                break
        return [names[i] for i in sorted(hit)]


@lru_cache(maxsize=4)
def _group_automaton(groups: tuple[tuple[str, tuple[str, ...]], ...]
                     ) -> tuple[tuple[str, ...], ahocorasick.Automaton | None]:
    """The groups' names and one Aho-Corasick automaton over every phrase of every group (phrase ->
    the indices of the groups that hold it): :meth:`Cues.found` reads a text once for all groups
    (it searched one alternation per group: ~20 passes; the pair features ask it ~16 times a pair).
    The same answer as testing each phrase with ``in``. Groups without phrases never match."""
    owners: dict[str, list[int]] = {}
    for index, (_name, phrases) in enumerate(groups):
        for phrase in phrases:
            if phrase:
                owners.setdefault(phrase, []).append(index)
    if not owners:
        return tuple(name for name, _ in groups), None
    automaton = ahocorasick.Automaton()
    for phrase, indices in owners.items():
        automaton.add_word(phrase, tuple(indices))
    automaton.make_automaton()
    return tuple(name for name, _ in groups), automaton


@lru_cache(maxsize=65536)
def _kind_of(name: str, name_kinds: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    """:meth:`Cues.kind_of`, remembered per name (a document names its parties many times)."""
    lowered = t2s(name).lower().strip()
    words = set(re.findall(r"[a-z]+", lowered))
    for kind, endings in name_kinds:
        for ending in endings:
            if (ending in words) if ending.isascii() else lowered.endswith(ending):
                return kind
    return "unknown"


@lru_cache(maxsize=65536)
def _marked(name: str, markers: tuple[str, ...]) -> bool:
    lowered = t2s(name).lower()
    words = set(re.findall(r"[a-z]+", lowered))
    return any((m in words) if m.isascii() else (m in lowered) for m in markers)


@lru_cache(maxsize=2)
def load_cues(path: Path = CUES_FILE) -> Cues:
    """The cue groups (see :class:`Cues`)."""
    data = read_yaml(path)
    return Cues(tuple((name, tuple(str(p).lower() for p in phrases)) for name, phrases in data["groups"].items()),
                tuple((kind, tuple(str(p).lower() for p in endings))
                      for kind, endings in data.get("name_kinds", {}).items()),
                tuple(str(m).lower() for m in data.get("tech_markers", ())),
                tuple(str(m).lower() for m in data.get("adopter_markers", ())),
                tuple(str(m).lower() for m in data.get("anaphors", ())))
