"""The report's front page (封面信息): what the edition rests on, stated before any table.

:func:`front_page` gathers, as plain JSON-able data: the edition and its data cut-off; whether it
was built ``--allow-partial`` and why it is partial; what was crawled (every source of the
edition's refresh with its state and documents delivered, documents in the database by source);
the data-quality gate's verdict with every failed or overridden check and each override (who,
when, why); the sources that failed or fell short of their declared minimum; the measured
precision / recall of every extractor version behind the mentions (``extractor_versions``, as
Table 8); the aimap version and commit. The bundle writes it into report.html / report.md /
report.xlsx and as ``front_page.json``, which :func:`analysis.publish.publish_bundle` copies into
``MANIFEST.json``. Nothing in it depends on the clock, so rebuilding gives the same files.
"""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analysis.edition import EditionStats
from analysis.loaders import ReportData
from db.models import Document, Source
from db.runs import Ledger, Step

REPO = Path(__file__).resolve().parents[1]
#: The extractor figures the front page shows (keys of ``extractor_versions.quality['figures']``).
EXTRACTOR_FIGURES = {"precision": "relation P (new)", "recall": "relation R (new)", "f1": "relation F1 (new)",
                     "f1_all": "relation F1 (all)"}


def software_version() -> dict[str, str]:
    """The installed aimap version (package metadata) and the git commit of the checkout ("unknown" outside one)."""
    try:
        version = metadata.version("aimap")
    except metadata.PackageNotFoundError:
        version = "unknown"
    try:
        done = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                              text=True, timeout=5, check=False)
        commit = done.stdout.strip() if done.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    return {"aimap": version, "commit": commit or "unknown"}


def _crawl(steps: list[Step]) -> tuple[list[dict[str, Any]], list[str]]:
    latest: dict[str, Step] = {}
    for step in steps:
        if step.step.startswith("crawl:"):
            latest[step.step.split(":", 1)[1]] = step
    rows, short = [], []
    for source, step in sorted(latest.items()):
        minimum = int(step.parameters.get("expected_min_documents", 0) or 0)
        got = int(step.counts.get("delivered", 0) or 0)
        error = (step.message or "").splitlines()[0] if step.state != "completed" and step.message else ""
        rows.append({"source": source, "state": step.state, "delivered": got, "expected_min": minimum,
                     "error": error})
        if step.state != "completed":
            short.append(f"{source}: {step.state}" + (f" — {error}" if error else ""))
        elif got < minimum:
            short.append(f"{source}: 仅交付 {got} 篇，低于声明的最少 {minimum} 篇 (delivered {got} < {minimum})")
    return rows, short


def _gate(step: Step | None) -> dict[str, Any]:
    if step is None:
        return {"verdict": "not run", "checks": [], "overrides": []}
    c = step.counts
    overridden = bool(c.get("overridden"))
    covered = {name for o in c.get("overrides") or [] for name in o.get("checks") or []}
    checks = [{"check": r.get("name"), "result": "pass" if r.get("passed") else
               ("overridden" if overridden and r.get("name") in covered else "FAIL"),
               "detail": r.get("detail", ""), "limit": r.get("limit", "")} for r in c.get("checks") or []]
    verdict = "passed" if c.get("passed") and not overridden else "overridden" if overridden else "FAILED"
    overrides = [{"by": o.get("by"), "at": o.get("at"), "reason": o.get("reason"), "checks": o.get("checks")}
                 for o in c.get("overrides") or []]
    return {"verdict": verdict, "version": c.get("version"), "checks": checks, "overrides": overrides}


def _extractors(data: ReportData) -> list[dict[str, Any]]:
    out = []
    for use in data.extractors:
        row: dict[str, Any] = {"version": use.version, "mentions": use.mentions}
        if use.quality is None:
            row["measured"] = False
        else:
            figures = use.quality.get("figures", {})
            row.update({"measured": True, "measured_on": use.quality.get("measured_on"),
                        "corpus": use.quality.get("corpus"), "documents": use.quality.get("documents"),
                        **{k: figures.get(v) for k, v in EXTRACTOR_FIGURES.items()},
                        "f1_all_etl": (use.quality.get("through_etl") or {}).get("relation F1 (all)")})
        out.append(row)
    return out


def front_page(session: Session, stats: EditionStats, data: ReportData, *,
               partial: list[str] | None = None) -> dict[str, Any]:
    """The front page of ``stats``' edition (see the module docstring)."""
    ledger = Ledger(stats.edition, engine=session.get_bind())  # type: ignore[arg-type]
    steps = ledger.steps()
    crawled, short = _crawl(steps)
    by_source = session.execute(select(func.coalesce(Source.name, "-"), func.count(Document.id))
                                .select_from(Document).outerjoin(Source, Source.id == Document.source_id)
                                .group_by(Source.name)).all()
    gates = [s for s in steps if s.step == "gate" and s.state in ("completed", "failed")]
    latest = stats.latest
    return {
        "edition": stats.edition,
        "data_cutoff": f"{stats.edition - 1}-12-31",
        "partial": list(partial or []),
        "parameters": {"window": stats.window, "mutual": stats.mutual, "years": [stats.years[0], stats.years[-1]]},
        "crawl": {"sources": crawled, "documents": int(sum(n for _, n in by_source)),
                  "documents_by_source": {str(k): int(n) for k, n in sorted(by_source, key=lambda kn: str(kn[0]))}},
        "shortfalls": short,
        "gate": _gate(gates[-1] if gates else None),
        "network": {"events": len(data.events), "year": latest.counts.year, "nodes": latest.counts.nodes,
                    "edges": latest.counts.edges, "sample_firms": int(data.orgs.is_sample.sum())},
        "extractors": _extractors(data),
        "software": software_version(),
    }


def _pct(value: Any) -> str:
    return f"{float(value) * 100:.1f}%" if isinstance(value, int | float) else "未测 (not measured)"


def front_page_lines(front: dict[str, Any]) -> list[tuple[str, str]]:
    """The front page as (label, text) rows, Chinese first (HTML, Markdown and XLSX render these)."""
    gate = front["gate"]
    verdict = {"passed": "通过 (passed)", "overridden": "未通过但经人工放行 (failed, overridden)",
               "FAILED": "未通过 (FAILED)", "not run": "未运行 (not run for this edition)"}[gate["verdict"]]
    rows = [("版次 (edition)", f"{front['edition']} 年版"),
            ("数据截止 (data cut-off)", front["data_cutoff"])]
    if front["partial"]:
        rows.append(("⚠ 不完整版次 (partial edition, --allow-partial)", "；".join(front["partial"])))
    crawl = front["crawl"]
    sources = crawl["sources"]
    rows.append(("采集 (crawled)", f"本版刷新采集 {len(sources)} 个来源；数据库共有 {crawl['documents']} 篇文档"
                 f"（{len(crawl['documents_by_source'])} 个来源）" if sources else
                 f"本版未经刷新流程采集；数据库共有 {crawl['documents']} 篇文档（{len(crawl['documents_by_source'])} 个来源）"))
    net = front["network"]
    rows.append(("网络 (network)", f"{net['events']} 个合作事件；{net['year']} 年网络 {net['nodes']} 个节点、"
                 f"{net['edges']} 条边；样本企业 {net['sample_firms']} 家"))
    rows.append(("数据质量闸门 (data-quality gate)", verdict + (f"，检查项版本 v{gate['version']}"
                                                            if gate.get("version") else "")))
    for check in gate["checks"]:
        if check["result"] != "pass":
            rows.append((f"　检查 {check['check']}", f"{check['result']}: {check['detail']}（阈值 {check['limit']}）"))
    for o in gate["overrides"]:
        rows.append(("　人工放行 (override)", f"{o['by']} 于 {o['at']}，检查 {', '.join(o['checks'] or [])}："
                                            f"{o['reason']}"))
    rows.append(("来源缺失或不足 (sources failed or short)", "；".join(front["shortfalls"]) or "无 (none)"))
    for e in front["extractors"]:
        if e.get("measured"):
            text = (f"精确率 P {_pct(e['precision'])}，召回率 R {_pct(e['recall'])}，F1 {_pct(e['f1'])}"
                    f"（新关系；全部关系 F1 {_pct(e['f1_all'])}"
                    + (f"，经完整 ETL 入库后 {_pct(e['f1_all_etl'])}" if e.get("f1_all_etl") is not None else "")
                    + f"）；{e['measured_on']} 在 {e['corpus']} 上实测；"
                    f"{e['mentions']} 条证据")
        else:
            text = f"未实测 (not measured)；{e['mentions']} 条证据"
        rows.append((f"抽取器 (extractor) {e['version']}", text))
    sw = front["software"]
    rows.append(("软件 (software)", f"aimap {sw['aimap']}，提交 (commit) {sw['commit']}"))
    return rows
