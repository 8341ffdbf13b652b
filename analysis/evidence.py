"""Evidence behind every edge: the events, mentions and documents an edge of a yearly network rests on.

An edge (provider -> receiver, :mod:`analysis.network`) is derived from one or more cooperation
events; each event is reported by one or more documents (``mentions``, GDELT's events/mentions
split). :func:`load_event_evidence` reads, for every event, how many mentions it has, the earliest
and latest publication date of its documents and the address of its first document (earliest
``published_on``; documents without a date come after dated ones; ties by the smallest address, so
the choice never depends on database ids), in one query. :func:`edge_evidence` folds that onto the edges of a network:

- ``event_ids`` — the ids of the events behind the edge, ascending, ``;``-separated;
- ``mentions`` — the number of (event, document) mentions over those events;
- ``first_document_date`` / ``last_document_date`` — earliest / latest document date (ISO);
- ``first_document_url`` — the canonical address of the earliest document (over the edge's events;
  ties by the smallest address);
- ``tech_categories`` / ``application_domains`` — the names of the events' categories and domains
  (report order, ``;``-separated).

:func:`find_edge_events` resolves two organisation names (or ids) and returns the events that
make the edge SOURCE -> TARGET in an edition's network (``aimap explain``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from analysis.edition import ReportError
from analysis.loaders import EventEvidence, Taxonomy
from analysis.network import EventTable, YearEdges, load_event_table, yearly_edges
from db.models import Alias, Organisation

#: Columns appended to ``edges.csv`` (and the GEXF's / XLSX's edges), in order.
EDGE_EVIDENCE_COLUMNS = ("event_ids", "mentions", "first_document_date", "last_document_date",
                         "first_document_url", "tech_categories", "application_domains")


_NO_DATE = np.iinfo(np.int64).max


@dataclass(frozen=True)
class EvidenceIndex:
    """Per event row, the evidence as numpy columns (built once per edition by :func:`evidence_index`).

    Dates are proleptic ordinals (``first`` = :data:`_NO_DATE`, ``last`` = -1 when undated);
    ``tech`` / ``domains`` are bit masks of the category / domain indices.
    """

    ids: list[str]
    mentions: np.ndarray
    first: np.ndarray
    last: np.ndarray
    has_url: np.ndarray
    urls: list[str]
    tech: np.ndarray
    domains: np.ndarray
    tech_names: list[str]
    domain_names: list[str]
    url_values: list[str] = field(default_factory=list)  # the distinct first-document addresses, sorted
    url_rank: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # per event, into url_values


def _masks(n: int, pairs: tuple[np.ndarray, np.ndarray], labels: int) -> np.ndarray:
    if labels > 62:
        raise ValueError(f"{labels} categories do not fit a 64-bit mask")
    mask = np.zeros(n, dtype=np.int64)
    np.bitwise_or.at(mask, pairs[0], np.left_shift(np.int64(1), pairs[1].astype(np.int64)))
    return mask


def evidence_index(events: EventTable, evidence: EventEvidence, taxonomy: Taxonomy,
                   tech_pairs: tuple[np.ndarray, np.ndarray],
                   domain_pairs: tuple[np.ndarray, np.ndarray]) -> EvidenceIndex:
    """The per-event columns :func:`edge_evidence` folds onto each year's edges."""
    n = len(events)
    urls = [u or "" for u in evidence.first_url]
    values = sorted(set(urls))
    where = {u: k for k, u in enumerate(values)}
    return EvidenceIndex(
        ids=[str(i) for i in events.event_id.tolist()], mentions=evidence.mentions.astype(np.int64),
        first=np.array([d.toordinal() if d else _NO_DATE for d in evidence.first_date], dtype=np.int64),
        last=np.array([d.toordinal() if d else -1 for d in evidence.last_date], dtype=np.int64),
        has_url=np.array([bool(u) for u in evidence.first_url], dtype=bool), urls=evidence.first_url,
        tech=_masks(n, tech_pairs, len(taxonomy.tech)), domains=_masks(n, domain_pairs, len(taxonomy.domains)),
        tech_names=[name for _, name in taxonomy.tech], domain_names=[name for _, name in taxonomy.domains],
        url_values=values, url_rank=np.array([where[u] for u in urls], dtype=np.int64))


def _names_of(mask: int, names: list[str], cache: dict[int, str]) -> str:
    if mask not in cache:
        cache[mask] = ";".join(name for i, name in enumerate(names) if mask >> i & 1)
    return cache[mask]


def edge_evidence(edges: YearEdges, index: EvidenceIndex) -> list[list[str | int]]:
    """Per edge of ``edges``, the values of :data:`EDGE_EVIDENCE_COLUMNS` (see the module docstring).

    Vectorised: the (edge, event) pairs are sorted by edge, then reduced per edge (sum of mentions,
    min/max date, or of category masks); only the joined strings are built in Python.
    """
    if not edges.n_edges:
        return []
    order = np.lexsort((edges.contrib_event, edges.contrib_edge))
    ev, ed = edges.contrib_event[order], edges.contrib_edge[order]
    starts = np.flatnonzero(np.r_[True, ed[1:] != ed[:-1]])
    ends = np.r_[starts[1:], ev.size]
    mentions = np.add.reduceat(index.mentions[ev], starts)
    first = np.minimum.reduceat(index.first[ev], starts)
    last = np.maximum.reduceat(index.last[ev], starts)
    big = np.int64(len(index.ids) + 1)
    url = index.url_rank[ev]  # ties between equally early events: the smallest address (never the event id)
    dated_key = np.where(index.first[ev] == _NO_DATE, _NO_DATE, index.first[ev] * big + url)
    first_url = np.minimum.reduceat(dated_key, starts)
    any_url = np.minimum.reduceat(np.where(index.has_url[ev], url, big), starts)
    tech = np.bitwise_or.reduceat(index.tech[ev], starts)
    domains = np.bitwise_or.reduceat(index.domains[ev], starts)
    dates: dict[int, str] = {}
    tech_cache: dict[int, str] = {}
    domain_cache: dict[int, str] = {}

    def iso(ordinal: int) -> str:
        if ordinal not in dates:
            dates[ordinal] = dt.date.fromordinal(ordinal).isoformat()
        return dates[ordinal]

    ids, ev_list = index.ids, ev.tolist()
    out: list[list[str | int]] = []
    for k, (a, b) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        key = int(first_url[k])
        pick = key % int(big) if key != _NO_DATE else int(any_url[k])
        out.append([";".join(ids[r] for r in ev_list[a:b]), int(mentions[k]),
                    iso(int(first[k])) if first[k] != _NO_DATE else "", iso(int(last[k])) if last[k] >= 0 else "",
                    index.url_values[pick] if pick < len(index.url_values) else "",
                    _names_of(int(tech[k]), index.tech_names, tech_cache),
                    _names_of(int(domains[k]), index.domain_names, domain_cache)])
    return out


# --------------------------------------------------------------------------- aimap explain


def resolve_organisation(session: Session, text: str) -> tuple[int, str]:
    """An organisation by id, full name or alias; :class:`ReportError` when none or several match."""
    text = text.strip()
    if text.isdigit():
        org = session.get(Organisation, int(text))
        if org is None:
            raise ReportError(f"no organisation with id {text}")
        return org.id, org.name
    ids = set(session.scalars(select(Organisation.id).where(Organisation.name == text)))
    if not ids:
        ids = set(session.scalars(select(Alias.organisation_id).where(Alias.name == text)))
    if not ids:
        like = f"%{text}%"
        ids = set(session.scalars(select(Organisation.id).where(
            or_(Organisation.name.like(like), Organisation.id.in_(select(Alias.organisation_id)
                                                                   .where(Alias.name.like(like)))))).all()[:6])
    if not ids:
        raise ReportError(f"no organisation named {text!r} (full name, alias or id)")
    if len(ids) > 1:
        names = dict(session.execute(select(Organisation.id, Organisation.name)
                                     .where(Organisation.id.in_(sorted(ids)[:5]))).all())
        raise ReportError(f"{text!r} names {len(ids)} organisations ("
                          + "; ".join(f"{i} {n}" for i, n in sorted(names.items()))
                          + "); give the id instead")
    oid = ids.pop()
    return oid, str(session.get(Organisation, oid).name)  # type: ignore[union-attr]


@dataclass(frozen=True)
class EdgeEvents:
    """The events behind the edge ``source`` -> ``target`` of the network of ``year``."""

    source: tuple[int, str]
    target: tuple[int, str]
    year: int
    event_ids: list[int]
    reverse_event_ids: list[int]  # the events of the edge target -> source, if any


def find_edge_events(session: Session, source: str, target: str, edition: int,
                     mutual: str = "reporter") -> EdgeEvents:
    """Resolve both names and list the events of the edge in the network of year ``edition - 1``."""
    src, dst = resolve_organisation(session, source), resolve_organisation(session, target)
    events = load_event_table(session)
    edges = yearly_edges(events, edition - 1, mutual=mutual)

    def members(a: int, b: int) -> list[int]:
        pos = np.searchsorted(edges.nodes, [a, b])
        if edges.n_nodes == 0 or (pos >= edges.n_nodes).any() or not (edges.nodes[pos] == [a, b]).all():
            return []
        hit = np.flatnonzero((edges.source == pos[0]) & (edges.target == pos[1]))
        if not hit.size:
            return []
        rows = edges.contrib_event[edges.contrib_edge == hit[0]]
        return sorted(int(events.event_id[r]) for r in set(rows.tolist()))

    return EdgeEvents(src, dst, edition - 1, members(src[0], dst[0]), members(dst[0], src[0]))
