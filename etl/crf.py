"""Viterbi decoding of a linear-chain CRF, compiled with numba: the tag path of LAC's emissions.

LAC (:mod:`etl.recognise`) scores every character against 59 tags; the best tag sequence under the
CRF's transition scores is found by the Viterbi algorithm (A. J. Viterbi, "Error bounds for
convolutional codes and an asymptotically optimum decoding algorithm", IEEE Trans. Inf. Theory
13(2), 1967): ``score_t(j) = max_i (score_{t-1}(i) + T[i, j]) + E[t, j]``, with a back pointer to
the best ``i`` for every ``(t, j)``, and the path read back from the best last tag.

In numpy a step is a handful of calls on 59 x 59 arrays, whose per-call cost was about 0.5 ms a
sentence, a third of LAC's time and about a tenth of the extractor's on the report world (issue
17). Compiled, the loop costs a twelfth of that. The arithmetic is the same float32 additions
in the same order and ties go to the smallest tag index as with ``argmax``, so the path is the
one numpy found (``tests/test_pairs.py`` compares them).

Compiled on first use (numba is imported then, like LAC's weights: only a process that tags a
sentence pays for it) with ``cache=True`` into :func:`common.config.use_numba_cache`'s directory,
so the kernel compiles once per machine, not in every extraction worker.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

from common.config import use_numba_cache


def viterbi_path(emissions: np.ndarray, transitions: np.ndarray) -> np.ndarray:
    """Best tag path (one tag index per row of ``emissions``, length x tags) under ``transitions``
    (tags x tags, from row tag to column tag)."""
    return _compiled()(emissions, transitions)


@lru_cache(maxsize=1)
def _compiled() -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    use_numba_cache()  # before numba is imported: numba reads the cache location at import
    from numba import njit  # deferred: see the module docstring

    return njit(cache=True, nogil=True)(_viterbi)


def _viterbi(emissions: np.ndarray, transitions: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """:func:`viterbi_path`'s loop, compiled by :func:`_compiled`."""
    n, k = emissions.shape
    back = np.zeros((n, k), dtype=np.int64)
    score = emissions[0].copy()
    best = np.empty(k, dtype=score.dtype)
    for t in range(1, n):
        for j in range(k):
            best[j] = score[0] + transitions[0, j]
        for i in range(1, k):  # ascending, strictly greater: ties keep the smallest i, as argmax does
            si = score[i]
            for j in range(k):
                v = si + transitions[i, j]
                if v > best[j]:
                    best[j] = v
                    back[t, j] = i
        for j in range(k):
            score[j] = best[j] + emissions[t, j]
    path = np.empty(n, dtype=np.int64)
    last = 0
    for j in range(1, k):
        if score[j] > score[last]:
            last = j
    path[n - 1] = last
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path
