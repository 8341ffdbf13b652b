"""Figures side by side: a rebuilt edition against a published one, and two rebuilt editions.

Both sides are trees in the published-figures format (:mod:`analysis.figures`).

**Comparison** (:func:`compare_figures`): every numeric leaf of the published tree beside the
rebuilt value at the same path (or in the full list, :data:`FALLBACK`), with the difference
rebuilt - published; names are matched exactly (display names, e.g. 华为).

**Internal consistency** (:func:`check_figures`, run on either side): Table 1 rows where
sample + relation nodes != nodes, or the printed average degree differs from edges / nodes by
more than display rounding (0.0005); cumulative series that decrease (not checked for rolling
windows); sample nodes above the sample size, or, in years before the last, above the previous
edition's sample; partitions (head-count, patent, financial buckets, sectors, layers, listed) that
do not add up to 100% within rounding (0.005 per printed value); tables 2/3 rows where
in + out != total or that are not sorted; region shares below the sum of their member
provinces' shares; the core-four share that is not the sum of the four provinces' shares.

**Edition diff** (:func:`diff_editions`): from two bundle directories written by
``aimap analyze`` (``nodes.csv``, ``edges.csv``, ``firms.csv``, ``figures.yaml``): sample firms
and relation nodes added and removed, edges added and removed, hubs whose rank rose or fell,
shares that moved. Organisations are matched by database id (both editions rebuilt from the
same database).
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.bundle import write_csv, write_markdown
from analysis.figures import load_figures
from analysis.presentation import Column, Table, rank_order
from db.taxonomy import load_regions

TABLE1_FIELDS = ("sample_nodes", "relation_nodes", "nodes", "edges", "avg_degree", "diameter", "avg_path_length",
                 "avg_clustering")
#: Published key -> rebuilt key holding the full list, where the published side prints a top-k cut.
FALLBACK = {
    "firms.provinces_top5": "firms.provinces",
    "cooperation.tech_categories_top5": "cooperation.tech_categories",
    "cooperation.application_domains_top5": "cooperation.application_domains",
    "network.top_sample_nodes": "network.sample_nodes_degree",
    "network.top_relation_nodes": "network.relation_nodes_degree",
}
#: Distributions that partition their population: shares must add up to 100%.
PARTITIONS = re.compile(r"^(firms\.(employees|patents|listed_(revenue|rd_expense|rd_intensity)_\d+|patents_by_layer)"
                        r"|cooperation\.sectors_\d+)$")
ROUNDING = 0.005  # half a unit of the last printed decimal of a share


# --------------------------------------------------------------------------- consistency


@dataclass(frozen=True)
class Flag:
    """An internal inconsistency found in one side's figures."""

    side: str
    path: str
    message: str


def _num(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def check_figures(fig: Mapping[str, Any], side: str) -> list[Flag]:
    """Internal inconsistencies of a figures tree (rules in the module docstring)."""
    flags: list[Flag] = []

    def flag(path: str, message: str) -> None:
        flags.append(Flag(side, path, message))

    net = fig.get("network", {}) or {}
    rows = {int(y): v for y, v in (net.get("table1") or {}).items()}
    sample_size = fig.get("sample_firms")
    previous = fig.get("previous_edition_sample_firms")
    years = sorted(rows)
    for y in years:
        s, r, n, e, avg = rows[y][:5]
        if s + r != n:
            flag(f"network.table1.{y}", f"sample nodes {s} + relation nodes {r} = {s + r}, but nodes = {n}")
        if n and abs(avg - e / n) > 0.0005 + 1e-9:
            flag(f"network.table1.{y}", f"printed avg degree {avg:.3f} is not edges/nodes = {e}/{n} = {e / n:.3f}")
        if len(rows[y]) >= 8:
            diam, apl, clust = rows[y][5:8]
            if _num(diam) and _num(apl) and apl > diam:
                flag(f"network.table1.{y}", f"avg path length {apl} exceeds the diameter {diam}")
            if _num(clust) and not 0 <= clust <= 1:
                flag(f"network.table1.{y}", f"avg clustering {clust} outside [0, 1]")
        if sample_size and s > sample_size:
            flag(f"network.table1.{y}", f"{s} sample nodes but the sample has {sample_size} firms")
        if previous and y != years[-1] and s > previous:
            flag(f"network.table1.{y}", f"{s} sample nodes in a year of the previous edition's sample of "
                                        f"{previous} firms")
    rolling = bool((fig.get("parameters") or {}).get("window"))
    for a, b in zip(years, years[1:], strict=False):
        for i, what in ((0, "sample nodes"), (2, "nodes"), (3, "edges")):
            if not rolling and rows[b][i] < rows[a][i]:
                flag(f"network.table1.{b}", f"{what} fall from {rows[a][i]} ({a}) to {rows[b][i]} ({b}) in a "
                                            "cumulative network (only terminated cooperations remove nodes)")
    for key in ("top_sample_nodes", "top_relation_nodes"):
        entries = list((net.get(key) or {}).items())
        for name, (i, o, total) in entries:
            if i + o != total:
                flag(f"network.{key}.{name}", f"in {i} + out {o} = {i + o}, but degree centrality = {total}")
        totals = [v[2] for _, v in entries]
        if totals != sorted(totals, reverse=True):
            flag(f"network.{key}", "not sorted by degree centrality")
    for path, value in _walk(fig):
        if PARTITIONS.match(path) and isinstance(value, Mapping):
            vals = [v for v in value.values() if _num(v)]
            total = sum(vals)
            if vals and abs(total - 100) > ROUNDING * len(vals) + 1e-9:
                flag(path, f"shares add up to {total:.2f}%, not 100% ({100 - total:+.2f}% unaccounted)")
    firms = fig.get("firms", {}) or {}
    layers = firms.get("tech_layer") or {}
    if layers and sample_size:
        n = sum(v["firms"] for v in layers.values())
        if n != sample_size:
            flag("firms.tech_layer", f"layer counts add up to {n}, the sample has {sample_size} firms")
        for name, v in layers.items():
            if abs(v["share"] - 100 * v["firms"] / n) > ROUNDING + 1e-9 if n else False:
                flag(f"firms.tech_layer.{name}", f"share {v['share']} is not {v['firms']}/{n}")
    listed = firms.get("listed")
    if listed and sample_size:
        if listed["listed"] + listed["unlisted"] != sample_size:
            flag("firms.listed", f"listed {listed['listed']} + unlisted {listed['unlisted']} != {sample_size} firms")
        if abs(listed["listed_share"] - 100 * listed["listed"] / sample_size) > ROUNDING + 1e-9:
            flag("firms.listed", f"listed share {listed['listed_share']} is not {listed['listed']}/{sample_size}")
    _check_regions(firms, flag)
    spatial = fig.get("spatial", {}) or {}
    for key, core_key in (("enabling_by_province", "core_four_enabling_share"),
                          ("input_by_province", "core_four_input_share")):
        shares = spatial.get(key) or {}
        vals = list(shares.values())
        if vals != sorted(vals, reverse=True):
            flag(f"spatial.{key}", "not sorted by share")
        core = spatial.get(core_key)
        members = ("北京市", "广东省", "浙江省", "上海市")
        if _num(core) and all(m in shares for m in members):
            s = sum(shares[m] for m in members)
            if abs(s - core) > ROUNDING * 4 + 1e-9:
                flag(f"spatial.{core_key}", f"{core} is not the sum of the four core provinces' shares ({s:.2f})")
    flows = [f[2] for f in spatial.get("flows_top20") or []]
    if flows != sorted(flows, reverse=True):
        flag("spatial.flows_top20", "not sorted by share")
    return flags


def _check_regions(firms: Mapping[str, Any], flag: Any) -> None:
    """A region's share must be at least the sum of the shares of its member provinces that are listed."""
    regions = firms.get("metropolitan_regions") or {}
    provinces = {**(firms.get("provinces_top5") or {}), **(firms.get("provinces") or {})}
    for region in load_regions():
        if region.name in regions:
            listed = [provinces[p] for p in region.provinces if p in provinces]
            if listed and regions[region.name] + ROUNDING * (len(listed) + 1) < sum(listed):
                flag(f"firms.metropolitan_regions.{region.name}",
                     f"{regions[region.name]}% is below the sum of its listed provinces ({sum(listed):.2f}%)")


# --------------------------------------------------------------------------- comparison


@dataclass(frozen=True)
class CompareRow:
    """One published value beside the rebuilt one."""

    path: str
    item: str
    published: Any
    rebuilt: Any
    difference: float | None
    note: str = ""


def _walk(tree: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every node of a figures tree with its dotted path (mappings are descended into)."""
    if isinstance(tree, Mapping):
        for k, v in tree.items():
            path = f"{prefix}.{k}" if prefix else str(k)
            yield path, v
            yield from _walk(v, path)


def _get(tree: Mapping[str, Any], path: str) -> Any:
    node: Any = tree
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        hit = node.get(part)
        if hit is None and part.isdigit():
            hit = node.get(int(part))
        node = hit
    return node


def _diff(a: Any, b: Any) -> float | None:
    return float(b) - float(a) if _num(a) and _num(b) else None


def compare_figures(published: Mapping[str, Any], rebuilt: Mapping[str, Any]) -> list[CompareRow]:
    """Every published figure beside the rebuilt value at the same path (see the module docstring)."""
    rows: list[CompareRow] = []

    def lookup(path: str, key: str) -> Any:
        hit = _get(rebuilt, f"{path}.{key}") if path else _get(rebuilt, key)
        if hit is None and path in FALLBACK:
            hit = _get(rebuilt, f"{FALLBACK[path]}.{key}")
        return hit

    def visit(path: str, node: Any) -> None:
        for key, value in node.items():
            full = f"{path}.{key}" if path else str(key)
            if full == "network.table1":
                for year, vals in value.items():
                    mine = lookup(full, str(year)) or [None] * len(vals)
                    for name, a, b in zip(TABLE1_FIELDS, vals, mine, strict=False):
                        rows.append(CompareRow(f"{full}.{year}", name, a, b, _diff(a, b),
                                               "" if b is not None else "year not rebuilt"))
            elif isinstance(value, Mapping) and value and all(isinstance(v, list) and len(v) == 3 and all(
                    _num(x) for x in v) for v in value.values()):
                for name, (i, o, total) in value.items():
                    mine = lookup(full, str(name))
                    rows.append(CompareRow(full, str(name), f"{i}/{o}/{total}",
                                           "/".join(str(x) for x in mine) if mine else None,
                                           _diff(total, mine[2]) if mine else None,
                                           "in/out/degree" if mine else "name not among the rebuilt nodes"))
            elif isinstance(value, Mapping):
                visit(full, value)
            elif full == "spatial.flows_top20":
                mine = {(a, b): s for a, b, s in (_get(rebuilt, full) or [])}
                for a, b, s in value:
                    rows.append(CompareRow(full, f"{a}-{b}", s, mine.get((a, b)), _diff(s, mine.get((a, b))),
                                           "" if (a, b) in mine else "not in the rebuilt top 20"))
            elif isinstance(value, list):
                mine = lookup(path, str(key))
                rows.append(CompareRow(path, str(key), "、".join(map(str, value)),
                                       "、".join(map(str, mine)) if isinstance(mine, list) else None, None,
                                       _list_note(value, mine)))
            elif _num(value):
                mine = lookup(path, str(key))
                rows.append(CompareRow(path, str(key), value, mine, _diff(value, mine),
                                       "" if mine is not None else "not rebuilt"))
            elif full == "network.degree_concentration" and isinstance(value, str):
                numbers = re.findall(r"(\d+(?:\.\d+)?)%", value)
                mine = _get(rebuilt, "network.degree_concentration_share")
                a = float(numbers[-1]) if numbers else None
                rows.append(CompareRow(path, "degree_concentration_share", a, mine, _diff(a, mine),
                                       f"published text: {value}"))
            elif isinstance(value, str) and not key.endswith("notes"):
                rows.append(CompareRow(path, str(key), value, lookup(path, str(key)), None, "text"))

    visit("", published)
    return rows


def _list_note(published: Sequence[Any], rebuilt: Any) -> str:
    if not isinstance(rebuilt, list):
        return "not rebuilt"
    common = len(set(published) & set(rebuilt))
    same_order = list(published) == list(rebuilt)
    return "same order" if same_order else f"{common} of {len(published)} in common"


def comparison_tables(published: Mapping[str, Any], rebuilt: Mapping[str, Any]) -> tuple[Table, Table]:
    """The comparison and the consistency flags of both sides as two :class:`Table` objects."""
    rows = compare_figures(published, rebuilt)
    table = Table("compare", f"与已发布报告 {published.get('edition')} 的对比",
                  f"Rebuilt edition {rebuilt.get('edition')} beside published edition {published.get('edition')}",
                  [Column("path", "位置 (path)"), Column("item", "项目 (item)"), Column("published", "已发布 (published)"),
                   Column("rebuilt", "重建 (rebuilt)"), Column("difference", "差异 (rebuilt - published)", "float"),
                   Column("note", "说明 (note)")],
                  [[r.path, r.item, r.published, r.rebuilt, r.difference, r.note] for r in rows],
                  ["Differences are rebuilt - published; shares in percentage points."])
    flags = check_figures(published, "published") + check_figures(rebuilt, "rebuilt")
    flag_table = Table("consistency", "内部一致性检查", "Internal inconsistencies of either side",
                       [Column("side", "来源 (side)"), Column("path", "位置 (path)"), Column("message", "问题 (issue)")],
                       [[f.side, f.path, f.message] for f in flags],
                       ["Rules: analysis/compare.py module docstring."])
    return table, flag_table


# --------------------------------------------------------------------------- edition diff


@dataclass
class EditionBundle:
    """What :func:`diff_editions` reads back from one bundle directory."""

    edition: int
    nodes: dict[int, dict[str, str]]
    edges: set[tuple[int, int]]
    firms: dict[int, dict[str, str]]
    figures: dict[str, Any]


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `aimap analyze --edition {path.parent.name}` first")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def read_bundle(directory: Path) -> EditionBundle:
    """Read ``nodes.csv``, ``edges.csv``, ``firms.csv`` and ``figures.yaml`` of a bundle directory."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} does not exist: run `aimap analyze --edition {directory.name}` first")
    nodes = {int(r["id"]): r for r in _read_csv(directory / "nodes.csv")}
    edges = {(int(r["source_id"]), int(r["target_id"])) for r in _read_csv(directory / "edges.csv")}
    firms = {int(r["id"]): r for r in _read_csv(directory / "firms.csv")}
    figures = load_figures(directory / "figures.yaml")
    return EditionBundle(int(figures["edition"]), nodes, edges, firms, figures)


def _normalise(path: str, edition: int) -> str:
    """Year-specific keys made comparable across editions (sectors_2023 -> sectors_<E-1>)."""
    return path.replace(str(edition - 1), "<E-1>").replace(str(edition - 2), "<E-2>")


def _ranks(nodes: Mapping[int, Mapping[str, str]], sample: bool) -> dict[int, tuple[int, int]]:
    """Rank (tie rule of the report) and degree of the sample or relation nodes."""
    ids = [i for i, r in nodes.items() if (r["is_sample"] == "true") == sample]
    degree = [int(nodes[i]["degree"]) for i in ids]
    order = rank_order([nodes[i]["name"] for i in ids], degree, ids)
    return {ids[j]: (rank, degree[j]) for rank, j in enumerate(order, 1)}


@dataclass
class EditionDiff:
    """Tables describing what changed from edition ``a`` to edition ``b``."""

    a: int
    b: int
    summary: dict[str, int]
    tables: list[Table] = field(default_factory=list)


def diff_editions(dir_a: Path, dir_b: Path, *, top: int = 20, moved: int = 40) -> EditionDiff:
    """Compare two rebuilt editions (rules in the module docstring)."""
    a, b = read_bundle(dir_a), read_bundle(dir_b)
    tables: list[Table] = []
    cols = [Column("change", "变化 (change)"), Column("id", "id", "int"), Column("name", "名称 (name)"),
            Column("full_name", "全称 (full name)"), Column("province", "省份 (province)")]

    def people(before: Mapping[int, Mapping[str, str]], after: Mapping[int, Mapping[str, str]],
               key: str, title: str) -> tuple[int, int]:
        added = sorted(set(after) - set(before), key=lambda i: (after[i]["name"], i))
        removed = sorted(set(before) - set(after), key=lambda i: (before[i]["name"], i))
        rows = [["added", i, after[i]["name"], after[i]["full_name"], after[i]["province"]] for i in added]
        rows += [["removed", i, before[i]["name"], before[i]["full_name"], before[i]["province"]] for i in removed]
        tables.append(Table(key, title, title, cols, rows,
                            [f"{len(added)} added, {len(removed)} removed from edition {a.edition} to {b.edition}."]))
        return len(added), len(removed)

    fa, fr = people(a.firms, b.firms, "diff_sample_firms", "样本企业增减 (sample firms added / removed)")
    rel_a = {i: r for i, r in a.nodes.items() if r["is_sample"] != "true"}
    rel_b = {i: r for i, r in b.nodes.items() if r["is_sample"] != "true"}
    ra, rr = people(rel_a, rel_b, "diff_relation_nodes", "关系节点增减 (relation nodes added / removed)")
    names = {**{i: r["name"] for i, r in a.nodes.items()}, **{i: r["name"] for i, r in b.nodes.items()}}
    added_e, removed_e = sorted(b.edges - a.edges), sorted(a.edges - b.edges)
    tables.append(Table("diff_edges", "合作关系增减 (relations added / removed)", "Edges added / removed",
                        [Column("change", "变化"), Column("source_id", "source id", "int"),
                         Column("source", "技术赋能方 (provider)"), Column("target_id", "target id", "int"),
                         Column("target", "技术输入方 (receiver)")],
                        [["added", s, names.get(s, ""), t, names.get(t, "")] for s, t in added_e]
                        + [["removed", s, names.get(s, ""), t, names.get(t, "")] for s, t in removed_e],
                        [f"{len(added_e)} edges added, {len(removed_e)} removed (network of the last year)."]))
    hub_rows = []
    for sample, label in ((True, "sample"), (False, "relation")):
        ranks_a, ranks_b = _ranks(a.nodes, sample), _ranks(b.nodes, sample)
        ids = {i for i, (r, _) in ranks_a.items() if r <= top} | {i for i, (r, _) in ranks_b.items() if r <= top}
        for i in ids:
            (r1, d1), (r2, d2) = ranks_a.get(i, (None, 0)), ranks_b.get(i, (None, 0))
            move = "new" if r1 is None else "gone" if r2 is None else "rose" if r2 < r1 else "fell" if r2 > r1 else "same"
            hub_rows.append([label, names.get(i, ""), r1, r2, d1, d2, d2 - d1, move])
    hub_rows.sort(key=lambda r: (r[0], r[3] if r[3] is not None else math.inf, r[1]))
    tables.append(Table("diff_hubs", "枢纽节点排名变化 (hubs that rose or fell)", "Hubs that rose or fell",
                        [Column("kind", "类型 (sample/relation)"), Column("name", "名称"),
                         Column("rank_a", f"{a.edition} 排名", "int"), Column("rank_b", f"{b.edition} 排名", "int"),
                         Column("degree_a", f"{a.edition} 度数", "int"), Column("degree_b", f"{b.edition} 度数", "int"),
                         Column("degree_change", "度数变化", "int"), Column("move", "变化 (move)")], hub_rows,
                        [f"Nodes in the top {top} of either edition (degree centrality, ties by name)."]))
    flat_a = {_normalise(p, a.edition): v for p, v in _walk(a.figures) if _num(v)}
    flat_b = {_normalise(p, b.edition): v for p, v in _walk(b.figures) if _num(v)}
    share_paths = [p for p in flat_a.keys() & flat_b.keys()
                   if not p.startswith(("network.table1", "edition", "sample_firms", "parameters"))
                   and not p.endswith(("firms", "listed", "unlisted", "peak_year", "firms_with_date"))]
    share_paths.sort(key=lambda p: (-abs(flat_b[p] - flat_a[p]), p))
    tables.append(Table("diff_shares", "占比变化 (shares that moved)", "Shares that moved",
                        [Column("path", "位置 (path)"), Column("a", f"{a.edition}", "float"),
                         Column("b", f"{b.edition}", "float"), Column("change", "变化 (b - a)", "float")],
                        [[p, flat_a[p], flat_b[p], flat_b[p] - flat_a[p]] for p in share_paths[:moved]
                         if flat_b[p] != flat_a[p]],
                        [f"The {moved} largest moves among figures present in both editions "
                         "(<E-1> = the edition's last data year)."]))
    rows_a = {int(y): v for y, v in a.figures["network"]["table1"].items()}
    rows_b = {int(y): v for y, v in b.figures["network"]["table1"].items()}
    t1 = [[y, *rows_a.get(y, [None] * 8)[:4], *rows_b.get(y, [None] * 8)[:4]] for y in sorted(rows_a.keys() | rows_b.keys())]
    tables.append(Table("diff_table1", "表1 对比 (Table 1 side by side)", "Table 1 side by side",
                        [Column("year", "年份", "int"), *[Column(f"{f}_a", f"{a.edition} {f}", "int") for f in TABLE1_FIELDS[:4]],
                         *[Column(f"{f}_b", f"{b.edition} {f}", "int") for f in TABLE1_FIELDS[:4]]], t1, []))
    summary = {"sample_firms_added": fa, "sample_firms_removed": fr, "relation_nodes_added": ra,
               "relation_nodes_removed": rr, "edges_added": len(added_e), "edges_removed": len(removed_e)}
    return EditionDiff(a.edition, b.edition, summary, tables)


# --------------------------------------------------------------------------- files


def write_tables(tables: Sequence[Table], directory: Path, stem: str, title: str, intro: Sequence[str]) -> list[Path]:
    """Write each table as CSV plus one Markdown file ``<stem>.md`` holding them all."""
    directory.mkdir(parents=True, exist_ok=True)
    files = [write_csv(t, directory) for t in tables]
    files.append(write_markdown(tables, directory / f"{stem}.md", title=title, intro=intro, charts={}))
    return files


def write_comparison(published_path: Path, rebuilt: Mapping[str, Any], directory: Path) -> tuple[list[Path], Table, Table]:
    """``compare.md``, ``compare.csv`` and ``consistency.csv`` in ``directory`` (the rebuilt edition's bundle)."""
    published = load_figures(published_path)
    table, flags = comparison_tables(published, rebuilt)
    files = write_tables([table, flags], directory, "compare",
                         f"已发布报告与重建结果对比 — edition {published.get('edition')}",
                         [f"Published figures: {published_path}", f"Rebuilt figures: {directory / 'figures.yaml'}",
                          "Rules of the consistency checks: analysis/compare.py."])
    return files, table, flags


def write_diff(diff: EditionDiff, directory: Path) -> list[Path]:
    """``diff.md`` and one CSV per diff table in ``directory``."""
    summary = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in diff.summary.items())
    return write_tables(diff.tables, directory, "diff", f"版本对比 edition {diff.a} -> {diff.b}", [summary])
