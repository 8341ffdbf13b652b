"""The nodes of the growing network: sample firms, relation nodes and the named hubs.

:class:`NodeTable` keeps one row per node (name, province, kind, GB/T 4754 division, degree,
neighbours, hub flag) with sample firms as nodes ``0 .. F-1``, and creates relation nodes when
the growth model (:mod:`demosite.growth`) needs one of some industry in some province: the next
unused real or template organisation of the catalogue (:mod:`demosite.names`), else a generated
firm with a fresh 字号. Names draw from ``random.Random("{seed}:names")``; the catalogue's
order from ``random.Random("{seed}:catalogue")``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from demosite import targets
from demosite.geography import load_geography
from demosite.identifiers import USCC_TYPES, make_uscc
from demosite.model import FIRST_YEAR, Firm, Partner
from demosite.names import OrgSpec, Zihao, load_vocabulary, name_prefix
from demosite.samplers import pick_weighted
from demosite.targets import Preset


@dataclass
class Hub:
    """A named hub of Table 2 or 3: its degree targets and its degree so far."""

    node: int
    target_in: int
    target_out: int
    entry_year: int
    cur_in: int = 0
    cur_out: int = 0


class NodeTable:
    """The nodes of the network and the creation of relation nodes (module docstring)."""

    def __init__(self, seed: int, preset: Preset, firms: Sequence[Firm]) -> None:
        self.seed = seed
        self.preset = preset
        self.model = targets.model()
        self.net = self.model["network"]
        self.geo = load_geography()
        self.vocab = load_vocabulary()
        self.firms = list(firms)
        self.F = len(firms)
        self.provinces = list(self.geo.provinces)
        self.pidx = {p: i for i, p in enumerate(self.provinces)}
        # node attributes (sample firms are nodes 0 .. F-1)
        self.names: list[str] = [f.name for f in firms]
        self.prov: list[int] = [self.pidx[f.province] for f in firms]
        self.kind: list[str] = ["sample"] * self.F
        self.div: list[str] = [f.industry_division for f in firms]
        self.deg: list[int] = [0] * self.F
        self.nbrs: list[list[int]] = [[] for _ in range(self.F)]
        self.is_hub: list[bool] = [f.hub for f in firms]
        self.partners: list[Partner] = []
        # names and catalogues
        self.name_rng = random.Random(f"{seed}:names")
        self.zihao = Zihao(self.vocab.partner_chars, self.name_rng)
        self.used_names: set[str] = set(self.names)
        self.used_uscc: set[str] = {f.uscc for f in firms}
        self.catalogue: dict[tuple[str, str], list[OrgSpec]] = {}
        cat_rng = random.Random(f"{seed}:catalogue")
        real_nonhub = [s for s in self.vocab.real if s.hub_degree is None]
        for s in real_nonhub:
            self.catalogue.setdefault((s.division, s.province), []).append(s)
        for key in sorted(self.vocab.templates):
            items = list(self.vocab.templates[key])
            weights = self.geo.cities[key[1]]
            wmap = {c.name: w for c, w in zip(weights, self.geo.city_weights[key[1]], strict=True)}
            items.sort(key=lambda s: -(wmap.get(s.city, 0.0) + 0.05) * cat_rng.random())
            self.catalogue.setdefault(key, []).extend(items)
        self.foreign = [s for s in real_nonhub if s.kind == "foreign_firm"]
        self.public_names = {s.name for s in self.vocab.real} | {
            s.name for items in self.vocab.templates.values() for s in items}
        self.core = [s for s in self.vocab.real if s.tiny] if not preset.hubs else []
        self.industries = {str(k): v for k, v in targets.load_yaml("names.yml")["partner_industries"].items()}
        self.witness_pool: dict[int, list[int]] = {}
        # hubs
        self.hubs: list[Hub] = []
        self.hub_of: dict[int, Hub] = {}

    def _add_hub(self, node: int, degree: Sequence[int], scale: float, founded: int) -> None:
        hub = Hub(node, round(degree[0] * scale), round(degree[1] * scale), max(FIRST_YEAR, founded + 1))
        self.hubs.append(hub)
        self.hub_of[node] = hub
        if node < self.F:
            self.is_hub[node] = True

    def _append_node(self, name: str, prov: str, kind: str, div: str) -> int:
        node = len(self.names)
        self.names.append(name)
        self.prov.append(self.pidx[prov])
        self.kind.append(kind)
        self.div.append(div)
        self.deg.append(0)
        self.nbrs.append([])
        self.is_hub.append(False)
        self.used_names.add(name)
        return node

    def _uscc(self, rng: random.Random, adcode: str, kind: str, name: str) -> str:
        if name.endswith(("公司", "有限责任公司")):
            authority, org_type = "9", "1"  # a company, whatever it does
        elif kind in ("university", "hospital") and not self._public(name):
            authority, org_type = "5", "2"  # private college / hospital: 民办非企业单位
        else:
            authority, org_type = USCC_TYPES.get(kind, ("9", "1"))
        while True:
            code = make_uscc(adcode, rng, authority, org_type)
            if code not in self.used_uscc:
                self.used_uscc.add(code)
                return code

    def _public(self, name: str) -> bool:
        """Whether a college or hospital name is a public institution (real or template)."""
        return name in self.public_names

    def _new_node_from_spec(self, s: OrgSpec, year: int, hub: bool = False) -> int:
        node = self._append_node(s.name, s.province, s.kind, s.division)
        self.is_hub[node] = hub
        english = next((a for a in s.aliases if re.fullmatch(r"[A-Za-z][A-Za-z .,&'-]*", a) and " " in a), None)
        aliases = tuple(a for a in s.aliases if a != english)
        self.partners.append(
            Partner(
                name=s.name,
                kind=s.kind,
                province=s.province,
                city=s.city,
                real=s.real,
                id=f"R{year}{len(self.partners) + 1:06d}",
                short_name=aliases[0] if aliases else None,
                english_name=english,
                aliases=aliases[1:] if aliases else (),
                industry_division=s.division,
                uscc=self._uscc(self.name_rng, s.adcode, s.kind, s.name),
                district_code=s.adcode,
                hub=hub,
                report_name=s.report_name,
            )
        )
        if s.kind in targets.model()["witness_kinds"]:
            self.witness_pool.setdefault(self.prov[node], []).append(node)
        return node

    def _zihao_node(self, rng: random.Random, division: str, province: str, year: int) -> int | None:
        options = self.industries.get(division)
        if not options:
            return None
        row = rng.choice(options)
        word, short_word, kind = row[0], row[1], row[2]
        form = row[3] if len(row) > 3 else None
        nolegal = form == "nolegal"
        city = self.geo.pick_city(rng, province)
        names = targets.load_yaml("names.yml")
        for _ in range(20):
            zh = self.zihao.take()
            if nolegal:
                name = f"{city.short}{zh}{word}"
            else:
                legal = names["legal_suffixes"]
                suffix = form or pick_weighted(rng, list(legal), list(legal.values()))
                name = f"{name_prefix(rng, province, city, self.geo, listed=False)}{zh}{word}{suffix}"
            if name not in self.used_names:
                break
        else:  # pragma: no cover - 字号 are unique, so a clash cannot repeat 20 times
            return None
        adcode = self.geo.adcode(rng, city)
        node = self._append_node(name, province, kind, division)
        short = zh + short_word if rng.random() < 0.5 and not nolegal else None
        self.partners.append(
            Partner(
                name=name,
                kind=kind,
                province=province,
                city=city.name,
                real=False,
                id=f"R{year}{len(self.partners) + 1:06d}",
                short_name=short,
                industry_division=division,
                uscc=self._uscc(self.name_rng, adcode, kind, name),
                district_code=adcode,
            )
        )
        return node

    def _new_relation(self, rng: random.Random, division: str, province: str, year: int) -> int | None:
        """A new relation node of ``division`` in ``province`` (real, template or generated)."""
        if self.core:
            spec = self.core.pop(rng.randrange(len(self.core)))
            return self._new_node_from_spec(spec, year)
        items = self._catalogue_items(division, province)
        if items:
            return self._new_node_from_spec(items.pop(0), year)
        node = self._zihao_node(rng, division, province, year)
        if node is None and items:
            return self._new_node_from_spec(items.pop(0), year)
        return node

    def _catalogue_items(self, division: str, province: str) -> list[OrgSpec]:
        """Unused real and template organisations of (division, province), in order of use."""
        items = self.catalogue.get((division, province), [])
        while items and items[0].name in self.used_names:
            items.pop(0)
        return items

    def _can_make(self, division: str, province: str) -> bool:
        return division in self.industries or bool(self._catalogue_items(division, province))

    def _new_provider(self, rng: random.Random, province: int, year: int) -> int | None:
        """A new relation node that provides: kind by ``new_provider_kinds``."""
        prov = self.provinces[province]
        kinds = self.net["new_provider_kinds"]
        if self.core:
            return self._new_relation(rng, "65", prov, year)
        for _ in range(4):
            kind = pick_weighted(rng, list(kinds), list(kinds.values()))
            if kind == "foreign_firm":
                self.foreign = [s for s in self.foreign if s.name not in self.used_names]
                if self.foreign:
                    spec = self.foreign.pop(rng.randrange(len(self.foreign)))
                    return self._new_node_from_spec(spec, year)
                continue
            fixed = {"university": "83", "research_institute": "73", "industry_body": "95", "telecom": "63"}
            if kind in fixed:
                division = fixed[kind]
            else:
                table = self.net["provider_divisions"][kind]
                division = pick_weighted(rng, list(table), list(table.values()))
            node = self._new_relation(rng, str(division), prov, year)
            if node is not None:
                return node
        return self._zihao_node(rng, "65", prov, year)

