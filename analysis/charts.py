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
    elif chart.payload.get("time_axis"):  # years on a true time axis: a missing year is a gap, not skipped
        pos = np.array([float(r[chart.x]) for r in rows])
        ax.bar(pos, values, color=BAR_COLOUR, width=0.8)
        ticks = np.arange(int(pos.min()), int(pos.max()) + 1) if len(pos) else np.zeros(0)
        step = max(1, int(np.ceil(len(ticks) / 16)))
        ax.set_xticks(ticks[::step], [str(t) for t in ticks[::step]], rotation=45 if len(ticks) > 8 else 0)
        ax.set_xlabel(chart.payload.get("xlabel", ""))
        ax.set_ylabel(chart.ylabel)
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
    ax.set_title(f"前20%节点拥有 {fit.get('concentration', 0):.2f}% 的连接度", fontsize=9)  # as the note: one number
    ax.legend(frameon=False, fontsize=8)


def spread_labels(anchors: np.ndarray, min_dist: float, iterations: int = 200) -> np.ndarray:
    """Label positions near ``anchors`` (axes units) pushed apart until no two are closer than ``min_dist``.

    A few hundred rounds of pairwise repulsion plus a weak pull back to the anchor: enough for the
    20 numbered hubs of Fig. 13, deterministic (no randomness).
    """
    pos = anchors.astype(float).copy()
    n = len(pos)
    for _ in range(iterations):
        moved = False
        for i in range(n):
            for j in range(i + 1, n):
                d = pos[j] - pos[i]
                dist = float(np.hypot(*d))
                if dist < min_dist:
                    direction = d / dist if dist > 1e-9 else np.array([np.cos(i + j), np.sin(i + j)])
                    push = (min_dist - dist) / 2 * direction
                    pos[i] -= push
                    pos[j] += push
                    moved = True
        pos += 0.02 * (anchors - pos)
        if not moved:
            break
    return pos


def _network(ax: Any, table: Table, key_ax: Any | None = None) -> None:
    """Fig. 13: the drawn part of the network (ForceAtlas2 positions), arrows, hubs numbered, legend, key."""
    from matplotlib.lines import Line2D  # deferred: heavy, only drawing needs matplotlib

    chart = table.chart
    assert chart is not None
    data = chart.payload
    nodes = data.get("order", data["nodes"])  # in the order of names: the same picture whatever the ids
    edge_order = data.get("edge_order", range(len(data["sources"])))
    pos = {int(n): np.array(xy, dtype=float) for n, xy in data["pos"].items()}
    degree = np.array([data["degree"][n] for n in nodes], dtype=float)
    radius = 8 + 400 * np.sqrt(degree / max(degree.max(), 1)) if nodes else np.zeros(0)
    if data["sources"]:
        src = np.array([pos[data["sources"][e]] for e in edge_order])
        dst = np.array([pos[data["targets"][e]] for e in edge_order])
        delta = (dst - src) * 0.9  # stop short of the target's marker so the arrowhead shows
        alpha = float(min(0.5, max(0.12, 12.0 / np.sqrt(len(src)))))  # dense drawings get fainter edges
        ax.quiver(src[:, 0], src[:, 1], delta[:, 0], delta[:, 1], angles="xy", scale_units="xy", scale=1,
                  color="#7a7a7a", alpha=alpha, width=0.0011, headwidth=5, headlength=6, headaxislength=5,
                  zorder=1)
    xy = np.array([pos[n] for n in nodes]) if nodes else np.zeros((0, 2))
    colours = [SAMPLE_COLOUR if data["sample"][n] else RELATION_COLOUR for n in nodes]
    ax.scatter(xy[:, 0], xy[:, 1], s=radius, c=colours, alpha=0.85, linewidths=0.3, edgecolors="white", zorder=2)
    numbered = [(int(n), int(k)) for n, k in data.get("numbers", {}).items() if int(n) in pos]
    if numbered:
        anchors = np.array([pos[n] for n, _ in numbered])
        span = float(np.ptp(xy, axis=0).max()) if len(xy) else 1.0
        placed = spread_labels(anchors + np.array([0.0, 0.03 * span]), 0.055 * span)
        for (_n, k), (lx, ly), anchor in zip(numbered, placed, anchors, strict=True):
            ax.annotate(str(k), xy=anchor, xytext=(lx, ly), fontsize=8, ha="center", va="center",
                        zorder=4, bbox={"boxstyle": "circle,pad=0.2", "fc": "white", "ec": "#333333", "lw": 0.6},
                        arrowprops={"arrowstyle": "-", "color": "#333333", "lw": 0.5, "shrinkA": 0, "shrinkB": 2})
    handles = [Line2D([], [], marker="o", ls="", color=SAMPLE_COLOUR, label="样本节点 (sample firm)"),
               Line2D([], [], marker="o", ls="", color=RELATION_COLOUR, label="关系节点 (relation node)"),
               Line2D([], [], marker=">", ls="-", color="#8a8a8a", label="技术赋能 → 技术输入 (provider → receiver)"),
               Line2D([], [], marker="o", ls="", mfc="white", mec="#333333", color="#333333",
                      label="编号 = 度数排名 (number = degree rank)")]
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_axis_off()
    if key_ax is None:
        ax.legend(handles=handles, loc="lower left", fontsize=7.5, frameon=True, framealpha=0.85)
    else:
        key_ax.legend(handles=handles, loc="lower left", fontsize=7.5, frameon=False, borderaxespad=0)
        key_ax.set_axis_off()
        lines = [f"{k:>2}  {data['labels'][n]}"
                 f"  ({int(data['degree'][n])})" for n, k in sorted(numbered, key=lambda nk: nk[1])]
        key_ax.text(0.0, 1.0, "编号  名称（度数）\nNo.  name (degree)\n\n" + "\n".join(lines), va="top", ha="left",
                    fontsize=8, transform=key_ax.transAxes, linespacing=1.45)


def render_chart(table: Table, directory: Path) -> list[Path]:
    """Draw ``table``'s chart to ``directory/<key>.png`` and ``.svg``; return the paths (none without a chart).

    Fig. 13 (``network``) also gets ``<key>_hires.png`` at 300 dpi (3600 x 2550 px) for print.
    """
    if table.chart is None:
        return []
    import matplotlib  # deferred: heavy, only drawing needs it
    from matplotlib.figure import Figure  # deferred: as above

    directory.mkdir(parents=True, exist_ok=True)
    kind = table.chart.kind
    size = (12, 8.5) if kind == "network" else (8, 4.8) if kind != "pie" else (6, 5)
    with matplotlib.rc_context(rc_params()):
        fig = Figure(figsize=size, dpi=150)
        key_ax = None
        if kind == "network":
            grid = fig.add_gridspec(1, 2, width_ratios=(4, 1.15))
            ax, key_ax = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])
        else:
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
            _network(ax, table, key_ax)
        else:
            raise ValueError(f"unknown chart kind {kind!r} for {table.key}")
        if kind != "network":  # Fig. 13 carries its title in the document's caption; its key needs the room
            fig.suptitle(table.title, fontsize=11)
        fig.tight_layout()
        png, svg = directory / f"{table.key}.png", directory / f"{table.key}.svg"
        fig.savefig(png, format="png", metadata={"Software": None})
        fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
        if kind != "network":
            return [png, svg]
        hires = directory / f"{table.key}_hires.png"
        fig.savefig(hires, format="png", dpi=300, metadata={"Software": None})
    return [png, svg, hires]
