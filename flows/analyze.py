"""The analysis flow: the yearly networks, every table and figure, the report bundle of an edition.

A thin wrapper over :func:`analysis.report.build_report` (definitions of every statistic are
in :mod:`analysis.network`, :mod:`analysis.metrics`, :mod:`analysis.measures`). It adds what an
operator reads: a progress artifact (one step per yearly network, then the statistics and the
bundle), log lines naming each network, and two table artifacts — Table 1 of the edition
(``table1-<edition>``) and the 20 nodes of highest degree centrality in the network of year
E-1 (``top-nodes-<edition>``: in + out degree on unique pairs, ties by name then id, as Tables
2 and 3 rank them). Within an annual refresh the run is the edition's ``analyze`` step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_progress_artifact, create_table_artifact, update_progress_artifact
from sqlalchemy import select

from analysis.loaders import display_names, edition_years
from analysis.measures import top_nodes
from analysis.report import build_report
from common.config import out_dir
from db.models import Organisation
from db.runs import Ledger, end_state, finish_run, start_run
from db.session import session_scope
from flows.labels import label_run, run_name, today
from flows.notify import notify_failure

TOP_NODES = 20


def top_node_rows(session: Any, result: Any, k: int = TOP_NODES) -> list[dict[str, Any]]:
    """The ``k`` nodes of highest degree centrality in the edition's latest network, as table rows."""
    edges = result.stats.latest.edges
    in_deg, out_deg = edges.degrees()
    ids = edges.nodes
    display = display_names(session)
    wanted = [int(i) for i in ids]
    info = {oid: (name, sample) for oid, name, sample in session.execute(
        select(Organisation.id, Organisation.name, Organisation.is_sample).where(Organisation.id.in_(wanted)))}
    labels = [display.get(int(i), info.get(int(i), (str(i), False))[0]) for i in ids]
    rows = []
    for rank, pos in enumerate(top_nodes(ids, labels, in_deg, out_deg, k), 1):
        oid = int(ids[pos])
        name, sample = info.get(oid, (labels[pos], False))
        rows.append({"rank": rank, "name": labels[pos], "full_name": name, "sample_firm": bool(sample),
                     "in_degree": int(in_deg[pos]), "out_degree": int(out_deg[pos]),
                     "degree": int(in_deg[pos] + out_deg[pos])})
    return rows


@flow(name="aimap-analyze", log_prints=True, on_failure=[notify_failure],
      flow_run_name=run_name("analyze", default=lambda: f"latest-{today()}"))
def analyze_flow(
    edition: int | None = None,
    window: int | None = None,
    mutual: str = "reporter",
    charts: bool = True,
    out: str | None = None,
    refresh: bool = False,
) -> dict[str, Any]:
    """Build the report bundle of ``edition`` (default: latest data year + 1) into ``out``/<edition>/.

    ``refresh`` files the run as the ``analyze`` step of the edition's refresh ledger.
    Returns the edition, the bundle directory, the files, Table 1's rows and the top nodes.
    """
    logger = get_run_logger()
    label_run(f"analyze-{edition}" if edition is not None else f"analyze-latest-{today()}", edition)
    target = Path(out) if out else out_dir()
    ledger = Ledger(edition) if refresh and edition is not None else None
    record = ledger.start("analyze", window=window, mutual=mutual) if ledger is not None else None
    run_id = start_run("analyze", {"edition": edition, "window": window, "mutual": mutual, "out": str(target)})
    try:
        with session_scope() as session:
            years = len(edition_years(session, edition)) if edition is not None else 10
            progress = create_progress_artifact(0.0, description=f"analysis of edition {edition}: networks, "
                                                                 "statistics, bundle")
            done = [0]

            def say(message: str) -> None:
                logger.info("analysis: %s", message)
                if message.startswith(("network ", "statistics")):
                    done[0] += 1
                    update_progress_artifact(progress, min(95.0, 100.0 * done[0] / (years + 2)))

            result = build_report(session, target, edition=edition, window=window, mutual=mutual, run_id=run_id,
                                  charts=charts, progress=say)
            top = top_node_rows(session, result)
        update_progress_artifact(progress, 100.0)
    except BaseException as exc:
        finish_run(run_id, state=end_state(exc), message=f"{type(exc).__name__}: {exc}")
        if ledger is not None and record is not None:
            ledger.finish(record, state=end_state(exc), message=f"{type(exc).__name__}: {exc}")
        raise
    assert result.stats is not None
    table1 = result.stats.tables["table1"].records()
    counts = {"years": len(result.rows), "snapshots_new": result.snapshots_new, "files": len(result.files)}
    finish_run(run_id, counts=counts)
    directory = str(result.directory or target / str(result.edition))
    if ledger is not None and record is not None:
        ledger.finish(record, counts={**counts, "run_id": run_id, "directory": directory})
    create_table_artifact(key=f"table1-{result.edition}", table=table1,
                          description=f"Table 1 of edition {result.edition}: yearly networks (Gephi 0.9.2 statistics)")
    create_table_artifact(key=f"top-nodes-{result.edition}", table=top,
                          description=f"top {TOP_NODES} nodes by degree centrality, network {result.edition - 1}")
    logger.info("analysis of edition %d: %d files in %s", result.edition, len(result.files), directory)
    return {"edition": result.edition, "run_id": run_id, "directory": directory,
            "files": [str(f) for f in result.files], "table1": table1, "top_nodes": top,
            "snapshots_new": result.snapshots_new}
