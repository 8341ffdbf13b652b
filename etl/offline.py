"""``aimap extract``: the extractor on free text, without a database (offline evaluation).

Input lines: ``{"id", "text", "title"?, "published"? (YYYY-MM-DD), "url"?}``. Output lines:
``{"id", "is_cooperation", "relations": [{"a", "b", "direction": "a->b"|"b->a"|"mutual", "year",
"kind", "status"}], "tech_categories", "application_domains", "organisations": [{"name", "role":
"party"|"non_party", "kind", "province"}]}``. Names are written as they appear in the text, in
the longest form the text uses for that organisation; a firm registry (the ``aimap firms
import`` CSV), when given, adds canonical names and known aliases to the seed gazetteer.
Bad input lines are reported with their line number and skipped, never silently.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from etl.extract import Extraction, extract_document
from etl.gazetteer import registry_gazetteer, seed_gazetteer
from etl.lexicon import load_lexicon
from etl.mentions import Gazetteer, OrgRef
from etl.pairs import ExtractionError, extract_with_model


@dataclass
class OfflineReport:
    """Counts of an offline extraction run."""

    documents: int = 0
    relations: int = 0
    bad_lines: int = 0


def build_gazetteer(registry: Path | None = None) -> Gazetteer:
    """Seed gazetteer (+ the registry's firms, which take precedence)."""
    gazetteer = seed_gazetteer()
    if registry is not None:
        registry_gazetteer(registry, gazetteer)
    return gazetteer


def to_record(doc_id: Any, extraction: Extraction) -> dict[str, Any]:
    """The output record of one document (see the module docstring)."""
    longest: dict[str, str] = {}
    kinds: dict[str, str | None] = {}
    provinces: dict[str, str | None] = {}
    for m in extraction.mentions:
        ident = m.identity
        surface = m.surface or m.name
        current = longest.get(ident, "")
        # the longest form, preferring the text's own script (輝達 over NVIDIA in a Chinese text)
        if not current or (current.isascii() and not surface.isascii()) or (
                len(surface) > len(current) and current.isascii() == surface.isascii()):
            longest[ident] = surface
        key = m.key if isinstance(m.key, OrgRef) else None
        kinds.setdefault(ident, (key.kind if key else None) or m.kind)
        provinces.setdefault(ident, key.province if key else None)
    relations = []
    for r in extraction.relations:
        a, b = r.provider.identity, r.receiver.identity
        relations.append({
            "a": longest.get(a, r.provider.surface), "b": longest.get(b, r.receiver.surface),
            "direction": "mutual" if r.direction == "mutual" else "a->b",
            "year": r.year, "kind": r.kind, "status": r.status,
        })
    parties = {r.provider.identity for r in extraction.relations} | {r.receiver.identity for r in extraction.relations}
    organisations = [
        {"name": longest[ident], "role": "party" if ident in parties else "non_party",
         "kind": kinds.get(ident), "province": provinces.get(ident)}
        for ident in sorted(longest, key=lambda i: longest[i])
    ]
    return {
        "id": doc_id,
        "is_cooperation": extraction.is_cooperation,
        "relations": relations,
        "tech_categories": sorted({c for r in extraction.relations for c in r.tech_categories}
                                  | (set(extraction.tech_categories) if extraction.relations else set())),
        "application_domains": sorted({d for r in extraction.relations for d in r.application_domains}
                                      | (set(extraction.application_domains) if extraction.relations else set())),
        "organisations": organisations,
    }


def read_documents(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, document or None, error or None) for every non-empty input line.

    A line that is not UTF-8, not a JSON object, or whose fields have the wrong type (a number as
    ``title``, say) is an error with its reason; the lines after it are still read.
    """
    with Path(path).open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield number, None, f"not UTF-8 (byte {raw[exc.start]:#04x} at column {exc.start + 1})"
                continue
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, None, f"not JSON: {exc.msg}"
                continue
            if not isinstance(doc, dict) or "id" not in doc or not isinstance(doc.get("text"), str):
                yield number, None, "needs an object with 'id' and a string 'text'"
                continue
            wrong = [k for k in ("title", "url") if doc.get(k) is not None and not isinstance(doc[k], str)]
            if wrong:
                yield number, None, f"field '{wrong[0]}' must be a string, got {type(doc[wrong[0]]).__name__}"
                continue
            published = doc.get("published")
            if published:
                try:
                    doc["published"] = dt.date.fromisoformat(str(published)[:10])
                except ValueError:
                    yield number, None, f"field 'published' is not YYYY-MM-DD: {published!r}"
                    continue
            yield number, doc, None


def extract_jsonl(
    in_path: Path, out_path: Path, registry: Path | None = None, errors: list[str] | None = None,
    rules_only: bool = False,
) -> OfflineReport:
    """Run the extractor over a JSONL file of documents and write the JSONL results.

    ``rules_only``: the rule extractor alone, without the pair model (to compare the two). A
    document the extractor cannot read (over :data:`etl.pairs.MAX_DOCUMENT_CHARS`, say) is a bad
    line with its reason, and the run goes on.
    """
    gazetteer = build_gazetteer(registry)
    lexicon = load_lexicon()
    extract = extract_document if rules_only else extract_with_model
    report = OfflineReport()
    with Path(out_path).open("w", encoding="utf-8") as out:
        for number, doc, error in read_documents(in_path):
            if doc is None:
                report.bad_lines += 1
                if errors is not None:
                    errors.append(f"{in_path}:{number}: {error}")
                continue
            try:
                extraction = extract(doc["text"], doc.get("published"), gazetteer, lexicon, doc.get("title"))
            except ExtractionError as exc:
                report.bad_lines += 1
                if errors is not None:
                    errors.append(f"{in_path}:{number}: {exc}")
                continue
            record = to_record(doc["id"], extraction)
            report.documents += 1
            report.relations += len(record["relations"])
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return report
