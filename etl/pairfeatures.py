"""The features of one candidate pair occurrence (:mod:`etl.pairs`, step 2).

Binary features, named by what they test: the recogniser's tags and the names' kinds, what each
name looks like, the characters and words between, before and after the two names, the cue groups
of ``etl/lexicons/pair_cues.yml`` found there, the list structure, the sentence's position and
what the rules decided for the pair. The pair model (``etl/models/pairs.json``) weighs them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from etl.extract import Relation
from etl.mentions import Mention
from etl.paircues import Cues

if TYPE_CHECKING:  # the entity type lives with the reader of documents
    from etl.docnames import Entity

_LEFT, _RIGHT, _BETWEEN = 12, 16, 24
_RESPECTIVELY = re.compile(r"分别|分別|各自|respectively|separately", re.I)
_LIST_ONLY = re.compile(r"^(?:[、,，和与及跟同/]|以及|并与|and|with|,\s*and|\s)+$", re.I)


def _bucket(n: int) -> str:
    return str(n) if n < 4 else ("4-8" if n < 9 else ("9-20" if n < 21 else "21+"))


def _grams(text: str, prefix: str) -> list[str]:
    text = text.lower()
    return [f"{prefix}{c}" for c in set(text) if not c.isspace()] + [
        f"{prefix}{text[i:i + 2]}" for i in range(len(text) - 1) if not text[i:i + 2].isspace()]


def _word_features(tagged: list[tuple[int, int, str]], doc: str, x: Mention, y: Mention,
                   names: list[Mention]) -> list[str]:
    """Words (and their tags) between, before and after the pair; other names become ``<ORG>``."""
    def word(w: tuple[int, int, str]) -> str:
        if any(m.start <= w[0] and w[1] <= m.end for m in names):
            return "<ORG>"
        text = doc[w[0]:w[1]].lower()
        return "<NUM>" if w[2] in ("m", "TIME", "t") or text.isdigit() else text

    between = [w for w in tagged if x.end <= w[0] and w[1] <= y.start]
    before = [w for w in tagged if w[1] <= x.start][-2:]
    after = [w for w in tagged if y.end <= w[0]][:3]
    f = [f"bw:{word(w)}" for w in between] + [f"lw:{word(w)}" for w in before] + [f"rw:{word(w)}" for w in after]
    if len(between) <= 5:
        f.append("bp:" + " ".join(w[2] for w in between))
        f.append("bs:" + " ".join(word(w) for w in between))
    if between:
        f += [f"xr1:{word(between[0])}", f"yl1:{word(between[-1])}"]
    if after:
        f.append(f"r1:{word(after[0])}")
    if before:
        f.append(f"l1:{word(before[-1])}")
    return f


def pair_features(doc: str, s: tuple[int, int], x: Mention, y: Mention, ex: Entity, ey: Entity,
                  between_names: int, sentence_index: int, cues: Cues, rule: Relation | None,
                  tagged: list[tuple[int, int, str]] | None = None, names: list[Mention] | None = None) -> list[str]:
    """The features of one pair occurrence (module docstring, step 2); ``x`` ends before ``y`` starts."""
    start, end = s
    between = doc[x.end:y.start]
    left = doc[max(start, x.start - _LEFT):x.start]
    right = doc[y.end:min(end, y.end + _RIGHT)]
    sentence = doc[start:end]
    f = ["bias", f"tx={sorted(ex.tags)[0]}", f"ty={sorted(ey.tags)[0]}", f"kx={ex.kind}", f"ky={ey.kind}",
         f"kxy={ex.kind}|{ey.kind}", f"nx={ex.name_kind}", f"ny={ey.name_kind}", f"nxy={ex.name_kind}|{ey.name_kind}",
         f"mx={_bucket(len(ex.mentions))}", f"my={_bucket(len(ey.mentions))}",
         f"fx={min(ex.first_sentence, 3)}", f"fy={min(ey.first_sentence, 3)}",
         f"title={int(ex.in_title)}{int(ey.in_title)}", f"gap={_bucket(len(between))}", f"names_between={_bucket(between_names)}",
         f"sent={'first' if sentence_index == 0 else 'later'}"]
    tech = f"{int(cues.is_tech(ex.identity + ' ' + ex.surface))}{int(cues.is_tech(ey.identity + ' ' + ey.surface))}"
    adopt = f"{int(cues.is_adopter(ex.identity + ' ' + ex.surface))}{int(cues.is_adopter(ey.identity + ' ' + ey.surface))}"
    f += [f"tech={tech}", f"tech|nxy={tech}|{ex.name_kind}|{ey.name_kind}", f"adopt={adopt}", f"tech|adopt={tech}|{adopt}"]
    if _LIST_ONLY.match(between or " "):
        # two names of one list: co-builders, or co-investees / co-signers of a hub ("分别")
        f.append("list_only")
        f += [f"list|cs:{g}" for g in cues.found(sentence)]
        # "X与Y签署…协议": the pair is the subject of the signing that follows it
        f += [f"list|cr:{g}" for g in cues.found(right)]
        if _RESPECTIVELY.search(sentence):
            f.append("list|respectively")
    if len(between) <= _BETWEEN:
        f += _grams(between, "b:")
    else:
        f += _grams(between[:10], "bl:") + _grams(between[-10:], "br:")
    f += _grams(left[-6:], "l:") + _grams(right[:8], "r:")
    found_between = cues.found(between)
    f += [f"cb:{g}" for g in found_between] + [f"cl:{g}" for g in cues.found(left)]
    f += [f"nxy|cb:{ex.name_kind}|{ey.name_kind}|{g}" for g in found_between]
    f.append(f"subject={'x' if not doc[start:x.start].strip(' ，,。:：0-9年月日') else 'none'}")
    f.append(f"hub={'x' if ex.mention_rank == 0 else ('y' if ey.mention_rank == 0 else 'none')}")
    f += [f"cr:{g}" for g in cues.found(right)] + [f"cs:{g}" for g in cues.found(sentence)]
    if rule is not None:
        if rule.direction == "mutual":
            f.append("rule=mutual")
        else:
            f.append("rule=x->y" if rule.provider.identity in {m.identity for m in ex.mentions} else "rule=y->x")
        f += [f"rule_kind={rule.kind}", f"rule_status={rule.status}"]
    else:
        f.append("rule=none")
    if x.surface and x.surface.isascii() and y.surface and y.surface.isascii():
        f.append("lang=en")
    f += [f"{side}{shape}" for side, e in (("x", ex), ("y", ey)) for shape in _shape(e.surface)]
    if tagged:
        f += _word_features(tagged, doc, x, y, names or [])
    return f


def _shape(name: str) -> list[str]:
    """What a name looks like: its first and last two characters (or words), its length, digits.

    A span that begins with a verb ("搭建…联盟") or ends like a facility ("…算力中心") or a product
    ("…机器人") is more often no party than one ending in 公司 or 大学."""
    words = name.lower().split()
    head, tail = (words[0], words[-1]) if name.isascii() and words else (name[:2], name[-2:])
    return [f"s:{tail}", f"p:{head}", f"len:{_bucket(len(words) if name.isascii() else len(name) // 2)}",
            f"digit:{int(any(c.isdigit() for c in name))}"]
