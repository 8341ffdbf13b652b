"""Event identity: the one definition of when two extracted relations are the same cooperation event.

An event is a cooperation between two organisations in one year. Directed events (provider ->
receiver) are keyed by the ordered pair; ``mutual`` events by the unordered pair, so "A with B" and
"B with A" are one event. The key is a SHA-256 hex digest of ``directed|provider|receiver|year`` or
``mutual|min|max|year`` over organisation ids. The loader (``etl.load``) deduplicates on it, and
entity resolution (``etl.resolve``) recomputes it when it merges two organisations.
"""

from __future__ import annotations

import hashlib


def event_key(provider_id: int, receiver_id: int, direction: str, year: int) -> str:
    """Deduplication key of an event between two organisation ids (see module docstring)."""
    if direction == "mutual":
        a, b = sorted((provider_id, receiver_id))
        raw = f"mutual|{a}|{b}|{year}"
    else:
        raw = f"directed|{provider_id}|{receiver_id}|{year}"
    return hashlib.sha256(raw.encode()).hexdigest()
