"""Benchmark: the regional competitiveness index on a demo world, beside the report's published rankings.

Run from the repository root (one command; ~1-2 minutes on 2 cores with the default ``report`` world):

    .venv/bin/python benchmarks/bench_index.py                      # report-size world, seed 7, SQLite
    .venv/bin/python benchmarks/bench_index.py --preset medium      # a quicker look
    .venv/bin/python benchmarks/bench_index.py --imports analysis/data/index_imports   # with the example imports
    .venv/bin/python benchmarks/bench_index.py --db-url postgresql+psycopg://postgres@127.0.0.1:5432/aimap_bench

What it does:

1. ``demosite.world.build_world(seed, preset)`` — the demo world calibrated to the 2024 report (firm
   provinces and cities, listings, layers, patents, financials, the yearly network and its province
   flows) — and :func:`load_world` writes it straight into a fresh, migrated database (organisations
   with province/city/exchange, firm attributes and financials, cooperation events): the world's
   ground truth, without the crawl and extraction steps, so the index is measured on the data the
   world was calibrated with.
2. ``build_index`` for provinces and for cities (entropy weights, min-max; the tree's defaults), and
   ``write_index`` (CSV, XLSX, Markdown, charts) into a temporary directory; times per stage.
3. Prints each level's top 10 beside the published ranking (report-2024-figures.yaml
   ``competitiveness_index``: top 5 provinces, top 10 cities) with Spearman's rho over the regions both
   lists name and over the published regions with our full ranks, the sensitivity summary and the
   rank correlation between the weighting schemes.

Baselines measured in the same run, on the same database:

- **quality**: the ranking by the number of sample firms alone (the one-indicator index every
  region ranking starts from) against the same published lists — does the 24-indicator index
  agree with the report better or worse than firm counts?
- **time**: ``build_report`` (the whole analysis stage: ten yearly networks, Gephi statistics, every
  table; no charts) on the same database; the index's time is printed as a ratio of it.
"""

from __future__ import annotations

import argparse
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

from analysis.figures import PUBLISHED_2024, load_figures  # noqa: E402
from analysis.index import IndexResult, build_index, compare_published, published_ranking  # noqa: E402
from analysis.index_data import load_index_source  # noqa: E402
from analysis.index_method import ranking, spearman  # noqa: E402
from analysis.index_outputs import write_index  # noqa: E402
from analysis.report import build_report  # noqa: E402
from db import migrate  # noqa: E402
from db.models import (  # noqa: E402
    City,
    CooperationEvent,
    FirmAttributes,
    FirmFinancials,
    Organisation,
    Province,
)
from db.session import make_engine, session_factory  # noqa: E402
from db.taxonomy import sync_taxonomies  # noqa: E402
from demosite.world import World, build_world  # noqa: E402

#: World partner kinds -> organisations.kind (automakers, manufacturers and financial firms are firms).
KIND = {"automaker": "firm", "manufacturer": "firm", "financial": "firm"}


def _chunks(rows: list[dict], size: int = 20000):
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


def load_world(session: Session, world: World) -> dict[str, int]:
    """Write a world's organisations, firm attributes, financials and events into a migrated database."""
    prov = {n: c for c, n in session.execute(select(Province.code, Province.name))}
    city = {(p, n): c for c, n, p in session.execute(select(City.code, City.name, City.province_code))}
    orgs, attrs, fins = [], [], []
    ids: dict[str, int] = {}
    for f in world.firms:
        oid = ids[f.name] = len(ids) + 1
        p = prov.get(f.province)
        orgs.append({"id": oid, "name": f.name, "kind": "firm", "is_sample": True, "province_code": p,
                     "city_code": city.get((p, f.city)), "stock_code": f.stock_code, "stock_exchange": f.exchange,
                     "origin": "world"})
        attrs.append({"organisation_id": oid, "founded_on": f.founded_on, "employees": f.employees,
                      "listed": f.listed, "tech_layer": f.tech_layer, "patents": f.patents})
        if f.fiscal_year is not None:
            fins.append({"organisation_id": oid, "fiscal_year": f.fiscal_year, "revenue_cny": f.revenue_cny,
                         "rd_expense_cny": f.rd_expense_cny, "source": "world"})
    for pt in world.partners:
        oid = ids[pt.name] = len(ids) + 1
        p = prov.get(pt.province)
        orgs.append({"id": oid, "name": pt.name, "kind": KIND.get(pt.kind, pt.kind), "is_sample": False,
                     "province_code": p, "city_code": city.get((p, pt.city)), "stock_code": None,
                     "stock_exchange": None, "origin": "world"})
    slug = {f.id: ids[f.name] for f in world.firms}
    events = [{"id": n, "event_key": e.id, "provider_id": ids[e.provider], "receiver_id": ids[e.receiver],
               "reported_by_id": slug[e.reporter], "kind": e.kind, "direction": e.direction, "status": e.status,
               "year": e.year, "event_date": e.date, "terminated_on": e.terminated_on}
              for n, e in enumerate(world.events, 1)]
    for model, rows in ((Organisation, orgs), (FirmAttributes, attrs), (FirmFinancials, fins),
                        (CooperationEvent, events)):
        for chunk in _chunks(rows):
            session.execute(insert(model), chunk)
    session.commit()
    return {"organisations": len(orgs), "sample_firms": len(world.firms), "financials": len(fins),
            "events": len(events)}


def _fresh_db(url: str | None, tmp: Path) -> str:
    url = url or f"sqlite:///{tmp / 'bench_index.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    with session_factory(engine)() as s:
        sync_taxonomies(s)
        s.commit()
    engine.dispose()
    return url


def _fmt_rho(x: float) -> str:
    return "n/a" if np.isnan(x) else f"{x:+.3f}"


def print_comparison(result: IndexResult, published: list[str], baseline_order: list[str]) -> None:
    """Our top 10 beside the published ranking, and the firm-count baseline's agreement."""
    cmp = compare_published(result, published, 10)
    level = "province" if result.level == "province" else "city"
    print(f"\n{level} top 10 (aimap, weights {result.scheme}, {result.normalisation}) beside the published ranking")
    print(f"{'rank':>4}  {'aimap':<10} {'total':>6}   {'published':<10}  {'aimap rank of published':>24}")
    for r in range(10):
        ours = cmp.ours[r] if r < len(cmp.ours) else None
        pub = published[r] if r < len(published) else ""
        pub_rank = cmp.our_rank.get(pub) if pub else None
        left = f"{ours[1]:<10} {ours[2]:6.2f}" if ours else " " * 17
        print(f"{r + 1:>4}  {left}   {pub:<10}  {'' if not pub else (pub_rank or 'not ranked'):>24}")
    print(f"regions in both top lists: {len(cmp.common)} of {len(published)} ({'、'.join(cmp.common)})")
    print(f"Spearman over the regions both lists name: {_fmt_rho(cmp.rho_common)} (n = {len(cmp.common)}); "
          f"over the published regions with aimap's full ranks: {_fmt_rho(cmp.rho_published)}")
    top = baseline_order[:10]
    common = [n for n in published if n in top]
    full = {n: i + 1 for i, n in enumerate(baseline_order)}
    ranked = [n for n in published if n in full]
    print(f"baseline (sample firms only): top 10 {'、'.join(top)}")
    print(f"  in both top lists: {len(common)} of {len(published)}; Spearman over both: "
          f"{_fmt_rho(spearman([published.index(n) for n in common], [top.index(n) for n in common]))}; "
          f"over the published regions: {_fmt_rho(spearman([published.index(n) for n in ranked], [full[n] for n in ranked]))}")
    s = result.sensitivity
    rho = s.rho
    print(f"sensitivity: {s.draws} draws, weights x U({1 - s.spread:g}, {1 + s.spread:g}), seed {s.seed}: Spearman mean "
          f"{rho.mean():.4f}, 5th pct {np.percentile(rho, 5):.4f}, min {rho.min():.4f}")
    stays = [f"{result.regions.names[i]} {100 * s.top_share[i]:.0f}%" for i in result.order[:10]]
    print(f"  share of draws in the top {s.top}: {', '.join(stays)}")
    print("weighting schemes, Spearman of totals vs the one used: "
          + ", ".join(f"{k} {v:.3f}" for k, v in result.scheme_rho.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="report", help="demo world preset (tiny, small, medium, report)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--imports", type=Path, default=None, help="directory of index import files")
    parser.add_argument("--db-url", default=None, help="database URL (default: SQLite in a temporary directory); "
                                                       "must be an empty database")
    parser.add_argument("--no-report-baseline", action="store_true", help="skip timing build_report")
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, preset {args.preset}, seed {args.seed}")
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        started = time.perf_counter()
        world = build_world(args.seed, args.preset)
        t_world = time.perf_counter() - started
        url = _fresh_db(args.db_url, tmp)
        engine = make_engine(url)
        started = time.perf_counter()
        with session_factory(engine)() as session:
            counts = load_world(session, world)
        t_fill = time.perf_counter() - started
        print(f"world: {t_world:.1f} s; database filled in {t_fill:.1f} s: "
              + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        figures = load_figures(PUBLISHED_2024)
        edition = int(figures["edition"])
        with session_factory(engine)() as session:
            started = time.perf_counter()
            source = load_index_source(session, edition)
            t_load = time.perf_counter() - started
            results, t_levels = {}, {}
            for level in ("province", "city"):
                started = time.perf_counter()
                results[level] = build_index(session, level=level, imports=args.imports, source=source)
                t_build = time.perf_counter() - started
                started = time.perf_counter()
                files = write_index(results[level], tmp / "out" / str(edition) / "index")
                t_levels[level] = (t_build, time.perf_counter() - started, len(files))
            t_report = None
            if not args.no_report_baseline:
                started = time.perf_counter()
                build_report(session, tmp / "report", edition=edition, charts=False)
                t_report = time.perf_counter() - started
                session.rollback()
        engine.dispose()
        print(f"\nedition {edition}: data loaded once in {t_load:.2f} s "
              f"({len(source.events):,} events, network of {edition - 1}: {source.edges.n_edges:,} edges)")
        for level, (t_build, t_write, n_files) in t_levels.items():
            r = results[level]
            print(f"  {level:<8}: {len(r.regions)} regions ranked, {len(r.missing)} missing values; index "
                  f"{t_build:.2f} s (indicators {r.timings['indicators']:.2f}, method {r.timings['method']:.3f}, "
                  f"sensitivity {r.timings['sensitivity']:.2f}); outputs {t_write:.2f} s ({n_files} files)")
        total = t_load + sum(a + b for a, b, _ in t_levels.values())
        print(f"  index, both levels, load + compute + write: {total:.2f} s")
        if t_report is not None:
            print(f"  baseline build_report (analysis stage, no charts): {t_report:.2f} s; "
                  f"index / report = {total / t_report:.2f}x")
        for level in ("province", "city"):
            r = results[level]
            firms = r.raw[:, [i.code for i in r.tree.indicators].index("sample_firms")]
            base = [r.regions.names[i] for i in ranking(r.regions.names, r.regions.codes, firms)]
            print_comparison(r, published_ranking(figures, level), base)
            for w in r.warnings:
                print(f"  note: {w}")


if __name__ == "__main__":
    main()
