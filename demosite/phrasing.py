"""Turning world events into announcement text, with the variety real announcements have.

A :class:`Phraser` writes the sentences of every kind of page from the patterns in
``demosite/data/phrasings.yml``: it picks a pattern per relation kind and direction, a surface
form for every organisation (full legal name, short name, English name, stock short name, a
known alias), a date format (``2019年3月12日``, ``2019-03-12``, ``2019/3/12``, Chinese numerals,
``3月12日`` without the year, or a vague ``近日``), and records what it wrote so the ground
truth says exactly which names stand for which organisation.

Everything is drawn from a ``random.Random`` the caller seeds per page, so a page's text does
not depend on which other pages exist (a world stepped by one year re-renders old pages
byte-identically).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from common.datafiles import read_yaml

#: World event kinds that the phrasing file names differently.
KIND_ALIASES = {"procurement": "bid_award", "alliance_membership": "alliance"}
PHRASINGS_FILE = Path(__file__).resolve().parent / "data" / "phrasings.yml"
_CN_DIGITS = "〇一二三四五六七八九"


@lru_cache(maxsize=2)
def load_phrasings(path: Path = PHRASINGS_FILE) -> dict[str, Any]:
    """The phrasing patterns (see the data file's header for the placeholders)."""
    return read_yaml(path)


def _cn_number(n: int) -> str:
    """1..31 in Chinese numerals as dates write them (十二, 二十一, 三十)."""
    if n < 10:
        return _CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _CN_DIGITS[tens]) + "十" + (_CN_DIGITS[ones] if ones else "")


def date_phrase(rng: random.Random, day: dt.date, *, allow_vague: bool = True) -> tuple[str, str]:
    """A date as running text may write it, and its format name (for the ground truth)."""
    roll = rng.random()
    if allow_vague and roll < 0.12:
        return rng.choice(load_phrasings()["vague_dates"]), "vague"
    if roll < 0.55:
        return f"{day.year}年{day.month}月{day.day}日", "ymd_cn"
    if roll < 0.68:
        return day.isoformat(), "iso"
    if roll < 0.76:
        return f"{day.year}/{day.month}/{day.day}", "slash"
    if roll < 0.84:
        year = "".join(_CN_DIGITS[int(c)] for c in str(day.year))
        return f"{year}年{_cn_number(day.month)}月{_cn_number(day.day)}日", "cn_numerals"
    if roll < 0.94:
        return f"{day.month}月{day.day}日", "md_no_year"
    return f"{day.year}年{day.month}月", "ym"


@dataclass
class Written:
    """What a page says, for the ground truth: surface names used and the roles they play."""

    surfaces: dict[str, set[str]] = field(default_factory=dict)  # canonical name -> names written
    non_parties: set[str] = field(default_factory=set)  # canonical names of witnesses, hosts ...
    date_formats: list[str] = field(default_factory=list)

    def used(self, canonical: str, written: str) -> None:
        """Record that ``written`` stands for ``canonical`` on this page."""
        self.surfaces.setdefault(canonical, set()).add(written)

    def as_json(self) -> dict[str, Any]:
        """JSON-ready form (sorted, deterministic)."""
        return {
            "surfaces": {k: sorted(v) for k, v in sorted(self.surfaces.items())},
            "non_parties": sorted(self.non_parties),
            "date_formats": self.date_formats,
        }


class Phraser:
    """Writes sentences about the organisations of one world."""

    def __init__(self, names: dict[str, dict[str, str]], cities: dict[str, str] | None = None) -> None:
        """``names``: canonical name -> {form: written name} (forms: full, short, english,
        stock_short, alias...); ``cities``: canonical name -> city (for "在{CITY}签署")."""
        self.names = names
        self.cities = cities or {}
        self.patterns = load_phrasings()

    def name(self, rng: random.Random, canonical: str, written: Written, *, formal: bool = False) -> str:
        """A surface form for ``canonical``: formal pages prefer the full name."""
        forms = self.names.get(canonical, {"full": canonical})
        if formal:
            choice = forms["full"]
        else:
            roll = rng.random()
            if roll < 0.45 or len(forms) == 1:
                choice = forms["full"]
            elif roll < 0.85 and "short" in forms:
                choice = forms["short"]
            else:
                others = sorted(v for k, v in forms.items() if k != "full")
                choice = rng.choice(others) if others else forms["full"]
        written.used(canonical, choice)
        return choice

    def _fill(self, pattern: str, rng: random.Random, written: Written, values: dict[str, str]) -> str:
        if "{DATE}" in pattern and "DATE" not in values:
            raise KeyError("DATE")
        return pattern.format_map(_Defaults(values, rng))

    def relation(
        self,
        rng: random.Random,
        *,
        kind: str,
        direction: str,
        provider: str,
        receiver: str,
        day: dt.date,
        tech: str,
        domain: str,
        written: Written,
        formal: bool = False,
    ) -> str:
        """One sentence reporting a cooperation (``provider`` -> ``receiver`` or mutual)."""
        section = "mutual" if direction == "mutual" else "directed"
        table = self.patterns[section]
        patterns = table.get(kind) or table.get(KIND_ALIASES.get(kind, "")) or table[sorted(table)[0]]
        pattern = rng.choice(patterns)
        date_text, date_format = date_phrase(rng, day)
        written.date_formats.append(date_format)
        values = {"DATE": date_text, "T": tech, "D": domain, "CITY": self.cities.get(provider, "北京")}
        if section == "mutual":
            values["A"] = self.name(rng, provider, written, formal=formal)
            values["B"] = self.name(rng, receiver, written, formal=formal)
        else:
            values["P"] = self.name(rng, provider, written, formal=formal)
            values["R"] = self.name(rng, receiver, written, formal=formal)
        return self._fill(pattern, rng, written, values)

    def multiparty(
        self, rng: random.Random, parties: list[str], day: dt.date, tech: str, domain: str, written: Written
    ) -> str:
        """One sentence for a signing of three or more parties."""
        names = [self.name(rng, p, written) for p in parties]
        listed = "、".join(names[:-1]) + "和" + names[-1]
        date_text, date_format = date_phrase(rng, day)
        written.date_formats.append(date_format)
        pattern = rng.choice(self.patterns["multiparty"])
        return self._fill(pattern, rng, written, {"PARTIES": listed, "DATE": date_text, "T": tech, "D": domain})

    def witness(self, rng: random.Random, witness: str, written: Written) -> str:
        """A clause naming a non-party present at a signing."""
        name = self.name(rng, witness, written)
        written.non_parties.add(witness)
        return self._fill(rng.choice(self.patterns["witness"]), rng, written, {"W": name})

    def historical(self, rng: random.Random, a: str, b: str, year: int, written: Written) -> str:
        """A background sentence recalling an earlier cooperation of ``a`` and ``b`` in ``year``."""
        values = {"A": self.name(rng, a, written), "B": self.name(rng, b, written), "Y": str(year)}
        return self._fill(rng.choice(self.patterns["historical"]), rng, written, values)

    def termination(self, rng: random.Random, a: str, b: str, day: dt.date, since: int, written: Written) -> str:
        """A sentence announcing that the cooperation of ``a`` and ``b`` (since ``since``) ended."""
        date_text, date_format = date_phrase(rng, day, allow_vague=False)
        written.date_formats.append(date_format)
        values = {"A": self.name(rng, a, written), "B": self.name(rng, b, written), "Y": str(since),
                  "DATE": date_text}
        return self._fill(rng.choice(self.patterns["terminated"]), rng, written, values)

    def negative(
        self, rng: random.Random, a: str, b: str, day: dt.date, tech: str, domain: str, written: Written
    ) -> str:
        """A sentence naming ``a`` and ``b`` that reports no cooperation (talks, a forum, a rumour)."""
        date_text, date_format = date_phrase(rng, day)
        written.date_formats.append(date_format)
        values = {"A": self.name(rng, a, written), "B": self.name(rng, b, written), "T": tech, "D": domain,
                  "DATE": date_text}
        written.non_parties.add(b)
        return self._fill(rng.choice(self.patterns["negatives"]), rng, written, values)


class _Defaults(dict):
    """format_map values with generated fillers for {PROJECT}, {MONEY} and an empty {CITY}."""

    def __init__(self, values: dict[str, str], rng: random.Random) -> None:
        super().__init__(values)
        self.rng = rng

    def __missing__(self, key: str) -> str:
        if key == "PROJECT":
            return self.rng.choice(["智慧园区建设项目", "数据中心扩容项目", "智能化改造项目", "信息化平台采购项目",
                                    "AI算力服务采购项目"])
        if key == "MONEY":
            return f"{self.rng.randint(50, 9000):,}"
        if key == "CITY":
            return "北京"
        raise KeyError(key)
