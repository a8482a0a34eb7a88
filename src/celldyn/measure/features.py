"""Per-object measurements: one row per (t, label).

scikit-image's ``regionprops_table`` does the work; this module only loops over frames,
names the columns in geff's vocabulary (``t``, ``label``, ``z``, ``y``, ``x``) and
converts to physical units where `spacing` is given.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from skimage.measure import regionprops_table

from ..errors import InputError

__all__ = ["centroids", "measure_objects"]


def _check_labels(labels: np.ndarray) -> None:
    if labels.ndim not in (3, 4) or not np.issubdtype(labels.dtype, np.integer):
        raise InputError(
            "labels must be an integer array with axes T(Z)YX; got "
            f"{labels.dtype} with shape {tuple(labels.shape)}"
        )


def centroids(labels: np.ndarray) -> pd.DataFrame:
    """Centroid of every object in every frame.

    Parameters
    ----------
    labels : (T, [Z,] Y, X) int array
        Label movie, 0 = background.

    Returns
    -------
    DataFrame
        Columns ``t, label, [z,] y, x`` (pixels), sorted by (t, label).

    Examples
    --------
    >>> movie = np.zeros((2, 5, 5), dtype=np.int32)
    >>> movie[0, 1, 1], movie[1, 3, 2] = 3, 7
    >>> centroids(movie)[["t", "label", "y", "x"]].values.tolist()
    [[0.0, 3.0, 1.0, 1.0], [1.0, 7.0, 3.0, 2.0]]
    """
    _check_labels(labels)
    return measure_objects(labels, properties=("label", "centroid"))


def _solidity_in_place(props: dict, solidity, properties: Sequence[str]) -> dict:
    """`props` (regionprops_table's columns, asked without ``solidity``) with
    `solidity` where regionprops puts it: after the columns of the properties before it
    in `properties` (``centroid`` gives ``centroid-0``, ...)."""
    before = set(properties[:list(properties).index("solidity")])
    items = list(props.items())
    at = sum(1 for k, _ in items if k.split("-")[0] in before)
    return dict(items[:at] + [("solidity", solidity)] + items[at:])


def measure_objects(
    labels: np.ndarray,
    movie: np.ndarray | None = None,
    *,
    spacing: Sequence[float] | None = None,
    properties: Sequence[str] | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Measure every object of a label movie.

    Parameters
    ----------
    labels : (T, [Z,] Y, X) int array
        Label movie, 0 = background.
    movie : array of the same shape, optional
        Intensities, for intensity features.
    spacing : sequence of float, optional
        Physical pixel size per spatial axis; areas/volumes (``area``) are then in
        physical units. Centroids stay in pixels (``z, y, x``).
    properties : sequence of str, optional
        regionprops property names. Default: label, centroid, area, bbox,
        eccentricity, axis_major_length, axis_minor_length and orientation (2D),
        perimeter (2D, square pixels only), solidity, and mean/max/min intensity with
        a movie.
    progress : bool
        Show a progress bar over frames.

    Returns
    -------
    DataFrame
        One row per (t, label), sorted; columns ``t, label, [z,] y, x`` then features.
    """
    _check_labels(labels)
    nd = labels.ndim - 1
    if properties is None:
        properties = ["label", "centroid", "area", "bbox", "solidity"]
        if nd == 2:
            # the long axis: a rod's length and direction (the tracker's division
            # geometry for rods, LinkCosts.division_axis_slack)
            properties += ["eccentricity", "axis_major_length", "axis_minor_length",
                           "orientation"]
            # scikit-image measures perimeters for isotropic pixels only
            if spacing is None or len(set(map(float, spacing))) == 1:
                properties += ["perimeter"]
        if movie is not None:
            properties += ["intensity_mean", "intensity_max", "intensity_min"]
    axes = ["z", "y", "x"][-nd:]
    # 3D solidity: scikit-image's convex hull image tests every voxel against every
    # facet; measure.hull counts the same voxels row by row (same values; the call is
    # 2-2.7x faster on real nuclei masks, benchmarks/measure_3d.py)
    extra = None
    asked = list(properties)
    if nd == 3 and "solidity" in asked:
        from .hull import solidity_3d

        pixel = float(np.prod(spacing)) if spacing is not None else 1.0
        asked.remove("solidity")
        extra = [solidity_3d(pixel)]
    frames = range(labels.shape[0])
    if progress:
        from tqdm.auto import tqdm

        frames = tqdm(frames, desc="measure", unit="frame")
    # one list of arrays per column, not one DataFrame per frame: a DataFrame costs
    # kilobytes of overhead, which on a 10,000-frame movie outweighs the data; the
    # lists are merged every 256 frames, so thousands of small long-lived arrays do not
    # pin the heap that each frame's scratch objects were freed from
    columns: dict[str, list[np.ndarray]] = {"t": []}
    for k, t in enumerate(frames):
        lab = np.asarray(labels[t])
        img = None if movie is None else np.asarray(movie[t])
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            # a flat object (one z-slice, one pixel wide) has no convex hull: skimage
            # warns with qhull's report and divides by zero; its solidity is NaN below
            warnings.filterwarnings("ignore", message="Failed to get convex hull")
            props = regionprops_table(lab, intensity_image=img, properties=asked,
                                      spacing=spacing, extra_properties=extra)
        if extra:   # 3D solidity by the fast hull count, in regionprops' column order
            props = _solidity_in_place(props, props.pop("convex_solidity"), properties)
        if "solidity" in props:
            sol = np.asarray(props["solidity"], dtype=float)
            props["solidity"] = np.where(np.isfinite(sol) & (sol <= 1.0 + 1e-9), sol, np.nan)
        n = 0
        for name, values in props.items():
            columns.setdefault(name, []).append(np.asarray(values))
            n = len(values)
        columns["t"].append(np.full(n, t, dtype=np.int64))
        if k % 256 == 255:
            columns = {name: [np.concatenate(parts)] for name, parts in columns.items()}
    table = pd.DataFrame(
        {name: np.concatenate(parts) for name, parts in columns.items() if parts}
    )
    rename = {f"centroid-{i}": a for i, a in enumerate(axes)}
    table = table.rename(columns=rename)
    if "label" not in table:
        table["label"] = pd.Series(dtype=np.int64)
    if spacing is not None:
        # regionprops scales centroids by spacing; keep them in pixels.
        for i, a in enumerate(axes):
            if a in table:
                table[a] = table[a] / float(spacing[i])
    table = table.astype({"t": np.int64, "label": np.int64})
    front = ["t", "label"] + [a for a in axes if a in table]
    table = table[front + [c for c in table.columns if c not in front]]
    return table.sort_values(["t", "label"], kind="stable").reset_index(drop=True)
