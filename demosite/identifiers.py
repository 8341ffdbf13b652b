"""Identifiers of the demo world's organisations: unified social credit codes and stock codes.

The world is the oracle the pipeline is measured against, so it writes its identifiers with its
own few lines instead of the system's :mod:`common.identifiers`: a bug shared by the generator
and the registry import's validator could never show as a difference. The rules are short and
public, and they are duplicated here on purpose (the tests check the world's codes with the
system's validator, which is the comparison an independent oracle makes possible).

- USCC (GB 32100-2015): registration authority, organisation type, the six-digit division
  code of the registration authority, a nine-character organisation code (GB 11714-1997, with
  its own check digit) and the check character ``charset[(31 - Σ w_i·v(c_i) mod 31) mod 31]``
  with weights ``3^(i-1) mod 31`` over the 31-character set ``0-9 A-H J-N P-R T U W-Y``.
- Stock codes by board: SSE 600/601/603/605 (main) and 688 (STAR), SZSE 000-003 (main) and
  300/301 (ChiNext), BSE 83/87/920, HKEX five digits, NASDAQ four letters.
"""

from __future__ import annotations

import random
import re

_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714-1997, the 9-char organisation code
#: The 31 characters of a USCC in value order, and the weights of positions 1-17 (GB 32100-2015).
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))


def _org_code(rng: random.Random) -> str:
    """A 9-character organisation code (8 characters + GB 11714 check digit)."""
    body = "".join(rng.choice("0123456789") for _ in range(8))
    if rng.random() < 0.3:  # newer codes issued with the USCC start with "MA"
        body = "MA" + body[2:]
    total = sum(w * int(c, 36) for w, c in zip(_ORG_CODE_WEIGHTS, body, strict=True))
    check = 11 - total % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def uscc_check_char(first17: str) -> str:
    """The GB 32100-2015 check character of the first 17 characters of a USCC."""
    total = sum(w * USCC_CHARSET.index(c) for w, c in zip(USCC_WEIGHTS, first17, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


#: USCC registration authority and organisation type by relation kind (GB 32100-2015 table 2):
#: 9/1 enterprise (market regulation), 1/1 government organ, 1/2 public institution (事业单位),
#: 5/1 social organisation (民政, 社会团体).
USCC_TYPES: dict[str, tuple[str, str]] = {
    "government": ("1", "1"),
    "university": ("1", "2"),
    "research_institute": ("1", "2"),
    "hospital": ("1", "2"),
    "industry_body": ("5", "1"),
}


def make_uscc(adcode: str, rng: random.Random, authority: str = "9", org_type: str = "1") -> str:
    """A USCC registered at ``adcode`` (6 digits), check character included (default: a company)."""
    if not re.fullmatch(r"\d{6}", adcode):
        raise ValueError(f"adcode must be 6 digits: {adcode!r}")
    first17 = authority + org_type + adcode + _org_code(rng)
    return first17 + uscc_check_char(first17)


#: Stock code prefixes the generator uses, by board: (exchange, prefixes).
STOCK_BOARDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "SSE_main": ("SSE", ("600", "601", "603", "605")),
    "SSE_STAR": ("SSE", ("688",)),
    "SZSE_main": ("SZSE", ("000", "001", "002", "003")),
    "SZSE_ChiNext": ("SZSE", ("300", "301")),
    "BSE": ("BSE", ("83", "87", "920")),
    "HKEX": ("HKEX", ("0",)),
    "NASDAQ": ("NASDAQ", ()),
}


def is_valid_stock_code(code: str, board: str) -> bool:
    """True when ``code`` is a code of ``board`` (:data:`STOCK_BOARDS`) as the exchange assigns them.

    Mainland boards: six digits with one of the board's prefixes; HKEX: five digits, not all
    zero; NASDAQ: one to five capital letters.
    """
    if board == "HKEX":
        return len(code) == 5 and code.isdigit() and code != "00000"
    if board == "NASDAQ":
        return re.fullmatch(r"[A-Z]{1,5}", code) is not None
    return len(code) == 6 and code.isdigit() and code.startswith(STOCK_BOARDS[board][1])


def stock_code(rng: random.Random, board: str) -> str:
    """A random code of ``board`` (validity is checked by the caller with :func:`is_valid_stock_code`)."""
    _exchange, prefixes = STOCK_BOARDS[board]
    if board == "NASDAQ":
        return "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4))
    prefix = rng.choice(prefixes)
    return prefix + "".join(rng.choice("0123456789") for _ in range(6 - len(prefix) if board != "HKEX" else 4))
