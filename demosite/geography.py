"""The demo world's places: the 31 mainland provinces, their prefecture-level cities and districts.

Provinces and cities come from the shared taxonomy (``db/data/provinces.yml`` through
:mod:`db.taxonomy`); city weights (where sample firms sit) and district adcodes from
``demosite/data/geography.yml``.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass

from db.taxonomy import load_provinces
from demosite import targets
from demosite.samplers import pick_weighted


@dataclass(frozen=True)
class City:
    province: str
    name: str  # 杭州市
    short: str  # 杭州
    code: str  # 330100
    districts: tuple[tuple[str, str], ...]  # (name, adcode)


@dataclass(frozen=True)
class Geo:
    provinces: tuple[str, ...]  # the 31 mainland provinces, in GB/T 2260 order
    short: dict[str, str]  # province -> short name
    cities: dict[str, tuple[City, ...]]  # prefecture-level cities named ...市
    city_weights: dict[str, tuple[float, ...]]
    municipalities: frozenset[str]
    by_name: dict[str, City]

    def pick_city(self, rng: random.Random, province: str) -> City:
        return pick_weighted(rng, self.cities[province], self.city_weights[province])

    def adcode(self, rng: random.Random, city: City) -> str:
        """A registration adcode in ``city``: one of its districts when known, else the city code."""
        if city.districts and rng.random() < 0.9:
            return rng.choice(city.districts)[1]
        return city.code


@functools.lru_cache(maxsize=1)
def load_geography() -> Geo:
    """The places of the world (parsed once per process)."""
    data = targets.load_yaml("geography.yml")
    records = [p for p in load_provinces() if p.cities]  # mainland: Taiwan, HK, Macao have none
    districts = data["districts"]
    provinces, short, cities, weights, by_name, munis = [], {}, {}, {}, {}, set()
    for p in records:
        provinces.append(p.name)
        short[p.name] = p.short_name
        chosen = [c for c in p.cities if c.name.endswith("市")]
        if len(p.cities) == 1 and p.cities[0].name == p.name:
            munis.add(p.name)
        objs = tuple(
            City(p.name, c.name, c.name.removesuffix("市"), c.code, tuple((d, code) for d, code in
                                                                         districts.get(c.name, {}).items()))
            for c in chosen
        )
        cities[p.name] = objs
        for c in objs:
            by_name[c.name] = c
        given = data["cities"].get(p.name)
        if given:
            unknown = set(given) - {c.name for c in objs}
            if unknown:
                raise ValueError(f"geography.yml: unknown cities in {p.name}: {sorted(unknown)}")
            weights[p.name] = tuple(float(given.get(c.name, 0.0)) for c in objs)
        else:
            weights[p.name] = tuple(3.0 if i == 0 else 1.0 if i < 3 else 0.0 for i in range(len(objs)))
    return Geo(tuple(provinces), short, cities, weights, frozenset(munis), by_name)

