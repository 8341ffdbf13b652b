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
    Candidates come from LSH banding (Indyk & Motwani 1998; datasketch ``MinHashLSH``) over the
    signatures with common components replaced by per-document values, at ``lsh_threshold``,
    and are confirmed by the similarity.

Incremental: :func:`assign_clusters` fingerprints new and changed documents only and compares
them with the index of the stored signatures (rebuilt from ``document_fingerprints``, no text
read again); a changed document first leaves its cluster, whose other members are re-clustered
among themselves. Which values are common is computed afresh at each run from every stored
signature; ``rebuild=True`` re-clusters everything under the current statistics.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from datasketch import LeanMinHash, MinHash, MinHashLSH
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from db.models import Document, DocumentFingerprint, utcnow

CONFIG_FILE = Path(__file__).resolve().parent / "data" / "dedup.yml"
SCHEME = "affine32"
_NON_WORD = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class DedupConfig:
    """Parameters of duplicate detection (``etl/data/dedup.yml`` documents each)."""

    version: int
    shingle: int
    num_perm: int
    seed: int
    threshold: float
    lsh_threshold: float
    min_informative: int
    common_min_df: int
    common_share: float
    min_chars: int

    @property
    def params(self) -> str:
        """How a stored signature was computed; a signature with other params is recomputed."""
        return f"minhash-{SCHEME}-p{self.num_perm}-s{self.seed}-k{self.shingle}-c{self.min_chars}"


@lru_cache(maxsize=4)
def load_config(path: Path = CONFIG_FILE) -> DedupConfig:
    """Read and check ``etl/data/dedup.yml``."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    try:
        cfg = DedupConfig(
            version=int(raw["version"]), shingle=int(raw["shingle"]), num_perm=int(raw["num_perm"]),
            seed=int(raw["seed"]), threshold=float(raw["threshold"]), lsh_threshold=float(raw["lsh_threshold"]),
            min_informative=int(raw["min_informative"]), common_min_df=int(raw["common_min_df"]),
            common_share=float(raw["common_share"]), min_chars=int(raw["min_chars"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: missing or malformed setting: {exc}") from exc
    if not (0 < cfg.lsh_threshold <= cfg.threshold <= 1) or cfg.shingle < 1 or cfg.num_perm < 16:
        raise ValueError(f"{path}: need 0 < lsh_threshold <= threshold <= 1, shingle >= 1, num_perm >= 16")
    if not 0 < cfg.min_informative <= cfg.num_perm or cfg.common_min_df < 2:
        raise ValueError(f"{path}: need 0 < min_informative <= num_perm and common_min_df >= 2")
    return cfg


@lru_cache(maxsize=1)
def _t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def normalise_text(text: str) -> str:
    """NFKC, traditional -> simplified, case-folded, letters and digits only."""
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
    """MinHash signature (``num_perm`` uint32) of a text; ``None`` below ``min_chars`` normalised characters."""
    cfg = config or load_config()
    norm = normalise_text(text)
    if len(norm) < cfg.min_chars:
        return None
    mh = MinHash(num_perm=cfg.num_perm, seed=cfg.seed, scheme=SCHEME, permutations=_permutations(cfg.num_perm, cfg.seed))
    mh.update_batch([s.encode("utf-8") for s in shingles(norm, cfg.shingle)])
    return np.asarray(mh.hashvalues, dtype=np.uint32)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Plain MinHash estimate of the Jaccard similarity: the share of equal components."""
    return float(np.count_nonzero(a == b)) / len(a)


def _to_bytes(sig: np.ndarray) -> bytes:
    return sig.astype("<u4").tobytes()


def _from_bytes(raw: bytes) -> np.ndarray:
    return np.frombuffer(raw, dtype="<u4").astype(np.uint32)


class SignatureSet:
    """The signatures of a corpus with their common (boilerplate) components marked."""

    def __init__(self, signatures: Mapping[int, np.ndarray], config: DedupConfig) -> None:
        self.config = config
        self.ids = sorted(signatures)
        self._row = {doc_id: i for i, doc_id in enumerate(self.ids)}
        n = len(self.ids)
        self.matrix = (np.stack([signatures[d] for d in self.ids]) if n
                       else np.zeros((0, config.num_perm), dtype=np.uint32))
        self.common_df = max(config.common_min_df, math.ceil(config.common_share * n))
        self.common = np.zeros(self.matrix.shape, dtype=bool)
        for col in range(self.matrix.shape[1]):
            _, inverse, counts = np.unique(self.matrix[:, col], return_inverse=True, return_counts=True)
            self.common[:, col] = counts[inverse] >= self.common_df

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._row

    def similarity(self, a: int, b: int) -> float | None:
        """Similarity of two documents (module docstring); ``None`` when not comparable."""
        ra, rb = self._row[a], self._row[b]
        equal = self.matrix[ra] == self.matrix[rb]
        common_a, common_b = self.common[ra], self.common[rb]
        informative = np.where(equal, ~common_a, ~(common_a & common_b))
        n = int(np.count_nonzero(informative))
        if n < self.config.min_informative:
            return None
        return int(np.count_nonzero(equal & ~common_a)) / n

    def masked(self, doc_id: int) -> np.ndarray:
        """The signature with common components replaced by values private to the document."""
        row = self._row[doc_id]
        sig = self.matrix[row].copy()
        mask = self.common[row]
        if mask.any():
            private = (np.uint64(doc_id) * np.uint64(2654435761) + np.arange(len(sig), dtype=np.uint64)) | np.uint64(1 << 32)
            sig[mask] = (private % np.uint64(4294967291)).astype(np.uint32)[mask]
        return sig


class DuplicateIndex:
    """LSH over the masked signatures of a :class:`SignatureSet`; :meth:`query` verifies candidates."""

    def __init__(self, sigset: SignatureSet) -> None:
        self.sigset = sigset
        cfg = sigset.config
        self._lsh = MinHashLSH(threshold=cfg.lsh_threshold, num_perm=cfg.num_perm)
        self._seed = cfg.seed
        self._members: set[int] = set()

    def __len__(self) -> int:
        return len(self._members)

    def _lean(self, doc_id: int) -> LeanMinHash:
        return LeanMinHash(seed=self._seed, hashvalues=self.sigset.masked(doc_id), scheme=SCHEME)

    def add(self, doc_id: int) -> None:
        """Index a document of the signature set."""
        if doc_id not in self._members:
            self._lsh.insert(doc_id, self._lean(doc_id))
            self._members.add(doc_id)

    def query(self, doc_id: int) -> list[tuple[int, float]]:
        """Indexed documents with similarity >= threshold to ``doc_id``, most similar first."""
        found = []
        for other in self._lsh.query(self._lean(doc_id)):
            if other == doc_id:
                continue
            sim = self.sigset.similarity(doc_id, other)
            if sim is not None and sim >= self.sigset.config.threshold:
                found.append((other, sim))
        return sorted(found, key=lambda x: (-x[1], x[0]))


@dataclass
class DedupReport:
    """Counts of one clustering run."""

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
    """Cluster labels (smallest member id) with their members."""

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
        target = min(labels)
        for label in labels - {target}:
            for member in list(self.members.pop(label, ())):
                self.put(member, target)
        return target

    def relabel_if_smaller(self, doc_id: int) -> None:
        label = self.label[doc_id]
        if doc_id < label:
            for member in list(self.members.pop(label, ())):
                self.put(member, doc_id)


@dataclass(frozen=True)
class Assignment:
    """A document's cluster: its id, how the document joined (self/exact/near) and the similarity."""

    cluster_id: int
    match: str
    similarity: float | None


def _cluster(
    todo: list[int],
    hashes: Mapping[int, str],
    blank: set[int],
    sigset: SignatureSet,
    clusters: _Clusters,
    indexed: Iterable[int],
    by_hash: dict[str, int],
    report: DedupReport,
    progress: Callable[[int, int], None] | None = None,
) -> dict[int, Assignment]:
    """Assign ``todo`` documents (in id order) to clusters against the already clustered ones."""
    index = DuplicateIndex(sigset)
    for doc_id in indexed:
        if doc_id in sigset:
            index.add(doc_id)
    out: dict[int, Assignment] = {}
    for n, doc_id in enumerate(todo, start=1):
        sha = hashes[doc_id]
        twin = by_hash.get(sha) if doc_id not in blank else None  # empty pages are not copies of each other
        if twin is not None and twin != doc_id:
            clusters.put(doc_id, clusters.label[twin])
            out[doc_id] = Assignment(0, "exact", 1.0)
            report.exact += 1
        else:
            hits = index.query(doc_id) if doc_id in sigset else []
            if hits:
                labels = {clusters.label[h] for h, _ in hits}
                report.clusters_merged += len(labels) - 1
                clusters.put(doc_id, clusters.union(labels))
                out[doc_id] = Assignment(0, "near", round(hits[0][1], 4))
                report.near += 1
            else:
                clusters.put(doc_id, doc_id)
                out[doc_id] = Assignment(0, "self", None)
                report.alone += 1
        clusters.relabel_if_smaller(doc_id)
        if doc_id not in blank:
            by_hash.setdefault(sha, doc_id)
        if doc_id in sigset:
            index.add(doc_id)
        report.fingerprinted += 1
        if progress and (n % 500 == 0 or n == len(todo)):
            progress(n, len(todo))
    return {d: Assignment(clusters.label[d], a.match, a.similarity) for d, a in out.items()}


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
        if sig is None:
            report.too_short += 1
        else:
            sigs[doc_id] = sig
    return _cluster(sorted(hashes), hashes, blank, SignatureSet(sigs, cfg), _Clusters(), (), {}, report)


def assign_clusters(
    session: Session,
    document_ids: Iterable[int] | None = None,
    *,
    rebuild: bool = False,
    config: DedupConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DedupReport:
    """Fingerprint documents and assign their duplicate clusters (``document_fingerprints``).

    Processes ``document_ids`` (default: every document without a current fingerprint — new,
    changed since, or computed with other parameters); ``rebuild`` re-clusters every document.
    A document joins the cluster of an exact copy (same ``content_sha256``, non-empty text) or
    of its most similar near copy; one similar to several clusters merges them. Runs in the
    caller's transaction (flushes, does not commit).
    """
    cfg = config or load_config()
    report = DedupReport()
    if rebuild:
        session.execute(delete(DocumentFingerprint))
    stored = {fp.document_id: fp for fp in session.scalars(select(DocumentFingerprint))}
    docs = dict(session.execute(select(Document.id, Document.content_sha256)).all())
    if document_ids is None:
        todo = sorted(d for d, sha in docs.items()
                      if d not in stored or stored[d].content_sha256 != sha or stored[d].params != cfg.params)
    else:
        todo = sorted(set(document_ids) & set(docs))
    report.unchanged = len(docs) - len(todo)
    todo_set = set(todo)

    texts = _texts(session, todo)
    sigs: dict[int, np.ndarray] = {}
    blank: set[int] = set()
    for doc_id in todo:
        text = texts.get(doc_id, "")
        if not text.strip():
            blank.add(doc_id)
        sig = signature(text, cfg)
        if sig is None:
            report.too_short += 1
        else:
            sigs[doc_id] = sig
    short = session.execute(select(Document.id, Document.text).where(func.length(Document.text) < cfg.min_chars))
    blank |= {doc_id for doc_id, text in short if not text.strip()}
    clusters = _Clusters()
    by_hash: dict[str, int] = {}
    kept: list[int] = []
    for doc_id, fp in sorted(stored.items()):
        if doc_id in todo_set:
            continue
        kept.append(doc_id)
        clusters.put(doc_id, fp.cluster_id)
        if fp.minhash is not None and fp.params == cfg.params:
            sigs[doc_id] = _from_bytes(fp.minhash)
        if doc_id not in blank:
            by_hash.setdefault(fp.content_sha256, doc_id)
    clusters.changed.clear()
    sigset = SignatureSet(sigs, cfg)

    for label in sorted({stored[d].cluster_id for d in todo if d in stored}):  # clusters left by changed docs
        remaining = sorted(clusters.members.get(label, ()))
        if remaining:
            report.clusters_reformed += _reform(clusters, remaining, sigset, stored, blank)

    hashes = {d: docs[d] for d in todo}
    assigned = _cluster(todo, hashes, blank, sigset, clusters, kept, by_hash, report, progress)
    now = utcnow()
    for doc_id in todo:
        a = assigned[doc_id]
        fp = stored.get(doc_id)
        if fp is None:
            fp = DocumentFingerprint(document_id=doc_id)
            session.add(fp)
        sig = sigs.get(doc_id)
        fp.content_sha256 = docs[doc_id]
        fp.params = cfg.params
        fp.minhash = _to_bytes(sig) if sig is not None else None
        fp.cluster_id = clusters.label[doc_id]
        fp.match = a.match
        fp.similarity = a.similarity
        fp.computed_at = now
    for doc_id in sorted(clusters.changed - todo_set):
        session.execute(update(DocumentFingerprint).where(DocumentFingerprint.document_id == doc_id)
                        .values(cluster_id=clusters.label[doc_id]))
    session.flush()
    return report


def _reform(clusters: _Clusters, members: list[int], sigset: SignatureSet,
            stored: Mapping[int, DocumentFingerprint], blank: set[int]) -> int:
    """Re-cluster ``members`` among themselves (connected components); returns the clusters formed."""
    parent = {m: m for m in members}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    threshold = sigset.config.threshold
    for i, a in enumerate(members):
        for b in members[i + 1 :]:
            linked = stored[a].content_sha256 == stored[b].content_sha256 and a not in blank
            if not linked and a in sigset and b in sigset:
                sim = sigset.similarity(a, b)
                linked = sim is not None and sim >= threshold
            if linked:
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
