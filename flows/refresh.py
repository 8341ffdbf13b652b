"""The annual refresh and the weekly update: the stage flows chained for operators.

``annual_refresh(edition_year, cutoff_date)`` rebuilds an edition of the report after its data
cut-off: subflows **crawl -> etl -> gate -> analyze -> publish**. Every step (and every source of
the crawl) is recorded per edition in ``pipeline_runs`` (:mod:`db.runs`), so running the
refresh of the same edition again after a failure resumes it: steps that completed are skipped
— unless a step before them ran again in this run (new documents, a re-evaluated gate), since
their input changed — and the failed step is retried. ``fresh=True`` forgets the earlier steps.
A failing source does not stop the crawl of the others nor the ETL; the data-quality gate then
fails on it and stops the refresh before the analysis (see :mod:`analysis.quality` for overrides).

*Publish* (:func:`analysis.publish.publish_bundle`) writes ``MANIFEST.json`` into the edition's
bundle (every file with its size and SHA-256, the cut-off, the step records, the gate's verdict
and any override with its reason), points ``<out>/LATEST`` at the newest published edition and
records which sample firms have relations (the next edition's gate compares with it).

On PostgreSQL the ETL also runs beside the crawl (:class:`EtlDuringCrawl`): passes over what the
crawl has stored so far, filed as ``etl:during-crawl``; the ``etl`` step then takes the rest.

``weekly_update`` is the incremental crawl + ETL the scheduler runs every week.

Every run leaves a keyed markdown summary (``annual-refresh-<edition>``, ``weekly-update``) with
documents crawled/new/changed/failed per source, events added/updated/terminated, quarantine
counts, the review-queue size and the gate's results.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import os
import threading
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from analysis.publish import MANIFEST, publish_bundle
from analysis.quality import GATE_STEP, CheckResult, GateResult, firms_with_relations, result_table
from common.config import database_url, out_dir, safe_url
from crawlers.sources import enabled_sources
from db.errors import SourceCauses, cause_lines, source_causes, top_reasons
from db.runs import (
    ETL_DURING_CRAWL_STEP,
    PUBLISH_STEP,
    REFRESH_STEPS,
    Ledger,
    Step,
    end_state,
    etl_passes,
    finish_run,
    start_run,
)
from db.session import session_scope
from etl import pipeline
from etl.review import list_items
from flows import config
from flows.analyze import analyze_flow
from flows.crawl import CrawlFailures, crawl_flow
from flows.etl import run_etl_flow, stop_between_waves
from flows.gate import gate_flow
from flows.labels import (
    OVERRIDDEN,
    crawl_run_name,
    label_run,
    labelled,
    overridden_state,
    run_name,
    this_year,
    today,
)
from flows.notify import notify_failure

TIMEZONE = ZoneInfo("Asia/Shanghai")
STEPS = REFRESH_STEPS  # crawl, etl, gate (GATE_STEP), analyze, publish
ETL_COUNTS = ("documents", "relations", "events_new", "events_updated", "events_terminated", "events_removed",
              "mentions_new", "organisations_new", "merges", "quarantined", "undated_historical")


class RefreshError(RuntimeError):
    """The refresh cannot run with these parameters (e.g. the cut-off has not passed)."""


def edition_and_cutoff(edition_year: int | None, cutoff_date: dt.date | None,
                       today: dt.date | None = None) -> tuple[int, dt.date]:
    """The edition (default: this year in Asia/Shanghai) and its cut-off (default: 31 December before it)."""
    today = today or dt.datetime.now(TIMEZONE).date()
    edition = int(edition_year) if edition_year else today.year
    cutoff = cutoff_date or dt.date(edition - 1, 12, 31)
    if cutoff >= today:
        raise RefreshError(f"the data cut-off {cutoff} of edition {edition} has not passed yet (today is {today} "
                           "in Asia/Shanghai); run the refresh after it")
    if cutoff.year >= edition:
        raise RefreshError(f"cut-off {cutoff} must lie before edition year {edition} (the edition reports up to "
                           f"{edition - 1})")
    return edition, cutoff


@flow(name="aimap-publish", log_prints=True, on_failure=[notify_failure], flow_run_name=run_name("publish"))
def publish_flow(edition: int, cutoff_date: dt.date, directory: str) -> dict[str, Any]:
    """Publish the bundle in ``directory``: manifest, ``LATEST`` pointer, firms with relations recorded."""
    logger = get_run_logger()
    label_run(f"publish-{edition}", edition)
    ledger = Ledger(edition)
    record = ledger.start(PUBLISH_STEP, directory=directory)
    bundle = Path(directory)
    try:
        with session_scope() as session:
            firms = firms_with_relations(session, edition - 1)
        published = publish_bundle(bundle, edition=edition, cutoff_date=cutoff_date,
                                   published_at=dt.datetime.now(TIMEZONE), database=safe_url(),
                                   steps=ledger.steps(), gate=ledger.completed(GATE_STEP))
        files = published.files
    except BaseException as exc:
        ledger.finish(record, state=end_state(exc), message=f"{type(exc).__name__}: {exc}")
        raise
    counts = {"files": len(files), "directory": str(bundle), "sample_firms_with_relations": firms}
    ledger.finish(record, counts=counts)
    logger.info("published edition %d: %d files in %s (%d sample firms with relations)", edition, len(files),
                bundle, len(firms))
    return {"edition": edition, "directory": str(bundle), "files": len(files), "manifest": str(bundle / MANIFEST)}


# --------------------------------------------------------------------------- the summary


def _review_queue() -> dict[str, int]:
    try:
        with session_scope() as session:
            items = list_items(session)
    except Exception:  # noqa: BLE001 - the summary must not fail on an optional part
        return {}
    return {"merges": sum(1 for i in items if i.kind == "merge"), "events": sum(1 for i in items if i.kind == "event")}


def crawl_rows(steps: list[Step], causes: dict[str, SourceCauses] | None = None) -> list[dict[str, Any]]:
    """Per source, its latest crawl step of the edition (documents delivered/new/changed/failed).

    ``failed_requests`` is the larger of the crawl's own count and the problems its runs recorded
    (``causes``): a source whose crawl failed reports no counts of its own, yet its errors are there.
    """
    latest: dict[str, Step] = {}
    for s in steps:
        if s.step.startswith("crawl:"):
            latest[s.step.split(":", 1)[1]] = s
    rows = []
    for source, s in sorted(latest.items()):
        c = s.counts
        rows.append({"source": source, "state": s.state, "delivered": c.get("delivered", 0),
                     "new": c.get("documents_new", 0), "changed": c.get("documents_changed", 0),
                     "not_modified": c.get("documents_not_modified", 0),
                     "failed_requests": max(int(c.get("errors", 0) or 0),
                                            causes[source].failed_requests if causes and source in causes else 0),
                     "error": (s.message or "").strip() if s.state != "completed" and s.message else ""})
    return rows


def _recent_causes(since: dt.datetime) -> dict[str, tuple[int, list[Any]]]:
    """Per crawl source, the problems recorded since ``since`` and its three top reasons (weekly summary)."""
    try:
        with session_scope() as session:
            groups = top_reasons(session, stage="crawl", since=since, per_group=10_000)
    except Exception:  # noqa: BLE001 - the summary must not fail on an optional part
        return {}
    return {src or "-": (sum(r.count for r in reasons), reasons[:3]) for (_stage, src), reasons in groups.items()}


def etl_totals(steps: list[Step]) -> dict[str, int]:
    """Counts of every completed ETL pass of the edition (beside the crawl and after it), added up."""
    total = dict.fromkeys(ETL_COUNTS, 0)
    for s in etl_passes(steps):
        for k in ETL_COUNTS:
            total[k] += int(s.counts.get(k, 0) or 0)
    return total


def _when(moment: dt.datetime) -> str:
    return moment.isoformat(sep=" ", timespec="seconds")


def _causes(steps: list[Step]) -> dict[str, SourceCauses]:
    try:
        with session_scope() as session:
            return source_causes(session, steps)
    except Exception:  # noqa: BLE001 - the summary must not fail on an optional part
        return {}


def _cell(text: str) -> str:
    """A markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def refresh_summary(edition: int, cutoff: dt.date, state: str, ran: list[str], ledger: Ledger,
                    report: str | None) -> str:
    """The operator's markdown summary of an annual refresh (from the ledger: counts survive resumes).

    The headline says the state — with the override (checks, who, why) when the gate was
    overridden. Under the crawl table, every source with problems gets its root causes (the most
    frequent recorded reasons with counts and an example address) and its full error message;
    table cells stay short.
    """
    steps = ledger.steps()
    lines = [f"# Annual refresh, edition {edition}: {state}", "",
             f"- data cut-off: {cutoff}; database: `{safe_url()}`",
             f"- steps run now: {', '.join(ran) or 'none (everything had completed)'}",
             f"- report: `{report}`" if report else "- report: not built yet", "", "## Steps", "",
             "| step | state | finished |", "|---|---|---|"]
    for name in STEPS:
        found = [s for s in steps if s.step == name or s.step.startswith(f"{name}:")]
        if name == "crawl" and found:
            failed = [r["source"] for r in crawl_rows(steps) if r["state"] != "completed"]
            ends = [s.finished_at for s in found if s.finished_at]
            lines.append(f"| crawl | {'failed: ' + ', '.join(failed) if failed else 'completed'} | "
                         f"{_when(max(ends)) if ends else ''} |")
            continue
        last = found[-1] if found else None
        lines.append(f"| {name} | {last.state if last else 'not run'} | "
                     f"{_when(last.finished_at) if last and last.finished_at else ''} |")
    causes = _causes(steps)
    rows = crawl_rows(steps, causes)
    if rows:
        lines += ["", "## Crawl, per source", "", "| source | state | delivered | new | changed | not modified | "
                  "failed requests | error |", "|---|---|---|---|---|---|---|---|"]
        lines += [f"| {r['source']} | {r['state'] if r['state'] == 'completed' else '**FAILED**'} | {r['delivered']} | "
                  f"{r['new']} | {r['changed']} | {r['not_modified']} | {r['failed_requests']} | "
                  f"{'see below' if r['error'] else ''} |" for r in rows]
        found = cause_lines(causes)
        errors = [r for r in rows if r["error"]]
        if found or errors:
            lines += ["", "### Root causes", "", *found]
            for r in errors:
                lines += ["", f"**{r['source']}** — {r['state']}:", "", "```", r["error"], "```"]
    etl = etl_totals(steps)
    lines += ["", "## ETL (all passes of the edition)", "",
              f"- documents processed {etl['documents']}, relations {etl['relations']}",
              f"- events added {etl['events_new']}, updated {etl['events_updated']}, terminated "
              f"{etl['events_terminated']}, removed {etl['events_removed']}; mentions added {etl['mentions_new']}",
              f"- organisations added {etl['organisations_new']}, merged {etl['merges']}",
              f"- quarantined documents {etl['quarantined']}; historical relations without a year, not loaded "
              f"{etl['undated_historical']}"]
    queue = _review_queue()
    if queue:
        lines.append(f"- review queue: {queue['merges']} merge suggestions, {queue['events']} low-confidence events "
                     "(`aimap review list`)")
    gate = ledger.latest(GATE_STEP)
    if gate is not None and gate.counts.get("checks"):
        result = GateResult(edition, int(gate.counts.get("version", 0)),
                            [CheckResult(**c) for c in gate.counts["checks"]], gate.counts.get("overrides") or [])
        verdict = "passed" if gate.counts.get("passed") and not gate.counts.get("overridden") else (
            "overridden" if gate.counts.get("overridden") else "FAILED")
        lines += ["", f"## Data-quality gate: {verdict}", "", "| check | result | value | limit | detail |",
                  "|---|---|---|---|---|"]
        lines += [f"| {r['check']} | {'**FAIL**' if r['result'] == 'FAIL' else r['result']} | {_cell(r['value'])} | "
                  f"{_cell(r['limit'])} | {_cell(r['detail'])} |" for r in result_table(result)]
        for o in gate.counts.get("overrides") or []:
            lines.append(f"- override by **{o['by']}**: {o['reason']} (checks {', '.join(o['checks'])})")
    return "\n".join(lines) + "\n"


def override_headline(ledger: Ledger) -> str | None:
    """``over failed checks X overridden by Y: reason`` when the edition's gate passed by an override."""
    gate = ledger.completed(GATE_STEP)
    if gate is None or not gate.counts.get("overridden"):
        return None
    overrides = gate.counts.get("overrides") or []
    who = "; ".join(f"{', '.join(o.get('checks') or [])} overridden by {o.get('by')}: {o.get('reason')}"
                    for o in overrides)
    return f"over failed gate checks ({who or 'overridden'})"


#: How much lower the CPU priority of the ETL passes beside the crawl is (``nice`` steps).
NICE = 10


class EtlDuringCrawl:
    """ETL passes over what the crawl has stored so far, in a thread beside the crawl.

    Why: the crawl's Scrapy processes keep about one core busy (the demo web is one host, crawled
    by one process at a time), and an ETL started only after the crawl left the other core idle
    for as long again (issue 17: 1,440 s of crawl, then 1,057 s of ETL, on the ``report`` world).
    Whenever ``minimum`` documents are pending (``AIMAP_ETL_DURING_CRAWL``), an ordinary ETL pass
    takes them — the ``aimap-etl`` flow as a subflow of the refresh, extracting in its loading
    thread, filed in the ledger as ``etl:during-crawl``. That thread runs :data:`NICE` steps below
    the crawl's CPU priority, so the passes mostly take the time the crawl leaves (at the same
    priority, on two cores, they took a core from the crawl). Passes follow each other until the
    crawl ends; the pass under way then stops after the wave it is loading
    (:func:`flows.etl.stop_between_waves`), and the refresh's own ``etl`` pass takes the rest with
    the extraction pool on every core. (A pass takes everything pending when it starts; once the
    crawl outpaced the passes, the last one held tens of thousands of documents that one thread would
    otherwise have extracted alone after the crawl.) The database ends as after an ETL split into
    several runs (what the order fault tests compare with one run).

    A pass that fails (or a failed count of the pending documents) is logged and ends the passes:
    the documents stay pending, and the ``etl`` pass after the crawl takes them (and fails the
    refresh if the fault is still there).

    PostgreSQL only: SQLite has one writer at a time, so the crawl's writes and the loader's would
    queue behind each other, and a reader that wants to write after the other committed fails at
    once. There the passes are off and the ETL runs after the crawl as before.
    """

    #: Seconds between two counts of the pending documents.
    poll_seconds = 5.0

    def __init__(self, edition: int, minimum: int | None = None) -> None:
        self.edition = edition
        self.url = database_url()
        wanted = config.etl_during_crawl() if minimum is None else minimum
        self.minimum = wanted if self.url.startswith("postgresql") else 0
        self.passes = 0
        self.documents = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> EtlDuringCrawl:
        if self.minimum:
            run = contextvars.copy_context().run  # the refresh's flow run: passes are its subflows
            self._thread = threading.Thread(target=run, args=(self._passes,), name="etl-during-crawl", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        self._stop.set()
        if self._thread is None:
            return
        if kind is None:  # the crawl ended: the pass under way stops after its current wave
            if self._thread.is_alive():
                get_run_logger().info("crawl ended: the ETL pass under way stops after the wave it is loading")
            self._thread.join()
        # interrupted: the pass is left to the process's end; its batch rolls back, its documents stay pending

    def _passes(self) -> None:
        logger = get_run_logger()
        logger.info("ETL beside the crawl: a pass whenever %d documents are pending", self.minimum)
        try:  # this thread only (Linux threads are tasks of their own): the crawl keeps its pace
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, 0) + NICE)
        except (OSError, AttributeError):  # not Linux, or not allowed: the passes run at the crawl's priority
            logger.info("ETL beside the crawl: could not lower this thread's priority")
        stop_between_waves(self._stop.is_set)  # this thread's context only: the passes end with the crawl
        while not self._stop.is_set():
            try:
                if len(pipeline.pending(self.url)) < self.minimum:
                    self._stop.wait(self.poll_seconds)
                    continue
                counts = run_etl_flow(edition=self.edition, workers=0, step=ETL_DURING_CRAWL_STEP)
            except Exception as exc:  # noqa: BLE001 - recorded by the pass's flow run; the etl step retries it
                logger.warning("ETL pass beside the crawl failed (%s: %s); no more passes before the crawl ends — "
                               "its documents stay pending for the ETL after the crawl", type(exc).__name__, exc)
                return
            self.passes += 1
            self.documents += int(counts.get("documents", 0))
            logger.info("ETL beside the crawl: pass %d loaded %d documents (%d so far)", self.passes,
                        counts.get("documents", 0), self.documents)


# --------------------------------------------------------------------------- the flows


@flow(name="aimap-annual-refresh", log_prints=True, on_failure=[notify_failure],
      flow_run_name=run_name("annual-refresh", "edition_year", this_year))
def annual_refresh(
    edition_year: int | None = None,
    cutoff_date: dt.date | None = None,
    sources: list[str] | None = None,
    sources_dir: str | None = None,
    base_url: str | None = None,
    fresh: bool = False,
    charts: bool = True,
    retries: int = 2,
    retry_delay_seconds: float = 10.0,
) -> Any:
    """Crawl -> ETL -> gate -> analyze -> publish for ``edition_year``, resuming after a failure.

    ``edition_year`` defaults to the current year in Asia/Shanghai (the scheduled January run
    builds that year's edition) and ``cutoff_date`` to 31 December of the year before. Sources
    default to every file in ``sources_dir`` (default crawlers/sources); ``base_url`` fills
    ``{base_url}`` in their URLs. Returns the steps run now, the bundle directory and report.

    The run is named ``annual-refresh-<edition>`` and tagged with the edition and the database
    (:mod:`flows.labels`). Published over an overridden gate check it ends in the Completed state
    named ``Overridden`` (the caller still gets the result dict, with ``overridden`` saying why).
    """
    logger = get_run_logger()
    edition, cutoff = edition_and_cutoff(edition_year, cutoff_date)
    label_run(f"annual-refresh-{edition}", edition)
    ledger = Ledger(edition)
    ledger.begin(fresh=fresh, cutoff=cutoff.isoformat())
    refresh_id = start_run("annual-refresh", {"edition": edition, "cutoff": cutoff.isoformat(), "fresh": fresh,
                                              "sources_dir": sources_dir, "base_url": base_url})
    ran: list[str] = []
    state, report = "failed", None
    try:
        names = sources or [s.name for s in enabled_sources(sources_dir)]
        todo = [n for n in names if ledger.completed(f"crawl:{n}") is None]
        if todo:
            logger.info("crawl: %d of %d sources to crawl (%s)", len(todo), len(names), ", ".join(todo))
            with labelled(edition), EtlDuringCrawl(edition):
                crawled = crawl_flow.with_options(flow_run_name=crawl_run_name(todo, edition))(
                    todo, sources_dir, base_url, edition=edition, retries=retries,
                    retry_delay_seconds=retry_delay_seconds, return_state=True)
            ran.append("crawl")
            if crawled.is_failed():
                logger.warning("crawl: %s — the ETL goes on; the gate decides", crawled.message)
        else:
            logger.info("crawl: every source completed for edition %d already, skipped", edition)
        for step, run in (("etl", lambda: run_etl_flow(edition=edition)),
                          (GATE_STEP, lambda: gate_flow(edition)),
                          ("analyze", lambda: analyze_flow(edition, charts=charts, refresh=True))):
            done = ledger.completed(step)
            if done is not None and not ran:
                logger.info("%s: completed for edition %d already (record %d), skipped", step, edition, done.id)
                continue
            with labelled(edition):
                run()
            ran.append(step)
        analysis = ledger.completed("analyze")
        assert analysis is not None
        directory = str(analysis.counts.get("directory") or out_dir() / str(edition))
        if ledger.completed(PUBLISH_STEP) is None or ran:
            with labelled(edition):
                publish_flow(edition, cutoff, directory)
            ran.append(PUBLISH_STEP)
        else:
            logger.info("publish: edition %d published already, skipped", edition)
        report = str(Path(directory) / "report.html")
        state = "completed"
        override = override_headline(ledger)
        result = {"edition": edition, "cutoff_date": cutoff.isoformat(), "ran": ran, "directory": directory,
                  "report": report, "overridden": override}
        if override:
            state = OVERRIDDEN
            logger.warning("edition %d published %s", edition, override)
            return overridden_state(result, f"published {override}")
        return result
    except BaseException as exc:  # stopped (Ctrl-C, SIGTERM): interrupted; anything else: failed
        finish_run(refresh_id, counts={"ran": ran}, state=end_state(exc), message=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        if state in ("completed", OVERRIDDEN):
            finish_run(refresh_id, counts={"ran": ran, "overridden": state == OVERRIDDEN})
        failed_at = next((s for s in STEPS[1:] if s not in ran), None)
        title = ("completed" if state == "completed" else
                 f"completed — {OVERRIDDEN.upper()}: published {override_headline(ledger)}" if state == OVERRIDDEN
                 else f"failed at {failed_at or 'start'}")
        create_markdown_artifact(key=f"annual-refresh-{edition}",
                                 markdown=refresh_summary(edition, cutoff, title, ran, ledger, report),
                                 description=f"annual refresh of edition {edition}: crawl, ETL, gate, report")


@flow(name="aimap-weekly-update", log_prints=True, on_failure=[notify_failure],
      flow_run_name=run_name("weekly-update", None))
def weekly_update(
    sources: list[str] | None = None,
    sources_dir: str | None = None,
    base_url: str | None = None,
    since_days: int | None = None,
) -> dict[str, Any]:
    """The incremental crawl of every source then the ETL of what is new (the weekly schedule).

    Re-crawls send conditional requests, so unchanged pages are not fetched again;
    ``since_days`` further limits feeds and announcement searches to that many recent days.
    Ends ``Failed`` when a source failed, after the ETL ran on what the others delivered.
    """
    label_run(f"weekly-update-{today()}")
    began = dt.datetime.now(dt.UTC)
    since = dt.datetime.now(TIMEZONE).date() - dt.timedelta(days=since_days) if since_days else None
    with labelled():
        crawled = crawl_flow.with_options(flow_run_name=crawl_run_name(sources))(
            sources, sources_dir, base_url, since=since, return_state=True)
    results = crawled.result(raise_on_failure=False) if crawled.is_completed() else {}
    etl = run_etl_flow()
    lines = ["# Weekly update", "", f"- crawl: {crawled.name}" + (f" — {crawled.message}" if crawled.is_failed() else ""),
             "", "| source | delivered | new | changed | not modified | failed requests |", "|---|---|---|---|---|---|"]
    causes = _recent_causes(began)
    lines += [f"| {n} | {r.get('delivered', 0)} | {r.get('documents_new', 0)} | {r.get('documents_changed', 0)} | "
              f"{r.get('documents_not_modified', 0)} | {max(int(r.get('errors', 0) or 0), causes.get(n, (0, []))[0])} |"
              for n, r in (results or {}).items()]
    if any(reasons for _, reasons in causes.values()):
        lines += ["", "### Root causes", ""]
        for source, (count, reasons) in causes.items():
            lines.append(f"- **{source}**: {count} problem(s) recorded")
            lines += [f"  - {r.reason} ×{r.count} ({r.kind}), e.g. `{r.example}`" for r in reasons]
    lines += ["", f"- ETL: {', '.join(f'{k} {etl.get(k, 0)}' for k in ETL_COUNTS)}"]
    queue = _review_queue()
    if queue:
        lines.append(f"- review queue: {queue['merges']} merge suggestions, {queue['events']} low-confidence events")
    create_markdown_artifact(key="weekly-update", markdown="\n".join(lines) + "\n",
                             description="weekly incremental crawl + ETL")
    if crawled.is_failed():
        raise CrawlFailures(crawled.message or "a source failed")
    return {"crawl": results, "etl": {k: etl.get(k, 0) for k in ETL_COUNTS}}
