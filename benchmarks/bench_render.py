"""Rendering the demo world to its public web: time, files and size per preset.

    .venv/bin/python benchmarks/bench_render.py [--presets tiny,small,medium,report] [--seed 7]

The world model's own generation time and calibration are in bench_world.py; this measures the
rendering of a built world (pages of every site, the exchange index, registry, sources and ground
truth): the page construction alone (``build_pages``, in memory), the full render to disk, and as a
baseline in the same run the time to write the same number of files of the same total size, so the
figures separate page construction from file-system cost.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from demosite.render import build_pages, render_site  # noqa: E402
from demosite.world import build_world  # noqa: E402


def _size(root: Path) -> tuple[int, int]:
    files = [p for p in root.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="tiny,small,medium")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(f"{'preset':>8} {'events':>9} {'documents':>10} {'files':>9} {'MB':>8} {'model s':>8} {'pages s':>8} "
          f"{'render s':>9} {'files-only s':>12} {'render/files':>12}")
    for preset in args.presets.split(","):
        with tempfile.TemporaryDirectory(prefix="aimap-bench-render-") as tmp:
            t0 = time.perf_counter()
            world = build_world(seed=args.seed, preset=preset)
            t1 = time.perf_counter()
            build_pages(world)
            t2 = time.perf_counter()
            manifest = render_site(world, Path(tmp) / "w")
            t3 = time.perf_counter()
            files, size = _size(Path(tmp) / "w")
            payload = b"x" * max(1, size // max(files, 1))
            baseline = Path(tmp) / "baseline"
            t4 = time.perf_counter()
            for i in range(files):
                target = baseline / f"{i // 500}" / f"{i}.html"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(payload)
            t5 = time.perf_counter()
            shutil.rmtree(Path(tmp) / "w")
            print(f"{preset:>8} {manifest.events:>9,} {manifest.documents:>10,} {files:>9,} {size / 1e6:>8.1f} "
                  f"{t1 - t0:>8.1f} {t2 - t1:>8.1f} {t3 - t2:>9.1f} {t5 - t4:>12.2f} {(t3 - t2) / max(t5 - t4, 1e-6):>12.1f}")


if __name__ == "__main__":
    main()
