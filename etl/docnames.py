"""The organisations one document names, as the pair model reads them (:mod:`etl.pairs`).

Mentions found by the rules and the recogniser are grouped into document :class:`Entity` objects
(a short name joins the full name it is part of: :func:`entity_for`). Beyond the spans found in
each sentence, a document names organisations that way too:

- every written form of an organisation is a mention wherever the text writes it (:func:`propagate`);
- the document's main organisation written as "公司", "该区" (:func:`anaphor`);
- the firm a funding headline funds, where the recogniser misses it in the text (:func:`headline_subject`);
- a name in brackets right after a name is the same organisation (:func:`bracketed_aliases`);
- a source the text cites is no party (:func:`cited_source`).

Pure functions of text; no model, no database.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from common.text import t2s
from etl import recognise
from etl.mentions import Mention
from etl.normalize import Normalised
from etl.paircues import Cues
from etl.structures import headline_subjects

_FOLD_DROP = re.compile(r"[\s()（）\[\]【】'\"“”‘’.,·]")

def fold(name: str) -> str:
    """Comparison form of a name inside one document: simplified, case-folded, no spaces/brackets."""
    return _FOLD_DROP.sub("", t2s(name).casefold())



@dataclass
class Entity:
    """An organisation of one document: every mention of it, its best surface form."""

    id: int
    folded: str
    mentions: list[Mention] = field(default_factory=list)
    tags: set[str] = field(default_factory=set)
    kind: str | None = None
    name_kind: str = "unknown"
    first_sentence: int = 0
    in_title: bool = False
    mention_rank: int = 99

    @property
    def surface(self) -> str:
        """The longest form the text writes, preferring a plausible name (:func:`etl.recognise.plausible`)
        and the text's own script over Latin letters: a mention the rules stretched over its clause
        ("北京市经信委共建联合实验室" of 北京市经信委, "到訪山東港口科技集團有限公司") does not name the entity."""
        best, best_ok = "", False
        for m in self.mentions:
            s = m.surface or m.name
            ok = recognise.plausible(s)
            if (not best or (ok and not best_ok)
                    or (ok == best_ok and ((best.isascii() and not s.isascii())
                                           or (len(s) > len(best) and best.isascii() == s.isascii())))):
                best, best_ok = s, ok
        return best

    @property
    def identity(self) -> str:
        """The name the rules gave the organisation (canonical when known), else the surface form."""
        for m in self.mentions:
            if m.key is not None or m.entity:
                return m.identity
        return self.surface



def entity_for(entities: list[Entity], by_fold: dict[str, Entity], name: str) -> Entity | None:
    """The document entity a name belongs to: the one of its folded form, else the longest entity
    whose folded name contains it or is contained in it (4+ Latin or 2+ Han characters); None."""
    key = fold(name)
    if not key:
        return None
    if key in by_fold:
        return by_fold[key]
    minimum = 4 if key.isascii() else 2
    best: Entity | None = None
    for e in entities:
        short, long_ = (key, e.folded) if len(key) <= len(e.folded) else (e.folded, key)
        if len(short) >= minimum and short in long_ and (best is None or len(e.folded) > len(best.folded)):
            best = e
    return best


def add_mention(entities: list[Entity], by_fold: dict[str, Entity], mention: Mention, tag: str,
                identity: str | None = None) -> Entity:
    """Add a mention (found by ``tag``: RULE, ORG, TITLE …) to its entity (:func:`entity_for`), or to a new one."""
    entity = entity_for(entities, by_fold, identity or mention.name)
    if entity is None:
        entity = Entity(len(entities), fold(identity or mention.name))
        entities.append(entity)
        by_fold[entity.folded] = entity
    entity.mentions.append(mention)
    entity.tags.add(tag)
    by_fold.setdefault(fold(mention.name), entity)
    return entity



def headline_subject(doc: str, norm: Normalised, bounds: list[tuple[int, int]], title: str, entities: list[Entity],
                      by_fold: dict[str, Entity], by_sentence: dict[tuple[int, int], list[tuple[Mention, Entity]]],
                      not_names: frozenset[str]) -> None:
    """The firm a funding headline funds is an organisation of the text (tag ``TITLE``), even where
    the recogniser misses it there ("思必驰完成5亿元融资": LAC reads 思必驰 as no name in the text).

    The name is the longest end or beginning of the headline's subject (:func:`etl.structures.headline_subjects`:
    "芯片独角兽芯擎科技" -> 芯擎科技) that the text writes outside every name found, of 2+ Han characters or 3+ Latin letters, a
    plausible name (:func:`etl.recognise.plausible`) and no place or category word. One mention is
    added where the text first writes it; :func:`propagate` adds the rest."""
    if not title:
        return
    taken = [(m.start, m.end) for pairs in by_sentence.values() for m, _ in pairs]
    for subject in headline_subjects(title):
        # the longest end or beginning of it ("芯片独角兽芯擎科技" -> 芯擎科技, "博泰车联网" -> 博泰车联网)
        parts = sorted({subject[cut:] for cut in range(len(subject))} | {subject[:cut] for cut in range(1, len(subject))},
                       key=lambda p: (-len(p), p))
        for name in parts:
            if len(name) < (3 if name.isascii() else 2):
                break
            if fold(name) in by_fold:
                break  # a name the text's organisations already have
            if not recognise.plausible(name) or fold(name) in not_names:
                continue
            at = next((i for i in _occurrences(doc, name) if not any(a < i + len(name) and i < b for a, b in taken)), None)
            if at is None:
                continue
            bound = next((b for b in bounds if b[0] <= at < b[1]), None)
            if bound is None:
                continue
            m = Mention(at, at + len(name), name, None, None, norm.original_text(at, at + len(name)))
            by_sentence[bound].append((m, add_mention(entities, by_fold, m, "TITLE")))
            taken.append((m.start, m.end))
            break


def name_pattern(name: str) -> str:
    """A regular expression for ``name`` as the text writes it: a Latin name on word boundaries
    ("Baidu" not inside "Baiduyun"), a Chinese one anywhere."""
    return rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])" if name.isascii() else re.escape(name)


def _occurrences(text: str, name: str) -> list[int]:
    """Where ``text`` writes ``name`` (:func:`name_pattern`)."""
    return [m.start() for m in re.finditer(name_pattern(name), text)]


#: Between a name and its bracketed short name: the bracket, after a place the name is of
#: ("Nanyang Technological University, Singapore (NTU Singapore)").
_BEFORE_BRACKET = re.compile(r"^\s*(?:,\s*[A-Z][a-z]+\s*)?[(（]\s*$")
_CLOSE_BRACKET = frozenset({")", "）"})


def bracketed_aliases(doc: str, entities: list[Entity], by_fold: dict[str, Entity],
                       by_sentence: dict[tuple[int, int], list[tuple[Mention, Entity]]]) -> None:
    """A name in brackets right after a name is the same organisation ("新石器公司(Neolix)", "它石智航(TARS)",
    "Mobvoi (出门问问)", "香港应用科技研究院(应科院)", "Nanyang Technological University (NTU)"): the second entity is merged into
    the first, so the two are never paired (a funding sentence read "Neolix -> 新石器" before).
    Entity ids are renumbered after a merge."""
    into: dict[int, Entity] = {}  # id(entity) -> the entity it was merged into

    def resolved(entity: Entity) -> Entity:
        while id(entity) in into:
            entity = into[id(entity)]
        return entity

    for bound in list(by_sentence):
        named = sorted(by_sentence[bound], key=lambda me: me[0].start)
        for (m1, e1), (m2, e2) in itertools.pairwise(named):
            keep, drop = resolved(e1), resolved(e2)
            if keep is drop or not _BEFORE_BRACKET.match(doc[m1.end:m2.start]):
                continue
            if doc[m2.end:m2.end + 1] not in _CLOSE_BRACKET:
                continue
            keep.mentions += drop.mentions
            keep.tags |= drop.tags
            drop.mentions = []
            into[id(drop)] = keep
    if not into:
        return
    for key, value in list(by_fold.items()):
        by_fold[key] = resolved(value)
    for bound, pairs in by_sentence.items():
        by_sentence[bound] = [(m, resolved(x)) for m, x in pairs]
    entities[:] = [e for e in entities if id(e) not in into]
    for i, e in enumerate(entities):
        e.id = i


#: "据“X”报道", "据X消息", "X报道称": the name of a source cited, not of a party.
_SOURCE_BEFORE = re.compile(r"(?:据|援引|来源[:：]?|来自|转引自|via|according to|reported by)\s*[“\"「『]?$", re.I)
_SOURCE_AFTER = re.compile(r"^\s*[”\"」』]?\s*(?:\d{4}年)?(?:\d{1,2}月)?(?:\d{1,2}日)?(?:的)?(?:报道|消息|文章|报导|获悉|援引|称|reported|reports|said in a report)", re.I)


def cited_source(doc: str, entity: Entity) -> bool:
    """Whether every mention of an entity is a source the text cites ("据“互联网乱侃秀”2022年9月5日文章")."""
    return bool(entity.mentions) and all(
        _SOURCE_BEFORE.search(doc[max(0, m.start - 12):m.start]) and _SOURCE_AFTER.search(doc[m.end:m.end + 16])
        for m in entity.mentions)


def propagate(doc: str, norm: Normalised, bounds: list[tuple[int, int]], entities: list[Entity],
               by_sentence: dict[tuple[int, int], list[tuple[Mention, Entity]]], not_names: frozenset[str]) -> None:
    """An organisation the recogniser found in one sentence is named in every sentence that writes it.

    The recogniser reads a sentence at a time and misses a name in one sentence that it finds in
    another ("汇医慧影近日宣布完成…融资，本轮由达泰资本领投" after "汇医慧影成立于…"); so every form
    the document's entities are written in (2+ Han characters, 3+ Latin ones on word boundaries)
    is looked up in every sentence where it overlaps no name found there, and becomes a mention
    of that entity. The mention carries no tag of its own (the entity's tags stay those of its
    recognised mentions)."""
    forms: dict[str, Entity] = {}
    for e in entities:
        if e.tags <= {"RULE"} or not recognise.plausible(e.surface) or e.folded in not_names:
            continue  # the rules' names are found in every sentence already
        for m in e.mentions:
            name = m.name
            if len(name) >= (3 if name.isascii() else 2) and fold(name) not in not_names:
                forms.setdefault(name, e)
    if not forms:
        return
    pattern = re.compile("|".join(name_pattern(f) for f in sorted(forms, key=lambda f: (-len(f), f))))
    for s in bounds:
        present = by_sentence.get(s, [])
        named = {e.id for _, e in present}
        taken = [(m.start, m.end) for m, _ in present]
        for found in pattern.finditer(doc, s[0], s[1]):
            a, b = found.span()
            entity = forms[found.group()]
            if entity.id in named or any(x < b and a < y for x, y in taken):
                continue
            m = Mention(a, b, doc[a:b], None, None, norm.original_text(a, b))
            entity.mentions.append(m)
            by_sentence[s].append((m, entity))
            named.add(entity.id)
            taken.append((a, b))


def anaphor(doc: str, s: tuple[int, int], hub: Entity | None, first: dict[int, Mention], names: list[Mention],
            cues: Cues) -> Mention | None:
    """Where a sentence that does not name the document's main organisation ``hub`` refers to it
    by one of the ``anaphors`` of ``etl/lexicons/pair_cues.yml`` ("公司", "该区"), outside every name:
    a stand-in mention of it there; else None."""
    if hub is None or hub.id in first or not cues.anaphors:
        return None
    lowered = doc[s[0]:s[1]].lower()
    for word in cues.anaphors:
        at = lowered.find(word)
        while at >= 0:
            a, b = s[0] + at, s[0] + at + len(word)
            if not any(m.start < b and a < m.end for m in names) and (not word.isascii() or _word_at(lowered, at, len(word))):
                return Mention(a, b, doc[a:b], None, None, doc[a:b])
            at = lowered.find(word, at + 1)
    return None


def _word_at(text: str, at: int, length: int) -> bool:
    """Whether ``text[at:at+length]`` stands as a word (no letter or digit on either side)."""
    before = text[at - 1] if at > 0 else " "
    after = text[at + length] if at + length < len(text) else " "
    return not before.isalnum() and not after.isalnum()


def names_beyond(doc: str, norm: Normalised, bounds: list[tuple[int, int]], headline: str, entities: list[Entity],
                 by_fold: dict[str, Entity], by_sentence: dict[tuple[int, int], list[tuple[Mention, Entity]]],
                 not_names: frozenset[str]) -> None:
    """After the spans of each sentence are found: the headline's funded firm (:func:`headline_subject`),
    bracketed short names merged (:func:`bracketed_aliases`), then every form written everywhere
    (:func:`propagate`), in that order (a merged entity's forms are propagated together)."""
    headline_subject(doc, norm, bounds, headline, entities, by_fold, by_sentence, not_names)
    bracketed_aliases(doc, entities, by_fold, by_sentence)
    propagate(doc, norm, bounds, entities, by_sentence, not_names)
