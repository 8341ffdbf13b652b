"""The blocking index: character n-grams of normalised names -> names -> organisations."""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from operator import itemgetter

from etl.resolve.config import ResolverConfig

# --------------------------------------------------------------------------- blocking index


class NameIndex:
    """Blocking index over normalised names: character n-grams -> names -> organisations.

    :meth:`candidates` returns the indexed names sharing the most n-grams with a query, looking
    up only its rarest n-grams (``max_grams``) and skipping n-grams shared by more than
    ``max_posting`` names (industry words such as 科技, 智能 block nothing) unless the query has
    no rarer one; at most ``max_candidates`` names are returned, the exact name always first.
    """

    def __init__(self, config: ResolverConfig) -> None:
        self.config = config
        self._keys: list[str] = []
        self._slot: dict[str, int] = {}
        self._orgs: list[set[int]] = []
        self._postings: dict[str, list[int]] = defaultdict(list)

    def __len__(self) -> int:
        return len(self._keys)

    def grams(self, key: str) -> set[str]:
        """The n-grams of a normalised name (the whole name when it is shorter than n)."""
        n = self.config.ngram_ascii if key.isascii() else self.config.ngram
        if len(key) <= n:
            return {key}
        return {key[i : i + n] for i in range(len(key) - n + 1)}

    def add(self, key: str, org_id: int) -> None:
        """Index ``key`` as a name of organisation ``org_id``."""
        if not key:
            return
        slot = self._slot.get(key)
        if slot is None:
            slot = len(self._keys)
            self._slot[key] = slot
            self._keys.append(key)
            self._orgs.append(set())
            for gram in self.grams(key):
                self._postings[gram].append(slot)
        self._orgs[slot].add(org_id)

    def discard(self, key: str, org_id: int) -> None:
        """Forget that ``key`` names ``org_id`` (after a split)."""
        slot = self._slot.get(key)
        if slot is not None:
            self._orgs[slot].discard(org_id)

    def orgs(self, key: str) -> set[int]:
        """Organisations indexed under exactly this normalised name."""
        slot = self._slot.get(key)
        return set(self._orgs[slot]) if slot is not None else set()

    def candidates(self, key: str) -> list[tuple[str, set[int]]]:
        """Indexed names sharing n-grams with ``key`` (most shared first), with their organisations."""
        return [(self._keys[s], self._orgs[s]) for s in self.candidate_slots(key) if self._orgs[s]]

    def candidate_slots(self, key: str) -> list[int]:
        """Like :meth:`candidates`, as internal slots (see :meth:`key_at`, :meth:`orgs_at`)."""
        cfg = self.config
        postings = [p for g in self.grams(key) if (p := self._postings.get(g))]
        postings.sort(key=len)
        usable = [p for p in postings if len(p) <= cfg.max_posting][: cfg.max_grams] or postings[:2]
        counts: Counter[int] = Counter()
        for posting in usable:
            counts.update(posting)
        exact = self._slot.get(key)
        if exact is not None:
            counts.pop(exact, None)
        if len(counts) > cfg.max_candidates:
            chosen = [s for s, _ in heapq.nlargest(cfg.max_candidates, counts.items(), key=itemgetter(1))]
        else:
            chosen = sorted(counts, key=counts.__getitem__, reverse=True)
        if exact is not None:
            chosen.insert(0, exact)
        return chosen

    def key_at(self, slot: int) -> str:
        """The normalised name in a slot."""
        return self._keys[slot]

    def orgs_at(self, slot: int) -> set[int]:
        """The organisations indexed under a slot's name."""
        return self._orgs[slot]
