"""Text folding shared by every stage: one traditional→simplified converter, one width fold.

- :func:`t2s` converts traditional Chinese to simplified with OpenCC's ``t2s`` profile (the ETL,
  entity resolution, deduplication and the evaluation all compare names and texts in one script).
  The converter is built once per process: building it reads OpenCC's dictionaries (~50 ms).
- :func:`fold_compact` is the key under which codes, identifiers and table cells are compared:
  Unicode NFKC (full-width letters, digits and punctuation become half-width) and no whitespace.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

_WHITESPACE = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _converter() -> Any:  # opencc has no type hints
    import opencc  # deferred: building the converter reads its dictionaries

    return opencc.OpenCC("t2s")


def t2s(text: str) -> str:
    """``text`` with traditional Chinese characters converted to simplified (OpenCC ``t2s``).

    Short strings (words and names, :data:`_SHORT` characters at most) are remembered: the
    extractor converts the same words hundreds of thousands of times in a run.
    """
    return _t2s_short(text) if len(text) <= _SHORT else _converter().convert(text)


_SHORT = 64


@lru_cache(maxsize=1 << 16)
def _t2s_short(text: str) -> str:
    return _converter().convert(text)


def fold_compact(text: str) -> str:
    """NFKC-normalise (full-width -> half-width) and drop all whitespace, inner included."""
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", text))
