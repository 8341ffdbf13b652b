"""Near-duplicate documents on the demo world: boilerplate-aware MinHash versus plain MinHash LSH.

    .venv/bin/python benchmarks/bench_dedup.py [--preset small] [--seed 7]

Generates the demo world (``small``: ~12,000 documents), takes its documents' texts from the
ground truth and, in the same run:

- ours (:func:`etl.dedup.cluster_texts`: MinHash, common components ignored, exact candidate
  index): time and documents per second, clusters, linked pairs, and how many linked pairs are two
  cooperation announcements of *different* events (different cooperations joined: the error that
  matters) or of the same event; the same counts at thresholds 0.3 and 0.4 (calibration);
- the baseline, plain MinHash with datasketch's ``MinHashLSH`` at the same threshold over the
  same signatures (Jaccard of all shingles): time and the same counts;
- the database path (:func:`etl.dedup.assign_clusters` on SQLite): the first run over every
  document, then an incremental run after 1% new documents (copies of existing ones with another
  first line), and the ratio of the two.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
import tempfile
import time
from collections import Counter
from itertools import combinations
from pathlib import Path

from datasketch import LeanMinHash, MinHashLSH
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from db import migrate  # noqa: E402
from db.models import Document  # noqa: E402
from db.session import make_engine, session_factory  # noqa: E402
from demosite.render import render_site  # noqa: E402
from demosite.world import build_world  # noqa: E402
from etl.dedup import SCHEME, assign_clusters, cluster_texts, load_config, signature  # noqa: E402


def _pairs(labels: dict[int, int]) -> set[tuple[int, int]]:
    groups: dict[int, list[int]] = {}
    for doc, label in labels.items():
        groups.setdefault(label, []).append(doc)
    return {pair for members in groups.values() for pair in combinations(sorted(members), 2)}


def _describe(name: str, pairs: set[tuple[int, int]], events: dict[int, set[str]], seconds: float, n: int) -> None:
    kinds = Counter()
    for a, b in pairs:
        if events[a] and events[b]:
            kinds["same event" if events[a] & events[b] else "different events"] += 1
        else:
            kinds["not both cooperation news"] += 1
    print(f"{name}: {seconds:.2f} s ({n / seconds:,.0f} docs/s), {len(pairs):,} linked pairs: "
          f"{kinds['different events']:,} between announcements of different events, "
          f"{kinds['same event']:,} of the same event, {kinds['not both cooperation news']:,} other")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    cfg = load_config()
    with tempfile.TemporaryDirectory(prefix="aimap-bench-dedup-") as tmp:
        manifest = render_site(build_world(seed=args.seed, preset=args.preset), Path(tmp) / "world")
        truth = [json.loads(line) for line in (manifest.out_dir / "truth" / "documents.jsonl").open(encoding="utf-8")]
        docs = [(i, hashlib.sha256((d.get("text") or "").encode()).hexdigest(), d.get("text") or "")
                for i, d in enumerate(truth, start=1)]
        events = {i: set(d.get("events") or ()) for i, d in enumerate(truth, start=1)}
        print(f"world {args.preset} (seed {args.seed}): {len(docs):,} documents")

        started = time.perf_counter()
        ours = cluster_texts(docs, cfg)
        elapsed = time.perf_counter() - started
        _describe(f"ours (threshold {cfg.threshold})", _pairs({d: a.cluster_id for d, a in ours.items()}), events,
                  elapsed, len(docs))
        for threshold in (0.3, 0.4):
            other = dataclasses.replace(cfg, threshold=threshold)
            started = time.perf_counter()
            labels = {d: a.cluster_id for d, a in cluster_texts(docs, other).items()}
            _describe(f"ours (threshold {threshold})", _pairs(labels), events, time.perf_counter() - started, len(docs))

        started = time.perf_counter()
        lsh = MinHashLSH(threshold=cfg.threshold, num_perm=cfg.num_perm)
        sigs = {}
        for doc_id, _, text in docs:
            sig = signature(text, cfg)
            if sig is not None:
                sigs[doc_id] = LeanMinHash(seed=cfg.seed, hashvalues=sig, scheme=SCHEME)
                lsh.insert(doc_id, sigs[doc_id])
        parent = {d: d for d, _, _ in docs}

        def find(x: int) -> int:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        by_hash: dict[str, int] = {}
        for doc_id, sha, text in docs:
            if text.strip():
                first = by_hash.setdefault(sha, doc_id)
                parent[find(doc_id)] = find(first)
        for doc_id, mh in sigs.items():
            for other_id in lsh.query(mh):
                if other_id != doc_id and mh.jaccard(sigs[other_id]) >= cfg.threshold:
                    a, b = find(doc_id), find(other_id)
                    if a != b:
                        parent[max(a, b)] = min(a, b)
        elapsed = time.perf_counter() - started
        _describe(f"baseline plain MinHash LSH (threshold {cfg.threshold})",
                  _pairs({d: find(d) for d in parent}), events, elapsed, len(docs))

        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        migrate.upgrade(engine)
        session = session_factory(engine)()
        session.execute(insert(Document), [{"id": d, "canonical_url": f"https://bench.test/{d}", "url": f"https://bench.test/{d}",
                                            "content_sha256": sha, "text": text} for d, sha, text in docs])
        session.commit()
        started = time.perf_counter()
        report = assign_clusters(session)
        session.commit()
        full = time.perf_counter() - started
        print(f"assign_clusters, first run: {full:.2f} s for {report.fingerprinted:,} documents "
              f"({report.exact:,} exact, {report.near:,} near, {report.alone:,} alone)")
        extra = []
        for k, (_, _, text) in enumerate(docs[::100]):  # 1% new documents
            copy = "转载：" + text
            extra.append({"id": len(docs) + k + 1, "canonical_url": f"https://copy.test/{k}", "url": f"https://copy.test/{k}",
                          "content_sha256": hashlib.sha256(copy.encode()).hexdigest(), "text": copy})
        session.execute(insert(Document), extra)
        session.commit()
        started = time.perf_counter()
        report = assign_clusters(session)
        session.commit()
        incremental = time.perf_counter() - started
        print(f"assign_clusters, incremental: {incremental:.2f} s for {report.fingerprinted:,} new documents "
              f"({report.near + report.exact:,} linked to a copy) against {report.unchanged:,} stored; "
              f"first run / incremental = {full / incremental:.1f}x")
        session.close()
        engine.dispose()


if __name__ == "__main__":
    main()
