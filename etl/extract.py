"""Rule-based relation extraction: who cooperates with whom, in which direction, when, on what.

Pure functions over text (no database): the loader (:mod:`etl.load`) and the offline
``aimap extract`` command supply a :class:`Gazetteer` of known names and get typed records
back. All phrases and patterns live in versioned lookups (``etl/lexicons/*.yml``).

For one document:

1. normalise (half-width, simplified Chinese; :mod:`etl.normalize`) and split into sentences;
2. find organisation mentions: known names through one Aho-Corasick automaton over every alias
   (leftmost-longest), unseen names by their legal/institutional suffix (``有限公司``, ``大学``,
   ``研究院``, ``人民政府``, ``Co., Ltd.`` ...), and short names the text itself declares
   (``X（以下简称“Y”）``);
3. replace mentions by tokens ``⟨i⟩`` and decide, per sentence:
   - which mentions are *non-parties* (witnesses, hosts, media, venues, list publishers);
   - whether the sentence reports anything at all (talks, intentions, rumours and denials do not);
   - *directed* relations from the directed patterns ("⟨P⟩为⟨R⟩提供", "⟨R⟩基于⟨P⟩的",
     "⟨P⟩中标⟨R⟩" ...): provider = technology-enabling side (技术赋能, out-degree), receiver =
     technology-input side (技术输入, in-degree), as the report counts them;
   - *mutual* relations for parties joined by a conjunction in a sentence with a cooperation
     phrase, every pair of a multi-party signing ("⟨A⟩、⟨B⟩和⟨C⟩共同签署");
   - the kind (first matching phrase group), the status (``terminated`` by termination cues,
     ``historical`` for cooperations recalled with their own year, else ``new``), the year (a
     date in the sentence, else the last date of the document so far, else the publication
     date) and the technology categories / application domains (multi-label keyword lexicons;
     the sentence's labels, else the document's);
   - parent and subsidiary of one group are not a cooperation.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import combinations

from common.text import t2s
from common.vocab import LEGAL_SUFFIXES
from etl.lexicon import (
    Lexicon,
    has_cue,
    labels_in,
    load_lexicon,
    negated,
    relation_kind,
)
from etl.mentions import Gazetteer, Mention, OrgRef, find_mentions, leading_place, short_forms
from etl.normalize import Normalised, find_dates, normalise, sentences

_ABBREVIATION = re.compile(
    r"[（(](?:(?:以下)?(?:简称|下称|简称为|统称)[:：]?|[“\"「『])[^（()）]{0,60}?[）)]"
)
_QUOTED = re.compile(r"[“\"「『]([^”\"」』]{2,30})[”\"」』]")
_TOKEN_ABBREV = re.compile(r"[（(](?:以下)?(?:简称|下称|简称为)[:：]?[“\"「『]?(?:⟨\d+⟩|[^）)]*?)[”\"」』]?[）)]")


_SELF = re.compile(r"(?:本公司|该公司|(?<=[，,。；：:\s])公司)(?=与|和|同|将为|为|向|已与|拟与)")


@dataclass
class Relation:
    """One extracted cooperation between two parties."""

    provider: Mention
    receiver: Mention
    direction: str  # directed | mutual
    kind: str
    status: str  # new | terminated | historical
    year: int | None
    event_date: dt.date | None
    tech_categories: list[str] = field(default_factory=list)
    application_domains: list[str] = field(default_factory=list)
    sentence: str = ""
    confidence: float = 1.0


@dataclass
class Extraction:
    """Everything extracted from one document."""

    relations: list[Relation]
    mentions: list[Mention]
    parties: set[str]  # names (as matched) that are a party of some relation
    non_parties: set[str]
    tech_categories: list[str]
    application_domains: list[str]

    @property
    def is_cooperation(self) -> bool:
        """Whether the document reports at least one cooperation."""
        return bool(self.relations)


def _core(name: str) -> str:
    for suffix in LEGAL_SUFFIXES:
        name = name.removesuffix(suffix)
    return re.sub(r"[（(][^）)]*[）)]", "", name)


def same_group(a: Mention, b: Mention) -> bool:
    """Two names of one group (腾讯 / 腾讯云计算（北京）有限责任公司): not a cooperation."""
    if isinstance(a.key, OrgRef) and isinstance(b.key, OrgRef) and a.key.canonical == b.key.canonical:
        return True
    ca, cb = _core(a.name), _core(b.name)
    if len(ca) >= 2 and len(cb) >= 2 and (ca.startswith(cb) or cb.startswith(ca)):
        return True
    return False


@lru_cache(maxsize=4)
def _group_patterns(cues: tuple[str, ...]) -> tuple[re.Pattern[str], re.Pattern[str]]:
    alt = "|".join(re.escape(c) for c in cues)
    return (re.compile(rf"⟨(\d+)⟩(?:的)?(?:{alt})(?:的)?⟨(\d+)⟩"),
            re.compile(rf"⟨(\d+)⟩(?:是|为|系)⟨(\d+)⟩(?:的)?(?:{alt})"))


def _same_group_pairs(tokens: str, lexicon: Lexicon) -> set[frozenset[int]]:
    """Token pairs the sentence itself calls parent and subsidiary ("⟨A⟩旗下⟨B⟩", "⟨B⟩是⟨A⟩的子公司")."""
    pairs = set()
    for pattern in _group_patterns(tuple(lexicon.same_group_cues)):
        for m in pattern.finditer(tokens):
            pairs.add(frozenset((int(m.group(1)), int(m.group(2)))))
    return pairs


@dataclass
class _Sentence:
    start: int
    end: int
    text: str
    mentions: list[Mention]


def _tokenise(s: _Sentence) -> str:
    parts, last = [], s.start
    for i, m in enumerate(s.mentions):
        if m.start < last:
            continue
        parts.append(s.text[last - s.start : m.start - s.start] + f"⟨{i}⟩")
        last = m.end
    parts.append(s.text[last - s.start :])
    tokens = _TOKEN_ABBREV.sub("", "".join(parts))
    tokens = re.sub(r"\s?[（(]⟨\d+⟩[）)]", "", tokens)  # "鸿海（⟨鸿海⟩）", "辉达（⟨NVIDIA⟩）": the same name again
    if s.mentions:  # "公司与⟨B⟩" in a firm's own announcement: 公司 is the firm named first
        tokens = _SELF.sub("⟨0⟩", tokens)
    named = [int(x) for x in dict.fromkeys(re.findall(r"⟨(\d+)⟩", tokens))]
    if len(named) >= 2:  # "后者此前为前者供应": the two parties named before, in order
        tokens = tokens.replace("前者", f"⟨{named[0]}⟩").replace("后者", f"⟨{named[1]}⟩")
    return tokens


def _list_after(tokens: str, pos: int) -> list[int]:
    """Token indices listed right after ``pos`` ("、⟨3⟩、⟨4⟩和⟨5⟩")."""
    m = re.match(r"(?:(?:、|，|和|及|与|以及|,? and (?:the )?|, (?:the )?)⟨\d+⟩)+", tokens[pos:])
    return [int(x) for x in re.findall(r"⟨(\d+)⟩", m.group(0))] if m else []


def _list_before(tokens: str, pos: int) -> list[int]:
    """Token indices listed right before ``pos`` ("⟨1⟩、⟨2⟩" before "分别中标")."""
    m = re.search(r"(?:⟨\d+⟩(?:、|，|和|及|与|以及|,? and (?:the )?|, (?:the )?))+$", tokens[:pos])
    return [int(x) for x in re.findall(r"⟨(\d+)⟩", m.group(0))] if m else []


def _status_and_date(
    text: str, lexicon: Lexicon, year_hint: tuple[dt.date | None, int | None], published: dt.date | None
) -> tuple[str, int | None, dt.date | None, int | None]:
    """A sentence's status (new / terminated / historical), year and day, and the year of an older
    cooperation it recalls beside a new one (``None``: none)."""
    dates = [d for d in find_dates(text, published) if d.kind != "vague" or not year_hint[1]]
    day, year = next(((d.day, d.year) for d in dates if d.year), year_hint)
    status = "new"
    also_historical: int | None = None
    if has_cue(text, lexicon.terminated):
        return "terminated", year, day, None
    news = has_cue(text, lexicon.news_cues)
    full_dated = any(d.day is not None and d.kind == "full" for d in dates)
    for pattern in lexicon.historical:
        hm = pattern.search(text)
        if hm:
            value = hm.group(1)
            base = published.year if published else (year or 0)
            earlier = {"去年": base - 1, "前年": base - 2}.get(value) or int(value)
            if news or (full_dated and earlier != year):
                also_historical = earlier  # a new cooperation that recalls an older one: both
            else:
                status, year, day = "historical", earlier, None
            break
    return status, year, day, also_historical


def extract_sentence(
    s: _Sentence,
    lexicon: Lexicon,
    year_hint: tuple[dt.date | None, int | None],
    doc_labels: tuple[list[str], list[str]],
    published: dt.date | None,
    subject: Mention | None = None,
) -> tuple[list[Relation], set[int]]:
    """Relations of one sentence and the indices of its non-party mentions.

    ``subject`` is the document's main organisation (its first party-capable mention): the
    implied other side of "该平台基于⟨P⟩", "本轮融资由⟨P⟩领投" and similar sentences.
    """
    tokens = _tokenise(s)
    non_party: set[int] = set()
    for pattern in lexicon.non_party:
        for m in pattern.finditer(tokens):
            non_party.update(int(x) for x in re.findall(r"⟨(\d+)⟩", m.group(0)))
    if negated(s.text, lexicon):
        return [], non_party
    kind = relation_kind(s.text, lexicon)
    mentions = list(s.mentions)
    subject_index = None
    if subject is not None:
        subject_index = next((i for i, m in enumerate(mentions) if m.identity == subject.identity), None)
        if subject_index is None:
            subject_index = len(mentions)
            mentions.append(subject)

    status, year, day, also_historical = _status_and_date(s.text, lexicon, year_hint, published)
    tech = labels_in(s.text, lexicon.tech) or doc_labels[0]
    domains = labels_in(s.text, lexicon.domains) or doc_labels[1]
    conf = lexicon.confidence
    relations: list[Relation] = []
    seen: set[frozenset[str]] = set()
    related = _same_group_pairs(tokens, lexicon)

    def emit(i: int | None, j: int | None, direction: str, confidence: float, rel_kind: str | None) -> None:
        if i is None or j is None or i in non_party or j in non_party or i >= len(mentions) or j >= len(mentions):
            return
        a, b = mentions[i], mentions[j]
        pair = frozenset((a.identity, b.identity))
        if a.identity == b.identity or pair in seen or same_group(a, b) or frozenset((i, j)) in related:
            return
        if a.key is not None and a.key == b.key:
            return
        seen.add(pair)
        relations.append(Relation(a, b, direction, rel_kind or "other", status, year, day, tech, domains, s.text,
                                  confidence))

    # directed statements say enough on their own ("⟨P⟩将为⟨R⟩建设...")
    for pattern, p_group, r_group in lexicon.directed:
        for m in pattern.finditer(tokens):
            providers = [int(m.group(p_group))] + _list_before(tokens, m.start(p_group) - 1)
            # "⟨P⟩、⟨P2⟩分别中标": a list after the provider (not running into the receiver)
            providers += [x for x in _list_after(tokens, m.end(p_group) + 1) if str(x) != m.group(r_group)]
            receivers = [int(m.group(r_group))] + _list_after(tokens, m.end(r_group) + 1)
            for p in providers:
                for r in receivers:
                    emit(p, r, "directed", conf["directed"], kind or "product_adoption")
    for pattern, role in lexicon.subject_directed:
        for m in pattern.finditer(tokens):
            named = [int(m.group(1))] + _list_after(tokens, m.end(1) + 1) + _list_before(tokens, m.start(1) - 1)
            for x in named:
                if role == "provider":
                    emit(x, subject_index, "directed", conf["weak"] + 0.2, kind)
                else:
                    emit(subject_index, x, "directed", conf["weak"] + 0.2, kind)
    for pattern in lexicon.subject_mutual:
        for m in pattern.finditer(tokens):
            emit(subject_index, int(m.group(1)), "mutual", conf["mutual"], kind)
    for pattern in lexicon.pronoun_directed:  # "由⟨P⟩为其提供": the receiver is the other party
        for m in pattern.finditer(tokens):
            provider = int(m.group(1))
            others = [i for i, x in enumerate(s.mentions) if i != provider and i not in non_party
                      and x.identity != s.mentions[provider].identity and f"⟨{i}⟩" in tokens]
            if others:
                emit(provider, others[0], "directed", conf["directed"], kind)
    if kind is None or len({m.identity for i, m in enumerate(s.mentions) if i not in non_party}) < 2:
        return relations, non_party
    listed, apart = _list_pairs(tokens)
    for i, j in listed:
        emit(i, j, "mutual", conf["multiparty"], kind)
    for pattern in lexicon.mutual:
        for m in pattern.finditer(tokens):
            if frozenset((int(m.group(1)), int(m.group(2)))) not in apart:  # "…⟨b⟩和⟨c⟩签署" ends such a list
                emit(int(m.group(1)), int(m.group(2)), "mutual", conf["mutual"], kind)
    if also_historical is not None:
        for r in list(relations):
            relations.append(Relation(r.provider, r.receiver, r.direction, "other", "historical", also_historical,
                                      None, r.tech_categories, r.application_domains, r.sentence, r.confidence))
    return relations, non_party


def _list_pairs(tokens: str) -> tuple[list[tuple[int, int]], set[frozenset[int]]]:
    """The pairs the multi-party lists of a tokenised sentence make, and the pairs of list members
    that are no relation.

    ``⟨a⟩、⟨b⟩和⟨c⟩`` (three or more names) is every pair of co-signers; after "⟨h⟩还与" it is the hub
    with each member (:data:`_LIST_HUB`), after a verb or a preposition a list of objects with no
    pair (:data:`_LIST_OBJECT`); in those two the members are never a pair of their own.
    """
    listed: list[tuple[int, int]] = []
    apart: set[frozenset[int]] = set()
    for m in re.finditer(r"⟨\d+⟩(?:(?:[、，]|和|与|及|以及|,? and (?:the )?|, (?:the )?)⟨\d+⟩){2,}", tokens):
        members = [int(x) for x in re.findall(r"⟨(\d+)⟩", m.group(0))]
        hub = _LIST_HUB.search(tokens[:m.start()])
        if hub is not None or _LIST_OBJECT.search(tokens[max(0, m.start() - 4):m.start()]):
            apart.update(frozenset(p) for p in combinations(members, 2))
            listed += [(int(hub.group(1)), j) for j in members] if hub is not None else []
        else:
            listed += list(combinations(members, 2))
    return listed, apart


#: A list of three or more names right after "⟨h⟩(还/也/分别)与": the hub signs with each of them.
_LIST_HUB = re.compile(r"⟨(\d+)⟩(?:还|也|又|分别|已|今天|当天|同时|将)*(?:与|同|和|跟)$")
#: A list right after one of these is the object of a verb or a preposition, not a group of co-signers.
_LIST_OBJECT = re.compile(r"(?:为|向|对象|包括|包含|其中|如|给|对|投资|投资了|领投|参投|including|include|includes|to|with)\s?$")


def extract_document(
    text: str,
    published: dt.date | None,
    gazetteer: Gazetteer,
    lexicon: Lexicon | None = None,
    title: str | None = None,
) -> Extraction:
    """All relations, mentions and labels of one document (see the module docstring)."""
    lexicon = lexicon or load_lexicon()
    norm: Normalised = normalise(text)
    doc = norm.text
    labels = (labels_in((title or "") + "\n" + doc, lexicon.tech), labels_in((title or "") + "\n" + doc, lexicon.domains))
    declared: dict[str, Mention] = {}
    relations: list[Relation] = []
    all_mentions: list[Mention] = []
    non_parties: set[str] = set()
    hint: tuple[dt.date | None, int | None] = (published, published.year if published else None)
    subject: Mention | None = None
    for start, end in sentences(doc):
        declared_before = len(declared)
        mentions = find_mentions(doc, start, end, gazetteer, lexicon, declared)
        mentions = [Mention(m.start, m.end, m.name, m.key, m.kind, norm.original_text(m.start, m.end), m.identity)
                    for m in mentions]
        # declarations "X（以下简称“Y”或“Z”）" / "X（「Y」）" / 'X ("Y")' name Y, Z for X from here on;
        # a name mentioned in full also stands behind its usual short forms (上海电气, 江苏移动, 合肥)
        for am in _ABBREVIATION.finditer(doc, start, end):
            before = [m for m in mentions if m.end <= am.start() and am.start() - m.end <= 1]
            if before:
                for q in _QUOTED.finditer(am.group(0)):
                    declared.setdefault(q.group(1).strip(), before[-1])
        for m in mentions:
            if m.key is None and len(m.name) >= 4:  # a discovered full name, read whole from now on
                declared.setdefault(m.name, m)
            for short in short_forms(m.identity if m.key is None else m.name, m.kind or (
                    m.key.kind if isinstance(m.key, OrgRef) else None)):
                if short not in declared and short not in gazetteer:
                    declared[short] = m
        if len(declared) > declared_before:  # names declared in this sentence serve it too
            mentions = find_mentions(doc, start, end, gazetteer, lexicon, declared)
            mentions = [Mention(m.start, m.end, m.name, m.key, m.kind, norm.original_text(m.start, m.end), m.identity)
                        for m in mentions]
        s = _Sentence(start, end, doc[start:end], mentions)
        subject = subject or (mentions[0] if mentions else None)
        found, non_party = extract_sentence(s, lexicon, hint, labels, published, subject)
        dates = [d for d in find_dates(s.text, published) if d.day is not None and d.kind != "vague"]
        if dates and not any(r.status == "historical" for r in found):
            hint = (dates[0].day, dates[0].year)
        relations.extend(found)
        all_mentions.extend(mentions)
        non_parties.update(mentions[i].name for i in non_party if i < len(mentions))
    relations = _unify_short_names(relations, all_mentions, lexicon)
    if any(c in doc for c in lexicon.denial):  # a clarification or denial: nothing new happened
        relations = [r for r in relations if r.status != "new"]
    relations = consolidate(relations)
    parties = {r.provider.name for r in relations} | {r.receiver.name for r in relations}
    return Extraction(relations, all_mentions, parties, non_parties - parties, labels[0], labels[1])


def _common_start(name: str, lexicon: Lexicon) -> str:
    """The beginning of ``name`` that says nothing of which organisation it is: a shared start
    (``shared_starts``: 中国, 国家 …) or a province or city (天津, 北京市); "" when it has none."""
    simple = t2s(name)
    shared = next((s for s in lexicon.shared_starts if simple.startswith(s)), "")
    return name[:len(shared)] if shared else name[:len(leading_place(simple))]


def _past(form: str, common: str, lexicon: Lexicon) -> str:
    """What ``form`` writes after the shared beginning ``common`` (all of it when ``common`` is "";
    "" when ``form`` begins otherwise)."""
    if not common:
        return form
    return form[len(common):] if _common_start(form, lexicon) == common else ""


def _unify_short_names(relations: list[Relation], mentions: list[Mention], lexicon: Lexicon) -> list[Relation]:
    """A short discovered name ("智谱AI") that begins like another organisation of the document
    ("北京智谱华章科技有限公司" -> 智谱华章) stands for that organisation; not when the beginning they
    share is a place (天津市 and 天津大学) or one many names share (中国工程院 and 中国华电集团:
    ``shared_starts`` of ``etl/lexicons/org_suffixes.yml``)."""
    entities: dict[str, Mention] = {}
    for m in mentions:
        entities.setdefault(m.identity, m)
    targets: dict[str, Mention] = {}
    for ident, m in entities.items():
        if m.key is None and len(ident) <= 6 and not ident.isascii():
            common = _common_start(ident, lexicon)
            head = ident[len(common):len(common) + 2]
            if len(head) < 2:  # a place alone (天津市), or nothing after the shared beginning
                continue
            for other_ident, other in entities.items():
                if other_ident == ident:
                    continue
                forms = (other_ident, *short_forms(other_ident, other.kind))
                if any(f != ident and _past(f, common, lexicon).startswith(head) for f in forms if len(f) >= 3):
                    targets[ident] = other
                    break
    if not targets:
        return relations

    def swap(m: Mention) -> Mention:
        t = targets.get(m.identity)
        return m if t is None else Mention(m.start, m.end, m.name, t.key, t.kind, m.surface, t.identity)

    for r in relations:
        r.provider, r.receiver = swap(r.provider), swap(r.receiver)
    return [r for r in relations if r.provider.identity != r.receiver.identity]


def consolidate(relations: list[Relation]) -> list[Relation]:
    """One relation per pair and status in a document: a directed statement beats a mutual one
    ("A与B签署协议。A将为B提供..." is one cooperation, A -> B); repeats keep the first, with
    the union of their labels."""
    ended = {frozenset((r.provider.identity, r.receiver.identity)) for r in relations if r.status == "terminated"}
    for r in relations:  # "A与B于2021年签订的协议已终止": one terminated cooperation of 2021
        if r.status == "new" and frozenset((r.provider.identity, r.receiver.identity)) in ended:
            r.status = "terminated"
    best: dict[tuple[frozenset[str], str], Relation] = {}
    order: list[tuple[frozenset[str], str]] = []
    for r in relations:
        key = (frozenset((r.provider.identity, r.receiver.identity)), r.status)
        if key not in best:
            best[key] = r
            order.append(key)
            continue
        kept = best[key]
        if r.year is not None and kept.year is not None and r.status == "terminated":
            kept.year = r.year = min(kept.year, r.year)
        if kept.direction == "mutual" and r.direction == "directed":
            r.tech_categories = sorted(set(r.tech_categories) | set(kept.tech_categories))
            r.application_domains = sorted(set(r.application_domains) | set(kept.application_domains))
            if r.kind in ("product_adoption", "other") and kept.kind not in ("product_adoption", "other"):
                r.kind = kept.kind
            best[key] = r
        else:
            kept.tech_categories = sorted(set(kept.tech_categories) | set(r.tech_categories))
            kept.application_domains = sorted(set(kept.application_domains) | set(r.application_domains))
    return [best[k] for k in order]
