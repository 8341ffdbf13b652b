"""Names of the demo world's organisations: vocabulary, 字号 pools, template catalogue, name checks.

Names follow 企业名称 practice (place + 字号 + industry + 组织形式). The extractor finds
organisations and taxonomy terms by substring, so :func:`check_names` makes sure that no name or
alias of one organisation occurs inside another's (except a brand family's parent inside its
members) and that no name is inside a taxonomy term or contains one. Data: ``names.yml`` and
``organisations.yml`` in ``demosite/data``.
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ahocorasick

from db.taxonomy import load_provinces
from demosite import targets
from demosite.geography import City, Geo, load_geography
from demosite.model import APPLICATION_DOMAINS, TECH_CATEGORIES, World
from demosite.samplers import pick_weighted


@dataclass(frozen=True)
class OrgSpec:
    """A named relation organisation before it joins the world (real or template)."""

    name: str
    kind: str
    division: str
    province: str
    city: str
    adcode: str
    aliases: tuple[str, ...] = ()
    real: bool = False
    tiny: bool = False
    hub_degree: tuple[int, int] | None = None  # (in, out) in the report's 2023 network
    report_name: str | None = None


@dataclass(frozen=True)
class Vocabulary:
    sample_chars: tuple[str, ...]
    partner_chars: tuple[str, ...]
    pinyin: dict[str, str]
    real: tuple[OrgSpec, ...]  # relation hubs first, then the known organisations
    templates: dict[tuple[str, str], tuple[OrgSpec, ...]]  # (division, province) -> template orgs
    families: dict[str, tuple[str, ...]]  # parent full name -> member full names


def _strings_of_names() -> list[str]:
    """Every fixed string that generated names may meet (for the character exclusion)."""
    names = targets.load_yaml("names.yml")
    orgs = targets.load_yaml("organisations.yml")
    geo = load_geography()
    out: list[str] = list(TECH_CATEGORIES) + list(APPLICATION_DOMAINS)
    for p in geo.provinces:
        out += [p, geo.short[p]]
        for c in geo.cities[p]:
            out += [c.name, *(d for d, _ in c.districts)]
    for p in load_provinces():
        out += [p.name, *(c.name for c in p.cities)]
    for section in ("sample_hubs", "relation_hubs", "known"):
        for o in orgs[section]:
            out += [o["name"], *(o.get("aliases") or ()), o.get("short_name") or ""]
    for rows in names["sample_descriptors"].values():
        for short, word, _py, _en in rows:
            out += [short, word]
    for rows in names["partner_industries"].values():
        for row in rows:
            out += [row[0], row[1]]
    out += list(names["former_words"]) + list(names["legal_suffixes"]) + list(names["sample_legal_suffixes"])
    for t in names["templates"]:
        out.append(re.sub(r"\{[A-Za-z]\}", "", t["pattern"]))
    return out


@functools.lru_cache(maxsize=1)
def load_vocabulary() -> Vocabulary:
    names = targets.load_yaml("names.yml")
    orgs = targets.load_yaml("organisations.yml")
    geo = load_geography()
    used = {ch for s in _strings_of_names() for ch in s}
    pinyin = {str(k): str(v) for k, v in names["sample_pool"].items()}
    sample_chars = tuple(dict.fromkeys(c for c in pinyin if c not in used))
    partner_chars = tuple(
        dict.fromkeys(c for c in names["partner_pool"] if not c.isspace() and c not in used and c not in pinyin)
    )
    real: list[OrgSpec] = []
    for o in orgs["relation_hubs"]:
        real.append(_spec(o, hub=True))
    for o in orgs["known"]:
        real.append(_spec(o, hub=False))
    real_names = {s.name for s in real} | {o["name"] for o in orgs["sample_hubs"]}
    # Template organisations of every province / city / district, deduplicated against real names.
    raw: list[OrgSpec] = []
    for t in names["templates"]:
        for prov in geo.provinces:
            muni = prov in geo.municipalities
            if t["level"] == "province":
                if muni:
                    continue
                places = [(prov, geo.cities[prov][0] if geo.cities[prov] else None)]
            else:
                places = [(prov, c) for c in geo.cities[prov]]
            for _p, city in places:
                if city is None:
                    continue
                if t["level"] == "district":
                    for dname, dcode in city.districts:
                        nm = t["pattern"].format(P=prov, p=geo.short[prov], C=city.name, c=city.short, D=dname)
                        raw.append(OrgSpec(nm, t["kind"], t["division"], prov, city.name, dcode))
                    continue
                nm = t["pattern"].format(P=prov, p=geo.short[prov], C=city.name, c=city.short, D="")
                code = city.code if t["level"] == "city" else city.code
                raw.append(OrgSpec(nm, t["kind"], t["division"], prov, city.name, code))
    seen = set(real_names)
    templates_list: list[OrgSpec] = []
    for spec in raw:
        if spec.name in seen:
            continue
        seen.add(spec.name)
        templates_list.append(spec)
    # Drop templates that contain, or are contained in, another fixed name or alias.
    fixed: dict[str, int] = {}
    for i, s in enumerate(real):
        for nm in (s.name, *s.aliases):
            fixed[nm] = -1 - i
    for o in orgs["sample_hubs"]:
        for nm in (o["name"], o["short_name"], *(o.get("aliases") or ())):
            fixed[nm] = -10_000
    for term in (*TECH_CATEGORIES, *APPLICATION_DOMAINS):
        fixed[term] = -20_000
    for i, s in enumerate(templates_list):
        fixed.setdefault(s.name, i)
    clashes = _containments(fixed)
    bad = {owner for owner, _other in clashes if owner >= 0} | {other for _o, other in clashes if other >= 0}
    templates: dict[tuple[str, str], list[OrgSpec]] = {}
    for i, s in enumerate(templates_list):
        if i not in bad:
            templates.setdefault((s.division, s.province), []).append(s)
    families = {parent: tuple(members) for parent, members in (orgs.get("brand_families") or {}).items()}
    return Vocabulary(
        sample_chars=sample_chars,
        partner_chars=partner_chars,
        pinyin=pinyin,
        real=tuple(real),
        templates={k: tuple(v) for k, v in templates.items()},
        families=families,
    )


def _spec(o: Mapping[str, Any], hub: bool) -> OrgSpec:
    return OrgSpec(
        name=o["name"],
        kind=o["kind"],
        division=str(o["division"]),
        province=o["province"],
        city=o["city"],
        adcode=str(o["adcode"]),
        aliases=tuple(o.get("aliases") or ()),
        real=True,
        tiny=bool(o.get("tiny", False)),
        hub_degree=tuple(o["degree"]) if hub else None,  # type: ignore[arg-type]
        report_name=o.get("report_name"),
    )


def _containments(strings: Mapping[str, int]) -> list[tuple[int, int]]:
    """Pairs (owner of the longer string, owner of the contained string) for different owners."""
    automaton = ahocorasick.Automaton()
    for s, owner in strings.items():
        automaton.add_word(s, (s, owner))
    automaton.make_automaton()
    out = []
    for s, owner in strings.items():
        for _end, (found, other) in automaton.iter(s):
            if other != owner and found != s:
                out.append((owner, other))
    return out


def check_names(world: World) -> list[str]:
    """Problems with the world's names, empty when none (also run by :func:`build_world`).

    Checks that every name and alias belongs to one organisation only, that no name or alias of
    an organisation occurs inside a name or alias of another one (except a brand family's parent
    inside its members, e.g. 华为 in 华为云计算技术有限公司), and that no name is inside a taxonomy
    term or contains one (the extractor finds organisations and categories by substring).
    """
    owners: dict[str, int] = {}
    problems: list[str] = []
    orgs: list[tuple[str, tuple[str, ...]]] = [(f.name, f.names) for f in world.firms]
    orgs += [(p.name, p.names) for p in world.partners]
    for i, (full, names) in enumerate(orgs):
        for nm in names:
            if owners.setdefault(nm, i) != i:
                problems.append(f"{nm!r} names both {orgs[owners[nm]][0]} and {full}")
    families = load_vocabulary().families
    allowed = {(parent, member) for parent, members in families.items() for member in members}
    automaton = ahocorasick.Automaton()
    for nm, i in owners.items():
        automaton.add_word(nm, (nm, i))
    terms = list(TECH_CATEGORIES) + list(APPLICATION_DOMAINS)
    for t in terms:
        if t not in owners:
            automaton.add_word(t, (t, -1))
    automaton.make_automaton()
    for nm, i in owners.items():
        for _end, (found, other) in automaton.iter(nm):
            if other == i or found == nm:
                continue
            if other == -1:
                problems.append(f"taxonomy term {found!r} inside the name {nm!r}")
            elif (orgs[other][0], orgs[i][0]) not in allowed:
                problems.append(f"{found!r} ({orgs[other][0]}) inside {nm!r} ({orgs[i][0]})")
    for t in terms:
        for _end, (found, other) in automaton.iter(t):
            if other >= 0:
                problems.append(f"name {found!r} ({orgs[other][0]}) inside the taxonomy term {t!r}")
    return problems


class Zihao:
    """Unique two-character trade names (字号) drawn from a character pool, in random order."""

    def __init__(self, chars: Sequence[str], rng: random.Random) -> None:
        self.pairs = [a + b for a in chars for b in chars if a != b]
        rng.shuffle(self.pairs)
        self.next = 0

    def take(self) -> str:
        if self.next >= len(self.pairs):
            raise ValueError(f"the 字号 pool is exhausted ({len(self.pairs)} names)")
        value = self.pairs[self.next]
        self.next += 1
        return value

    @property
    def capacity(self) -> int:
        return len(self.pairs)

def name_prefix(rng: random.Random, province: str, city: City, geo: Geo, listed: bool) -> str:
    """The place part of a name (none, province short name, city short or full name; names.yml)."""
    forms = targets.load_yaml("names.yml")["prefix_forms"]
    if listed and rng.random() < 0.5:
        return ""
    form = pick_weighted(rng, list(forms), list(forms.values()))
    if form == "none":
        return ""
    if form == "province_short" and province not in geo.municipalities:
        return geo.short[province]
    if form == "city_full" or (city.name == "深圳市" and rng.random() < 0.7):
        return city.name
    return city.short

