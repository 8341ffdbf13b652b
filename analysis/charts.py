"""Charts of the report's figures (matplotlib), as PNG and SVG, with Chinese text that always renders.

Fonts: matplotlib gets Noto Sans CJK SC from the ``mplfonts`` wheel (the font file ships inside
the package, so a fresh machine without system CJK fonts renders every glyph); SVG files carry
text as paths (``svg.fonttype = 'path'``), so they need no font at all where they are opened.
Charts are drawn on :class:`matplotlib.figure.Figure` objects (no pyplot state, no GUI backend).

Reproducible files: SVG metadata without a date and a fixed ``svg.hashsalt`` for element ids;
PNG without a timestamp; the network drawing uses a seeded spring layout — the same data gives
byte-identical charts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from analysis.presentation import Table

log = logging.getLogger(__name__)

#: Font file shipped inside the mplfonts wheel (Noto Sans CJK SC, SIL Open Font License).
FONT_FILE = "NotoSansCJKsc-Regular.otf"
SAMPLE_COLOUR = "#c0392b"
RELATION_COLOUR = "#2e86c1"
BAR_COLOUR = "#2e86c1"
SERIES_COLOURS = ("#27ae60", "#2e86c1", "#c0392b", "#8e44ad", "#f39c12")


@lru_cache(maxsize=1)
def font_path() -> Path:
    """Path of the CJK font file in the installed ``mplfonts`` package."""
    import mplfonts  # deferred: only drawing charts and embedding the HTML font need the font file

    path = Path(mplfonts.__file__).resolve().parent / "fonts" / FONT_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path}: the mplfonts package does not ship {FONT_FILE}; reinstall mplfonts")
    return path


@lru_cache(maxsize=1)
def font_family() -> str:
    """Register the CJK font with matplotlib and return its family name ("Noto Sans CJK SC")."""
    from matplotlib import font_manager  # deferred: heavy, only drawing needs matplotlib

    path = font_path()
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


def rc_params() -> dict[str, Any]:
    """matplotlib settings of every chart (CJK font, no Unicode minus, reproducible SVG and PNG)."""
    return {
        "font.family": "sans-serif",
        "font.sans-serif": [font_family(), "DejaVu Sans"],
        "axes.unicode_minus": False,
        "svg.fonttype": "path",
        "svg.hashsalt": "aimap",
        "axes.spines.top": False,
        "axes.spines.right": False,
    }


def _labels(values: Sequence[Any]) -> list[str]:
    return [str(v) for v in values]


def _bar(ax: Any, table: Table, horizontal: bool) -> None:
    chart = table.chart
    assert chart is not None
    rows = table.records()[: chart.limit]
    labels = _labels(r[chart.x] for r in rows)
    values = [float(r[chart.y[0]] or 0) for r in rows]
    if horizontal:
        pos = np.arange(len(rows))[::-1]
        ax.barh(pos, values, color=BAR_COLOUR)
        ax.set_yticks(pos, labels)
        ax.set_xlabel(chart.ylabel)
        for p, v in zip(pos, values, strict=True):
            ax.text(v, p, f" {v:.2f}", va="center", fontsize=8)
    else:
        pos = np.arange(len(rows))
        ax.bar(pos, values, color=BAR_COLOUR)
        ax.set_xticks(pos, labels, rotation=45 if len(rows) > 8 else 0, ha="right" if len(rows) > 8 else "center")
        ax.set_ylabel(chart.ylabel)
        if len(rows) <= 25:
            for p, v in zip(pos, values, strict=True):
                ax.text(p, v, f"{v:.2f}", ha="center", va="bottom", fontsize=8)


def _pie(ax: Any, table: Table) -> None:
    chart = table.chart
    assert chart is not None
    rows = [r for r in table.records() if (r[chart.y[0]] or 0) > 0]
    if not rows:
        ax.text(0.5, 0.5, "无数据 (no data)", ha="center", va="center")
        ax.set_axis_off()
        return
    ax.pie([r[chart.y[0]] for r in rows], labels=_labels(r[chart.x] for r in rows), autopct="%1.2f%%",
           startangle=90, counterclock=False, colors=SERIES_COLOURS[: len(rows)] if len(rows) <= 5 else None)
    ax.set_aspect("equal")


def _line(ax: Any, table: Table) -> None:
    chart = table.chart
    assert chart is not None
    rows = table.records()
    x = [r[chart.x] for r in rows]
    names = chart.payload.get("labels", list(chart.y))
    for col, name, colour in zip(chart.y, names, SERIES_COLOURS, strict=False):
        ax.plot(x, [r[col] for r in rows], marker="o", label=name, color=colour)
    ax.set_xticks(x, _labels(x))
    ax.set_ylabel(chart.ylabel)
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=len(chart.y))


def _loglog(ax: Any, table: Table) -> None:
    """Fig. 14: P(k) on log-log axes, with the fitted discrete power law drawn over its tail."""
    from scipy.special import zeta  # deferred: heavy, only Fig. 14's fitted line needs it

    chart = table.chart
    assert chart is not None
    rows = table.records()
    k = np.array([r["degree"] for r in rows], dtype=float)
    p = np.array([r["share"] for r in rows], dtype=float) / 100.0
    ax.loglog(k, p, "o", markersize=3, color=BAR_COLOUR, label="P(k)")
    fit = chart.payload
    if "alpha" in fit and k.size:
        counts = np.array([r["nodes"] for r in rows], dtype=float)
        tail = k >= fit["xmin"]
        tail_fraction = counts[tail].sum() / counts.sum()
        kk = np.unique(np.geomspace(fit["xmin"], k.max(), 50).round())
        # discrete power law on k >= xmin, scaled by the share of nodes in the tail
        ax.loglog(kk, tail_fraction * kk ** -fit["alpha"] / zeta(fit["alpha"], fit["xmin"]), "-", color=SAMPLE_COLOUR,
                  label=f"power law α = {fit['alpha']:.2f}, xmin = {fit['xmin']:g}")
    ax.set_xlabel("度数中心度 k (degree)")
    ax.set_ylabel("P(k)")
    ax.set_title(f"前20%节点拥有 {fit.get('concentration', 0):.1f}% 的连接度", fontsize=9)
    ax.legend(frameon=False, fontsize=8)


def _network(ax: Any, table: Table) -> None:
    """Fig. 13: the drawn part of the network (spring layout, fixed seed), hubs labelled."""
    from matplotlib.collections import LineCollection  # deferred: heavy, only drawing needs matplotlib

    chart = table.chart
    assert chart is not None
    data = chart.payload
    nodes = data["nodes"]
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(zip(data["sources"], data["targets"], strict=True))
    # k (optimal node distance) above networkx's default 1/sqrt(n) spreads the hub core for labels
    pos = nx.spring_layout(graph, seed=data["seed"], iterations=60, k=3.0 / max(len(nodes), 1) ** 0.5)
    if data["sources"]:
        segments = [(pos[s], pos[t]) for s, t in zip(data["sources"], data["targets"], strict=True)]
        ax.add_collection(LineCollection(segments, colors="#999999", linewidths=0.3, alpha=0.35))
    degree = np.array([data["degree"][n] for n in nodes], dtype=float)
    xy = np.array([pos[n] for n in nodes]) if nodes else np.zeros((0, 2))
    colours = [SAMPLE_COLOUR if data["sample"][n] else RELATION_COLOUR for n in nodes]
    ax.scatter(xy[:, 0], xy[:, 1], s=8 + 400 * np.sqrt(degree / max(degree.max(), 1)), c=colours, alpha=0.8,
               linewidths=0, zorder=2)
    for n, label in data["labels"].items():
        n = int(n)
        if n in pos:
            ax.annotate(label, pos[n], fontsize=7, ha="center", va="bottom", zorder=3, xytext=(0, 4),
                        textcoords="offset points",
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7})
    ax.set_axis_off()


def render_chart(table: Table, directory: Path) -> list[Path]:
    """Draw ``table``'s chart to ``directory/<key>.png`` and ``.svg``; return the paths (none without a chart)."""
    if table.chart is None:
        return []
    import matplotlib  # deferred: heavy, only drawing needs it
    from matplotlib.figure import Figure  # deferred: as above

    directory.mkdir(parents=True, exist_ok=True)
    kind = table.chart.kind
    size = (9, 7) if kind == "network" else (8, 4.8) if kind != "pie" else (6, 5)
    with matplotlib.rc_context(rc_params()):
        fig = Figure(figsize=size, dpi=150)
        ax = fig.add_subplot()
        if not table.rows and kind != "network":
            ax.text(0.5, 0.5, "无数据 (no data)", ha="center", va="center")
            ax.set_axis_off()
        elif kind in ("bar", "barh"):
            _bar(ax, table, horizontal=kind == "barh")
        elif kind == "pie":
            _pie(ax, table)
        elif kind == "line":
            _line(ax, table)
        elif kind == "loglog":
            _loglog(ax, table)
        elif kind == "network":
            _network(ax, table)
        else:
            raise ValueError(f"unknown chart kind {kind!r} for {table.key}")
        fig.suptitle(table.title, fontsize=11)
        fig.tight_layout()
        png, svg = directory / f"{table.key}.png", directory / f"{table.key}.svg"
        fig.savefig(png, format="png", metadata={"Software": None})
        fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    return [png, svg]
