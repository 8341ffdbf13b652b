"""Finding organisations in text: the gazetteer of known names, short forms, and discovery of unseen names.

Known names are matched through Aho-Corasick automata (:class:`Gazetteer`, leftmost-longest);
unseen names are discovered by their legal or institutional suffix and by context. The short
forms of a full name (:func:`short_forms`) let the rest of a document refer to it briefly.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from functools import lru_cache

import ahocorasick

from common.vocab import LEGAL_SUFFIXES, place_prefixes
from db.taxonomy import load_provinces
from etl.lexicon import Lexicon, labels_in, relation_kind

_EN_ORG = re.compile(
    r"(?:[A-Z][A-Za-z0-9&'\-\.]*\s(?:(?:of|and|for|de)\s)?){0,7}[A-Z][A-Za-z0-9&'\-\.]*,?\s"
    r"(?:Co\.,?\s?Ltd\.?|Pte\.\s?Ltd\.?|Inc\.|Corporation|Corp\.|Limited|Ltd\.|Group|University|Institute|Laboratory|"
    r"Technology|Technologies|Airport|Bank|Hospital|Government|Bureau|Ministry|Commission|Association|Alliance|"
    r"Academy|College|Authority|Council|Holdings)(?![A-Za-z])"
)


_SPLIT = re.compile(r"[，,。；;：:、\s“”\"《》]|与|及|携手|联手|以及|并与")


@dataclass(frozen=True)
class OrgRef:
    """A known organisation a name stands for (from a registry, the seed gazetteer or the database)."""

    canonical: str
    kind: str | None = None
    province: str | None = None
    org_id: int | None = None
    #: a sample firm of the institute's registry: a core AI firm, a technology supplier by definition
    sample: bool = False


@dataclass
class _Changed:
    """What :meth:`Gazetteer.changed_in` keeps between calls: the names changed from ``since`` to
    ``upto``, in an automaton except the newest (``pending``, looked for one by one)."""

    since: int
    upto: int
    automaton: ahocorasick.Automaton | None = None
    pending: list[str] = field(default_factory=list)


class Gazetteer:
    """Known organisation names -> :class:`OrgRef` (or any key), matched in one pass.

    Matches are leftmost-longest over every known name, so ``北京百度网讯科技有限公司`` wins over
    ``百度``. A name registered for two different keys is ambiguous and not matched.

    The names are held in up to three Aho-Corasick automata (a gazetteer that grows while the
    loader adds organisations would otherwise rebuild one automaton over ~30,000 names again and
    again: issue 17). Names added after the main automaton was built go to a small *recent* one,
    rebuilt before the next search after an addition; past :data:`RECENT_MAX` names they move to
    a *middle* one; when the two hold more than :meth:`_rebuild_after` names, the main one is
    rebuilt over all. Every automaton reports all its matches (``iter``), and leftmost-longest is
    chosen over the union of the valid ones (:meth:`find`), so which automaton holds a name never
    changes what is found (``iter_long`` per automaton would: a long match in one hides a shorter,
    later one of another).
    """

    #: The main automaton is rebuilt when the names added since exceed ``max(REBUILD_AFTER, 8 * sqrt(size))``.
    REBUILD_AFTER = 100
    #: Names the recent automaton holds before they move to the middle one.
    RECENT_MAX = 64

    def _rebuild_after(self) -> int:
        return max(self.REBUILD_AFTER, int(8 * len(self._built) ** 0.5))

    def __init__(self, names: dict[str, object] | None = None) -> None:
        self._names: dict[str, object] = {}
        self._ambiguous: set[str] = set()
        self._automaton: ahocorasick.Automaton | None = None
        self._built: set[str] = set()  # names in the main automaton
        self._middle: ahocorasick.Automaton | None = None
        self._middle_names: set[str] = set()
        self._recent: ahocorasick.Automaton | None = None
        self._recent_names: set[str] = set()
        #: every name whose match (:meth:`get`, matched or not) changed, in order: see :meth:`changed_since`
        self._changes: list[str] = []
        self._base = 0  # the version before ``_changes[0]`` (a pickled copy keeps its version, not the list)
        #: this gazetteer's lineage (kept by a pickled copy): a version means something only within it
        self.lineage = uuid.uuid4().hex
        self._delta: _Changed | None = None  # :meth:`changed_in`'s memory
        for name, key in (names or {}).items():
            self.add(name, key)

    @property
    def version(self) -> int:
        """How many changes this gazetteer has seen (names added, re-keyed or made ambiguous)."""
        return self._base + len(self._changes)

    def changed_since(self, version: int) -> set[str] | None:
        """The names whose match changed after ``version`` (:attr:`version` then); None when this
        copy does not know (it was made from a pickle later than that)."""
        if version < self._base:
            return None
        return set(self._changes[version - self._base:])

    def __getstate__(self) -> dict[str, object]:
        """A pickled copy (a snapshot for the workers) keeps its version and lineage, not the change list."""
        return {**self.__dict__, "_changes": [], "_base": self.version, "_delta": None}

    def add(self, name: str, key: object) -> None:
        """Register ``name`` for ``key`` (a second, different key makes the name ambiguous)."""
        name = name.strip()
        before = (name in self, self.get(name))
        self._add(name, key)
        if (name in self, self.get(name)) != before:
            self._changes.append(name)

    def _add(self, name: str, key: object) -> None:
        if len(name) < 2:
            return
        if name in self._names and self._names[name] != key:
            self._ambiguous.add(name)  # (it stays in its automaton: :meth:`_matches` leaves it out)
        self._names.setdefault(name, key)
        if name not in self._built and name not in self._middle_names and name not in self._recent_names:
            self._recent_names.add(name)  # automata hold names, not keys
            self._recent = None

    def replace(self, name: str, key: object) -> None:
        """Map ``name`` to ``key``, replacing a previous (e.g. provisional) key."""
        name = name.strip()
        before = (name in self, self.get(name))
        self._names.pop(name, None)
        self._ambiguous.discard(name)
        self._add(name, key)
        if (name in self, self.get(name)) != before:
            self._changes.append(name)

    def __contains__(self, name: str) -> bool:
        return name in self._names and name not in self._ambiguous

    def __len__(self) -> int:
        return len(self._names) - len(self._ambiguous)

    def get(self, name: str) -> object | None:
        """The key of an unambiguous name."""
        return self._names.get(name) if name not in self._ambiguous else None

    def ambiguous(self, name: str) -> bool:
        """Whether ``name`` was registered for two different keys (and is therefore not matched)."""
        return name in self._ambiguous

    def entries(self) -> tuple[dict[str, object], frozenset[str]]:
        """Every unambiguous name with its key, and the ambiguous names (to compare two gazetteers)."""
        return ({n: k for n, k in self._names.items() if n not in self._ambiguous}, frozenset(self._ambiguous))

    @staticmethod
    def _build(names: set[str] | list[str]) -> ahocorasick.Automaton | None:
        if not names:
            return None
        automaton = ahocorasick.Automaton()
        for name in names:
            automaton.add_word(name, name)
        automaton.make_automaton()
        return automaton

    def _matches(self, text: str) -> list[tuple[int, int, str]]:
        """Every occurrence of a matchable name in ``text``, from all automata: (start, end, name),
        by start, the longest first."""
        found: set[tuple[int, int, str]] = set()
        for automaton in (self._automaton, self._middle, self._recent):
            if automaton is None:
                continue
            for end, name in automaton.iter(text):
                if name in self._ambiguous or name not in self._names:
                    continue
                found.add((end - len(name) + 1, end + 1, name))
        return sorted(found, key=lambda c: (c[0], -(c[1] - c[0])))

    def _refresh(self) -> None:
        """Bring the automata up to date with the names (lazily, before a search)."""
        if self._automaton is None or len(self._middle_names) + len(self._recent_names) > self._rebuild_after():
            self._built = {n for n in self._names if n not in self._ambiguous}
            self._automaton = self._build(self._built)
            self._middle_names, self._middle = set(), None
            self._recent_names, self._recent = set(), None
        elif len(self._recent_names) > self.RECENT_MAX:
            self._middle_names |= self._recent_names
            self._middle = self._build(sorted(self._middle_names))
            self._recent_names, self._recent = set(), None
        if self._recent is None and self._recent_names:
            self._recent = self._build(sorted(self._recent_names))

    #: Changed names kept out of :meth:`changed_in`'s automaton until there are more than this (each
    #: looked for directly); then the automaton is rebuilt over all of them.
    CHANGED_PENDING = 32

    def changed_in(self, text: str, version: int) -> bool | None:
        """Whether a name whose match changed after ``version`` occurs anywhere in ``text`` (inside a
        longer name too); None when this copy does not know (:meth:`changed_since`).

        The loader asks this for every document of a wave with the version the wave was extracted
        at: an automaton over the changed names is kept for that version and rebuilt only after
        :data:`CHANGED_PENDING` more changes, the newest being looked for one by one meanwhile.
        """
        if version < self._base:
            return None
        memo = self._delta
        if memo is None or memo.since != version:
            memo = self._delta = _Changed(since=version, upto=version)
        if memo.upto < self.version:
            memo.pending += self._changes[memo.upto - self._base: self.version - self._base]
            memo.upto = self.version
            if len(memo.pending) > self.CHANGED_PENDING:
                memo.automaton, memo.pending = self._build(set(self._changes[version - self._base:])), []
        if any(name in text for name in memo.pending):
            return True
        return memo.automaton is not None and next(memo.automaton.iter(text), None) is not None

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """Non-overlapping (start, end, name) matches, leftmost-longest."""
        if len(self) == 0:
            return []
        self._refresh()
        found = []
        last_end = -1
        for start, stop, name in self._matches(text):  # leftmost-longest over all of them
            if start < last_end:
                continue
            last_end = stop
            # an English name must not start or end inside a word ("AMD" in "AMDs", "TI" in "TIME")
            if name.isascii() and ((start > 0 and _ascii_alnum(text[start - 1])) or
                                   (stop < len(text) and _ascii_alnum(text[stop]))):
                continue
            found.append((start, stop, name))
        return found


#: A legal form at the end of a name (the shared legal suffixes; English forms as written).
_LEGAL = re.compile("(?:" + "|".join(re.escape(x) for x in sorted(LEGAL_SUFFIXES, key=len, reverse=True))
                    + r"|,?\s*(?:Co\.,?\s?Ltd\.?|Limited|Inc\.|Corp\.?|Corporation|Group))$")
_GENERIC_TAIL = re.compile(r"(?:信息技术|数字技术|数字科技|网络科技|智能科技|科技|技术|信息|数据|网络|智能|软件|电子|通信|控股|自动化|数码|汽车)$")
_TELECOM_BRANCH = re.compile(r"^中国(电信|移动|联通)")
_GOVERNMENT = re.compile(r"^([\u4e00-\u9fa5]{2,8}?)(省|市|自治区|区|县)人民政府$")


_EN_PLACES = {"the", "china", "beijing", "shanghai", "shenzhen", "hangzhou", "guangzhou", "nanjing", "suzhou", "wuhan",
              "chengdu", "hefei", "tianjin", "chongqing", "xi'an", "hong", "kong", "singapore", "taiwan", "taipei"}


@lru_cache(maxsize=1)
def _place_prefixes() -> tuple[str, ...]:
    """Province and city names and stems (longest first), to strip from names for short forms."""
    names = {place.prefix for place in place_prefixes(load_provinces())}
    return tuple(sorted(sorted(names), key=len, reverse=True))


@lru_cache(maxsize=1)
def _place_names() -> frozenset[str]:
    """Every province and city name and stem (:func:`_place_prefixes`), for a name that is a place alone."""
    return frozenset(_place_prefixes())


def is_place_name(name: str) -> bool:
    """Whether ``name`` is a province or city named alone (张掖市, 珠海, 江苏): the government in a party's
    slot, and no name to look for in other texts, where it begins organisations' names ("珠海华发集团")."""
    return name in _place_names()


def leading_place(name: str) -> str:
    """The longest province or city name or stem ``name`` begins with (天津市大学 -> 天津市), or ""."""
    for length, places in _place_lengths():
        if name[:length] in places:
            return name[:length]
    return ""


@lru_cache(maxsize=1)
def _place_lengths() -> tuple[tuple[int, frozenset[str]], ...]:
    """:func:`_place_prefixes` by length, longest first: the place a name starts with is found by
    one set lookup per length (there are ~700 prefixes and short_forms is asked of every new name)."""
    by_length: dict[int, set[str]] = {}
    for place in _place_prefixes():
        by_length.setdefault(len(place), set()).add(place)
    return tuple((length, frozenset(by_length[length])) for length in sorted(by_length, reverse=True))


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
    for length, places in _place_lengths():  # the longest place the core starts with, leaving three characters
        if len(core) - length >= 3 and core[:length] in places:
            core = core[length:]
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


#: The last word of an English adjective ("Economic", "Technological", "Industrial", "National"), not "Global".
_ADJECTIVE_END = re.compile(r"[a-z](?:ic|ical|ial|onal|ural)$")
#: "National Development and Reform Commission", "Science and Technology Bureau": an "and" between
#: two fields of a body's remit, before the body's head word, joins words of one name.
_FIELD_NOUNS = frozenset("""Development Reform Science Technology Industry Information Commerce Trade Education Culture
Tourism Housing Construction Transport Transportation Resources Environment Planning Health Innovation Research Finance
Security Safety Agriculture Energy Communications Economy Investment Roads Ports Water Land Data Media Sports
Welfare Justice Labour Labor Employment""".split())
_BODY_HEADS = frozenset("""Commission Bureau Ministry Department Committee Administration Office Council Authority Agency
Institute University Academy Centre Center Zone""".split())


def coordinated_names(span: str) -> list[tuple[int, str]]:
    """The names an English capitalised sequence joined by "and" holds, with their offsets in ``span``.

    "Chindata Holdings and HEC Group" is two names; "University of Science and Technology" and
    "Ministry of Industry and Information Technology" are one: an "and" after an "of" phrase
    coordinates the phrase's words, not two organisations. So does an "and" after an adjective
    ("Economic and Technological Development Zone", "Industrial and Commercial Bank of China").
    """
    out: list[tuple[int, str]] = []
    current, start, offset = "", 0, 0
    for piece in span.split(" and "):
        if (current and " of " not in f" {current} " and not _ADJECTIVE_END.search(current)
                and not (current.split()[-1] in _FIELD_NOUNS and piece.split()[-1] in _BODY_HEADS)):
            out.append((start, current))
            current, start = "", offset
        current = f"{current} and {piece}" if current else piece
        offset += len(piece) + len(" and ")
    if current:
        out.append((start, current))
    return out


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
        for at, piece in coordinated_names(name):  # "the Chizhou Municipal Government and DeepBlue Technology"
            begin = offset + m.start() + lead + at
            found.append(Mention(begin, begin + len(piece), piece, None, organisation_kind(piece, lexicon)))
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
_NOT_A_NAME_PART = re.compile(r"设立|成立|共建|组建|签署|签订|举行|发布|宣布|提供|打造|建设|合作|联合|携手|共同|与|和|同(?!济)|跟|的|在|为|向|将")
#: Inside a discovered candidate, a name starts after the last of these words.
_NAME_START_CUT = re.compile(r"基于|依托|上线|中标|引入|采用|部署|采购|选用|收到|加入|使用|接入|搭载|助力|赋能|携手|签约|"
                             r"宣布|与|在|的|向|由|为|将|全资子公司|控股子公司|全資子公司|控股子公司|子公司|控股股东|控股股東|"
                             r"其中有|其中|包括|期间|期間|对方|對方|注册|註冊|国企|國企|已联合|已聯合|公布|發布|发布")
#: Conjunctions inside a discovered span: two names run together when what follows is itself a
#: name of a firm, university, hospital … (not of a government body: 工业和信息化部, 住房和城乡建设部).
_JOINED = re.compile(r"和|及|與|与")
#: A name stripped of one of these was being set up: only a legal entity (…公司) is a name then.
_SETTING_UP = re.compile(r"成立|设立|設立|组建|組建|共建")
_LEGAL_END = re.compile(r"(?:公司|集团|集團|合伙企业|合夥企業)$")
#: Words that end a discovered span but are no part of the name ("深圳市卫计委近日", "中国工程院等分别",
#: "緯創兩年前已與…").
_NAME_END_TRIM = re.compile(r"(?:等分别|等分別|分别|分別|近日|日前|等|已|今后|今後|近期|[一二两兩三四五六七八九十\d]+(?:个月|個月|年)前)+$")


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
            titles = [t.end() for t in lexicon.office_titles.finditer(name)] if lexicon.office_titles else []
            if titles:  # an office holder before the name: "董事长刘庆峰代表科大讯飞股份有限公司"
                rest = name[titles[-1]:]
                cut = rest.rfind("代表")
                rest = rest[cut + 2:] if cut >= 0 else ""
                if len(rest) < 4:  # "副县长郑华永代表学院": no name left
                    cursor = end
                    k += 1
                    continue
                name, name_start = rest, name_start + len(name) - len(rest)
            cuts = [c.end() for c in _NAME_START_CUT.finditer(name) if len(name) - c.end() >= 4]
            joined = [c.end() for c in _JOINED.finditer(name)
                      if len(name) - c.end() >= 4 and c.start() >= 2
                      and organisation_kind(name[c.end():], lexicon) not in (None, "government")]
            cuts += joined[-1:]  # "宝丰县和河南城建学院", not "工业和信息化部"
            if lexicon.name_start_cuts is not None:
                cuts += [c.end() for c in lexicon.name_start_cuts.finditer(name) if len(name) - c.end() >= 4]
                cuts.sort()
            if cuts:
                name, name_start = name[cuts[-1] :], name_start + cuts[-1]
            trimmed = _NAME_END_TRIM.sub("", name)
            if len(trimmed) >= 4 and lexicon.name_pattern.search(trimmed):
                name = trimmed
            raw = name
            changed = True
            while changed:
                changed = False
                for noise in lexicon.leading_noise:
                    if name.startswith(noise) and len(name) - len(noise) >= 4:
                        name, name_start = name[len(noise) :], name_start + len(noise)
                        changed = True
            # "成立自动驾驶联合实验室" is a thing being set up, "共同出资成立福建省…投资有限公司" a firm
            built = _SETTING_UP.search(raw[: len(raw) - len(name)]) and not _LEGAL_END.search(name)
            if not (built or len(name) < 4 or re.search(r"\d{4}年|\d+月", name)
                    or any(r.search(name) for r in lexicon.reject)):
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
        # a known name may begin a longer unknown one that ends with a suffix: 科大讯飞 in 科大讯飞医疗科技
        # 有限公司, 上海交通大学 in 上海交通大学医学院附属瑞金医院 (any length since 2026-12-07; it was 4
        # characters or fewer, and a hospital of a university was read as the university and a fragment)
        if not n.isascii():
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
    # A declared alias inside a longer name is part of that name: "公司" (以下简称"公司") in
    # "上海商汤智能科技有限公司" is not the announcing company.
    inside = [(m.start, m.end) for m in discover(sentence, start, lexicon)] if declared else []
    for short, target in sorted(declared.items(), key=lambda kv: -len(kv[0])):  # longest first
        at = sentence.find(short)
        while at >= 0:
            a, b = start + at, start + at + len(short)
            at = sentence.find(short, at + len(short))
            if any(x <= a and b <= y and y - x > b - a for x, y in inside):
                continue
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
            cuts = [c.end() for c in _NAME_START_CUT.finditer(name) if len(name) - c.end() >= 2]
            if lexicon.name_start_cuts is not None:  # "例如雲象與長庚醫院": as for names found by their suffix
                cuts = sorted(cuts + [c.end() for c in lexicon.name_start_cuts.finditer(name) if len(name) - c.end() >= 2])
            if cuts:  # "大会期间天津市": the name starts after the cut
                name, lo = name[cuts[-1]:], lo + cuts[-1]
            trimmed = _NAME_END_TRIM.sub("", name)
            if len(trimmed) >= 2:  # "深圳市卫计委近日": the name ends before the trim
                name = trimmed
            hi = lo + len(name)
            if re.match(r"[该此本这其]", name):
                continue
            if (name in lexicon.stop or len(name) < 2 or _PERSON_TITLE.search(name) or re.search(r"\d", name) or _NOT_A_NAME_PART.search(name)
                    or any(not (hi <= x or lo >= y) for x, y in taken) or relation_kind(name, lexicon)
                    or labels_in(name, lexicon.tech) or labels_in(name, lexicon.domains)):
                continue
            taken.append((lo, hi))
            # a province or city named alone in a party's slot ("张掖市与…签约") is its government (ANNOTATION.md)
            kind = organisation_kind(name, lexicon) or ("government" if is_place_name(name) else "firm")
            found.append(Mention(lo, hi, name, None, kind))
    return found
