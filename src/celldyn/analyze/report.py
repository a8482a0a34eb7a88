"""The HTML report: one self-contained file (figures embedded as base64 PNG).

:func:`build_report` turns an :class:`~celldyn.analyze.dynamics.Analysis`, its figures
and the run record (the content of ``run.json``) into an HTML string: the run's
summary, the units, the figures, the heads of the tables with each column's unit, and
the parameters and versions. Nothing is fetched from the network (no scripts, fonts or
style sheets from elsewhere), so the page opens offline and can be archived with a
paper. Pure: no files.

This module is ours; :mod:`html` escapes, pandas renders the tables.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from ..units import format_duration
from .dynamics import Analysis, column_units
from .plots import PLOTS, figure_bytes

__all__ = ["FIGURE_CAPTIONS", "REPORT_FIGURES", "build_report", "make_figures",
           "missing_units_message"]

REPORT_FIGURES = ("counts", "lineage", "tracks", "durations", "msd", "classes")

FIGURE_CAPTIONS = {
    "counts": "Objects per frame and divisions per frame (bars) with their cumulative "
    "count; the division rate is divisions per cell per unit time.",
    "lineage": "Lineage trees: each row is a cell, time runs left to right; divisions "
    "are dots with vertical connectors, dotted lines join the parts of one cell across a "
    "gap. Colours are classes where objects were classified.",
    "tracks": "Track paths drawn on the last frame, coloured by lineage.",
    "durations": "Complete cell cycles (a cell born by division that divides again "
    "inside the movie) and the time each track is observed.",
    "msd": "Mean squared displacement per track (grey) and pooled over tracks (dots) "
    "with the fit MSD = 2dDτ; right: the per-track exponent α of MSD ∝ τ^α.",
    "classes": "Objects per class over time and the fraction in each class.",
}

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1100px; padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.8em;
     border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: right; }
th { background: #f4f4f4; } td.l, th.l { text-align: left; }
figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; }
figcaption { font-size: 0.9em; color: #444; }
.scroll { overflow-x: auto; } .warn { color: #a33; }
code { background: #f4f4f4; padding: 0 3px; }
"""


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "–"
        return f"{v:.4g}"
    return str(v)


def _kv_table(rows: list[tuple[str, Any]]) -> str:
    body = "".join(
        f"<tr><th class='l'>{html.escape(str(k))}</th><td class='l'>{html.escape(_fmt(v))}</td></tr>"
        for k, v in rows
    )
    return f"<table>{body}</table>"


def _frame_table(df: pd.DataFrame, units: dict[str, str], n: int) -> str:
    head = df.head(n).copy()
    if "speed_series" in head:
        head["speed_series"] = head["speed_series"].astype(str).str.slice(0, 40) + "…"
    cols = list(head.columns)
    unit = column_units(cols, units)
    th = "".join(
        f"<th>{html.escape(c)}<br><small>{html.escape(unit[c])}</small></th>" for c in cols
    )
    rows = []
    for _, r in head.iterrows():
        cells = "".join(
            f"<td>{html.escape(_fmt(r[c]) if not pd.isna(r[c]) else '–')}</td>" for c in cols
        )
        rows.append(f"<tr>{cells}</tr>")
    return f"<div class='scroll'><table><tr>{th}</tr>{''.join(rows)}</table></div>"


def _summary_rows(a: Analysis, record: dict[str, Any]) -> list[tuple[str, Any]]:
    s = a.summary
    u = a.units
    movie = record.get("movie", {})
    rows: list[tuple[str, Any]] = [
        ("source", record.get("source", "")),
        ("movie axes, shape", f"{movie.get('axes', '')} {movie.get('shape', '')}"),
        ("pixel size", " x ".join(f"{v:g}" for v in a.spacing) + " µm" if a.spacing
         else "unknown (px)"),
        ("frame interval", format_duration(a.frame_interval) if a.frame_interval
         else "unknown (frames)"),
        ("frames", s["frames"]),
        ("objects", s["objects"]),
        ("tracks", s["tracks"]),
        ("lineages", s["lineages"]),
        ("divisions", s["divisions"]),
        ("division rate", f"{_fmt(s['division_rate'])} per cell per {u['time']}"),
        ("largest generation", s["max_generation"]),
    ]
    c = s["cycle_duration"]
    rows.append(
        (
            "complete cell cycles",
            f"{c['n']}: median {_fmt(c['median'])} {u['time']}, mean {_fmt(c['mean'])} ± "
            f"{_fmt(c['sd'])} (sd)" if c["n"] else "0",
        )
    )
    sp = s["speed_mean"]
    rows.append(("mean speed per track", f"median {_fmt(sp['median'])} {u['speed']}"))
    rows.append(
        (
            "MSD fit, pooled",
            f"D = {_fmt(s['msd_D_pooled'])} {u['diffusion']}, α = {_fmt(s['msd_alpha_pooled'])}",
        )
    )
    da = s["msd_alpha_per_track"]
    rows.append(("MSD exponent α per track", f"median {_fmt(da['median'])} (n = {da['n']})"))
    return rows


def _evaluation_rows(scores: dict[str, Any]) -> list[tuple[str, Any]]:
    """The scores of ``celldyn evaluate`` as report rows (CTC measures, divisions)."""
    rows: list[tuple[str, Any]] = [("ground truth", scores.get("gt", ""))]
    for key in ("SEG", "DET", "TRA", "LNK", "BC(1)", "CT", "CCA"):
        v = scores.get(key)
        if v is not None and v == v:  # not NaN
            rows.append((key, f"{float(v):.4f}"))
    if "div_F1" in scores:
        rows.append(("divisions (±1 frame)",
                     f"precision {_fmt(scores['div_precision'])}, recall "
                     f"{_fmt(scores['div_recall'])}, F1 {_fmt(scores['div_F1'])} "
                     f"(TP {scores.get('div_TP')}, FP {scores.get('div_FP')}, "
                     f"FN {scores.get('div_FN')})"))
    return rows


def build_report(
    a: Analysis,
    figures: dict[str, Figure] | dict[str, bytes],
    record: dict[str, Any] | None = None,
    *,
    title: str = "celldyn report",
    head_rows: int = 10,
    evaluation: dict[str, Any] | None = None,
) -> str:
    """Assemble the self-contained HTML report.

    Parameters
    ----------
    a : Analysis
        Tables and summary.
    figures : dict of name -> Figure (or PNG bytes)
        Figures in display order; captions come from :data:`FIGURE_CAPTIONS`.
    record : dict, optional
        The run record (``run.json``): source, movie metadata, config, versions.
    title : str
        Page title.
    head_rows : int
        Rows of each table shown.
    evaluation : dict, optional
        Scores against ground truth (``evaluation.json`` of ``celldyn evaluate``),
        shown in their own section.

    Returns
    -------
    str
        The HTML page.
    """
    record = record or {}
    u = a.units
    parts = [
        "<!DOCTYPE html>",
        "<html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        "<h2>Summary</h2>",
        _kv_table(_summary_rows(a, record)),
        "<h2>Units</h2>",
        "<p>Lengths in <b>{}</b>, times in <b>{}</b>, areas/volumes in <b>{}</b>, speeds in "
        "<b>{}</b>, diffusion coefficients in <b>{}</b>. Frame numbers (<code>*_frame</code>) "
        "count from 0. Every table carries <code>length_unit</code> and "
        "<code>time_unit</code> columns.</p>".format(
            *(html.escape(u[k]) for k in ("length", "time", "area", "speed", "diffusion"))
        ),
    ]
    if u["length"] == "px" or u["time"] == "frame":
        parts.append(
            "<p class='warn'>The movie does not state its pixel size and/or frame "
            "interval, so results are in pixels and/or frames. Set them with "
            "<code>celldyn run --pixel-size … --frame-interval …</code>.</p>"
        )
    if evaluation:
        parts += ["<h2>Evaluation against ground truth</h2>",
                  _kv_table(_evaluation_rows(evaluation))]
    parts.append("<h2>Figures</h2>")
    for i, (name, fig) in enumerate(figures.items(), start=1):
        png = fig if isinstance(fig, bytes) else figure_bytes(fig, "png", dpi=150)
        data = base64.b64encode(png).decode("ascii")
        cap = FIGURE_CAPTIONS.get(name, name)
        parts.append(
            f"<figure id='fig-{html.escape(name)}'><img alt='{html.escape(name)}' "
            f"src='data:image/png;base64,{data}'>"
            f"<figcaption><b>Figure {i} ({html.escape(name)}).</b> {html.escape(cap)}"
            "</figcaption></figure>"
        )
    parts += [
        f"<h2>Per-track table (dynamics.csv, first {head_rows} of {len(a.dynamics)} rows)</h2>",
        (
            "<p>Cycle duration is division to division, only for cells born by division "
            "that divide again in the movie; a track with one child is continued after a "
            "gap by that child (same cell, <code>cell_id</code>), not a division. "
            "<code>parent_id</code> 0 means no parent.</p>"
        ),
        _frame_table(a.dynamics, u, head_rows),
        f"<h2>Per-frame table (population.csv, first {head_rows} of {len(a.population)} rows)</h2>",
        _frame_table(a.population, u, head_rows),
    ]
    if record.get("config") is not None:
        cfg = dict(record["config"])
        if "max_distance_used" in record:
            cfg["max_distance_used"] = record["max_distance_used"]
        parts += ["<h2>Parameters</h2>", _kv_table([(k, json.dumps(v)) for k, v in cfg.items()])]
    if record.get("versions"):
        parts += ["<h2>Versions</h2>", _kv_table(list(record["versions"].items()))]
    if record.get("summary", {}).get("seconds"):
        secs = record["summary"]["seconds"]
        parts += ["<h2>Timings</h2>", _kv_table([(k, f"{v:.2f} s") for k, v in secs.items()])]
    parts.append("</body></html>")
    return "\n".join(parts)


def missing_units_message(spacing: Any, frame_interval: Any) -> str | None:
    """The one warning for missing physical units, or None when both are known."""
    missing = [n for n, v in (("pixel size", spacing), ("frame interval", frame_interval))
               if not v]
    if not missing:
        return None
    return (
        f"the movie does not state its {' and '.join(missing)}; results are in px and "
        "frames (set --pixel-size and --frame-interval)"
    )


def make_figures(
    a: Analysis,
    labels: Any = None,
    movie: Any = None,
    *,
    names: Sequence[str] = REPORT_FIGURES,
) -> dict[str, Figure]:
    """The report's figures by name (``classes`` only when objects have classes)."""
    figs: dict[str, Figure] = {}
    for name in names:
        if name == "classes" and "class" not in a.objects.columns:
            continue
        if name == "tracks":
            figs[name] = PLOTS[name](a, labels, movie)
        else:
            figs[name] = PLOTS[name](a)
    return figs
