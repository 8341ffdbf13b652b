"""Scoring of the relation extractor against labelled documents (pure functions, no database).

Labelled documents are :class:`GoldDocument` objects, scored by :func:`score_documents`:

* the hand-labelled announcements of ``tests/data/announcements_gold.jsonl`` (format and
  labelling guidelines in ``tests/data/README.md``) are read by :func:`gold_documents` and scored
  with :func:`score_gold`;
* any other labelled corpus is turned into gold documents by its own reader (with
  ``surfaces``, ``non_parties`` and ``negative_pairs`` when it knows them) and scored the same way.

Predictions are the records written by ``aimap extract --out`` (issue 5, item 9): one JSON object
per document, ``{"id", "is_cooperation", "relations": [{"a", "b", "direction": "a->b"|"b->a"|
"mutual", "year", "kind", "status"}], "tech_categories", "application_domains", ...}``.

Conventions shared by every figure (the definitions are repeated in each function's docstring):

* **Direction.** ``a->b`` means *a* provides technology to *b* (技术赋能 *a* → 技术输入 *b*, the
  report's out-degree → in-degree); ``b->a`` is the same relation written the other way round and
  is oriented to ``a->b`` before comparing; ``mutual`` means the text does not say who provides.
  A directed relation never matches a mutual one.
* **Names.** Gold names are written as in the text. A predicted name matches a gold name when
  their :func:`normalise_name` forms are equal, or one normalised form contains the other (an
  alias: "华为" in "华为技术有限公司"); a shorter form must have at least
  :data:`MIN_ALIAS_CHARS` characters (:data:`MIN_ASCII_ALIAS_CHARS` for Latin-only names). When
  the gold records the names a document uses for each organisation (``surfaces``), a predicted
  name is first mapped to a canonical organisation through them, then compared exactly.
* **Matching.** Within one document, predicted and gold relations are paired one-to-one by a
  maximum-cardinality matching (ties broken towards agreeing attributes and exact names); a
  prediction never matches relations of another document. Counts are summed over documents
  (micro-averaging).
* **Empty ratios.** precision = TP / (TP + FP) and is 1.0 when nothing was predicted; recall =
  TP / (TP + FN) and is 1.0 when there was nothing to find; F1 = 2PR / (P + R), 0.0 when P + R = 0.
  An accuracy over an empty set is ``None`` (printed as "n/a").

References: precision, recall and F1 as in van Rijsbergen, *Information Retrieval* (2nd ed., 1979),
ch. 7; micro-averaging as in Manning, Raghavan & Schütze, *Introduction to Information Retrieval*
(2008), §13.6; relation scoring by matched argument pairs as in the ACE 2005 / TACRED relation
extraction evaluations; the pairwise F1 of clusterings as in Menestrina, Whang & Garcia-Molina,
"Evaluating entity resolution results", PVLDB 3(1), 2010.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import networkx as nx

from common.text import t2s
from db.taxonomy import load_application_domains, load_provinces, load_tech_categories

DIRECTIONS = ("a->b", "b->a", "mutual")
#: Gold-only direction: any predicted direction agrees (the text does not say who provides).
ANY_DIRECTION = "any"
STATUSES = ("new", "terminated", "historical")
KINDS = (
    "strategic_agreement", "joint_lab", "product_adoption", "bid_award", "investment", "joint_development",
    "alliance_membership", "other",
)
#: A shorter name counts as an alias contained in a longer one only from this many characters on.
MIN_ALIAS_CHARS = 2
MIN_ASCII_ALIAS_CHARS = 4
#: Legal-form suffixes stripped from the end of a name (longest first, repeatedly).
LEGAL_SUFFIXES = (
    "股份有限公司", "有限责任公司", "股份公司", "有限公司", "株式会社", "分公司", "集团", "控股", "公司",
)
#: The same for Latin names, as lower-case words.
LEGAL_SUFFIX_WORDS = frozenset({
    "co", "company", "ltd", "limited", "inc", "incorporated", "corp", "corporation", "group", "holdings",
    "holding", "plc", "llc", "gmbh", "ag", "sa", "pte", "bhd", "kk",
})

_BRACKETS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|【[^【】]*】|〔[^〔〕]*〕")
_NON_WORD = re.compile(r"[\W_]+")
_LATIN_WORDS = re.compile(r"[a-z0-9]+")


# --------------------------------------------------------------------------------------------
# Counts
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PRF:
    """True positives, false positives and false negatives, with precision, recall and F1.

    precision = tp / (tp + fp) (1.0 when nothing was predicted), recall = tp / (tp + fn) (1.0
    when nothing was to be found), F1 = harmonic mean 2PR / (P + R) (0.0 when P + R = 0);
    van Rijsbergen (1979), ch. 7. Adding two PRF adds their counts (micro-averaging).
    """

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        """tp / (tp + fp); 1.0 without predictions."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """tp / (tp + fn); 1.0 without anything to find."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        """2PR / (P + R); 0.0 when both are 0."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: PRF) -> PRF:
        return PRF(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    def as_dict(self) -> dict[str, float | int]:
        """Counts and ratios, JSON-ready."""
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": round(self.precision, 4),
                "recall": round(self.recall, 4), "f1": round(self.f1, 4)}


@dataclass(frozen=True)
class Ratio:
    """``correct`` out of ``total``; ``value`` is None for an empty total."""

    correct: int = 0
    total: int = 0

    @property
    def value(self) -> float | None:
        """correct / total, None when total is 0."""
        return self.correct / self.total if self.total else None

    def __add__(self, other: Ratio) -> Ratio:
        return Ratio(self.correct + other.correct, self.total + other.total)

    def as_dict(self) -> dict[str, float | int | None]:
        """Counts and value, JSON-ready."""
        value = self.value
        return {"correct": self.correct, "total": self.total, "value": None if value is None else round(value, 4)}


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _region_prefixes() -> tuple[str, ...]:
    names: set[str] = set()
    for province in load_provinces():
        names.update((province.name, province.short_name))
        for city in province.cities:
            names.add(city.name)
            for suffix in ("市", "地区", "盟"):
                if city.name.endswith(suffix) and len(city.name) - len(suffix) >= 2:
                    names.add(city.name[: -len(suffix)])
    return tuple(sorted(names, key=len, reverse=True))


@lru_cache(maxsize=65536)
def normalise_name(name: str) -> str:
    """The comparison form of an organisation name.

    Steps, in order: traditional → simplified Chinese (OpenCC ``t2s``); Unicode NFKC (full-width
    letters, digits and brackets → half-width); case folding; removal of bracketed parts (region
    or country qualifiers such as "（中国）", "(上海)"); removal of trailing legal forms
    (:data:`LEGAL_SUFFIXES` such as 股份有限公司/有限公司/集团, and for Latin names the words of
    :data:`LEGAL_SUFFIX_WORDS` such as "Co., Ltd.", "Inc.", "Group"), repeatedly; when a legal
    form was removed, a leading province or prefecture name (db/data/provinces.yml, with and
    without 市) as long as two characters remain ("深圳市腾讯计算机系统有限公司" → "腾讯计算机系统");
    a leading English "the"; finally every space and punctuation mark.

    Examples: "騰訊雲計算（北京）有限責任公司" → "腾讯云计算"; "BYD Company Limited" → "byd";
    "北京大学" → "北京大学" (no legal form, so the region stays).
    """
    text = unicodedata.normalize("NFKC", t2s(name)).casefold().strip()
    previous = None
    while previous != text:
        previous = text
        text = _BRACKETS.sub("", text).strip()
    stripped_legal = False
    changed = True
    while changed:
        changed = False
        bare = text.rstrip(" .,;")
        for suffix in LEGAL_SUFFIXES:
            if bare.endswith(suffix) and len(bare) > len(suffix):
                text, changed, stripped_legal = bare[: -len(suffix)].rstrip(), True, True
                break
        if changed:
            continue
        words = list(re.finditer(r"[^\s.,;]+", bare))
        if len(words) > 1 and words[-1].group(0) in LEGAL_SUFFIX_WORDS:
            text, changed, stripped_legal = bare[: words[-1].start()].rstrip(" .,;&"), True, True
    if text.startswith("the ") and len(text) > 4:
        text = text[4:]
    if stripped_legal:
        for region in _region_prefixes():
            if text.startswith(region) and len(text) - len(region) >= 2:
                text = text[len(region):]
                break
    compact = _NON_WORD.sub("", text)
    return compact or _NON_WORD.sub("", unicodedata.normalize("NFKC", name).casefold())


def name_match(predicted: str, gold: str) -> int:
    """How well two organisation names match: 2 same normalised form, 1 alias, 0 no match.

    "Same" compares :func:`normalise_name` forms. "Alias": one normalised form contains the
    other and the shorter has at least :data:`MIN_ALIAS_CHARS` characters
    (:data:`MIN_ASCII_ALIAS_CHARS` when it is Latin letters/digits only), e.g. "科大讯飞" and
    "科大讯飞股份有限公司", "UBTech" and "UBTech Robotics Corp., Ltd.".
    """
    p, g = normalise_name(predicted), normalise_name(gold)
    if not p or not g:
        return 0
    if p == g:
        return 2
    short, long_ = (p, g) if len(p) <= len(g) else (g, p)
    minimum = MIN_ASCII_ALIAS_CHARS if short.isascii() else MIN_ALIAS_CHARS
    return 1 if len(short) >= minimum and short in long_ else 0


def surface_resolver(surfaces: Mapping[str, Iterable[str]]) -> Callable[[str], str | None]:
    """A function mapping a written name to the canonical organisation it stands for.

    ``surfaces``: canonical name -> the names a document writes for it (the canonical name itself
    counts too). A name resolves to the canonical organisation one of whose names has the same
    :func:`normalise_name` form; failing that, to the one with the longest name in an alias
    relation with it (:func:`name_match` = 1); None when nothing matches or two organisations tie.
    """
    forms: list[tuple[str, str]] = []
    for canonical, names in surfaces.items():
        for written in {canonical, *names}:
            forms.append((normalise_name(written), canonical))

    def resolve(name: str) -> str | None:
        norm = normalise_name(name)
        exact = {canonical for form, canonical in forms if form == norm}
        if len(exact) == 1:
            return exact.pop()
        if exact:
            return None
        best: dict[str, int] = {}
        for form, canonical in forms:
            short, long_ = (norm, form) if len(norm) <= len(form) else (form, norm)
            minimum = MIN_ASCII_ALIAS_CHARS if short.isascii() else MIN_ALIAS_CHARS
            if short and len(short) >= minimum and short in long_:
                best[canonical] = max(best.get(canonical, 0), len(form))
        if not best:
            return None
        top = max(best.values())
        winners = [c for c, n in best.items() if n == top]
        return winners[0] if len(winners) == 1 else None

    return resolve


# --------------------------------------------------------------------------------------------
# Relations and documents
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Relation:
    """A relation oriented so that ``direction`` is ``a->b`` (a provides to b) or ``mutual``.

    A predicted direction outside :data:`DIRECTIONS` is kept as given and never matches. A gold
    relation may have direction :data:`ANY_DIRECTION`: the text does not state one and the gold
    does not require one (e.g. a background sentence "A与B自2019年起开展合作").
    """

    a: str
    b: str
    direction: str
    year: int | None = None
    kind: str | None = None
    status: str | None = None

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Relation:
        """From ``{"a", "b", "direction", "year", "kind", "status"}`` (``b->a`` swapped to ``a->b``)."""
        a, b = str(record.get("a") or ""), str(record.get("b") or "")
        direction = str(record.get("direction") or "")
        if direction == "b->a":
            a, b, direction = b, a, "a->b"
        year = record.get("year")
        try:
            year = int(year) if year is not None and year != "" else None
        except (TypeError, ValueError):
            year = None
        return cls(a, b, direction, year, record.get("kind"), record.get("status"))

    def describe(self) -> str:
        """One line: ``a -> b``, ``a <-> b`` (mutual) or ``a -- b`` (any) with year, kind and status."""
        arrow = {"a->b": "->", "mutual": "<->", ANY_DIRECTION: "--"}.get(self.direction, f"?{self.direction}?")
        return f"{self.a} {arrow} {self.b} ({self.year}, {self.kind}, {self.status})"


@dataclass(frozen=True)
class GoldDocument:
    """The labels of one document, in the form the scorer compares.

    ``surfaces`` None: predicted names are compared with gold names by :func:`name_match`.
    Otherwise: canonical name -> written names, predicted names are resolved with
    :func:`surface_resolver` and compared exactly with the canonical names of ``relations``.
    ``non_parties``: organisations named in the document that are not parties of any relation.
    """

    id: str
    relations: tuple[Relation, ...]
    is_cooperation: bool
    tech_categories: frozenset[str] = frozenset()
    application_domains: frozenset[str] = frozenset()
    non_parties: tuple[str, ...] = ()
    negative_pairs: tuple[tuple[str, str], ...] = ()
    surfaces: Mapping[str, tuple[str, ...]] | None = None


@dataclass(frozen=True)
class _Edge:
    pair_quality: int  # 1 alias, 2 exact (min over both parties)
    direction_ok: bool
    swapped: bool


def _edge(gold: Relation, pred: Relation, same: Callable[[str, str], int]) -> _Edge | None:
    straight = min(same(pred.a, gold.a), same(pred.b, gold.b))
    crossed = min(same(pred.a, gold.b), same(pred.b, gold.a))
    if not straight and not crossed:
        return None
    if gold.direction == ANY_DIRECTION:
        return _Edge(max(straight, crossed), True, crossed > straight)
    if gold.direction == "mutual" and pred.direction == "mutual":
        return _Edge(max(straight, crossed), True, crossed > straight)
    if gold.direction == "a->b" and pred.direction == "a->b" and straight:
        return _Edge(straight, True, False)
    return _Edge(max(straight, crossed), False, crossed > straight)


def match_relations(
    gold: Sequence[Relation],
    predicted: Sequence[Relation],
    same: Callable[[str, str], int] = name_match,
    *,
    strict: bool,
) -> list[tuple[int, int, bool]]:
    """One-to-one pairs (gold index, predicted index, direction agrees) of one document.

    A predicted and a gold relation are compatible when both parties match (``same`` > 0, in
    either order); with ``strict`` they must also have the same direction (``a->b`` with the same
    provider, or both ``mutual``). The pairs form a maximum-cardinality matching of the compatible
    ones; among those, the matching with the most agreeing direction, status, year and kind and
    exact (rather than alias) names is chosen (networkx ``max_weight_matching``, Galil 1986).
    """
    graph = nx.Graph()
    edges: dict[tuple[int, int], _Edge] = {}
    for i, g in enumerate(gold):
        for j, p in enumerate(predicted):
            edge = _edge(g, p, same)
            if edge is None or (strict and not edge.direction_ok):
                continue
            edges[i, j] = edge
            weight = (1000 * edge.direction_ok + 100 * (p.status == g.status) + 100 * (p.year == g.year)
                      + 100 * (p.kind == g.kind) + 10 * edge.pair_quality + 1)
            graph.add_edge(("g", i), ("p", j), weight=weight)
    if not edges:
        return []
    if max(d for _, d in graph.degree) == 1:  # disjoint pairs: the matching is every edge
        return sorted((i, j, e.direction_ok) for (i, j), e in edges.items())
    matching = nx.max_weight_matching(graph, maxcardinality=True)
    pairs = []
    for u, v in matching:
        (_, i), (_, j) = (u, v) if u[0] == "g" else (v, u)
        pairs.append((i, j, edges[i, j].direction_ok))
    return sorted(pairs)


def _label_index(kind: str) -> dict[str, str]:
    items = load_tech_categories() if kind == "tech" else load_application_domains()
    index: dict[str, str] = {}
    for item in items:
        for key in (item.code, item.name):
            index[unicodedata.normalize("NFKC", key).casefold()] = item.code
    return index


@lru_cache(maxsize=2)
def _labels(kind: str) -> dict[str, str]:
    return _label_index(kind)


def label_codes(labels: Iterable[Any], kind: str) -> frozenset[str]:
    """Taxonomy codes of ``labels`` given as codes or Chinese names (``kind``: "tech" or "domain").

    Matching is exact after NFKC and case folding ("AI for science" = "AI for Science"); an
    unknown label is kept as ``"?label"`` so that it counts as a wrong prediction.
    """
    index = _labels(kind)
    out = set()
    for label in labels or ():
        key = unicodedata.normalize("NFKC", str(label)).casefold().strip()
        out.add(index.get(key, f"?{label}"))
    return frozenset(out)


# --------------------------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------------------------


@dataclass
class DocumentErrors:
    """What one document got wrong (for reading, not for the figures)."""

    id: str
    missed: list[str] = field(default_factory=list)  # gold relations without a strict match
    spurious: list[str] = field(default_factory=list)  # predicted relations without a strict match
    is_cooperation: tuple[bool, bool] | None = None  # (gold, predicted) when they differ


@dataclass
class Scores:
    """Every figure of one evaluation (definitions in :func:`score_documents`)."""

    documents: int = 0
    relations: PRF = PRF()
    pairs: PRF = PRF()
    direction: Ratio = Ratio()
    kind: Ratio = Ratio()
    status: Ratio = Ratio()
    year: Ratio = Ratio()
    is_cooperation: Ratio = Ratio()
    tech_categories: PRF = PRF()
    application_domains: PRF = PRF()
    non_party_as_party: Ratio = Ratio()
    negative_pair_as_relation: Ratio = Ratio()
    recall_by_status: dict[str, Ratio] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    errors: list[DocumentErrors] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Every figure, JSON-ready (errors left out)."""
        return {
            "documents": self.documents,
            "relations": self.relations.as_dict(),
            "pairs": self.pairs.as_dict(),
            "direction_accuracy": self.direction.as_dict(),
            "kind_accuracy": self.kind.as_dict(),
            "status_accuracy": self.status.as_dict(),
            "year_accuracy": self.year.as_dict(),
            "is_cooperation_accuracy": self.is_cooperation.as_dict(),
            "tech_categories": self.tech_categories.as_dict(),
            "application_domains": self.application_domains.as_dict(),
            "non_party_as_party": self.non_party_as_party.as_dict(),
            "negative_pair_as_relation": self.negative_pair_as_relation.as_dict(),
            "recall_by_status": {k: v.as_dict() for k, v in sorted(self.recall_by_status.items())},
            "missing_predictions": len(self.missing),
            "unexpected_predictions": len(self.unexpected),
        }

    def lines(self) -> list[str]:
        """A human-readable summary, one figure per line."""

        def ratio(r: Ratio) -> str:
            return "n/a" if r.value is None else f"{r.value:.3f} ({r.correct}/{r.total})"

        def prf(p: PRF) -> str:
            return f"P {p.precision:.3f}  R {p.recall:.3f}  F1 {p.f1:.3f}  (tp {p.tp}, fp {p.fp}, fn {p.fn})"

        out = [
            f"documents                  {self.documents}"
            + (f"  ({len(self.missing)} without prediction)" if self.missing else ""),
            f"relations (parties+dir)    {prf(self.relations)}",
            f"pairs (direction-agnostic) {prf(self.pairs)}",
            f"direction accuracy         {ratio(self.direction)}",
            f"kind accuracy              {ratio(self.kind)}",
            f"status accuracy            {ratio(self.status)}",
            f"year accuracy              {ratio(self.year)}",
            f"is_cooperation accuracy    {ratio(self.is_cooperation)}",
            f"tech categories micro      {prf(self.tech_categories)}",
            f"application domains micro  {prf(self.application_domains)}",
            f"non-parties used as party  {ratio(self.non_party_as_party)}",
        ]
        if self.negative_pair_as_relation.total:
            out.append(f"negative pairs as relation {ratio(self.negative_pair_as_relation)}")
        for status, r in sorted(self.recall_by_status.items()):
            out.append(f"recall of {status:<16} {ratio(r)}")
        return out


def _predicted_relations(record: Mapping[str, Any]) -> list[Relation]:
    return [Relation.from_record(r) for r in record.get("relations") or () if isinstance(r, Mapping)]


def score_documents(
    gold: Iterable[GoldDocument],
    predictions: Iterable[Mapping[str, Any]],
    *,
    kind_statuses: Collection[str] | None = None,
) -> Scores:
    """Score predicted records against gold documents (joined on ``id``).

    Definitions (counts summed over documents; a gold document without a prediction is scored as
    an empty prediction and listed in ``missing``; predictions for unknown ids are ignored and
    listed in ``unexpected``):

    * ``relations``: precision/recall/F1 of relations, a predicted relation being correct when a
      gold relation of the same document has matching parties and the same direction
      (:func:`match_relations` with ``strict``); mutual vs directed is a mismatch.
    * ``pairs``: the same without the direction (direction-agnostic pair F1).
    * ``direction``: share of direction-agnostic matches whose direction agrees (the same
      provider, or both mutual) — direction accuracy over matched pairs (gold relations with
      :data:`ANY_DIRECTION` left out).
    * ``kind``, ``status``, ``year``: share of direction-agnostic matches with the same kind,
      status, year; ``year`` only over gold relations with a year; ``kind`` only over gold
      relations whose status is in ``kind_statuses`` (all when None).
    * ``is_cooperation``: share of documents whose predicted ``is_cooperation`` (default: it has
      relations) equals the gold one.
    * ``tech_categories`` / ``application_domains``: micro-averaged P/R/F1 of the document-level
      label sets (:func:`label_codes`) over documents whose gold ``is_cooperation`` is true (the
      labels describe the cooperation; a non-cooperation document is scored by is_cooperation).
    * ``non_party_as_party``: share of gold non-party organisations (witnesses, hosts, media,
      venues, parent companies ...) that appear as a party of some predicted relation: a
      predicted party name that matches the non-party better than it matches every gold party
      (so "中国移动通信集团江苏有限公司" as a party does not count against its parent group).
    * ``negative_pair_as_relation``: share of gold negative pairs (two organisations named
      together without a cooperation, when the gold lists them) that are predicted as a relation.
    * ``recall_by_status``: strict recall of gold relations of each status.
    """
    by_id = {}  # the first record of an id counts
    for record in predictions:
        by_id.setdefault(str(record.get("id")), record)
    scores = Scores()
    seen: set[str] = set()
    by_status: dict[str, Ratio] = defaultdict(Ratio)
    for doc in gold:
        seen.add(doc.id)
        scores.documents += 1
        record = by_id.get(doc.id)
        if record is None:
            scores.missing.append(doc.id)
            record = {"id": doc.id, "is_cooperation": False, "relations": []}
        _score_document(scores, by_status, doc, record, kind_statuses)
    scores.unexpected = sorted(set(by_id) - seen)
    scores.recall_by_status = dict(by_status)
    return scores


def _canonical_predictions(doc: GoldDocument, predicted: list[Relation]) -> tuple[list[Relation], Callable[[str, str], int]]:
    """The predicted relations and the name comparison for ``doc``: names resolved through its
    ``surfaces`` and compared exactly when it has them, else as written with :func:`name_match`."""
    if doc.surfaces is None:
        return predicted, name_match
    resolve = surface_resolver(doc.surfaces)

    def canonical(name: str) -> str:
        found = resolve(name)
        return found if found is not None else f"\x00{name}"

    def same(x: str, y: str) -> int:
        return 2 if x == y else 0

    return [Relation(canonical(p.a), canonical(p.b), p.direction, p.year, p.kind, p.status) for p in predicted], same


def _score_document(scores: Scores, by_status: dict[str, Ratio], doc: GoldDocument, record: Mapping[str, Any],
                    kind_statuses: Collection[str] | None) -> None:
    """Add one document's counts to ``scores`` (definitions in :func:`score_documents`)."""
    predicted, same = _canonical_predictions(doc, _predicted_relations(record))
    strict = match_relations(doc.relations, predicted, same, strict=True)
    loose = match_relations(doc.relations, predicted, same, strict=False)
    scores.relations += PRF(len(strict), len(predicted) - len(strict), len(doc.relations) - len(strict))
    scores.pairs += PRF(len(loose), len(predicted) - len(loose), len(doc.relations) - len(loose))
    for i, j, direction_ok in loose:
        g, p = doc.relations[i], predicted[j]
        if g.direction != ANY_DIRECTION:
            scores.direction += Ratio(int(direction_ok), 1)
        scores.status += Ratio(int(p.status == g.status), 1)
        if g.year is not None:
            scores.year += Ratio(int(p.year == g.year), 1)
        if kind_statuses is None or g.status in kind_statuses:
            scores.kind += Ratio(int(p.kind == g.kind), 1)
    matched_gold = {i for i, _, _ in strict}
    for i, g in enumerate(doc.relations):
        by_status[str(g.status)] += Ratio(int(i in matched_gold), 1)
    predicted_coop = bool(record.get("is_cooperation", bool(predicted)))
    scores.is_cooperation += Ratio(int(predicted_coop == doc.is_cooperation), 1)
    if doc.is_cooperation:
        scores.tech_categories += _set_prf(doc.tech_categories, label_codes(record.get("tech_categories"), "tech"))
        scores.application_domains += _set_prf(doc.application_domains,
                                               label_codes(record.get("application_domains"), "domain"))
    party_names = {n for p in predicted for n in (p.a, p.b)}
    gold_parties = {n for g in doc.relations for n in (g.a, g.b)}
    for name in doc.non_parties:
        hit = any(same(n, name) > max((same(n, g) for g in gold_parties), default=0) for n in party_names)
        scores.non_party_as_party += Ratio(int(hit), 1)
    for x, y in doc.negative_pairs:
        neg = Relation(x, y, "mutual")
        hit = any(_edge(neg, p, same) is not None for p in predicted)
        scores.negative_pair_as_relation += Ratio(int(hit), 1)
    matched_pred = {j for _, j, _ in strict}
    errors = DocumentErrors(
        doc.id,
        missed=[g.describe() for i, g in enumerate(doc.relations) if i not in matched_gold],
        spurious=[p.describe().replace("\x00", "?") for j, p in enumerate(predicted) if j not in matched_pred],
        is_cooperation=None if predicted_coop == doc.is_cooperation else (doc.is_cooperation, predicted_coop),
    )
    if errors.missed or errors.spurious or errors.is_cooperation:
        scores.errors.append(errors)


def _set_prf(gold: frozenset[str], predicted: frozenset[str]) -> PRF:
    tp = len(gold & predicted)
    return PRF(tp, len(predicted) - tp, len(gold) - tp)


def category_f1(gold: Iterable[Iterable[str]], predicted: Iterable[Iterable[str]]) -> PRF:
    """Micro-averaged multi-label P/R/F1 of aligned label sets.

    tp = Σ_d |G_d ∩ P_d|, fp = Σ_d |P_d \\ G_d|, fn = Σ_d |G_d \\ P_d| over the aligned
    documents d (Manning et al. 2008, §13.6). Labels are compared as given.
    """
    total = PRF()
    for g, p in zip(gold, predicted, strict=True):
        total += _set_prf(frozenset(g), frozenset(p))
    return total


# --------------------------------------------------------------------------------------------
# Input files
# --------------------------------------------------------------------------------------------


def read_jsonl(path: Path | str) -> list[dict[str, Any]]:
    """The JSON objects of a JSON-lines file (blank lines skipped)."""
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def read_records(source: Path | str | Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The records of a JSON-lines file, or the given records as a list."""
    if isinstance(source, str | Path):
        return read_jsonl(source)
    return list(source)


def gold_documents(items: Path | str | Iterable[Mapping[str, Any]]) -> list[GoldDocument]:
    """The labelled announcements (``tests/data/announcements_gold.jsonl`` format) as gold documents."""
    out = []
    for item in read_records(items):
        gold = item["gold"]
        out.append(GoldDocument(
            id=str(item["id"]),
            relations=tuple(Relation.from_record(r) for r in gold.get("relations", ())),
            is_cooperation=bool(gold["is_cooperation"]),
            tech_categories=label_codes(gold.get("tech_categories", ()), "tech"),
            application_domains=label_codes(gold.get("application_domains", ()), "domain"),
            non_parties=tuple(o["name"] for o in gold.get("organisations", ()) if o.get("role") == "non_party"),
        ))
    return out


def extractor_input(item: Mapping[str, Any]) -> dict[str, Any]:
    """The fields ``aimap extract --in`` reads (``id, text, title?, published?, url?``) of a record."""
    return {k: item[k] for k in ("id", "text", "title", "published", "url") if item.get(k) is not None}


def score_gold(
    gold: Path | str | Iterable[Mapping[str, Any]],
    predictions: Path | str | Iterable[Mapping[str, Any]],
) -> Scores:
    """Score extractor output against the labelled announcements (every figure of :func:`score_documents`).

    Names are compared with :func:`name_match`; kind accuracy covers every gold relation.
    """
    return score_documents(gold_documents(gold), read_records(predictions))


# --------------------------------------------------------------------------------------------
# Clusterings: entity resolution and duplicate documents
# --------------------------------------------------------------------------------------------


def _pairs(counts: Iterable[int]) -> int:
    return sum(n * (n - 1) // 2 for n in counts)


def pairwise_f1(gold: Mapping[Hashable, Hashable], predicted: Mapping[Hashable, Hashable]) -> PRF:
    """Pairwise precision/recall/F1 of a clustering ``{item: cluster id}`` against a gold one.

    A pair of distinct items is *predicted* when both have the same predicted cluster id and
    *gold* when they share a gold cluster id; tp = |predicted pairs ∩ gold pairs|, fp =
    |predicted pairs| − tp, fn = |gold pairs| − tp (Menestrina, Whang & Garcia-Molina, PVLDB
    2010, "pairwise F1"). Items are those of ``gold``: a gold item missing from ``predicted`` is
    a singleton, predicted items absent from ``gold`` are ignored. Computed from the cluster
    contingency table (Σ C(n, 2) terms), so linear in the number of items.
    """
    items = list(gold)
    missing = object()
    predicted_of = [predicted.get(i, (missing, n)) for n, i in enumerate(items)]
    gold_sizes = Counter(gold[i] for i in items)
    pred_sizes = Counter(predicted_of)
    joint = Counter(zip((gold[i] for i in items), predicted_of, strict=True))
    tp = _pairs(joint.values())
    return PRF(tp, _pairs(pred_sizes.values()) - tp, _pairs(gold_sizes.values()) - tp)


def entity_resolution_f1(gold: Mapping[str, Hashable], predicted: Mapping[str, Hashable]) -> PRF:
    """Pairwise F1 of entity resolution: ``{name or mention: organisation}`` (see :func:`pairwise_f1`).

    A true positive is a pair of names that the resolver puts in one organisation and that
    belong to one organisation in the gold clustering.
    """
    return pairwise_f1(gold, predicted)


def duplicate_document_f1(gold: Mapping[str, Hashable], predicted: Mapping[str, Hashable]) -> PRF:
    """Pairwise F1 of duplicate-document detection: ``{document: duplicate cluster}`` (see :func:`pairwise_f1`).

    A true positive is a pair of documents detected as copies of one another that are copies in
    the gold clustering.
    """
    return pairwise_f1(gold, predicted)
