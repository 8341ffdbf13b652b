"""Exact and near-duplicate documents: content hash, MinHash + LSH over character shingles.

A duplicate cluster groups the documents that carry the same text: the same extracted-text
hash (``documents.content_sha256``: exact copies) or an estimated Jaccard similarity of their
character-shingle sets of at least ``threshold`` (near copies: a syndicated article with
another intro line, a few words changed, a traditional-Chinese edition). Clusters are the
connected components of that relation and are identified by their smallest document id
(``document_fingerprints.cluster_id``).

Duplicates are a *signal*, not a deletion: every document stays, and the ETL still stores each
cooperation once with every reporting document as a mention. Copies of one event written
independently on different sites are not near duplicates (their texts differ) — event
deduplication is the loader's job.

Definitions
    normalised text: NFKC, OpenCC t2s, case-folded, only letters and digits kept (so spacing,
    punctuation, full-width forms and the script do not matter).
    shingles S(d): the set of substrings of ``shingle`` characters of the normalised text.
    Jaccard J(a, b) = |S(a) ∩ S(b)| / |S(a) ∪ S(b)|, estimated by the share of equal
    components of two MinHash signatures of ``num_perm`` permutations (Broder, "On the
    resemblance and containment of documents", 1997); candidate pairs come from LSH banding
    (Indyk & Motwani 1998; datasketch's ``MinHashLSH`` picks bands x rows for the threshold)
    and are confirmed by the estimate. Parameters live in ``etl/data/dedup.yml``.

Incremental: :func:`assign_clusters` fingerprints new and changed documents only, compares
them with the index of the stored signatures (rebuilt from ``document_fingerprints`` without
reading texts again) and re-forms the clusters a changed document leaves.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from datasketch import LeanMinHash, MinHash, MinHashLSH
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from db.models import Document, DocumentFingerprint, utcnow

CONFIG_FILE = Path(__file__).resolve().parent / "data" / "dedup.yml"
SCHEME = "affine32"
_NON_WORD = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class DedupConfig:
    """Shingle size, signature length, seed, similarity threshold (``etl/data/dedup.yml``)."""

    version: int
    shingle: int
    num_perm: int
    seed: int
    threshold: float
    min_chars: int

    @property
    def params(self) -> str:
        """How a stored signature was computed; a signature with other params is recomputed."""
        return f"minhash-{SCHEME}-p{self.num_perm}-s{self.seed}-k{self.shingle}-v{self.version}"


@lru_cache(maxsize=4)
def load_config(path: Path = CONFIG_FILE) -> DedupConfig:
    """Read and check ``etl/data/dedup.yml``."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    try:
        cfg = DedupConfig(int(raw["version"]), int(raw["shingle"]), int(raw["num_perm"]), int(raw["seed"]),
                          float(raw["threshold"]), int(raw["min_chars"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: missing or malformed setting: {exc}") from exc
    if not 0 < cfg.threshold <= 1 or cfg.shingle < 1 or cfg.num_perm < 16:
        raise ValueError(f"{path}: need 0 < threshold <= 1, shingle >= 1, num_perm >= 16")
    return cfg


@lru_cache(maxsize=1)
def _t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def normalise_text(text: str) -> str:
    """NFKC, traditional -> simplified, case-folded, letters and digits only (see module docstring)."""
    folded = _t2s().convert(unicodedata.normalize("NFKC", text)).casefold()
    return _NON_WORD.sub("", folded)


def shingles(text: str, k: int) -> set[str]:
    """Character k-shingles of an already normalised text (the whole text when shorter than k)."""
    if len(text) <= k:
        return {text} if text else set()
    return {text[i : i + k] for i in range(len(text) - k + 1)}


@lru_cache(maxsize=4)
def _permutations(num_perm: int, seed: int) -> Any:
    return MinHash(num_perm=num_perm, seed=seed, scheme=SCHEME).permutations


def signature(text: str, config: DedupConfig | None = None) -> np.ndarray | None:
    """MinHash signature (``num_perm`` uint32) of a text, or ``None`` if it is shorter than ``min_chars``."""
    cfg = config or load_config()
    norm = normalise_text(text)
    if len(norm) < cfg.min_chars:
        return None
    mh = MinHash(num_perm=cfg.num_perm, seed=cfg.seed, scheme=SCHEME,
                 permutations=_permutations(cfg.num_perm, cfg.seed))
    mh.update_batch(s.encode("utf-8") for s in shingles(norm, cfg.shingle))
    return np.asarray(mh.hashvalues, dtype=np.uint32)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """MinHash estimate of the Jaccard similarity: the share of equal signature components."""
    return float(np.count_nonzero(a == b)) / len(a)


def _to_bytes(sig: np.ndarray) -> bytes:
    return sig.astype("<u4").tobytes()


def _from_bytes(raw: bytes) -> np.ndarray:
    return np.frombuffer(raw, dtype="<u4").astype(np.uint32)


class DuplicateIndex:
    """In-memory LSH index over signatures; :meth:`query` confirms candidates by the estimate."""

    def __init__(self, config: DedupConfig | None = None) -> None:
        self.config = config or load_config()
        self._lsh = MinHashLSH(threshold=self.config.threshold, num_perm=self.config.num_perm)
        self._sigs: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._sigs)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._sigs

    def add(self, doc_id: int, sig: np.ndarray) -> None:
        """Index a document's signature (replacing an earlier one)."""
        if doc_id in self._sigs:
            self.remove(doc_id)
        self._sigs[doc_id] = sig
        self._lsh.insert(doc_id, LeanMinHash(seed=self.config.seed, hashvalues=sig, scheme=SCHEME))

    def remove(self, doc_id: int) -> None:
        """Drop a document from the index."""
        if self._sigs.pop(doc_id, None) is not None:
            self._lsh.remove(doc_id)

    def query(self, sig: np.ndarray) -> list[tuple[int, float]]:
        """Indexed documents whose estimated Jaccard with ``sig`` is >= threshold, most similar first."""
        found = []
        for doc_id in self._lsh.query(LeanMinHash(seed=self.config.seed, hashvalues=sig, scheme=SCHEME)):
            j = jaccard(sig, self._sigs[doc_id])
            if j >= self.config.threshold:
                found.append((doc_id, j))
        return sorted(found, key=lambda x: (-x[1], x[0]))


@dataclass
class DedupReport:
    """Counts of one :func:`assign_clusters` run."""

    fingerprinted: int = 0
    unchanged: int = 0
    exact: int = 0
    near: int = 0
    alone: int = 0
    too_short: int = 0
    clusters_merged: int = 0
    clusters_reformed: int = 0

    def as_dict(self) -> dict[str, int]:
        """Plain counts (run records, CLI)."""
        return dict(self.__dict__)


class _Clusters:
    """Cluster labels (smallest member id) with their members, kept in memory during a run."""

    def __init__(self) -> None:
        self.label: dict[int, int] = {}
        self.members: dict[int, set[int]] = defaultdict(set)
        self.changed: set[int] = set()

    def put(self, doc_id: int, label: int) -> None:
        old = self.label.get(doc_id)
        if old is not None:
            self.members[old].discard(doc_id)
        self.label[doc_id] = label
        self.members[label].add(doc_id)
        self.changed.add(doc_id)

    def union(self, labels: set[int]) -> int:
        """Merge clusters into the one with the smallest label; returns it."""
        target = min(labels)
        for label in labels - {target}:
            for member in list(self.members.pop(label, ())):
                self.put(member, target)
        return target

    def relabel_if_smaller(self, doc_id: int) -> None:
        """Keep the invariant label = smallest member id after ``doc_id`` joined."""
        label = self.label[doc_id]
        if doc_id < label:
            for member in list(self.members.pop(label, ())):
                self.put(member, doc_id)


def assign_clusters(
    session: Session,
    document_ids: Iterable[int] | None = None,
    *,
    rebuild: bool = False,
    config: DedupConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DedupReport:
    """Fingerprint documents and assign their duplicate clusters (stored in ``document_fingerprints``).

    Processes ``document_ids`` (default: every document without a current fingerprint — new,
    changed since, or computed with other parameters); ``rebuild`` recomputes every cluster.
    New documents join the cluster of an exact copy (same ``content_sha256``) or of the most
    similar near copy; a document similar to several clusters merges them. A changed document
    first leaves its cluster, whose other members are re-clustered among themselves. Runs in
    the caller's transaction (flushes, does not commit).
    """
    cfg = config or load_config()
    report = DedupReport()
    if rebuild:
        session.execute(delete(DocumentFingerprint))
    stored = {fp.document_id: fp for fp in session.scalars(select(DocumentFingerprint))}
    docs = dict(session.execute(select(Document.id, Document.content_sha256)).all())
    for doc_id in [d for d in stored if d not in docs]:  # documents gone since
        session.delete(stored.pop(doc_id))
    if document_ids is None:
        todo = sorted(d for d, sha in docs.items()
                      if d not in stored or stored[d].content_sha256 != sha or stored[d].params != cfg.params)
    else:
        todo = sorted(set(document_ids) & set(docs))
    report.unchanged = len(docs) - len(todo)
    todo_set = set(todo)

    clusters = _Clusters()
    index = DuplicateIndex(cfg)
    by_hash: dict[str, int] = {}
    sigs: dict[int, np.ndarray | None] = {}
    for doc_id, fp in sorted(stored.items()):
        if doc_id in todo_set:
            continue
        clusters.put(doc_id, fp.cluster_id)
        sig = _from_bytes(fp.minhash) if fp.minhash is not None and fp.params == cfg.params else None
        sigs[doc_id] = sig
        if sig is not None:
            index.add(doc_id, sig)
        by_hash.setdefault(fp.content_sha256, doc_id)
    clusters.changed.clear()

    # Clusters that lose a re-processed member are re-formed among their remaining members.
    left_behind = {stored[d].cluster_id for d in todo if d in stored}
    for label in sorted(left_behind):
        remaining = sorted(clusters.members.get(label, ()))
        if remaining:
            report.clusters_reformed += _reform(clusters, remaining, sigs, stored, cfg)

    texts = _texts(session, todo)
    similarity: dict[int, tuple[str, float | None]] = {}
    for n, doc_id in enumerate(todo, start=1):
        sha = docs[doc_id]
        text = texts.get(doc_id, "")
        sig = signature(text, cfg)
        sigs[doc_id] = sig
        if sig is None:
            report.too_short += 1
        twin = by_hash.get(sha) if text.strip() else None  # empty pages are not copies of each other
        if twin is not None and twin != doc_id:
            clusters.put(doc_id, clusters.label[twin])
            similarity[doc_id] = ("exact", 1.0)
            report.exact += 1
        else:
            hits = index.query(sig) if sig is not None else []
            if hits:
                labels = {clusters.label[h] for h, _ in hits}
                if len(labels) > 1:
                    report.clusters_merged += len(labels) - 1
                clusters.put(doc_id, clusters.union(labels))
                similarity[doc_id] = ("near", round(hits[0][1], 4))
                report.near += 1
            else:
                clusters.put(doc_id, doc_id)
                similarity[doc_id] = ("self", None)
                report.alone += 1
        clusters.relabel_if_smaller(doc_id)
        if text.strip():
            by_hash.setdefault(sha, doc_id)
        if sig is not None:
            index.add(doc_id, sig)
        report.fingerprinted += 1
        if progress and (n % 500 == 0 or n == len(todo)):
            progress(n, len(todo))

    now = utcnow()
    for doc_id in todo:
        match, sim = similarity[doc_id]
        sig = sigs[doc_id]
        fp = stored.get(doc_id)
        if fp is None:
            fp = DocumentFingerprint(document_id=doc_id)
            session.add(fp)
        fp.content_sha256 = docs[doc_id]
        fp.params = cfg.params
        fp.minhash = _to_bytes(sig) if sig is not None else None
        fp.cluster_id = clusters.label[doc_id]
        fp.match = match
        fp.similarity = sim
        fp.computed_at = now
    for doc_id in sorted(clusters.changed - todo_set):
        session.execute(update(DocumentFingerprint).where(DocumentFingerprint.document_id == doc_id)
                        .values(cluster_id=clusters.label[doc_id]))
    session.flush()
    return report


def _reform(clusters: _Clusters, members: list[int], sigs: dict[int, np.ndarray | None],
            stored: dict[int, DocumentFingerprint], cfg: DedupConfig) -> int:
    """Re-cluster ``members`` among themselves (connected components); returns the clusters formed."""
    parent = {m: m for m in members}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, a in enumerate(members):
        for b in members[i + 1 :]:
            same_hash = stored[a].content_sha256 == stored[b].content_sha256
            sa, sb = sigs.get(a), sigs.get(b)
            if same_hash or (sa is not None and sb is not None and jaccard(sa, sb) >= cfg.threshold):
                ra, rb = find(a), find(b)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
    roots = {m: find(m) for m in members}
    for m, root in roots.items():
        if clusters.label.get(m) != root:
            clusters.put(m, root)
    return len(set(roots.values()))


def _texts(session: Session, ids: list[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        out.update(session.execute(select(Document.id, Document.text).where(Document.id.in_(chunk))).all())
    return out


def clusters_of(session: Session) -> dict[int, list[int]]:
    """Every duplicate cluster with more than one document: cluster id -> member document ids."""
    groups: dict[int, list[int]] = defaultdict(list)
    for doc_id, label in session.execute(
        select(DocumentFingerprint.document_id, DocumentFingerprint.cluster_id).order_by(DocumentFingerprint.document_id)
    ):
        groups[label].append(doc_id)
    return {label: ids for label, ids in sorted(groups.items()) if len(ids) > 1}

