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
from pathlib import Path

import ahocorasick

from common.datafiles import read_yaml
from etl.normalize import Normalised, find_dates, normalise, sentences

EXTRACTOR_VERSION = "rules-1.0"
LEXICON_DIR = Path(__file__).resolve().parent / "lexicons"
_ABBREVIATION = re.compile(
    r"[（(](?:(?:以下)?(?:简称|下称|简称为|统称)[:：]?|[“\"「『])[^（()）]{0,60}?[）)]"
)
_QUOTED = re.compile(r"[“\"「『]([^”\"」』]{2,30})[”\"」』]")
_TOKEN_ABBREV = re.compile(r"[（(](?:以下)?(?:简称|下称|简称为)[:：]?[“\"「『]?(?:⟨\d+⟩|[^）)]*?)[”\"」』]?[）)]")
_NAME_CHARS = r"[\u4e00-\u9fa5A-Za-z0-9（）()·&]"
_EN_ORG = re.compile(
    r"(?:[A-Z][A-Za-z0-9&'\-\.]*\s(?:(?:of|and|for|de)\s)?){0,7}[A-Z][A-Za-z0-9&'\-\.]*,?\s"
    r"(?:Co\.,?\s?Ltd\.?|Pte\.\s?Ltd\.?|Inc\.|Corporation|Corp\.|Limited|Ltd\.|Group|University|Institute|Laboratory|"
    r"Technology|Technologies|Airport|Bank|Hospital|Government|Bureau|Ministry|Commission|Association|Alliance|"
    r"Academy|College|Authority|Council|Holdings)(?![A-Za-z])"
)
_SELF = re.compile(r"(?:本公司|该公司|(?<=[，,。；：:\s])公司)(?=与|和|同|将为|为|向|已与|拟与)")
_SPLIT = re.compile(r"[，,。；;：:、\s“”\"《》]|与|及|携手|联手|以及|并与")


@dataclass(frozen=True)
class OrgRef:
    """A known organisation a name stands for (from a registry, the seed gazetteer or the database)."""

    canonical: str
    kind: str | None = None
    province: str | None = None
    org_id: int | None = None


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

    @property
    def cooperation_phrases(self) -> list[str]:
        """Every phrase that marks a sentence as talking about cooperation."""
        return [p for _, phrases in self.kinds for p in phrases]


@lru_cache(maxsize=4)
def load_lexicon(directory: Path = LEXICON_DIR) -> Lexicon:
    """Load the rule lexicons from ``directory``."""
    def read(name: str) -> dict:
        return read_yaml(directory / name)

    rel, orgs = read("relation_kinds.yml"), read("org_suffixes.yml")
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
        suffix_starts=re.compile(
            f"(?=({'|'.join(re.escape(x) for x in sorted(orgs['suffixes'], key=len, reverse=True))}))"
        ),
        name_pattern=re.compile(
            f"{_NAME_CHARS}{{1,30}}(?:{'|'.join(re.escape(x) for x in sorted(orgs['suffixes'], key=len, reverse=True))})"
        ),
    )


class Gazetteer:
    """Known organisation names -> :class:`OrgRef` (or any key), matched in one pass.

    One Aho-Corasick automaton over every name; matches are leftmost-longest (``iter_long``),
    so ``北京百度网讯科技有限公司`` wins over ``百度``. A name registered for two different keys is
    ambiguous and not matched.
    """

    #: Names added after the main automaton was built are searched in a small second automaton,
    #: rebuilt after every addition; the main one is rebuilt when about sqrt(2 * its size) have
    #: accumulated — which balances the two rebuild costs (r/2 per addition against size/r) —
    #: and at least ``REBUILD_AFTER``.
    REBUILD_AFTER = 100

    def _rebuild_after(self) -> int:
        return max(self.REBUILD_AFTER, int((2 * len(self._built)) ** 0.5))

    def __init__(self, names: dict[str, object] | None = None) -> None:
        self._names: dict[str, object] = {}
        self._ambiguous: set[str] = set()
        self._automaton: ahocorasick.Automaton | None = None
        self._built: set[str] = set()  # names in the main automaton
        self._recent: ahocorasick.Automaton | None = None
        self._recent_names: set[str] = set()
        self._stale = False  # the main automaton holds a name that is ambiguous or re-keyed now
        for name, key in (names or {}).items():
            self.add(name, key)

    def add(self, name: str, key: object) -> None:
        """Register ``name`` for ``key`` (a second, different key makes the name ambiguous)."""
        name = name.strip()
        if len(name) < 2:
            return
        if name in self._names and self._names[name] != key:
            self._ambiguous.add(name)
            self._stale = self._stale or name in self._built
        self._names.setdefault(name, key)
        if name not in self._built and name not in self._recent_names:  # automata hold names, not keys
            self._recent_names.add(name)
            self._recent = None

    def replace(self, name: str, key: object) -> None:
        """Map ``name`` to ``key``, replacing a previous (e.g. provisional) key."""
        self._names.pop(name, None)
        self._ambiguous.discard(name)
        self.add(name, key)

    def __contains__(self, name: str) -> bool:
        return name in self._names and name not in self._ambiguous

    def __len__(self) -> int:
        return len(self._names) - len(self._ambiguous)

    def get(self, name: str) -> object | None:
        """The key of an unambiguous name."""
        return self._names.get(name) if name not in self._ambiguous else None

    @staticmethod
    def _build(names: set[str] | list[str]) -> ahocorasick.Automaton | None:
        if not names:
            return None
        automaton = ahocorasick.Automaton()
        for name in names:
            automaton.add_word(name, name)
        automaton.make_automaton()
        return automaton

    def _matches(self, automaton: ahocorasick.Automaton | None, text: str) -> list[tuple[int, int, str]]:
        if automaton is None:
            return []
        found = []
        for end, name in automaton.iter_long(text):
            if name in self._ambiguous or name not in self._names:
                continue
            found.append((end - len(name) + 1, end + 1, name))
        return found

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """Non-overlapping (start, end, name) matches, leftmost-longest."""
        if len(self) == 0:
            return []
        if self._automaton is None or self._stale or len(self._recent_names) > self._rebuild_after():
            self._built = {n for n in self._names if n not in self._ambiguous}
            self._automaton = self._build(self._built)
            self._recent_names, self._recent, self._stale = set(), None, False
        if self._recent is None and self._recent_names:
            self._recent = self._build(sorted(self._recent_names))
        candidates = self._matches(self._automaton, text)
        if self._recent_names:
            candidates += self._matches(self._recent, text)
            candidates.sort(key=lambda c: (c[0], -(c[1] - c[0])))
        found = []
        last_end = -1
        for start, stop, name in candidates:
            if start < last_end:
                continue
            end = stop - 1
            # an English name must not start or end inside a word ("AMD" in "AMDs", "TI" in "TIME")
            if name.isascii() and ((start > 0 and _ascii_alnum(text[start - 1])) or
                                   (end + 1 < len(text) and _ascii_alnum(text[end + 1]))):
                continue
            last_end = stop
            found.append((start, end + 1, name))
        return found


_LEGAL = re.compile(r"(?:股份有限公司|有限责任公司|有限公司|集团股份有限公司|集团有限公司|集团公司|集团|公司|"
                    r",?\s*(?:Co\.,?\s?Ltd\.?|Limited|Inc\.|Corp\.?|Corporation|Group))$")
_GENERIC_TAIL = re.compile(r"(?:信息技术|数字技术|数字科技|网络科技|智能科技|科技|技术|信息|数据|网络|智能|软件|电子|通信|控股|自动化|数码|汽车)$")
_TELECOM_BRANCH = re.compile(r"^中国(电信|移动|联通)")
_GOVERNMENT = re.compile(r"^([\u4e00-\u9fa5]{2,8}?)(省|市|自治区|区|县)人民政府$")


_EN_PLACES = {"the", "china", "beijing", "shanghai", "shenzhen", "hangzhou", "guangzhou", "nanjing", "suzhou", "wuhan",
              "chengdu", "hefei", "tianjin", "chongqing", "xi'an", "hong", "kong", "singapore", "taiwan", "taipei"}


@lru_cache(maxsize=1)
def _place_prefixes() -> tuple[str, ...]:
    """Province and city names and stems (longest first), to strip from names for short forms."""
    path = Path(__file__).resolve().parents[1] / "db" / "data" / "provinces.yml"
    data = read_yaml(path)
    names: set[str] = set()
    for province in data["provinces"] if isinstance(data, dict) else data:
        names.update({province["name"], province.get("short_name") or province["name"]})
        for city in province.get("cities", []):
            names.add(city["name"])
            if city["name"].endswith("市") and len(city["name"]) > 2:
                names.add(city["name"][:-1])
    return tuple(sorted(names, key=len, reverse=True))


@lru_cache(maxsize=65536)
def short_forms(name: str, kind: str | None = None) -> tuple[str, ...]:
    """Usual short forms of an organisation's full name, for reading the rest of a document.

    上海电气集团股份有限公司 -> 上海电气; 北京智谱华章科技有限公司 -> 智谱华章;
    中国移动通信集团江苏有限公司 -> 江苏移动; 合肥市人民政府 -> 合肥市, 合肥; UBTech Robotics Corp.,
    Ltd. -> UBTech. Forms shorter than three characters are kept only for governments' places.
    """
    forms: list[str] = []
    gov = _GOVERNMENT.match(name)
    if gov:
        forms += [gov.group(1) + gov.group(2), gov.group(1)]
        return tuple(f for f in forms if len(f) >= 2)
    telecom = _TELECOM_BRANCH.match(name)
    if telecom or name.endswith("分公司"):  # branches: 江苏移动, 成都电信 ...; no other short forms
        if telecom:
            rest = name[4:]
            place = next((p for p in _place_prefixes() if p in rest), None)
            if place:
                forms.append(place.removesuffix("省").removesuffix("市") + telecom.group(1))
        return tuple(f for f in forms if len(f) >= 3)
    if name.isascii():
        words = [w.strip(",") for w in name.split()]
        while words and words[0].lower() in _EN_PLACES:
            words = words[1:]
        if len(words) >= 2 and len(words[0]) >= 3 and words[0][0].isupper():
            forms.append(words[0])
        return tuple(forms)
    core = re.sub(r"[（(][^）)]*[）)]", "", name)
    for _ in range(3):
        core = _LEGAL.sub("", core)
    if len(core) >= 3 and core != name:
        forms.append(core)
    for place in _place_prefixes():
        if core.startswith(place) and len(core) - len(place) >= 3:
            core = core[len(place) :]
            forms.append(core)
            break
    if core.startswith("中国") and len(core) >= 6:
        core = core[2:]
        forms.append(core)
    tail = _GENERIC_TAIL.sub("", core)
    if tail != core and len(tail) >= 2 and not (len(tail) == 2 and kind not in ("firm", None)):
        forms.append(tail)
    return tuple(dict.fromkeys(f for f in forms if len(f) >= 2 and f != name))


def _key_name(key: object, name: str) -> str:
    return key.canonical if isinstance(key, OrgRef) else name


def _ascii_alnum(ch: str) -> bool:
    """An ASCII letter: English names end at anything else ("Tsinghua University2018年" is a name)."""
    return ch.isascii() and ch.isalpha()


@dataclass(frozen=True)
class Mention:
    """An organisation named in the text (offsets in the normalised document text)."""

    start: int
    end: int
    name: str  # as matched in the normalised text
    key: object | None  # gazetteer key (OrgRef, id ...) or None for a discovered name
    kind: str | None = None
    surface: str = ""  # as written in the original text
    entity: str = ""  # identity within the document: canonical name, or the name a short name stands for

    @property
    def identity(self) -> str:
        """The organisation this mention stands for (canonical name when known)."""
        if self.entity:
            return self.entity
        return self.key.canonical if isinstance(self.key, OrgRef) else self.name


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


# --------------------------------------------------------------------------- mentions


def organisation_kind(name: str, lexicon: Lexicon) -> str | None:
    """Kind of an organisation from its name (foreign markers, then the longest known suffix)."""
    if any(marker in name for marker in lexicon.foreign_markers):
        return "foreign_firm"
    if name.isascii():
        lowered = name.lower()
        if "university" in lowered:
            return "university"
        if "institute" in lowered or "laborator" in lowered:
            return "research_institute"
        return "foreign_firm"
    for suffix, kind in lexicon.suffixes.items():
        if name.endswith(suffix):
            return kind
    return None


def discover(segment: str, offset: int, lexicon: Lexicon) -> list[Mention]:
    """Unseen organisation names in ``segment`` (text not covered by known names)."""
    pattern = lexicon.name_pattern
    found: list[Mention] = []
    for m in _EN_ORG.finditer(segment):
        raw = m.group(0)
        lead = len(raw) - len(raw.lstrip())
        name = raw.strip().rstrip(",")
        if name.startswith("The "):
            name, lead = name[4:], lead + 4
        begin = offset + m.start() + lead
        found.append(Mention(begin, begin + len(name), name, None, organisation_kind(name, lexicon)))
    taken = [(m.start - offset, m.end - offset) for m in found]
    pos = 0
    for piece in _SPLIT.split(segment):
        start = segment.find(piece, pos) if piece else -1
        if start < 0:
            continue
        pos = start + len(piece)
        for name, name_start in _names_in_piece(piece, pattern, lexicon):
            begin = start + name_start
            if any(not (begin + len(name) <= a or begin >= b) for a, b in taken):
                continue
            found.append(Mention(offset + begin, offset + begin + len(name), name, None,
                                 organisation_kind(name, lexicon)))
    return found


#: A "name" with one of these is a person or an office holder, not an organisation.
_PERSON_TITLE = re.compile(r"书记|省长|市长|区长|县长|主任|厅长|局长|部长|董事长|总经理|总裁|负责人|代表|院长|校长|主席|CEO|记者|专家|教授")
_NOT_A_NAME_PART = re.compile(r"设立|成立|共建|组建|签署|签订|举行|发布|宣布|提供|打造|建设|合作|联合|携手|共同|与|和|的|在|为|向|将")
#: Inside a discovered candidate, a name starts after the last of these words.
_NAME_START_CUT = re.compile(r"基于|依托|上线|中标|引入|采用|部署|采购|选用|收到|加入|使用|接入|搭载|助力|赋能|携手|签约|"
                             r"宣布|与|在|的|向|由|为|将")


def _names_in_piece(piece: str, pattern: re.Pattern[str], lexicon: Lexicon) -> list[tuple[str, int]]:
    """Organisation names in one piece of text: each ends at an organisation suffix; a name
    extends to a later suffix only over a short, name-like stretch (中国移动通信集团浙江有限公司
    is one name; 广州某某有限公司设立联合实验室 is a name and a phrase)."""
    ends = [m.start() + len(m.group(1)) for m in lexicon.suffix_starts.finditer(piece)]
    names: list[tuple[str, int]] = []
    cursor = 0
    k = 0
    while k < len(ends):
        end = ends[k]
        while k + 1 < len(ends):
            gap = piece[end : ends[k + 1]]
            generic = any(r.search(gap) for r in lexicon.reject[:1])  # "数据中心" after a name: a facility
            if len(gap) <= 8 and not _NOT_A_NAME_PART.search(gap) and not generic:
                k += 1
                end = ends[k]
            else:
                break
        m = pattern.search(piece[cursor:end])
        if m and m.end() == end - cursor:
            name, name_start = m.group(0), cursor + m.start()
            stripped = name.lstrip("）)”\"」")  # the tail of a preceding "（以下简称“X”）"
            name, name_start = stripped, name_start + len(name) - len(stripped)
            cuts = [c.end() for c in _NAME_START_CUT.finditer(name) if len(name) - c.end() >= 4]
            if cuts:
                name, name_start = name[cuts[-1] :], name_start + cuts[-1]
            changed = True
            while changed:
                changed = False
                for noise in lexicon.leading_noise:
                    if name.startswith(noise) and len(name) - len(noise) >= 4:
                        name, name_start = name[len(noise) :], name_start + len(noise)
                        changed = True
            if not (len(name) < 4 or re.search(r"\d{4}年|\d+月", name) or any(r.search(name) for r in lexicon.reject)):
                names.append((name, name_start))
        cursor = end
        k += 1
    return names


def find_mentions(
    text: str, start: int, end: int, gazetteer: Gazetteer, lexicon: Lexicon, declared: dict[str, Mention]
) -> list[Mention]:
    """Known, declared and discovered organisation mentions in ``text[start:end]``, in order."""
    sentence = text[start:end]
    mentions = []
    for s, e, n in gazetteer.find(sentence):
        if len(n) <= 4 and not n.isascii():  # a short alias may begin a longer unknown name
            longer = _names_in_piece(_SPLIT.split(sentence[s:], maxsplit=1)[0], lexicon.name_pattern, lexicon)
            extension = longer[0][0][len(n):] if longer else ""
            if (longer and longer[0][1] == 0 and len(longer[0][0]) >= len(n) + 2
                    and not _NOT_A_NAME_PART.search(extension) and not lexicon.reject[0].search(extension)):
                continue
        if n.isascii():  # "BYD" in "BYD Company Limited": the name goes on
            tail = re.match(r"(?:\s(?:Company|Co\.,?|Corporation|Corp\.?|Group|Limited|Ltd\.?|Inc\.?|Holdings))+",
                            sentence[e:])
            if tail:
                e += len(tail.group(0).rstrip(","))
                mentions.append(Mention(start + s, start + e, sentence[s:e], gazetteer.get(n), entity=_key_name(gazetteer.get(n), n)))
                continue
        mentions.append(Mention(start + s, start + e, n, gazetteer.get(n)))
    for short, target in sorted(declared.items(), key=lambda kv: -len(kv[0])):  # longest first
        at = sentence.find(short)
        while at >= 0:
            a, b = start + at, start + at + len(short)
            at = sentence.find(short, at + len(short))
            if all(b <= x.start or a >= x.end for x in mentions):
                mentions.append(Mention(a, b, short, target.key, target.kind, entity=target.identity))
    mentions.sort(key=lambda m: m.start)
    gaps, cursor = [], start
    for m in mentions:
        gaps.append((cursor, text[cursor : m.start]))
        cursor = max(cursor, m.end)
    gaps.append((cursor, text[cursor:end]))
    for offset, segment in gaps:
        mentions.extend(discover(segment, offset, lexicon))
    mentions.sort(key=lambda m: m.start)
    if lexicon.contextual and relation_kind(sentence, lexicon) is not None:
        for _ in range(2):
            found = _contextual(text, start, end, mentions, lexicon)
            if not found:
                break
            mentions = sorted(mentions + found, key=lambda m: m.start)
    return mentions


def _contextual(text: str, start: int, end: int, mentions: list[Mention], lexicon: Lexicon) -> list[Mention]:
    """Short names without a suffix, found by their place next to a known party in a cooperation
    phrase ("⟨华为⟩与地平线签署", "小马智行将为⟨B⟩提供", "X and ⟨B⟩ signed")."""
    tokens, index = [], []  # token string and, per character, its offset in the text (-1 inside tokens)
    cursor = start
    for i, m in enumerate(mentions):
        for pos in range(cursor, m.start):
            tokens.append(text[pos])
            index.append(pos)
        marker = f"⟨{i}⟩"
        tokens.extend(marker)
        index.extend([-1] * len(marker))
        cursor = m.end
    for pos in range(cursor, end):
        tokens.append(text[pos])
        index.append(pos)
    token_text = "".join(tokens)
    found: list[Mention] = []
    taken = [(m.start, m.end) for m in mentions]
    for pattern in lexicon.contextual:
        for cm in pattern.finditer(token_text):
            a, b = cm.start(1), cm.end(1)
            if a < 0 or -1 in index[a:b]:
                continue
            name = cm.group(1).strip()
            lo = index[a] + (len(cm.group(1)) - len(cm.group(1).lstrip()))
            prefix = re.match(r"(?:老股东|原股东|股东|投资方|战略投资方|合作伙伴|客户|其中|以及|此外)", name)
            if prefix and len(name) - prefix.end() >= 2:
                name, lo = name[prefix.end():], lo + prefix.end()
            hi = lo + len(name)
            if re.match(r"[该此本这其]", name):
                continue
            if (name in lexicon.stop or len(name) < 2 or _PERSON_TITLE.search(name) or re.search(r"\d", name) or _NOT_A_NAME_PART.search(name)
                    or any(not (hi <= x or lo >= y) for x, y in taken) or relation_kind(name, lexicon)
                    or _labels(name, lexicon.tech) or _labels(name, lexicon.domains)):
                continue
            taken.append((lo, hi))
            found.append(Mention(lo, hi, name, None, organisation_kind(name, lexicon) or "firm"))
    return found


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


def _labels(text: str, lexicon_map: dict[str, list[str]]) -> list[str]:
    return matcher_for(lexicon_map).labels(text)


def relation_kind(sentence: str, lexicon: Lexicon) -> str | None:
    """The first cooperation kind whose phrase occurs in the sentence (None: no cooperation phrase)."""
    return matcher_for(lexicon.kinds).first(sentence)


_CUE_GROUPS: dict[int, tuple[list[str], list[tuple[str, list[str]]]]] = {}


def _cue(text: str, phrases: list[str]) -> bool:
    """Whether one of the cue ``phrases`` occurs in ``text`` (ASCII cues as whole words)."""
    entry = _CUE_GROUPS.get(id(phrases))
    if entry is None or entry[0] is not phrases:
        entry = (phrases, [("cue", phrases)])
        _CUE_GROUPS[id(phrases)] = entry
    return matcher_for(entry[1]).any(text)


def _core(name: str) -> str:
    for suffix in ("股份有限公司", "有限责任公司", "有限公司", "集团", "公司"):
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
    if _cue(s.text, lexicon.negation):
        return [], non_party
    kind = relation_kind(s.text, lexicon)
    mentions = list(s.mentions)
    subject_index = None
    if subject is not None:
        subject_index = next((i for i, m in enumerate(mentions) if m.identity == subject.identity), None)
        if subject_index is None:
            subject_index = len(mentions)
            mentions.append(subject)

    dates = [d for d in find_dates(s.text, published) if d.kind != "vague" or not year_hint[1]]
    day, year = next(((d.day, d.year) for d in dates if d.year), year_hint)
    status = "new"
    also_historical: int | None = None
    if _cue(s.text, lexicon.terminated):
        status = "terminated"
    else:
        news = _cue(s.text, lexicon.news_cues)
        full_dated = any(d.day is not None and d.kind == "full" for d in dates)
        for pattern in lexicon.historical:
            hm = pattern.search(s.text)
            if hm:
                value = hm.group(1)
                base = published.year if published else (year or 0)
                earlier = {"去年": base - 1, "前年": base - 2}.get(value) or int(value)
                if news or (full_dated and earlier != year):
                    also_historical = earlier  # a new cooperation that recalls an older one: both
                else:
                    status, year, day = "historical", earlier, None
                break
    tech = _labels(s.text, lexicon.tech) or doc_labels[0]
    domains = _labels(s.text, lexicon.domains) or doc_labels[1]
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
    # multi-party lists: ⟨a⟩、⟨b⟩和⟨c⟩ -> every pair
    for m in re.finditer(r"⟨\d+⟩(?:(?:[、，]|和|与|及|以及|,? and (?:the )?|, (?:the )?)⟨\d+⟩){2,}", tokens):
        members = [int(x) for x in re.findall(r"⟨(\d+)⟩", m.group(0))]
        for i, j in combinations(members, 2):
            emit(i, j, "mutual", conf["multiparty"], kind)
    for pattern in lexicon.mutual:
        for m in pattern.finditer(tokens):
            emit(int(m.group(1)), int(m.group(2)), "mutual", conf["mutual"], kind)
    if also_historical is not None:
        for r in list(relations):
            relations.append(Relation(r.provider, r.receiver, r.direction, "other", "historical", also_historical,
                                      None, r.tech_categories, r.application_domains, r.sentence, r.confidence))
    return relations, non_party


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
    labels = (_labels((title or "") + "\n" + doc, lexicon.tech), _labels((title or "") + "\n" + doc, lexicon.domains))
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
    relations = _unify_short_names(relations, all_mentions)
    if any(c in doc for c in lexicon.denial):  # a clarification or denial: nothing new happened
        relations = [r for r in relations if r.status != "new"]
    relations = consolidate(relations)
    parties = {r.provider.name for r in relations} | {r.receiver.name for r in relations}
    return Extraction(relations, all_mentions, parties, non_parties - parties, labels[0], labels[1])


def _unify_short_names(relations: list[Relation], mentions: list[Mention]) -> list[Relation]:
    """A short discovered name ("智谱AI") that begins like another organisation of the document
    ("北京智谱华章科技有限公司" -> 智谱华章) stands for that organisation."""
    entities: dict[str, Mention] = {}
    for m in mentions:
        entities.setdefault(m.identity, m)
    targets: dict[str, Mention] = {}
    for ident, m in entities.items():
        if m.key is None and len(ident) <= 6 and not ident.isascii():
            for other_ident, other in entities.items():
                if other_ident == ident or len(ident) < 2:
                    continue
                forms = (other_ident, *short_forms(other_ident, other.kind))
                if any(f.startswith(ident[:2]) and f != ident for f in forms if len(f) >= 3):
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
