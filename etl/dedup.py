"""Exact and near-duplicate documents: content hash, boilerplate-aware MinHash + LSH.

A duplicate cluster groups the documents that carry the same text: the same extracted-text
hash (``documents.content_sha256``: exact copies) or a near-duplicate similarity of at least
``threshold`` (near copies: a syndicated article with another intro line, a few words changed,
a traditional-Chinese edition). Clusters are the connected components of that relation and are
named by their smallest document id (``document_fingerprints.cluster_id``).

Duplicates are a *signal*, not a deletion: every document stays, and the ETL still stores each
cooperation once with every reporting document as a mention. Copies of one event written
independently on different sites are not near duplicates (their texts differ): event
deduplication is the loader's job.

Definitions (parameters in ``etl/data/dedup.yml``)
    normalised text: NFKC, OpenCC t2s, case-folded, letters and digits only.
    shingles S(d): the set of substrings of ``shingle`` characters of the normalised text.
    signature: MinHash of S(d) with ``num_perm`` permutations (Broder, "On the resemblance and
    containment of documents", 1997): component i is min over s in S(d) of h_i(s).
    common component value: a value that is component i of at least
    ``max(common_min_df, ceil(common_share * N))`` of the N fingerprinted signatures — the
    minimum of a boilerplate shingle shared by a template family.
    similarity(a, b) = |{i : a_i = b_i, a_i not common}| / |{i : min(a_i, b_i) not common}|,
    i.e. among the components whose minimum over S(a) ∪ S(b) is not boilerplate, the share
    that agree: the MinHash estimate of the Jaccard similarity of the two documents'
    non-boilerplate shingles. Fewer than ``min_informative`` such components: not comparable.
    (Plain Jaccard would join announcements of one template that report different
    cooperations; see the calibration note in the data file.)
    Candidate pairs come from locality-sensitive hashing (Indyk & Motwani 1998) with
    one-component bands over the informative components (:class:`SignatureSet`), which finds
    every pair above the threshold, and are confirmed by the similarity.

Incremental: :func:`assign_clusters` fingerprints new and changed documents only and compares
them with the index of the stored signatures (rebuilt from ``document_fingerprints``, no text
read again); a changed document first leaves its cluster, whose other members are re-clustered
among themselves. Which values are common is computed afresh at each run from every stored
signature; ``rebuild=True`` re-clusters everything under the current statistics.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from datasketch import MinHash
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from common.datafiles import read_yaml
from common.text import t2s
from db.models import CooperationEvent, Document, DocumentFingerprint, Mention, utcnow

CONFIG_FILE = Path(__file__).resolve().parent / "data" / "dedup.yml"
SCHEME = "affine32"
HASH = "fnv1a32"  # the shingle hash (see shingle_hashes)
_NON_WORD = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class DedupConfig:
    """Parameters of duplicate detection (``etl/data/dedup.yml`` documents each)."""

    version: int
    shingle: int
    num_perm: int
    seed: int
    threshold: float
    min_informative: int
    common_min_df: int
    common_share: float
    min_chars: int

    @property
    def params(self) -> str:
        """How a stored signature was computed; a signature with other params is recomputed."""
        return f"minhash-{SCHEME}-{HASH}-p{self.num_perm}-s{self.seed}-k{self.shingle}-c{self.min_chars}"


@lru_cache(maxsize=4)
def load_config(path: Path = CONFIG_FILE) -> DedupConfig:
    """Read and check ``etl/data/dedup.yml``."""
    raw = read_yaml(path) or {}
    try:
        cfg = DedupConfig(
            version=int(raw["version"]), shingle=int(raw["shingle"]), num_perm=int(raw["num_perm"]),
            seed=int(raw["seed"]), threshold=float(raw["threshold"]),
            min_informative=int(raw["min_informative"]), common_min_df=int(raw["common_min_df"]),
            common_share=float(raw["common_share"]), min_chars=int(raw["min_chars"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: missing or malformed setting: {exc}") from exc
    if not 0 < cfg.threshold <= 1 or cfg.shingle < 1 or cfg.num_perm < 16:
        raise ValueError(f"{path}: need 0 < threshold <= 1, shingle >= 1, num_perm >= 16")
    if not 0 < cfg.min_informative <= cfg.num_perm or cfg.common_min_df < 2:
        raise ValueError(f"{path}: need 0 < min_informative <= num_perm and common_min_df >= 2")
    return cfg


def normalise_text(text: str) -> str:
    """NFKC, traditional -> simplified, case-folded, letters and digits only."""
    folded = t2s(unicodedata.normalize("NFKC", text)).casefold()
    return _NON_WORD.sub("", folded)


def shingles(text: str, k: int) -> set[str]:
    """Character k-shingles of an already normalised text (the whole text when shorter than k)."""
    if len(text) <= k:
        return {text} if text else set()
    return {text[i : i + k] for i in range(len(text) - k + 1)}


@lru_cache(maxsize=4)
def _permutations(num_perm: int, seed: int) -> Any:
    return MinHash(num_perm=num_perm, seed=seed, scheme=SCHEME).permutations


_FNV_PRIME = np.uint32(0x01000193)
_FNV_OFFSET = np.uint32(0x811C9DC5)


def fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer (an avalanching bijection; arithmetic wraps mod 2**32)."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def shingle_hashes(norm: str, k: int) -> np.ndarray:
    """32-bit FNV-1a hashes of the character k-shingles of a normalised text, distinct, vectorised.

    Same set semantics as :func:`shingles` (one value per distinct shingle, the whole text when
    shorter than k), computed over the code points with numpy instead of hashing each shingle
    in Python (the per-shingle SHA-1 was most of the cost of fingerprinting a document).
    """
    points = np.frombuffer(norm.encode("utf-32-le"), dtype="<u4").astype(np.uint32)
    width = min(k, len(points))
    n = len(points) - width + 1
    h = np.full(n, _FNV_OFFSET, dtype=np.uint32)
    for j in range(width):
        h = (h ^ points[j : j + n]) * _FNV_PRIME
    return np.unique(h)


def signature(text: str, config: DedupConfig | None = None) -> np.ndarray | None:
    """MinHash signature (``num_perm`` uint32) of a text; ``None`` below ``min_chars`` normalised characters.

    Standard MinHash (Broder 1997): component i is the minimum over the text's shingles of the
    i-th permutation ``fmix32(h) * a_i + b_i`` (mod 2**32) of the shingle hash ``h`` — datasketch's
    ``affine32`` scheme and permutations, applied to all shingles at once.
    """
    cfg = config or load_config()
    norm = normalise_text(text)
    if len(norm) < cfg.min_chars or not norm:
        return None
    a, b = _permutations(cfg.num_perm, cfg.seed)
    hv = fmix32(shingle_hashes(norm, cfg.shingle).reshape(-1, 1))
    return (hv * a + b).min(axis=0).astype(np.uint32)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Plain MinHash estimate of the Jaccard similarity: the share of equal components."""
    return float(np.count_nonzero(a == b)) / len(a)


def _to_bytes(sig: np.ndarray) -> bytes:
    return sig.astype("<u4").tobytes()


def _from_bytes(raw: bytes) -> np.ndarray:
    """Signatures stored by :func:`_to_bytes` (one, or several one after another)."""
    return np.frombuffer(raw, dtype="<u4").astype(np.uint32)


class SignatureSet:
    """The signatures of a corpus, their common (boilerplate) components, and the candidate index.

    Candidate pairs come from LSH with one-component bands over the *informative* components
    only: two documents are candidates when they share at least
    ``ceil(threshold * min_informative)`` informative (component, value) pairs. A pair below
    that cannot reach the threshold (similarity = agreeing / informative components, with at
    least ``min_informative`` informative ones), so the candidate step loses no pair; and since
    an informative value is held by fewer than ``common_df`` documents, every bucket is small.
    (datasketch's ``MinHashLSH`` bands whole signatures: boilerplate components would make a
    template family one huge bucket, and one-row bands cost one Python dict per component.)
    The index is sorted numpy columns, 8 bytes per informative component (the value and the row).
    """

    def __init__(self, signatures: Mapping[int, np.ndarray], config: DedupConfig,
                 matrix: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """``signatures``: document id -> signature; ``matrix``: more of them as (ids, rows), one
        signature per row (what :func:`assign_clusters` reads from the database, without a Python
        object per document: at report scale that was ~200 MiB more at the clustering's peak)."""
        self.config = config
        ids = [np.fromiter(signatures, dtype=np.int64, count=len(signatures))]
        rows = [np.stack(list(signatures.values())).astype(np.uint32) if signatures
                else np.zeros((0, config.num_perm), dtype=np.uint32)]
        if matrix is not None:
            ids.append(matrix[0].astype(np.int64))
            rows.append(matrix[1].astype(np.uint32, copy=False))
        order = np.argsort(np.concatenate(ids), kind="stable")
        self.ids = np.concatenate(ids)[order]
        self.matrix = np.concatenate(rows)[order] if len(rows) > 1 else rows[0][order]
        self._row = {int(doc_id): i for i, doc_id in enumerate(self.ids)}
        n = len(self.ids)
        self.common_df = max(config.common_min_df, math.ceil(config.common_share * n))
        # one stable sort per component gives both its common values (runs of at least common_df
        # equal values) and, without sorting again, the candidate index's order (:meth:`_index`)
        self.common = np.zeros(self.matrix.shape, dtype=bool)
        self._informative: list[np.ndarray] | None = []  # per component: informative rows, by value
        for col in range(self.matrix.shape[1]):
            order = np.argsort(self.matrix[:, col], kind="stable").astype(np.int32)  # < 2**31 documents
            ordered = self.matrix[order, col]
            starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if n else np.zeros(0, dtype=np.intp)
            counts = np.diff(np.r_[starts, n])
            common = np.repeat(counts >= self.common_df, counts)
            self.common[order, col] = common
            self._informative.append(order[~common])
        self.min_shared = max(1, math.ceil(config.threshold * config.min_informative - 1e-9))
        self._columns: list[tuple[np.ndarray, np.ndarray]] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._row

    def _similarity_rows(self, ra: np.ndarray, rb: np.ndarray) -> np.ndarray:
        """Similarities of row pairs; NaN where fewer than ``min_informative`` components are informative."""
        equal = self.matrix[ra] == self.matrix[rb]
        common_a, common_b = self.common[ra], self.common[rb]
        informative = np.where(equal, ~common_a, ~(common_a & common_b)).sum(axis=1)
        agree = (equal & ~common_a).sum(axis=1)
        sim = agree / np.maximum(informative, 1)
        return np.where(informative >= self.config.min_informative, sim, np.nan)

    def similarity(self, a: int, b: int) -> float | None:
        """Similarity of two documents (module docstring); ``None`` when they are not comparable."""
        sim = self._similarity_rows(np.array([self._row[a]]), np.array([self._row[b]]))[0]
        return None if np.isnan(sim) else float(sim)

    def _index(self) -> list[tuple[np.ndarray, np.ndarray]]:
        if self._columns is None:
            # the informative rows of each component sorted by value (ties by row), from __init__'s sort
            informative, self._informative = self._informative or [], None
            self._columns = [(self.matrix[rows, col], rows) for col, rows in enumerate(informative)]
        return self._columns

    def near_pairs(self, doc_ids: Iterable[int], chunk: int = 2000) -> list[tuple[int, int, float]]:
        """(document, other, similarity) for every pair with similarity >= threshold, ``document`` in ``doc_ids``."""
        rows = np.array(sorted(self._row[d] for d in doc_ids if d in self._row), dtype=np.int64)
        n = len(self.ids)
        out: list[tuple[int, int, float]] = []
        for start in range(0, len(rows), chunk):
            q = rows[start : start + chunk]
            keys = []
            for col, (values, members) in enumerate(self._index()):
                sel = q[~self.common[q, col]]
                if not len(sel) or not len(values):
                    continue
                wanted = self.matrix[sel, col]
                lo = np.searchsorted(values, wanted, side="left")
                hi = np.searchsorted(values, wanted, side="right")
                counts = hi - lo
                total = int(counts.sum())
                if total == 0:
                    continue
                offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
                others = members[np.repeat(lo, counts) + offsets]
                owners = np.repeat(sel, counts)
                keep = others != owners
                keys.append(owners[keep] * n + others[keep])
            if not keys:
                continue
            pairs, shared = np.unique(np.concatenate(keys), return_counts=True)
            pairs = pairs[shared >= self.min_shared]
            if not len(pairs):
                continue
            ra, rb = pairs // n, pairs % n
            sims = self._similarity_rows(ra, rb)
            hit = np.nonzero(sims >= self.config.threshold)[0]
            out.extend((int(self.ids[ra[i]]), int(self.ids[rb[i]]), float(sims[i])) for i in hit)
        return out


@dataclass
class DedupReport:
    """Counts of one clustering run (``exact``/``near``/``alone``: how the processed documents are linked)."""

    fingerprinted: int = 0
    unchanged: int = 0
    exact: int = 0
    near: int = 0
    alone: int = 0
    too_short: int = 0
    clusters_reformed: int = 0

    def as_dict(self) -> dict[str, int]:
        """Plain counts (run records, CLI)."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class Assignment:
    """A document's cluster and link: ``exact`` (a copy with the same text hash exists), ``near``
    (a near copy exists; ``similarity`` to the closest one) or ``self`` (no copy)."""

    cluster_id: int
    match: str
    similarity: float | None


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        parent = self.parent
        parent.setdefault(x, x)
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:  # the smaller id is the root: the cluster id is its smallest document
            self.parent[max(ra, rb)] = min(ra, rb)


def _link(
    todo: list[int],
    hashes: Mapping[int, str],
    blank: set[int],
    sigset: SignatureSet,
    groups: Iterable[list[int]],
    report: DedupReport,
) -> tuple[_UnionFind, dict[int, Assignment]]:
    """Union existing ``groups`` with the exact and near links of the ``todo`` documents."""
    uf = _UnionFind()
    for members in groups:
        for m in members[1:]:
            uf.union(members[0], m)
    for doc_id in hashes:
        uf.find(doc_id)
    by_hash: dict[str, list[int]] = defaultdict(list)
    for doc_id, sha in hashes.items():
        if doc_id not in blank:  # empty pages are not copies of each other
            by_hash[sha].append(doc_id)
    links: dict[int, Assignment] = {}
    todo_set = set(todo)
    for same in by_hash.values():
        if len(same) > 1 and todo_set.intersection(same):
            for doc_id in same:
                uf.union(same[0], doc_id)
                links[doc_id] = Assignment(0, "exact", 1.0)
    for a, b, sim in sigset.near_pairs(todo):
        uf.union(a, b)
        for doc_id in (a, b):
            current = links.get(doc_id)
            if current is None or (current.match == "near" and (current.similarity or 0) < sim):
                links[doc_id] = Assignment(0, "near", round(sim, 4))
    for doc_id in todo:
        match = links[doc_id].match if doc_id in links else "self"
        if match == "exact":
            report.exact += 1
        elif match == "near":
            report.near += 1
        else:
            report.alone += 1
    report.fingerprinted += len(todo)
    return uf, links


def cluster_texts(
    documents: Iterable[tuple[int, str, str]], config: DedupConfig | None = None
) -> dict[int, Assignment]:
    """Cluster documents given as (id, content hash, text) in memory (benchmarks, evaluation).

    The same procedure as :func:`assign_clusters` on an empty database.
    """
    cfg = config or load_config()
    hashes: dict[int, str] = {}
    sigs: dict[int, np.ndarray] = {}
    blank: set[int] = set()
    report = DedupReport()
    for doc_id, sha, text in documents:
        hashes[doc_id] = sha
        if not text.strip():
            blank.add(doc_id)
        sig = signature(text, cfg)
        if sig is not None:
            sigs[doc_id] = sig
    uf, links = _link(sorted(hashes), hashes, blank, SignatureSet(sigs, cfg), (), report)
    none = Assignment(0, "self", None)
    return {d: Assignment(uf.find(d), links.get(d, none).match, links.get(d, none).similarity) for d in sorted(hashes)}


def assign_clusters(
    session: Session,
    document_ids: Iterable[int] | None = None,
    *,
    rebuild: bool = False,
    include_stale: bool = False,
    config: DedupConfig | None = None,
    progress: Callable[[str], None] | None = None,
    signatures: Mapping[int, tuple[str | None, np.ndarray]] | None = None,
) -> DedupReport:
    """Fingerprint documents and assign their duplicate clusters (``document_fingerprints``).

    Processes ``document_ids`` (default: every document without a current fingerprint — new,
    changed since, or computed with other parameters); with ``include_stale`` every document
    without a current fingerprint, ``document_ids`` included, while those of them that have one are
    left as they are (the same text gives the same signature, and every document fingerprinted
    since was linked to them: the ETL passes of a refresh fingerprint the documents the crawl has
    stored before they are loaded, and at report scale did 92,000 of them twice);
    ``rebuild`` re-clusters every document. ``signatures`` (document id -> the content hash and the
    signature computed from that text with ``config``'s parameters, made where the text was read
    already: the ETL's extraction workers) spare reading and hashing those texts again; a
    document whose hash is no longer the one given is read as any other.
    A processed document is linked to every stored or processed document with the same
    (non-empty) text hash or a similarity >= threshold; clusters joined by a link merge. Stored
    clusters are kept, except those a changed document leaves: their other members are
    re-clustered among themselves. Runs in the caller's transaction (flushes, no commit).
    """
    cfg = config or load_config()
    report = DedupReport()
    if rebuild:
        session.execute(delete(DocumentFingerprint))
    fp_ = DocumentFingerprint
    stored = {row.document_id: row for row in session.execute(select(
        fp_.document_id, fp_.content_sha256, fp_.params, fp_.cluster_id, fp_.match, fp_.similarity))}
    docs = dict(session.execute(select(Document.id, Document.content_sha256)).all())
    todo_set: set[int] = set()
    if document_ids is None or include_stale:
        todo_set = {d for d, sha in docs.items()
                    if d not in stored or stored[d].content_sha256 != sha or stored[d].params != cfg.params}
    if document_ids is not None and not include_stale:
        todo_set |= set(document_ids) & set(docs)
    todo = sorted(todo_set)
    report.unchanged = len(docs) - len(todo)
    if progress:
        progress(f"fingerprinting {len(todo):,} documents")

    sigs, blank = _signatures_of(session, todo, docs, signatures or {}, cfg, report)
    kept = {d: fp for d, fp in stored.items() if d not in todo_set and d in docs}
    sigset = SignatureSet(sigs, cfg, _stored_signatures(session, kept, cfg))

    members: dict[int, list[int]] = defaultdict(list)
    for doc_id, fp in sorted(kept.items()):
        members[fp.cluster_id].append(doc_id)
    left = {stored[d].cluster_id for d in todo if d in stored}
    groups = [m for label, m in members.items() if label not in left]
    for label in sorted(left & set(members)):  # clusters a changed document leaves: re-formed
        groups.extend(_reform(members[label], sigset, kept, blank))
        report.clusters_reformed += 1
    if progress:
        progress(f"linking against {len(sigset):,} signatures")
    hashes = {d: docs[d] for d in (*kept, *todo)}
    uf, links = _link(todo, hashes, blank, sigset, groups, report)

    now = utcnow()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for doc_id in todo:
        link = links.get(doc_id, Assignment(0, "self", None))
        sig = sigs.get(doc_id)
        (updates if doc_id in stored else inserts).append({
            "document_id": doc_id, "content_sha256": docs[doc_id], "params": cfg.params,
            "minhash": _to_bytes(sig) if sig is not None else None, "cluster_id": uf.find(doc_id),
            "match": link.match, "similarity": link.similarity, "computed_at": now,
        })
    for doc_id, row in kept.items():
        change: dict[str, Any] = {}
        label = uf.find(doc_id)
        if label != row.cluster_id:
            change["cluster_id"] = label
        link = links.get(doc_id)
        if link is not None and (row.match, row.similarity) != (link.match, link.similarity) and row.match != "exact":
            change.update(match=link.match, similarity=link.similarity)
        if change:
            updates.append({"document_id": doc_id, "cluster_id": label, **change})
    session.flush()
    if inserts:
        session.execute(insert(DocumentFingerprint), inserts)
    if updates:  # ORM bulk UPDATE by primary key (executemany)
        session.execute(update(DocumentFingerprint), updates)
    return report


def _signatures_of(session: Session, todo: list[int], docs: Mapping[int, str | None],
                   given: Mapping[int, tuple[str | None, np.ndarray]], cfg: DedupConfig,
                   report: DedupReport) -> tuple[dict[int, np.ndarray], set[int]]:
    """The signatures of the documents ``todo`` (those ``given`` for their current text, the others
    hashed from their text, :func:`signature`) and the blank documents among all short ones."""
    sigs: dict[int, np.ndarray] = {}
    for doc_id in todo:
        sha_sig = given.get(doc_id)
        if sha_sig is not None and sha_sig[0] == docs[doc_id]:
            sigs[doc_id] = sha_sig[1]
    blank: set[int] = set()
    for doc_id, text in _texts(session, [d for d in todo if d not in sigs]):
        if not text.strip():
            blank.add(doc_id)
        sig = signature(text, cfg)
        if sig is None:
            report.too_short += 1
        else:
            sigs[doc_id] = sig
    short = session.execute(select(Document.id, Document.text).where(func.length(Document.text) < cfg.min_chars))
    blank |= {doc_id for doc_id, text in short if not text.strip()}
    return sigs, blank


def _stored_signatures(session: Session, kept: Mapping[int, Any], cfg: DedupConfig,
                       chunk: int = 5000) -> tuple[np.ndarray, np.ndarray]:
    """The stored signatures of the documents ``kept`` (computed with ``cfg``'s parameters) as
    (ids, one row each), read in chunks straight into arrays."""
    fp_ = DocumentFingerprint
    query = (select(fp_.document_id, fp_.minhash).where(fp_.minhash.is_not(None), fp_.params == cfg.params)
             .order_by(fp_.document_id).execution_options(yield_per=chunk))
    ids: list[np.ndarray] = []
    rows: list[np.ndarray] = []
    for part in session.execute(query).partitions():
        wanted = [(doc_id, raw) for doc_id, raw in part if doc_id in kept]
        if wanted:
            ids.append(np.array([doc_id for doc_id, _ in wanted], dtype=np.int64))
            raw = b"".join(bytes(r) for _, r in wanted)
            rows.append(_from_bytes(raw).reshape(len(wanted), cfg.num_perm))
    if not ids:
        return np.zeros(0, dtype=np.int64), np.zeros((0, cfg.num_perm), dtype=np.uint32)
    return np.concatenate(ids), np.concatenate(rows)


def _reform(members: list[int], sigset: SignatureSet, stored: Mapping[int, Any],
            blank: set[int]) -> list[list[int]]:
    """Connected components of ``members`` by their own exact and near links."""
    uf = _UnionFind()
    for i, a in enumerate(members):
        uf.find(a)
        for b in members[i + 1 :]:
            linked = stored[a].content_sha256 == stored[b].content_sha256 and a not in blank
            if not linked and a in sigset and b in sigset:
                sim = sigset.similarity(a, b)
                linked = sim is not None and sim >= sigset.config.threshold
            if linked:
                uf.union(a, b)
    groups: dict[int, list[int]] = defaultdict(list)
    for m in members:
        groups[uf.find(m)].append(m)
    return list(groups.values())


def _texts(session: Session, ids: list[int]) -> Iterator[tuple[int, str]]:
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        yield from session.execute(select(Document.id, Document.text).where(Document.id.in_(chunk))).all()


def clusters_of(session: Session) -> dict[int, list[int]]:
    """Every duplicate cluster with more than one document: cluster id -> member document ids."""
    groups: dict[int, list[int]] = defaultdict(list)
    for doc_id, label in session.execute(
        select(DocumentFingerprint.document_id, DocumentFingerprint.cluster_id).order_by(DocumentFingerprint.document_id)
    ):
        groups[label].append(doc_id)
    return {label: ids for label, ids in sorted(groups.items()) if len(ids) > 1}


#: Reports of one story (a release, its filing, the media rewrites) are published within this many
#: days of each other (in the demo world's truth every story's reports fall within 6 days).
STORY_DAYS = 7


def story_clusters(session: Session) -> dict[int, int]:
    """Every document -> its story cluster (the smallest document id of the cluster).

    A *story* is one piece of news however many times it is published: the documents of a
    duplicate cluster (copies of one text, :func:`assign_clusters`) that report the same news
    (near-identical announcements of one template about different cooperations are not one
    story), and the documents that report exactly the same set of news cooperations — a firm's press release, its exchange
    filing and the media rewrites of one signing, whose texts differ too much to be near
    duplicates. The news of a document are the events it mentions of its own publication year
    or later, and the events whose end it announces (``terminated_on`` its publication date),
    the end being news of its own; an earlier event it recalls as background does not make two
    documents one story. Reports of one story appear within days of each other: documents with
    the same news join when each was published within :data:`STORY_DAYS` of the one before it (an
    event is a pair and a year, so a pair's signing in February and its tender award in April are
    one event but two stories). Documents without news cooperations join
    a story only through their text. Read-only; what the review queue and the benchmark
    (``benchmarks/bench_etl.py``, duplicate-document F1) see.
    """
    published = dict(session.execute(select(Document.id, Document.published_on)).all())
    news: dict[int, set[tuple[int, bool]]] = defaultdict(set)
    for doc_id, event_id, year, ended in session.execute(
        select(Mention.document_id, Mention.event_id, CooperationEvent.year, CooperationEvent.terminated_on).join(
            CooperationEvent, CooperationEvent.id == Mention.event_id)
    ):
        day = published.get(doc_id)
        if day is None or year >= day.year or ended == day:
            news[doc_id].add((event_id, ended is not None and ended == day))  # (event, reports its end)
    uf = _UnionFind()
    first: dict[tuple[object, frozenset[tuple[int, bool]]], int] = {}
    for doc_id, label in session.execute(select(DocumentFingerprint.document_id, DocumentFingerprint.cluster_id)):
        if doc_id in published:  # copies of one text, unless they report different news (one template)
            key = (label, frozenset(news.get(doc_id, ())))
            uf.union(doc_id, first.setdefault(key, doc_id))
    by_news: dict[frozenset[tuple[int, bool]], list[int]] = defaultdict(list)
    for doc_id in sorted(news):
        by_news[frozenset(news[doc_id])].append(doc_id)
    for members in by_news.values():  # the same news, published within STORY_DAYS of the previous report
        members.sort(key=lambda d: (published[d] or dt.date.min, d))
        for before, after in zip(members, members[1:], strict=False):
            day, next_day = published[before], published[after]
            if day is None or next_day is None or (next_day - day).days <= STORY_DAYS:
                uf.union(before, after)
    for doc_id in published:
        uf.find(doc_id)
    return {doc_id: uf.find(doc_id) for doc_id in sorted(published)}
