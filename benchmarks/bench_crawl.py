"""Crawl throughput with the database pipeline versus the same spider with items discarded.

    .venv/bin/python benchmarks/bench_crawl.py [--preset small] [--seed 7] [--source demo-newsrooms]

Generates the demo world, serves it on 127.0.0.1 and crawls one source twice in the same run,
each time from scratch: (a) the full item pipeline writing to a fresh SQLite database, (b) the
same spider with ITEM_PIPELINES disabled (items discarded). Conditional requests and
AutoThrottle are off so both runs fetch every page as fast as the server allows. Prints pages
per second for both and the pipeline's cost (target: under 20%).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawlers.run import run_crawl  # noqa: E402
from db.bootstrap import prepare_database  # noqa: E402
from db.session import make_engine  # noqa: E402
from demosite.render import render_site  # noqa: E402
from demosite.server import serve  # noqa: E402
from demosite.world import build_world  # noqa: E402

FAST = {"AUTOTHROTTLE_ENABLED": "False", "DOWNLOAD_DELAY": "0", "AIMAP_CONDITIONAL": "False",
        "CONCURRENT_REQUESTS": "16", "CONCURRENT_REQUESTS_PER_DOMAIN": "16", "LOG_LEVEL": "WARNING"}


def _crawl(source: str, world: Path, base_url: str, db_url: str, extra: dict[str, str]) -> tuple[float, int]:
    started = time.perf_counter()
    result = run_crawl(source, sources_dir=world / "sources", base_url=base_url, db_url=db_url,
                       resumable=False, extra_settings={**FAST, **extra})
    elapsed = time.perf_counter() - started
    return elapsed, result.counts["responses"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--source", default="demo-newsrooms")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aimap-bench-crawl-") as tmp:
        tmp_path = Path(tmp)
        os.environ["AIMAP_HOME"] = str(tmp_path / "home")
        manifest = render_site(build_world(seed=args.seed, preset=args.preset), tmp_path / "world")
        print(f"world {args.preset}: {manifest.documents:,} documents, {manifest.pages:,} files")
        with serve(manifest.out_dir) as server:
            figures = {}
            for label, extra in (("discarded", {"ITEM_PIPELINES": "{}"}), ("database", {})):
                db_url = f"sqlite:///{tmp_path / f'{label}.db'}"
                prepare_database(make_engine(db_url))
                elapsed, pages = _crawl(args.source, manifest.out_dir, server.base_url, db_url, extra)
                figures[label] = pages / elapsed
                print(f"{label:>10}: {pages:,} pages in {elapsed:.2f} s = {pages / elapsed:,.0f} pages/s")
        cost = 1 - figures["database"] / figures["discarded"]
        print(f"pipeline cost: {cost:.1%} of throughput (database / discarded = {figures['database'] / figures['discarded']:.2f}; target cost < 20%)")


if __name__ == "__main__":
    main()
