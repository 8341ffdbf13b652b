"""The shared vocabularies (``common/data/vocabulary.yml``): organisation and event kinds, legal
suffixes, and the place prefixes of organisation names.

One home for lists several stages used to keep copies of. The place prefixes are a rule over
the province table rather than a list: :func:`place_prefixes` takes the provinces (records with
``code``, ``name``, ``short_name`` and ``cities`` of ``code`` and ``name``, as
``db.taxonomy.load_provinces`` returns them — this package reads no taxonomy itself) and yields
every prefix with the place it names.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from common.datafiles import common_data_path, read_yaml

#: The file the vocabularies are read from (part of the extractor version).
VOCABULARY_FILE = common_data_path("vocabulary.yml")
_DATA = read_yaml(VOCABULARY_FILE)

#: ``organisations.kind``: what kind of body an organisation is.
ORG_KINDS: tuple[str, ...] = tuple(_DATA["organisation_kinds"])
#: ``cooperation_events.kind``: the kinds of cooperation, ``other`` last.
EVENT_KINDS: tuple[str, ...] = tuple(_DATA["event_kinds"])
#: Chinese legal-form endings of registered names (股份有限公司, 有限公司, 集团 ...).
LEGAL_SUFFIXES: tuple[str, ...] = tuple(_DATA["legal_suffixes"])
#: Holding qualifiers (控股集团, 控股): legal suffixes when names are compared, not in short forms.
HOLDING_SUFFIXES: tuple[str, ...] = tuple(_DATA["holding_suffixes"])
#: English legal forms (co., ltd., inc., corporation ...), lower case.
ENGLISH_LEGAL_SUFFIXES: tuple[str, ...] = tuple(_DATA["english_legal_suffixes"])
#: Place prefixes beyond the province table's names -> province code.
EXTRA_PLACE_PREFIXES: dict[str, str] = {str(k): str(v) for k, v in _DATA["extra_place_prefixes"].items()}

MUNICIPALITIES = ("北京市", "天津市", "上海市", "重庆市")


@dataclass(frozen=True)
class PlacePrefix:
    """A prefix of organisation names that names a place: the province, and the city if it names one.

    ``kind`` is ``province`` (full name), ``province_short``, ``city`` or ``city_stem`` (the city's
    name without 市). A municipality's names name both the province and its one city.
    """

    prefix: str
    kind: str
    province_code: str
    province: str
    city_code: str | None
    city: str | None


def place_prefixes(provinces: Iterable[Any]) -> Iterator[PlacePrefix]:
    """Every place prefix of the province table, province by province (see :class:`PlacePrefix`).

    Per province: its full name, its short name, then per prefecture-level city its name and,
    for a city name ending in 市 with a stem of two characters or more, the stem (深圳市 and 深圳).
    Callers choose how to order them and which of two equal prefixes wins.
    """
    for p in provinces:
        municipality = p.name in MUNICIPALITIES
        own_city = next((c for c in p.cities if c.name == p.name), None) if municipality else None
        city_code = own_city.code if own_city is not None else None
        city_name = p.name if municipality else None
        yield PlacePrefix(p.name, "province", p.code, p.name, city_code, city_name)
        yield PlacePrefix(p.short_name or p.name, "province_short", p.code, p.name, city_code, city_name)
        for c in p.cities:
            yield PlacePrefix(c.name, "city", p.code, p.name, c.code, c.name)
            stem = c.name.removesuffix("市")
            if stem != c.name and len(stem) >= 2:
                yield PlacePrefix(stem, "city_stem", p.code, p.name, c.code, c.name)
