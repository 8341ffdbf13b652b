"""The data-quality gate of an annual refresh as a Prefect flow.

The checks, their declarations (``analysis/data/checks.yml``), the overrides and the verdict are
:mod:`analysis.quality`'s; :func:`gate_flow` evaluates them for an edition, records the result as
the edition's ``gate`` step in the refresh ledger (:class:`db.runs.Ledger`), leaves a table and a
markdown artifact for operators and, when a check failed, stops the refresh with
:class:`GateFailed` listing what failed — unless an operator overrode exactly those checks with a
recorded reason (:func:`analysis.quality.record_override`, ``aimap gate override``), in which case
the gate passes as *overridden* and the reason goes into the step record, the artifacts and the
report manifest.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from analysis.quality import GATE_STEP, evaluate, result_markdown, result_table
from db.errors import cause_lines, source_causes
from db.runs import Ledger
from db.session import session_scope
from flows.labels import label_run, overridden_state, run_name
from flows.notify import notify_failure


class GateFailed(RuntimeError):
    """The gate failed: the message lists every failed check and how to override."""


@flow(name="aimap-gate", log_prints=True, on_failure=[notify_failure], flow_run_name=run_name("gate"))
def gate_flow(edition: int) -> Any:
    """Evaluate the gate of ``edition``, record it as the ``gate`` step; raise :class:`GateFailed` if it fails.

    The summary artifact shows FAIL in bold and, under the table, the root causes per crawl source
    (:func:`db.errors.source_causes`). Passed by an override, the run ends in the Completed state
    named Overridden (the caller still gets the result dict).
    """
    logger = get_run_logger()
    label_run(f"gate-{edition}", edition)
    ledger = Ledger(edition)
    record = ledger.start(GATE_STEP)
    with session_scope() as session:
        result = evaluate(session, edition, ledger)
        causes = cause_lines(source_causes(session, ledger.steps()))
    data = result.as_dict()
    create_table_artifact(key=f"gate-{edition}", table=result_table(result),
                          description=f"data-quality gate of edition {edition} "
                                      f"(analysis/data/checks.yml v{result.version})")
    summary = result_markdown(result).replace("| FAIL |", "| **FAIL** |")
    if causes:
        summary += "\n\n### Root causes (crawl, per source)\n\n" + "\n".join(causes) + "\n"
    create_markdown_artifact(key=f"gate-{edition}-summary", markdown=summary,
                             description=f"data-quality gate of edition {edition}")
    for row in result_table(result):
        logger.info("gate %s: %s (%s; limit %s)", row["check"], row["result"], row["detail"], row["limit"])
    if not result.passed:
        ledger.finish(record, counts=data, state="failed", message=result.message())
        raise GateFailed(result.message())
    ledger.finish(record, counts=data, message=result.message() if result.overridden else None)
    if result.overridden:
        logger.warning("%s", result.message())
        return overridden_state(data, result.message().splitlines()[-1])
    return data
