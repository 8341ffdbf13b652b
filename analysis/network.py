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
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import CooperationEvent, Organisation

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
        )
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
