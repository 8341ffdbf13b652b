"""Text normalisation for extraction, with offsets back to the original text.

Documents arrive as plain text (HTML was reduced to text at crawl time). Before extraction:

- full-width ASCII (Ａ-Ｚ, ０-９, ，is kept) becomes half-width and the ideographic space a space,
  so ``２０２３年`` reads as ``2023年`` and ``ＡＩ`` as ``AI``;
- traditional Chinese becomes simplified (OpenCC ``t2s``), so one gazetteer and one lexicon
  serve both scripts;
- every character of the normalised text keeps the offset of the original character it came
  from (:class:`Normalised.offsets`), so a name found in the normalised text is reported as it
  is written in the original ("names as they appear in the text").

Sentence splitting and date reading (``2023年11月21日``, ``2023-11-21``, ``2023/11/21``,
``二〇二三年十一月二十一日``, ``2023年11月``, ``11月21日`` with the year from the publication date,
``近日`` = the publication date) live here too.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from common.text import t2s

_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20
# Chinese punctuation that carries meaning for the rules stays as is (，。；：、（）“”《》).
for keep in "，。；：！？（）":
    _FULLWIDTH.pop(ord(keep), None)
_CN_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0, "两": 2}
_SENTENCE = re.compile(r"[^。！？；!?;\n]+[。！？；!?;]*")


@dataclass(frozen=True)
class Normalised:
    """Normalised text and, per character, its offset in the original."""

    original: str
    text: str
    offsets: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of normalised ``[start, end)``."""
        if start >= end:
            return self.offsets[start] if start < len(self.offsets) else len(self.original), self.offsets[start]
        return self.offsets[start], self.offsets[end - 1] + 1

    def original_text(self, start: int, end: int) -> str:
        """The original text behind normalised ``[start, end)``."""
        a, b = self.span(start, end)
        return self.original[a:b]


def normalise(text: str) -> Normalised:
    """Full-width -> half-width and traditional -> simplified, keeping offsets."""
    half = text.translate(_FULLWIDTH)
    simplified = t2s(half)
    if len(simplified) != len(half):  # a phrase conversion changed the length: convert per char
        simplified = "".join(t2s(ch) if len(t2s(ch)) == 1 else ch for ch in half)
    return Normalised(text, simplified, tuple(range(len(text))))


_EN_BOUNDARY = re.compile(r"\.\s+(?=[A-Z\"“])")
_EN_ABBREVIATIONS = {"co", "ltd", "inc", "corp", "no", "mr", "ms", "dr", "st", "vs", "jr", "sr", "pte", "sept", "oct",
                     "nov", "dec", "jan", "feb", "aug", "u.s", "e.g", "i.e"}


def _sentence_end(text: str, dot: int) -> bool:
    """Whether the full stop at ``dot`` ends an English sentence (not "Co.", "Ltd.", an initial)."""
    word = re.search(r"([A-Za-z.]+)$", text[max(0, dot - 8) : dot])
    if word is None:
        return True
    w = word.group(1)
    return len(w) > 1 and w.lower() not in _EN_ABBREVIATIONS


def sentences(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences of ``text`` (split after 。！？；!?;, at line breaks, and after an
    English full stop followed by a capital — not after Co./Ltd./Inc. and initials)."""
    spans = []
    pieces = []
    for m in _SENTENCE.finditer(text):
        cursor = m.start()
        for b in _EN_BOUNDARY.finditer(text, m.start(), m.end()):
            if _sentence_end(text, b.start()):
                pieces.append((cursor, b.start() + 1))
                cursor = b.end()
        pieces.append((cursor, m.end()))
    for start, end in pieces:
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            spans.append((start, end))
    return spans


def _cn_number(text: str) -> int | None:
    """二十一 -> 21, 十二 -> 12, 二〇二三 -> 2023 (digit by digit when no 十)."""
    if not text:
        return None
    if "十" not in text:
        digits = [_CN_DIGITS.get(c) for c in text]
        if any(d is None for d in digits):
            return None
        return int("".join(str(d) for d in digits))
    tens, _, ones = text.partition("十")
    t = _CN_DIGITS.get(tens, None) if tens else 1
    o = _CN_DIGITS.get(ones, None) if ones else 0
    if t is None or o is None:
        return None
    return t * 10 + o


_NUM = r"(?:\d{1,4}|[〇零一二两三四五六七八九十]{1,4})"
_FULL_DATE = re.compile(rf"(?P<y>\d{{4}}|[〇零一二三四五六七八九]{{4}})\s*(?:年|-|/|\.)\s*(?P<m>{_NUM})\s*(?:月|-|/|\.)\s*(?P<d>{_NUM})\s*[日号]?")
_YEAR_MONTH = re.compile(rf"(?P<y>\d{{4}}|[〇零一二三四五六七八九]{{4}})\s*年\s*(?P<m>{_NUM})\s*月")
_MONTH_DAY = re.compile(rf"(?<![\d年])(?P<m>{_NUM})\s*月\s*(?P<d>{_NUM})\s*[日号]")
_YEAR_ONLY = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})\s*年(?!\s*\d{1,2}\s*月)")
VAGUE_DATES = ("近日", "日前", "今日", "本周", "近期", "日内", "今天", "昨日", "当天")


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() else _cn_number(text)


@dataclass(frozen=True)
class DateMention:
    """A date read in a sentence: ``day`` when fully known, else only ``year``."""

    day: dt.date | None
    year: int | None
    start: int
    end: int
    kind: str  # full | year_month | month_day | year | vague


def find_dates(sentence: str, published: dt.date | None = None) -> list[DateMention]:
    """Dates in ``sentence`` in order; partial dates are completed from ``published``.

    ``11月21日`` takes the publication year (the previous year when that would put it after the
    publication date); ``近日``/``日前`` mean the publication date itself.
    """
    found: list[DateMention] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in taken)

    for m in _FULL_DATE.finditer(sentence):
        y, mo, d = _int(m.group("y")), _int(m.group("m")), _int(m.group("d"))
        try:
            day = dt.date(y, mo, d) if y and mo and d else None
        except ValueError:
            day = None
        if y and 1900 < y < 2100:
            found.append(DateMention(day, y, m.start(), m.end(), "full" if day else "year"))
            taken.append((m.start(), m.end()))
    for m in _YEAR_MONTH.finditer(sentence):
        if free(m.start(), m.end()):
            y = _int(m.group("y"))
            if y and 1900 < y < 2100:
                found.append(DateMention(None, y, m.start(), m.end(), "year_month"))
                taken.append((m.start(), m.end()))
    for m in _MONTH_DAY.finditer(sentence):
        if free(m.start(), m.end()) and published is not None:
            mo, d = _int(m.group("m")), _int(m.group("d"))
            try:
                day = dt.date(published.year, mo or 0, d or 0)
            except ValueError:
                continue
            if day > published + dt.timedelta(days=7):
                day = day.replace(year=published.year - 1)
            found.append(DateMention(day, day.year, m.start(), m.end(), "month_day"))
            taken.append((m.start(), m.end()))
    for m in _YEAR_ONLY.finditer(sentence):
        if free(m.start(), m.end()):
            found.append(DateMention(None, int(m.group("y")), m.start(), m.end(), "year"))
            taken.append((m.start(), m.end()))
    if published is not None:
        for word in VAGUE_DATES:
            i = sentence.find(word)
            if i >= 0 and free(i, i + len(word)):
                found.append(DateMention(published, published.year, i, i + len(word), "vague"))
    return sorted(found, key=lambda d: d.start)


#: Years a sentence states relative to its publication date, or in English: read only to date a history
#: whose sentence :func:`find_dates` finds no year in (:func:`history_year`), never a new relation's year.
_RELATIVE_YEARS = {"前年": -2, "去年": -1, "今年": 0, "本年": 0}
_YEARS_AGO = re.compile(r"(?P<n>\d{1,2}|[一二两三四五六七八九十]{1,3})\s*年(?:前|之前|以前)")
_EN_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_EN_DATE = re.compile(
    r"(?<![$\d])\b(?P<y>(?:19|20)\d{2})\b(?!\s*%)"  # an English year: "In 2018 Tencent and …"
    r"|\b(?P<rel>last year|this year|earlier this year|last month|this month|earlier this month|in recent months"
    r"|in recent weeks|(?P<n>two|three|four|five|\d{1,2}) years ago)\b"
    r"|\bin (?P<month>(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*)\b(?!\s*\d)",
    re.IGNORECASE)
_EN_NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5}


def _english_year(m: re.Match[str], published: dt.date) -> int | None:
    if m.group("y"):
        return int(m.group("y"))
    if m.group("month"):  # "in May": the last May up to the publication date
        month = _EN_MONTHS.index(m.group("month")[:3].casefold()) + 1
        return published.year if month <= published.month else published.year - 1
    rel = m.group("rel").casefold()
    if m.group("n"):
        n = m.group("n").casefold()
        return published.year - (int(n) if n.isdigit() else _EN_NUMBERS[n])
    if rel == "last year":
        return published.year - 1
    if rel == "last month":
        return (published.replace(day=1) - dt.timedelta(days=1)).year
    return published.year  # this / earlier this year or month, recent months or weeks


def history_year(sentence: str, published: dt.date | None) -> int | None:
    """The year a sentence dates a history by, relative to the publication date or in English, or None.

    For a historical relation whose sentence :func:`find_dates` finds no year in: 去年 / 前年 / 今年,
    "N年前", and in English a year written alone ("In 2018 Tencent …"), "last year", "last month",
    "earlier this month", "in recent months", "three years ago", "in May" (the last May up to the
    publication date). The first such expression in the sentence wins; a year after the publication
    year is none. Without a publication date only an English year written out is read.
    """
    found: list[tuple[int, int]] = []
    for m in _EN_DATE.finditer(sentence):
        if m.group("y") or published is not None:
            year = _english_year(m, published) if published is not None else int(m.group("y"))
            if year is not None:
                found.append((m.start(), year))
    if published is not None:
        for word, delta in _RELATIVE_YEARS.items():
            i = sentence.find(word)
            if i >= 0:
                found.append((i, published.year + delta))
        for m in _YEARS_AGO.finditer(sentence):
            n = _int(m.group("n"))
            if n:
                found.append((m.start(), published.year - n))
    years = [y for _, y in sorted(found) if 1900 < y and (published is None or y <= published.year)]
    return years[0] if years else None

