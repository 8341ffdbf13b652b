"""The pair model: which two organisations of a sentence cooperate, in which direction, how and when.

The rule extractor (:mod:`etl.extract`) was written against our own phrasing and finds a small
part of what an analyst marks on real announcements (tests/data/realtext). Here its findings
become *features* of a statistical decision instead of gates:

1. **Candidates.** Every organisation mention the rules find (gazetteer, suffixes, declared
   aliases) plus every span the statistical recogniser proposes (:mod:`etl.recognise`: LAC for
   Chinese, capitalised words for English), grouped into document entities (a short name joins
   the full name it is part of).
2. **Pairs.** Every two entities named in one sentence form a candidate pair occurrence. Its
   features (:func:`etl.pairfeatures.pair_features`): the recogniser's tags and the names' kinds, the characters
   between the two names (unigrams and bigrams when short, the ends otherwise) and around them,
   the cue groups of ``etl/lexicons/pair_cues.yml`` found between, before, after and in the
   sentence, the list structure (only 、/和/与 between, other names between), the sentence's
   position, and what the rules decided for that pair (directed either way or mutual, its kind and
   status).
3. **Decisions.** Logistic-regression models (``etl/models/pairs.json``, rebuilt from the real-text
   dev part by ``python -m etl.models.train``) give, per occurrence, P(the two are parties of one
   relation), the direction (first -> second, second -> first, mutual), each status (new,
   historical, terminated) and each kind. A document-level pair is a relation when its best
   occurrence passes the model's threshold; its direction is the probability-weighted vote of its
   occurrences; every status and kind above their thresholds gives one relation (ANNOTATION.md:
   one relation per pair and kind).

Pure functions of text: no database. The model file and the cue lexicon are part of the
extractor version (:data:`etl.extract.EXTRACTOR_VERSION` hashes them).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from common.vocab import ENGLISH_LEGAL_SUFFIXES, place_prefixes
from db.taxonomy import load_provinces
from etl import recognise
from etl.docnames import (
    Entity,
    add_mention,
    anaphor,
    cited_source,
    fold,
    name_pattern,
    names_beyond,
)
from etl.extract import Extraction, Relation, extract_document, same_group
from etl.lexicon import Lexicon, has_cue, labels_in, load_lexicon
from etl.lexicon import negated as is_negated
from etl.mentions import Gazetteer, Mention, OrgRef, organisation_kind, short_forms
from etl.normalize import find_dates, history_year, normalise, sentences
from etl.paircues import Cues, load_cues
from etl.pairfeatures import pair_features
from etl.pairmodel import PairModel, default_model
from etl.structures import (
    Name,
    built_kind,
    history_lists,
    read_structures,
    title_buyer,
    title_funded,
    triggered,
)

#: Tags of an entity that make it an organisation (not a place or a person LAC proposed).
_ORG_TAGS = frozenset({"RULE", "ORG", "EN", "MERGE", "LIST", "nt"})
#: Directions of an occurrence, relative to text order (x is named first).
DIRECTIONS = ("x->y", "y->x", "mutual")
STATUSES = ("new", "historical", "terminated")
KINDS = ("strategic_agreement", "joint_lab", "product_adoption", "bid_award", "investment",
         "joint_development", "alliance_membership", "other")
#: Longest document the extractor reads (characters); a longer one is refused with
#: :class:`ExtractionError` (an announcement is a few thousand characters; 500,000 is a book).
MAX_DOCUMENT_CHARS = 500_000
#: At most this many entities of one sentence are paired (long lists are read by their first ones).
MAX_ENTITIES = 14


class ExtractionError(ValueError):
    """A document the extractor refuses, with the reason (the batch goes on without it)."""


@dataclass
class Occurrence:
    """Two entities named in one sentence; ``x`` is named first."""

    x: Entity
    y: Entity
    sentence: tuple[int, int]
    features: list[str]
    rule: Relation | None = None


@dataclass
class DocumentView:
    """A document as the pair model reads it: the rules' extraction, entities and pair occurrences."""

    text: str
    published: dt.date | None
    rules: Extraction
    entities: list[Entity]
    occurrences: list[Occurrence]
    rule_pairs: dict[frozenset[int], list[Relation]] = field(default_factory=dict)
    negated: set[tuple[int, int]] = field(default_factory=set)
    rule_unpaired: list[Relation] = field(default_factory=list)  # rules' relations of no candidate pair
    #: per sentence, its pairable organisations in text order (first mention of each entity)
    named: dict[tuple[int, int], list[tuple[Mention, Entity]]] = field(default_factory=dict)
    #: the headline, normalised like the text ("" when there is none)
    title: str = ""


#: Cue groups whose presence anywhere in a document is a feature of each of its pairs (``doc:``).
_DOCUMENT_GROUPS = ("denial", "talks", "terminated", "historical")

#: Cue groups that make a sentence worth the recogniser's time (it costs about 1 ms a sentence).
RELATION_GROUPS = frozenset({"cooperation", "joint_build", "supply", "investment", "tender_win", "terminated"})


_NOT_NAMES: dict[int, frozenset[str]] = {}


def _not_names(lexicon: Lexicon) -> frozenset[str]:
    """Words the recogniser proposes that name no organisation: places on their own (北京市, 广东省,
    with and without 市/省; db.taxonomy via :func:`common.vocab.place_prefixes`) and the names and
    keywords of technology categories and application domains (智慧城市, 自然语言处理).
    Cached per lexicon object (lexicons are loaded once per process)."""
    if id(lexicon) in _NOT_NAMES:
        return _NOT_NAMES[id(lexicon)]
    words = {fold(place.prefix) for place in place_prefixes(load_provinces())}
    words |= {fold(p) + suffix for p in list(words) for suffix in ("市", "省", "区", "县")}
    for table in (lexicon.tech, lexicon.domains):
        for name, keywords in table.items():
            words.add(fold(name))
            words.update(fold(k) for k in keywords)
    _NOT_NAMES[id(lexicon)] = frozenset(w for w in words if w)
    return _NOT_NAMES[id(lexicon)]


def _pairable(entity: Entity, not_names: frozenset[str]) -> bool:
    """Whether an entity may be paired: its name is plausible (:func:`etl.recognise.plausible`) and
    not a place or a category word; the rules' own relations are kept whatever their names."""
    return recognise.plausible(entity.surface) and entity.folded not in not_names


def _worth_reading(sentence: str, cues: Cues) -> bool:
    """Whether the recogniser reads a sentence: only one that carries a relation cue
    (:data:`RELATION_GROUPS`), so sentences of background and boilerplate cost nothing."""
    return bool(RELATION_GROUPS.intersection(cues.found(sentence)))


def read_document(text: str, published: dt.date | None, gazetteer: Gazetteer, lexicon: Lexicon | None = None,
                  title: str | None = None, cues: Cues | None = None) -> DocumentView:
    """The rules' extraction, the document's entities and every pair occurrence with its features."""
    lexicon = lexicon or load_lexicon()
    cues = cues or load_cues()
    rules = extract_document(text, published, gazetteer, lexicon, title)
    norm = normalise(text)
    doc = norm.text
    entities: list[Entity] = []
    by_fold: dict[str, Entity] = {}
    by_sentence: dict[tuple[int, int], list[tuple[Mention, Entity]]] = defaultdict(list)
    bounds = sentences(doc)
    rule_mentions = sorted(rules.mentions, key=lambda m: (m.start, -m.end))
    tagged: dict[tuple[int, int], list[tuple[int, int, str]]] = {}
    not_names = _not_names(lexicon)

    def sentence_text(bound: tuple[int, int]) -> str:
        return doc[bound[0]:bound[1]]

    def name_spans(bound: tuple[int, int], spans: list[tuple[int, int, str]]) -> None:
        """Each proposed span that is no generic word becomes a mention of the sentence ``bound``."""
        for a, b, tag in spans:
            if fold(doc[a:b]) not in not_names:
                m = Mention(a, b, doc[a:b], None, None, norm.original_text(a, b))
                by_sentence[bound].append((m, add_mention(entities, by_fold, m, tag)))

    # sentences the rules settled (a relation found, or a negation cue): the model adds nothing there
    # (:func:`decide`), so the recogniser need not read them
    negated = {b for b in bounds if is_negated(sentence_text(b), lexicon)}
    settled = {r.sentence for r in rules.relations} | {sentence_text(b) for b in negated}
    for s in bounds:
        inside = [m for m in rule_mentions if s[0] <= m.start and m.end <= s[1]]
        for m in inside:
            by_sentence[s].append((m, add_mention(entities, by_fold, m, "RULE", m.identity)))
        if not triggered(sentence_text(s)) and (sentence_text(s) in settled or not _worth_reading(sentence_text(s), cues)):
            tagged[s] = []
            continue
        tagged[s] = recognise.words(doc, s[0], s[1])
        name_spans(s, [c for c in recognise.candidates(doc, s[0], s[1], tagged[s])
                       if not any(m.start < c[1] and c[0] < m.end for m in inside)])
        # then the unnamed items of the 、-lists those organisations make
        organisations = [(m.start, m.end) for m, e in by_sentence[s] if e.tags & _ORG_TAGS]
        name_spans(s, recognise.list_items(doc, s[0], s[1], organisations, tagged[s]))
        classed = recognise.classed_list_items(doc, s[0], s[1])
        name_spans(s, classed)
        _drop_shorter(by_sentence[s], classed)
    headline = normalise(title).text if title else ""
    names_beyond(doc, norm, bounds, headline, entities, by_fold, by_sentence, not_names)
    _describe(entities, doc, bounds, title, cues, lexicon)
    rule_pairs: dict[frozenset[int], list[Relation]] = defaultdict(list)
    ids_by_identity = {m.identity: e.id for e in entities for m in e.mentions}
    unpaired: list[Relation] = []
    for r in rules.relations:
        a, b = ids_by_identity.get(r.provider.identity), ids_by_identity.get(r.receiver.identity)
        if a is not None and b is not None and a != b:
            rule_pairs[frozenset((a, b))].append(r)
        else:  # a party the entities do not hold (the document's subject, a unified short name): kept as is
            unpaired.append(r)
    occurrences = []
    pairable: dict[tuple[int, int], list[tuple[Mention, Entity]]] = {}
    hub = min((e for e in entities if _pairable(e, not_names)), key=lambda e: e.mention_rank, default=None)
    # what the whole document says: a denial or talks in its title or text colour every pair in it
    found_in_doc = set(cues.found(doc))
    whole = [f"title:{g}" for g in cues.found(title or "")] + [f"doc:{g}" for g in _DOCUMENT_GROUPS if g in found_in_doc]
    for index, s in enumerate(bounds):
        named = sorted(by_sentence.get(s, []), key=lambda me: me[0].start)
        first: dict[int, Mention] = {}
        for m, e in named:
            first.setdefault(e.id, m)
        ordered = [(i, m) for i, m in sorted(first.items(), key=lambda kv: kv[1].start)
                   if _pairable(entities[i], not_names)]
        pairable[s] = [(m, entities[i]) for i, m in ordered]
        order = ordered[:MAX_ENTITIES]
        stand_in = anaphor(doc, s, hub, first, [m for m, _ in named], cues) if order else None
        for i, (xi, xm) in enumerate(order):
            for yi, ym in order[i + 1:]:
                ex, ey = entities[xi], entities[yi]
                rule = next(iter(rule_pairs.get(frozenset((xi, yi)), ())), None)
                between_names = sum(1 for _, m in order if xm.end <= m.start and m.end <= ym.start)
                feats = pair_features(doc, s, xm, ym, ex, ey, between_names, index, cues, rule, tagged[s],
                                      [m for m, _ in named])
                occurrences.append(Occurrence(ex, ey, s, feats + whole, rule))
        if stand_in is not None and hub is not None:  # the main organisation, written as "公司", "该区" …
            for oi, om in order:
                (ex, xm), (ey, ym) = sorted(((hub, stand_in), (entities[oi], om)), key=lambda em: em[1].start)
                rule = next(iter(rule_pairs.get(frozenset((hub.id, oi)), ())), None)
                between_names = sum(1 for _, m in order if xm.end <= m.start and m.end <= ym.start)
                feats = pair_features(doc, s, xm, ym, ex, ey, between_names, index, cues, rule, tagged[s],
                                      [m for m, _ in named])
                occurrences.append(Occurrence(ex, ey, s, [*feats, *whole, "anaphor"], rule))
    return DocumentView(doc, published, rules, entities, occurrences, dict(rule_pairs), negated, unpaired, pairable,
                        headline)


def _describe(entities: list[Entity], doc: str, bounds: list[tuple[int, int]], title: str | None, cues: Cues,
              lexicon: Lexicon) -> None:
    """Each entity's name kind, headline presence, first sentence, kind and rank by mentions."""
    title_folded = fold(title or "")
    for e in entities:
        e.name_kind = "media" if cited_source(doc, e) else cues.kind_of(e.surface)
        e.in_title = bool(title_folded) and e.folded in title_folded
        e.first_sentence = next((i for i, s in enumerate(bounds) if any(s[0] <= m.start < s[1] for m in e.mentions)),
                                len(bounds))
        e.kind = next((m.kind for m in e.mentions if m.kind), None) or organisation_kind(e.surface, lexicon)
        if e.kind is None:
            key = next((m.key for m in e.mentions if isinstance(m.key, OrgRef)), None)
            e.kind = key.kind if key else None
    for rank, e in enumerate(sorted(entities, key=lambda e: (-len(e.mentions), e.first_sentence))):
        e.mention_rank = rank


def _drop_shorter(named: list[tuple[Mention, Entity]], spans: list[tuple[int, int, str]]) -> None:
    """A classed list's item replaces a shorter word the recogniser took from it (神州 in 神州视觉):
    that mention leaves the sentence and its entity (the rules' names stay)."""
    shorter = [(m, e) for m, e in named if "RULE" not in e.tags and len(e.mentions) > 1
               and any(a <= m.start and m.end <= b and b - a > m.end - m.start for a, b, _ in spans)]
    for m, e in shorter:
        named.remove((m, e))
        e.mentions.remove(m)


def _year(view: DocumentView, occ: Occurrence, status: str) -> int | None:
    if occ.rule is not None and occ.rule.status == status and occ.rule.year is not None:
        return occ.rule.year
    return _sentence_year(view, occ.sentence, status)


def decide(view: DocumentView, model: PairModel) -> list[Relation]:
    """The document's relations: the rules' relations the model does not veto, and the model's own.

    A pair the rules relate keeps the rules' relations (direction, kind, status, year) unless the
    model's best probability for it is below the ``veto`` threshold: the rules are precise on the
    phrasings they know, and the model only overrules them when it is sure. Every other pair is
    decided by the model over its occurrences (module docstring, step 3) against ``party``, in the
    sentences where the rules found no relation and saw no negation cue (talks, intentions, rumours:
    ``negation`` in ``etl/lexicons/relation_kinds.yml``); in a sentence the rules settled only
    above the higher ``ruled_party`` threshold.

    Funding rounds, tender results and co-buildings are read by their structure
    (:func:`structure_relations`); the model adds nothing in those sentences. The model's own pairs
    below the ``relative`` share of its best pair's probability are dropped. Finally, relations
    whose party is no credible organisation (:func:`_credible`) are dropped, a relation between a
    government body and another party points to the government (:func:`_firm_to_government`), an
    investment from the party whose name is an investor's (:func:`_investor_first`), and a
    joint lab set up under a signed agreement is also a strategic agreement and the reverse (:func:`_kind_twins`).
    """
    by_pair: dict[frozenset[int], list[tuple[Occurrence, float]]] = defaultdict(list)
    for occ in view.occurrences:
        p = model.party.probabilities(occ.features)[model.party.classes[0]]
        by_pair[frozenset((occ.x.id, occ.y.id))].append((occ, p))
    structured, claimed, read = structure_relations(view)
    # a many-party signing read as a structure is mutual; the model directs it as it directs the rules'
    # (a firm signing with a government, a hospital: supplier -> adopter)
    entity_of = {m.identity: e.id for e in view.entities for m in e.mentions} | {e.identity: e.id for e in view.entities}
    structured = [_model_direction(r, by_pair.get(frozenset((entity_of.get(r.provider.identity),
                                                             entity_of.get(r.receiver.identity)))), model,
                                   share=0.0) for r in structured]
    relations: list[Relation] = list(view.rule_unpaired)
    veto = model.thresholds.get("veto", 0.0)
    closed = set(view.negated) | read  # talks, intentions, structures: the model adds nothing there
    ruled = set(closed)  # ... and sentences where the rules found a relation: only above ``ruled_party``
    for pair, rules in view.rule_pairs.items():
        scored = by_pair.pop(pair, None)
        ruled.update(occ.sentence for occ, _ in scored or ())
        rules = [r for r in rules if (pair, r.sentence) not in claimed]
        if not scored or max(p for _, p in scored) >= veto:
            relations += [_model_direction(r, scored, model) for r in rules]
    decided: list[Relation] = []  # the model's own relations
    t_party = model.thresholds.get("party", 0.5)
    t_ruled = model.thresholds.get("ruled_party", 1.01)  # above 1: never in a sentence the rules settled
    for every in by_pair.values():
        scored = [(occ, p) for occ, p in every if occ.sentence not in closed and (occ.sentence not in ruled or p >= t_ruled)]
        if not scored:
            continue
        best_occ, best_p = max(scored, key=lambda op: op[1])
        if best_p < t_party:
            continue
        x, y = best_occ.x, best_occ.y
        mx, my = x.mentions[0], y.mentions[0]
        if same_group(mx, my) or _aliases(x, y):
            continue
        votes = {d: 0.0 for d in DIRECTIONS}
        status_p = {s: 0.0 for s in STATUSES}
        kind_p = {k: 0.0 for k in KINDS}
        weight = 0.0
        for occ, p in scored:
            if p < t_party * 0.5:
                continue
            weight += p
            for d, q in model.direction.probabilities(occ.features).items():
                votes[d if occ.x is x else {"x->y": "y->x", "y->x": "x->y"}.get(d, d)] += p * q
            for s, m in model.status.items():
                status_p[s] = max(status_p[s], m.probabilities(occ.features)[m.classes[0]])
            for k, m in model.kind.items():
                kind_p[k] = max(kind_p[k], m.probabilities(occ.features)[m.classes[0]])
        direction = max(votes, key=lambda d: votes[d])
        provider, receiver = (x, y) if direction != "y->x" else (y, x)
        statuses = [s for s in STATUSES if status_p[s] >= model.thresholds.get(f"status_{s}", 0.5)]
        statuses = statuses or [max(status_p, key=lambda s: status_p[s])]
        sentence = view.text[best_occ.sentence[0]:best_occ.sentence[1]]
        if statuses == ["new"] and has_cue(sentence, load_lexicon().terminated):
            statuses = ["terminated"]  # "终止收购…", "terminated the agreement": the rules' status cue
        kinds = [k for k in KINDS if kind_p[k] >= model.thresholds.get(f"kind_{k}", 0.5)]
        kinds = kinds or [max(kind_p, key=lambda k: kind_p[k])]
        pm, rm = _mention(provider), _mention(receiver)
        for status in statuses:
            year = _year(view, best_occ, status)
            if year is None:  # a history its best sentence does not date: the likeliest sentence of the pair that does
                year = next((y for occ, _ in sorted(every, key=lambda op: -op[1])
                             if (y := _sentence_year(view, occ.sentence, status)) is not None), None)
            for kind in kinds:
                decided.append(Relation(pm, rm, "mutual" if direction == "mutual" else "directed", kind, status,
                                        year, None, sentence=sentence, confidence=round(best_p, 3)))
    top = max((r.confidence for r in decided), default=0.0) * model.thresholds.get("relative", 0.0)
    decided = [r for r in decided if r.confidence >= top]  # near its best pair only
    barred = {i for e in view.entities if not _credible(e) for i in [e.identity, *(m.identity for m in e.mentions)]}
    relations = [r for r in relations + decided if r.provider.identity not in barred and r.receiver.identity not in barred]
    found = _kind_twins([_supplier_to_adopter(_firm_to_government(_investor_first(r, view), view), view)
                              for r in relations + structured])
    return _labelled(view, _listed_history(view, one_per_organisation(found)) or _fallback(view, model))


def _labelled(view: DocumentView, relations: list[Relation]) -> list[Relation]:
    """Each relation with its technology categories and application domains, as the rules give theirs
    (:func:`etl.extract.extract_sentence`): its sentence's, else the document's. The model's and the
    structures' relations carry none of their own, and the loader labels an event with its relations'."""
    lexicon = load_lexicon()
    return [replace(r, tech_categories=r.tech_categories or labels_in(r.sentence, lexicon.tech) or view.rules.tech_categories,
                    application_domains=r.application_domains or labels_in(r.sentence, lexicon.domains)
                    or view.rules.application_domains) for r in relations]


def _listed_history(view: DocumentView, relations: list[Relation]) -> list[Relation]:
    """Relations told in an item of a list of earlier events (:func:`etl.structures.history_lists`)
    are historical, of the year the item states."""
    if not any(r.status == "new" for r in relations):
        return relations  # nothing to turn: the document's sentences need not be split again
    listed = {view.text[a:b]: (a, b) for a, b in history_lists(view.text, sentences(view.text))}
    return [replace(r, status="historical", year=_sentence_year(view, listed[r.sentence], "historical"))
            if r.sentence in listed and r.status == "new" else r for r in relations]


def _fallback(view: DocumentView, model: PairModel) -> list[Relation]:
    """A document with no relation above the thresholds: its one most likely pair at or above the
    ``fallback`` probability, else nothing. Most documents that read like cooperation news report
    one (83% of the dev part), and talks, denials and intentions are closed to the model anyway
    (``negation`` cues). The threshold's dev figures: ``FALLBACK_THRESHOLD`` in ``etl.models.train``."""
    floor = model.thresholds.get("fallback")
    if floor is None or floor >= model.thresholds.get("party", 0.5):
        return []
    lowered = {k: v for k, v in model.thresholds.items() if k != "fallback"} | {"party": floor}
    found = decide(view, replace(model, thresholds=lowered))
    best = max(found, key=lambda r: r.confidence, default=None)
    return [r for r in found if best and {r.provider.identity, r.receiver.identity} == {best.provider.identity, best.receiver.identity}]


_INVESTOR_KINDS = frozenset({"investor"})


def _investor_first(relation: Relation, view: DocumentView) -> Relation:
    """An investment has an investor: when exactly one party's name is an investor's (资本, 创投,
    Capital, Ventures, Fund …: ``name_kinds`` of ``etl/lexicons/pair_cues.yml``), it provides
    (ANNOTATION.md, Direction: investor -> investee). Read by the rules or the model, "A获B投资" and
    "B raised … from A" came out reversed or mutual (dev 5-fold cross-validation: relation F1 (new)
    0.387 -> 0.390). When both or neither name an investor, the reading stands."""
    if relation.kind != "investment":
        return relation
    ip, ir = _kind_is(view, relation.provider, _INVESTOR_KINDS), _kind_is(view, relation.receiver, _INVESTOR_KINDS)
    if ir and not ip:
        return replace(relation, provider=relation.receiver, receiver=relation.provider, direction="directed")
    if ip and not ir:
        return replace(relation, direction="directed")
    return relation


def _model_direction(relation: Relation, scored: list[tuple[Occurrence, float]] | None, model: PairModel,
                     share: float | None = None) -> Relation:
    """A mutual relation the rules found, directed when the model is sure of a direction.

    The rules read "A与B签署…协议" as mutual; ANNOTATION.md directs most of these (a supplier
    delivering to a hospital, bank, manufacturer or government: supplier -> adopter). The model's
    direction votes over the pair's occurrences (weighted by their party probability, as for the
    model's own pairs) turn the relation when one direction holds at least the ``rule_direction``
    share of the votes. Co-development, alliances and co-built labs stay mutual (no provider by
    definition). On the dev part (5-fold cross-validation) relation F1 (new) 0.378 -> 0.388 and
    direction accuracy 0.787 -> 0.805 at 0.8 (0.7 the same, 0.6 0.382)."""
    threshold = model.thresholds.get("rule_direction", 1.01) if share is None else share  # above 1: never
    if relation.direction != "mutual" or not scored or relation.kind in _NO_PROVIDER_KINDS:
        return relation
    votes = {d: 0.0 for d in DIRECTIONS}
    total = 0.0
    for occ, p in scored:
        # x is named first in the sentence (the entity's identity too: see :func:`_kind_is`)
        flip = relation.receiver.identity in {occ.x.identity} | {m.identity for m in occ.x.mentions}
        for d, q in model.direction.probabilities(occ.features).items():
            votes[{"x->y": "y->x", "y->x": "x->y"}.get(d, d) if flip else d] += p * q
        total += p
    best = max(votes, key=lambda d: votes[d])
    if total <= 0 or best == "mutual" or votes[best] / total < threshold:
        return relation
    if best == "x->y":
        return replace(relation, direction="directed")
    return replace(relation, provider=relation.receiver, receiver=relation.provider, direction="directed")


#: Kinds without a provider: they stay mutual whatever the model says (:func:`_model_direction`).
_NO_PROVIDER_KINDS = frozenset({"joint_development", "alliance_membership", "joint_lab"})


def _kind_twins(relations: list[Relation], cues: Cues | None = None) -> list[Relation]:
    """A lab co-built under a signed agreement is also the pair's agreement (ANNOTATION.md, ex-04: "every
    pair is recorded, once per kind"): a new ``joint_lab`` whose sentence names one (``agreement`` cues of
    ``pair_cues.yml``: 协议, 备忘录, not 合作 or 签约 alone) gets a ``strategic_agreement`` twin (dev: 22 of 59
    pairs with a new joint lab carry both), and a new agreement whose sentence co-builds a lab ("三方签订战略
    合作,共建工业人工智能实验室": :func:`etl.structures.built_kind`) a ``joint_lab`` twin, unless the pair has it."""
    cues = cues or load_cues()
    have = {(frozenset((r.provider.identity, r.receiver.identity)), r.kind) for r in relations}
    out = list(relations)
    for r in relations:
        pair = frozenset((r.provider.identity, r.receiver.identity))
        if (r.kind == "joint_lab" and r.status == "new" and (pair, "strategic_agreement") not in have
                and "agreement" in cues.found(r.sentence)):
            have.add((pair, "strategic_agreement"))
            out.append(replace(r, kind="strategic_agreement"))
        elif (r.kind == "strategic_agreement" and r.status == "new" and (pair, "joint_lab") not in have
              and built_kind(r.sentence) == "joint_lab"):
            have.add((pair, "joint_lab"))
            out.append(replace(r, kind="joint_lab"))
    return out


_GOVERNMENT_KINDS = frozenset({"government"})


def _kind_is(view: DocumentView, mention: Mention, kinds: frozenset[str]) -> bool:
    """Whether a party is of one of ``kinds``, by its recognised kind or by how its name ends."""
    for e in view.entities:  # the entity's own identity too: in traditional text a recognised name's
        if e.identity == mention.identity or any(m.identity == mention.identity for m in e.mentions):
            return e.kind in kinds or e.name_kind in kinds  # mentions are simplified, the relation's party is not
    return mention.kind in kinds


def _is_government(view: DocumentView, mention: Mention) -> bool:
    """Whether a party is a government body, by its recognised kind or by how its name ends."""
    return _kind_is(view, mention, _GOVERNMENT_KINDS)


def _firm_to_government(relation: Relation, view: DocumentView) -> Relation:
    """A mutual relation between a government body and a party that is not one points to the
    government (ANNOTATION.md, Direction: a firm, university or institute delivering technology or
    solutions to a government; on the dev part 98 of 108 such new relations are directed to the
    government, 7 mutual, 1 from it). A stated direction, investments and alliance memberships stay.
    A firm and a hospital: :func:`_supplier_to_adopter`."""
    if relation.kind in ("investment", "alliance_membership"):
        return relation
    if relation.direction != "mutual":  # a direction the sentence states ("市政府为…提供") stands
        return relation
    gp, gr = _is_government(view, relation.provider), _is_government(view, relation.receiver)
    if gp and not gr:
        return replace(relation, provider=relation.receiver, receiver=relation.provider, direction="directed")
    if gr and not gp:
        return replace(relation, direction="directed")
    return relation


def _supplier_to_adopter(relation: Relation, view: DocumentView) -> Relation:
    """A mutual agreement (kind ``strategic_agreement`` or ``other``, found by the rules or the model)
    between a technology supplier and an adopter points from the supplier (ANNOTATION.md, Direction:
    supplier -> adopter): one party is a supplier (its names carry a ``tech_markers`` word, or it is
    a sample firm of the registry: a core AI firm) and no adopter, the other an adopter (an
    ``adopter_markers`` word: 医院, 银行, 汽车, 电力 …) and no supplier (华为 and 交通银行, 海梁科技 and
    青岛公交集团, 科大讯飞 and 安徽省立医院).

    Until ``pairs-2.5`` only the model's agreements were directed, because the demo web's truth
    labelled such signings mutual; it follows ANNOTATION.md since (docs/demo-web.md, "How the truth
    is labelled for scoring")."""
    if relation.kind not in ("strategic_agreement", "other") or relation.direction != "mutual":
        return relation
    cues = load_cues()

    def side(m: Mention) -> tuple[bool, bool]:
        mentions = [x for e in view.entities if e.identity == m.identity for x in e.mentions]
        names = " ".join({m.identity, m.surface or m.name} | {x.name for x in mentions})
        # a sample firm of the registry is a core AI firm: the supplier whatever its name says
        sample = any(isinstance(x.key, OrgRef) and x.key.sample for x in [m, *mentions])
        return cues.is_tech(names) or sample, cues.is_adopter(names) and not sample

    (tp, ap), (tr, ar) = side(relation.provider), side(relation.receiver)
    if tp and not ap and ar and not tr:
        return replace(relation, direction="directed")
    if tr and not ar and ap and not tp:
        return replace(relation, provider=relation.receiver, receiver=relation.provider, direction="directed")
    return relation


def _credible(entity: Entity) -> bool:
    """Whether an entity can be a party at all: a plausible name (:func:`etl.recognise.plausible`:
    no clause, generic word or country), not a news source (its name kind is ``media``) and not a
    person (the recogniser's PER tag, with no rule or organisation tag beside it)."""
    if not recognise.plausible(entity.surface):
        return False
    if "RULE" in entity.tags and entity.kind is not None:
        return True
    return entity.name_kind != "media" and entity.tags != {"PER"}


def structure_relations(view: DocumentView) -> tuple[list[Relation], set[tuple[frozenset[int], str]], set[tuple[int, int]]]:
    """The relations of the document's funding rounds, tender results and co-buildings
    (:mod:`etl.structures`), the (pair, sentence) decisions they replace, and their sentences.

    The rules stay in charge of a sentence they read consistently with its structure: where every
    relation the rules found there involves the funded firm or the buyer (or is a relation of the
    announcing company, "公司中标…"), the structure is not applied. Where the rules contradict it
    (investors paired with each other, bidders with bidders), those rule relations are dropped and
    the structure's relations are added for the pairs the rules left alone; the model adds
    nothing in that sentence either way.
    """
    bounds = [b for b in view.named if view.named[b]]
    texts = [view.text[b[0]:b[1]] for b in bounds]
    names = [[Name(e.id, m.start - b[0], m.end - b[0], e.name_kind) for m, e in view.named[b]] for b in bounds]
    entities = {e.id: e for e in view.entities}
    ruled: dict[str, list[frozenset[int]]] = defaultdict(list)
    for pair, rules in view.rule_pairs.items():
        for r in rules:
            ruled[r.sentence].append(pair)
    announcer = {r.sentence for r in view.rule_unpaired}
    relations: list[Relation] = []
    claimed: set[tuple[frozenset[int], str]] = set()
    read: set[tuple[int, int]] = set()
    seen: set[tuple[int, int, str, str]] = set()
    in_title = _title_names(view) if view.title else []
    funded, buyer = (title_funded(view.title, in_title), title_buyer(view.title, in_title)) if in_title else (None, None)
    for bound, text, found in zip(bounds, texts, read_structures(zip(texts, names, strict=True), funded_hint=funded,
                                                                buyer_hint=buyer), strict=True):
        if found is None or bound in view.negated:
            continue  # "X拟与A、B签署…": an intention, no signing
        pairs_here = ruled.get(text, [])
        # the rules contradict a structure when they pair two names it accounts for without its anchor
        # (investors with each other); a structure with no anchor contradicts nothing else they read
        contradicting = [p for p in pairs_here if (found.anchor is None and p <= found.covered)
                         or (found.anchor is not None and found.anchor not in p)]
        if found.name == "cobuild" and (pairs_here or text in announcer):
            continue
        agreeing = bool(pairs_here or text in announcer) and not contradicting
        if agreeing and found.name != "hub":
            continue  # the rules read this sentence as its structure does: theirs stand
        # a hub signing or building with a list jointly: the rules' hub pairs stand, the structure adds
        # the pairs of the list ("A与B、C、D共同发起成立…联盟": B, C and D are members together too)
        read.add(bound)
        claimed.update((p, text) for p in contradicting)
        kept = set(pairs_here) - set(contradicting)
        for link in found.links:
            key = (link.provider, link.receiver, link.kind, link.status)
            if key in seen or link.provider == link.receiver or frozenset((link.provider, link.receiver)) in kept:
                continue
            seen.add(key)
            provider, receiver = entities[link.provider], entities[link.receiver]
            if _aliases(provider, receiver) or same_group(provider.mentions[0], receiver.mentions[0]):
                continue
            year = _sentence_year(view, bound, link.status)
            relations.append(Relation(_mention(provider), _mention(receiver), link.direction, link.kind, link.status,
                                      year, None, sentence=text, confidence=1.0))
    return relations, claimed, read



def _title_names(view: DocumentView) -> list[Name]:
    """The document's credible organisations the headline writes (any form of theirs of 2+ Han
    characters or 3+ Latin letters on word boundaries), as names inside the headline; the longest
    form at each place."""
    found: list[Name] = []
    folded = view.title.casefold()
    for e in view.entities:
        if not _credible(e):
            continue
        for form in sorted({m.name for m in e.mentions}, key=len, reverse=True):
            if len(form) < (3 if form.isascii() else 2):
                continue
            if (form.casefold() not in folded) if form.isascii() else (form not in view.title):
                continue  # cannot match: no pattern to compile (one per name and document missed re's cache)
            hit = re.search(name_pattern(form), view.title, re.I if form.isascii() else 0)
            if hit and not any(n.start < hit.end() and hit.start() < n.end for n in found):
                found.append(Name(e.id, hit.start(), hit.end(), e.name_kind))
                break
    return sorted(found, key=lambda n: n.start)


def _sentence_year(view: DocumentView, bound: tuple[int, int], status: str) -> int | None:
    dates = [d for d in find_dates(view.text[bound[0]:bound[1]], view.published) if d.year]
    if dates:
        return dates[0].year
    if status != "historical" and view.published is not None:  # a termination: the year it is announced
        return view.published.year
    return history_year(view.text[bound[0]:bound[1]], view.published) if status == "historical" else None


def _aliases(x: Entity, y: Entity) -> bool:
    """Whether two entities are written as one name (one folded form contains the other)."""
    a, b = fold(x.surface), fold(y.surface)
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return bool(short) and short in long_


_EN_SKIP = frozenset({"of", "and", "the", "&", "for"})
#: The words of English legal forms (co, ltd, limited, inc …): no initial of an acronym they are.
_EN_LEGAL_WORDS = frozenset(w.strip(",.") for s in ENGLISH_LEGAL_SUFFIXES for w in s.split())


def _initials(name: str, legal: bool) -> str:
    """The capital initials of an English name's words (without "of", "and" …; with or without its legal form)."""
    words = [w.strip(",.()") for w in name.split()]
    return "".join(w[0].upper() for w in words if w and w.lower() not in _EN_SKIP
                   and (legal or w.lower() not in _EN_LEGAL_WORDS))


def _subsequence(short: str, long: str) -> bool:
    chars = iter(long)
    return all(c in chars for c in short)


@lru_cache(maxsize=4096)
def abbreviates(a: str, b: str) -> bool:
    """Whether two names of one document write one organisation, one of them abbreviated.

    Chinese: the shorter is one of the longer's usual short forms (:func:`etl.mentions.short_forms`:
    苏州麦迪斯顿医疗科技股份有限公司 -> 麦迪斯顿医疗科技), or, at three characters or more, picks
    the longer's characters in order starting with its first or its short form's first (中国电科 of
    中国电子科技集团公司, 麦迪科技, 中国电信甘肃分公司 of 中国电信股份有限公司甘肃分公司) and names no
    university, hospital, research body or government by its ending (安徽大学 is no short form of
    安徽医科大学; 济南超算中心 of 济南超级计算中心有限公司 is missed so). English: an all-capital acronym of the longer's words (RTA of Roads
    and Transport Authority, CATL of Contemporary Amperex Technology Co., Limited), or the longer is
    the shorter with a legal form after it (Tencent Group is no abbreviation: Group is a legal form
    only in Chinese). Names of one script only."""
    if a.isascii() != b.isascii():
        return False
    short, long_ = sorted((a, b), key=len)
    if not short or short == long_:
        return bool(short)
    if short.isascii():
        rest = long_[len(short):].strip(" ,").lower() if long_.startswith(short + " ") else None
        if rest is not None and rest in ENGLISH_LEGAL_SUFFIXES:
            return True
        initials = _initials(long_, False)
        return (short.isupper() and " " not in short and len(initials) <= len(short)
                and initials.startswith(short[:2]) and _subsequence(short, _initials(long_, True)))
    short, long_ = fold(short), fold(long_)
    forms = short_forms(long_)
    if short in forms:
        return True
    heads = {long_[0]} | {f[0] for f in forms}
    return (len(short) >= 3 and short[0] in heads and short not in long_ and _subsequence(short, long_)
            and organisation_kind(short, load_lexicon()) in (None, "firm"))


def one_per_organisation(relations: list[Relation]) -> list[Relation]:
    """The relations with one of each two that tell the same thing under another name of a party.

    Two relations of the same kind, status and direction whose parties are the same or abbreviate
    each other (:func:`abbreviates`; names compared by identity, the name the loader stores; two known
    organisations of different canonical names are never one) are one relation read twice
    (苏州麦迪斯顿医疗科技股份有限公司 and 麦迪科技 each with 园区管委会); the one whose names are longer
    is kept (the fuller names resolve better). A relation between a name and its usual short form
    (:func:`etl.mentions.short_forms`: 上海电气集团股份有限公司 and 上海电气) is none. Dev 5-fold: 65 of 590
    false new relations repeated a found one under another name."""
    def same(x: Mention, y: Mention) -> bool:
        if x.identity == y.identity:
            return True
        if isinstance(x.key, OrgRef) and isinstance(y.key, OrgRef) and x.key.canonical != y.key.canonical:
            return False  # two known organisations (安徽大学, 安徽医科大学)
        return abbreviates(x.identity, y.identity)

    dropped = {i for i, r in enumerate(relations)  # one organisation twice: by a usual short form only
               if r.provider.identity == r.receiver.identity
               or fold(r.provider.identity) in short_forms(fold(r.receiver.identity))
               or fold(r.receiver.identity) in short_forms(fold(r.provider.identity))}
    for i, r in enumerate(relations):
        for j in range(i + 1, len(relations)):
            if i in dropped:
                break
            s = relations[j]
            if j in dropped or (r.kind, r.status) != (s.kind, s.status):
                continue
            mutual = r.direction == s.direction == "mutual"
            if (r.direction == s.direction and same(r.provider, s.provider) and same(r.receiver, s.receiver)) or (
                    mutual and same(r.provider, s.receiver) and same(r.receiver, s.provider)):
                length = [len(x.provider.identity) + len(x.receiver.identity) for x in (r, s)]
                dropped.add(j if length[0] >= length[1] else i)
    return [r for k, r in enumerate(relations) if k not in dropped]


def _mention(entity: Entity) -> Mention:
    """One mention standing for the entity, with its best surface form and identity."""
    m = max(entity.mentions, key=lambda m: (m.key is not None, len(m.surface or m.name)))
    return Mention(m.start, m.end, m.name, m.key, m.kind or entity.kind, entity.surface, entity.identity)


def extract_with_model(text: str, published: dt.date | None, gazetteer: Gazetteer, lexicon: Lexicon | None = None,
                       title: str | None = None, model: PairModel | None = None) -> Extraction:
    """The document's extraction: the rules' mentions and labels, relations decided by the pair model.

    Without a model (no ``etl/models/pairs.json``) this is the rules' extraction unchanged.
    """
    if len(text) > MAX_DOCUMENT_CHARS:
        raise ExtractionError(f"text of {len(text):,} characters is over the limit of {MAX_DOCUMENT_CHARS:,}")
    model = model or default_model()
    if model is None:
        return extract_document(text, published, gazetteer, lexicon, title)
    view = read_document(text, published, gazetteer, lexicon, title)
    relations = decide(view, model)
    rules = view.rules
    mentions = [m for e in view.entities for m in e.mentions]
    parties = {r.provider.name for r in relations} | {r.receiver.name for r in relations}
    tech, domains = (rules.tech_categories, rules.application_domains) if relations else ([], [])
    return Extraction(relations, mentions, parties, {m.name for m in mentions} - parties, tech, domains)


def training_rows(view: DocumentView, resolve: Any, gold: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Labelled occurrences of one dev document, for ``etl.models.train``.

    ``resolve`` maps a written name to the gold canonical party (``etl.evaluate.surface_resolver``);
    ``gold`` is the document's relations in ANNOTATION.md form. Each row: ``features``, ``party``
    (bool), and for party rows ``direction`` (relative to text order), ``statuses`` and ``kinds``.
    """
    canon: dict[int, str | None] = {}
    for e in view.entities:
        names = [m.surface or m.name for m in e.mentions] + [e.identity]
        found = [c for c in (resolve(n) for n in names) if c is not None]
        canon[e.id] = max(sorted(set(found)), key=found.count) if found else None  # ties: by name, not by hash order
    rows = []
    for occ in view.occurrences:
        cx, cy = canon[occ.x.id], canon[occ.y.id]
        rels = [r for r in gold if cx and cy and cx != cy and {r["a"], r["b"]} == {cx, cy}]
        row: dict[str, Any] = {"features": occ.features, "party": bool(rels)}
        if rels:
            main = next((r for r in rels if r["status"] == "new"), rels[0])
            if main["direction"] == "mutual":
                row["direction"] = "mutual"
            else:
                provider = main["a"] if main["direction"] == "a->b" else main["b"]
                row["direction"] = "x->y" if provider == cx else "y->x"
            row["statuses"] = sorted({r["status"] for r in rels})
            row["kinds"] = sorted({r["kind"] for r in rels})
        rows.append(row)
    return rows
