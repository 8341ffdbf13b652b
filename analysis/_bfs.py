"""Numba kernels behind :mod:`analysis.metrics` (private: call the public functions there).

Kernels on compressed sparse row (CSR) adjacency with sorted neighbour lists:

- :func:`distance_histogram` — exact all-pairs shortest-path *counts per distance* of a directed,
  unweighted graph, by a bit-parallel multi-source BFS (MS-BFS). ``64 * words`` sources share one
  traversal: every node carries bitsets ``seen``, ``frontier`` and ``next`` of ``words`` 64-bit
  words, bit ``j`` standing for the ``j``-th source of the batch. One level pushes the frontier
  bits of each active node along its out-edges (``x = frontier[v] & ~seen[u]``; ``seen[u] |= x``,
  ``next[u] |= x``): the bits new at ``u`` are the sources whose shortest distance to ``u`` is the
  current level, and their popcount is added to ``hist[level]``. The source itself is ``seen``
  from the start, so the pair (s, s) is never counted and a cycle back to s adds nothing.
  Batches are independent; they are spread over numba's threads (``prange``), each thread
  owning one workspace that it resets through the list of nodes it touched (no full clears).
  Exact reductions (pendant sinks as weights, folded pendant sources) are described at the
  kernel. Reference: M. Then et al., "The More the Merrier: Efficient Multi-Source Graph
  Traversal", PVLDB 8(4), 2014.
- :func:`bfs_rank` — a breadth-first visit order, used to number nodes for memory locality.
- :func:`clustering_per_node` — Gephi 0.9.2's directed local clustering coefficient (definition in
  :func:`analysis.metrics.compute_netstats`): for every node v with k >= 2 undirected
  neighbours, for every neighbour x, count the out-neighbours of x (other than x itself) that
  are in N(v) — by walking out(x) against marks on N(v) when out(x) is the shorter list, else
  by binary-searching out(x) for the members of N(v).

Every kernel is compiled with ``cache=True`` into the directory of
:func:`common.config.use_numba_cache` (``<AIMAP_HOME>/numba`` unless ``NUMBA_CACHE_DIR`` says
otherwise), set here before numba is imported: the kernels compile once per machine (the
``parallel=True`` ones included), not in every process, and not again in a fresh clone or a
read-only install. This module and :mod:`etl.crf` (LAC's decoder) are the ones that import numba.
"""

from __future__ import annotations

from common.config import use_numba_cache

use_numba_cache()  # before numba is imported: numba reads the cache location at import

import numpy as np  # noqa: E402
from numba import get_num_threads, njit, prange  # noqa: E402

__all__ = ["bfs_rank", "clustering_per_node", "distance_histogram", "get_num_threads"]

_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)
_ZERO = np.uint64(0)
_ONE = np.uint64(1)
_S1 = np.uint64(1)
_S2 = np.uint64(2)
_S4 = np.uint64(4)
_S56 = np.uint64(56)


@njit(cache=True, inline="always")
def _popcount(x: np.uint64) -> np.int64:
    """Number of set bits (SWAR; LLVM turns the pattern into a ``popcnt`` instruction)."""
    x = x - ((x >> _S1) & _M1)
    x = (x & _M2) + ((x >> _S2) & _M2)
    x = (x + (x >> _S4)) & _M4
    return np.int64((x * _H01) >> _S56)


@njit(cache=True, inline="always")
def _add(hist: np.ndarray, stats: np.ndarray, level: int, pairs: np.int64) -> None:
    """Count ``pairs`` pairs at distance ``level`` in a histogram and in the batch's (pairs, sum)."""
    hist[level] += pairs
    stats[0] += pairs
    stats[1] += pairs * level


@njit(cache=True, nogil=True)
def _run_chunk(indptr: np.ndarray, indices: np.ndarray, sources: np.ndarray, words: int,
               chunk: int, n_chunks: int, lane_weight: np.ndarray, meta: np.ndarray, n_transit: int,
               lane_pos: np.ndarray, hist: np.ndarray, group_stats: np.ndarray) -> None:
    """MS-BFS over the batches ``chunk, chunk + n_chunks, ...`` of ``sources`` (see
    :func:`distance_histogram`); adds into ``hist`` and into ``group_stats[b * words + q]``
    the (pairs, sum of distances) of the 64 lanes of word q of batch b.

    When the bits ``x`` are new at node u on level L (u first reached from those lanes), it counts
    popcount(x) pairs at L, popcount(x) * meta[u, 0] at L + 1 (u's pendant sinks), and for
    the folded sources W(x) = sum of lane_weight over the lanes in x: W(x) pairs at L + 1 and
    W(x) * meta[u, 0] at L + 2; minus one pair at L + 1 when x holds the lane that u itself is
    folded onto (the pair (u, u)). W(x) is a sum of popcounts of x against bit-sliced weights.
    """
    n = indptr.shape[0] - 1
    batch = 64 * words
    n_batches = (sources.shape[0] + batch - 1) // batch
    seen = np.zeros((n, words), dtype=np.uint64)
    frontier = np.zeros((n, words), dtype=np.uint64)
    nxt = np.zeros((n, words), dtype=np.uint64)
    active = np.empty(n, dtype=np.int64)
    queued = np.empty(n, dtype=np.int64)
    touched = np.empty(n, dtype=np.int64)
    slices = np.zeros((words, 64), dtype=np.uint64)  # bit k of the lane weights, per word
    weighted = np.zeros(words, dtype=np.uint64)  # lanes with a weight
    found = np.zeros(words, dtype=np.int64)  # per word: pairs at the level
    next1 = np.zeros(words, dtype=np.int64)  # pairs at level + 1
    next2 = np.zeros(words, dtype=np.int64)  # pairs at level + 2
    for b in range(chunk, n_batches, n_chunks):
        lo = b * batch
        hi = min(lo + batch, sources.shape[0])
        n_active = 0
        n_touched = 0
        n_slices = 0
        for q in range(words):
            weighted[q] = _ZERO
            for k in range(64):
                slices[q, k] = _ZERO
        for i in range(lo, hi):
            s = sources[i]
            j = i - lo
            w = j >> 6
            bit = _ONE << np.uint64(j & 63)
            touched[n_touched] = s
            n_touched += 1
            active[n_active] = s
            n_active += 1
            seen[s, w] |= bit
            frontier[s, w] |= bit
            c = lane_weight[i]
            _add(hist, group_stats[b * words + w], 1, meta[s, 0])
            _add(hist, group_stats[b * words + w], 2, c * meta[s, 0])
            if c > 0:
                weighted[w] |= bit
                k = 0
                while c > 0:
                    if c & 1:
                        slices[w, k] |= bit
                    c >>= 1
                    k += 1
                if k > n_slices:
                    n_slices = k
        level = 0
        while n_active > 0:
            level += 1
            n_queued = 0
            for q in range(words):
                found[q] = 0
                next1[q] = 0
                next2[q] = 0
            for a in range(n_active):
                v = active[a]
                for e in range(indptr[v], indptr[v + 1]):
                    u = indices[e]
                    new = False
                    for q in range(words):
                        if frontier[v, q] & ~seen[u, q] != _ZERO:
                            new = True
                            break
                    if not new:
                        continue  # the common case late in a search: nothing new at u
                    sink = u >= n_transit
                    fresh = True  # u not reached yet in this batch
                    idle = True  # u not queued yet for the next level
                    for q in range(words):
                        if seen[u, q] != _ZERO:
                            fresh = False
                        if nxt[u, q] != _ZERO:
                            idle = False
                    sw = meta[u, 0]
                    # the lane of the source u is folded onto, if it runs in this batch
                    fold_word = -1
                    fold_bit = _ZERO
                    h = meta[u, 1]
                    if h >= 0:
                        p = lane_pos[h] - lo
                        if 0 <= p < hi - lo:
                            fold_word = p >> 6
                            fold_bit = _ONE << np.uint64(p & 63)
                    for q in range(words):
                        x = frontier[v, q] & ~seen[u, q]
                        if x != _ZERO:
                            seen[u, q] |= x
                            if not sink:
                                nxt[u, q] |= x
                            pc = _popcount(x)
                            found[q] += pc
                            next1[q] += pc * sw
                            xw = x & weighted[q]
                            if xw != _ZERO:
                                wsum = np.int64(0)
                                for k in range(n_slices):
                                    wsum += _popcount(xw & slices[q, k]) << k
                                next1[q] += wsum
                                next2[q] += wsum * sw
                            if q == fold_word and (x & fold_bit) != _ZERO:
                                next1[q] -= 1  # the pair (u, u) of u folded onto this lane
                    if fresh:
                        touched[n_touched] = u
                        n_touched += 1
                    if idle and not sink:
                        queued[n_queued] = u
                        n_queued += 1
            for a in range(n_active):
                v = active[a]
                for q in range(words):
                    frontier[v, q] = _ZERO
            frontier, nxt = nxt, frontier
            for a in range(n_queued):
                active[a] = queued[a]
            n_active = n_queued
            for q in range(words):
                stats = group_stats[b * words + q]
                _add(hist, stats, level, found[q])
                _add(hist, stats, level + 1, next1[q])
                _add(hist, stats, level + 2, next2[q])
        for a in range(n_touched):
            u = touched[a]
            for q in range(words):
                seen[u, q] = _ZERO


@njit(cache=True, parallel=True)
def distance_histogram(indptr: np.ndarray, indices: np.ndarray, sources: np.ndarray, words: int,
                       n_chunks: int, lane_weight: np.ndarray, meta: np.ndarray, n_transit: int,
                       lane_pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``hist[d]`` = number of ordered pairs (s, t), s a source, t != s, with dist(s, t) = d.

    ``indptr``/``indices``: out-adjacency in CSR form (int64, no self-loops). ``n_chunks``
    workspaces run in parallel, each over every ``n_chunks``-th batch of ``64 * words``
    consecutive ``sources``. Also returns ``group_stats[g] = (pairs, sum of distances)`` of the
    sources ``64 g .. 64 g + 63`` (the random groups of the approximate mode).

    Two exact reductions keep nodes out of the bitsets:

    - *pendant sinks* (no out-edge, one in-neighbour v) are left out of the adjacency;
      ``meta[v, 0]`` = how many hang from v. A sink t of v is at distance dist(s, v) + 1
      from every s != t that reaches v (t reaches nothing and is no source).
    - *folded sources*: a source u whose only out-neighbour is h has dist(u, t) = 1 + dist(h, t)
      for every t != u. Such a u runs no lane when h does: ``lane_weight[i]`` = how many sources
      are folded onto ``sources[i]``, ``meta[u, 1] = h`` marks a folded u (-1 otherwise),
      ``lane_pos[h]`` = index of h in ``sources``. The caller adds the pairs (u, h) at distance 1.

    Nodes ``>= n_transit`` are never expanded (the caller numbers the nodes with out-edges
    first), which spares a memory access per edge; ``meta`` keeps the two per-node values in
    one cache line.
    """
    n = indptr.shape[0] - 1
    batch = 64 * words
    n_batches = (sources.shape[0] + batch - 1) // batch
    partial = np.zeros((n_chunks, n + 3), dtype=np.int64)
    group_stats = np.zeros((n_batches * words, 2), dtype=np.int64)
    for c in prange(n_chunks):
        _run_chunk(indptr, indices, sources, words, c, n_chunks, lane_weight, meta, n_transit, lane_pos,
                   partial[c], group_stats)
    return partial.sum(axis=0), group_stats[: (sources.shape[0] + 63) // 64]


@njit(cache=True)
def bfs_rank(indptr: np.ndarray, indices: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Visit order of a breadth-first search over ``indptr``/``indices`` from ``starts`` in turn.

    ``rank[v]`` = position of v in the order (every node of ``starts`` is visited; a start that was
    already reached opens no new search). Used to number nodes so that a hub's neighbours sit next
    to each other in memory.
    """
    n = indptr.shape[0] - 1
    rank = np.full(n, -1, dtype=np.int64)
    queue = np.empty(n, dtype=np.int64)
    tail = 0
    for start in starts:
        if rank[start] >= 0:
            continue
        head = tail
        rank[start] = tail
        queue[tail] = start
        tail += 1
        while head < tail:
            v = queue[head]
            head += 1
            for e in range(indptr[v], indptr[v + 1]):
                u = indices[e]
                if rank[u] < 0:
                    rank[u] = tail
                    queue[tail] = u
                    tail += 1
    return rank


@njit(cache=True, inline="always")
def _count_common(a: np.ndarray, b: np.ndarray) -> np.int64:
    """|a ∩ b| for sorted, duplicate-free arrays (iterate the shorter, binary-search the longer)."""
    if a.shape[0] > b.shape[0]:
        a, b = b, a
    if a.shape[0] == 0:
        return np.int64(0)
    found = np.int64(0)
    lo = 0
    for x in a:
        # the shorter list is sorted too: the search window only moves right
        hi = b.shape[0]
        left = lo
        while left < hi:
            mid = (left + hi) >> 1
            if b[mid] < x:
                left = mid + 1
            else:
                hi = mid
        if left == b.shape[0]:
            break
        if b[left] == x:
            found += 1
        lo = left
    return found


@njit(cache=True, nogil=True)
def _clustering_chunk(out_ptr: np.ndarray, out_idx: np.ndarray, und_ptr: np.ndarray, und_idx: np.ndarray,
                      has_loop: np.ndarray, chunk: int, n_chunks: int, coeff: np.ndarray) -> None:
    """:func:`clustering_per_node` of the nodes ``chunk, chunk + n_chunks, ...`` into ``coeff``.

    For node v, the links among N(v) are counted per neighbour x as |out(x) ∩ N(v)|: when
    out(x) is no longer than N(v), by walking out(x) against a mark on the members of N(v)
    (``mark[y] == v``: no clearing between nodes); otherwise by binary-searching out(x) for each
    member of N(v) (:func:`_count_common`) — so a hub's long list is never walked for a small v.
    """
    n = und_ptr.shape[0] - 1
    mark = np.full(n, -1, dtype=np.int64)
    for v in range(chunk, n, n_chunks):
        lo, hi = und_ptr[v], und_ptr[v + 1]
        k = hi - lo
        if k < 2:
            continue
        for i in range(lo, hi):
            mark[und_idx[i]] = v
        nv = und_idx[lo:hi]
        links = np.int64(0)
        for i in range(lo, hi):
            x = und_idx[i]
            if out_ptr[x + 1] - out_ptr[x] <= k:
                for e in range(out_ptr[x], out_ptr[x + 1]):
                    if mark[out_idx[e]] == v:
                        links += 1
            else:
                links += _count_common(out_idx[out_ptr[x]:out_ptr[x + 1]], nv)
            if has_loop[x]:
                links -= 1  # x -> x is an edge inside N(v) but not a pair x != y
        coeff[v] = links / (k * (k - 1.0))


@njit(cache=True, parallel=True)
def clustering_per_node(out_ptr: np.ndarray, out_idx: np.ndarray, und_ptr: np.ndarray, und_idx: np.ndarray,
                        has_loop: np.ndarray, n_chunks: int) -> np.ndarray:
    """Gephi 0.9.2 directed local clustering coefficient of every node (see module docstring).

    ``out_*``: sorted out-adjacency (CSR); ``und_*``: sorted N(v) = in ∪ out neighbours, v itself
    included when v has a self-loop; ``has_loop[x]``: whether x -> x exists (so that the pair
    (x, x) is not counted). ``n_chunks`` interleaved shares of the nodes run in parallel, each
    with its own workspace (:func:`_clustering_chunk`).
    """
    n = und_ptr.shape[0] - 1
    coeff = np.zeros(n, dtype=np.float64)
    for c in prange(n_chunks):
        _clustering_chunk(out_ptr, out_idx, und_ptr, und_idx, has_loop, c, n_chunks, coeff)
    return coeff
