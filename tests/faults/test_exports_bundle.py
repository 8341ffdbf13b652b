"""Issue 14, analysis exports: safe cells, escaped documents, atomic editions, id-independent files.

Runs on a small hostile world (12 organisations, PostgreSQL): names that are spreadsheet formulas
(``=HYPERLINK``, ``@SUM``, ``+86``, ``-2+3``, a leading tab), HTML (``<script>``) and a Markdown
table delimiter (``|``). Its 2023 network has 12 nodes, too few for the power-law fit of Fig. 14.

- **safe exports**: no CSV field or XLSX cell of the bundle starts with ``=``, ``+``, ``-``, ``@``,
  tab or CR unless it is a number; no XLSX cell is a formula; report.html and report.md carry no
  raw tag from the data; a ``|`` in a name does not break a Markdown table; numbers stay numbers;
  the index import rejects are safe too.
- **small networks**: ``aimap analyze`` succeeds and reports the fit as not applicable.
- **atomic editions**: an ``aimap analyze`` killed (SIGKILL) while writing, or failing half-way,
  leaves the previous edition byte for byte as it was; the next run removes the leftover and
  completes; a kill between the two renames gets the previous edition back.
- **stable exports**: the same world inserted in another order, under other organisation and event
  ids, gives byte-identical files wherever no database id is printed, and the same rows in the
  same order (ids mapped to names) where one is; the manifest is identical for the same
  publication time. The tiny demo world, its documents stored and extracted in opposite orders,
  gives byte-identical bundles, manifest included.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import psycopg
import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from aimap.cli import app
from analysis.bundle import write_csv, write_rows_csv, write_xlsx
from analysis.charts import render_chart
from analysis.index_imports import read_imports
from analysis.index_tree import load_tree
from analysis.measures import power_law_fit
from analysis.presentation import Column, Table
from analysis.publish import publish_bundle
from analysis.report import build_report
from analysis.staging import clean_leftovers, staged_directory
from common.tabular import FORMULA_TRIGGERS, safe_cell
from db import migrate
from db.models import (
    Alias,
    CooperationEvent,
    EventApplicationDomain,
    EventTechCategory,
    FirmAttributes,
    Organisation,
)
from db.session import _cached_engine, make_engine, session_factory
from db.taxonomy import sync_taxonomies
from demosite.evaluation import world_documents
from demosite.render import render_site
from demosite.world import build_world as build_demo_world
from etl.load import run_etl
from tests.conftest import create_pg_database, drop_pg_database
from tests.worldeval import store_world_documents

#: (name, kind, is_sample, province, short alias or None); hostile names first.
ORGS = [
    ('=HYPERLINK("http://127.0.0.1/x","点击")', "firm", True, "11", None),
    ("@SUM(1+1)科技有限公司", "firm", True, "44", None),
    ("+86智能有限公司", "firm", True, "31", None),
    ("-2+3 Labs", "firm", True, None, None),
    ("\t=1+2 制表有限公司", "firm", False, "44", None),
    ("<script>alert(1)</script>研究院", "university", False, "11", None),
    ("管道|公司", "firm", False, "44", None),
    ("甲科技股份有限公司", "firm", True, "11", "甲"),
    ("乙电子股份有限公司", "firm", True, "44", "乙|短"),
    ("清华大学", "university", False, "11", None),
    ("英特尔公司", "foreign_firm", False, None, None),
    ("某医院", "hospital", False, "44", None),
]
#: (provider, receiver, year, direction, kind, technology categories, application domains) by ORGS index.
EVENTS = [
    (0, 5, 2021, "directed", "supply", ["big_data_cloud"], ["smart_city"]),
    (0, 1, 2022, "directed", "supply", ["iot"], []),
    (1, 2, 2022, "directed", "procurement", [], []),
    (11, 6, 2022, "directed", "supply", [], []),
    (2, 3, 2023, "directed", "supply", ["ai_chips"], []),
    (3, 4, 2023, "mutual", "strategic", [], []),
    (6, 7, 2023, "directed", "joint_lab", [], []),
    (7, 8, 2023, "directed", "supply", ["iot"], []),
    (8, 9, 2023, "directed", "supply", [], []),
    (9, 10, 2023, "directed", "supply", [], []),
    (10, 11, 2023, "directed", "supply", [], []),
    (7, 0, 2023, "directed", "supply", ["big_data_cloud", "iot"], []),
]
ALL_TRIGGERS = "".join(FORMULA_TRIGGERS)
NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def build_world(session: Session, org_ids: list[int], event_ids: list[int], *, reverse: bool = False) -> None:
    """Insert the hostile world with the given ids (ORGS / EVENTS order), in reverse order if asked."""
    order = list(range(len(ORGS)))[:: -1 if reverse else 1]
    for i in order:
        name, kind, sample, province, _ = ORGS[i]
        session.add(Organisation(id=org_ids[i], name=name, kind=kind, is_sample=sample, province_code=province,
                                 origin="test"))
    session.flush()
    for i in order:
        if ORGS[i][4]:
            session.add(Alias(organisation_id=org_ids[i], name=ORGS[i][4], kind="short"))
        if ORGS[i][2]:
            session.add(FirmAttributes(organisation_id=org_ids[i], founded_on=dt.date(2015 + i, 1, 1),
                                       employees=100 * (i + 1), listed=i % 2 == 0, tech_layer="应用层",
                                       patents=10 * i))
    session.flush()
    for j in list(range(len(EVENTS)))[:: -1 if reverse else 1]:
        p, r, year, direction, kind, _, _ = EVENTS[j]
        session.add(CooperationEvent(id=event_ids[j], event_key=f"e{event_ids[j]}", provider_id=org_ids[p],
                                     receiver_id=org_ids[r], reported_by_id=org_ids[p], kind=kind,
                                     direction=direction, status="active", year=year))
    session.flush()
    for j in list(range(len(EVENTS)))[:: -1 if reverse else 1]:
        *_, techs, domains = EVENTS[j]
        session.add_all([EventTechCategory(event_id=event_ids[j], category_code=c) for c in techs])
        session.add_all([EventApplicationDomain(event_id=event_ids[j], domain_code=c) for c in domains])
    session.commit()


FIRST_IDS = (list(range(1, len(ORGS) + 1)), list(range(1, len(EVENTS) + 1)))


@contextmanager
def pg_session(pg_admin: psycopg.Connection) -> Iterator[tuple[Session, str]]:
    """A session on a throwaway, migrated and seeded PostgreSQL database, and its URL."""
    name, url = create_pg_database(pg_admin)
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        with session_factory(engine)() as session:
            sync_taxonomies(session)
            session.commit()
            yield session, url
    finally:
        engine.dispose()
        _cached_engine.cache_clear()  # the CLI caches engines per URL
        drop_pg_database(pg_admin, name)


def digest(directory: Path) -> dict[str, str]:
    return {p.relative_to(directory).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def unsafe(value: object) -> bool:
    """A text cell a spreadsheet would evaluate as a formula."""
    return isinstance(value, str) and value[:1] in ALL_TRIGGERS and value[:1] != "" and not NUMBER.fullmatch(value)


# --------------------------------------------------------------------------- 1. safe cells, numbers stay numbers


def test_safe_cell_neutralises_formulas_and_keeps_numbers(tmp_path):
    assert [safe_cell(v) for v in ("=1+1", "+86智能", "-2+3", "@SUM(A1)", "\t=x", "\r=x", "ok", "a=b")] == [
        "'=1+1", "'+86智能", "'-2+3", "'@SUM(A1)", "'\t=x", "'\r=x", "ok", "a=b"]
    assert [safe_cell(v) for v in (-3, -0.5, np.int64(-7), "-0.125", "+3", "-1e5")] == [
        -3, -0.5, np.int64(-7), "-0.125", "+3", "-1e5"]
    table = Table("t", "表 =1+1", "Table", [Column("name", "名称"), Column("change", "change", "int"),
                                            Column("share", "share", "pct")],
                  [["=HYPERLINK(\"http://127.0.0.1\")", -3, -1.25], ["-5", 4, 2.0]], ["-note\n-note"])
    rows = list(csv.reader((write_csv(table, tmp_path)).open(encoding="utf-8-sig")))
    assert rows[1] == ["'=HYPERLINK(\"http://127.0.0.1\")", "-3", "-1.25"] and rows[2] == ["-5", "4", "2.00"]
    plain = write_rows_csv(tmp_path / "plain.csv", ["id", "name"], [[-1, "@x"], [2, "-"]])
    assert list(csv.reader(plain.open(encoding="utf-8-sig")))[1:] == [["-1", "'@x"], ["2", "'-"]]
    ws = load_workbook(write_xlsx([table], tmp_path / "t.xlsx", title="=t", when=(2023, 12, 31)))["t"]
    cells = [c for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f" or unsafe(c.value)]
    assert ws["A3"].value == "'=HYPERLINK(\"http://127.0.0.1\")" and ws["B3"].value == -3 and ws["B3"].data_type == "n"


def test_index_import_rejects_are_safe(session, tmp_path):
    """A rejected import row is written back for the analyst to fix: formulas in it neutralised, numbers kept."""
    imports = tmp_path / "imports"
    imports.mkdir()
    with (imports / "p.csv").open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([["indicator", "level", "region", "province", "year", "value", "unit", "source"],
                                  ["ai_policies", "province", '=HYPERLINK("http://127.0.0.1/","x")', "", "2023", "-1",
                                   "", "@source"]])
    result = read_imports(session, imports, load_tree().importable(), skip_bad=True, rejects_dir=tmp_path / "rej")
    rows = list(csv.reader(result.rejects[0].open(encoding="utf-8-sig")))
    assert rows[1][2] == "'=HYPERLINK(\"http://127.0.0.1/\",\"x\")" and rows[1][5] == "-1" and rows[1][7] == "'@source"
    assert not [v for row in rows for v in row if unsafe(v)]


# --------------------------------------------------------------------------- 1 + 4. the CLI on the hostile world


def _check_spreadsheets(bundle: Path) -> None:
    """No unsafe CSV field, no formula and no unsafe text cell in any XLSX of ``bundle``."""
    bad = []
    for path in sorted(bundle.rglob("*.csv")):
        for n, row in enumerate(csv.reader(path.open(encoding="utf-8-sig", newline="")), 1):
            bad += [f"{path.name}:{n}: {v!r}" for v in row if unsafe(v)]
    for path in sorted(bundle.rglob("*.xlsx")):
        for ws in load_workbook(path).worksheets:
            for row in ws.iter_rows():
                bad += [f"{path.name}!{ws.title}!{c.coordinate}: {c.value!r}" for c in row
                        if c.data_type == "f" or unsafe(c.value)]
    assert not bad, bad[:10]


@pytest.mark.parametrize("empty_db_url", ["postgresql"], indirect=True)
def test_analyze_hostile_small_network(env_db, tmp_path):
    engine = make_engine(env_db)
    with session_factory(engine)() as session:
        build_world(session, *FIRST_IDS)
    engine.dispose()
    assert power_law_fit(np.array([3, 2, 2, 2, 1, 1, 2, 3, 2, 2, 2, 2]))[0] is None  # the world's degrees
    result = CliRunner().invoke(app, ["analyze", "--edition", "2024"])
    assert result.exit_code == 0, result.output
    bundle = tmp_path / "out" / "2024"
    _check_spreadsheets(bundle)
    nodes = {r["full_name"]: r for r in csv.DictReader((bundle / "nodes.csv").open(encoding="utf-8-sig"))}
    assert "'=HYPERLINK(\"http://127.0.0.1/x\",\"点击\")" in nodes and "'\t=1+2 制表有限公司" in nodes
    assert len(nodes) == 12

    # 4. the fit is reported as not applicable
    fit = dict(csv.reader((bundle / "fig14_power_law_fit.csv").open(encoding="utf-8-sig")))
    assert "alpha" not in fit and fit["nodes"] == "12"
    md = (bundle / "report.md").read_text(encoding="utf-8")
    html = (bundle / "report.html").read_text(encoding="utf-8")
    assert "Power-law fit not applicable" in md and "Power-law fit not applicable" in html

    # documents: no tag from the data; a | in a name does not break a table
    assert "<script" not in md.lower() and "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;研究院" in html and "&lt;script&gt;" in md
    width = None
    for line in md.splitlines():  # every row of a Markdown table has as many cell delimiters as its header
        if not line.startswith("|"):
            width = None
            continue
        cells = len(re.findall(r"(?<!\\)\|", line))
        width = width or cells
        assert cells == width, line
    assert re.search(r"\| 管道\\\|公司 \|", md) and "| 乙\\|短 |" in md


# --------------------------------------------------------------------------- 2. a killed analyze leaves no half edition


def _run_until_written(out: Path, env: dict[str, str], log: Path) -> int:
    """Start ``aimap analyze``, SIGKILL its process group at its first write under ``out``; return its code."""
    old = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}

    def written() -> bool:
        for p in out.rglob("*"):
            try:
                if p.is_file() and (p not in old or p.stat().st_mtime_ns != old[p]):
                    return True
            except FileNotFoundError:
                continue
        return False

    with log.open("wb") as stderr:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen([str(Path(sys.executable).parent / "aimap"), "analyze", "--edition", "2024",
                                 "--out", str(out)], env=env, stdout=subprocess.DEVNULL, stderr=stderr,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if written():
                os.killpg(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.01)
        return proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def test_killed_analyze_keeps_the_previous_edition(pg_admin, tmp_path):
    out = tmp_path / "out"
    with pg_session(pg_admin) as (session, url):
        build_world(session, *FIRST_IDS)
        build_report(session, out, edition=2024, charts=False)
        session.commit()
        before = digest(out / "2024")
        # new data: the next edition differs, so a half-written one would show
        session.add(CooperationEvent(id=99, event_key="e99", provider_id=10, receiver_id=2, reported_by_id=10,
                                     kind="supply", direction="directed", status="active", year=2023))
        session.get(FirmAttributes, 1).founded_on = dt.date(2010, 1, 1)  # the first file written changes too
        session.commit()
        env = {**os.environ, "DATABASE_URL": url, "AIMAP_HOME": str(tmp_path / "home"), "AIMAP_OUT": str(out)}
        log = tmp_path / "analyze.log"
        code = _run_until_written(out, env, log)
        assert code == -signal.SIGKILL, f"aimap analyze ended by itself ({code}): {log.read_text()[-2000:]}"
        assert digest(out / "2024") == before  # the reader sees the previous edition, whole
        assert [p.name for p in out.iterdir() if p.name.startswith(".2024.")]  # the killed run's leftover

        result = build_report(session, out, edition=2024, charts=False)  # the next run cleans it and completes
        session.commit()
    assert sorted(p.name for p in out.iterdir()) == ["2024"]
    after = digest(out / "2024")
    assert after != before and set(after) == set(before)
    assert all(f.parent == out / "2024" or out / "2024" in f.parents for f in result.files)


def _fail_after_network_files(message: str) -> None:
    if message.startswith("GEXF"):  # the network files are written, the documents not yet
        raise RuntimeError("disk full")


def test_failed_write_keeps_the_previous_edition(session, tmp_path):
    """An error half-way through writing leaves the previous edition as it was; leftovers of dead runs go."""
    out = tmp_path / "out"
    build_world(session, *FIRST_IDS)
    build_report(session, out, edition=2024, charts=False)
    (out / "2024" / "index").mkdir()
    (out / "2024" / "index" / "index_province.md").write_text("# index\n", encoding="utf-8")
    before = digest(out / "2024")
    session.get(FirmAttributes, 1).founded_on = dt.date(2010, 1, 1)  # new data: a half-written edition would show
    session.commit()
    gone = subprocess.Popen(["true"])
    gone.wait()  # its process id now names a dead run's leftover: the next run removes it
    leftover = out / f".2024.partial-{gone.pid}"
    leftover.mkdir()
    (leftover / "table1.csv").write_text("half", encoding="utf-8")
    with pytest.raises(RuntimeError, match="disk full"):
        build_report(session, out, edition=2024, charts=False, progress=_fail_after_network_files)
    assert digest(out / "2024") == before
    assert sorted(p.name for p in out.iterdir()) == ["2024"]
    build_report(session, out, edition=2024, charts=False)
    assert (out / "2024" / "index" / "index_province.md").exists()  # other commands' outputs carried over
    assert "(index/index_province.md)" in (out / "2024" / "report.md").read_text(encoding="utf-8")


def test_kill_between_the_two_renames_restores_the_previous_edition(tmp_path):
    """Killed after the previous edition was renamed aside and before the new one took its place."""
    gone = subprocess.Popen(["true"])
    gone.wait()
    aside, partial = tmp_path / f".2024.old-{gone.pid}", tmp_path / f".2024.partial-{gone.pid}"
    aside.mkdir()
    (aside / "report.md").write_text("previous\n", encoding="utf-8")
    partial.mkdir()
    (partial / "report.md").write_text("new, complete\n", encoding="utf-8")
    assert clean_leftovers(tmp_path / "2024") == [aside, partial]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2024"]
    assert (tmp_path / "2024" / "report.md").read_text(encoding="utf-8") == "previous\n"
    with staged_directory(tmp_path / "2024") as staging:  # and the next run replaces it whole
        (staging / "report.md").write_text("next\n", encoding="utf-8")
        assert (tmp_path / "2024" / "report.md").read_text(encoding="utf-8") == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2024"]
    assert [p.name for p in (tmp_path / "2024").iterdir()] == ["report.md"]
    assert (tmp_path / "2024" / "report.md").read_text(encoding="utf-8") == "next\n"


# --------------------------------------------------------------------------- 3. two builds, other ids, same files


ID_COLUMNS = {"nodes.csv": ("id",), "firms.csv": ("id",), "edges.csv": ("source_id", "target_id")}


def _by_names(bundle: Path, org_ids: list[int], event_ids: list[int]) -> dict[str, list[list[str]]]:
    """The files that print database ids, ids replaced by the names / event keys they stand for."""
    org = {str(i): ORGS[k][0] for k, i in enumerate(org_ids)}
    event = {str(i): f"{ORGS[e[0]][0]}>{ORGS[e[1]][0]}@{e[2]}" for i, e in zip(event_ids, EVENTS, strict=True)}
    out = {}
    for name, columns in ID_COLUMNS.items():
        rows = list(csv.DictReader((bundle / name).open(encoding="utf-8-sig")))
        for r in rows:
            for c in columns:
                r[c] = org[r[c]]
            if "event_ids" in r:
                r["event_ids"] = sorted(event[e] for e in r["event_ids"].split(";"))
        out[name] = [list(r.values()) for r in rows]
    for gexf in sorted((bundle / "gexf").glob("*.gexf")):
        text = gexf.read_text(encoding="utf-8")
        text = re.sub(r'(node id|source|target)="(\d+)"', lambda m: f'{m[1]}="{org[m[2]]}"', text)
        text = re.sub(r'for="event_ids" value="([\d;]*)"',
                      lambda m: "event_ids=" + ";".join(sorted(event[e] for e in m[1].split(";") if e)), text)
        out[gexf.name] = text.splitlines()
    with zipfile.ZipFile(bundle / "network.xlsx") as z:
        for part in ("xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"):
            cells = re.findall(r"<c r=\"([A-Z]+)\d+\"[^>]*>(.*?)</c>", z.read(part).decode("utf-8"))
            out[part] = [v for col, v in cells if col not in ("A", "C", "H")]  # ids and event ids
    return out


def test_two_builds_with_other_ids_give_the_same_files(pg_admin, tmp_path):
    second_orgs = [1000 + 37 * ((k * 7) % len(ORGS)) for k in range(len(ORGS))]  # other ids, other id order
    second_events = [500 - 3 * j for j in range(len(EVENTS))]
    bundles, canon, pictures = [], [], []
    for n, (orgs, events, reverse) in enumerate([(*FIRST_IDS, False), (second_orgs, second_events, True)]):
        with pg_session(pg_admin) as (session, _url):
            build_world(session, orgs, events, reverse=reverse)
            out = tmp_path / f"build{n}"
            result = build_report(session, out, edition=2024, charts=False)
            drawn = render_chart(result.stats.tables["fig13_network"], tmp_path / f"fig13_{n}")  # the layout drawn
            pictures.append({p.name: p.read_bytes() for p in drawn})
            publish_bundle(out / "2024", edition=2024, cutoff_date=dt.date(2023, 12, 31),
                           published_at=dt.datetime(2024, 3, 1, tzinfo=dt.UTC), database="test", steps=[], gate=None)
            session.commit()
        bundles.append(digest(out / "2024"))
        canon.append(_by_names(out / "2024", orgs, events))
    with_ids = {*ID_COLUMNS, "network.xlsx", "MANIFEST.json"} | {k for k in bundles[0] if k.startswith("gexf/")}
    differ = sorted(k for k in bundles[0] if k not in with_ids and bundles[0][k] != bundles[1].get(k))
    assert set(bundles[0]) == set(bundles[1]) and not differ, differ
    for name in canon[0]:
        assert canon[0][name] == canon[1][name], name
    manifest = [json.loads((tmp_path / f"build{n}" / "2024" / "MANIFEST.json").read_text(encoding="utf-8"))
                for n in (0, 1)]
    same = {f["path"]: f["sha256"] for f in manifest[0]["files"] if f["path"] not in with_ids}
    assert same == {f["path"]: f["sha256"] for f in manifest[1]["files"] if f["path"] not in with_ids}
    assert manifest[0]["published_at"] == manifest[1]["published_at"]
    assert pictures[0] == pictures[1] and len(pictures[0]) == 3  # Fig. 13 PNG, SVG, 300 dpi PNG


#: Two news of one day, each naming two organisations the registry does not know (the ETL creates
#: them): stored in one order or the other, they must not be numbered differently.
SAME_DAY = [
    {"url": "/extra/yunshan.html", "published": "2023-05-10", "title": "云杉数据与松果信息签署战略合作协议",
     "text": "2023年5月10日，北京云杉数据科技有限公司与济南松果信息科技有限公司签署战略合作协议，"
             "北京云杉数据科技有限公司将为济南松果信息科技有限公司提供大数据和云计算技术支撑。"},
    {"url": "/extra/qingning.html", "published": "2023-05-10", "title": "青柠智能与白桦网络签署战略合作协议",
     "text": "2023年5月10日，上海青柠智能科技有限公司与杭州白桦网络科技有限公司签署战略合作协议，"
             "上海青柠智能科技有限公司将为杭州白桦网络科技有限公司提供人工智能技术支撑。"},
]


def test_tiny_demo_database_built_twice_gives_identical_bundles(pg_admin, tmp_path):
    """The tiny demo world's documents (and two news of one day naming new organisations) stored and
    extracted in opposite orders, as two crawls store them with other document ids: byte-identical
    bundles (issue 14, finding 7).

    Before: two events whose first documents share a date took the address of the lower document
    id, so ``edges.csv``, ``network.xlsx`` and the GEXF files depended on the order of the crawl; and
    organisations and events were numbered in the order documents were stored, so the ids the files
    carry (which ``aimap explain`` and ``aimap review`` take) differed. They are now assigned in an
    order that depends on the documents' content only (publication date, then address:
    :func:`etl.load.pending_documents`), and rows are ordered by names (:mod:`analysis.network_files`).
    """
    world = render_site(build_demo_world(seed=7, preset="tiny"), tmp_path / "world").out_dir
    docs = [*world_documents(world / "truth"), *SAME_DAY]
    bundles = []
    for n, order in enumerate([docs, docs[::-1]]):
        with pg_session(pg_admin) as (session, _url):
            store_world_documents(session, world, order)
            run_etl(session, batch_size=40)
            out = tmp_path / f"build{n}"
            build_report(session, out, edition=2024, charts=False, allow_partial=True)
            publish_bundle(out / "2024", edition=2024, cutoff_date=dt.date(2023, 12, 31),
                           published_at=dt.datetime(2024, 3, 1, tzinfo=dt.UTC), database="tiny", steps=[], gate=None)
            session.commit()
        bundles.append(digest(out / "2024"))
    assert len(bundles[0]) > 40 and "MANIFEST.json" in bundles[0]
    assert bundles[0] == bundles[1], sorted(k for k in bundles[0] if bundles[0][k] != bundles[1].get(k))
