"""Building the gazetteer of known organisation names, and classifying new organisations.

Names come from (in increasing priority): the seed gazetteer of well-known organisations
(``lexicons/seed_organisations.yml``), government bodies generated from the province and city
table (``db/data/provinces.yml``, read through :mod:`db.taxonomy`, by the templates in ``lexicons/government_names.yml``), a firm
registry CSV (for the offline ``aimap extract --registry``), and the database's organisations
and aliases (for the ETL stage). New organisations found in text get a kind (by suffix), a
province and city (from their name), and a GB/T 4754-2017 industry (``lexicons/industry_rules.yml``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from common.datafiles import read_yaml
from common.vocab import MUNICIPALITIES, place_prefixes
from db.taxonomy import load_industry_divisions, load_provinces
from etl.lexicon import LEXICON_DIR
from etl.mentions import Gazetteer, OrgRef


@dataclass(frozen=True)
class SeedOrganisation:
    """A well-known organisation of the seed gazetteer (or a generated government body)."""

    name: str
    kind: str
    province: str | None
    city: str | None
    division: str | None
    aliases: tuple[str, ...]


@lru_cache(maxsize=1)
def seed_organisations() -> tuple[SeedOrganisation, ...]:
    """The seed gazetteer plus government bodies of every province and prefecture-level city."""
    entries = read_yaml(LEXICON_DIR / "seed_organisations.yml")
    seeds = [
        SeedOrganisation(e["name"], e.get("kind", "other"), e.get("province"), e.get("city"), e.get("division"),
                         tuple(e.get("aliases", ())))
        for e in entries
    ]
    rules = read_yaml(LEXICON_DIR / "government_names.yml")
    known = {s.name for s in seeds} | {a for s in seeds for a in s.aliases}
    for province in load_provinces():
        pname = province.name
        templates = rules["municipality_templates"] + rules["city_templates"] if pname in MUNICIPALITIES \
            else rules["province_templates"]
        for template in templates:
            name = template.format(name=pname)
            if name not in known:
                known.add(name)
                city = pname if pname in MUNICIPALITIES else None
                seeds.append(SeedOrganisation(name, rules["kind"], pname, city, rules["division"], ()))
        if pname in MUNICIPALITIES:
            continue
        for city in province.cities:
            for template in rules["city_templates"]:
                name = template.format(name=city.name)
                if name not in known:
                    known.add(name)
                    seeds.append(SeedOrganisation(name, rules["kind"], pname, city.name, rules["division"], ()))
    return tuple(seeds)


def seed_gazetteer(gazetteer: Gazetteer | None = None) -> Gazetteer:
    """A gazetteer of every seed organisation's names (keys: :class:`OrgRef` without ids)."""
    gazetteer = gazetteer or Gazetteer()
    for seed in seed_organisations():
        ref = OrgRef(seed.name, seed.kind, seed.province)
        for name in (seed.name, *seed.aliases):
            if name not in gazetteer:
                gazetteer.add(name, ref)
    return gazetteer


REGISTRY_NAME_COLUMNS = ("name", "short_name", "english_name", "former_names", "stock_short_name",
                         "企业名称", "企业简称", "英文名称", "曾用名", "股票简称")


def registry_gazetteer(path: Path, gazetteer: Gazetteer | None = None) -> Gazetteer:
    """Add the names of a firm registry CSV (the ``aimap firms import`` format) as sample firms."""
    gazetteer = gazetteer or Gazetteer()
    with Path(path).open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            canonical = (row.get("name") or row.get("企业名称") or "").strip()
            if not canonical:
                continue
            ref = OrgRef(canonical, "firm", (row.get("province") or row.get("省份") or None), sample=True)
            for column in REGISTRY_NAME_COLUMNS:
                for name in (row.get(column) or "").replace("；", ";").split(";"):
                    if name.strip():
                        gazetteer.replace(name.strip(), ref)
    return gazetteer


# --------------------------------------------------------------------------- classification


@lru_cache(maxsize=1)
def _industry_rules() -> dict[str, Any]:
    return read_yaml(LEXICON_DIR / "industry_rules.yml")


@lru_cache(maxsize=1)
def division_sections() -> dict[str, str]:
    """GB/T 4754-2017 division -> section."""
    return {d.code: d.section_code for d in load_industry_divisions()}


def industry_of(name: str, kind: str) -> tuple[str | None, str | None]:
    """(section, division) of an organisation from its name and kind, by the versioned rules."""
    rules = _industry_rules()
    division = None
    if kind in ("firm", "foreign_firm", "other"):
        for rule in rules["keywords"]:
            if any(w in name for w in rule["words"]):
                division = rule["division"]
                break
    division = division or rules["kind_defaults"].get(kind) or rules["kind_defaults"]["other"]
    return division_sections().get(division), division


@lru_cache(maxsize=1)
def _places() -> list[tuple[str, str, str | None]]:
    """(prefix, province name, city name) of every place prefix, by decreasing prefix length."""
    places = [(p.prefix, p.province, p.city) for p in place_prefixes(load_provinces())]
    places.sort(key=lambda p: -len(p[0]))
    return places


def place_of(name: str) -> tuple[str | None, str | None]:
    """(province, city) full names named at the start of an organisation's name, if any.

    ``深圳市骏华新能源有限公司`` -> (广东省, 深圳市); ``浙江大学`` -> (浙江省, None); foreign or
    brand names -> (None, None).
    """
    by_prefix, lengths = _place_index()
    for length in lengths:  # longest prefix first, as in _places()
        hit = by_prefix.get(name[:length])
        if hit is not None:
            return hit
    return None, None


@lru_cache(maxsize=1)
def _place_index() -> tuple[dict[str, tuple[str, str | None]], list[int]]:
    """:func:`_places` as a dict by prefix (the first entry wins) and the prefix lengths, longest first."""
    by_prefix: dict[str, tuple[str, str | None]] = {}
    for prefix, province, city in _places():
        by_prefix.setdefault(prefix, (province, city))
    return by_prefix, sorted({len(p) for p in by_prefix}, reverse=True)
