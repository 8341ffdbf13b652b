"""Assemble the real-text corpus: validate the labelled parts, split them once, write dev/test.

Usage: ``python tests/data/realtext/assemble.py`` (from the repository root). Reads
``tests/data/realtext/parts/*.jsonl`` (the documents as labelled, one file per batch of work) and
writes ``dev.jsonl`` and ``test.jsonl`` beside this file.

The split is made by a seeded hash of each document's ``source_url``: a document goes to the
frozen **test** part when ``sha256(SEED + source_url)`` read as an integer, modulo 1000, is below
:data:`TEST_PERMILLE`. It depends on nothing but the address, so adding documents later never
moves an existing one between the parts. Rules, features and thresholds are tuned on ``dev``
only; ``test`` is scored by ``benchmarks/bench_etl.py`` and the floor test, nothing else.

Every document is validated against ``../shared/ANNOTATION.md``'s format (the same checks the
labelling helpers ran): the error names the part, the line and the field; nothing is dropped silently.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SEED = "aimap-realtext-v1"
TEST_PERMILLE = 420
KINDS = {"strategic_agreement", "joint_lab", "product_adoption", "bid_award", "investment",
         "joint_development", "alliance_membership", "other"}
DIRECTIONS = {"a->b", "b->a", "mutual"}
STATUSES = {"new", "historical", "terminated"}
LANGS = {"zh-Hans", "zh-Hant", "en"}
GENRES = {"exchange", "newsroom", "government", "media"}


def _names(file: str, key: str) -> set[str]:
    data = yaml.safe_load((ROOT / "db" / "data" / file).read_text(encoding="utf-8"))
    return {item["name"] for item in data[key]}


def split_of(source_url: str) -> str:
    """``test`` or ``dev``: the seeded hash of the address (see the module docstring)."""
    digest = hashlib.sha256((SEED + source_url).encode("utf-8")).hexdigest()
    return "test" if int(digest, 16) % 1000 < TEST_PERMILLE else "dev"


def validate(doc: dict, where: str, tech: set[str], domains: set[str]) -> list[str]:
    """Every problem of one labelled document, each as ``where: field: reason``."""
    problems: list[str] = []
    text = doc.get("text") or ""
    for field in ("id", "source_url", "text", "gold", "lang", "genre"):
        if not doc.get(field):
            problems.append(f"{where}: {field}: missing")
    if problems:
        return problems
    if doc["lang"] not in LANGS:
        problems.append(f"{where}: lang: {doc['lang']!r} not in {sorted(LANGS)}")
    if doc["genre"] not in GENRES:
        problems.append(f"{where}: genre: {doc['genre']!r} not in {sorted(GENRES)}")
    gold = doc["gold"]
    if gold.get("is_cooperation") != bool(gold.get("relations")):
        problems.append(f"{where}: gold.is_cooperation: must be true iff relations is non-empty")
    if not set(gold.get("tech_categories", [])) <= tech:
        problems.append(f"{where}: gold.tech_categories: unknown {set(gold['tech_categories']) - tech}")
    if not set(gold.get("application_domains", [])) <= domains:
        problems.append(f"{where}: gold.application_domains: unknown {set(gold['application_domains']) - domains}")
    for n, rel in enumerate(gold.get("relations", [])):
        at = f"{where}: gold.relations[{n}]"
        if rel.get("direction") not in DIRECTIONS:
            problems.append(f"{at}.direction: {rel.get('direction')!r}")
        if rel.get("status") not in STATUSES:
            problems.append(f"{at}.status: {rel.get('status')!r}")
        if rel.get("kind") not in KINDS:
            problems.append(f"{at}.kind: {rel.get('kind')!r}")
        if rel.get("year") is not None and not isinstance(rel.get("year"), int):
            problems.append(f"{at}.year: {rel.get('year')!r} is not an integer or null")
        for side in ("a", "b"):
            names = rel.get(f"{side}_names") or []
            if not rel.get(side) or not names:
                problems.append(f"{at}.{side}: missing name or {side}_names")
            problems += [f"{at}.{side}_names: {x!r} does not occur in the text" for x in names if x not in text]
    problems += [f"{where}: gold.non_parties: {x!r} does not occur in the text"
                 for x in gold.get("non_parties", []) if x not in text]
    return problems


def main() -> int:
    tech = _names("tech_categories.yml", "tech_categories")
    domains = _names("application_domains.yml", "application_domains")
    parts: dict[str, list[dict]] = {"dev": [], "test": []}
    seen: dict[str, str] = {}
    problems: list[str] = []
    for path in sorted((HERE / "parts").glob("*.jsonl")):
        for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{path.name}:{line_no}"
            try:
                doc = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"{where}: not JSON: {exc}")
                continue
            found = validate(doc, where, tech, domains)
            url = doc.get("source_url", "")
            if url in seen:
                found.append(f"{where}: source_url: already used by {seen[url]}")
            if found:
                problems += found
                continue
            seen[url] = where
            doc["split"] = split_of(url)
            parts[doc["split"]].append(doc)
    for name, docs in parts.items():
        docs.sort(key=lambda d: d["id"])
        with open(HERE / f"{name}.jsonl", "w", encoding="utf-8") as out:
            for doc in docs:
                out.write(json.dumps(doc, ensure_ascii=False) + "\n")
    for problem in problems:
        print(problem, file=sys.stderr)
    counts = {k: len(v) for k, v in parts.items()}
    print(f"dev {counts['dev']}, test {counts['test']}, rejected {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
