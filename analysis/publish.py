"""Publishing an edition's report bundle: the manifest, the ``LATEST`` pointer.

:func:`publish_bundle` writes ``MANIFEST.json`` into the bundle directory — every file with its
size and SHA-256, the data cut-off, the refresh's step records, the data-quality gate's verdict
and any override with its reason — and points ``<out>/LATEST`` at the newest published edition
(an older edition published again leaves it alone). The manifest also carries the report's front
page (``front_page``: the same block report.html opens with, read from ``front_page.json``) and
``related``: the competitiveness index files (``index/``), the comparison with the published
edition (``compare.*``, ``consistency.csv``) and the network files (Gephi, Excel) present in the
bundle. What the next edition's gate compares with
(the sample firms with relations, :func:`analysis.quality.firms_with_relations`) is recorded by
the caller in the ``publish`` step (:func:`flows.refresh.publish_flow`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from db.runs import Step

MANIFEST = "MANIFEST.json"
FRONT_PAGE = "front_page.json"
#: Related outputs listed in the manifest: (group, glob patterns relative to the bundle).
RELATED = (("index", ("index/*.md", "index/*.csv", "index/*.xlsx")),
           ("comparison", ("compare.md", "compare.csv", "consistency.csv")),
           ("network", ("network.xlsx", "edges.csv", "nodes.csv", "gexf/fig13_network.gexf",
                        "charts/fig13_network_hires.png", "charts/fig13_network.svg")))
LATEST = "LATEST"


class PublishError(RuntimeError):
    """The directory holds no report bundle."""


@dataclass(frozen=True)
class Published:
    """What :func:`publish_bundle` wrote: the manifest and the files it lists."""

    manifest: Path
    files: list[Path]


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def gate_verdict(gate: Step | None) -> dict[str, Any] | None:
    """The manifest's ``gate`` entry from the edition's completed gate step (None without one)."""
    if gate is None:
        return None
    return {"passed": gate.counts.get("passed"), "overridden": gate.counts.get("overridden"),
            "failed": gate.counts.get("failed"), "overrides": gate.counts.get("overrides")}


def build_manifest(bundle: Path, files: Sequence[Path], *, edition: int, cutoff_date: dt.date,
                   published_at: dt.datetime, database: str, steps: Sequence[Step],
                   gate: Step | None) -> dict[str, Any]:
    """The manifest of ``bundle`` (``database``: the URL with the password hidden)."""
    by_step: Mapping[str, Any] = {s.step: {"id": s.id, "state": s.state,
                                           "finished_at": s.finished_at.isoformat() if s.finished_at else None}
                                  for s in steps}
    front_file = bundle / FRONT_PAGE
    front = json.loads(front_file.read_text(encoding="utf-8")) if front_file.exists() else None
    related = {group: sorted(p.relative_to(bundle).as_posix() for pattern in patterns for p in bundle.glob(pattern))
               for group, patterns in RELATED}
    return {
        "edition": edition, "cutoff_date": cutoff_date.isoformat(),
        "front_page": front, "related": related,
        "published_at": published_at.isoformat(timespec="seconds"),
        "database": database, "steps": by_step,
        "gate": gate_verdict(gate),
        "files": [{"path": p.relative_to(bundle).as_posix(), "bytes": p.stat().st_size, "sha256": file_sha256(p)}
                  for p in files],
    }


def point_latest(root: Path, edition: int) -> bool:
    """Point ``root/LATEST`` at ``edition`` unless it names a newer one; return whether it was written."""
    latest = root / LATEST
    text = latest.read_text().strip() if latest.exists() else ""
    current = int(text) if text.isdigit() else 0
    if edition < current:
        return False
    latest.write_text(f"{edition}\n", encoding="utf-8")
    return True


def publish_bundle(bundle: Path, *, edition: int, cutoff_date: dt.date, published_at: dt.datetime, database: str,
                   steps: Sequence[Step], gate: Step | None) -> Published:
    """Write ``MANIFEST.json`` into ``bundle`` and point ``LATEST`` beside it (see the module docstring)."""
    bundle = Path(bundle)
    if not (bundle / "report.md").exists() and not (bundle / "table1.csv").exists():
        raise PublishError(f"{bundle} holds no report bundle")
    files = sorted(p for p in bundle.rglob("*") if p.is_file() and p.name != MANIFEST)
    manifest = build_manifest(bundle, files, edition=edition, cutoff_date=cutoff_date, published_at=published_at,
                              database=database, steps=steps, gate=gate)
    path = bundle / MANIFEST
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    point_latest(bundle.parent, edition)
    return Published(path, files)
