"""``aimap netstats``: Gephi 0.9.2's statistics of any directed edge list, as JSON.

A module of its own: ``aimap netstats`` is meant to be a whole process of about a second
(issue 17), so it imports only :mod:`analysis.metrics` (numpy and the cached numba kernels) and
:mod:`aimap.output` — not the database, Prefect or the report code that the other commands need.
:mod:`aimap.cli` imports a command's module only when that command runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from aimap.output import fail
from analysis.metrics import EdgeListError, compute_netstats, read_edge_list


def netstats(
    edges: Annotated[Path, typer.Argument(metavar="EDGES.csv", help="UTF-8 CSV with a header holding Source and "
                                          "Target columns (any case); other columns are ignored.")],
    approximate: Annotated[bool, typer.Option("--approximate", help="Sample BFS sources instead of all (graphs too "
                                              "large for the exact run); adds the error bounds to the output.")] = False,
    samples: Annotated[int, typer.Option(min=1, help="Sources sampled with --approximate.")] = 4096,
    seed: Annotated[int, typer.Option(help="Random seed of --approximate.")] = 0,
) -> None:
    """Gephi 0.9.2 network statistics of any directed edge list, printed as JSON (full precision).

    Keys: nodes, edges, avg_degree (edges/nodes), diameter and avg_path_length (directed BFS,
    unreachable pairs ignored), avg_clustering (Gephi's directed definition). Repeated pairs are
    merged, self-loops kept, as Gephi's import does. The same code computes the report's Table 1.
    """
    try:
        labels, sources, targets = read_edge_list(edges)
    except EdgeListError as exc:
        fail(str(exc))
    stats = compute_netstats(sources, targets, len(labels), approximate=approximate, seed=seed, sample_size=samples)
    result: dict[str, object] = dict(stats.as_dict())
    if stats.approximation is not None:
        result["approximation"] = stats.approximation.as_dict()
    print(json.dumps(result, indent=2))
