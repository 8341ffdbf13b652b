"""Identifiers of Chinese firms: unified social credit codes and stock codes by exchange.

Pure functions, no database access. Used by the registry import (:mod:`etl.registry`) to
validate the institute's firm list and by the demo-site generator to produce valid codes.

统一社会信用代码 (unified social credit code, USCC)
    GB 32100-2015 《法人和其他组织统一社会信用代码编码规则》: 18 characters from the
    31-character set ``0-9 A-H J-N P-R T U W-Y`` (no I, O, Z, S, V)::

        position 1      registration authority (登记管理部门代码: 1 机构编制, 5 民政, 9 工商, Y 其他 ...)
        position 2      organisation type (机构类别代码: e.g. 1 企业, 2 个体工商户, 3 农民专业合作社)
        positions 3-8   administrative division code of the registration authority (GB/T 2260)
        positions 9-17  organisation code (组织机构代码, GB 11714)
        position 18     check character

    The check character is ``charset[(31 - Σ w_i·value(c_i) mod 31) mod 31]`` over the first
    17 characters with weights ``w_i = 3^(i-1) mod 31`` = 1, 3, 9, 27, 19, 26, 16, 17, 20, 29,
    25, 13, 8, 24, 10, 30, 28, where ``value(c)`` is the position of ``c`` in the charset.

Stock codes
    - SSE (上海证券交易所): six digits, A shares 600/601/603/605 (main board), 688/689 (STAR
      market, 科创板). Reference: SSE securities code rules (上海证券交易所证券代码分配规则).
    - SZSE (深圳证券交易所): six digits, 000/001/002/003 (main board incl. former SME board),
      300/301 (ChiNext, 创业板). Reference: SZSE 证券代码区间分配表.
    - BSE (北京证券交易所): six digits 8xxxxx or 4xxxxx (codes carried over from NEEQ) and
      920xxx (new codes assigned since 2024). Reference: 北交所 关于启用新证券代码的通知 (2024).
    - HKEX (香港联合交易所): 1-5 digits, normalised to five with leading zeros (``700`` ->
      ``00700``). Reference: HKEX stock code allocation plan.
    - NASDAQ / NYSE: 1-5 upper-case letters, optionally with a share-class suffix after a dot
      (``BRK.A``). Reference: NASDAQ / NYSE symbology.

    Only ordinary A-share ranges are accepted on the mainland exchanges (no B shares, funds
    or bonds): the sample firms are AI companies, and anything else is a data-entry error.
"""

from __future__ import annotations

import re

from common.text import fold_compact

__all__ = [
    "USCC_CHARSET",
    "USCC_WEIGHTS",
    "EXCHANGE_CODES",
    "uscc_check_char",
    "is_valid_uscc",
    "validate_uscc",
    "normalise_uscc",
    "make_uscc",
    "normalise_exchange",
    "normalise_stock_code",
    "validate_stock_code",
    "infer_exchange",
]

#: The 31 characters a USCC may contain, in value order (GB 32100-2015, table 1).
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
#: Weights of positions 1-17 for the check character (GB 32100-2015, 5.2).
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_VALUE = {c: i for i, c in enumerate(USCC_CHARSET)}

#: Canonical exchange codes (the values ``organisations.stock_exchange`` may hold).
EXCHANGE_CODES = ("SSE", "SZSE", "BSE", "HKEX", "NASDAQ", "NYSE", "OTHER")


# --------------------------------------------------------------------------- USCC


def uscc_check_char(first17: str) -> str:
    """The GB 32100-2015 check character (position 18) for the first 17 characters of a USCC.

    Raises :class:`ValueError` if ``first17`` is not 17 characters of the USCC charset.

    >>> uscc_check_char("91440300708461136")
    'T'
    """
    if len(first17) != 17:
        raise ValueError(f"expected 17 characters, got {len(first17)}")
    total = 0
    for pos, (char, weight) in enumerate(zip(first17, USCC_WEIGHTS, strict=True), start=1):
        value = _USCC_VALUE.get(char)
        if value is None:
            raise ValueError(f"character {char!r} at position {pos} is not allowed in a USCC")
        total += weight * value
    return USCC_CHARSET[(31 - total % 31) % 31]


def normalise_uscc(code: str) -> str:
    """Canonical spelling of a USCC as typed: full-width to half-width, no spaces, upper case.

    Does not validate; pass the result to :func:`validate_uscc`.
    """
    return fold_compact(code).upper()


def validate_uscc(code: str) -> str | None:
    """Why ``code`` is not a valid USCC (GB 32100-2015), or ``None`` if it is valid.

    Checks length (18), charset, that positions 3-8 are a six-digit administrative division
    code, and the check character. The check is strict: normalise user input with
    :func:`normalise_uscc` first (lower-case letters are rejected here). The organisation
    code in positions 9-17 is not checked against GB 11714's own check digit, which
    the standard does not require of the USCC as a whole.
    """
    if len(code) != 18:
        return f"a USCC has 18 characters, not {len(code)}"
    bad = sorted({c for c in code if c not in _USCC_VALUE})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        return f"character(s) {shown} not allowed in a USCC (allowed: {USCC_CHARSET})"
    if not code[2:8].isdigit():
        return f"positions 3-8 must be a 6-digit administrative division code, not {code[2:8]!r}"
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        return f"check character is {code[17]!r}, expected {expected!r}"
    return None


def is_valid_uscc(code: str) -> bool:
    """Whether ``code`` is a valid USCC (see :func:`validate_uscc`)."""
    return validate_uscc(code) is None


def make_uscc(registration_authority: str, org_type: str, adcode: str, body9: str) -> str:
    """Assemble a valid USCC from its parts and append the check character.

    ``registration_authority`` and ``org_type`` are one USCC character each (``"9"``, ``"1"``
    for an enterprise registered with market regulation), ``adcode`` the six-digit GB/T 2260
    code, ``body9`` the nine-character organisation code. Raises :class:`ValueError` on
    malformed parts.

    >>> make_uscc("9", "1", "440300", "708461136")
    '91440300708461136T'
    """
    for label, part, size in (
        ("registration_authority", registration_authority, 1),
        ("org_type", org_type, 1),
        ("body9", body9, 9),
    ):
        if len(part) != size or any(c not in _USCC_VALUE for c in part):
            raise ValueError(f"{label} must be {size} character(s) of {USCC_CHARSET}, got {part!r}")
    if len(adcode) != 6 or not adcode.isdigit():
        raise ValueError(f"adcode must be 6 digits, got {adcode!r}")
    first17 = registration_authority + org_type + adcode + body9
    return first17 + uscc_check_char(first17)


# --------------------------------------------------------------------------- exchanges

_EXCHANGE_NAMES: dict[str, str] = {}
for _code, _names in {
    "SSE": ("SSE", "SH", "SS", "XSHG", "上交所", "上海证券交易所", "沪", "沪市", "上证", "科创板"),
    "SZSE": ("SZSE", "SZ", "XSHE", "深交所", "深圳证券交易所", "深", "深市", "创业板"),
    "BSE": ("BSE", "BJ", "BJSE", "XBSE", "北交所", "北京证券交易所"),
    "HKEX": (
        "HKEX",
        "HKSE",
        "SEHK",
        "HK",
        "XHKG",
        "港交所",
        "香港联交所",
        "香港交易所",
        "香港联合交易所",
        "联交所",
    ),
    "NASDAQ": ("NASDAQ", "XNAS", "纳斯达克", "纳斯达克证券交易所"),
    "NYSE": ("NYSE", "XNYS", "纽交所", "纽约证券交易所", "纽约证交所"),
    "OTHER": ("OTHER", "其他", "其它"),
}.items():
    for _name in _names:
        _EXCHANGE_NAMES[fold_compact(_name).upper()] = _code


def normalise_exchange(text: str) -> str | None:
    """Canonical exchange code (``SSE``, ``SZSE``, ``BSE``, ``HKEX``, ``NASDAQ``, ``NYSE``,
    ``OTHER``) for an English code or Chinese name, or ``None`` if not recognised.

    Accepts e.g. ``上交所``/``上海证券交易所``/``沪``, ``深交所``/``深``, ``北交所``,
    ``港交所``/``香港联交所``/``香港交易所``, ``纳斯达克``, ``纽交所``/``纽约证券交易所``, the
    ISO 10383 MICs (``XSHG``, ``XSHE``, ``XHKG`` ...) and the Wind-style suffixes (``SH``,
    ``SZ``, ``BJ``, ``HK``); case, full-width characters and whitespace do not matter.
    """
    return _EXCHANGE_NAMES.get(fold_compact(text).upper())


_A_SHARE_PREFIXES = {
    "SSE": ("600", "601", "603", "605", "688", "689"),
    "SZSE": ("000", "001", "002", "003", "300", "301"),
    "BSE": ("8", "4", "920"),
}
_SUFFIXES = {"SH": "SSE", "SS": "SSE", "SZ": "SZSE", "BJ": "BSE", "HK": "HKEX"}
_US_TICKER = re.compile(r"[A-Z]{1,5}(\.[A-Z0-9]{1,4})?")
_OTHER_CODE = re.compile(r"[A-Z0-9][A-Z0-9.\-]{0,15}")


def _split_suffix(code: str) -> tuple[str, str | None]:
    """Split a Wind-style suffix (``600000.SH``) or prefix (``SH600000``) off a code."""
    match = re.fullmatch(r"(\d{1,6})\.(SH|SS|SZ|BJ|HK)", code)
    if match:
        return match.group(1), _SUFFIXES[match.group(2)]
    match = re.fullmatch(r"(SH|SZ|BJ|HK)(\d{1,6})", code)
    if match:
        return match.group(2), _SUFFIXES[match.group(1)]
    return code, None


def normalise_stock_code(exchange: str | None, code: str) -> str:
    """Canonical spelling of a stock code: half-width, upper case, no exchange suffix, and
    HKEX codes padded to five digits (``700`` -> ``00700``).

    ``exchange`` may be any name :func:`normalise_exchange` accepts (or ``None``). Codes
    that do not look like a code of that exchange are returned folded but otherwise as
    given, so :func:`validate_stock_code` can report them.
    """
    folded = fold_compact(code).upper()
    bare, _suffix_exchange = _split_suffix(folded)
    canonical = normalise_exchange(exchange) if exchange else _suffix_exchange
    if canonical == "HKEX" and bare.isdigit() and 1 <= len(bare) <= 5:
        return bare.zfill(5)
    return bare


def infer_exchange(code: str) -> str | None:
    """The exchange a code unambiguously belongs to, or ``None``.

    Uses a suffix/prefix (``600000.SH``, ``SZ300750``, ``0700.HK``) if present, otherwise the
    six-digit A-share ranges of SSE, SZSE and BSE. HKEX and US codes need an explicit exchange.
    """
    folded = fold_compact(code).upper()
    bare, suffix_exchange = _split_suffix(folded)
    if suffix_exchange:
        return suffix_exchange
    if len(bare) == 6 and bare.isdigit():
        matches = [ex for ex, prefixes in _A_SHARE_PREFIXES.items() if bare.startswith(prefixes)]
        if len(matches) == 1:
            return matches[0]
    return None


def validate_stock_code(exchange: str, code: str) -> str | None:
    """Why ``code`` is not a stock code of ``exchange``, or ``None`` if it is valid.

    ``exchange`` may be a canonical code or any name :func:`normalise_exchange` accepts;
    ``code`` is normalised with :func:`normalise_stock_code` first (so ``0700.HK`` and
    ``700`` are valid HKEX codes). A Wind-style suffix naming another exchange is an error.
    """
    canonical = normalise_exchange(exchange)
    if canonical is None:
        return f"unknown exchange {exchange!r}"
    folded = fold_compact(code).upper()
    if not folded:
        return "stock code is empty"
    _bare, suffix_exchange = _split_suffix(folded)
    if suffix_exchange and suffix_exchange != canonical:
        return f"suffix of {code!r} names {suffix_exchange}, not {canonical}"
    value = normalise_stock_code(canonical, code)
    if canonical in _A_SHARE_PREFIXES:
        prefixes = _A_SHARE_PREFIXES[canonical]
        if not (len(value) == 6 and value.isdigit()):
            return f"a {canonical} stock code has 6 digits"
        if not value.startswith(prefixes):
            allowed = "/".join(p.ljust(6, "x") for p in prefixes)
            return f"{value} is not in a {canonical} A-share range ({allowed})"
        return None
    if canonical == "HKEX":
        if not (value.isdigit() and len(value) == 5 and value != "00000"):
            return "an HKEX stock code has 1-5 digits"
        return None
    if canonical in ("NASDAQ", "NYSE"):
        if not _US_TICKER.fullmatch(value):
            return f"a {canonical} ticker is 1-5 letters, optionally with a .class suffix"
        return None
    if not _OTHER_CODE.fullmatch(value):
        return "stock code must be 1-16 letters, digits, '.' or '-'"
    return None
