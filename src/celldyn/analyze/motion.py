"""Motion of tracks: speed, path length, displacement, persistence and MSD.

Positions are object centroids (``z``, ``y``, ``x`` columns of the objects table, in
pixels) scaled by `spacing` (µm per pixel per axis) when it is given; times are frame
indices scaled by `frame_interval` (s) when it is given. Without them lengths are in
pixels and times in frames. Frames missing inside a track are allowed: a step spans the
frames between two observations and its speed is divided by that time.

Mean squared displacement (time-averaged, per track, and pooled over tracks)::

    MSD(tau) = < |r(t + tau) - r(t)|^2 >_t

fitted two ways over lags ``1 .. max_lag``: ``alpha`` is the slope of ``log MSD``
against ``log tau`` (1 for free diffusion, 2 for straight motion, < 1 for confined
motion), and the diffusion coefficient ``D`` is the least-squares slope through the
origin of ``MSD = 2 d D tau`` (d spatial dimensions), the usual effective D, meaningful
when ``alpha`` is near 1. The default ``max_lag`` is a quarter of the track's span,
at least 4 frames (Saxton's advice to fit short lags, where the estimate is precise).

This module is ours: numpy over the objects table.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from ._result import accepts_run_result

__all__ = [
    "default_max_lag",
    "ensemble_msd",
    "fit_msd",
    "instantaneous_speed",
    "msd",
    "positions",
    "track_motion",
]

_AXES = ("z", "y", "x")


def _space_axes(objects: pd.DataFrame) -> list[str]:
    axes = [a for a in _AXES if a in objects.columns]
    if not axes or "x" not in axes or "y" not in axes:
        raise InputError(
            f"objects table needs centroid columns y, x (and z in 3D); got {list(objects.columns)[:12]}"
        )
    return axes


@accepts_run_result()
def positions(
    objects: pd.DataFrame, *, spacing: Sequence[float] | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Objects sorted by (label, t) with centroids in physical units.

    Returns the table (columns ``label, t`` and the spatial axes, scaled by `spacing`)
    and the list of spatial axis names. Where the tracker took a stage's drift out
    (columns ``stage_y``, ``stage_x`` [, ``stage_z``]: the stage's offset of each frame
    in pixels, :mod:`celldyn.track.drift`), it is taken out here too: speeds and MSD
    are the cells' own, not the stage's.
    """
    axes = _space_axes(objects)
    stage = [f"stage_{a}" for a in axes if f"stage_{a}" in objects.columns]
    pos = objects[["label", "t", *axes, *stage]].sort_values(["label", "t"], kind="stable")
    pos = pos.reset_index(drop=True).astype({a: float for a in axes})
    for a in axes:
        if f"stage_{a}" in pos:
            pos[a] = pos[a] - pos.pop(f"stage_{a}").astype(float)
    if spacing is not None:
        if len(spacing) != len(axes):
            raise InputError(
                f"spacing must have {len(axes)} values ({', '.join(axes)}); got {tuple(spacing)!r}"
            )
        for a, s in zip(axes, spacing):
            pos[a] = pos[a] * float(s)
    return pos, axes


@accepts_run_result()
def instantaneous_speed(
    objects: pd.DataFrame,
    *,
    spacing: Sequence[float] | None = None,
    frame_interval: float | None = None,
) -> pd.DataFrame:
    """Speed of every object since its previous observation in the same track.

    Parameters
    ----------
    objects : DataFrame
        One row per (t, label), with centroid columns ``[z,] y, x`` in pixels.
    spacing : sequence of float, optional
        µm per pixel per spatial axis; default lengths in pixels.
    frame_interval : float, optional
        Seconds between frames; default times in frames.

    Returns
    -------
    DataFrame
        Columns ``label, t, step, dt, speed``: the displacement since the previous
        observation, the time it took and their ratio (NaN on a track's first object).

    Examples
    --------
    >>> obj = pd.DataFrame({"t": [0, 1, 3], "label": 1, "y": [0.0, 3.0, 3.0],
    ...                     "x": [0.0, 4.0, 4.0]})
    >>> instantaneous_speed(obj, frame_interval=2.0)["speed"].tolist()
    [nan, 2.5, 0.0]
    """
    pos, axes = positions(objects, spacing=spacing)
    same = pos["label"].to_numpy()[1:] == pos["label"].to_numpy()[:-1]
    xyz = pos[axes].to_numpy()
    step = np.full(len(pos), np.nan)
    dt = np.full(len(pos), np.nan)
    if len(pos) > 1:
        d = np.linalg.norm(np.diff(xyz, axis=0), axis=1)
        tt = np.diff(pos["t"].to_numpy()).astype(float)
        step[1:] = np.where(same, d, np.nan)
        dt[1:] = np.where(same, tt, np.nan)
    dt = dt * (frame_interval or 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        speed = step / dt
    return pd.DataFrame(
        {"label": pos["label"], "t": pos["t"], "step": step, "dt": dt, "speed": speed}
    )


def default_max_lag(span: int) -> int:
    """Largest lag (frames) used in MSD fits for a track spanning `span` frames."""
    return int(max(1, min(span - 1, max(4, span // 4))))


def msd(
    t: np.ndarray, xyz: np.ndarray, *, max_lag: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Time-averaged mean squared displacement of one track.

    Parameters
    ----------
    t : (N,) int array
        Frame of each observation, increasing (gaps allowed).
    xyz : (N, d) float array
        Positions.
    max_lag : int, optional
        Largest lag in frames; default :func:`default_max_lag` of the span.

    Returns
    -------
    lags, values, counts : arrays
        Lags in frames with at least one pair, the MSD at each, and the number of
        pairs averaged.

    Examples
    --------
    >>> lags, m, n = msd(np.arange(5), np.c_[np.arange(5.0), np.zeros(5)], max_lag=2)
    >>> lags.tolist(), m.tolist(), n.tolist()
    ([1, 2], [1.0, 4.0], [4, 3])
    """
    t = np.asarray(t, dtype=np.int64)
    xyz = np.asarray(xyz, dtype=float).reshape(len(t), -1)
    if len(t) < 2:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64)
    span = int(t[-1] - t[0] + 1)
    max_lag = default_max_lag(span) if max_lag is None else int(max_lag)
    grid = np.full((span, xyz.shape[1]), np.nan)
    grid[t - t[0]] = xyz
    lags, values, counts = [], [], []
    for lag in range(1, min(max_lag, span - 1) + 1):
        sq = np.sum((grid[lag:] - grid[:-lag]) ** 2, axis=1)
        sq = sq[np.isfinite(sq)]
        if sq.size:
            lags.append(lag)
            values.append(float(sq.mean()))
            counts.append(sq.size)
    return np.asarray(lags, np.int64), np.asarray(values), np.asarray(counts, np.int64)


def fit_msd(
    lags: np.ndarray, values: np.ndarray, *, ndim: int, min_lags: int = 3
) -> tuple[float, float]:
    """Fit ``D`` (``MSD = 2 d D tau``, through the origin) and ``alpha`` (log-log slope).

    `lags` are in the time unit wanted for D (frames, or seconds after scaling).
    Returns ``(nan, nan)`` with fewer than `min_lags` lags of positive MSD.

    Examples
    --------
    >>> tau = np.arange(1, 6.0)
    >>> D, alpha = fit_msd(tau, 4 * 0.5 * tau, ndim=2)
    >>> round(D, 6), round(alpha, 6)
    (0.5, 1.0)
    """
    lags = np.asarray(lags, dtype=float)
    values = np.asarray(values, dtype=float)
    ok = np.isfinite(values) & (values > 0) & (lags > 0)
    if ok.sum() < min_lags:
        return float("nan"), float("nan")
    tau, m = lags[ok], values[ok]
    D = float(np.sum(tau * m) / np.sum(tau * tau) / (2 * ndim))
    alpha = float(np.polyfit(np.log(tau), np.log(m), 1)[0])
    return D, alpha


@accepts_run_result()
def track_motion(
    objects: pd.DataFrame,
    *,
    spacing: Sequence[float] | None = None,
    frame_interval: float | None = None,
    max_lag: int | None = None,
    min_points: int = 5,
) -> pd.DataFrame:
    """Motion summary of every track (label) of an objects table.

    Parameters
    ----------
    objects : DataFrame
        One row per (t, label) with centroid columns ``[z,] y, x`` in pixels.
    spacing : sequence of float, optional
        µm per pixel per spatial axis; default lengths in pixels.
    frame_interval : float, optional
        Seconds between frames; default times in frames.
    max_lag : int, optional
        Largest MSD lag in frames; default a quarter of each track's span (>= 4).
    min_points : int
        Fewest observations a track needs for an MSD fit.

    Returns
    -------
    DataFrame
        One row per label: ``track_id, n_objects, path_length, net_displacement,
        max_displacement, straightness`` (net / path, 1 for a straight line),
        ``direction_persistence`` (mean cosine of the turning angle between
        successive steps), ``speed_mean`` (path length / elapsed time),
        ``speed_median``, ``speed_max``, ``speed_series`` (instantaneous speeds joined
        by ``;``), ``msd_D``, ``msd_alpha``, ``msd_n_lags``.

    Examples
    --------
    >>> obj = pd.DataFrame({"t": range(6), "label": 1, "y": 0.0, "x": 2.0 * np.arange(6)})
    >>> row = track_motion(obj).iloc[0]
    >>> float(row.speed_mean), float(row.straightness), round(float(row.msd_alpha), 6)
    (2.0, 1.0, 2.0)
    """
    pos, axes = positions(objects, spacing=spacing)
    dt_unit = float(frame_interval or 1.0)
    ndim = len(axes)
    rows = []
    for label, grp in pos.groupby("label", sort=True):
        t = grp["t"].to_numpy()
        xyz = grp[axes].to_numpy()
        steps = np.diff(xyz, axis=0)
        step_len = np.linalg.norm(steps, axis=1)
        step_dt = np.diff(t) * dt_unit
        path = float(step_len.sum())
        net = float(np.linalg.norm(xyz[-1] - xyz[0])) if len(t) > 1 else 0.0
        maxd = float(np.linalg.norm(xyz - xyz[0], axis=1).max()) if len(t) else 0.0
        elapsed = float((t[-1] - t[0]) * dt_unit) if len(t) > 1 else 0.0
        speeds = step_len / step_dt if len(step_dt) else np.zeros(0)
        moving = step_len > 0
        if np.count_nonzero(moving[:-1] & moving[1:]) > 0:
            a, b = steps[:-1], steps[1:]
            keep = moving[:-1] & moving[1:]
            cos = np.sum(a[keep] * b[keep], axis=1) / (
                step_len[:-1][keep] * step_len[1:][keep]
            )
            persistence = float(np.mean(cos))
        else:
            persistence = float("nan")
        D = alpha = float("nan")
        n_lags = 0
        if len(t) >= min_points:
            lags, m, _ = msd(t, xyz, max_lag=max_lag)
            n_lags = len(lags)
            D, alpha = fit_msd(lags * dt_unit, m, ndim=ndim)
        rows.append(
            {
                "track_id": int(label),
                "n_objects": len(t),
                "path_length": path,
                "net_displacement": net,
                "max_displacement": maxd,
                "straightness": net / path if path > 0 else float("nan"),
                "direction_persistence": persistence,
                "speed_mean": path / elapsed if elapsed > 0 else float("nan"),
                "speed_median": float(np.median(speeds)) if speeds.size else float("nan"),
                "speed_max": float(np.max(speeds)) if speeds.size else float("nan"),
                "speed_series": ";".join(f"{s:.4g}" for s in speeds),
                "msd_D": D,
                "msd_alpha": alpha,
                "msd_n_lags": n_lags,
            }
        )
    columns = [
        "track_id", "n_objects", "path_length", "net_displacement", "max_displacement",
        "straightness", "direction_persistence", "speed_mean", "speed_median",
        "speed_max", "speed_series", "msd_D", "msd_alpha", "msd_n_lags",
    ]
    return pd.DataFrame(rows, columns=columns)


@accepts_run_result()
def ensemble_msd(
    objects: pd.DataFrame,
    *,
    spacing: Sequence[float] | None = None,
    frame_interval: float | None = None,
    max_lag: int | None = None,
    min_points: int = 5,
) -> tuple[pd.DataFrame, float, float]:
    """MSD pooled over all tracks (time and ensemble average) and its fit.

    Squared displacements of every track with at least `min_points` observations are
    pooled per lag. The default `max_lag` is :func:`default_max_lag` of the median
    track span.

    Returns
    -------
    curve : DataFrame
        Columns ``lag_frames, lag`` (time unit), ``msd``, ``n_pairs``.
    D, alpha : float
        Fit of the pooled curve (see the module docstring).
    """
    pos, axes = positions(objects, spacing=spacing)
    groups = [g for _, g in pos.groupby("label") if len(g) >= min_points]
    empty = pd.DataFrame(columns=["lag_frames", "lag", "msd", "n_pairs"])
    if not groups:
        return empty, float("nan"), float("nan")
    if max_lag is None:
        spans = [int(g["t"].iloc[-1] - g["t"].iloc[0] + 1) for g in groups]
        max_lag = default_max_lag(int(np.median(spans)))
    total: dict[int, float] = {}
    count: dict[int, int] = {}
    for g in groups:
        lags, m, n = msd(g["t"].to_numpy(), g[axes].to_numpy(), max_lag=max_lag)
        for lag, v, k in zip(lags.tolist(), m.tolist(), n.tolist()):
            total[lag] = total.get(lag, 0.0) + v * k
            count[lag] = count.get(lag, 0) + k
    lags = np.array(sorted(total), dtype=np.int64)
    if lags.size == 0:
        return empty, float("nan"), float("nan")
    values = np.array([total[k] / count[k] for k in lags])
    dt_unit = float(frame_interval or 1.0)
    D, alpha = fit_msd(lags * dt_unit, values, ndim=len(axes))
    curve = pd.DataFrame(
        {
            "lag_frames": lags,
            "lag": lags * dt_unit,
            "msd": values,
            "n_pairs": [count[k] for k in lags],
        }
    )
    return curve, D, alpha
