"""The resolver: mention names -> organisations (identifiers, aliases, judgements, scored candidates)."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from common.identifiers import normalise_exchange, normalise_stock_code, normalise_uscc, validate_uscc
from common.vocab import ORG_KINDS
from db.models import (
    Alias,
    Judgement,
    Organisation,
)
from etl.resolve.config import ResolverConfig, load_config
from etl.resolve.distinct import distinct_reason
from etl.resolve.index import NameIndex
from etl.resolve.judgements import (
    PENDING,
    POSITIVE,
    SETTLED,
    OrgInfo,
    Party,
    as_utc,
    bulk_execute,
    identifier_refs,
    record_judgement,
)
from etl.resolve.names import (
    NameKey,
    NameRules,
    ResolveError,
    alias_kind,
    fold_name,
    key_of_folded,
    load_name_rules,
)

_SPACES = re.compile(r"\s+")

# --------------------------------------------------------------------------- resolver




@dataclass(frozen=True)
class Resolution:
    """The outcome of resolving one name.

    ``outcome`` is one of ``identifier``, ``alias``, ``judgement``, ``auto_merge`` (the name
    became an alias of ``org_id``), ``suggested`` (a new organisation with pending suggestions
    towards ``candidates``), ``new`` or ``unresolved`` (lookup only, nothing matched).
    ``alias`` is the alias row this resolution wrote for ``org_id`` (``None`` when the
    organisation already had the name, folded alike): what a reload of the names will hold.
    """

    org_id: int | None
    outcome: str
    score: float | None = None
    candidates: tuple[int, ...] = ()
    alias: str | None = None

    @property
    def created(self) -> bool:
        """Whether a new organisation was created."""
        return self.outcome in ("suggested", "new")


@dataclass(frozen=True)
class _Edge:
    other: str
    judgement: str
    manual: bool
    at: dt.datetime | None


@dataclass(frozen=True)
class Scored:
    """A scored candidate organisation."""

    org_id: int
    score: float
    name: str


class Resolver:
    """Resolves mention names to organisation ids, creating organisations and storing judgements.

    Two ways to use it: :meth:`resolve` (creates an organisation for a new name itself), or
    :meth:`match` + :meth:`adopt` (the caller creates new organisations its own way, e.g. with
    an industry from its rules, and hands them back). :meth:`lookup` only reads.

    Loads every organisation, alias and judgement once (4-6 s for 35,000 organisations and
    105,000 aliases: benchmarks/bench_resolve.py) and keeps its indexes in step with what it
    writes; it does not see organisations created behind its back (:meth:`adopt` them, or
    :meth:`reload`). Writes go through ``session`` (flushed, never committed). ``stats``
    counts outcomes; :attr:`merges` the names attached by similarity or judgement.
    """

    def __init__(
        self, session: Session, *, config: ResolverConfig | None = None, rules: NameRules | None = None
    ) -> None:
        self.session = session
        self.config = config or load_config()
        self.rules = rules or load_name_rules()
        self.stats: Counter[str] = Counter()
        self.reload()

    # ------------------------------------------------------------------ state

    def reload(self) -> None:
        """(Re)load organisations, aliases and judgements from the database."""
        self._orgs: dict[int, OrgInfo] = {}
        self._by_name: dict[str, set[int]] = defaultdict(set)
        self._by_uscc: dict[str, int] = {}
        self._by_stock: dict[tuple[str, str], int] = {}
        self._index = NameIndex(self.config)
        self._edges: dict[str, list[_Edge]] = defaultdict(list)
        self._names_of: dict[int, set[str]] = defaultdict(set)
        self._keys: dict[str, NameKey] = {}
        self._awaiting: dict[str, tuple[list[Scored], str | None, str | None, str | None, list[str]]] = {}
        rows = self.session.execute(select(
            Organisation.id, Organisation.name, Organisation.kind, Organisation.province_code,
            Organisation.city_code, Organisation.uscc, Organisation.stock_exchange, Organisation.stock_code,
            Organisation.is_sample,
        ))
        for row in rows:
            self._remember(OrgInfo(*row))
        for org_id, name in self.session.execute(select(Alias.organisation_id, Alias.name)):
            if org_id in self._orgs:
                self._add_name(org_id, name)
        self._rows: dict[tuple[str, str], Judgement] = {}
        for row in self.session.scalars(select(Judgement)):
            self._remember_judgement(row)

    def _remember(self, info: OrgInfo) -> None:
        if info.kind == "other":
            info.kind = None
        key = self.key(info.name)
        if info.province is None:
            info.province, info.city = key.province, key.city
        self._orgs[info.id] = info
        if info.uscc:
            self._by_uscc[info.uscc] = info.id
        if info.stock_exchange and info.stock_code:
            self._by_stock[(info.stock_exchange, info.stock_code)] = info.id
        self._add_name(info.id, info.name)

    def _add_name(self, org_id: int, name: str) -> None:
        self._add_folded(org_id, fold_name(name))

    def _add_folded(self, org_id: int, folded: str) -> None:
        self._by_name[folded].add(org_id)
        self._names_of[org_id].add(folded)
        key = self._key_folded(folded)
        self._index.add(key.normalised, org_id)
        if key.stripped:  # 成都海南宝科技: the brand may start with a place name
            self._index.add(key.unstripped, org_id)

    def _drop_folded(self, org_id: int, folded: str) -> None:
        self._by_name[folded].discard(org_id)
        self._names_of[org_id].discard(folded)
        key = self._key_folded(folded)
        self._index.discard(key.normalised, org_id)
        self._index.discard(key.unstripped, org_id)

    def _remember_judgement(self, row: Judgement) -> None:
        self._rows[(row.left_ref, row.right_ref)] = row
        at = row.decided_at
        for ref, other in ((row.left_ref, row.right_ref), (row.right_ref, row.left_ref)):
            edges = self._edges[ref]
            edges[:] = [e for e in edges if e.other != other]
            edges.append(_Edge(other, row.judgement, not row.automatic, at))

    def key(self, name: str) -> NameKey:
        """:func:`name_key` of ``name`` (memoised)."""
        return self._key_folded(fold_name(name))

    def _key_folded(self, folded: str) -> NameKey:
        key = self._keys.get(folded)
        if key is None:
            key = self._keys[folded] = key_of_folded(folded, self.rules)
        return key

    def _live(self, ids: Iterable[int]) -> set[int]:
        return {i for i in ids if i in self._orgs}

    def note_merge(self, keep_id: int, drop_id: int) -> None:
        """Tell the resolver that ``drop_id`` was merged into ``keep_id`` (by :func:`merge_organisations`)."""
        for folded in list(self._names_of.pop(drop_id, ())):
            self._drop_folded(drop_id, folded)
            self._add_folded(keep_id, folded)
        dropped = self._orgs.pop(drop_id, None)
        for index in (self._by_uscc, self._by_stock):
            for ident in [k for k, v in index.items() if v == drop_id]:
                del index[ident]
        keep = self._orgs.get(keep_id)
        if dropped and keep:
            for attr in ("kind", "province", "city", "uscc"):
                if getattr(keep, attr) is None:
                    setattr(keep, attr, getattr(dropped, attr))
            if keep.stock_code is None:
                keep.stock_exchange, keep.stock_code = dropped.stock_exchange, dropped.stock_code
            keep.is_sample = keep.is_sample or dropped.is_sample
            if keep.uscc:
                self._by_uscc[keep.uscc] = keep_id
            if keep.stock_exchange and keep.stock_code:
                self._by_stock[(keep.stock_exchange, keep.stock_code)] = keep_id

    def note_split(self, name: str, old_id: int, new_org: Organisation) -> None:
        """Tell the resolver that ``name`` moved from ``old_id`` to the new organisation."""
        self._drop_folded(old_id, fold_name(name))
        self._remember(self._info(new_org))
        self._add_name(new_org.id, name)

    def note_judgement(self, row: Judgement) -> None:
        """Make a judgement stored elsewhere count for this resolver."""
        self._remember_judgement(row)

    @staticmethod
    def _info(org: Organisation) -> OrgInfo:
        return OrgInfo(org.id, org.name, org.kind, org.province_code, org.city_code, org.uscc,
                       org.stock_exchange, org.stock_code, bool(org.is_sample))

    def organisation(self, org_id: int) -> OrgInfo | None:
        """What the resolver knows about an organisation."""
        return self._orgs.get(org_id)

    def orgs_for_ref(self, ref: str) -> set[int]:
        """Organisations a portable reference denotes here (by identifier or by any alias)."""
        kind, _, value = ref.partition(":")
        if kind == "uscc":
            hit = self._by_uscc.get(value)
            return self._live([hit]) if hit is not None else set()
        if kind == "stock":
            exchange, _, code = value.partition(":")
            hit = self._by_stock.get((exchange, code))
            return self._live([hit]) if hit is not None else set()
        if kind == "name":
            return self._live(self._by_name.get(value, ()))
        return set()

    # ------------------------------------------------------------------ scoring

    def _place(self, province: str | None, key: NameKey) -> tuple[str | None, str | None, bool]:
        """The mention's (province, city, whether given as a hint rather than read from the name)."""
        if province:
            code = self._province_code(province)
            if code:
                return code, key.city if key.province == code else None, True
        return key.province, key.city, False

    def _province_code(self, value: str) -> str | None:
        if value.isdigit() and len(value) == 2:
            return value
        hit = self.rules.region_prefixes.get(fold_name(value))
        return hit[0] if hit else None

    def score(
        self, key: NameKey, kind: str | None, province: str | None, city: str | None, candidate: str, org: OrgInfo,
        *, hinted: bool = False,
    ) -> float:
        """Score of a mention (normalised ``key``, kind, place) against a candidate name of ``org``.

        Definition (weights in ``etl/data/resolve.yml``)::

            sim   = rapidfuzz.fuzz.ratio(key, candidate) / 100      # 1 - Indel distance / (|a| + |b|)
            sim   = max(sim, prefix_similarity)  if one is a prefix of the other (both >= prefix_min_length)
            score = clip(sim + kind term + place term, 0, 1)
            score = min(score, cjk_unequal_cap)  if the two differ and are not both ASCII

        kind term: ``kind_agree`` when both kinds are known and equal, ``kind_conflict`` when
        both are known and differ outside one of the ``kind_families``, else 0. place term: ``province_conflict`` when both provinces
        are known and differ, or both cities are known and differ and the mention's city prefix
        was stripped from its normalised name (深圳XX旅游 / 广州XX旅游 -> XX旅游); ``province_agree``
        when both provinces are known and equal; else 0. The mention's place is the hint, else
        the place its name starts with; the organisation's is its own, else its name's.
        The cap: Chinese variants of one name normalise to the same string (legal form, region,
        brackets, script, width), while one different character is usually another
        organisation (智源 / 智谱), so unequal Chinese names are at most suggested.

        When a region prefix was stripped from the mention, the score is the larger of the
        above and the same computed on the name with its prefix kept (``key.unstripped``) and
        only a ``hinted`` place: a brand may begin with a place name (海南宝科技).
        """
        best = self._score(key.normalised, key.stripped, kind, province, city, candidate, org)
        if key.stripped:
            place = (province, city) if hinted else (None, None)
            best = max(best, self._score(key.unstripped, False, kind, *place, candidate, org))
        return best

    def _score(
        self, a: str, stripped: bool, kind: str | None, province: str | None, city: str | None, candidate: str,
        org: OrgInfo,
    ) -> float:
        cfg = self.config
        sim = fuzz.ratio(a, candidate) / 100.0
        short, long_ = (a, candidate) if len(a) <= len(candidate) else (candidate, a)
        if len(short) >= cfg.prefix_min_length and short != long_ and long_.startswith(short):
            sim = max(sim, cfg.prefix_similarity)
        if kind and org.kind:
            if kind == org.kind:
                sim += cfg.kind_agree
            elif not cfg.same_family(kind, org.kind):
                sim += cfg.kind_conflict
        if province and org.province:
            if province != org.province or (stripped and city and org.city and city != org.city):
                sim += cfg.province_conflict
            else:
                sim += cfg.province_agree
        score = min(1.0, max(0.0, sim))
        if a != candidate and not (a.isascii() and candidate.isascii()):
            score = min(score, cfg.cjk_unequal_cap)
        return score

    def _settled_with(self, refs: list[str], org_id: int) -> str | None:
        """The most authoritative settled judgement between the mention refs and an organisation."""
        best: tuple[bool, dt.datetime, str] | None = None
        for ref in refs:
            for edge in self._edges.get(ref, ()):
                if edge.judgement in SETTLED and org_id in self.orgs_for_ref(edge.other):
                    rank = (edge.manual, as_utc(edge.at) or dt.datetime.min.replace(tzinfo=dt.UTC), edge.judgement)
                    if best is None or rank[:2] > best[:2]:
                        best = rank
        return best[2] if best else None

    def _forced(self, refs: list[str]) -> int | None:
        """An organisation a positive judgement ties the mention to (the latest analyst decision first)."""
        found: list[tuple[bool, dt.datetime, int]] = []
        for ref in refs:
            for edge in self._edges.get(ref, ()):
                if edge.judgement == POSITIVE:
                    for org_id in self.orgs_for_ref(edge.other):
                        if self._settled_with(refs, org_id) == POSITIVE:
                            at = as_utc(edge.at) or dt.datetime.min.replace(tzinfo=dt.UTC)
                            found.append((edge.manual, at, -org_id))
        return -max(found)[2] if found else None

    def candidates(
        self, key: NameKey, kind: str | None, province: str | None, city: str | None,
        refs: list[str], ids: list[str], *, hinted: bool = False, name: str | None = None,
    ) -> list[Scored]:
        """Blocked and scored candidate organisations, best first, without settled pairs.

        With the mention's ``name``, candidates whose every name matching the key is *distinct*
        from it (another leading place, another number: :mod:`etl.resolve.distinct`) are left
        out: they are neither suggested nor merged.
        """
        best: dict[int, Scored] = {}
        forms = [(key.normalised, key.stripped, province, city)]
        if key.stripped:  # also as written, in case the brand begins with a place name (海南宝科技)
            forms.append((key.unstripped, False, *((province, city) if hinted else (None, None))))
        cfg = self.config
        # a candidate can reach ``suggest`` only by name similarity >= this (bonuses are added later)
        floor = 100 * (cfg.suggest - max(cfg.kind_agree, 0) - max(cfg.province_agree, 0))
        for text, stripped, prov, town in forms:
            if best and max(c.score for c in best.values()) >= cfg.auto_merge:
                break
            slots = self._index.candidate_slots(text)
            keys = [self._index.key_at(slot) for slot in slots]
            close = {i for _, _, i in process.extract(text, keys, scorer=fuzz.ratio, score_cutoff=floor, limit=None)}
            if len(text) >= cfg.prefix_min_length:
                close.update(i for i, k in enumerate(keys) if k.startswith(text) or
                             (len(k) >= cfg.prefix_min_length and text.startswith(k)))
            for i in sorted(close):
                candidate = keys[i]
                for org_id in self._live(self._index.orgs_at(slots[i])):
                    if org_id in best and best[org_id].score >= 1.0:
                        continue
                    org = self._orgs[org_id]
                    if self._identifier_conflict(org, ids):
                        continue
                    s = self._score(text, stripped, kind, prov, town, candidate, org)
                    if s >= self.config.suggest and (org_id not in best or s > best[org_id].score):
                        if name is not None and self._distinct(name, org_id, candidate):
                            continue
                        best[org_id] = Scored(org_id, s, org.name)
        ranked = sorted(best.values(), key=lambda c: (-c.score, c.org_id))
        return [c for c in ranked if self._settled_with(refs, c.org_id) is None]

    def _distinct(self, name: str, org_id: int, candidate: str) -> bool:
        """Whether every name of ``org_id`` with the matched key ``candidate`` is distinct from ``name``."""
        names = [n for n in self._names_of.get(org_id, ())
                 if candidate in (self._key_folded(n).normalised, self._key_folded(n).unstripped)]
        return all(distinct_reason(name, n) for n in names or [fold_name(self._orgs[org_id].name)])

    @staticmethod
    def _identifier_conflict(org: OrgInfo, ids: list[str]) -> bool:
        for ref in ids:
            kind, _, value = ref.partition(":")
            if kind == "uscc" and org.uscc and org.uscc != value:
                return True
            if kind == "stock":
                exchange, _, code = value.partition(":")
                if org.stock_exchange == exchange and org.stock_code and org.stock_code != code:
                    return True
        return False

    # ------------------------------------------------------------------ resolution

    def resolve(
        self, name: str, *, kind: str | None = None, province: str | None = None, uscc: str | None = None,
        stock_code: str | None = None, exchange: str | None = None,
    ) -> int:
        """The organisation id for a mention name, creating the organisation when it is new.

        ``kind`` (one of ``ORG_KINDS``), ``province`` (GB/T 2260 code or name) and the
        identifiers are optional hints; see :meth:`resolve_detail` for the outcome.
        """
        res = self.resolve_detail(name, kind=kind, province=province, uscc=uscc, stock_code=stock_code,
                                  exchange=exchange)
        assert res.org_id is not None
        return res.org_id

    def lookup(self, name: str, **hints: Any) -> int | None:
        """Like :meth:`resolve` but read-only: the organisation, or ``None`` when nothing matches."""
        return self.resolve_detail(name, create=False, **hints).org_id

    def resolve_detail(
        self, name: str, *, kind: str | None = None, province: str | None = None, uscc: str | None = None,
        stock_code: str | None = None, exchange: str | None = None, create: bool = True,
    ) -> Resolution:
        """Resolve a mention name (see the module docstring for the order of the steps).

        A new name gets a new organisation (kind, the place its name or the hint gives, the
        identifiers), and the pending suggestions are stored. With ``create=False`` nothing is
        written: no alias, no organisation, no judgement (outcome ``unresolved`` when new).
        """
        res = self._match(name, kind, province, uscc, stock_code, exchange, write=create)
        if res.org_id is not None or not create:
            return self._done(res)
        display = _SPACES.sub(" ", name).strip()
        folded = fold_name(display)
        _, kind_, prov, city, ids = self._awaiting[folded]
        new = self._create(display, kind_, prov, city, ids)
        self.adopt(new.id, display)
        return self._done(Resolution(new.id, res.outcome, res.score, res.candidates))

    def match(
        self, name: str, *, kind: str | None = None, province: str | None = None, uscc: str | None = None,
        stock_code: str | None = None, exchange: str | None = None,
    ) -> Resolution:
        """Resolve to an existing organisation, or report that the name needs a new one.

        Like :meth:`resolve_detail`, except that it never creates an organisation: for a new
        name ``org_id`` is ``None`` and ``outcome`` is ``new`` or ``suggested`` (``candidates``
        are the suggested organisations). The caller then creates the organisation its own way
        and hands it to :meth:`adopt`, which indexes it and stores the suggestions. A hit
        (identifier, alias, judgement, auto-merge) is written as :meth:`resolve` writes it.
        """
        return self._done(self._match(name, kind, province, uscc, stock_code, exchange, write=True))

    def adopt(self, org_id: int, name: str, *, info: OrgInfo | None = None,
              aliases: Iterable[str] = ()) -> None:
        """Take in an organisation created by the caller for ``name`` (after :meth:`match`).

        Indexes the organisation and its names, and stores the pending suggestions found by the
        last :meth:`match` of that name. Idempotent; also fine for organisations created
        without a preceding match (seeds, registry rows added while the resolver lives).
        A caller that has not flushed the new organisation yet passes what the resolver needs
        to know about it (``info`` and its ``aliases``) instead of having it read back.
        """
        if info is not None and org_id not in self._orgs:
            self._remember(info)
            for alias in aliases:
                self._add_name(org_id, alias)
        if org_id not in self._orgs:
            self.session.flush()
            org = self.session.get(Organisation, org_id)
            if org is None:
                raise ResolveError(f"no organisation with id {org_id}")
            self._remember(self._info(org))
            for alias in self.session.scalars(select(Alias.name).where(Alias.organisation_id == org_id)):
                self._add_name(org_id, alias)
        folded = fold_name(_SPACES.sub(" ", name).strip())
        if org_id not in self._by_name.get(folded, ()):
            self._add_folded(org_id, folded)
        waiting = self._awaiting.pop(folded, None)
        if waiting is None:
            return
        new = self._orgs[org_id]
        for s in waiting[0]:
            if s.org_id != org_id and s.org_id in self._orgs:
                self._record(Party.of(new), Party.of(self._orgs[s.org_id]), PENDING, automatic=True, score=s.score)

    @property
    def merges(self) -> int:
        """Names this resolver attached to an existing organisation by similarity or a positive judgement."""
        return self.stats["auto_merge"] + self.stats["judgement"]

    def _match(
        self, name: str, kind: str | None, province: str | None, uscc: str | None, stock_code: str | None,
        exchange: str | None, *, write: bool,
    ) -> Resolution:
        display = _SPACES.sub(" ", name).strip()
        if not display:
            raise ResolveError("cannot resolve an empty name")
        folded = fold_name(display)
        kind = kind if kind in ORG_KINDS and kind != "other" else None
        ids = self._identifiers(uscc, exchange, stock_code)
        key = self._key_folded(folded)
        prov, city, hinted = self._place(province, key)
        refs = ["name:" + folded, *ids]

        for ref in ids:  # 1. identifiers
            hit = self.orgs_for_ref(ref)
            if hit:
                org_id = min(hit)
                alias = self._attach(org_id, display, folded, ids) if write else None
                return Resolution(org_id, "identifier", alias=alias)
        hits = [o for o in self._live(self._by_name.get(folded, ())) if not self._identifier_conflict(self._orgs[o], ids)]
        if hits:  # 2. exact alias
            org_id = self._pick(hits, kind, prov, city)
            alias = self._attach(org_id, display, folded, ids) if write else None
            return Resolution(org_id, "alias", alias=alias)
        forced = self._forced(refs)  # 3. positive judgement
        if forced is not None and not self._identifier_conflict(self._orgs[forced], ids):
            alias = self._attach(forced, display, folded, ids) if write else None
            return Resolution(forced, "judgement", alias=alias)
        ranked = self.candidates(key, kind, prov, city, refs, ids, hinted=hinted, name=folded)  # 4. fuzzy
        if ranked and ranked[0].score >= self.config.auto_merge:
            top = ranked[0]
            alias = None
            if write:
                alias = self._attach(top.org_id, display, folded, ids)
                org = self._orgs[top.org_id]
                self._record(Party(refs[0], display, top.org_id), Party.of(org), POSITIVE, automatic=True,
                             score=top.score)
            return Resolution(top.org_id, "auto_merge", top.score, (top.org_id,), alias=alias)
        if not write:
            return Resolution(None, "unresolved", ranked[0].score if ranked else None)
        suggestions = ranked[: self.config.max_suggestions]
        self._awaiting[folded] = (suggestions, kind, prov, city, ids)
        return Resolution(None, "suggested" if suggestions else "new", suggestions[0].score if suggestions else None,
                          tuple(s.org_id for s in suggestions))

    def _done(self, res: Resolution) -> Resolution:
        self.stats[res.outcome] += 1
        return res

    def _identifiers(self, uscc: str | None, exchange: str | None, stock_code: str | None) -> list[str]:

        u = normalise_uscc(uscc) if uscc else None
        if u and validate_uscc(u) is not None:
            u = None
        ex = normalise_exchange(exchange) if exchange else None
        code = None
        if ex and stock_code:
            try:
                code = normalise_stock_code(ex, stock_code)
            except ValueError:
                code = None
        return identifier_refs(u, ex, code)

    def _pick(self, hits: Iterable[int], kind: str | None, province: str | None, city: str | None) -> int:
        """Among organisations sharing a name: agreeing kind/place first, then sample firms, then oldest."""
        def rank(org_id: int) -> tuple[int, int, int, int]:
            o = self._orgs[org_id]
            kind_bad = int(bool(kind and o.kind and kind != o.kind))
            place_bad = int(bool(province and o.province and (province != o.province
                                                              or bool(city and o.city and city != o.city))))
            return (kind_bad + place_bad, int(not o.is_sample), int(not (o.uscc or o.stock_code)), org_id)

        return min(hits, key=rank)

    def _attach(self, org_id: int, display: str, folded: str, ids: list[str]) -> str | None:
        """Make ``display`` an alias of ``org_id`` (if new) and fill identifiers it lacks; the alias written."""
        org_info = self._orgs[org_id]
        alias = None
        if org_id not in self._by_name.get(folded, ()):
            alias = display[:255]
            self.session.add(Alias(organisation_id=org_id, name=alias, kind=alias_kind(display, self.rules),
                                   source="resolver"))
            self._add_name(org_id, display)
        if not ids:
            return alias
        changes: dict[str, str] = {}
        for ref in ids:
            kind, _, value = ref.partition(":")
            if kind == "uscc" and not org_info.uscc and value not in self._by_uscc:
                changes["uscc"] = org_info.uscc = value
                self._by_uscc[value] = org_id
            elif kind == "stock" and not org_info.stock_code:
                exchange, _, code = value.partition(":")
                if (exchange, code) not in self._by_stock:
                    org_info.stock_exchange, org_info.stock_code = exchange, code
                    changes.update(stock_exchange=exchange, stock_code=code)
                    self._by_stock[(exchange, code)] = org_id
        if changes:
            bulk_execute(self.session, update(Organisation).where(Organisation.id == org_id).values(**changes))
        return alias

    def _create(self, display: str, kind: str | None, province: str | None, city: str | None,
                ids: list[str]) -> OrgInfo:
        values: dict[str, Any] = {}
        for ref in ids:
            k, _, value = ref.partition(":")
            if k == "uscc":
                values["uscc"] = value
            elif k == "stock":
                values["stock_exchange"], values["stock_code"] = value.split(":", 1)
        org = Organisation(name=display[:255], kind=kind or "other", is_sample=False, origin="extracted",
                           province_code=province, city_code=city if province else None, **values)
        org.aliases = [Alias(name=display[:255], kind=alias_kind(display, self.rules), source="resolver")]
        self.session.add(org)
        self.session.flush()
        info = self._info(org)
        self._remember(info)
        return info

    def _record(self, a: Party, b: Party, judgement: str, *, automatic: bool, score: float | None) -> None:
        row = record_judgement(self.session, a, b, judgement, by=self.config.resolver_name, automatic=automatic,
                               score=score, rows=self._rows)
        self._remember_judgement(row)
