"""Frame-to-frame linking by optimal assignment.

Our contribution is the formulation; scipy solves it. Between frames t and t+1 we
build the standard augmented cost matrix of Jaqaman et al. (Nat. Methods 2008):

.. code-block:: text

    [ link costs (n x m)      | disappear (n x n, diagonal) ]
    [ appear (m x m, diagonal) | link costs transposed (m x n) ]

Link cost is the squared displacement in physical units (``spacing``); pairs farther
apart than ``max_distance`` are forbidden. Appearing/disappearing costs default to
``max_distance**2``, so any allowed link is preferred to ending one track and starting
another. ``scipy.optimize.linear_sum_assignment`` finds the optimum. Candidate pairs
come from a k-d tree, so the cost stays linear in the number of frames.

Divisions, merges and gap closing come with the tracking issue; the graph already
carries them (out-degree 2, in-degree 2, edges over k > 1 frames).
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree

from ..errors import InputError

__all__ = ["link_objects", "link_labels", "auto_max_distance"]

_FORBIDDEN = 1e12


def _coords(objects: pd.DataFrame) -> list[str]:
    return [a for a in ("z", "y", "x") if a in objects.columns]


def _assign(
    a: np.ndarray, b: np.ndarray, max_distance: float, birth: float, death: float
) -> list[tuple[int, int]]:
    """Optimal links between point sets a (n, d) and b (m, d)."""
    n, m = len(a), len(b)
    if n == 0 or m == 0:
        return []
    pairs = cKDTree(a).query_ball_tree(cKDTree(b), r=max_distance)
    rows = np.repeat(np.arange(n), [len(p) for p in pairs])
    if rows.size == 0:
        return []
    cols = np.fromiter((j for p in pairs for j in p), dtype=np.int64, count=rows.size)
    cost = np.full((n + m, m + n), _FORBIDDEN)
    d2 = np.sum((a[rows] - b[cols]) ** 2, axis=1)
    cost[rows, cols] = d2
    cost[np.arange(n), m + np.arange(n)] = death
    cost[n + np.arange(m), np.arange(m)] = birth
    # Lower-right block: the transpose of the allowed links (any finite value works;
    # the minimum link cost keeps the optimum unchanged, Jaqaman 2008).
    cost[n + cols, m + rows] = d2
    r, c = linear_sum_assignment(cost)
    keep = (r < n) & (c < m)
    r, c = r[keep], c[keep]
    ok = cost[r, c] < _FORBIDDEN
    return list(zip(r[ok].tolist(), c[ok].tolist()))


def link_objects(
    objects: pd.DataFrame,
    *,
    max_distance: float,
    spacing: Sequence[float] | None = None,
    appear_cost: float | None = None,
    disappear_cost: float | None = None,
    progress: bool = False,
) -> nx.DiGraph:
    """Link detections frame to frame into a tracks graph.

    Parameters
    ----------
    objects : DataFrame
        One row per detection with columns ``t``, ``label`` and centroid ``[z,] y, x``
        in pixels (as from :func:`celldyn.measure.measure_objects`).
    max_distance : float
        Largest displacement between consecutive frames, in units of `spacing`
        (pixels when `spacing` is None).
    spacing : sequence of float, optional
        Physical pixel size per spatial axis; distances are computed in these units.
    appear_cost, disappear_cost : float, optional
        Cost of starting/ending a track. Default ``max_distance**2``.
    progress : bool
        Show a progress bar over frame pairs.

    Returns
    -------
    graph : networkx.DiGraph
        One node per row of `objects` (node id = row position), attributes ``t``,
        ``seg_id`` and the centroid; one edge per link.

    Raises
    ------
    InputError
        If columns are missing or `max_distance` is not positive.

    Examples
    --------
    >>> objects = pd.DataFrame({"t": [0, 0, 1, 1], "label": [1, 2, 5, 6],
    ...                         "y": [0.0, 10.0, 10.5, 1.0], "x": [0.0, 0.0, 0.0, 0.0]})
    >>> sorted(link_objects(objects, max_distance=3).edges)
    [(0, 3), (1, 2)]
    """
    axes = _coords(objects)
    if "t" not in objects or "label" not in objects or len(axes) < 2:
        raise InputError(
            "objects need columns t, label and centroid y, x (and z for 3D); got "
            f"{list(objects.columns)}"
        )
    if not (np.isfinite(max_distance) and max_distance > 0):
        raise InputError(f"max_distance must be a positive number; got {max_distance!r}")
    scale = np.ones(len(axes)) if spacing is None else np.asarray(spacing, float)[-len(axes) :]
    birth = max_distance**2 if appear_cost is None else float(appear_cost)
    death = max_distance**2 if disappear_cost is None else float(disappear_cost)

    graph = nx.DiGraph()
    t_all = objects["t"].to_numpy(np.int64)
    seg_all = objects["label"].to_numpy(np.int64)
    xyz = objects[axes].to_numpy(float)
    for i in range(len(objects)):
        attrs = {"t": int(t_all[i]), "seg_id": int(seg_all[i])}
        attrs.update({a: float(v) for a, v in zip(axes, xyz[i])})
        graph.add_node(i, **attrs)

    order = np.argsort(t_all, kind="stable")
    frames, starts = np.unique(t_all[order], return_index=True)
    groups = dict(zip(frames.tolist(), np.split(order, starts[1:])))
    pairs = [(t, t + 1) for t in frames.tolist() if t + 1 in groups]
    it = pairs
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(pairs, desc="link", unit="frame")
    for t0, t1 in it:
        ia, ib = groups[t0], groups[t1]
        links = _assign(xyz[ia] * scale, xyz[ib] * scale, max_distance, birth, death)
        graph.add_edges_from((int(ia[r]), int(ib[c])) for r, c in links)
    return graph


def auto_max_distance(objects: pd.DataFrame, *, spacing: Sequence[float] | None = None) -> float:
    """A default search radius: the median object diameter (in units of `spacing`).

    Nuclei and bacteria imaged for tracking rarely move more than their own size
    between frames; larger motion needs an explicit ``max_distance``.
    """
    if "area" not in objects or len(objects) == 0:
        return 10.0
    nd = len(_coords(objects))
    size = float(np.median(objects["area"]))
    if nd == 3:
        diameter = 2 * (3 * size / (4 * np.pi)) ** (1 / 3)
    else:
        diameter = 2 * np.sqrt(size / np.pi)
    return max(diameter, 1.0)


def link_labels(
    labels: np.ndarray,
    *,
    max_distance: float,
    spacing: Sequence[float] | None = None,
) -> nx.DiGraph:
    """Link the objects of a label movie by their centroids (see :func:`link_objects`).

    Examples
    --------
    >>> movie = np.zeros((2, 5, 5), dtype=np.int32)
    >>> movie[0, 1, 1], movie[1, 1, 2] = 3, 7
    >>> link_labels(movie, max_distance=2).number_of_edges()
    1
    """
    from ..measure.features import centroids

    return link_objects(centroids(labels), max_distance=max_distance, spacing=spacing)
