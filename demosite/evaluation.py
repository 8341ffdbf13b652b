"""Readers of a rendered world's ground truth, as plain data for scoring the pipeline against it.

:func:`demosite.render.render_site` writes ``truth/documents.jsonl``, ``events.jsonl`` and
``organisations.jsonl``. These functions turn them into what a scorer compares: the documents a
polite crawler stores, as extractor input (:func:`world_documents`); the relations every document
states (:func:`world_gold_records`); the names written for each organisation
(:func:`world_entity_clusters`); the documents that report one story
(:func:`world_duplicate_clusters`). They return plain dicts and strings and import no stage of
the pipeline: the harness that runs the pipeline over the world and scores it
(``tests/worldeval.py``, used by the tests and ``benchmarks/bench_etl.py``) joins the two.

Gold relation records have the extractor's output shape (``{"a", "b", "direction", "year", "kind",
"status"}``), with the world's own event kinds (``world-model.yml``; the harness maps them to the
extractor's vocabulary) and direction ``"a->b"`` (a provides to b), ``"mutual"`` or
:data:`ANY_DIRECTION` (the text does not say who provides and the gold does not require it).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from demosite.targets import model

#: Gold-only direction: any predicted direction agrees.
ANY_DIRECTION = "any"
#: The fields of a document that the extractor reads (``aimap extract --in``).
EXTRACTOR_FIELDS = ("id", "text", "title", "published", "url")


def read_jsonl(path: Path | str) -> list[dict[str, Any]]:
    """The JSON objects of a JSON-lines file (blank lines skipped)."""
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def reachable(doc: Mapping[str, Any]) -> bool:
    """Whether a polite crawler stores the document: not robots-disallowed, not gone or broken, with text."""
    return bool(doc.get("crawlable", True)) and doc.get("fault") not in ("gone", "broken") and bool(doc.get("text"))


def world_documents(truth_dir: Path | str, *, reachable_only: bool = True) -> list[dict[str, Any]]:
    """The world's documents as extractor input records (``id`` = the page URL; no null fields).

    ``reachable_only``: only documents a polite crawler stores (:func:`reachable`).
    """
    out = []
    for d in read_jsonl(Path(truth_dir) / "documents.jsonl"):
        if reachable_only and not reachable(d):
            continue
        record = {"id": d["url"], "text": d["text"], "title": d.get("title"), "published": d.get("published"),
                  "url": d["url"]}
        out.append({k: record[k] for k in EXTRACTOR_FIELDS if record.get(k) is not None})
    return out


def _as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _relation(a: str, b: str, direction: str, year: Any, kind: str, status: str) -> dict[str, Any]:
    return {"a": a, "b": b, "direction": direction, "year": year, "kind": kind, "status": status}


def _direction(event: Mapping[str, Any], kinds: Mapping[str, tuple[str | None, str | None]]) -> str:
    """The labelled direction of an event (ANNOTATION.md, Direction): ``a->b`` for a directed one and
    for a strategic agreement with an adopter (``adopters`` of ``world-model.yml``: a partner of one of
    its kinds, or a firm or manufacturer of one of its industry divisions; the sample firm provides,
    though the text writes a signing of equals); else ``mutual``. ``kinds``: organisation name ->
    (kind, GB/T 4754-2017 division) from ``organisations.jsonl``."""
    if event["direction"] != "mutual":
        return "a->b"
    if event["kind"] != "strategic_agreement":
        return "mutual"
    kind, division = kinds.get(event["receiver"], (None, None))
    spec = model()["adopters"]
    adopter = kind in spec["kinds"] or (kind in spec["by_industry"] and division in spec["divisions"])
    return "a->b" if adopter else "mutual"


def _document_relations(doc: Mapping[str, Any], events: Mapping[str, Mapping[str, Any]], complete_groups: bool,
                        background_direction: bool, kinds: Mapping[str, tuple[str | None, str | None]]) -> list[dict[str, Any]]:
    relations: list[dict[str, Any]] = []
    for key, status in (("events", "new"), ("historical", "historical"), ("terminated", "terminated")):
        groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
        for event_id in doc.get(key) or ():
            e = events[event_id]
            direction = _direction(e, kinds)
            if status != "new" and not background_direction:
                direction = ANY_DIRECTION
            relations.append(_relation(e["provider"], e["receiver"], direction, e.get("year"), e["kind"], status))
            if e.get("group_id"):
                groups[e["group_id"]].append(e)
        if not complete_groups:
            continue
        for members in groups.values():
            parties = list(dict.fromkeys(n for e in members for n in (e["provider"], e["receiver"])))
            listed = {frozenset((e["provider"], e["receiver"])) for e in members}
            first = members[0]
            direction = "mutual" if status == "new" or background_direction else ANY_DIRECTION
            for x in range(len(parties)):
                for y in range(x + 1, len(parties)):
                    if frozenset((parties[x], parties[y])) not in listed:
                        relations.append(_relation(parties[x], parties[y], direction, first.get("year"),
                                                   first["kind"], status))
    return relations


def world_gold_records(
    truth_dir: Path | str, *, reachable_only: bool = True, complete_groups: bool = True,
    background_direction: bool = False,
) -> list[dict[str, Any]]:
    """What each document of the world states, one record per document (``id`` = its URL).

    Per document: its ``events`` are relations with status ``new``, ``historical`` ones status
    ``historical``, ``terminated`` ones status ``terminated``; each with the event's provider and
    receiver (canonical names), direction (``directed`` → ``a->b``, ``mutual``; a mutual strategic
    agreement with an adopter → ``a->b``: :func:`_direction`), year and the
    world's kind. ``is_cooperation`` is true when the document has any of them.
    ``tech_categories`` and ``application_domains`` (names) are those of the news events
    (``events``): background and termination sentences do not restate them. ``non_parties``,
    ``negative_pairs`` (organisations named together without a cooperation) and ``surfaces``
    (canonical name -> the names the document writes for it) come from the document truth.

    The world's background and termination sentences name both parties without saying who
    provides ("{A}与{B}自{Y}年起开展合作", "公司与{B}于{Y}年签订的合作协议已终止"), so historical and
    terminated relations get :data:`ANY_DIRECTION` unless ``background_direction`` asks for the
    events' own directions.

    ``complete_groups``: a multi-party signing (events sharing a ``group_id`` in one document)
    counts one mutual relation per pair of its parties, also for pairs the world does not list
    as events.
    """
    truth = Path(truth_dir)
    events = {e["id"]: e for e in read_jsonl(truth / "events.jsonl")}
    kinds = {o["name"]: (o.get("kind"), o.get("industry_division")) for o in read_jsonl(truth / "organisations.jsonl")}
    out = []
    for doc in read_jsonl(truth / "documents.jsonl"):
        if reachable_only and not reachable(doc):
            continue
        relations = _document_relations(doc, events, complete_groups, background_direction, kinds)
        news = doc.get("events") or ()
        out.append({
            "id": doc["url"],
            "relations": relations,
            "is_cooperation": bool(relations),
            "tech_categories": [t for i in news for t in _as_list(events[i].get("tech"))],
            "application_domains": [t for i in news for t in _as_list(events[i].get("domain"))],
            "non_parties": list(doc.get("non_parties") or ()),
            "negative_pairs": [(str(a), str(b)) for a, b in doc.get("negatives") or ()],
            "surfaces": {k: tuple(v) for k, v in (doc.get("surfaces") or {}).items()},
        })
    return out


def world_entity_clusters(truth_dir: Path | str) -> dict[str, str]:
    """Gold entity clusters of the world: every name written for an organisation -> its canonical name.

    Names come from ``organisations.jsonl`` (the name, its alias forms and former names) and from
    the ``surfaces`` of every document. A name used for two organisations is left out (it cannot
    be resolved from the name alone).
    """
    truth = Path(truth_dir)
    owners: dict[str, set[str]] = defaultdict(set)
    for org in read_jsonl(truth / "organisations.jsonl"):
        aliases = org.get("aliases") or {}
        names = [org["name"], *(aliases.values() if isinstance(aliases, Mapping) else aliases),
                 *(org.get("former_names") or ())]
        for name in names:
            if name:
                owners[str(name)].add(org["name"])
    for doc in read_jsonl(truth / "documents.jsonl"):
        for canonical, names in (doc.get("surfaces") or {}).items():
            for name in (canonical, *names):
                owners[name].add(canonical)
    return {name: next(iter(orgs)) for name, orgs in owners.items() if len(orgs) == 1}


def world_duplicate_clusters(truth_dir: Path | str, *, reachable_only: bool = True) -> dict[str, str]:
    """Gold duplicate-document clusters of the world: document URL -> story key.

    Documents that report exactly the same news (non-empty): the same set of news events
    (``events``) and of announced ends (``terminated``), are reports of one story (a newsroom
    release, the exchange filing and the media rewrites of the same signing, or of the same
    termination); every other document is its own cluster.
    """
    docs = read_jsonl(Path(truth_dir) / "documents.jsonl")

    def story(d: Mapping[str, Any]) -> str:
        news = sorted(d.get("events") or ()) + sorted("end:" + e for e in d.get("terminated") or ())
        return "events:" + ",".join(news) if news else d["url"]

    return {d["url"]: story(d) for d in docs if not reachable_only or reachable(d)}
