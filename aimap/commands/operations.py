"""``aimap refresh``, ``serve``, ``deploy`` and ``gate``: the annual refresh and the Prefect
deployments, and the operator's view of the data-quality gate."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from aimap.runtime import console, err, fail, prepared, print_table, stop_on_signals, tagged
from analysis.quality import GateError, evaluate, record_override, result_table
from db.errors import source_causes
from db.runs import Ledger
from db.session import session_scope
from flows.deployments import deploy_all, load_specs, serve_all
from flows.labels import labelled
from flows.refresh import RefreshError, annual_refresh, edition_and_cutoff

gate_app = typer.Typer(help="The data-quality gate of the annual refresh: results and operator overrides.",
                       no_args_is_help=True)


def refresh(
    edition: Annotated[int | None, typer.Option(help="Edition year (default: this year, Asia/Shanghai).")] = None,
    cutoff: Annotated[str | None, typer.Option(help="Data cut-off YYYY-MM-DD (default: 31 December before).")] = None,
    source: Annotated[list[str] | None, typer.Option("--source", help="Only these sources (repeat).")] = None,
    sources: Annotated[Path | None, typer.Option("--sources", help="Directory of source files (default: crawlers/sources).")] = None,
    base_url: Annotated[str | None, typer.Option(help="Fills {base_url} in the sources' URLs.")] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Redo every step (default: resume what did not complete).")] = False,
    charts: Annotated[bool, typer.Option("--charts/--no-charts", help="Draw the report's charts.")] = True,
    retries: Annotated[int, typer.Option(min=0, help="Retries of a failed crawl.")] = 2,
    retry_delay: Annotated[float, typer.Option(min=0, help="First retry delay in seconds (doubles, 50% jitter).")] = 10.0,
) -> None:
    """Run the annual refresh now: crawl -> ETL -> data-quality gate -> analysis -> publish.

    Re-running it for the same edition resumes after a failure without redoing finished steps.
    A failed gate stops it before the analysis; see `aimap gate show` and `aimap gate override`.
    """
    prepared()
    try:
        cutoff_date = dt.date.fromisoformat(cutoff) if cutoff else None
    except ValueError:
        fail(f"--cutoff must be a date YYYY-MM-DD, got {cutoff!r}")
    try:
        year, _ = edition_and_cutoff(edition, cutoff_date)  # a mistake is one line here, not a failed flow run
    except RefreshError as exc:
        fail(str(exc))
    try:
        with stop_on_signals(), labelled(year):
            result = annual_refresh(edition, cutoff_date, sources=source,
                                    sources_dir=str(sources) if sources else None, base_url=base_url, fresh=fresh,
                                    charts=charts, retries=retries, retry_delay_seconds=retry_delay)
    except Exception as exc:  # noqa: BLE001 - the flow has logged and recorded it
        fail(f"the refresh failed: {exc}\nfix the cause (or `aimap gate override`), then re-run the same command: it resumes")
    console.print(f"edition {result['edition']} (cut-off {result['cutoff_date']}): steps run now: "
                  f"{', '.join(result['ran']) or 'none (already published)'}", highlight=False)
    if result.get("overridden"):
        err.print(tagged("OVERRIDDEN:", "yellow", f"edition {result['edition']} was published {result['overridden']}"),
                  highlight=False)
    console.print(f"report: {result['report']}", highlight=False)


def serve(
    limit: Annotated[int | None, typer.Option(help="At most this many flow runs at once.")] = None,
) -> None:
    """Serve every deployment (weekly crawl + ETL, the yearly refresh in January, crawl/etl/analyze on demand)
    in this process until interrupted. Needs a Prefect server: set PREFECT_API_URL (schedules live there)."""
    if not os.environ.get("PREFECT_API_URL"):
        err.print(tagged("warning:", "yellow", "PREFECT_API_URL is unset: the ephemeral API keeps no schedules "
                         "after this process; start `prefect server start` and set PREFECT_API_URL"), highlight=False)
    prepared()
    _pool, specs = load_specs()
    for spec in specs:
        console.print(f"deployment {spec.name}: {spec.entrypoint}, "
                      f"{'cron ' + spec.cron + ' ' + spec.timezone if spec.cron else 'on demand'}", highlight=False)
    serve_all(limit=limit)


def deploy(
    pool: Annotated[str | None, typer.Option(help="Work pool (default: the one prefect.yaml names, aimap-pool).")] = None,
    source: Annotated[str | None, typer.Option(help="Code location as the workers see it (default: this checkout; "
                                                    "/app in the docker image).")] = None,
) -> None:
    """Register every deployment of prefect.yaml and its schedule on a work pool, for workers."""
    ids = deploy_all(pool, source)
    console.print(f"{len(ids)} deployments registered on work pool {pool or load_specs()[0]}", highlight=False)


@gate_app.command("show")
def gate_show(
    edition: Annotated[int, typer.Option(help="Edition year.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Evaluate the declared checks (analysis/data/checks.yml) for an edition now, without recording anything.

    Under the table: per crawl source of the edition's refresh, the root causes — the most frequent
    recorded problems with counts and an example address (`aimap errors` for all of them).
    """
    prepared()
    with session_scope() as session:
        result = evaluate(session, edition)
        causes = source_causes(session, Ledger(edition).steps())
    if as_json:
        print(json.dumps({**result.as_dict(), "root_causes": {
            s: {"state": c.state, "failed_requests": c.failed_requests, "reasons": [r.as_dict() for r in c.reasons]}
            for s, c in causes.items()}}, ensure_ascii=False, indent=2, default=str))
        return
    table = Table("check", "result", "value", "limit", "detail")
    for row in result_table(result):
        style = "red bold" if row["result"] == "FAIL" else "yellow" if row["result"] == "overridden" else "green"
        table.add_row(row["check"], Text(row["result"], style=style), Text(str(row["value"])), Text(str(row["limit"])),
                      Text(str(row["detail"])))
    print_table(table)
    troubled = [c for c in causes.values() if c.reasons or c.state != "completed"]
    if troubled:
        console.print("root causes (crawl, per source):", highlight=False)
    for c in troubled:
        console.print(f"  {c.source}: {c.state}, {c.failed_requests} problem(s) recorded", highlight=False,
                      markup=False)
        for r in c.reasons:
            console.print(f"    {r.reason} ×{r.count} ({r.kind}), e.g. {r.example}", highlight=False, markup=False)
    if not result.passed:
        console.print(result.message(), highlight=False, markup=False)
        raise typer.Exit(1)


@gate_app.command("override")
def gate_override(
    edition: Annotated[int, typer.Option(help="Edition year.")],
    reason: Annotated[str, typer.Option(help="Why the failed checks are acceptable (recorded, shown in the "
                                             "report manifest).")],
    check: Annotated[list[str] | None, typer.Option("--check", help="Checks to override (default: those that "
                                                                    "failed at the edition's last gate).")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who decides (default: your login name).")] = None,
) -> None:
    """Override failed gate checks of an edition with a recorded reason; then re-run `aimap refresh`."""
    prepared()
    try:
        recorded = record_override(edition, reason, by=by, checks=check)
    except GateError as exc:
        fail(str(exc))
    console.print(f"override {recorded['id']} recorded for edition {edition} by {recorded['by']}: "
                  f"{', '.join(recorded['checks'])} — now run `aimap refresh --edition {edition}`", highlight=False)

