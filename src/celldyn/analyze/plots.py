"""Figures of an :class:`~celldyn.analyze.dynamics.Analysis`, sized for a paper page.

Every function returns a :class:`matplotlib.figure.Figure` (no pyplot state, no files,
Agg canvas) about 7 inches wide (a two-column page) with 8–10 pt text, so a figure
placed at 100 % is readable in print. Times are shown in s, min or h (whichever keeps
the numbers small) when the frame interval is known, else in frames; lengths in µm
when the pixel size is known, else in pixels. :func:`figure_bytes` renders a figure as
PNG or SVG bytes for the report and the writer.

This module is ours; matplotlib draws.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .dynamics import Analysis, class_column_name
from .motion import msd, positions

__all__ = [
    "PLOTS",
    "figure_bytes",
    "plot_classes",
    "plot_counts",
    "plot_durations",
    "plot_lineage",
    "plot_msd",
    "plot_tracks",
]

WIDTH = 7.0  # inches: a two-column page
STYLE = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.fonttype": "none",
}
CLASS_COLORS = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442",
    "#000000",
]  # Okabe–Ito: colour-blind safe
TRACK_COLOR = "#333333"


def _styled(func: Callable[..., Figure]) -> Callable[..., Figure]:
    """Run a plot function under the paper style (rcParams restored afterwards)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Figure:
        import matplotlib

        if args and not isinstance(args[0], Analysis):  # a RunResult from pipeline.run
            from .dynamics import analyze

            args = (analyze(args[0]), *args[1:])

        with matplotlib.rc_context(STYLE):
            return func(*args, **kwargs)

    return wrapper


def _figure(height: float, ncols: int = 1, nrows: int = 1, **kw: Any):
    fig = Figure(figsize=(WIDTH, height), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def _time_scale(a: Analysis) -> tuple[float, str]:
    """Factor from frames to the display time unit, and its name."""
    if not a.frame_interval:
        return 1.0, "frame"
    total = a.frame_interval * max(a.n_frames, 1)
    if total > 2 * 3600:
        return a.frame_interval / 3600.0, "h"
    if total > 120:
        return a.frame_interval / 60.0, "min"
    return a.frame_interval, "s"


def _class_colors(a: Analysis) -> dict[Any, str]:
    if "class" not in a.objects.columns:
        return {}
    values = sorted(a.objects["class"].dropna().unique().tolist(), key=str)
    return {v: CLASS_COLORS[i % len(CLASS_COLORS)] for i, v in enumerate(values)}


def _note(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes,
            fontsize=9, wrap=True, color="#555555")
    ax.set_xticks([])
    ax.set_yticks([])


# -- lineage trees ---------------------------------------------------------------------
def _tree_layout(dyn: pd.DataFrame, roots: list[int]) -> dict[int, float]:
    children = {
        int(r.track_id): [int(c) for c in str(r.children).split(";") if c]
        for r in dyn.itertuples()
    }
    y: dict[int, float] = {}
    nxt = [0.0]

    def place(node: int) -> float:
        kids = children.get(node, [])
        if not kids:
            y[node] = nxt[0]
            nxt[0] += 1.0
        else:
            y[node] = float(np.mean([place(k) for k in kids]))
        return y[node]

    for root in roots:
        place(root)
        nxt[0] += 0.8  # space between lineages
    return y


@_styled
def plot_lineage(a: Analysis, *, max_lineages: int = 40) -> Figure:
    """Lineage trees: time on the x axis, one row per cell, coloured by class.

    Divisions are vertical connectors with a dot, gap continuations dotted. With more
    than `max_lineages` lineages, the largest (most tracks) are drawn.
    """
    dyn = a.dynamics
    scale, tunit = _time_scale(a)
    sizes = dyn.groupby("lineage_id").size().sort_values(ascending=False, kind="stable")
    roots = sorted(sizes.index[:max_lineages].astype(int).tolist())
    shown = dyn[dyn["lineage_id"].isin(roots)]
    ypos = _tree_layout(shown, roots)
    n_rows = max(ypos.values(), default=0) + 1
    height = float(np.clip(0.06 * n_rows + 1.4, 3.0, 9.0))
    fig, axes = _figure(height)
    ax = axes[0, 0]
    if dyn.empty:
        _note(ax, "no tracks")
        return fig
    colors = _class_colors(a)
    lw = float(np.clip(150.0 / max(n_rows, 1), 0.8, 3.0))
    segs, cols = [], []
    if colors:
        obj = a.objects[a.objects["label"].isin(shown["track_id"])]
        for lab, t, cls in zip(obj["label"], obj["t"], obj["class"]):
            y = ypos[int(lab)]
            segs.append([(t * scale, y), ((t + 1) * scale, y)])
            cols.append(colors.get(cls, "#BBBBBB"))
    else:
        for r in shown.itertuples():
            y = ypos[int(r.track_id)]
            segs.append([(r.start_frame * scale, y), ((r.end_frame + 1) * scale, y)])
            cols.append(TRACK_COLOR)
    ax.add_collection(LineCollection(segs, colors=cols, linewidths=lw, capstyle="butt"))
    conn, dots, gaps = [], [], []
    for r in shown.itertuples():
        kids = [int(c) for c in str(r.children).split(";") if c]
        if not kids:
            continue
        x_end = (r.end_frame + 1) * scale
        y0 = ypos[int(r.track_id)]
        if r.ends_by_division:
            ys = [ypos[k] for k in kids]
            conn.append([(x_end, min(ys)), (x_end, max(ys))])
            dots.append((x_end, y0))
        else:
            k = kids[0]
            start = float(shown.loc[shown.track_id == k, "start_frame"].iloc[0]) * scale
            gaps.append([(x_end, y0), (start, ypos[k])])
    ax.add_collection(LineCollection(conn, colors="#666666", linewidths=0.7))
    if gaps:
        ax.add_collection(
            LineCollection(gaps, colors="#999999", linewidths=0.8, linestyles=":")
        )
    if dots:
        d = np.asarray(dots)
        ax.scatter(d[:, 0], d[:, 1], s=8, color="#222222", zorder=3, linewidths=0)
    ax.set_xlim(0, a.n_frames * scale)
    ax.set_ylim(n_rows, -1)
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    ax.set_xlabel(f"time ({tunit})")
    title = f"Lineage trees: {len(roots)} lineage{'s' if len(roots) != 1 else ''}, "
    title += f"{int(shown['ends_by_division'].sum())} divisions"
    if len(sizes) > len(roots):
        title += f" (the {len(roots)} largest of {len(sizes)} lineages)"
    ax.set_title(title)
    handles = [Line2D([], [], color=c, lw=3, label=str(k)) for k, c in colors.items()]
    handles += [Line2D([], [], color="#222222", marker="o", ls="", ms=3, label="division")]
    if gaps:
        handles.append(Line2D([], [], color="#999999", ls=":", label="gap (same cell)"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return fig


# -- track overlays --------------------------------------------------------------------
def _background(labels, movie, frame: int) -> tuple[np.ndarray | None, bool]:
    if movie is not None:
        img = np.asarray(movie[frame], dtype=float)
        if img.ndim == 3:
            img = img.max(axis=0)
        lo, hi = np.percentile(img, [1, 99.5])
        return np.clip((img - lo) / (hi - lo if hi > lo else 1.0), 0, 1), True
    if labels is not None:
        lab = np.asarray(labels[frame])
        if lab.ndim == 3:
            lab = lab.max(axis=0)
        return lab, False
    return None, False


@_styled
def plot_tracks(
    a: Analysis,
    labels: Any = None,
    movie: Any = None,
    *,
    frame: int | None = None,
    tail: int | None = None,
) -> Figure:
    """Tracks drawn on a frame: each track's path up to `frame`, coloured by lineage.

    Parameters
    ----------
    a : Analysis
    labels : (T, [Z,] Y, X) int array, optional
        Label movie; the objects' outlines at `frame` are drawn (3D: max projection).
    movie : (T, [Z,] Y, X) array, optional
        Intensities shown in grey under the tracks (preferred over labels).
    frame : int, optional
        Frame to draw; default the last.
    tail : int, optional
        Frames of history drawn per track; default all.
    """
    from skimage.segmentation import find_boundaries

    frame = a.n_frames - 1 if frame is None else int(frame)
    bg, is_movie = _background(labels, movie, frame)
    if bg is not None:
        aspect = bg.shape[0] / bg.shape[1]
    else:
        aspect = 1.0
    fig, axes = _figure(float(np.clip(WIDTH * 0.75 * aspect + 0.6, 3.0, 9.0)))
    ax = axes[0, 0]
    if bg is not None:
        if is_movie:
            ax.imshow(bg, cmap="gray", interpolation="nearest")
            if labels is not None:
                lab = np.asarray(labels[frame])
                lab = lab.max(axis=0) if lab.ndim == 3 else lab
                edge = np.ma.masked_where(~find_boundaries(lab, mode="inner"), lab)
                ax.imshow(edge > 0, cmap="autumn", alpha=0.6, interpolation="nearest")
        else:
            ax.imshow(bg > 0, cmap="Greys", vmin=0, vmax=3, interpolation="nearest")
            edge = find_boundaries(bg, mode="inner")
            ax.imshow(np.ma.masked_where(~edge, edge), cmap="Greys_r", alpha=0.8,
                      interpolation="nearest")
    obj = a.objects
    lo = -1 if tail is None else frame - int(tail)
    obj = obj[(obj["t"] <= frame) & (obj["t"] > lo)].sort_values(["label", "t"])
    lineage = dict(zip(a.dynamics["track_id"], a.dynamics["lineage_id"]))
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    segs, cols = [], []
    for label, g in obj.groupby("label"):
        if len(g) > 1:
            segs.append(np.c_[g["x"].to_numpy(), g["y"].to_numpy()])
            cols.append(cmap(int(lineage.get(label, label)) % 10))
    ax.add_collection(LineCollection(segs, colors=cols, linewidths=1.2))
    now = obj[obj["t"] == frame]
    ax.scatter(now["x"], now["y"], s=6,
               c=[cmap(int(lineage.get(v, v)) % 10) for v in now["label"]],
               edgecolors="white", linewidths=0.3, zorder=3)
    if len(a.objects):  # zoom on where the objects are
        x0, x1 = a.objects["x"].min(), a.objects["x"].max()
        y0, y1 = a.objects["y"].min(), a.objects["y"].max()
        pad = 0.05 * max(x1 - x0, y1 - y0) + 10
        if bg is not None:
            x0, y0 = max(x0 - pad, -0.5), max(y0 - pad, -0.5)
            x1, y1 = min(x1 + pad, bg.shape[1] - 0.5), min(y1 + pad, bg.shape[0] - 0.5)
        else:
            x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
        ax.set_xlim(x0, x1)
        ax.set_ylim(y1, y0)
        ax.set_aspect("equal")
    ax.set_xlabel("x (px)")
    ax.set_ylabel("y (px)")
    if a.spacing is not None and len(a.objects):
        _scale_bar(ax, a.spacing[-1])
    scale, tunit = _time_scale(a)
    when = f"frame {frame}" + (f" ({frame * scale:.3g} {tunit})" if tunit != "frame" else "")
    ax.set_title(f"Tracks up to {when}, coloured by lineage")
    return fig


def _scale_bar(ax, um_per_px: float) -> None:
    (xa, xb), (yb, ya) = ax.get_xlim(), ax.get_ylim()  # y axis points down
    width, height = xb - xa, yb - ya
    nice = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
    length = max([n for n in nice if n <= width * um_per_px / 5] or [nice[0]])
    px = length / um_per_px
    y = ya + 0.95 * height
    x0 = xa + 0.95 * width - px
    ax.plot([x0, x0 + px], [y, y], color="#D55E00", lw=3, solid_capstyle="butt")
    ax.text(x0 + px / 2, y - 0.02 * height, f"{length} µm", color="#D55E00",
            ha="center", va="bottom", fontsize=8)


# -- durations -------------------------------------------------------------------------
@_styled
def plot_durations(a: Analysis) -> Figure:
    """Histograms of complete cell-cycle durations and of track lifetimes."""
    scale, tunit = _time_scale(a)
    fig, axes = _figure(3.0, ncols=2)
    ax1, ax2 = axes[0]
    cyc = a.dynamics["cycle_frames"].dropna().astype(float).to_numpy() * scale
    if cyc.size:
        bins = min(30, max(5, int(np.sqrt(cyc.size) * 2)))
        ax1.hist(cyc, bins=bins, color=CLASS_COLORS[0], edgecolor="white")
        med = float(np.median(cyc))
        ax1.axvline(med, color="#D55E00", ls="--", lw=1)
        ax1.set_title(f"Cell-cycle duration (n = {cyc.size}, median {med:.3g} {tunit})")
        ax1.set_xlabel(f"division to division ({tunit})")
        ax1.set_ylabel("cells")
    else:
        ax1.set_title("Cell-cycle duration")
        _note(ax1, "no complete cycles:\na cycle needs a cell born by division\n"
                   "that divides again within the movie")
    life = a.dynamics["n_frames"].astype(float).to_numpy() * scale
    if life.size:
        ax2.hist(life, bins=min(30, max(5, int(np.sqrt(life.size) * 2))),
                 color="#999999", edgecolor="white")
        ax2.set_title(f"Track lifetime (n = {life.size})")
        ax2.set_xlabel(f"time observed ({tunit})")
        ax2.set_ylabel("tracks")
    else:
        _note(ax2, "no tracks")
    return fig


# -- MSD -------------------------------------------------------------------------------
@_styled
def plot_msd(a: Analysis, *, max_tracks: int = 150) -> Figure:
    """MSD curves per track (grey), pooled MSD with its fit, and the exponent histogram."""
    fig, axes = _figure(3.2, ncols=2, width_ratios=[1.5, 1])
    ax, ax2 = axes[0]
    L, T = a.units["length"], a.units["time"]
    from ..units import SECONDS

    dt = float(a.frame_interval or 1.0) / SECONDS.get(T, 1.0)  # frames -> table time unit
    pos, axnames = positions(a.objects, spacing=a.spacing)
    groups = [g for _, g in pos.groupby("label") if len(g) >= 5]
    if len(groups) > max_tracks:
        pick = np.random.default_rng(0).choice(len(groups), max_tracks, replace=False)
        groups = [groups[i] for i in sorted(pick)]
    segs = []
    for g in groups:
        lags, m, _ = msd(g["t"].to_numpy(), g[axnames].to_numpy())
        ok = m > 0
        if ok.sum() >= 2:
            segs.append(np.c_[lags[ok] * dt, m[ok]])
    curve = a.msd_curve
    if not segs and curve.empty:
        ax.set_title("Mean squared displacement")
        _note(ax, "no track has 5 or more frames")
        _note(ax2, "")
        return fig
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.add_collection(LineCollection(segs, colors="#BBBBBB", linewidths=0.5, alpha=0.6))
    D = a.summary.get("msd_D_pooled", float("nan"))
    alpha = a.summary.get("msd_alpha_pooled", float("nan"))
    if not curve.empty:
        ax.plot(curve["lag"], curve["msd"], "o", color="#000000", ms=3.5,
                label="pooled over tracks")
        if np.isfinite(D):
            tau = curve["lag"].to_numpy(dtype=float)
            ax.plot(tau, 2 * a.ndim * D * tau, "--", color="#D55E00", lw=1.2,
                    label=f"2dDτ, D = {D:.3g} {a.units['diffusion']}")
    allx = np.concatenate([s[:, 0] for s in segs] + [curve["lag"].to_numpy(float)])
    ally = np.concatenate([s[:, 1] for s in segs] + [curve["msd"].to_numpy(float)])
    ally = ally[ally > 0]
    ax.set_xlim(allx.min() / 1.3, allx.max() * 1.3)
    ax.set_ylim(ally.min() / 1.5, ally.max() * 1.5)
    ax.set_xlabel(f"lag τ ({T})")
    ax.set_ylabel(f"MSD ({L}²)")
    ttl = "Mean squared displacement"
    if np.isfinite(alpha):
        ttl += f" (pooled α = {alpha:.2f})"
    ax.set_title(ttl)
    ax.legend(handles=[Line2D([], [], color="#BBBBBB", label=f"tracks ({len(segs)})"),
                       *ax.get_legend_handles_labels()[0]], loc="upper left", frameon=False)
    al = a.dynamics["msd_alpha"].dropna().to_numpy(float)
    if al.size:
        ax2.hist(al, bins=min(25, max(5, int(np.sqrt(al.size) * 2))), color=CLASS_COLORS[2],
                 edgecolor="white")
        for v, txt in ((1.0, "diffusive"), (2.0, "ballistic")):
            ax2.axvline(v, color="#555555", ls=":", lw=1)
            ax2.text(v, ax2.get_ylim()[1] * 0.98, txt, rotation=90, va="top", ha="right",
                     fontsize=7, color="#555555")
        ax2.set_xlabel("MSD exponent α per track")
        ax2.set_ylabel("tracks")
        ax2.set_title(f"α (n = {al.size})")
    else:
        _note(ax2, "no per-track fit")
    return fig


# -- counts and classes ----------------------------------------------------------------
@_styled
def plot_counts(a: Analysis) -> Figure:
    """Objects per frame and divisions per frame (with the cumulative count)."""
    scale, tunit = _time_scale(a)
    pop = a.population
    fig, axes = _figure(2.8, ncols=2)
    ax1, ax2 = axes[0]
    x = pop["t"].to_numpy() * scale
    ax1.plot(x, pop["n_objects"], color=CLASS_COLORS[0], lw=1.5)
    ax1.set_xlabel(f"time ({tunit})")
    ax1.set_ylabel("objects")
    ax1.set_title("Objects over time")
    ax1.set_ylim(bottom=0)
    # one step artist, not a bar per frame: a 10,000-frame movie would draw 10,000
    # patches (tens of MB and seconds)
    edges = (np.append(x, x[-1] + scale) - scale / 2) if len(x) else np.zeros(1)
    ax2.stairs(pop["n_divisions"].to_numpy(), edges, fill=True, color=CLASS_COLORS[1],
               label="per frame")
    ax2.set_xlabel(f"time ({tunit})")
    ax2.set_ylabel("divisions per frame")
    ax2.set_ylim(0, max(1, int(pop["n_divisions"].max()) if len(pop) else 1) * 1.1)
    twin = ax2.twinx()
    twin.plot(x, np.cumsum(pop["n_divisions"]), color="#333333", lw=1.2,
              label="cumulative")
    twin.set_ylabel("cumulative divisions", fontsize=9)
    twin.tick_params(labelsize=8)
    twin.set_ylim(0, max(1, int(pop["n_divisions"].sum())) * 1.05)
    rate = a.summary.get("division_rate", float("nan"))
    per = a.units["time"]
    ttl = f"Divisions ({int(pop['n_divisions'].sum())})"
    if np.isfinite(rate):
        ttl += f", {rate:.3g} per cell per {per}"
    ax2.set_title(ttl)
    return fig


@_styled
def plot_classes(a: Analysis) -> Figure:
    """Objects per class over time (stacked) and the fraction in each class."""
    scale, tunit = _time_scale(a)
    pop = a.population
    x = pop["t"].to_numpy() * scale
    colors = _class_colors(a)
    fig, axes = _figure(3.0, ncols=2)
    ax1, ax2 = axes[0]
    if not colors:
        ax1.fill_between(x, 0, pop["n_objects"], color="#BBBBBB", step="mid",
                         label="unclassified")
        ax1.set_title("Objects over time (no classes in this run)")
        ax1.set_xlabel(f"time ({tunit})")
        ax1.set_ylabel("objects")
        _note(ax2, "no 'class' column in the objects table:\n"
                   "classify objects to see class fractions")
        return fig
    names = [class_column_name(c) for c in colors]
    counts = np.vstack([pop[f"n_{n}"].to_numpy() for n in names])
    fracs = np.vstack([pop[f"fraction_{n}"].fillna(0).to_numpy() for n in names])
    cols = list(colors.values())
    ax1.stackplot(x, counts, colors=cols, step=None)
    ax1.set_xlabel(f"time ({tunit})")
    ax1.set_ylabel("objects")
    ax1.set_title("Objects per class")
    ax2.stackplot(x, fracs, colors=cols)
    ax2.set_ylim(0, 1)
    ax2.set_xlabel(f"time ({tunit})")
    ax2.set_ylabel("fraction")
    ax2.set_title("Fraction in each class")
    ax2.legend(handles=[Patch(color=c, label=str(k)) for k, c in colors.items()],
               loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return fig


PLOTS: dict[str, Callable[..., Figure]] = {
    "counts": plot_counts,
    "lineage": plot_lineage,
    "tracks": plot_tracks,
    "durations": plot_durations,
    "msd": plot_msd,
    "classes": plot_classes,
}


def figure_bytes(fig: Figure, fmt: str = "png", *, dpi: int = 200) -> bytes:
    """Render `fig` to PNG or SVG bytes (Agg canvas; no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi, facecolor="white")
    return buf.getvalue()
