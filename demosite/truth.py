"""The world model's ground truth as records and files: organisations, events and the events CSV.

:func:`write_truth` writes ``organisations.jsonl``, ``events.jsonl`` and ``events.csv`` of a
:class:`~demosite.model.World` (the model's view; :func:`demosite.render.render_site` writes the
rendered site's truth, which adds what the pages show).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from db.taxonomy import load_industry_divisions
from demosite.model import World

#: Columns of the model's events CSV (``urls`` is filled by the renderer when it knows them).
EVENT_CSV_COLUMNS: tuple[str, ...] = (
    "event_id",
    "provider",
    "receiver",
    "direction",
    "kind",
    "status",
    "terminated_on",
    "year",
    "date",
    "tech",
    "domain",
    "provider_kind",
    "receiver_kind",
    "group_id",
    "witnesses",
    "reporters",
    "urls",
)
LIST_SEPARATOR = ";"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value


#: The ``organisations.kind`` the database accepts (db.models.ORG_KINDS) for the model's finer kinds.
DB_KINDS: dict[str, str] = {"automaker": "firm", "manufacturer": "firm", "financial": "other", "sample_firm": "firm"}


def organisation_records(world: World) -> list[dict[str, Any]]:
    """Every organisation (sample firms, then relation nodes) with its names and attributes.

    Each record: ``id``, ``name``, ``is_sample``, ``kind`` ("sample_firm" or a relation kind),
    ``db_kind`` (the database's coarser kind, :data:`DB_KINDS`),
    ``aliases`` (every other name: short, stock short, English, former names, aliases), province,
    city, ``district_code``, ``industry_division`` with its GB/T 4754 section and three-sector
    assignment, ``uscc`` and, for sample firms, the firm attributes of :class:`Firm`.
    """
    divisions = {d.code: d for d in load_industry_divisions()}
    out: list[dict[str, Any]] = []
    for f in world.firms:
        rec = {k: _jsonable(v) for k, v in dataclasses.asdict(f).items()}
        div = divisions[f.industry_division]
        rec |= {"is_sample": True, "kind": "sample_firm", "db_kind": "firm", "aliases": list(f.names[1:]),
                "industry_section": div.section_code, "sector": div.sector}
        out.append(rec)
    for p in world.partners:
        rec = {k: _jsonable(v) for k, v in dataclasses.asdict(p).items()}
        div = divisions[p.industry_division]
        rec |= {"is_sample": False, "db_kind": DB_KINDS.get(p.kind, p.kind), "aliases": list(p.names[1:]),
                "industry_section": div.section_code, "sector": div.sector}
        out.append(rec)
    return out


def event_records(world: World, urls: Mapping[str, Sequence[str]] | None = None) -> list[dict[str, Any]]:
    """Every event with parties, direction, kind, status, dates, categories, group, witnesses, reporters.

    ``urls`` (event id -> document paths), when given, is added as ``urls``.
    """
    kinds = {p.name: p.kind for p in world.partners} | {f.name: "sample" for f in world.firms}
    out = []
    for e in world.events:
        rec = {k: _jsonable(v) for k, v in dataclasses.asdict(e).items()}
        rec |= {"reporters": list(e.reporters), "provider_kind": kinds[e.provider], "receiver_kind": kinds[e.receiver]}
        if urls is not None:
            rec["urls"] = sorted(urls.get(e.id, ()))
        out.append(rec)
    return out


def event_rows(world: World, urls: Mapping[str, Sequence[str]] | None = None) -> list[list[str]]:
    """The rows of the events CSV (columns :data:`EVENT_CSV_COLUMNS`), one per event."""
    rows = []
    for r in event_records(world, urls):
        rows.append([
            r["id"], r["provider"], r["receiver"], r["direction"], r["kind"], r["status"], r["terminated_on"] or "",
            str(r["year"]), r["date"], r["tech"], r["domain"], r["provider_kind"], r["receiver_kind"],
            r["group_id"] or "", LIST_SEPARATOR.join(r["witnesses"]), LIST_SEPARATOR.join(r["reporters"]),
            LIST_SEPARATOR.join(r.get("urls", ())),
        ])
    return rows


def write_truth(world: World, directory: Path, urls: Mapping[str, Sequence[str]] | None = None) -> list[Path]:
    """Write ``organisations.jsonl``, ``events.jsonl`` and ``events.csv`` of the model to ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    orgs = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in organisation_records(world))
    events = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in event_records(world, urls))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(EVENT_CSV_COLUMNS)
    writer.writerows(event_rows(world, urls))
    for name, text in (("organisations.jsonl", orgs), ("events.jsonl", events), ("events.csv", buf.getvalue())):
        path = directory / name
        path.write_text(text, encoding="utf-8", newline="\n")
        files.append(path)
    return files
