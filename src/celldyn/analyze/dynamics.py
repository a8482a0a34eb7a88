"""Per-track and population dynamics: the numbers behind ``dynamics.csv`` and the report.

:func:`analyze` takes the objects table (one row per (t, label), ``label`` = track id)
and the CTC track table and returns an :class:`Analysis`: the per-track table
(lineage, cell cycle, division timing, motion, MSD, morphology and classes over time),
the per-frame population table (counts, divisions, division rate, class fractions),
the pooled MSD curve and a summary. Everything is pure: no files, no printing.

Units. Lengths are µm when the movie's pixel size (`spacing`) is known and pixels
otherwise; times are seconds when the frame interval is known and frames otherwise.
Every table carries ``length_unit`` and ``time_unit`` columns, so column names never
change with the metadata; :func:`column_units` gives each column's unit. Frame
indices (``*_frame`` columns) are always frames, counted from 0.

This module is ours; it assembles :mod:`.lineage` and :mod:`.motion`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from .lineage import lineage_table
from .motion import ensemble_msd, track_motion

__all__ = [
    "Analysis",
    "analyze",
    "class_column_name",
    "column_units",
    "population_dynamics",
    "track_dynamics",
    "tracks_from_objects",
    "units_for",
]


@dataclass
class Analysis:
    """What :func:`analyze` returns.

    Attributes
    ----------
    dynamics : DataFrame
        One row per track (see :func:`track_dynamics`).
    population : DataFrame
        One row per frame (see :func:`population_dynamics`).
    msd_curve : DataFrame
        Pooled MSD: ``lag_frames, lag, msd, n_pairs``.
    summary : dict
        Headline numbers (counts, divisions, cycle statistics, speed, D, alpha).
    units : dict
        ``length``, ``time``, ``area``, ``speed``, ``diffusion`` unit strings.
    objects, tracks : DataFrame
        The inputs (tracks as a CTC table).
    n_frames : int
        Frames in the movie.
    spacing, frame_interval
        The metadata used (None when unknown).
    """

    dynamics: pd.DataFrame
    population: pd.DataFrame
    msd_curve: pd.DataFrame
    summary: dict[str, Any]
    units: dict[str, str]
    objects: pd.DataFrame
    tracks: pd.DataFrame
    n_frames: int
    spacing: tuple[float, ...] | None = None
    frame_interval: float | None = None
    ndim: int = 2
    extras: dict[str, Any] = field(default_factory=dict)


def units_for(
    spacing: Sequence[float] | None, frame_interval: float | None, ndim: int = 2,
    time_unit: str = "s",
) -> dict[str, str]:
    """Unit strings for lengths, times and derived quantities.

    Examples
    --------
    >>> units_for(None, None)["speed"], units_for((0.5, 0.5), 60.0)["diffusion"]
    ('px/frame', 'µm²/s')
    """
    length = "µm" if spacing is not None else "px"
    time = time_unit if frame_interval else "frame"
    power = "³" if ndim == 3 else "²"
    return {
        "length": length,
        "time": time,
        "area": f"{length}{power}",
        "speed": f"{length}/{time}",
        "diffusion": f"{length}²/{time}",
    }


def class_column_name(value: Any) -> str:
    """Column-safe name of a class value: ``time_in_<name>``'s ``<name>``."""
    text = re.sub(r"[^0-9A-Za-z_]+", "_", str(value)).strip("_")
    return text or "class"


def tracks_from_objects(objects: pd.DataFrame) -> pd.DataFrame:
    """A CTC track table without parents (every track a root), from the objects table."""
    if objects.empty:
        return pd.DataFrame(columns=["label", "begin", "end", "parent"], dtype=np.int64)
    g = objects.groupby("label")["t"]
    table = pd.DataFrame({"begin": g.min(), "end": g.max()}).reset_index()
    table["parent"] = 0
    return table.astype(np.int64)


def _check_objects(objects: pd.DataFrame) -> None:
    missing = [c for c in ("t", "label", "y", "x") if c not in objects.columns]
    if missing:
        raise InputError(
            f"objects table lacks columns {missing}; expected one row per (t, label) "
            "with centroid columns y, x"
        )


def _morphology(objects: pd.DataFrame, ndim: int, frame_interval: float | None) -> pd.DataFrame:
    dt = float(frame_interval or 1.0)
    size = "volume" if ndim == 3 else "area"
    rows = []
    features = [f for f in ("eccentricity", "solidity", "intensity_mean") if f in objects]
    for label, g in objects.sort_values(["label", "t"]).groupby("label", sort=True):
        row: dict[str, Any] = {"track_id": int(label)}
        if "area" in g:
            a = g["area"].to_numpy(dtype=float)
            t = g["t"].to_numpy(dtype=float) * dt
            row[f"{size}_mean"] = float(np.mean(a))
            row[f"{size}_sd"] = float(np.std(a, ddof=1)) if len(a) > 1 else float("nan")
            row[f"{size}_start"] = float(a[0])
            row[f"{size}_end"] = float(a[-1])
            row[f"{size}_slope"] = (
                float(np.polyfit(t, a, 1)[0]) if len(a) > 1 and np.ptp(t) > 0 else float("nan")
            )
        if "axis_major_length" in g:   # 2D: the long axis (a rod's length)
            v = g["axis_major_length"].to_numpy(dtype=float)
            t = g["t"].to_numpy(dtype=float) * dt
            row["cell_length_mean"] = float(np.mean(v))
            row["cell_length_start"], row["cell_length_end"] = float(v[0]), float(v[-1])
            row["cell_length_slope"] = (
                float(np.polyfit(t, v, 1)[0]) if len(v) > 1 and np.ptp(t) > 0 else float("nan")
            )
        for f in features:
            v = g[f].to_numpy(dtype=float)
            row[f"{f}_mean" if f != "intensity_mean" else "intensity_mean_avg"] = float(
                np.nanmean(v)
            ) if np.isfinite(v).any() else float("nan")
            if f == "eccentricity":
                row["eccentricity_start"] = float(v[0])
                row["eccentricity_end"] = float(v[-1])
        rows.append(row)
    return pd.DataFrame(rows)


def _classes(objects: pd.DataFrame, frame_interval: float | None) -> pd.DataFrame | None:
    if "class" not in objects.columns or objects["class"].isna().all():
        return None
    dt = float(frame_interval or 1.0)
    values = sorted(objects["class"].dropna().unique().tolist(), key=str)
    rows = []
    for label, g in objects.sort_values(["label", "t"]).groupby("label", sort=True):
        seq = g["class"].tolist()
        runs: list[str] = []
        for c in seq:
            if pd.isna(c):
                continue
            if not runs or runs[-1] != str(c):
                runs.append(str(c))
        counts = g["class"].value_counts()
        row: dict[str, Any] = {
            "track_id": int(label),
            "class_sequence": ">".join(runs),
            "class_majority": str(counts.idxmax()) if len(counts) else "",
            "class_end": str(seq[-1]) if seq and not pd.isna(seq[-1]) else "",
        }
        for v in values:
            row[f"time_in_{class_column_name(v)}"] = float(counts.get(v, 0)) * dt
        rows.append(row)
    return pd.DataFrame(rows)


def _unpack_result(objects: Any, tracks: Any, spacing: Any, frame_interval: Any,
                   n_frames: Any = None) -> tuple:
    """Accept what :func:`celldyn.pipeline.run` returns where a table is expected."""
    if hasattr(objects, "objects") and hasattr(objects, "movie"):
        result = objects
        m = result.movie
        objects = result.objects
        tracks = result.tracks if tracks is None else tracks
        spacing = m.spacing if spacing is None else spacing
        frame_interval = m.frame_interval if frame_interval is None else frame_interval
        n_frames = m.n_frames if n_frames is None else n_frames
    return objects, tracks, spacing, frame_interval, n_frames


def track_dynamics(
    objects: pd.DataFrame,
    tracks: pd.DataFrame | None = None,
    *,
    spacing: Sequence[float] | None = None,
    frame_interval: float | None = None,
    max_lag: int | None = None,
) -> pd.DataFrame:
    """The per-track table (the rows of ``dynamics.csv``).

    Parameters
    ----------
    objects : DataFrame or RunResult
        One row per (t, label); ``label`` is the track id; centroids ``[z,] y, x`` in
        pixels; optional ``area`` (already physical when the run had a pixel size),
        ``eccentricity``, ``solidity``, ``intensity_mean``, ``class``.
    tracks : DataFrame, optional
        CTC track table ``label, begin, end, parent``; default every track a root.
    spacing : sequence of float, optional
        µm per pixel per spatial axis ((z,) y, x).
    frame_interval : float, optional
        Seconds between frames.
    max_lag : int, optional
        Largest MSD lag in frames (default: a quarter of each track's span, >= 4).

    Returns
    -------
    DataFrame
        One row per track, sorted by ``track_id``. Lineage: ``track_id, parent_id``
        (0 = none), ``children``, ``n_children``, ``lineage_id``, ``cell_id``,
        ``generation``, ``start_frame``, ``end_frame``, ``n_frames``,
        ``starts_by_division``, ``ends_by_division``, ``division_frame``,
        ``division_time``, ``cycle_frames``, ``cycle_duration`` (see
        :mod:`.lineage`). Motion (see :func:`.motion.track_motion`): ``path_length``,
        ``net_displacement``, ``max_displacement``, ``straightness``,
        ``direction_persistence``, ``speed_mean``, ``speed_median``, ``speed_max``,
        ``speed_series``, ``msd_D``, ``msd_alpha``, ``msd_n_lags``. Morphology:
        ``area_*`` (``volume_*`` in 3D: mean, sd, start, end, slope per time unit),
        ``cell_length_mean/start/end/slope`` (2D: the long axis, ``axis_major_length``;
        for rods their length at birth and at division and their elongation rate),
        ``eccentricity_mean/start/end``, ``solidity_mean``, ``intensity_mean_avg``.
        Classes (when ``class`` exists): ``class_sequence`` (classes in order,
        joined by ``>``), ``class_majority``, ``class_end``, ``time_in_<class>``.
        Units: ``length_unit``, ``time_unit``.

    Examples
    --------
    >>> obj = pd.DataFrame({"t": [0, 1, 2, 3, 3], "label": [1, 1, 2, 2, 3],
    ...                     "y": 1.0, "x": [0.0, 1.0, 2.0, 3.0, 9.0], "area": 10.0})
    >>> trk = pd.DataFrame({"label": [1, 2, 3], "begin": [0, 2, 3], "end": [1, 3, 3],
    ...                     "parent": [0, 1, 0]})
    >>> d = track_dynamics(obj, trk, frame_interval=60.0)
    >>> d[["track_id", "cell_id", "ends_by_division", "speed_mean"]].values.tolist()
    [[1, 1, False, 0.016666666666666666], [2, 1, False, 0.016666666666666666], [3, 3, False, nan]]
    """
    objects, tracks, spacing, frame_interval, _ = _unpack_result(
        objects, tracks, spacing, frame_interval)
    _check_objects(objects)
    ndim = 3 if "z" in objects.columns else 2
    if tracks is None:
        tracks = tracks_from_objects(objects)
    lin = lineage_table(tracks)
    dt = float(frame_interval or 1.0)
    counts = objects.groupby("label").size()
    lin.insert(
        lin.columns.get_loc("end_frame") + 1,
        "n_frames",
        lin["track_id"].map(counts).fillna(0).astype(np.int64),
    )
    pos = lin.columns.get_loc("division_frame") + 1
    lin.insert(pos, "division_time", lin["division_frame"].astype("Float64") * dt)
    lin["cycle_duration"] = lin["cycle_frames"].astype("Float64") * dt
    motion = track_motion(
        objects, spacing=spacing, frame_interval=frame_interval, max_lag=max_lag
    ).drop(columns=["n_objects"])
    out = lin.merge(motion, on="track_id", how="left")
    morph = _morphology(objects, ndim, frame_interval)
    if not morph.empty:
        out = out.merge(morph, on="track_id", how="left")
    cls = _classes(objects, frame_interval)
    if cls is not None:
        out = out.merge(cls, on="track_id", how="left")
    units = units_for(spacing, frame_interval, ndim)
    out["length_unit"] = units["length"]
    out["time_unit"] = units["time"]
    return out.sort_values("track_id").reset_index(drop=True)


def population_dynamics(
    objects: pd.DataFrame,
    tracks: pd.DataFrame | None = None,
    *,
    n_frames: int | None = None,
    frame_interval: float | None = None,
    spacing: Sequence[float] | None = None,
) -> pd.DataFrame:
    """One row per frame: counts, divisions, division rate and class fractions.

    Columns ``t``, ``time`` (t × frame interval), ``n_objects``, ``n_divisions``
    (divisions whose daughters first appear at ``t``), ``division_rate`` (divisions per
    object present in the previous frame, per time unit), ``n_<class>`` and
    ``fraction_<class>`` when a ``class`` column exists, then ``length_unit``,
    ``time_unit``.

    Examples
    --------
    >>> obj = pd.DataFrame({"t": [0, 1, 1], "label": [1, 2, 3], "y": 0.0, "x": 0.0})
    >>> trk = pd.DataFrame({"label": [1, 2, 3], "begin": [0, 1, 1], "end": [0, 1, 1],
    ...                     "parent": [0, 1, 1]})
    >>> population_dynamics(obj, trk)[["n_objects", "n_divisions"]].values.tolist()
    [[1, 0], [2, 1]]
    """
    objects, tracks, spacing, frame_interval, n_frames = _unpack_result(
        objects, tracks, spacing, frame_interval, n_frames)
    _check_objects(objects)
    if n_frames is None:
        n_frames = int(objects["t"].max()) + 1 if len(objects) else 0
    if tracks is None:
        tracks = tracks_from_objects(objects)
    dt = float(frame_interval or 1.0)
    frames = np.arange(int(n_frames))
    n_obj = objects.groupby("t").size().reindex(frames, fill_value=0).to_numpy()
    lin = lineage_table(tracks)
    div = lin.loc[lin["ends_by_division"], "division_frame"].astype(np.int64)
    n_div = div.value_counts().reindex(frames, fill_value=0).to_numpy()
    prev = np.r_[0, n_obj[:-1]].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(prev > 0, n_div / np.where(prev > 0, prev, 1) / dt, np.nan)
    out = pd.DataFrame(
        {"t": frames, "time": frames * dt, "n_objects": n_obj, "n_divisions": n_div,
         "division_rate": rate}
    )
    if "class" in objects.columns and objects["class"].notna().any():
        table = objects.groupby(["t", "class"]).size().unstack(fill_value=0)
        table = table.reindex(frames, fill_value=0)
        for c in sorted(table.columns, key=str):
            name = class_column_name(c)
            out[f"n_{name}"] = table[c].to_numpy()
        total = table.sum(axis=1).to_numpy().astype(float)
        for c in sorted(table.columns, key=str):
            name = class_column_name(c)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[f"fraction_{name}"] = np.where(total > 0, table[c].to_numpy() / np.where(total > 0, total, 1), np.nan)
    units = units_for(spacing, frame_interval, 3 if "z" in objects.columns else 2)
    out["length_unit"] = units["length"]
    out["time_unit"] = units["time"]
    return out


def column_units(columns: Sequence[str], units: dict[str, str]) -> dict[str, str]:
    """Unit of each column of the dynamics / population tables ('' when unitless)."""
    L, T, A = units["length"], units["time"], units["area"]
    fixed = {
        "path_length": L, "net_displacement": L, "max_displacement": L,
        "speed_mean": units["speed"], "speed_median": units["speed"],
        "speed_max": units["speed"], "speed_series": units["speed"],
        "msd_D": units["diffusion"], "division_time": T, "cycle_duration": T,
        "time": T, "division_rate": f"1/{T}", "msd": f"{L}²", "lag": T,
    }
    out = {}
    for c in columns:
        if c in fixed:
            out[c] = fixed[c]
        elif c.endswith(("_frame", "_frames")) or c in ("t", "lag_frames"):
            out[c] = "frame"
        elif re.match(r"^(area|volume)_(mean|sd|start|end)$", c):
            out[c] = A
        elif re.match(r"^(area|volume)_slope$", c):
            out[c] = f"{A}/{T}"
        elif re.match(r"^cell_length_(mean|start|end)$", c):
            out[c] = L
        elif c == "cell_length_slope":
            out[c] = units["speed"]
        elif c.startswith("time_in_"):
            out[c] = T
        else:
            out[c] = ""
    return out


def _stats(values: pd.Series) -> dict[str, float | int]:
    v = pd.to_numeric(values, errors="coerce").dropna().astype(float)
    if v.empty:
        return {"n": 0, "mean": float("nan"), "median": float("nan"), "sd": float("nan")}
    return {
        "n": int(v.size),
        "mean": float(v.mean()),
        "median": float(v.median()),
        "sd": float(v.std(ddof=1)) if v.size > 1 else float("nan"),
    }


def analyze(
    objects: pd.DataFrame,
    tracks: pd.DataFrame | None = None,
    *,
    spacing: Sequence[float] | None = None,
    frame_interval: float | None = None,
    n_frames: int | None = None,
    max_lag: int | None = None,
) -> Analysis:
    """Per-track and population dynamics of a tracked movie.

    Parameters
    ----------
    objects : DataFrame or RunResult
        One row per (t, label), ``label`` = track id (see :func:`track_dynamics`); or
        what :func:`celldyn.pipeline.run` returns (its tracks and metadata are used).
    tracks : DataFrame, optional
        CTC track table; default: tracks from `objects`, without parents.
    spacing : sequence of float, optional
        µm per pixel per spatial axis; None: lengths in pixels.
    frame_interval : float, optional
        Seconds between frames; None: times in frames. Tables and summary give times
        in the unit a person would read (:func:`celldyn.units.time_unit_for`: s, min or
        h, e.g. cycle durations in min and rates per min for a 5-minute interval); the
        ``time_unit`` column and ``units["time"]`` name it.
    n_frames : int, optional
        Frames in the movie (default: last frame with an object + 1).
    max_lag : int, optional
        Largest MSD lag in frames.

    Returns
    -------
    Analysis

    Examples
    --------
    >>> from celldyn.simulate import simulate_movie
    >>> from celldyn.measure import measure_objects
    >>> sim = simulate_movie(n_frames=6, n_objects=3, rng=0)
    >>> a = analyze(measure_objects(sim.labels), sim.table, n_frames=6)
    >>> len(a.dynamics) == len(sim.table), a.units["length"]
    (True, 'px')
    """
    objects, tracks, spacing, frame_interval, n_frames = _unpack_result(
        objects, tracks, spacing, frame_interval, n_frames)
    _check_objects(objects)
    ndim = 3 if "z" in objects.columns else 2
    spacing = tuple(float(s) for s in spacing) if spacing is not None else None
    frame_interval = float(frame_interval) if frame_interval else None
    if tracks is None:
        tracks = tracks_from_objects(objects)
    if n_frames is None:
        n_frames = int(objects["t"].max()) + 1 if len(objects) else 0
    from ..units import time_unit_for

    time_unit, unit_seconds = time_unit_for(frame_interval, int(n_frames))
    # the tables' times in that unit: frame_interval expressed in it
    interval = frame_interval / unit_seconds if frame_interval else None
    dyn = track_dynamics(
        objects, tracks, spacing=spacing, frame_interval=interval, max_lag=max_lag
    )
    pop = population_dynamics(
        objects, tracks, n_frames=n_frames, frame_interval=interval, spacing=spacing
    )
    curve, D, alpha = ensemble_msd(
        objects, spacing=spacing, frame_interval=interval, max_lag=max_lag
    )
    units = units_for(spacing, frame_interval, ndim, time_unit=time_unit)
    if frame_interval:
        dyn["time_unit"] = time_unit
        pop["time_unit"] = time_unit
    dt = float(interval or 1.0)
    n_div = int(dyn["ends_by_division"].sum())
    at_risk = float(pop["n_objects"].to_numpy()[:-1].sum()) * dt if len(pop) > 1 else 0.0
    summary: dict[str, Any] = {
        "frames": int(n_frames),
        "objects": len(objects),
        "tracks": len(dyn),
        "lineages": int(dyn["lineage_id"].nunique()) if len(dyn) else 0,
        "divisions": n_div,
        "division_rate": n_div / at_risk if at_risk > 0 else float("nan"),
        "max_generation": int(dyn["generation"].max()) if len(dyn) else 0,
        "cycle_frames": _stats(dyn["cycle_frames"]),
        "cycle_duration": _stats(dyn["cycle_duration"]),
        "speed_mean": _stats(dyn["speed_mean"]),
        "msd_D_per_track": _stats(dyn["msd_D"]),
        "msd_alpha_per_track": _stats(dyn["msd_alpha"]),
        "msd_D_pooled": D,
        "msd_alpha_pooled": alpha,
        "units": units,
    }
    return Analysis(
        dynamics=dyn,
        population=pop,
        msd_curve=curve,
        summary=summary,
        units=units,
        objects=objects,
        tracks=tracks,
        n_frames=int(n_frames),
        spacing=spacing,
        frame_interval=frame_interval,
        ndim=ndim,
    )
