"""Candidate links: which pairs of detections a tracker may join.

Every solver and cost model of :mod:`celldyn.track` works on the same table of
candidate links, built once by :func:`candidate_links`. It is the stable contract for
plugging in outside costs: a model that scores candidate rows (for instance the learned
association model) returns one number per row, aligned with this table, and the solvers
take it as ``edge_costs``.

Node ids are row positions in the objects table (``objects.iloc[i]`` is node ``i``);
the objects table is the one from :func:`celldyn.measure.measure_objects` (columns
``t, label, [z,] y, x`` in pixels, then features).

What is ours: the table and its conventions. scipy's k-d tree finds the pairs, one
frame pair at a time, so the work is linear in the number of frames.
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from ..errors import InputError

__all__ = ["CANDIDATE_COLUMNS", "candidate_links", "frame_groups", "search_radius"]

CANDIDATE_COLUMNS = ["source", "target", "dt", "distance"]


def coord_axes(objects: pd.DataFrame) -> list[str]:
    """The centroid columns of `objects` (``z, y, x`` or ``y, x``)."""
    return [a for a in ("z", "y", "x") if a in objects.columns]


def check_objects(objects: pd.DataFrame) -> list[str]:
    """Validate an objects table at a public entry point; return its centroid axes."""
    if not isinstance(objects, pd.DataFrame):
        raise InputError(f"objects must be a pandas DataFrame; got {type(objects).__name__}")
    axes = coord_axes(objects)
    if "t" not in objects or "label" not in objects or len(axes) < 2:
        raise InputError(
            "objects need columns t, label and centroid y, x (and z for 3D); got "
            f"{list(objects.columns)}"
        )
    xyz = objects[axes].to_numpy(float)
    if not np.isfinite(xyz).all():
        raise InputError("objects have NaN or infinite centroids; drop those rows first")
    return axes


def check_max_distance(max_distance: float) -> float:
    if max_distance is None or not (np.isfinite(max_distance) and max_distance > 0):
        raise InputError(f"max_distance must be a positive number; got {max_distance!r}")
    return float(max_distance)


def check_max_gap(max_gap: int) -> int:
    if int(max_gap) != max_gap or max_gap < 0:
        raise InputError(f"max_gap must be a non-negative integer; got {max_gap!r}")
    return int(max_gap)


def physical_positions(
    objects: pd.DataFrame, spacing: Sequence[float] | None = None
) -> NDArray[np.float64]:
    """Centroids in physical units, shape (n, ndim)."""
    axes = coord_axes(objects)
    xyz = objects[axes].to_numpy(float)
    if spacing is None:
        return xyz
    scale = np.asarray(spacing, float)[-len(axes) :]
    if scale.size != len(axes) or not (scale > 0).all():
        raise InputError(
            f"spacing must have {len(axes)} positive numbers (one per axis {axes}); "
            f"got {spacing!r}"
        )
    return xyz * scale


def frame_groups(t: NDArray[np.int64]) -> dict[int, NDArray[np.int64]]:
    """Frame -> sorted row positions of that frame."""
    order = np.argsort(t, kind="stable")
    frames, starts = np.unique(t[order], return_index=True)
    return dict(zip(frames.tolist(), np.split(order, starts[1:])))


def search_radius(max_distance: float, dt: int | NDArray[np.int64]) -> NDArray[np.float64]:
    """Search radius for a link over `dt` frames: ``max_distance * sqrt(dt)``.

    A random walk spreads as the square root of time; a gap of two frames may thus
    bridge ``sqrt(3)`` times the one-frame radius.
    """
    return max_distance * np.sqrt(np.asarray(dt, dtype=float))


def candidate_links(
    objects: pd.DataFrame,
    *,
    max_distance: float,
    max_gap: int = 0,
    spacing: Sequence[float] | None = None,
    velocities: NDArray[np.float64] | None = None,
) -> pd.DataFrame:
    """All pairs of detections a tracker may link, forward in time.

    Parameters
    ----------
    objects : DataFrame
        One row per detection, columns ``t, label, [z,] y, x`` (pixels), as from
        :func:`celldyn.measure.measure_objects`. Row position = node id.
    max_distance : float
        Largest displacement between consecutive frames, in units of `spacing`
        (pixels when None). A link over ``dt`` frames may reach
        ``max_distance * sqrt(dt)`` (:func:`search_radius`).
    max_gap : int
        Largest number of missing frames a link may bridge: ``dt`` runs from 1 to
        ``max_gap + 1``.
    spacing : sequence of float, optional
        Physical pixel size per spatial axis.
    velocities : (n, ndim) float array, optional
        Displacement per frame of each detection, physical units. When given, the
        source is first moved to ``position + dt * velocity`` (motion prediction) and
        distances are measured from there. The solvers build their candidates without
        it, so that outside ``edge_costs`` stay aligned with a fixed table.

    Returns
    -------
    candidates : DataFrame
        Columns ``source``, ``target`` (int64 row positions in `objects`), ``dt``
        (int64, frames, ``t[target] - t[source]``, 1..max_gap+1) and ``distance``
        (float64, physical, after motion prediction when `velocities` are given).
        Sorted by (source, target); the index is 0..n-1. ``attrs`` records
        ``max_distance``, ``max_gap`` and ``spacing``.

    Raises
    ------
    InputError
        On missing columns, non-finite centroids, a non-positive `max_distance` or a
        negative `max_gap`.

    Examples
    --------
    >>> objects = pd.DataFrame({"t": [0, 0, 1, 3], "label": [1, 2, 1, 1],
    ...                         "y": [0.0, 20.0, 1.0, 2.0], "x": [0.0, 0.0, 0.0, 0.0]})
    >>> candidate_links(objects, max_distance=3, max_gap=2).values.tolist()
    [[0.0, 2.0, 1.0, 1.0], [0.0, 3.0, 3.0, 2.0], [2.0, 3.0, 2.0, 1.0]]
    """
    check_objects(objects)
    max_distance = check_max_distance(max_distance)
    max_gap = check_max_gap(max_gap)
    pos = physical_positions(objects, spacing)
    if velocities is not None:
        velocities = np.asarray(velocities, float)
        if velocities.shape != pos.shape:
            raise InputError(
                f"velocities must have shape {pos.shape} (one row per object); got "
                f"{velocities.shape}"
            )
    t = objects["t"].to_numpy(np.int64)
    groups = frame_groups(t)
    trees: dict[int, cKDTree] = {}

    def tree(frame: int) -> cKDTree:
        if frame not in trees:
            trees[frame] = cKDTree(pos[groups[frame]])
        return trees[frame]

    # Long movies: trees are dropped once their frame can no longer be a target, and
    # the per-frame pieces are merged every few hundred frames (a numpy array costs
    # ~100 bytes of overhead: 4 per frame pair add up on 10,000 frames).
    merged: list[tuple[NDArray, ...]] = []
    parts: list[tuple[NDArray, ...]] = []

    def merge() -> None:
        if parts:
            merged.append(tuple(np.concatenate(col) for col in zip(*parts)))
            parts.clear()

    for t0, ia in groups.items():
        for old in [f for f in trees if f < t0]:
            del trees[old]
        for dt in range(1, max_gap + 2):
            ib = groups.get(t0 + dt)
            if ib is None:
                continue
            radius = float(search_radius(max_distance, dt))
            if velocities is None:
                src_tree = tree(t0)
            else:
                src_tree = cKDTree(pos[ia] + dt * velocities[ia])
            rec = src_tree.sparse_distance_matrix(tree(t0 + dt), radius, output_type="ndarray")
            if len(rec) == 0:
                continue
            parts.append((ia[rec["i"]], ib[rec["j"]], np.full(len(rec), dt), rec["v"]))
        if len(parts) >= 512:
            merge()
    merge()
    # sort by (source, target) one column at a time; DataFrame(copy=False) keeps the
    # arrays (no consolidated copy): the table's peak is about twice its size
    cols: dict[str, NDArray] = {}
    if merged:
        src = np.concatenate([p[0] for p in merged]).astype(np.int64, copy=False)
        tgt = np.concatenate([p[1] for p in merged]).astype(np.int64, copy=False)
        order = np.lexsort((tgt, src))
        cols["source"], cols["target"] = src[order], tgt[order]
        del src, tgt
        for name, k, dtype in (("dt", 2, np.int64), ("distance", 3, np.float64)):
            cols[name] = np.concatenate([p[k] for p in merged]).astype(dtype, copy=False)[order]
        merged.clear()
    else:
        cols = {"source": np.zeros(0, np.int64), "target": np.zeros(0, np.int64),
                "dt": np.zeros(0, np.int64), "distance": np.zeros(0, np.float64)}
    table = pd.DataFrame(cols, copy=False)
    table.attrs.update(
        max_distance=max_distance,
        max_gap=max_gap,
        spacing=None if spacing is None else tuple(float(s) for s in spacing),
    )
    return table


def graph_from_links(
    objects: pd.DataFrame, edges: NDArray[np.int64] | list[tuple[int, int]]
) -> nx.DiGraph:
    """A tracks graph with one node per row of `objects` and the given edges.

    Nodes carry ``t``, ``seg_id`` (the ``label`` column) and the centroid in pixels.
    """
    axes = coord_axes(objects)
    columns = {"t": objects["t"].to_numpy(np.int64).tolist(),
               "seg_id": objects["label"].to_numpy(np.int64).tolist()}
    columns.update({a: objects[a].to_numpy(float).tolist() for a in axes})
    names = list(columns)
    graph = nx.DiGraph()
    # one call over plain Python values: ~3x faster than add_node per row
    graph.add_nodes_from(
        (i, dict(zip(names, values))) for i, values in enumerate(zip(*columns.values()))
    )
    graph.add_edges_from(map(tuple, np.asarray(edges, dtype=np.int64).reshape(-1, 2).tolist()))
    return graph
