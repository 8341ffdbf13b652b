"""Sentence structures read as a whole: funding rounds, tender results, many-party co-building.

Pairwise decisions (:mod:`etl.pairs`) read two names at a time, so they pair the investors of
one round with each other, the bidders of one tender with each other, and find one pair of a
five-party co-building. ``../shared/ANNOTATION.md`` reads these sentences by their structure:

- **funding round**: each investor (lead, followers, old shareholders) -> the funded firm,
  ``investment``; investors are never paired with each other; advisers are no parties;
- **tender result**: each winning bidder -> the buyer, ``bid_award``; losing bidders and tender
  agents are non-parties; members of one winning consortium are co-builders;
- **co-building**: N >= 3 parties building one thing (a lab, an alliance, a fund): every pair of
  co-builders, ``mutual``, with the kind of the thing built.

Each reader takes one sentence and its organisation names (positions inside the sentence) and
returns a :class:`Structure`: the relations it reads and every name it accounts for, so that the
caller replaces the pairwise decisions among those names in that sentence. The phrases that mark
the roles are data (``etl/lexicons/structures.yml``, part of the extractor version).

Pure functions of text; no model, no database.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from common.datafiles import read_yaml

STRUCTURES_FILE = Path(__file__).resolve().parent / "lexicons" / "structures.yml"
#: Name kinds (``etl/lexicons/pair_cues.yml`` ``name_kinds``) that are never a party of a structure.
_NEVER_PARTY = frozenset({"media"})
_HISTORICAL = re.compile(r"此前|之前|先前|曾经|曾获|曾于|曾在|早在|过往|previously|earlier|(?<!\bit )(?<!\bthat )had raised|in the past|\balready (?:counts|has|had|backed|invested)\b", re.I)
_PARENT_AFTER = re.compile(r"^\s*(?:的)?(?:旗下|孵化|分拆|控股的|全资子公司|子公司)")
_CONSORTIUM = re.compile(r"联合体|consortium", re.I)
#: What may stand between two listed co-builders, and between the last one and "共建".
_LIST_GAP = re.compile(r"^\s*(?:,\s*[A-Z][a-z]+\s*(?=[(（]))?(?:[(（][^()（）]{1,40}[)）])?\s*(?:[、,，和与及跟同]|以及|and|,\s*and)\s*(?:the\s+)?$")
_TAIL_GAP = re.compile(r"^\s*(?:等)?(?:[\d一二三四五六七八九十]+(?:家|所|个|方))?(?:单位|机构|高校|企业|各方|三方|多方|共同|联合|将|拟定|一道|一起|携手|合作)*\s*$"
                       # "A、B和C等人工智能领域的企业、高校及服务机构共同发起": the list's description after 等
                       r"|^\s*等[^。；;,，:：]{0,40}?(?:单位|机构|院所|高校|企业|医院|公司|伙伴|代表|成员)\s*(?:共同|联合|一道|一起|携手)?\s*$")
_WINDOW = 100
#: "X由" right before a list of co-builders: X is what they build ("联盟由A、B、C共同发起")
_BUILT_BY = re.compile(r"由\s*$")
#: Between a co-building's leader and the list it leads ("由A牵头，联合B、C…"; "A联合B、C…").
_LED = re.compile(r"^\s*(?:牵头)?\s*[，,]?\s*(?:联合|携手|会同|联手)\s*$")  # normalised text: simplified
#: Spans a recogniser may propose in a funding or tender sentence that name no party.
_NOT_A_PARTY = re.compile(r"(?:融资|轮|人民币|美元|港元|港币|欧元|日元|资金|股份|股权|估值)$|^(?:人民币|美元|港元)")
#: What may precede a name that is its sentence's subject: nothing, a date, a clause break.
_SUBJECT_BEFORE = re.compile(r"(?:^|[,，:：;；])\s*(?:\d{4}年)?(?:\d{1,2}月)?(?:\d{1,2}日)?(?:,|，)?\s*$")
#: "完成/获得 … 融资": the funded firm is the subject before it, else the last name before it.
_FUNDED_VERB = re.compile(r"(?:完成|获得|获|斩获|拿下|拿到|迎来|收获)[^，。,;；]{0,30}?(?:融资|投资|注资|轮)")
#: A clause of a funding sentence that tells of an earlier round ("继2024年9月引入A、B之后, 又完成B轮"):
#: the investors named in it invested before (historical), whatever the rest of the sentence says.
_EARLIER_CLAUSE = re.compile(r"(?:继(?!续)|自)[^，,；;]{0,60}(?:之后|以后)\s*$|^\s*after\b", re.I)
_CLAUSE_BREAK = re.compile(r"[，,；;]")
#: A sentence that reports a round (not only names investors): its one named firm, when no
#: investor, is the funded one ("X宣布, 累计数亿元的天使轮融资已经完成", "X completed its Series A").
_FUNDED_NEWS = re.compile(r"融资|(?:[A-Da-d]\+*|天使|种子|首|新一|第[一二三四五六七八九十]+)轮|\b(?:raised|raises|secured|closed|completed|round)\b", re.I)
#: What opens an appositive after a name ("Hesai, a lidar maker … in Palo Alto, has raised").
_APPOSITIVE = re.compile(r"^\s*[,，(（]")
#: A sentence reporting a round of its own ("Y raised $64 million in a round led by A", "Y完成…融资").
_OWN_ROUND = re.compile(r"(?:完成|获得|斩获|拿下|拿到|迎来|收获)[^，。,;；]{0,30}?(?:融资|轮)|\b(?:raised|raises|secured|secures|closed|lands|landed)\b", re.I)
_LED_BY = re.compile(r"\b(?:led|co-led) by\b[^.;]*$|由[^,，。;；]{0,40}$", re.I)


@dataclass(frozen=True)
class Name:
    """One organisation named in a sentence: its document entity id, its span inside the
    sentence and its name kind (``firm``, ``investor``, ``government``, ``media``, ...)."""

    id: int
    start: int
    end: int
    kind: str = "unknown"


@dataclass(frozen=True)
class Link:
    """One relation read from a structure: ``provider`` -> ``receiver`` (or mutual)."""

    provider: int
    receiver: int
    direction: str  # directed | mutual
    kind: str
    status: str


@dataclass
class Structure:
    """What one sentence's structure says: its relations and every name it accounts for
    (parties, non-parties such as advisers, agents and losing bidders)."""

    name: str
    links: list[Link] = field(default_factory=list)
    covered: set[int] = field(default_factory=set)
    anchor: int | None = None  # the funded firm or the buyer, for the sentences after


@dataclass(frozen=True)
class Patterns:
    """The compiled phrases of ``etl/lexicons/structures.yml``."""

    groups: Mapping[str, Mapping[str, Any]]
    #: ``structure.role`` -> one alternation of its patterns (:meth:`any`), made on first use
    _joined: dict[tuple[str, str], re.Pattern[str] | None] = field(default_factory=dict, compare=False, repr=False)

    def any(self, structure: str, role: str, text: str) -> bool:
        """Whether one of ``structure.role``'s patterns matches ``text``.

        One search of the patterns joined as alternatives (``(?:p1)|(?:p2)|…`` matches somewhere
        exactly when one of them does), instead of one search per pattern; patterns with named
        groups or back-references, or of different flags, are searched one by one.
        """
        key = (structure, role)
        if key not in self._joined:
            self._joined[key] = _joined(self.groups[structure][role])
        joined = self._joined[key]
        if joined is not None:
            return joined.search(text) is not None
        return any(p.search(text) for p in self.groups[structure][role])


def _joined(patterns: tuple[re.Pattern[str], ...]) -> re.Pattern[str] | None:
    """The patterns as one alternation, or None where that could change what matches."""
    if not patterns or len({p.flags for p in patterns}) != 1:
        return None
    if any(p.groupindex or re.search(r"\\\d|\(\?P=|\(\?\(", p.pattern) for p in patterns):
        return None  # named groups, back-references and conditionals count groups: they would shift
    try:
        return re.compile("|".join(f"(?:{p.pattern})" for p in patterns), patterns[0].flags)
    except re.error:  # e.g. a global inline flag, allowed only at a pattern's start
        return None


@lru_cache(maxsize=2)
def load_patterns(path: Path = STRUCTURES_FILE) -> Patterns:
    """The structure phrases, compiled (case-insensitive)."""
    data = read_yaml(path)
    groups: dict[str, dict[str, Any]] = {}
    for structure in ("funding", "tender", "cobuild", "hub"):
        spec = data[structure]
        compiled: dict[str, Any] = {}
        for role, value in spec.items():
            if role == "headline_subject":  # case matters: a name begins with a capital
                compiled[role] = tuple(re.compile(p) for p in value)
            elif isinstance(value, list):
                compiled[role] = tuple(re.compile(p, re.I) for p in value)
            elif isinstance(value, dict):
                compiled[role] = {k: tuple(re.compile(p, re.I) for p in v) for k, v in value.items()}
            else:
                compiled[role] = value
        groups[structure] = compiled
    return Patterns(groups)


def triggered(sentence: str, patterns: Patterns | None = None) -> bool:
    """Whether a sentence may hold a structure (a funding, tender or co-building phrase): the
    caller reads its names with the statistical recogniser too, even where the rules found a relation."""
    patterns = patterns or load_patterns()
    return (any(patterns.any(k, "trigger", sentence) for k in ("funding", "tender", "cobuild"))
            or patterns.any("cobuild", "members_trigger", sentence))


def _around(sentence: str, name: Name) -> tuple[str, str]:
    return sentence[max(0, name.start - _WINDOW):name.start], sentence[name.end:name.end + _WINDOW]


#: A history cue that opens a list after a colon ("此前公开过三次融资: 2023年4月…; 2024年4月…").
_HISTORY_LIST = re.compile(rf"(?:{_HISTORICAL.pattern})[^。;；]*[:：]", re.I)


def history_lists(text: str, bounds: Sequence[tuple[int, int]]) -> set[tuple[int, int]]:
    """The sentences that continue a list of earlier events: a sentence whose history cue opens a
    list after a colon ("面壁智能此前公开过三次融资: 2023年4月天使轮由知乎领投;") makes every
    following item of that list (the sentences after it that the list's semicolons split off,
    "2024年4月数亿元融资由春华创投领投…;") historical too, though they carry no cue of their own
    (ANNOTATION.md, Status: an earlier relation mentioned in passing)."""
    carried: set[tuple[int, int]] = set()
    open_list = False
    previous_end = -1
    for bound in sorted(bounds):
        sentence = text[bound[0]:bound[1]]
        adjacent = not text[previous_end:bound[0]].strip() if previous_end >= 0 else False
        if open_list and adjacent:
            carried.add(bound)
        else:
            open_list = False
        continues = sentence.rstrip().endswith(("；", ";"))
        open_list = continues and (open_list or bool(_HISTORY_LIST.search(sentence)))
        previous_end = bound[1]
    return carried


def status_of(sentence: str) -> str:
    """``historical`` when the sentence tells of an earlier event ("此前", "曾获"), else ``new``."""
    return "historical" if _HISTORICAL.search(sentence) else "new"


def funded_name(sentence: str, names: Sequence[Name], patterns: Patterns) -> Name | None:
    """The firm a funding sentence funds: the name right before "完成/获得 ... 融资" or "raised"
    (or the last name before such a verb phrase), else the name after "投资/注资/invest in"; None
    when the sentence names none."""
    candidates = [n for n in names if n.kind not in _NEVER_PARTY and not _NOT_A_PARTY.search(sentence[n.start:n.end])]
    for n in candidates:
        before, after = _around(sentence, n)
        if not patterns.any("funding", "investor_after", after) and patterns.any("funding", "funded_after", after):
            return n
    verb = _FUNDED_VERB.search(sentence)
    if verb is not None:
        before_verb = [n for n in candidates if n.end <= verb.start() and n.kind != "investor"
                       and not patterns.any("funding", "investor_after", _around(sentence, n)[1])]
        subjects = [n for n in before_verb if _SUBJECT_BEFORE.search(sentence[:n.start])]
        if subjects:  # "智元机器人继…引入A、B之后, 又完成B轮融资": the clause's subject is funded
            subject = subjects[0]
            for n in before_verb:  # "通用人工智能公司启元世界": a descriptor right before the name
                if n.start == subject.end:
                    subject = n
            return subject
        if before_verb:
            return before_verb[-1]
    for n in candidates:
        before, after = _around(sentence, n)
        if not patterns.any("funding", "investor_after", after) and patterns.any("funding", "funded_before", before):
            return n
    alone = {n.id for n in candidates}
    if len(alone) == 1 and _FUNDED_NEWS.search(sentence):  # "X宣布, …天使轮融资已经完成": the one name is funded
        n = candidates[0]
        if n.kind != "investor" and not _investor_slot(sentence, n, patterns):
            return n
    return None


def _investor_slot(sentence: str, name: Name, patterns: Patterns) -> bool:
    """Whether the sentence marks ``name`` as investing ("A领投", "led by A", "投资方包括A")."""
    before, after = _around(sentence, name)
    return (patterns.any("funding", "investor_after", after) or patterns.any("funding", "investor_list_before", before)
            or bool(_LED_BY.search(before)))


def read_funding(sentence: str, names: Sequence[Name], patterns: Patterns, funded_hint: int | None = None) -> Structure | None:
    """A funding round: each investor -> the funded firm (module docstring). ``funded_hint``: the
    firm funded earlier in the document, for a sentence that only lists investors.

    Investors are the names after the funded firm (the "由A领投, B、C跟投" clause) and the names
    before it that are marked as investing ("A领投小冰", "A invested in X"); other names before it
    (the news source, a descriptor) are accounted for but no party."""
    if len(names) < 1 or not patterns.any("funding", "trigger", sentence):
        return None
    funded = funded_name(sentence, names, patterns)
    read_here = funded is not None  # the sentence says which firm it funds (its round follows that name)
    if funded is None and funded_hint is not None:  # the headline's firm, named here: its round ("Robotera
        funded = next((n for n in names if n.id == funded_hint), None)  # disclosed … it had raised … led by A")
    funded_id = funded.id if funded is not None else None
    if funded_id is None:
        investors = {n.id for n in names if patterns.any("funding", "investor_after", _around(sentence, n)[1])
                     or patterns.any("funding", "investor_list_before", _around(sentence, n)[0])}
        if not investors and not (funded_hint is not None and patterns.any("funding", "investor_cue", sentence)
                                  and any(n.id != funded_hint for n in names)):
            return None
        # investors listed, the funded firm unnamed (or the round another firm's, its name not recognised:
        # none of them the headline firm's investors): at least never pair them
        if funded_hint is None or _OWN_ROUND.search(sentence):
            return Structure("funding", covered={n.id for n in names})
        funded_id = funded_hint
    structure = Structure("funding", covered={n.id for n in names} | {funded_id}, anchor=funded_id)
    status = status_of(sentence)
    for n in names:
        if n.id == funded_id:
            continue
        before, after = _around(sentence, n)
        if (n.kind in _NEVER_PARTY or _NOT_A_PARTY.search(sentence[n.start:n.end]) or in_book_title(sentence, n)
                or patterns.any("funding", "not_party_after", after)
                or patterns.any("funding", "not_party_before", before) or _PARENT_AFTER.match(after)):
            continue
        if funded is not None and n.end <= funded.start and not patterns.any("funding", "investor_after", after):
            continue
        if (read_here and n.start >= funded.end and _APPOSITIVE.match(sentence[funded.end:n.start])
                and not patterns.any("funding", "trigger", sentence[funded.end:n.start])):
            continue  # between the funded firm and its round: an appositive ("Hesai, a maker … in Palo Alto, has raised")
        if not _investing(sentence, n, patterns, funded.end if funded is not None and funded.end <= n.start else 0):
            continue  # no investor cue before it or in its clause ("思必驰CMO龙梦竹发长文回应, 称…由A领投")
        structure.links.append(Link(n.id, funded_id, "directed", "investment",
                                    "historical" if _EARLIER_CLAUSE.search(_clause(sentence, n)) else status))
    return structure


def in_book_title(sentence: str, name: Name) -> bool:
    """Whether ``name`` stands inside a title in 《》 (a project's, an agreement's or a notice's:
    "《中国移动长三角(扬州)数据中心…采购项目_中标候选人公示》"): part of a title, no party."""
    opened = sentence.rfind("《", 0, name.start)
    return opened >= 0 and sentence.rfind("》", 0, name.start) < opened and sentence.find("》", name.end) >= 0


def _investing(sentence: str, name: Name, patterns: Patterns, start: int) -> bool:
    """Whether a name of a funding sentence is in an investor's place: marked as investing
    (:func:`_investor_slot`), after an investor cue ("led by A, … B and C", "由A领投, B、C跟投" from
    ``start``, the funded firm's end) or in a clause with one."""
    return (_investor_slot(sentence, name, patterns) or patterns.any("funding", "investor_cue", sentence[start:name.start])
            or patterns.any("funding", "investor_cue", _clause(sentence, name)))


def _clause(sentence: str, name: Name) -> str:
    """The clause of ``sentence`` (between commas or semicolons) that holds ``name``."""
    starts = [m.end() for m in _CLAUSE_BREAK.finditer(sentence, 0, name.start)]
    end = _CLAUSE_BREAK.search(sentence, name.end)
    return sentence[starts[-1] if starts else 0:end.start() if end else len(sentence)]


def buyer_name(sentence: str, names: Sequence[Name], patterns: Patterns) -> Name | None:
    """The buyer of a tender sentence: the name after "采购人/招标人" or before "...采购项目"."""
    for n in names:
        before, after = _around(sentence, n)
        if patterns.any("tender", "buyer_before", before):
            return n
    for n in names:
        before, after = _around(sentence, n)
        buys = next((m for p in patterns.groups["tender"]["buyer_after"] for m in [p.search(after)] if m), None)
        # "X(600728)入围…采购项目中标候选人": X won; the buyer is named before its purchase, not before a win
        if (buys is not None and not patterns.any("tender", "agent_before", before)
                and not patterns.any("tender", "trigger", after[:max(4, buys.end())])):
            return n
    return None


def results_buyer(sentence: str, names: Sequence[Name], patterns: Patterns) -> Name | None:
    """The buyer a sentence announcing a tender's results names ("X released the bidding results"), if any."""
    return next((n for n in names if patterns.any("tender", "results", _around(sentence, n)[1])), None)


def read_tender(sentence: str, names: Sequence[Name], patterns: Patterns, buyer_hint: int | None = None) -> Structure | None:
    """A tender result: each winning bidder -> the buyer; agents and losing bidders are no parties.

    A sentence that only announces the results (:func:`results_buyer`) gives a structure without
    links: its buyer (``anchor``) is the buyer of the winners a later sentence lists, and its other
    names are no parties."""
    if len(names) < 1:
        return None
    if not patterns.any("tender", "trigger", sentence):
        announcer = results_buyer(sentence, names, patterns)
        if announcer is None:
            return _listed_winners(sentence, names, patterns, buyer_hint)
        return Structure("tender", covered={n.id for n in names}, anchor=announcer.id)
    buyer = buyer_name(sentence, names, patterns)
    buyer_id = buyer.id if buyer is not None else buyer_hint
    if buyer_id is None:
        return None
    structure = Structure("tender", covered={buyer_id}, anchor=buyer_id)
    winners = []
    for n in names:
        if n.id == buyer_id:
            continue
        structure.covered.add(n.id)
        if not _may_win(sentence, n, patterns):
            continue
        winners.append(n.id)
        structure.links.append(Link(n.id, buyer_id, "directed", "bid_award", "new"))
    if _CONSORTIUM.search(sentence):
        structure.links += [Link(a, b, "mutual", "joint_development", "new")
                            for i, a in enumerate(winners) for b in winners[i + 1:]]
    return structure if structure.links else None


def _may_win(sentence: str, name: Name, patterns: Patterns) -> bool:
    """Whether a name of a tender sentence may be a winning bidder: no news source, no name inside a
    《》 title, no trading platform (``not_party``), no tender agent and no losing bidder."""
    before, after = _around(sentence, name)
    return not (name.kind in _NEVER_PARTY or in_book_title(sentence, name)
                or patterns.any("tender", "not_party", sentence[name.start:name.end])
                or patterns.any("tender", "agent_before", before) or patterns.any("tender", "loser_before", before)
                or patterns.any("tender", "loser_after", after))


def _listed_winners(sentence: str, names: Sequence[Name], patterns: Patterns, buyer: int | None) -> Structure | None:
    """A sentence of a tender document that shares out the award without the word 中标 ("按金额算, A拿下最大
    份额, 其后依次是B、C和D", "B和C分获27%和23%"): with the buyer known (the headline's or an earlier
    sentence's), its names are winning bidders; names in a buyer's place of their own ("中国电信…集采")
    and news sources are not."""
    if buyer is None or not patterns.any("tender", "winner_cue", sentence):
        return None
    structure = Structure("tender", covered={n.id for n in names}, anchor=buyer)
    for n in names:
        if n.id == buyer or not _may_win(sentence, n, patterns) or patterns.any("tender", "buyer_after", _around(sentence, n)[1]):
            continue
        structure.links.append(Link(n.id, buyer, "directed", "bid_award", "new"))
    return structure if structure.links else None


def title_buyer(title: str, names: Sequence[Name], patterns: Patterns | None = None) -> int | None:
    """The buyer a tender headline names ("中国移动PC服务器集采第二批次中标候选人公示"): :func:`buyer_name`
    read on the title when it reports a tender's result (``title_trigger``); None otherwise."""
    patterns = patterns or load_patterns()
    if not names or not patterns.any("tender", "title_trigger", title):
        return None
    buyer = buyer_name(title, names, patterns)
    return buyer.id if buyer is not None else None


def read_cobuild(sentence: str, names: Sequence[Name], patterns: Patterns) -> Structure | None:
    """N >= ``min_parties`` organisations listed right before "共建/共同设立/jointly set up" (joined
    only by 、/和/与/及/and): every pair, mutual, with the kind of the thing built."""
    spec = patterns.groups["cobuild"]
    match = next((m for p in spec["trigger"] for m in [p.search(sentence)] if m), None)
    if match is None:
        return None
    before = [n for n in names if n.end <= match.start()]
    parties: list[Name] = []
    edge = match.start()
    for n in reversed(before):
        gap = sentence[n.end:edge]
        if parties and not _LIST_GAP.match(gap):
            break
        if not parties and not _TAIL_GAP.match(gap):
            break
        if n.kind in _NEVER_PARTY:
            break
        parties.insert(0, n)
        edge = n.start
    leader = next((n for n in reversed(before) if parties and n.end <= parties[0].start), None)
    if leader is not None and leader.kind not in _NEVER_PARTY and _LED.match(sentence[leader.end:parties[0].start]):
        parties.insert(0, leader)  # "由A牵头，联合B、C、D等…共同倡议组建": A builds it too
    if len(parties) < int(spec["min_parties"]):
        return None
    built = sentence[match.end():match.end() + 24]
    subject = sentence[max(0, parties[0].start - 24):parties[0].start]
    kind = next((k for k, ps in spec["kinds"].items() if any(p.search(built) for p in ps)), None)
    if kind is None and _BUILT_BY.search(subject):
        # "联盟由A、B、C共同发起", "该联盟由A牵头，联合…": the thing built is named first
        kind = next((k for k, ps in spec["kinds"].items() if any(p.search(subject) for p in ps)), None)
    kind = kind or spec["default_kind"]
    status = status_of(sentence)
    structure = Structure("cobuild", covered={n.id for n in parties})
    ids = list(dict.fromkeys(n.id for n in parties))
    structure.links += [Link(a, b, "mutual", kind, status) for i, a in enumerate(ids) for b in ids[i + 1:]]
    return structure if structure.links else None


def built_kind(text: str, patterns: Patterns | None = None) -> str | None:
    """The kind of what ``text`` says is co-built ("共建…实验室" -> joint_lab), when a co-building
    trigger of ``cobuild`` is in it and a kind of ``cobuild.kinds`` follows; else None."""
    spec = (patterns or load_patterns()).groups["cobuild"]
    match = next((m for p in spec["trigger"] for m in [p.search(text)] if m), None)
    if match is None:
        return None
    built = text[match.end():match.end() + 24]
    return next((k for k, ps in spec["kinds"].items() if any(p.search(built) for p in ps)), None)


def _list_from(sentence: str, ordered: Sequence[Name], i: int) -> list[Name]:
    """The names listed from ``ordered[i]`` on: each next one joined to the one before by a list
    separator (:data:`_LIST_GAP`: 、, 和, 及, "and", a bracketed short name between)."""
    listed = [ordered[i]]
    for n in ordered[i + 1:]:
        if not _LIST_GAP.match(sentence[listed[-1].end:n.start]):
            break
        listed.append(n)
    return listed


def read_members(sentence: str, names: Sequence[Name], patterns: Patterns) -> Structure | None:
    """The members of one alliance listed together ("its members include A, B, C", "成员单位包括A、B、C",
    "an alliance that groups … with GPU makers including A, B and C"): ``min_parties`` or more names
    in a list right after a ``members`` cue of ``etl/lexicons/structures.yml`` (the generic
    ``members_weak`` cues only in a sentence naming an alliance), or in a list right before a
    ``members_after`` cue ("A、B、C等12家单位成为首批成员单位"): every pair, mutual
    ``alliance_membership`` (ANNOTATION.md: N parties jointly building one thing)."""
    spec = patterns.groups["cobuild"]
    alliance = any(p.search(sentence) for p in spec["alliance"])
    ordered = sorted(names, key=lambda n: n.start)
    structure = Structure("members")
    for i, first in enumerate(ordered):
        if first.id in structure.covered:
            continue
        before = sentence[max(0, first.start - 60):first.start]
        if not (any(p.search(before) for p in spec["members"])
                or (alliance and any(p.search(before) for p in spec["members_weak"]))):
            continue
        listed = _list_from(sentence, ordered, i)
        ids = list(dict.fromkeys(n.id for n in listed if n.kind not in _NEVER_PARTY))
        if len(ids) < int(spec["min_parties"]):
            continue
        _add_members(structure, ids, sentence)  # one sentence may list the members of two alliances
    for i, last in enumerate(ordered):  # the list before its cue: "A、B、C等12家单位成为首批成员单位"
        if last.id in structure.covered or not any(p.match(sentence[last.end:]) for p in spec.get("members_after", ())):
            continue
        listed = [last]
        for n in reversed(ordered[:i]):
            if not _LIST_GAP.match(sentence[n.end:listed[0].start]):
                break
            listed.insert(0, n)
        ids = list(dict.fromkeys(n.id for n in listed if n.kind not in _NEVER_PARTY))
        if len(ids) >= int(spec["min_parties"]):
            _add_members(structure, ids, sentence)
    return structure if structure.links else None


def _add_members(structure: Structure, ids: list[int], sentence: str) -> None:
    """Every pair of one alliance's members ``ids``: mutual ``alliance_membership``, the sentence's status."""
    structure.covered.update(ids)
    status = status_of(sentence)
    structure.links += [Link(a, b, "mutual", "alliance_membership", status) for a, b in itertools.combinations(ids, 2)]


def read_hub(sentence: str, names: Sequence[Name], patterns: Patterns) -> Structure | None:
    """One party signing with a list of others ("燧原科技与庆阳市人民政府、弘信电子、美图公司共同签订…",
    "天津市…又与中国铁建、联想集团、百度集团等签署协议", "X signed agreements with A, B and C"): the list of
    two or more names right after "与/同/跟/with", and a signing verb soon after it. The hub is the
    last name before the connector. Separately ("分别与", "先后与", "签下14项协议": ``separately``): the
    hub with each, the listed names no pair of their own (ANNOTATION.md, Pairs: "one hub signing
    separately with several parties: one relation per pair"); otherwise jointly: every pair of the
    hub and the list (a many-party agreement). Mutual ``strategic_agreement`` relations; the
    caller's direction rules apply after. A co-building verb instead of a signing one ("与A、B、C在上海
    共同发起成立…联盟": ``build``) makes them co-builders: the kind of the thing built only."""
    spec = patterns.groups["hub"]
    ordered = sorted(names, key=lambda n: n.start)
    for i, first in enumerate(ordered):
        if not any(p.search(sentence[max(0, first.start - 60):first.start]) for p in spec["connector"]):
            continue
        listed = _list_from(sentence, ordered, i)
        tail = sentence[listed[-1].end:listed[-1].end + 40]
        verb = next((m for p in spec["sign"] for m in [p.search(tail)] if m), None)
        building = None
        if verb is None:  # "X与A、B、C在上海共同发起成立…联盟": a co-building of the hub and the list, jointly
            building = verb = next((m for p in spec["build"] for m in [p.search(tail)] if m), None)
        # or the verb before the list: "SenseTime signed separate MoUs with three organisations: A, B and C"
        signed_before = any(p.search(sentence[max(0, first.start - 100):first.start]) for p in spec["sign_before"])
        if len(listed) < 2 or (verb is None and not signed_before):
            continue
        hubs = [n for n in ordered[:i] if n.kind not in _NEVER_PARTY and n.id not in {m.id for m in listed}]
        if not hubs or any(n.kind in _NEVER_PARTY for n in listed):
            continue
        hub = hubs[-1]
        ids = list(dict.fromkeys([hub.id] + [n.id for n in listed]))
        status = status_of(sentence)
        around = sentence[max(0, first.start - 100):listed[-1].end] + tail
        before_verb = tail[:verb.end()] if verb is not None else ""
        jointly = (any(p.search(before_verb) for p in spec["jointly"])
                   or not any(p.search(around) for p in spec["separately"]))
        structure = Structure("hub", covered=set(ids), anchor=None if jointly else hub.id)
        pairs = list(itertools.combinations(ids, 2)) if jointly else [(hub.id, b) for b in ids[1:]]
        built = built_kind(sentence[listed[-1].end:], patterns)  # "签署合作协议共建精准检验检测中心": a lab too
        if building is not None:  # built, not signed: only the kind of the thing built
            kind = built or patterns.groups["cobuild"]["default_kind"]
            structure.links += [Link(a, b, "mutual", kind, status) for a, b in pairs]
            return structure
        structure.links += [Link(a, b, "mutual", "strategic_agreement", status) for a, b in pairs]
        if built is not None:
            structure.links += [Link(a, b, "mutual", built, status) for a, b in pairs]
        return structure
    return None


def read_structures(sentences: Iterable[tuple[str, Sequence[Name]]], patterns: Patterns | None = None,
                    funded_hint: int | None = None, buyer_hint: int | None = None) -> list[Structure | None]:
    """Every sentence's structure (None where it has none), in order.

    Funding and tender sentences that name their investors or bidders but not the funded firm
    or the buyer take the one the document named earlier (a list of followers in the next sentence),
    or ``funded_hint``/``buyer_hint``, the firm the headline funds or the buyer it names
    (:func:`title_funded`, :func:`title_buyer`), before any.
    """
    patterns = patterns or load_patterns()
    out: list[Structure | None] = []
    for sentence, names in sentences:
        names = list(names)
        found = read_funding(sentence, names, patterns, funded_hint)
        if found is not None:
            funded_hint = found.anchor if found.anchor is not None else funded_hint
        else:
            found = read_tender(sentence, names, patterns, buyer_hint)
            if found is not None:
                buyer_hint = found.anchor if found.anchor is not None else buyer_hint
            else:
                found = (read_cobuild(sentence, names, patterns) or read_members(sentence, names, patterns)
                         or read_hub(sentence, names, patterns))
        out.append(found if found is not None and len(found.covered) >= 2 else None)
    return out


def title_funded(title: str, names: Sequence[Name], patterns: Patterns | None = None) -> int | None:
    """The firm a funding headline funds ("昉擎科技完成总计数亿元天使轮融资", "Hesai lands $300M led by
    Hillhouse"): :func:`funded_name` read on the title, with the document's names found in it; None
    when the title reports no round. News of a round names the funded firm in its headline and
    often only there; the sentences listing "本轮由A领投, B跟投" then fund it."""
    patterns = patterns or load_patterns()
    if not names or not patterns.any("funding", "trigger", title) or not _FUNDED_NEWS.search(title):
        return None
    funded = funded_name(title, names, patterns)
    return funded.id if funded is not None else None


def headline_subjects(title: str, patterns: Patterns | None = None) -> list[str]:
    """The names a funding headline gives its funded firm (``headline_subject`` of
    ``etl/lexicons/structures.yml``), in pattern order; the caller keeps the longest end or beginning
    of each that the text writes."""
    patterns = patterns or load_patterns()
    return [m.group("name").strip() for p in patterns.groups["funding"]["headline_subject"] for m in p.finditer(title)]
