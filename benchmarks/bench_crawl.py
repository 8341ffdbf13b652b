"""Crawl throughput on the demo web, and where a page's CPU goes.

    .venv/bin/python benchmarks/bench_crawl.py [--preset small] [--seed 7] [--source demo-newsrooms]
    .venv/bin/python benchmarks/bench_crawl.py --profile          # + cProfile breakdown of the crawl process
    .venv/bin/python benchmarks/bench_crawl.py --source all --refresh-settings [--parallel 2]

Generates the demo world, serves it on 127.0.0.1 and crawls one source (``--source all``: every
source of the world, one after the other, as the refresh does) several times in the same run, each
from scratch into a fresh SQLite database:

- ``discarded``: the item pipelines off (items dropped) — the spider and Scrapy alone;
- ``baseline``: the full pipeline on the previous per-page path: Scrapy's ``CONCURRENT_ITEMS=100``
  (101 asyncio tasks per response) and ``AIMAP_CRAWL_FAST_PATH=False`` (main text by per-node CSS
  ``::text`` selectors, one ``SELECT`` and autoflush per stored document); with ``--refresh-settings``
  also AutoThrottle on, as it was for the loopback demo web;
- ``database``: the full pipeline on the current path.

Conditional requests and AutoThrottle are off so every run fetches every page as fast as the
server allows; ``--refresh-settings`` crawls as the refresh does instead (the crawler's defaults —
AutoThrottle except on loopback —, each source's politeness, a resumable job directory with its
journal). Each run gets a fresh server, so the world's injected faults hit every run alike. Printed per run: pages per
second, and CPU seconds per 1,000 pages of the crawl process (``getrusage`` of the children) and of
this process (which serves the demo web in threads). With ``--profile`` the ``database`` run's
crawl process runs under cProfile (``AIMAP_CRAWL_PROFILE``) and its time is broken down by stage:
download (Twisted/Scrapy), decode, HTML parsing, main text, item pipeline, database writes...
"""

from __future__ import annotations

import argparse
import os
import pstats
import resource
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawlers.run import PROFILE_ENV, run_crawl  # noqa: E402
from crawlers.sources import list_sources  # noqa: E402
from db.bootstrap import prepare_database  # noqa: E402
from db.session import make_engine  # noqa: E402
from demosite.render import render_site  # noqa: E402
from demosite.server import serve  # noqa: E402
from demosite.world import build_world  # noqa: E402

FAST = {"AUTOTHROTTLE_ENABLED": "False", "DOWNLOAD_DELAY": "0", "AIMAP_CONDITIONAL": "False",
        "CONCURRENT_REQUESTS": "16", "CONCURRENT_REQUESTS_PER_DOMAIN": "16", "LOG_LEVEL": "WARNING"}
#: As the refresh crawls (crawlers/settings.py defaults and each source's politeness): logs quiet only.
REFRESH = {"LOG_LEVEL": "WARNING"}
RUNS = {"discarded": {"ITEM_PIPELINES": "{}"},
        "baseline": {"AIMAP_CRAWL_FAST_PATH": "False", "CONCURRENT_ITEMS": "100"}, "database": {}}

#: Stages of a page's CPU in the crawl process: (label, functions whose cumulative time is the stage).
#: A function is (file suffix, function name). Stages are nested in the order the profile shows them,
#: so each is measured inclusive; "Scrapy/Twisted (download, scheduling)" is the remainder.
STAGES: list[tuple[str, list[tuple[str, str]]]] = [
    ("database writes (DatabasePipeline.flush: SQL, gzip of raw pages, text hash)",
     [("crawlers/pipelines.py", "flush")]),
    ("item validation (ValidationPipeline: fit to schema)", [("crawlers/fields.py", "fit_document")]),
    ("spider callbacks in total (parse*, below their parts)",
     [("crawlers/spiders/newsroom.py", "parse"), ("crawlers/spiders/feed.py", "parse_feed"),
      ("crawlers/spiders/feed.py", "parse_sitemap"), ("crawlers/spiders/feed.py", "parse_article"),
      ("crawlers/spiders/exchange.py", "parse_api"), ("crawlers/spiders/exchange.py", "parse_detail"),
      ("crawlers/spiders/site.py", "parse_article"), ("crawlers/spiders/cninfo.py", "parse_announcement"),
      ("crawlers/spiders/hkex.py", "parse_document")]),
    ("  decode (charset check, bytes -> text)", [("crawlers/spiders/base.py", "decoded"),
                                                ("scrapy/http/response/text.py", "text")]),
    ("  HTML parsing (lxml tree of the page)", [("scrapy/http/response/text.py", "selector")]),
    ("  main text (article body selector)", [("crawlers/textutil.py", "main_text"),
                                             ("crawlers/textutil.py", "selector_text")]),
    ("  main text (trafilatura, body: auto / site)", [("trafilatura/core.py", "extract")]),
    ("  PDF text (pypdfium2)", [("crawlers/pdftext.py", "extract_pdf_text")]),
    ("  link following (response.follow)", [("scrapy/http/response/text.py", "follow"),
                                            ("scrapy/http/response/__init__.py", "follow")]),
]


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _crawl(sources: list[str], world: Path, base_url: str, db_url: str, extra: dict[str, str],
           settings: dict[str, str], resumable: bool, parallel: int = 1) -> dict[str, float]:
    """Crawl ``sources`` (``parallel`` crawl processes at once); wall time, pages and CPU of the crawl
    processes and of this one."""
    started, child0, self0 = time.perf_counter(), _cpu_children(), _cpu_self()

    def one(source: str) -> int:
        result = run_crawl(source, sources_dir=world / "sources", base_url=base_url, db_url=db_url,
                           resumable=resumable, extra_settings={**settings, **extra})
        return result.counts["responses"]

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        pages = sum(pool.map(one, sources))
    return {"wall": time.perf_counter() - started, "pages": pages, "crawler_cpu": _cpu_children() - child0,
            "server_cpu": _cpu_self() - self0}


def breakdown(profiles: list[Path]) -> list[tuple[str, float]]:
    """(stage, seconds) of crawl processes' cProfile outputs (:data:`STAGES`), with the total first."""
    stats = pstats.Stats(*[str(p) for p in profiles]).stats  # type: ignore[attr-defined]
    total = stats.get(("~", 0, "<built-in method builtins.exec>"), (0, 0, 0, 0))[3] or max(
        ct for (_, _, _), (_, _, _, ct, _) in stats.items())
    rows = [("crawl process in total (cProfile)", total)]
    for label, functions in STAGES:
        seconds = sum(ct for (file, _, name), (_, _, _, ct, _) in stats.items()
                      if any(file.endswith(suffix) and name == fn for suffix, fn in functions))
        rows.append((label, seconds))
    inside = rows[1][1] + rows[2][1] + rows[3][1]
    rows.append(("Scrapy/Twisted and the rest (download, scheduling, middlewares)", total - inside))
    return rows


#: (label, test on (file, function name)) for the self-time view; the first that matches wins.
LIBRARIES: list[tuple[str, Any]] = [
    ("idle (waiting in epoll for the server)", lambda f, n: f == "~" and "poll" in n and "epoll" in n),
    ("asyncio task machinery (tasks, queues, callbacks)",
     lambda f, n: "/asyncio/" in f or "_asyncio" in n or "contextvars" in n or "scrapy/utils/asyncio" in f
     or f.endswith("_weakrefset.py")),
    ("Twisted (HTTP client, reactor, Deferreds)", lambda f, n: "/twisted/" in f),
    ("SQLAlchemy + the database driver", lambda f, n: "/sqlalchemy/" in f or "sqlite3" in n or "psycopg" in f),
    ("parsel / lxml / cssselect (HTML and selectors)",
     lambda f, n: "/parsel/" in f or "lxml" in f or "lxml" in n or "/cssselect/" in f),
    ("trafilatura and its helpers", lambda f, n: any(k in f for k in ("/trafilatura/", "/justext/", "/htmldate/",
                                                                        "/courlan/"))),
    ("pypdfium2", lambda f, n: "pypdfium2" in f or "pdfium" in n),
    ("Scrapy (engine, middlewares, requests, stats)", lambda f, n: "/scrapy/" in f or "/w3lib/" in f),
    ("crawlers/ (ours)", lambda f, n: "/crawlers/" in f),
    ("gzip / zlib / hashing", lambda f, n: "zlib" in n or "hashlib" in n or "gzip" in f),
    ("socket send/receive", lambda f, n: "socket" in n),
]


def by_library(profiles: list[Path]) -> list[tuple[str, float]]:
    """(library, seconds of self time) of crawl processes' cProfile outputs (:data:`LIBRARIES`), rest last."""
    stats = pstats.Stats(*[str(p) for p in profiles]).stats  # type: ignore[attr-defined]
    totals: dict[str, float] = {label: 0.0 for label, _ in LIBRARIES}
    rest = 0.0
    for (file, _, name), (_, _, tottime, _, _) in stats.items():
        label = next((label for label, test in LIBRARIES if test(file, name)), None)
        if label is None:
            rest += tottime
        else:
            totals[label] += tottime
    return [*sorted(totals.items(), key=lambda kv: -kv[1]), ("everything else (stdlib, builtins)", rest)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--source", default="demo-newsrooms", help="a source of the world, or 'all'")
    parser.add_argument("--runs", default="discarded,baseline,database", help=f"which of {', '.join(RUNS)}")
    parser.add_argument("--refresh-settings", action="store_true",
                        help="crawl with the refresh's settings (AutoThrottle, each source's politeness, "
                             "resumable job directory) instead of as fast as the server allows")
    parser.add_argument("--parallel", type=int, default=1,
                        help="crawl processes at once with --source all (the flow's AIMAP_CRAWL_DOMAIN_LIMIT; "
                             "the demo web is one host); default 1, as shipped")
    parser.add_argument("--profile", action="store_true", help="profile the crawl process of the 'database' run")
    parser.add_argument("--profile-dir", type=Path, help="keep the .prof files here (default: a temporary directory)")
    args = parser.parse_args()
    settings = REFRESH if args.refresh_settings else FAST
    with tempfile.TemporaryDirectory(prefix="aimap-bench-crawl-") as tmp:
        tmp_path = Path(tmp)
        os.environ["AIMAP_HOME"] = str(tmp_path / "home")
        manifest = render_site(build_world(seed=args.seed, preset=args.preset), tmp_path / "world")
        sources = ([s.name for s in list_sources(manifest.out_dir / "sources")] if args.source == "all"
                   else [args.source])
        print(f"world {args.preset}: {manifest.documents:,} documents, {manifest.pages:,} files; "
              f"crawling {', '.join(sources)} ({'refresh settings' if args.refresh_settings else 'no delays'}, "
              f"{args.parallel} at once)")
        figures: dict[str, dict[str, float]] = {}
        for label in args.runs.split(","):
            # a fresh server per run: the world's injected faults ("fail the first 2 requests") hit every run alike
            with serve(manifest.out_dir) as server:
                db_url = f"sqlite:///{tmp_path / f'{label}.db'}"
                prepare_database(make_engine(db_url))
                if args.profile and label == "database":
                    os.environ[PROFILE_ENV] = str(args.profile_dir or tmp_path / "profile")
                if any("exchange" in name for name in sources):
                    _import_registry(manifest.registry_csv, db_url)
                extra = dict(RUNS[label])
                if args.refresh_settings and label == "baseline":  # before issue 17: AutoThrottle on loopback too
                    extra["AUTOTHROTTLE_ENABLED"] = "True"
                fig = _crawl(sources, manifest.out_dir, server.base_url, db_url, extra, settings,
                             resumable=args.refresh_settings, parallel=args.parallel)
                os.environ.pop(PROFILE_ENV, None)
                figures[label] = fig
                per_k = 1000 / max(fig["pages"], 1)
                print(f"{label:>10}: {fig['pages']:,.0f} pages in {fig['wall']:.2f} s = "
                      f"{fig['pages'] / fig['wall']:,.0f} pages/s; CPU per 1,000 pages: crawl process "
                      f"{fig['crawler_cpu'] * per_k:.2f} s, demo server {fig['server_cpu'] * per_k:.2f} s", flush=True)
        rate = {k: v["pages"] / v["wall"] for k, v in figures.items()}
        if "baseline" in rate and "database" in rate:
            cpu = {k: figures[k]["crawler_cpu"] / max(figures[k]["pages"], 1) for k in ("baseline", "database")}
            print(f"database / baseline: {rate['database'] / rate['baseline']:.2f}x pages/s, crawl-process CPU per "
                  f"page {cpu['database'] / cpu['baseline']:.2f}x")
        if "discarded" in rate and "database" in rate:
            cost = 1 - rate["database"] / rate["discarded"]
            print(f"pipeline cost: {cost:.1%} of throughput (database / discarded = "
                  f"{rate['database'] / rate['discarded']:.2f}; target cost < 20%)")
        if args.profile and "database" in figures:
            pages = figures["database"]["pages"]
            print(f"\nwhere the crawl process's time goes (database run under cProfile, {pages:,.0f} pages; "
                  "cProfile slows Python code ~1.5-2x, C code not):")
            profiles = sorted((args.profile_dir or tmp_path / "profile").glob("*.prof"))
            rows = breakdown(profiles)
            for label, seconds in rows:
                print(f"  {label:<82} {seconds:7.2f} s  {100 * seconds / rows[0][1]:5.1f}%  "
                      f"{1000 * seconds / max(pages, 1):6.3f} ms/page")
            print("  by library (self time):")
            for label, seconds in by_library(profiles):
                print(f"    {label:<80} {seconds:7.2f} s  {100 * seconds / rows[0][1]:5.1f}%  "
                      f"{1000 * seconds / max(pages, 1):6.3f} ms/page")


def _import_registry(registry_csv: Path, db_url: str) -> None:
    """The exchange spider queries the listed firms of the registry: import it into the run's database."""
    from db.session import session_factory
    from etl.registry import import_registry

    with session_factory(make_engine(db_url))() as session, session.begin():
        import_registry(session, registry_csv)


if __name__ == "__main__":
    main()
