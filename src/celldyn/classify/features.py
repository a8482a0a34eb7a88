"""Per-object features for classification: morphology, intensity, texture, temporal.

scikit-image's ``regionprops_table`` computes morphology and intensity (2D and 3D);
texture is the mean gradient magnitude and the spread of the Laplacian inside each
object (``scipy.ndimage``, any dimension). Ours: the normalisations that make features
comparable across movies (area relative to the frame's median object, intensity
relative to the frame's median object mean) and the temporal features along each
track (change of area and intensity since the previous frame, frames since the
track's birth by division).

Temporal features use only the past of a track, never its future, so that a label
defined by an upcoming division (mitosis) is not leaked into the features.
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np
import pandas as pd
from scipy import ndimage as ndi
from skimage.measure import regionprops_table

from ..errors import InputError

__all__ = ["FEATURES_2D", "FEATURES_3D", "object_features", "feature_columns"]

_MORPH_2D = ["area", "perimeter", "eccentricity", "solidity", "extent",
             "axis_major_length", "axis_minor_length"]
_MORPH_3D = ["area", "solidity", "extent", "axis_major_length", "axis_minor_length"]
_DERIVED = ["rel_area", "elongation", "intensity_mean", "intensity_std",
            "intensity_max", "rel_intensity", "rel_intensity_max", "cv_intensity",
            "texture_gradient", "texture_laplacian", "d_area", "d_intensity",
            "since_division"]
FEATURES_2D = ["rel_area", "perimeter_ratio", "eccentricity", "solidity", "extent",
               "elongation", "rel_intensity", "rel_intensity_max", "cv_intensity",
               "texture_gradient", "texture_laplacian", "d_area", "d_intensity",
               "since_division"]
"""Scale-free feature columns used by the classifiers for 2D movies."""
FEATURES_3D = [f for f in FEATURES_2D if f not in ("perimeter_ratio", "eccentricity")]
"""Feature columns for 3D movies (no perimeter or eccentricity in regionprops 3D)."""


def feature_columns(ndim: int) -> list[str]:
    """Feature columns the classifiers use for a movie with `ndim` spatial axes."""
    return list(FEATURES_2D if ndim == 2 else FEATURES_3D)


def _texture(frame: np.ndarray, lab: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, ...]:
    img = frame.astype(np.float32)
    grad = ndi.gaussian_gradient_magnitude(img, 1.0)
    lap = ndi.gaussian_laplace(img, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = np.asarray(ndi.mean(grad, lab, ids))
        lstd = np.asarray(ndi.standard_deviation(lap, lab, ids))
    return g, lstd


def _since_division(objects: pd.DataFrame, graph: nx.DiGraph | None) -> np.ndarray:
    """Frames since the track began by a division; -1 where it did not (or unknown)."""
    out = np.full(len(objects), -1.0)
    if graph is None:
        return out
    node_of = {}
    for n, d in graph.nodes(data=True):
        node_of[(int(d["t"]), int(d.get("seg_id", d.get("tracklet", -1))))] = n
    born: dict[int, int] = {}  # label -> frame of birth by division
    for (t, lab), n in node_of.items():
        preds = list(graph.predecessors(n))
        if len(preds) == 1 and graph.out_degree(preds[0]) == 2:
            born[lab] = min(born.get(lab, t), t)
    t = objects["t"].to_numpy()
    lab = objects["label"].to_numpy()
    for i in range(len(objects)):
        b = born.get(int(lab[i]))
        if b is not None and t[i] >= b:
            out[i] = float(t[i] - b)
    return out


def _measure_whole(lab: np.ndarray, frame: np.ndarray, props: list[str],
                   axes: list[str], spacing: Sequence[float] | None) -> pd.DataFrame:
    df = pd.DataFrame(regionprops_table(lab, intensity_image=frame, properties=props,
                                        spacing=spacing))
    df = df.rename(columns={f"centroid-{i}": a for i, a in enumerate(axes)})
    if spacing is not None:
        for i, a in enumerate(axes):
            df[a] = df[a] / float(spacing[i])
    return df


def _reuse(rows: pd.DataFrame | None, lab: np.ndarray, frame: np.ndarray,
           props: list[str], axes: list[str], spacing: Sequence[float] | None
           ) -> pd.DataFrame:
    """One frame's regionprops columns, centroid in pixels: those the objects table
    has, taken from it, the others measured (solidity too where the table has NaN:
    measure_objects blanks what regionprops gives for flat objects). A frame whose
    objects the table does not hold exactly is measured whole."""
    needed = [*axes, *(f"bbox-{k}" for k in range(2 * len(axes)))]
    if rows is None or not set(needed) <= set(rows.columns):
        return _measure_whole(lab, frame, props, axes, spacing)
    columns = list(rows.columns)
    extra = [p for p in props if p not in ("label", "centroid", "bbox") and p not in columns]
    if rows is not None and "solidity" in props and "solidity" in columns \
            and rows["solidity"].isna().any():
        extra.append("solidity")
    got = regionprops_table(lab, intensity_image=frame, properties=["label", *extra],
                            spacing=spacing)
    ids = np.asarray(got["label"])
    rows = rows.sort_values("label", kind="stable")
    if not np.array_equal(rows["label"].to_numpy(np.int64), ids):
        return _measure_whole(lab, frame, props, axes, spacing)
    out = {"label": ids}
    for a in axes:
        out[a] = rows[a].to_numpy()
    for k in range(2 * len(axes)):
        out[f"bbox-{k}"] = rows[f"bbox-{k}"].to_numpy()
    for p in props:
        if p in ("label", "centroid", "bbox"):
            continue
        out[p] = np.asarray(got[p]) if p in extra else rows[p].to_numpy()
    return pd.DataFrame(out)


def object_features(
    labels: np.ndarray,
    movie: np.ndarray,
    *,
    graph: nx.DiGraph | None = None,
    spacing: Sequence[float] | None = None,
    objects: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Classification features of every object of a (tracked) label movie.

    Parameters
    ----------
    labels : (T, [Z,] Y, X) int array
        Tracked label movie: an object's id is its track id (CTC convention), so the
        temporal features follow ids through time.
    movie : array of the same shape
        Intensities.
    graph : networkx.DiGraph, optional
        Tracks graph (nodes with ``t`` and ``seg_id``); gives ``since_division``.
        Without it ``since_division`` is -1 everywhere.
    spacing : sequence of float, optional
        Physical pixel size; ``area`` (area or volume) is then in physical units.
    objects : DataFrame, optional
        The objects of `labels` as :func:`celldyn.measure.measure_objects` measured
        them (same `movie` and `spacing`; one row per (t, label) of `labels`, as a
        run's objects table after tracking): its properties (centroid, bbox, area,
        perimeter, eccentricity, solidity, intensities) are used as they are and
        regionprops computes only the others, so each object is measured once per
        run. The result is the same as without it (a frame it does not hold exactly
        is measured whole).

    Returns
    -------
    DataFrame
        One row per (t, label), sorted, with ``t, label``, centroid ``[z,] y, x``,
        raw regionprops columns and the feature columns of :func:`feature_columns`.

    Raises
    ------
    InputError
        If `labels` is not an integer T(Z)YX array or `movie` has another shape.

    Examples
    --------
    >>> from celldyn.simulate import simulate_movie
    >>> sim = simulate_movie(n_frames=2, shape=(48, 48), n_objects=3, rng=0)
    >>> f = object_features(sim.labels, sim.movie.data, graph=sim.graph)
    >>> set(feature_columns(2)) <= set(f.columns)
    True
    """
    labels = np.asarray(labels)
    movie = np.asarray(movie)
    if labels.ndim not in (3, 4) or not np.issubdtype(labels.dtype, np.integer):
        raise InputError(
            "labels must be an integer array with axes T(Z)YX; got "
            f"{labels.dtype} with shape {tuple(labels.shape)}"
        )
    if movie.shape != labels.shape:
        raise InputError(
            f"movie must have the labels' shape {tuple(labels.shape)}; got {tuple(movie.shape)}"
        )
    nd = labels.ndim - 1
    axes = ["z", "y", "x"][-nd:]
    props = ["label", "centroid", "bbox"] + (_MORPH_2D if nd == 2 else _MORPH_3D)
    props += ["intensity_mean", "intensity_max", "intensity_std"]
    measured = None if objects is None else dict(
        tuple(objects.groupby("t", sort=False)))
    parts = []
    for t in range(labels.shape[0]):
        lab = labels[t]
        if not lab.any():
            continue
        if measured is None:
            df = pd.DataFrame(regionprops_table(lab, intensity_image=movie[t],
                                                properties=props, spacing=spacing))
        else:
            df = _reuse(measured.get(t), lab, movie[t], props, axes, spacing)
        g, lstd = _texture(movie[t], lab, df["label"].to_numpy())
        df["texture_gradient"] = g
        df["texture_laplacian"] = lstd
        df.insert(0, "t", t)
        parts.append(df)
    if not parts:
        raise InputError("labels hold no objects; nothing to classify")
    f = pd.concat(parts, ignore_index=True)
    f = f.rename(columns={f"centroid-{i}": a for i, a in enumerate(axes)})
    if spacing is not None and objects is None:  # measured centroids are in pixels
        for i, a in enumerate(axes):
            f[a] = f[a] / float(spacing[i])
    f = f.astype({"t": np.int64, "label": np.int64})
    f = f.sort_values(["t", "label"], kind="stable").reset_index(drop=True)

    eps = 1e-9
    by_t = f.groupby("t")
    f["rel_area"] = f["area"] / (by_t["area"].transform("median") + eps)
    ref = by_t["intensity_mean"].transform("median") + eps
    f["rel_intensity"] = f["intensity_mean"] / ref
    f["rel_intensity_max"] = f["intensity_max"] / ref
    f["cv_intensity"] = f["intensity_std"] / (f["intensity_mean"].abs() + eps)
    f["elongation"] = f["axis_minor_length"] / (f["axis_major_length"] + eps)
    f["texture_gradient"] = f["texture_gradient"] / ref
    f["texture_laplacian"] = f["texture_laplacian"] / ref
    if nd == 2:
        # perimeter relative to a circle of the same area: 1 for a disc
        f["perimeter_ratio"] = f["perimeter"] / (2 * np.sqrt(np.pi * f["area"]) + eps)
    # temporal, along each track (previous appearance of the same id)
    f = f.sort_values(["label", "t"], kind="stable")
    prev_area = f.groupby("label")["area"].shift(1)
    prev_int = f.groupby("label")["intensity_mean"].shift(1)
    f["d_area"] = (f["area"] / prev_area - 1.0).fillna(0.0)
    f["d_intensity"] = (f["intensity_mean"] / prev_int - 1.0).fillna(0.0)
    f = f.sort_values(["t", "label"], kind="stable").reset_index(drop=True)
    f["since_division"] = _since_division(f, graph)
    cols = feature_columns(nd)
    f[cols] = f[cols].replace([np.inf, -np.inf], np.nan).fillna(0.0).astype(np.float64)
    return f
