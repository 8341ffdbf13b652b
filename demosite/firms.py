"""The demo world's sample firms: attributes drawn by quota, then names and identifiers.

Every attribute distribution is drawn by *quota* (largest-remainder rounding of the report's
shares to the firm count), so province, founding year, employees, listing, technology layer and
patent buckets match the report to rounding; patents are then placed so that the province and
layer shares of all patents are met greedily; listed firms' 2022 revenue, R&D expense and R&D
intensity buckets are met jointly by a greedy choice of the intensity (see step 1 of
:mod:`demosite.world`). All draws come from one ``random.Random("{seed}:firms")``, in the
order of the steps of :func:`make_firms`.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from demosite import targets
from demosite.geography import Geo, load_geography
from demosite.identifiers import STOCK_BOARDS, is_valid_stock_code, make_uscc, stock_code
from demosite.model import FIRST_YEAR, FISCAL_YEAR, LAST_YEAR, Firm
from demosite.names import Vocabulary, Zihao, load_vocabulary, name_prefix
from demosite.samplers import bucket_of, bucket_values, pick_weighted, quota
from demosite.targets import Preset


@dataclass
class _FirmDraft:
    """Mutable attributes of a sample firm while they are assigned."""

    hub: dict[str, Any] | None
    province: str = ""
    division: str = ""
    layer: str = ""
    founded: dt.date = dt.date(2000, 1, 1)
    listed: bool = False
    board: str | None = None
    employees: int = 0
    patents: int = 0
    revenue: float | None = None
    rd: float | None = None
    previous: bool = False



def make_firms(seed: int, preset: Preset) -> list[Firm]:
    """The sample firms of a preset (see the module docstring, step 1)."""
    rng = random.Random(f"{seed}:firms")
    report = targets.report()["firms"]
    params = targets.model()["firms"]
    n = preset.firms
    hubs = list(targets.load_yaml("organisations.yml")["sample_hubs"]) if preset.hubs else []
    drafts = [_FirmDraft(hub=h) for h in hubs] + [_FirmDraft(hub=None) for _ in range(n - len(hubs))]
    gen = [d for d in drafts if d.hub is None]
    _assign_places_and_industries(rng, drafts, gen, params)
    _assign_layers(rng, drafts, gen, report, params, n)
    _assign_founding(rng, drafts, gen, params, n)
    _assign_listing(rng, drafts, gen, report, params, n)
    _assign_employees(rng, drafts, report, params, n)
    _assign_patents(rng, drafts, report, params)
    _assign_financials(rng, [d for d in drafts if d.listed], report, params)
    _assign_previous_edition(rng, drafts, gen, preset, n)
    return _name_firms(rng, drafts, load_vocabulary(), load_geography())


def _assign_places_and_industries(rng: random.Random, drafts: list[_FirmDraft], gen: list[_FirmDraft],
                                  params: Mapping[str, Any]) -> None:
    """Provinces (quota of the report's shares, hubs counted in theirs) and GB/T 4754 divisions."""
    shares = targets.load_yaml("geography.yml")["firm_provinces"]
    provs = list(shares)
    left = dict(zip(provs, quota([shares[p] for p in provs], len(drafts)), strict=True))
    for d in drafts:
        if d.hub:
            d.province = d.hub["province"]
            left[d.province] = left.get(d.province, 0) - 1
    pool = [p for p in provs for _ in range(max(0, left[p]))]
    while len(pool) < len(gen):  # hubs took more than a province's quota (tiny presets)
        pool.append(provs[0])
    rng.shuffle(pool)
    for d, p in zip(gen, pool, strict=False):
        d.province = p

    # industry divisions of generated firms
    divs = params["divisions"]
    div_pool = [k for k, q in zip(divs, quota(list(divs.values()), len(gen)), strict=True) for _ in range(q)]
    rng.shuffle(div_pool)
    for d, div in zip(gen, div_pool, strict=True):
        d.division = str(div)
    for d in drafts:
        if d.hub:
            d.division = str(d.hub["division"])


def _assign_layers(rng: random.Random, drafts: list[_FirmDraft], gen: list[_FirmDraft],
                   report: Mapping[str, Any], params: Mapping[str, Any], n: int) -> None:
    """Technology layers: the report's quotas, hubs first, then drawn with division affinities."""
    layers = report["tech_layer"]
    left = dict(zip(layers, quota([layers[k]["firms"] for k in layers], n), strict=True))
    for d in drafts:
        if d.hub:
            d.layer = d.hub["layer"]
            left[d.layer] -= 1
    affinity = params["layer_affinity"]
    for d in gen:
        aff = affinity.get(d.division, {})
        keys = [k for k in left if left[k] > 0]
        d.layer = pick_weighted(rng, keys, [left[k] * aff.get(k, 1.0) for k in keys])
        left[d.layer] -= 1


def _assign_founding(rng: random.Random, drafts: list[_FirmDraft], gen: list[_FirmDraft],
                     params: Mapping[str, Any], n: int) -> None:
    """Founding dates: quota of the founding-year shares (hubs keep theirs)."""
    years: list[tuple[int, int]] = []
    weights: list[float] = []
    for key, w in params["founding_years"].items():
        lo, _, hi = str(key).partition("-")
        years.append((int(lo), int(hi or lo)))
        weights.append(float(w))
    hub_years = [d.hub["founded_on"].year for d in drafts if d.hub]
    counts = quota(weights, n)
    for y in hub_years:
        for i, (lo, hi) in enumerate(years):
            if lo <= y <= hi and counts[i] > 0:
                counts[i] -= 1
                break
    slots = [(lo, hi) for (lo, hi), c in zip(years, counts, strict=True) for _ in range(c)]
    while len(slots) < len(gen):
        slots.append(years[-1])
    rng.shuffle(slots)
    for d, (lo, hi) in zip(gen, slots, strict=False):
        year = rng.randint(lo, hi)
        last_day = dt.date(year, 6, 30) if year >= LAST_YEAR else dt.date(year, 12, 31)
        start = dt.date(year, 1, 1)
        d.founded = start + dt.timedelta(days=rng.randint(0, (last_day - start).days))
    for d in drafts:
        if d.hub:
            d.founded = d.hub["founded_on"]


def _assign_listing(rng: random.Random, drafts: list[_FirmDraft], gen: list[_FirmDraft],
                    report: Mapping[str, Any], params: Mapping[str, Any], n: int) -> None:
    """Listing: the report's share, older firms more likely, hubs as in the data; then the board."""
    n_listed = round(n * report["listed"]["listed_share"] / 100)
    for d in drafts:
        if d.hub and d.hub.get("exchange"):
            d.listed = True
    need = max(0, n_listed - sum(d.listed for d in drafts))
    candidates = list(gen)
    w_age = [1.0 + max(0, 2020 - d.founded.year) / 8 for d in candidates]
    for _ in range(min(need, len(candidates))):
        i = pick_weighted(rng, list(range(len(candidates))), w_age)
        candidates[i].listed = True
        w_age[i] = 0.0
    listed_gen = [d for d in gen if d.listed]
    boards = params["exchanges"]
    board_pool = [b for b, q in zip(boards, quota(list(boards.values()), len(listed_gen)), strict=True)
                  for _ in range(q)]
    rng.shuffle(board_pool)
    for d, b in zip(listed_gen, board_pool, strict=True):
        d.board = b
    for d in drafts:
        if d.hub and d.hub.get("exchange"):
            ex = d.hub["exchange"]
            d.board = {"SSE": "SSE_main", "SZSE": "SZSE_main"}.get(ex, ex)


def _assign_employees(rng: random.Random, drafts: list[_FirmDraft], report: Mapping[str, Any],
                      params: Mapping[str, Any], n: int) -> None:
    """Employees: the report's buckets, assigned by a size rank (hubs, listed, age, noise)."""

    def size_score(d: _FirmDraft) -> float:
        return (100 if d.hub else 0) + (2.0 if d.listed else 0) + (2020 - d.founded.year) / 15 + rng.gauss(0, 0.8)

    emp_buckets = params["employees"]
    emp_share = report["employees"]
    emp_values = sorted(bucket_values(rng, emp_buckets, quota([emp_share[k] for k in emp_buckets], n)),
                        reverse=True)
    ranked = sorted(drafts, key=size_score, reverse=True)
    for d, v in zip(ranked, emp_values, strict=True):
        d.employees = int(v)


def _assign_previous_edition(rng: random.Random, drafts: list[_FirmDraft], gen: list[_FirmDraft],
                             preset: Preset, n: int) -> None:
    """The earlier editions' sample: hubs plus firms founded early enough to join by 2020.

    Enough of them must exist early: by each year Y, S(Y) firms founded before Y.
    """
    t1 = targets.report()["network"]["table1"]
    previous_size = round(max(t1[y][0] for y in t1 if y < LAST_YEAR) * preset.factor)
    eligible = [d for d in gen if d.founded.year <= 2019]
    rng.shuffle(eligible)
    for d in drafts:
        if d.hub:
            d.previous = True
    table1 = targets.table1_targets(n, preset.relation_nodes, preset.edges, LAST_YEAR)
    chosen = sum(d.previous for d in drafts)
    for year in range(FIRST_YEAR, LAST_YEAR):
        have = sum(1 for d in drafts if d.previous and d.founded.year < year)
        for d in eligible:
            if have >= table1[year][0] or chosen >= previous_size:
                break
            if not d.previous and d.founded.year < year:
                d.previous = True
                have += 1
                chosen += 1
    for d in eligible:
        if chosen >= previous_size:
            break
        if not d.previous:
            d.previous = True
            chosen += 1


def _assign_patents(rng: random.Random, drafts: list[_FirmDraft], report: Mapping[str, Any],
                    params: Mapping[str, Any]) -> None:
    """Patent counts: the report's buckets; values placed to meet province and layer shares."""
    buckets = params["patents"]
    share = report["patents"]
    values = sorted(bucket_values(rng, buckets, quota([share[k] for k in buckets], len(drafts)),
                                   log=False, tail_alpha=params["patents_tail_alpha"]), reverse=True)
    prov_target = {k: v for k, v in report["patents_by_province"].items() if k != "top10_order"}
    prov_target |= params["patents_provinces_rest"]
    rest = 100 - sum(prov_target.values())
    counts: dict[str, int] = {}
    for d in drafts:
        counts[d.province] = counts.get(d.province, 0) + 1
    others = [p for p in counts if p not in prov_target]
    for p in others:
        prov_target[p] = rest * counts[p] / sum(counts[o] for o in others)
    layer_target = report["patents_by_layer"]
    open_by: dict[tuple[str, str], list[_FirmDraft]] = {}
    for d in sorted(drafts, key=lambda d: (d.hub is None, rng.random())):
        open_by.setdefault((d.province, d.layer), []).append(d)
    assigned_p = dict.fromkeys(prov_target, 0.0)
    assigned_l = dict.fromkeys(layer_target, 0.0)
    total = 0.0
    for v in values:
        total += v
        provs = {p for (p, _l), items in open_by.items() if items}
        p = max(sorted(provs), key=lambda q: prov_target.get(q, 0.0) / 100 * total - assigned_p.get(q, 0.0))
        layers = [lay for lay in layer_target if open_by.get((p, lay))]
        hub_layers = [lay for lay in layers if open_by[(p, lay)][0].hub]
        lay = hub_layers[0] if hub_layers else max(layers, key=lambda x: layer_target[x] / 100 * total - assigned_l[x])
        d = open_by[(p, lay)].pop(0)
        d.patents = int(v)
        assigned_p[p] = assigned_p.get(p, 0.0) + v
        assigned_l[lay] += v


def _assign_financials(rng: random.Random, listed: list[_FirmDraft], report: Mapping[str, Any],
                       params: Mapping[str, Any]) -> None:
    """2022 revenue and R&D (亿元) of listed firms, meeting the revenue, R&D and intensity buckets.

    Revenues (the report's buckets) go to the firms by size rank; R&D intensities are drawn in
    the report's intensity buckets and shuffled; then a local search swaps intensities between
    firms (which keeps both of those distributions) while the R&D-expense buckets' total absolute
    deviation from the report's quotas does not grow.
    """
    if not listed:
        return
    rev_b, rd_b, int_b = params["revenue"], params["rd"], params["rd_intensity"]
    rev_share = dict(report["listed_revenue_2022"]) | params["listed_revenue_rest"]
    n = len(listed)
    revenues = sorted(bucket_values(rng, rev_b, quota([rev_share[k] for k in rev_b], n), integer=False),
                      reverse=True)
    ranked = sorted(listed, key=lambda d: ((d.hub is not None), d.employees + rng.random()), reverse=True)
    ints = bucket_values(rng, int_b, quota([report["listed_rd_intensity_2022"][k] for k in int_b], n),
                          integer=False)
    rng.shuffle(ints)
    target = dict(zip(rd_b, quota([report["listed_rd_expense_2022"][k] for k in rd_b], n), strict=True))
    buckets = [bucket_of(r * x, rd_b) for r, x in zip(revenues, ints, strict=True)]
    counts = dict.fromkeys(rd_b, 0)
    for b in buckets:
        counts[b] += 1

    def error() -> int:
        return sum(abs(counts[k] - target[k]) for k in rd_b)

    err = error()
    for _ in range(60 * n):
        if err == 0:
            break
        i, j = rng.randrange(n), rng.randrange(n)
        bi, bj = bucket_of(revenues[i] * ints[j], rd_b), bucket_of(revenues[j] * ints[i], rd_b)
        if bi == buckets[i] and bj == buckets[j]:
            continue
        for old, new in ((buckets[i], bi), (buckets[j], bj)):
            counts[old] -= 1
            counts[new] += 1
        new_err = error()
        if new_err <= err:
            ints[i], ints[j] = ints[j], ints[i]
            buckets[i], buckets[j] = bi, bj
            err = new_err
        else:
            for old, new in ((buckets[i], bi), (buckets[j], bj)):
                counts[new] -= 1
                counts[old] += 1
    for d, rev, x in zip(ranked, revenues, ints, strict=True):
        d.revenue = rev
        d.rd = rev * x


class _Naming:
    """The names, identifiers and listing details of sample firms, with the sets that keep them unique."""

    def __init__(self, rng: random.Random, vocab: Vocabulary, geo: Geo) -> None:
        self.rng, self.vocab, self.geo = rng, vocab, geo
        self.names = targets.load_yaml("names.yml")
        self.params = targets.model()["firms"]
        self.zihao = Zihao(vocab.sample_chars, rng)
        self.used_slugs: set[str] = set()
        self.used_codes: set[str] = set()
        self.used_uscc: set[str] = set()
        self.used_english: set[str] = set()
        orgs = targets.load_yaml("organisations.yml")
        self.latin = [a for sec in ("sample_hubs", "relation_hubs", "known") for o in orgs[sec]
                      for a in (*(o.get("aliases") or ()), o.get("english_name") or "") if a.isascii() and a]

    def generated(self, d: _FirmDraft) -> tuple[Any, str, str, str, str, str | None, tuple[str, ...]]:
        """(city, adcode, name, short name, slug, English name, former names) of a generated firm."""
        rng, geo, vocab, names = self.rng, self.geo, self.vocab, self.names
        legal = names["sample_legal_suffixes"]
        city = geo.pick_city(rng, d.province)
        adcode = geo.adcode(rng, city)
        zh = self.zihao.take()
        short_word, word, desc_py, desc_en = rng.choice(names["sample_descriptors"][d.division])
        suffixes = ["股份有限公司"] if d.listed else list(legal)
        suffix = suffixes[0] if d.listed else pick_weighted(rng, suffixes, [legal[s] for s in suffixes])
        prefix = name_prefix(rng, d.province, city, geo, listed=d.listed)
        name = f"{prefix}{zh}{word}{suffix}"
        short = zh + short_word
        py = vocab.pinyin[zh[0]] + vocab.pinyin[zh[1]]
        slug = f"{py}-{desc_py}"
        english = None
        if rng.random() < self.params["english_name_share"] and py not in self.used_english:
            candidate = f"{py.capitalize()} {desc_en} Co., Ltd."
            if not any(a in candidate or candidate in a for a in self.latin):
                english = candidate
                self.used_english.add(py)
        former: tuple[str, ...] = ()
        if rng.random() < self.params["former_name_share"]:
            old = rng.choice([w for w in names["former_words"] if w != word])
            former = (f"{name_prefix(rng, d.province, city, geo, listed=False)}{zh}{old}有限公司",)
            if former[0] == name:
                former = ()
        return city, adcode, name, short, slug, english, former

    def unique_slug(self, slug: str) -> str:
        """``slug``, or ``slug-b``, ``slug-c`` ... when taken."""
        base, k = slug, 0
        while slug in self.used_slugs:
            k += 1
            slug = f"{base}-{chr(ord('a') + k)}" if k < 26 else f"{base}-{chr(ord('a') + k // 26)}{chr(ord('a') + k % 26)}"
        self.used_slugs.add(slug)
        return slug

    def uscc(self, adcode: str) -> str:
        """A USCC registered at ``adcode`` not used by another sample firm."""
        while True:
            uscc = make_uscc(adcode, self.rng)
            if uscc not in self.used_uscc:
                self.used_uscc.add(uscc)
                return uscc

    def listing(self, d: _FirmDraft, short: str) -> dict[str, Any]:
        """Exchange, stock code and short name, fiscal year, revenue and R&D expense (None when unlisted)."""
        out: dict[str, Any] = dict.fromkeys(("exchange", "stock_code", "stock_short_name", "fiscal_year",
                                             "revenue_cny", "rd_expense_cny"))
        if not d.listed:
            return out
        rng = self.rng
        board = d.board or "SSE_main"
        out["exchange"] = STOCK_BOARDS[board][0]
        while True:
            stock = stock_code(rng, board)
            if stock not in self.used_codes and is_valid_stock_code(stock, board):
                self.used_codes.add(stock)
                break
        out["stock_code"] = stock
        if d.hub or (len(short) == 4 and rng.random() < 0.6):
            stock_short = short
        else:
            stock_short = short[:2] + rng.choice(("股份", "科技", "智能"))
            if stock_short in (short,):
                stock_short = short
        out["stock_short_name"] = stock_short
        out["fiscal_year"] = FISCAL_YEAR
        revenue = max(1_000_000, int((d.revenue or 1.0) * 1e8) // 1000 * 1000)
        out["revenue_cny"] = revenue
        out["rd_expense_cny"] = min(revenue - 1000, max(1000, int((d.rd or 0.1) * 1e8) // 1000 * 1000))
        return out


def _name_firms(rng: random.Random, drafts: list[_FirmDraft], vocab: Vocabulary, geo: Geo) -> list[Firm]:
    """Names, identifiers and listing details of every draft, in draft order; sorted by slug."""
    naming = _Naming(rng, vocab, geo)
    n_gen = sum(1 for d in drafts if d.hub is None)
    if n_gen > naming.zihao.capacity:
        raise ValueError(f"only {naming.zihao.capacity} sample-firm 字号 available, {n_gen} needed")
    firms: list[Firm] = []
    for d in drafts:
        if d.hub:
            h = d.hub
            city = geo.by_name[h["city"]]
            adcode = str(h["adcode"])
            name, short, slug, english = h["name"], h["short_name"], h["slug"], h.get("english_name")
            aliases = tuple(h.get("aliases") or ())
            former: tuple[str, ...] = ()
        else:
            city, adcode, name, short, slug, english, former = naming.generated(d)
            aliases = ()
        slug = naming.unique_slug(slug)
        uscc = naming.uscc(adcode)
        firms.append(
            Firm(
                id=slug,
                name=name,
                short_name=short,
                english_name=english,
                former_names=former,
                uscc=uscc,
                province=d.province,
                city=city.name,
                district_code=adcode,
                industry_division=d.division,
                founded_on=d.founded,
                employees=d.employees,
                listed=d.listed,
                tech_layer=d.layer,
                patents=d.patents,
                aliases=aliases,
                hub=d.hub is not None,
                report_name=d.hub["report_name"] if d.hub else None,
                previous_edition=d.previous,
                **naming.listing(d, short),
            )
        )
    return sorted(firms, key=lambda f: f.id)
