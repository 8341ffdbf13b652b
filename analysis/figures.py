"""The published-figures format: an edition's key figures as one YAML tree.

A published edition is transcribed in this format (``common/data/report-2024-figures.yaml``,
:data:`PUBLISHED_2024`): ``firms`` (Figs. 1-12), ``network`` (Table 1 rows
``year: [sample nodes, relation nodes, nodes, edges, avg degree, diameter, avg path length,
avg clustering]``, Tables 2/3 ``name: [in, out, total]``), ``cooperation`` (Figs. 15-20) and
``spatial`` (Tables 6/7); shares are percentages. :func:`figures_of` exports a rebuilt edition
in the same format (``out/<edition>/figures.yaml``), with the full lists beside the published
top-5 cuts (``provinces`` beside ``provinces_top5`` ...). :mod:`analysis.compare` puts two such
trees side by side.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from analysis.edition import EditionStats
from analysis.loaders import ReportData
from analysis.measures import top_nodes
from analysis.metrics import gephi_decimal
from analysis.presentation import Table
from analysis.spec import ReportSpec
from common.datafiles import common_data_path, read_yaml

#: The 2024 report's published figures (the one copy in the repository).
PUBLISHED_2024 = common_data_path("report-2024-figures.yaml")
#: How many sample / relation nodes figures.yaml lists with their degrees (to match published names).
DEGREE_LIST = 300


def _r(x: float, digits: int = 4) -> float:
    return round(float(x), digits)


def _shares(tables: Mapping[str, Table], key: str, label: str = "", limit: int | None = None) -> dict[str, float]:
    """``{label: share}`` of the table ``key`` (label: its first column unless given), first ``limit`` rows."""
    tab = tables[key]
    label = label or tab.columns[0].name
    return {str(r[label]): _r(r["share"]) for r in tab.records()[:limit]}


def figures_of(ed: EditionStats, spec: ReportSpec, data: ReportData) -> dict[str, Any]:
    """The rebuilt edition in the published-figures format (see the module docstring)."""
    return {
        "edition": ed.edition,
        "data_cutoff": f"{ed.edition - 1}-12-31",
        "sample_firms": len(data.firms.org_id),
        "rebuilt_by": "aimap",
        "parameters": {"window": ed.window, "mutual": ed.mutual, "buckets_version": spec.version},
        "firms": _firm_figures(ed.tables, spec, ed.edition - 2),
        "network": _network_figures(ed, spec, data),
        "cooperation": _cooperation_figures(ed.tables, ed.edition - 1),
        "spatial": _spatial_figures(ed.tables, spec),
    }


def _firm_figures(t: Mapping[str, Table], spec: ReportSpec, fy: int) -> dict[str, Any]:
    """``firms``: Figs. 1-12 (listed-firm financials of fiscal year ``fy``)."""
    founding = t["fig01_founding_years"].records()
    lo, hi = spec.founding_span
    n_known = sum(r["firms"] for r in founding)
    peak = min(founding, key=lambda r: (-r["firms"], r["year"])) if founding else None
    listed = t["fig05_listed"].rows
    patents_prov = t["fig11_patents_by_province"].records()
    layers = t["fig09_tech_layers"].records()
    return {
        "founding_year": {f"share_{lo}_{hi}": _r(sum(r["share"] for r in founding if lo <= r["year"] <= hi)),
                          "peak_year": peak["year"] if peak else None,
                          "peak_share": _r(peak["share"]) if peak else None, "firms_with_date": n_known},
        "metropolitan_regions": _shares(t, "fig02_regions"),
        "provinces_top5": _shares(t, "fig03_provinces", limit=5),
        "provinces": _shares(t, "fig03_provinces"),
        "employees": _shares(t, "fig04_employees"),
        "listed": {"listed": listed[0][1], "unlisted": listed[1][1], "listed_share": _r(listed[0][2])},
        f"listed_revenue_{fy}": _shares(t, "fig06_revenue"),
        f"listed_rd_expense_{fy}": _shares(t, "fig07_rd_expense"),
        f"listed_rd_intensity_{fy}": _shares(t, "fig08_rd_intensity"),
        "tech_layer": {r["layer"]: {"firms": r["firms"], "share": _r(r["share"])} for r in layers},
        "patents": _shares(t, "fig10_patents"),
        "patents_by_province": {**{r["province"]: _r(r["share"]) for r in patents_prov[:5]},
                                "top10_order": [r["province"] for r in patents_prov[:10]],
                                "top10_share": _r(sum(r["share"] for r in patents_prov[:10]))},
        "patents_by_layer": _shares(t, "fig12_patents_by_layer"),
    }


def _network_figures(ed: EditionStats, spec: ReportSpec, data: ReportData) -> dict[str, Any]:
    """``network``: Table 1 (as Gephi displays it), Fig. 14, Tables 2/3 and the degrees of the top nodes."""
    t = ed.tables
    table1 = {}
    for r in t["table1"].records():
        table1[r["year"]] = [r["sample_nodes"], r["relation_nodes"], r["nodes"], r["edges"],
                             float(gephi_decimal(r["avg_degree"])), r["diameter"],
                             float(gephi_decimal(r["avg_path_length"])), float(gephi_decimal(r["avg_clustering"]))]
    fit = dict(t["fig14_power_law_fit"].rows)
    conc = next(v for k, v in fit.items() if k.endswith("_degree_share"))
    k_top = int(spec.top["nodes"])

    def node_degrees(key: str, limit: int | None = None) -> dict[str, list[int]]:
        return {r["name"]: [r["in_degree"], r["out_degree"], r["degree"]] for r in t[key].records()[:limit]}

    edges = ed.latest.edges
    in_deg, out_deg = edges.degrees()
    rows_idx = data.orgs.index(edges.nodes)
    labels = [data.orgs.display[i] for i in rows_idx]

    def all_degrees(sample: bool, limit: int) -> dict[str, list[int]]:
        """Degrees of the ``limit`` highest-degree sample / relation nodes (for matching published names)."""
        pos = [i for i in range(edges.n_nodes) if bool(data.orgs.is_sample[rows_idx[i]]) == sample]
        top = top_nodes(edges.nodes[pos], [labels[i] for i in pos], in_deg[pos], out_deg[pos], limit)
        out: dict[str, list[int]] = {}
        for j in top:
            i = pos[j]
            out.setdefault(labels[i], [int(in_deg[i]), int(out_deg[i]), int(in_deg[i] + out_deg[i])])
        return out

    return {
        "tool": "aimap (Gephi 0.9.2 definitions)",
        "table1": table1,
        "degree_concentration": f"{spec.top['concentration_share']:.0%} of nodes hold about {conc:.0f}% of all "
                                "degree (Fig. 14, power law)",
        "degree_concentration_share": _r(conc),
        "power_law": {k: _r(v, 6) for k, v in fit.items() if k != "nodes"},
        "top_sample_nodes": node_degrees("table2_top_sample_nodes", k_top),
        "top_relation_nodes": node_degrees("table3_top_relation_nodes", k_top),
        "sample_nodes_degree": all_degrees(True, DEGREE_LIST),
        "relation_nodes_degree": all_degrees(False, DEGREE_LIST),
    }


def _cooperation_figures(t: Mapping[str, Table], last: int) -> dict[str, Any]:
    """``cooperation``: Figs. 15-20 (sectors per year; sections and divisions of year ``last``)."""
    sectors = {r["year"]: {s: _r(r[f"share_{i + 1}"]) for i, s in enumerate(("第一产业", "第二产业", "第三产业"))}
               for r in t["fig17_sectors_by_year"].records()}
    manufacturing = _shares(t, "fig20_manufacturing_divisions")
    return {
        "tech_categories_top5": _shares(t, "fig15_tech_categories", limit=5),
        "tech_categories": _shares(t, "fig15_tech_categories"),
        "application_domains_top5": _shares(t, "fig16_application_domains", limit=5),
        "application_domains": _shares(t, "fig16_application_domains"),
        f"sectors_{last}": sectors.get(last, {}),
        "sectors_by_year": sectors,
        f"tertiary_{last}": _shares(t, "fig18_tertiary_sections"),
        f"secondary_{last}": _shares(t, "fig19_secondary_sections"),
        f"manufacturing_{last}_top5": dict(list(manufacturing.items())[:5]),
        f"manufacturing_{last}": manufacturing,
    }


def _spatial_figures(t: Mapping[str, Table], spec: ReportSpec) -> dict[str, Any]:
    """``spatial``: Tables 6/7 and the core-four shares."""
    t6 = t["table6_provinces"].records()
    return {
        "core_four_enabling_share": _r(sum(r["enabling_share"] or 0 for r in t6
                                           if r["enabling_province"] in spec.core_provinces)),
        "core_four_input_share": _r(sum(r["input_share"] or 0 for r in t6
                                        if r["input_province"] in spec.core_provinces)),
        "enabling_by_province": {r["enabling_province"]: _r(r["enabling_share"]) for r in t6
                                 if r["enabling_province"]},
        "input_by_province": {r["input_province"]: _r(r["input_share"]) for r in t6 if r["input_province"]},
        "flows_top20": [[r["from_province"], r["to_province"], _r(r["share"])]
                        for r in t["table7_flows"].records()],
    }


def load_figures(path: Path) -> dict[str, Any]:
    """Read a figures YAML (published or rebuilt); a clear error for a missing or malformed file."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such figures file")
    data = read_yaml(path)
    if not isinstance(data, dict) or "edition" not in data:
        raise ValueError(f"{path}: not a figures file (expected a mapping with 'edition', as "
                         f"{PUBLISHED_2024.name})")
    return data


def dump_figures(figures: Mapping[str, Any], path: Path) -> None:
    """Write a figures YAML (keys in insertion order, Chinese as is)."""
    path.write_text(yaml.safe_dump(dict(figures), allow_unicode=True, sort_keys=False, width=120), encoding="utf-8")
