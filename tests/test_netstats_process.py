"""``aimap netstats`` as a whole process (issue 17): the numba kernels are cached under
``AIMAP_HOME`` and loaded, not compiled, by the next process; the command loads none of the
heavy modules the other commands need. Times are measured in benchmarks/bench_netstats.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from common.config import use_numba_cache

ROOT = Path(__file__).resolve().parents[1]
KERNELS = ("distance_histogram", "clustering_per_node", "bfs_rank")  # the parallel ones and a serial one

#: A small directed graph with a cycle, a hub and a self-loop: every kernel runs on it.
EDGES = "Source,Target\na,b\nb,c\nc,a\na,d\nd,a\na,e\ne,e\nf,a\n"


def _run(code: str, home: Path, *, debug_cache: bool = False) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env["AIMAP_HOME"] = str(home)
    if debug_cache:
        env["NUMBA_DEBUG_CACHE"] = "1"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600, check=True)


def test_kernels_compile_once_into_aimap_home(tmp_path: Path) -> None:
    """The first process writes every kernel's cache index under <AIMAP_HOME>/numba; a second
    process with the same AIMAP_HOME loads each one from there and saves nothing new."""
    home = tmp_path / "home"
    code = ("import numpy as np; from analysis.metrics import compute_netstats; "
            "print(compute_netstats(np.array([0, 1, 2, 0, 3, 0, 4, 5]), np.array([1, 2, 0, 3, 0, 4, 4, 0])).as_dict())")
    first = _run(code, home, debug_cache=True)
    cache = home / "numba"
    for kernel in KERNELS:
        assert list(cache.rglob(f"_bfs.{kernel}-*.nbi")), f"no cache index of {kernel} in {cache}"
        assert list(cache.rglob(f"_bfs.{kernel}-*.nbc")), f"no compiled data of {kernel} in {cache}"
    assert "data saved to" in first.stdout + first.stderr

    second = _run(code, home, debug_cache=True)
    log = second.stdout + second.stderr
    assert second.stdout.splitlines()[-1] == first.stdout.splitlines()[-1]
    for kernel in KERNELS:
        loaded = [line for line in log.splitlines() if "data loaded from" in line and f"_bfs.{kernel}-" in line]
        assert loaded and all(str(cache) in line for line in loaded), f"{kernel} not loaded from {cache}:\n{log}"
    assert "data saved to" not in log, f"the second process compiled again:\n{log}"


def test_explicit_numba_cache_dir_wins(tmp_path: Path) -> None:
    """An operator's NUMBA_CACHE_DIR is kept (the AIMAP_HOME default only applies when it is unset)."""
    home, elsewhere = tmp_path / "home", tmp_path / "kernels"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(AIMAP_HOME=str(home), NUMBA_CACHE_DIR=str(elsewhere))
    code = "import analysis._bfs, numba; print(numba.config.CACHE_DIR)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600, check=True)
    assert done.stdout.strip() == str(elsewhere.resolve())


def test_netstats_process_loads_no_heavy_module(tmp_path: Path) -> None:
    """``aimap netstats`` prints its JSON without importing Prefect, the database layer, networkx or
    the report code (the lazy command registration of aimap.cli)."""
    edges = tmp_path / "edges.csv"
    edges.write_text(EDGES, encoding="utf-8")
    code = (
        "import sys; from aimap.cli import app\n"
        f"try:\n    app(['netstats', {str(edges)!r}])\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "heavy = ('prefect', 'sqlalchemy', 'networkx', 'pandas', 'flows', 'db', 'etl', 'crawlers', 'analysis.report')\n"
        "print(sorted({m for m in sys.modules if m in heavy or m.split('.')[0] in heavy}))"
    )
    done = _run(code, tmp_path / "home")
    out = done.stdout
    result = json.loads(out[: out.rindex("}") + 1])
    assert list(result) == ["nodes", "edges", "avg_degree", "diameter", "avg_path_length", "avg_clustering"]
    assert (result["nodes"], result["edges"]) == (6, 8)
    assert out.splitlines()[-1] == "[]"


def test_unusable_home_leaves_numba_its_default(tmp_path: Path, monkeypatch) -> None:
    """An AIMAP_HOME that cannot be created does not break importing the kernels: numba keeps its places."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    monkeypatch.setenv("AIMAP_HOME", str(blocker / "home"))
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    assert use_numba_cache() is None
    assert "NUMBA_CACHE_DIR" not in os.environ
