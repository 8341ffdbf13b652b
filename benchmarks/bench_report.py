"""Benchmark: the full report edition (every table, chart and bundle file) at report scale.

Run from the repository root (one command; ~2-3 minutes on 2 cores, most of it filling the database):

    .venv/bin/python benchmarks/bench_report.py                 # SQLite file in a temporary directory
    .venv/bin/python benchmarks/bench_report.py --scale 0.1     # a tenth of the size (quick check)
    .venv/bin/python benchmarks/bench_report.py --db-url postgresql+psycopg://postgres@127.0.0.1:5432/aimap_bench

It fills a fresh database with a deterministic synthetic world of the report's size (see
:func:`populate`: 4,311 sample firms, ~31k relation nodes, ~91k unique edges in 2023, ten years of
events with categories, firm attributes and financials), then runs ``build_report`` for edition
2024 and prints the time of each stage (load, networks + Table 1, statistics, snapshots, CSV,
charts, documents, GEXF and lists) and the total against the issue's targets (Table 1 for ten
years < 5 s, full edition < 60 s on 2 cores). Baselines measured in the same run, on the same
database: the pre-vectorised path of Table 1's counts (``load_events`` + ``yearly_network`` +
``count``, networkx, ten years) and python-igraph's diameter + average path length of the ten
yearly networks (the statistic that dominates Table 1). A second ``build_report`` checks the
run is idempotent (no new snapshot, identical files).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from analysis.charts import font_family  # noqa: E402
from analysis.edition import EditionStats  # noqa: E402
from analysis.metrics import compute_netstats  # noqa: E402
from analysis.network import count, load_events, sample_ids, yearly_network  # noqa: E402
from analysis.report import build_report  # noqa: E402
from db import migrate  # noqa: E402
from db.models import (  # noqa: E402
    Alias,
    ApplicationDomain,
    CooperationEvent,
    EventApplicationDomain,
    EventTechCategory,
    FirmAttributes,
    FirmFinancials,
    IndustryDivision,
    Organisation,
    TechCategory,
)
from db.session import make_engine, session_factory  # noqa: E402
from db.taxonomy import sync_taxonomies  # noqa: E402

#: Table 1 of the 2024 report: cumulative unique edges per year (the synthetic world follows it).
EDGES_BY_YEAR = {2014: 2602, 2015: 4007, 2016: 5370, 2017: 9658, 2018: 17889, 2019: 28271, 2020: 49781,
                 2021: 63809, 2022: 83815, 2023: 91158}
SAMPLE, RELATION = 4311, 31361
#: Province weights of the synthetic organisations (the report's Table 6 shape), by GB/T 2260 code.
PROVINCE_WEIGHTS = {"11": 36, "44": 30, "33": 10, "31": 9, "32": 4, "37": 2, "34": 2, "35": 1.2, "42": 1.2,
                    "51": 1, "12": 0.7, "21": 0.6, "52": 0.5, "50": 0.5, "43": 0.5, "61": 0.2, "13": 0.2}
#: Industry divisions favoured by the synthetic receivers (software, electronics, cars, research, ...).
DIVISION_WEIGHTS = {"65": 20, "64": 8, "39": 12, "36": 5, "38": 2, "35": 1.5, "34": 1, "73": 14, "83": 8,
                    "66": 5, "72": 5, "44": 2, "47": 1.5, "01": 0.3}


def _chunks(rows: list[dict], size: int = 20000):
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


def populate(session: Session, scale: float = 1.0, seed: int = 2024) -> dict[str, int]:
    """Fill a migrated, seeded database with a deterministic report-scale world; return row counts.

    Graph: sample firms carry heavy-tailed activity weights (Pareto quantiles), relation nodes light
    ones; each relation node is anchored to a firm, the other edges join a source drawn by
    out-weight and a target drawn by in-weight (Chung-Lu style), repeated pairs and self-loops
    redrawn, until the 2023 edge count of Table 1 is reached. Edges get years so that cumulative
    counts follow Table 1; 15% of edges have a repeat event, 20% of events are mutual, 1% are
    terminated. Each event has one or two technology categories and one application domain.
    """
    rng = np.random.default_rng(seed)
    n_s, n_r = round(SAMPLE * scale), round(RELATION * scale)
    n = n_s + n_r
    m = round(EDGES_BY_YEAR[2023] * scale)
    src, dst, year_of = _draw_edges(rng, n_s, n_r, m, scale)
    _insert_organisations(session, rng, n_s, n)
    listed = _insert_firms(session, rng, n_s, n)
    n_ev, n_tech = _insert_events(session, rng, src, dst, year_of)
    session.commit()
    return {"organisations": n, "events": n_ev, "tech_assignments": n_tech, "listed": int(listed.sum())}


def _draw_edges(rng: np.random.Generator, n_s: int, n_r: int, m: int,
                scale: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``m`` unique edges (source, target positions) and the year each appears (see :func:`populate`)."""
    n = n_s + n_r
    w = np.concatenate([(1.0 - (rng.permutation(n_s) + 0.5) / n_s) ** (-1 / 1.05), 0.15 * (rng.pareto(2.2, n_r) + 1)])
    out_share = np.concatenate([rng.beta(2.0, 1.2, n_s), rng.beta(1.0, 1.5, n_r)])
    p_firm = w[:n_s] / w[:n_s].sum()
    partner = rng.choice(n_s, size=n, p=p_firm)
    partner[:n_s] = np.where(partner[:n_s] == np.arange(n_s), (partner[:n_s] + 1) % n_s, partner[:n_s])
    provides = rng.random(n) < out_share
    me = np.arange(n)
    keys = np.where(provides, me, partner) * n + np.where(provides, partner, me)
    p_out, p_in = w * out_share, w * (1 - out_share)
    p_out, p_in = p_out / p_out.sum(), p_in / p_in.sum()
    while True:
        _, first = np.unique(keys, return_index=True)
        keys = keys[np.sort(first)]
        keys = keys[keys // n != keys % n]
        if keys.size >= m:
            keys = keys[:m]
            break
        more = 2 * (m - keys.size) + 100
        keys = np.concatenate([keys, rng.choice(n, more, p=p_out) * n + rng.choice(n, more, p=p_in)])
    src, dst = keys // n, keys % n
    # years: anchors first (they make the nodes), then the cumulative counts of Table 1
    order = np.concatenate([np.arange(min(n, m)), rng.permutation(np.arange(min(n, m), m))])
    bounds = np.array([round(v * scale) for v in EDGES_BY_YEAR.values()])
    year_of = np.empty(m, dtype=np.int64)
    year_of[rng.permutation(order)] = 2014 + np.searchsorted(bounds, np.arange(m), side="right")

    return src, dst, year_of


def _insert_organisations(session: Session, rng: np.random.Generator, n_s: int, n: int) -> None:
    """The ``n`` organisations (the first ``n_s`` sample firms) with provinces, divisions, kinds, aliases."""
    provinces = list(PROVINCE_WEIGHTS)
    pw = np.array(list(PROVINCE_WEIGHTS.values()), dtype=float)
    divisions = dict(session.execute(select(IndustryDivision.code, IndustryDivision.section_code)).all())
    dcodes = sorted(divisions)
    dw = np.array([DIVISION_WEIGHTS.get(c, 0.15) for c in dcodes])
    prov = rng.choice(provinces, size=n, p=pw / pw.sum())
    prov_known = rng.random(n) > 0.03
    div = rng.choice(dcodes, size=n, p=dw / dw.sum())
    div_known = rng.random(n) > 0.1
    kinds = ["firm", "university", "research_institute", "foreign_firm", "government", "hospital", "bank"]
    kind = rng.choice(kinds, size=n, p=[0.7, 0.08, 0.06, 0.06, 0.05, 0.03, 0.02])
    org_rows = [{
        "id": i + 1, "name": (f"样本企业{i:05d}智能科技有限公司" if i < n_s else f"关系节点{i:06d}有限公司"),
        "kind": "firm" if i < n_s else str(kind[i]), "is_sample": bool(i < n_s),
        "province_code": str(prov[i]) if prov_known[i] else None,
        "industry_division": str(div[i]) if div_known[i] else None,
        "industry_section": divisions[str(div[i])] if div_known[i] else None,
        "origin": "benchmark",
    } for i in range(n)]
    for chunk in _chunks(org_rows):
        session.execute(insert(Organisation), chunk)
    alias_rows = [{"organisation_id": i + 1, "name": f"样本{i:05d}" if i < n_s else f"关系{i:06d}", "kind": "short",
                   "source": "benchmark"} for i in range(n) if i < n_s or i % 3 == 0]
    for chunk in _chunks(alias_rows):
        session.execute(insert(Alias), chunk)



def _insert_firms(session: Session, rng: np.random.Generator, n_s: int, n: int) -> np.ndarray:
    """The sample firms' attributes and the listed firms' 2022 financials; return the listed mask."""
    listed = rng.random(n_s) < 0.156
    attr_rows = [{
        "organisation_id": i + 1, "founded_on": dt.date(int(np.clip(2015 + rng.normal(0, 6), 1980, 2023)), 1, 1),
        "employees": int(rng.lognormal(5, 1.3)), "listed": bool(listed[i]),
        "tech_layer": str(rng.choice(["基础层", "技术层", "应用层"], p=[0.1, 0.29, 0.61])),
        "patents": int(rng.lognormal(5.2, 1.6)),
    } for i in range(n_s)]
    session.execute(insert(FirmAttributes), attr_rows)
    fin_rows = []
    for i in np.flatnonzero(listed):
        revenue = float(rng.lognormal(21.5, 1.4))
        fin_rows.append({"organisation_id": int(i) + 1, "fiscal_year": 2022, "revenue_cny": round(revenue, 2),
                         "rd_expense_cny": round(revenue * float(rng.beta(2, 14)), 2), "source": "benchmark"})
    session.execute(insert(FirmFinancials), fin_rows)

    return listed


def _insert_events(session: Session, rng: np.random.Generator, src: np.ndarray, dst: np.ndarray,
                   year_of: np.ndarray) -> tuple[int, int]:
    """Events of every edge (some repeated, mutual or terminated) with categories and domains; return counts."""
    m = src.size
    today = dt.date(2023, 12, 31)
    repeat = rng.random(m) < 0.15
    ev_src = np.concatenate([src, src[repeat]]) + 1
    ev_dst = np.concatenate([dst, dst[repeat]]) + 1
    ev_year = np.concatenate([year_of, np.minimum(year_of[repeat] + rng.integers(0, 3, int(repeat.sum())), 2023)])
    n_ev = ev_src.size
    mutual = rng.random(n_ev) < 0.2
    terminated = rng.random(n_ev) < 0.01
    ev_kinds = rng.choice(["strategic", "joint_lab", "procurement", "supply", "joint_development"], size=n_ev)
    event_rows = [{
        "id": e + 1, "event_key": hashlib.sha1(f"{e}".encode()).hexdigest(), "provider_id": int(ev_src[e]),
        "receiver_id": int(ev_dst[e]), "reported_by_id": int(ev_src[e]), "kind": str(ev_kinds[e]),
        "direction": "mutual" if mutual[e] else "directed", "status": "terminated" if terminated[e] else "active",
        "year": int(ev_year[e]), "terminated_on": min(dt.date(int(ev_year[e]) + 2, 6, 30), today) if terminated[e] else None,
    } for e in range(n_ev)]
    for chunk in _chunks(event_rows):
        session.execute(insert(CooperationEvent), chunk)
    tech = [c for (c,) in session.execute(select(TechCategory.code).order_by(TechCategory.sort_order))]
    domains = [c for (c,) in session.execute(select(ApplicationDomain.code).order_by(ApplicationDomain.sort_order))]
    tw = 1.0 / np.arange(1, len(tech) + 1) ** 1.3
    dw2 = 1.0 / np.arange(1, len(domains) + 1) ** 0.6
    t1 = rng.choice(len(tech), n_ev, p=tw / tw.sum())
    t2 = rng.choice(len(tech), n_ev, p=tw / tw.sum())
    two = rng.random(n_ev) < 0.3
    tech_rows = [{"event_id": e + 1, "category_code": tech[t1[e]]} for e in range(n_ev)]
    tech_rows += [{"event_id": e + 1, "category_code": tech[t2[e]]} for e in range(n_ev) if two[e] and t2[e] != t1[e]]
    for chunk in _chunks(tech_rows):
        session.execute(insert(EventTechCategory), chunk)
    d1 = rng.choice(len(domains), n_ev, p=dw2 / dw2.sum())
    for chunk in _chunks([{"event_id": e + 1, "domain_code": domains[d1[e]]} for e in range(n_ev)]):
        session.execute(insert(EventApplicationDomain), chunk)
    return n_ev, len(tech_rows)


def _digest(directory: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        h.update(path.relative_to(directory).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def baseline_networkx(session: Session, years: list[int]) -> float:
    """Seconds of the pre-vectorised Table 1 counts (networkx graphs from EventRow objects, ten years)."""
    started = time.perf_counter()
    events = load_events(session)
    samples = sample_ids(session)
    for y in years:
        count(yearly_network(events, y), y, samples)
    return time.perf_counter() - started


def baseline_igraph(stats: EditionStats) -> float | None:
    """Seconds python-igraph takes for diameter + average path length of the ten yearly networks."""
    try:
        import igraph  # deferred: optional baseline, may not be installed
    except ImportError:
        return None
    started = time.perf_counter()
    for net in stats.networks.values():
        e = net.edges
        g = igraph.Graph(n=e.n_nodes, edges=np.column_stack([e.source, e.target]).tolist(), directed=True)
        g.diameter(directed=True, unconn=True)
        g.average_path_length(directed=True, unconn=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="world size relative to the report (default 1)")
    parser.add_argument("--db-url", default=None, help="SQLAlchemy URL of an EMPTY database (default: temp SQLite)")
    parser.add_argument("--no-igraph", action="store_true", help="skip the igraph baseline")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="aimap-bench-"))
    url = args.db_url or f"sqlite:///{tmp / 'bench.db'}"
    engine = make_engine(url)
    print(f"python {platform.python_version()}, {os.cpu_count()} cpus, database {engine.dialect.name}, scale {args.scale}")
    started = time.perf_counter()
    migrate.upgrade(engine)
    with session_factory(engine)() as session:
        sync_taxonomies(session)
        session.commit()
        counts = populate(session, args.scale)
    print(f"populate: {time.perf_counter() - started:.1f} s  {counts}")

    with session_factory(engine)() as session:
        # warm-up: numba loads its compiled kernels, matplotlib its font cache (not part of the edition)
        compute_netstats(np.array([0, 1]), np.array([1, 2]), 3)
        font_family()
        started = time.perf_counter()
        result = build_report(session, tmp / "out", edition=2024)
        total = time.perf_counter() - started
        session.commit()
        stats = result.stats
        assert stats is not None
        last = stats.tables["table1"].rows[-1]
        print(f"edition 2024: {len(stats.years)} years; 2023 network: {last[3]} nodes ({last[1]} sample), {last[4]} edges; "
              f"diameter {last[6]}, avg path {last[7]:.3f}, clustering {last[8]:.3f}; {len(result.files)} files")
        print("stage                    seconds")
        for stage, seconds in result.timings.items():
            print(f"  {stage:<22} {seconds:8.2f}")
        print(f"  {'TOTAL build_report':<22} {total:8.2f}   target < 60 s: {'ok' if total < 60 else 'MISSED'} "
              f"({total / 60:.2f} of the budget)")
        t1 = result.timings["networks_table1"]
        print(f"  Table 1 (ten years)    {t1:8.2f}   target < 5 s: {'ok' if t1 < 5 else 'MISSED'}")

        base = baseline_networkx(session, stats.years)
        print(f"baseline networkx Table 1 counts only (old path): {base:.2f} s; "
              f"ours (counts + all Gephi statistics + sector shares): {t1:.2f} s, ratio {t1 / base:.2f}")
        if not args.no_igraph:
            ig = baseline_igraph(stats)
            if ig is not None:
                print(f"baseline igraph diameter + avg path length, ten networks: {ig:.2f} s; "
                      f"our whole Table 1: {t1:.2f} s, ratio {t1 / ig:.2f}")

        before = _digest(tmp / "out" / "2024")
        started = time.perf_counter()
        again = build_report(session, tmp / "out", edition=2024)
        session.commit()
        same = _digest(tmp / "out" / "2024") == before
        print(f"second run: {time.perf_counter() - started:.1f} s, new snapshots {again.snapshots_new}, "
              f"identical files: {same}")
    engine.dispose()
    print(f"bundle left in {tmp / 'out' / '2024'}")


if __name__ == "__main__":
    main()
