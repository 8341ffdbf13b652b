"""Yearly value networks built from the cooperation events in the database.

Definitions (the report's Table 1, section 二(一); conventions of Gephi 0.9.2, which the
institute used):

- **Yearly network, year Y** — cumulative by default: every cooperation event with
  ``year <= Y`` that was not terminated before Y (``status = 'terminated'`` with
  ``terminated_on`` earlier than 1 January of Y). With ``window=k`` only events with
  ``Y - k < year <= Y`` count (a rolling window of k years).
- **Edges** — unique directed pairs provider -> receiver (技术赋能 -> 技术输入). Repeated events
  between the same ordered pair are one edge whose ``weight`` is the number of events and whose
  ``first_year`` is the earliest event year. No self-loops (the schema forbids them).
- **Mutual events** — symmetric agreements contribute one edge, oriented by a rule:
  ``reporter`` (default) = from the sample firm that reported it (stored as the event's
  provider by the ETL stage); ``both`` = one edge in each direction.
- **Nodes** — organisations incident to at least one edge; *sample nodes* are sample firms
  (``organisations.is_sample``), *relation nodes* all others.
- **Average degree** (Gephi, directed) = edges / nodes.

Two equivalent implementations: :func:`yearly_network` builds a networkx graph from
:class:`EventRow` objects (readable, used for small graphs and as the reference in tests);
:func:`yearly_edges` builds the same unique-pair edge list from an :class:`EventTable` (all events
as numpy columns, loaded with one query) with vectorised operations, for report-scale networks
(~100k events, ten years) — a test checks both give the same edges, weights and first years.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from db.models import CooperationEvent, EventReview, Organisation

MUTUAL_RULES = ("reporter", "both")


@dataclass(frozen=True)
class EventRow:
    """The columns of an event the network needs."""

    provider_id: int
    receiver_id: int
    year: int
    direction: str
    status: str
    terminated_year: int | None


@dataclass(frozen=True)
class NetworkCounts:
    """Table 1's count columns for one year."""

    year: int
    sample_nodes: int
    relation_nodes: int
    nodes: int
    edges: int

    @property
    def avg_degree(self) -> float:
        """Gephi's directed average degree: edges / nodes (0 for an empty network)."""
        return self.edges / self.nodes if self.nodes else 0.0


def not_rejected() -> ColumnElement[bool]:
    """Events an analyst rejected in the review queue (``event_reviews.state = 'rejected'``) are
    not part of any network; the decision is keyed by the event key, so it survives re-extraction."""
    return CooperationEvent.event_key.not_in(
        select(EventReview.event_key).where(EventReview.state == "rejected")
    )


def load_events(session: Session) -> list[EventRow]:
    """All cooperation events as :class:`EventRow` (one query)."""
    rows = session.execute(
        select(
            CooperationEvent.provider_id,
            CooperationEvent.receiver_id,
            CooperationEvent.year,
            CooperationEvent.direction,
            CooperationEvent.status,
            CooperationEvent.terminated_on,
        ).where(not_rejected())
    )
    return [
        EventRow(p, r, y, d, s, t.year if t is not None else None) for p, r, y, d, s, t in rows
    ]


def sample_ids(session: Session) -> set[int]:
    """Ids of the sample firms."""
    return set(session.scalars(select(Organisation.id).where(Organisation.is_sample.is_(True))))


def active_in(event: EventRow, year: int, window: int | None = None) -> bool:
    """Whether ``event`` belongs to the network of ``year`` (see module docstring)."""
    if event.year > year:
        return False
    if window is not None and event.year <= year - window:
        return False
    return not (event.status == "terminated" and event.terminated_year is not None and event.terminated_year < year)


def yearly_network(
    events: Iterable[EventRow], year: int, *, window: int | None = None, mutual: str = "reporter"
) -> nx.DiGraph:
    """The directed value network of ``year`` with ``weight`` and ``first_year`` on each edge."""
    if mutual not in MUTUAL_RULES:
        raise ValueError(f"unknown mutual orientation rule {mutual!r}; expected one of {MUTUAL_RULES}")
    graph = nx.DiGraph()
    for ev in events:
        if not active_in(ev, year, window) or ev.provider_id == ev.receiver_id:
            continue
        pairs = [(ev.provider_id, ev.receiver_id)]
        if ev.direction == "mutual" and mutual == "both":
            pairs.append((ev.receiver_id, ev.provider_id))
        for u, v in pairs:
            if graph.has_edge(u, v):
                data = graph.edges[u, v]
                data["weight"] += 1
                data["first_year"] = min(data["first_year"], ev.year)
            else:
                graph.add_edge(u, v, weight=1, first_year=ev.year)
    return graph


def count(graph: nx.DiGraph, year: int, samples: set[int]) -> NetworkCounts:
    """Table 1's counts for a yearly network."""
    nodes = graph.number_of_nodes()
    sample_nodes = sum(1 for n in graph.nodes if n in samples)
    return NetworkCounts(year, sample_nodes, nodes - sample_nodes, nodes, graph.number_of_edges())


def data_version(graph: nx.DiGraph) -> str:
    """SHA-256 of the sorted edge list (with weights): equal data -> equal version."""
    digest = hashlib.sha256()
    for u, v, w in sorted(graph.edges(data="weight")):
        digest.update(f"{u}>{v}:{w}\n".encode())
    return digest.hexdigest()


# --------------------------------------------------------------------------- vectorised form

#: ``terminated_year`` of an event that is not terminated (or has no termination date).
NOT_TERMINATED = np.iinfo(np.int64).max


@dataclass(frozen=True)
class EventTable:
    """Every cooperation event as numpy columns (row ``i`` = one event), ordered by event id.

    ``terminated_year`` is the year of ``terminated_on`` for events with status ``terminated``
    and a date, else :data:`NOT_TERMINATED` (same rule as :func:`active_in`). ``kind`` indexes
    ``kinds`` (the event kinds, sorted).
    """

    event_id: np.ndarray
    provider: np.ndarray
    receiver: np.ndarray
    year: np.ndarray
    mutual: np.ndarray
    terminated_year: np.ndarray
    kind: np.ndarray
    kinds: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.event_id.size)

    @classmethod
    def from_columns(
        cls,
        event_id: Sequence[int],
        provider: Sequence[int],
        receiver: Sequence[int],
        year: Sequence[int],
        direction: Sequence[str],
        status: Sequence[str],
        terminated_year: Sequence[int | None],
        kind: Sequence[str],
    ) -> EventTable:
        """Build the table from parallel columns (any order; rows are sorted by event id)."""
        ids = np.asarray(event_id, dtype=np.int64)
        order = np.argsort(ids, kind="stable")
        kinds, kind_idx = np.unique(np.asarray(list(kind), dtype=object).astype(str), return_inverse=True)
        term = np.array(
            [t if (s == "terminated" and t is not None) else NOT_TERMINATED
             for s, t in zip(status, terminated_year, strict=True)],
            dtype=np.int64,
        )
        mutual = np.array([d == "mutual" for d in direction], dtype=bool)
        return cls(
            event_id=ids[order],
            provider=np.asarray(provider, dtype=np.int64)[order],
            receiver=np.asarray(receiver, dtype=np.int64)[order],
            year=np.asarray(year, dtype=np.int64)[order],
            mutual=mutual[order] if mutual.size else mutual,
            terminated_year=term[order] if term.size else term,
            kind=kind_idx.astype(np.int64)[order] if ids.size else np.zeros(0, dtype=np.int64),
            kinds=tuple(str(k) for k in kinds),
        )

    @classmethod
    def from_rows(cls, rows: Sequence[EventRow], kinds: Sequence[str] | None = None) -> EventTable:
        """Table of :class:`EventRow` objects (event ids 1..n in the given order; kind ``""`` unless given)."""
        return cls.from_columns(
            range(1, len(rows) + 1),
            [r.provider_id for r in rows],
            [r.receiver_id for r in rows],
            [r.year for r in rows],
            [r.direction for r in rows],
            [r.status for r in rows],
            [r.terminated_year for r in rows],
            list(kinds) if kinds is not None else [""] * len(rows),
        )

    def active(self, year: int, window: int | None = None) -> np.ndarray:
        """Boolean mask of the events in the network of ``year`` (same rule as :func:`active_in`)."""
        mask = (self.year <= year) & (self.terminated_year >= year)
        if window is not None:
            mask &= self.year > year - window
        return mask


def load_event_table(session: Session) -> EventTable:
    """All cooperation events as an :class:`EventTable` (one query, no ORM objects)."""
    rows = session.execute(
        select(
            CooperationEvent.id,
            CooperationEvent.provider_id,
            CooperationEvent.receiver_id,
            CooperationEvent.year,
            CooperationEvent.direction,
            CooperationEvent.status,
            CooperationEvent.terminated_on,
            CooperationEvent.kind,
        ).where(not_rejected()).order_by(CooperationEvent.id)
    ).all()
    if not rows:
        return EventTable.from_columns([], [], [], [], [], [], [], [])
    ids, prov, recv, years, dirs, stats, term, kinds = zip(*rows, strict=True)
    return EventTable.from_columns(
        ids, prov, recv, years, dirs, stats, [t.year if t is not None else None for t in term], kinds
    )


@dataclass(frozen=True)
class YearEdges:
    """The unique-pair edge list of one yearly network (definitions in the module docstring).

    ``nodes`` are the organisation ids incident to an edge, ascending; ``source``/``target``
    index into ``nodes``; edges are sorted by (provider id, receiver id). ``weight`` is the
    number of events behind an edge, ``first_year`` the earliest of their years.
    ``contrib_event`` (rows of the :class:`EventTable`) and ``contrib_edge`` pair every event
    with the edge it contributes to (a mutual event under rule ``both`` contributes twice).
    """

    year: int
    nodes: np.ndarray
    source: np.ndarray
    target: np.ndarray
    weight: np.ndarray
    first_year: np.ndarray
    contrib_event: np.ndarray
    contrib_edge: np.ndarray

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.nodes.size)

    @property
    def n_edges(self) -> int:
        """Number of edges (unique ordered pairs)."""
        return int(self.source.size)

    def degrees(self) -> tuple[np.ndarray, np.ndarray]:
        """In-degree and out-degree of every node (aligned with ``nodes``) on the unique-pair graph."""
        n = self.n_nodes
        return (np.bincount(self.target, minlength=n).astype(np.int64),
                np.bincount(self.source, minlength=n).astype(np.int64))

    def provider_ids(self) -> np.ndarray:
        """Organisation id of each edge's provider."""
        return self.nodes[self.source]

    def receiver_ids(self) -> np.ndarray:
        """Organisation id of each edge's receiver."""
        return self.nodes[self.target]

    def to_graph(self) -> nx.DiGraph:
        """The same network as a networkx graph keyed by organisation id (``weight``, ``first_year``)."""
        graph = nx.DiGraph()
        graph.add_nodes_from(int(n) for n in self.nodes)
        graph.add_edges_from(
            (int(u), int(v), {"weight": int(w), "first_year": int(f)})
            for u, v, w, f in zip(self.provider_ids(), self.receiver_ids(), self.weight, self.first_year, strict=True)
        )
        return graph


def yearly_edges(table: EventTable, year: int, *, window: int | None = None, mutual: str = "reporter") -> YearEdges:
    """The network of ``year`` as a :class:`YearEdges` — the vectorised form of :func:`yearly_network`."""
    if mutual not in MUTUAL_RULES:
        raise ValueError(f"unknown mutual orientation rule {mutual!r}; expected one of {MUTUAL_RULES}")
    rows = np.flatnonzero(table.active(year, window))
    prov, recv = table.provider[rows], table.receiver[rows]
    if mutual == "both":
        extra = rows[table.mutual[rows]]
        rows = np.concatenate([rows, extra])
        prov = np.concatenate([prov, table.receiver[extra]])
        recv = np.concatenate([recv, table.provider[extra]])
    proper = prov != recv
    rows, prov, recv = rows[proper], prov[proper], recv[proper]
    nodes, inverse = np.unique(np.concatenate([prov, recv]), return_inverse=True)
    n = max(int(nodes.size), 1)
    src_all, dst_all = inverse[: prov.size], inverse[prov.size:]
    keys, edge_of = np.unique(src_all * np.int64(n) + dst_all, return_inverse=True)
    weight = np.bincount(edge_of, minlength=keys.size).astype(np.int64)
    first = np.full(keys.size, NOT_TERMINATED, dtype=np.int64)
    np.minimum.at(first, edge_of, table.year[rows])
    return YearEdges(
        year=year,
        nodes=nodes.astype(np.int64),
        source=(keys // n).astype(np.int64),
        target=(keys % n).astype(np.int64),
        weight=weight,
        first_year=first,
        contrib_event=rows.astype(np.int64),
        contrib_edge=edge_of.astype(np.int64),
    )


def count_edges(edges: YearEdges, samples: np.ndarray) -> NetworkCounts:
    """Table 1's counts of a :class:`YearEdges` network (``samples``: sorted ids of the sample firms)."""
    sample_nodes = int(np.isin(edges.nodes, samples, assume_unique=True).sum())
    return NetworkCounts(edges.year, sample_nodes, edges.n_nodes - sample_nodes, edges.n_nodes, edges.n_edges)


def data_version_edges(edges: YearEdges) -> str:
    """:func:`data_version` of a :class:`YearEdges` network (same digest for the same edge list)."""
    lines = "".join(
        f"{u}>{v}:{w}\n" for u, v, w in zip(
            edges.provider_ids().tolist(), edges.receiver_ids().tolist(), edges.weight.tolist(), strict=True
        )
    )
    return hashlib.sha256(lines.encode()).hexdigest()
