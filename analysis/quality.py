"""The data-quality gate between the ETL and the analysis of an annual refresh: its checks.

The checks are declared in ``analysis/data/checks.yml`` (name, thresholds, description;
versioned); each name is a function of :data:`CHECKS` here. :func:`evaluate` runs them on the
database and the edition's refresh ledger (:class:`db.runs.Ledger`) and attaches the overrides
recorded for the edition; when a check failed, an operator may override exactly those checks with
a recorded reason (:func:`record_override`, ``aimap gate override``), and the gate then passes as
*overridden*. The Prefect flow that records the result as the edition's ``gate`` step and stops
the refresh is :func:`flows.gate.gate_flow`.

Definitions (E = edition year; the edition's networks run to year E-1, as in the report):

- ``sources_delivered`` — for every source crawled in the refresh, its latest crawl step
  finished and *delivered* (new + changed + unchanged + not-modified pages) at least the
  source file's ``expected_min_documents``. Value: sources that did not.
- ``quarantine_share`` — documents quarantined / documents processed, summed over the
  edition's completed ETL passes (0 when nothing was processed). Passes when ≤ ``max_share``.
- ``provenance`` — cooperation events with no mention. Passes when ≤ ``max_missing``.
- ``sample_firms_kept`` — sample firms that had at least one edge in the previous edition's
  network (the list recorded when edition E-1 was published; without one, the network of year
  E-2 computed now) and have none in the network of year E-1. Passes when ≤ ``max_lost``.
- ``yoy_nodes`` / ``yoy_edges`` — (x(E-1) − x(E-2)) / x(E-2) for the node / edge counts of the
  yearly networks (:func:`analysis.network.yearly_edges`, Table 1's definitions). Passes
  within [``min_change``, ``max_change``]; passes trivially when year E-2 has no network.

Vacuous input fails, never passes trivially: ``sources_delivered`` fails when no source was crawled
for the edition and none is registered, or when the crawled sources delivered no document at all;
``provenance`` fails when the database holds no document; ``yoy_nodes`` / ``yoy_edges`` fail
when the network of year E-1 is empty.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analysis.network import YearEdges, load_event_table, sample_ids, yearly_edges
from common.datafiles import read_yaml
from db.models import CooperationEvent, Document, Mention, Organisation, Source
from db.runs import Ledger, Step, etl_passes, last_published

CHECKS_FILE = Path(__file__).resolve().parent / "data" / "checks.yml"
#: The ledger step of an edition's gate.
GATE_STEP = "gate"


class GateError(ValueError):
    """The checks file is invalid, or an override cannot be recorded."""


@dataclass
class CheckResult:
    """The outcome of one check."""

    name: str
    passed: bool
    value: float | int
    limit: str
    detail: str
    description: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Plain data (for the step record and the artifacts)."""
        return asdict(self)


@dataclass
class GateResult:
    """Every check's result, whether the gate passed, and the overrides that made it pass."""

    edition: int
    version: int
    results: list[CheckResult]
    overrides: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> list[CheckResult]:
        """The checks that failed."""
        return [r for r in self.results if not r.passed]

    @property
    def overridden(self) -> bool:
        """Whether failed checks are all covered by recorded overrides."""
        if not self.failed:
            return False
        covered = {c for o in self.overrides for c in o["checks"]}
        return {r.name for r in self.failed} <= covered

    @property
    def passed(self) -> bool:
        """No check failed, or every failed one was overridden."""
        return not self.failed or self.overridden

    def as_dict(self) -> dict[str, Any]:
        """Plain data (for the step record)."""
        return {"edition": self.edition, "version": self.version, "passed": self.passed, "overridden": self.overridden,
                "failed": [r.name for r in self.failed], "checks": [r.as_dict() for r in self.results],
                "overrides": self.overrides if self.overridden else []}

    def message(self) -> str:
        """What failed, for the operator (and how to override)."""
        lines = [f"data-quality gate of edition {self.edition}: {len(self.failed)} check(s) failed"]
        lines += [f"- {r.name}: {r.detail} (limit {r.limit})" for r in self.failed]
        if self.overridden:
            lines += [f"overridden by {o['by']}: {o['reason']}" for o in self.overrides]
        else:
            lines.append(f"fix the data and re-run `aimap refresh --edition {self.edition}` (it resumes), or "
                         f"override: `aimap gate override --edition {self.edition} --reason \"...\"`")
        return "\n".join(lines)


class GateContext:
    """What the checks read: a session, the edition, its ledger and (lazily) its networks."""

    def __init__(self, session: Session, edition: int, ledger: Ledger) -> None:
        self.session = session
        self.edition = edition
        self.ledger = ledger
        self.steps: list[Step] = ledger.steps()

    @cached_property
    def _events(self) -> Any:
        return load_event_table(self.session)

    def network(self, year: int) -> YearEdges:
        """The cumulative network of ``year`` (Table 1's definition)."""
        return yearly_edges(self._events, year)

    @cached_property
    def samples(self) -> set[int]:
        """Ids of the sample firms now."""
        return sample_ids(self.session)

    def sample_nodes(self, year: int) -> set[int]:
        """Sample firms with at least one edge in the network of ``year``."""
        nodes = self.network(year).nodes
        return {int(n) for n in nodes if int(n) in self.samples}


def check_sources_delivered(ctx: GateContext, params: dict[str, Any]) -> CheckResult:
    """Every crawled source finished and delivered at least its declared minimum (module docstring)."""
    latest: dict[str, Step] = {}
    for step in ctx.steps:
        if step.step.startswith("crawl:"):
            latest[step.step.split(":", 1)[1]] = step
    bad = []
    for source, step in sorted(latest.items()):
        minimum = int(step.parameters.get("expected_min_documents", 0) or 0)
        got = int(step.counts.get("delivered", 0) or 0)
        if step.state != "completed":
            bad.append(f"{source} {step.state}: {(step.message or '').splitlines()[0] if step.message else ''}")
        elif got < minimum:
            bad.append(f"{source} delivered {got} < {minimum}")
    if not latest:
        registered = int(ctx.session.scalar(select(func.count()).select_from(Source)) or 0)
        if not registered:
            return CheckResult("sources_delivered", False, 0, "at least 1 source",
                               "no source was crawled for the edition and none is registered (vacuous input)")
    elif not sum(int(s.counts.get("delivered", 0) or 0) for s in latest.values()):
        bad.append(f"none of the {len(latest)} sources delivered a document (vacuous input)")
    detail = "; ".join(bad) if bad else f"{len(latest)} sources delivered their minimum"
    return CheckResult("sources_delivered", not bad, len(bad), "0 sources short or failed", detail)


def check_quarantine_share(ctx: GateContext, params: dict[str, Any]) -> CheckResult:
    """Quarantined / processed documents over the edition's ETL passes at most ``max_share``."""
    limit = float(params["max_share"])
    passes = etl_passes(ctx.steps)
    processed = sum(int(s.counts.get("documents", 0) or 0) for s in passes)
    quarantined = sum(int(s.counts.get("quarantined", 0) or 0) for s in passes)
    share = quarantined / processed if processed else 0.0
    return CheckResult("quarantine_share", share <= limit, round(share, 6), f"<= {limit:.2%}",
                       f"{quarantined} of {processed} documents quarantined ({share:.2%})")


def check_provenance(ctx: GateContext, params: dict[str, Any]) -> CheckResult:
    """Cooperation events without any mention at most ``max_missing``."""
    limit = int(params["max_missing"])
    missing = ctx.session.scalar(select(func.count()).select_from(CooperationEvent)
                                 .where(~select(Mention.id).where(Mention.event_id == CooperationEvent.id).exists()))
    missing = int(missing or 0)
    documents = int(ctx.session.scalar(select(func.count()).select_from(Document)) or 0)
    if not documents:
        return CheckResult("provenance", False, missing, f"<= {limit}, and documents > 0",
                           "the database holds no document: no edge has provenance (vacuous input)")
    return CheckResult("provenance", missing <= limit, missing, f"<= {limit}", f"{missing} events without a mention")


def check_sample_firms_kept(ctx: GateContext, params: dict[str, Any]) -> CheckResult:
    """Sample firms that lost every relation since the last edition at most ``max_lost``."""
    limit = int(params["max_lost"])
    published = last_published(ctx.edition - 1, ctx.ledger.engine)
    if published is not None and "sample_firms_with_relations" in published.counts:
        reference = {int(i) for i in published.counts["sample_firms_with_relations"]}
        basis = f"edition {ctx.edition - 1} as published"
    else:
        reference = ctx.sample_nodes(ctx.edition - 2)
        basis = f"network {ctx.edition - 2}"
    now = ctx.sample_nodes(ctx.edition - 1)
    lost = sorted((reference & ctx.samples) - now)
    names = dict(ctx.session.execute(select(Organisation.id, Organisation.name)
                                     .where(Organisation.id.in_(lost[:20])))) if lost else {}
    detail = (f"{len(lost)} of {len(reference)} sample firms with relations in {basis} have none in "
              f"{ctx.edition - 1}" + (": " + ", ".join(names.get(i, str(i)) for i in lost[:20]) if lost else ""))
    return CheckResult("sample_firms_kept", len(lost) <= limit, len(lost), f"<= {limit}", detail)


def _yoy(ctx: GateContext, params: dict[str, Any], what: str) -> CheckResult:
    low, high = float(params["min_change"]), float(params["max_change"])
    before, after = ctx.network(ctx.edition - 2), ctx.network(ctx.edition - 1)
    x0, x1 = (before.n_nodes, after.n_nodes) if what == "nodes" else (before.n_edges, after.n_edges)
    limit = f"[{low:+.0%}, {high:+.0%}]"
    if x1 == 0:
        return CheckResult(f"yoy_{what}", False, 0.0, f"{limit}, and {what} > 0",
                           f"the network of {ctx.edition - 1} is empty (vacuous input)")
    if x0 == 0:
        return CheckResult(f"yoy_{what}", True, 0.0, limit, f"no network in {ctx.edition - 2}: {x1} {what} in "
                                                          f"{ctx.edition - 1}")
    change = (x1 - x0) / x0
    return CheckResult(f"yoy_{what}", bool(low <= change <= high), round(float(change), 6), limit,
                       f"{what} {x0} ({ctx.edition - 2}) -> {x1} ({ctx.edition - 1}): {change:+.1%}")


def check_yoy_nodes(ctx: GateContext, params: dict[str, Any]) -> CheckResult:
    """Relative change of the node count, year E-1 against E-2, within bounds."""
    return _yoy(ctx, params, "nodes")


def check_yoy_edges(ctx: GateContext, params: dict[str, Any]) -> CheckResult:
    """Relative change of the edge count, year E-1 against E-2, within bounds."""
    return _yoy(ctx, params, "edges")


CHECKS: dict[str, Callable[[GateContext, dict[str, Any]], CheckResult]] = {
    "sources_delivered": check_sources_delivered,
    "quarantine_share": check_quarantine_share,
    "provenance": check_provenance,
    "sample_firms_kept": check_sample_firms_kept,
    "yoy_nodes": check_yoy_nodes,
    "yoy_edges": check_yoy_edges,
}
#: Parameters each check needs from the checks file.
REQUIRED = {"quarantine_share": ("max_share",), "provenance": ("max_missing",), "sample_firms_kept": ("max_lost",),
            "yoy_nodes": ("min_change", "max_change"), "yoy_edges": ("min_change", "max_change")}


def load_checks(path: Path = CHECKS_FILE) -> tuple[int, list[dict[str, Any]]]:
    """The declared checks (version, entries); raise :class:`GateError` listing every problem."""
    data = read_yaml(Path(path)) or {}
    entries = data.get("checks") or []
    problems = []
    if not isinstance(data.get("version"), int):
        problems.append(f"{path}: 'version' must be an integer")
    for i, entry in enumerate(entries):
        name = entry.get("name") if isinstance(entry, dict) else None
        if name not in CHECKS:
            problems.append(f"{path}: check {i + 1}: unknown name {name!r} (known: {', '.join(CHECKS)})")
            continue
        for key in REQUIRED.get(name, ()):
            if not isinstance(entry.get(key), int | float):
                problems.append(f"{path}: check {name}: '{key}' must be a number")
    if not entries:
        problems.append(f"{path}: no checks declared")
    if problems:
        raise GateError("\n".join(problems))
    return int(data["version"]), entries


def evaluate(session: Session, edition: int, ledger: Ledger | None = None,
             checks_file: Path = CHECKS_FILE) -> GateResult:
    """Run every declared check for ``edition`` and attach the overrides recorded for it."""
    version, entries = load_checks(checks_file)
    ledger = ledger or Ledger(edition)
    ctx = GateContext(session, edition, ledger)
    results = []
    for entry in entries:
        result = CHECKS[entry["name"]](ctx, entry)
        result.description = entry.get("description", "")
        results.append(result)
    overrides = [{"id": o.id, "by": o.parameters.get("by"), "reason": o.parameters.get("reason"),
                  "checks": list(o.parameters.get("checks") or []),
                  "at": o.started_at.isoformat() if o.started_at else None} for o in ledger.overrides()]
    return GateResult(edition, version, results, overrides)


def record_override(edition: int, reason: str, *, by: str | None = None, checks: list[str] | None = None) -> dict[str, Any]:
    """Record an operator's override of failed gate checks of ``edition`` (with the reason).

    ``checks`` defaults to the checks that failed at the edition's latest gate; the next run of
    the refresh passes the gate if what fails then is covered. Returns the recorded override.
    """
    reason = (reason or "").strip()
    if not reason:
        raise GateError("an override needs a reason (--reason)")
    if checks:
        unknown = sorted(set(checks) - set(CHECKS))
        if unknown:
            raise GateError(f"unknown check(s) {', '.join(unknown)}; known: {', '.join(CHECKS)}")
    ledger = Ledger(edition)
    if not checks:
        latest = ledger.latest(GATE_STEP)
        if latest is None or latest.state != "failed":
            raise GateError(f"edition {edition} has no failed gate to override; name the checks with --check")
        checks = list(latest.counts.get("failed") or [])
    by = by or _user()
    run_id = ledger.override(reason, by, checks)
    return {"id": run_id, "edition": edition, "by": by, "reason": reason, "checks": checks}


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


def result_table(result: GateResult) -> list[dict[str, Any]]:
    """The gate as table rows (artifact, CLI)."""
    covered = {c for o in result.overrides for c in o["checks"]} if result.overridden else set()
    return [{"check": r.name, "result": "pass" if r.passed else ("overridden" if r.name in covered else "FAIL"),
             "value": r.value, "limit": r.limit, "detail": r.detail} for r in result.results]


def result_markdown(result: GateResult) -> str:
    """The gate as markdown (artifact, refresh summary)."""
    verdict = "passed" if not result.failed else ("overridden" if result.overridden else "FAILED")
    lines = [f"## Data-quality gate, edition {result.edition}: {verdict} (checks v{result.version})", "",
             "| check | result | value | limit | detail |", "|---|---|---|---|---|"]
    lines += [f"| {r['check']} | {r['result']} | {r['value']} | {r['limit']} | {r['detail']} |"
              for r in result_table(result)]
    if result.overridden:
        lines += ["", *[f"- override by **{o['by']}** ({o['at']}), checks {', '.join(o['checks'])}: {o['reason']}"
                        for o in result.overrides]]
    return "\n".join(lines)


def firms_with_relations(session: Session, year: int) -> list[int]:
    """Ids of the sample firms with at least one edge in the network of ``year`` (recorded at publish)."""
    samples = np.array(sorted(sample_ids(session)), dtype=np.int64)
    nodes = yearly_edges(load_event_table(session), year).nodes
    return [int(i) for i in nodes[np.isin(nodes, samples)]]
